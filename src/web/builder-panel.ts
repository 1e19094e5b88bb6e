/**
 * "Build an image" form: a paging mode and a few mappings (virtual address, physical address,
 * page size, flags), built with the core's PTE range operations into a new image.
 */
import { PagewalkError } from '../core/errors.js';
import type { PageSize } from '../core/types.js';
import { buildImage, type MappingSpec } from '../loader/build-image.js';
import { isImageMode } from '../loader/image-types.js';
import { byId, h } from './dom.js';
import type { Explainer } from './explainer.js';

const FLAG_BITS: Array<[string, bigint, string]> = [
  ['RW', 1n << 1n, 'writable'],
  ['US', 1n << 2n, 'user-accessible'],
  ['G', 1n << 8n, 'global'],
  ['XD', 1n << 63n, 'execute-disable (not in 32-bit paging)'],
];
const SIZES: PageSize[] = ['4k', '2m', '4m', '1g'];

function mappingRow(va: string, pa: string, size: PageSize, flags: string[]): HTMLElement {
  return h(
    'div',
    { class: 'mapping' },
    h('label', {}, 'va ', h('input', { class: 'm-va mono', value: va, size: 18 })),
    h('label', {}, 'pa ', h('input', { class: 'm-pa mono', value: pa, size: 12 })),
    h('select', { class: 'm-size' }, ...SIZES.map((s) => h('option', { value: s, selected: s === size }, s))),
    ...FLAG_BITS.map(([name, , title]) => h('label', { title }, h('input', { type: 'checkbox', class: `m-${name}`, checked: flags.includes(name) }), name)),
    h('button', { type: 'button', class: 'm-del', onclick: (e: Event) => (e.target as HTMLElement).closest('.mapping')?.remove() }, '✕'),
  );
}

function addr(input: HTMLInputElement, what: string, i: number): bigint {
  const t = input.value.trim().replace(/_/g, '');
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new PagewalkError('EBAD_INPUT', `mappings[${i}].${what}: ${JSON.stringify(t)} is not an address like 0x10000`);
  return BigInt(t);
}

function readMappings(): MappingSpec[] {
  return [...document.querySelectorAll<HTMLElement>('#mappings .mapping')].map((row, i) => {
    const q = <T extends HTMLElement>(sel: string) => row.querySelector(sel) as T;
    let flags = 0n;
    for (const [name, bit] of FLAG_BITS) if (q<HTMLInputElement>(`.m-${name}`).checked) flags |= bit;
    return { va: addr(q('.m-va'), 'va', i), pa: addr(q('.m-pa'), 'pa', i), pageSize: q<HTMLSelectElement>('.m-size').value as PageSize, flags };
  });
}

/** Wires the builder form to the explainer. */
export function startBuilder(explainer: Explainer): void {
  const list = byId('mappings');
  list.append(mappingRow('0x10000', '0x10000', '4k', ['RW', 'US']), mappingRow('0x11000', '0x11000', '4k', ['US', 'XD']));
  byId('m-add').addEventListener('click', () => list.append(mappingRow('0x12000', '0x12000', '4k', ['RW', 'US'])));
  byId('m-build').addEventListener('click', () =>
    explainer.run(async () => {
      const mode = byId<HTMLSelectElement>('b-mode').value;
      if (!isImageMode(mode)) throw new PagewalkError('EBAD_INPUT', `mode ${mode} is not a paging mode`);
      const mappings = readMappings();
      if (mode === '32bit') for (const m of mappings) m.flags &= ~(1n << 63n);
      await explainer.setImage(await buildImage({ mode, mappings }), null);
    }),
  );
}
