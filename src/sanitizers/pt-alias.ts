/**
 * Writable-alias sanitizer: a page-table frame must not also be mapped writable at some other
 * kernel address (for instance a vmalloc/vm_map_ram alias left behind by a lazy unmap), or the
 * kernel could overwrite page-table entries by accident; Xen PV refuses such frames as page
 * tables (seed 001). On native kernels this is a warning finding; under Xen the hypervisor's own
 * refusal is the finding. The direct map is excluded: a native kernel maps its page tables
 * writable there by design.
 *
 * The scan walks the present entries of a 4-level table tree over a range of linear addresses.
 */
import type { CoreMachine } from '../modelcpu/contract.js';
import type { Finding } from './finding.js';

const P = 1n;
const RW = 2n;
const PS = 0x80n;
const ADDR = 0x000f_ffff_ffff_f000n;

/** One writable mapping of a page-table frame. */
export interface WritableAlias {
  va: bigint;
  pfn: number;
  /** Frame-table level of the aliased frame (1 = PT .. 4 = PML4). */
  level: number;
}

/** Finds writable 4 KiB leaf mappings in [start, end) of the tree at `root` that map page-table frames. */
export function findWritableAliases(m: CoreMachine, root: number, start: bigint, end: bigint): WritableAlias[] {
  const out: WritableAlias[] = [];
  const walk = (table: number, level: number, base: bigint): void => {
    const shift = BigInt(12 + 9 * (level - 1));
    const span = 1n << shift;
    for (let i = 0; i < 512; i++) {
      let va = base + BigInt(i) * span;
      if (level === 4 && i >= 256) va |= 0xffff_0000_0000_0000n;
      if (va + span <= start || va >= end) continue;
      const e = m.phys.read64n(table + i * 8);
      if (!(e & P)) continue;
      if (level > 1 && !(e & PS)) {
        walk(Number(e & ADDR), level - 1, va);
        continue;
      }
      if (level !== 1 || !(e & RW)) continue;
      const pfn = Number((e & ADDR) >> 12n);
      if (pfn < m.frames.count && m.frames.level(pfn) > 0) out.push({ va, pfn, level: m.frames.level(pfn) });
    }
  };
  walk(root, 4, 0n);
  return out;
}

/** The warning finding for aliases found on a native kernel (null when there are none). */
export function writableAliasFinding(aliases: readonly WritableAlias[], where: string): Finding | null {
  if (aliases.length === 0) return null;
  const lvl = ['', 'pte', 'pmd', 'pud', 'pgd'];
  const log = [
    `pagewalk: WARNING: ${aliases.length} writable alias(es) of page-table frames in ${where}`,
    ...aliases
      .slice(0, 16)
      .map((a) => `pagewalk:   va 0x${a.va.toString(16)} -> frame 0x${a.pfn.toString(16)} (a ${lvl[a.level] ?? 'page-table'} page) mapped RW`),
  ];
  return { sanitizer: 'pt-writable-alias', signature: `writable alias of a page-table frame in ${where}`, log };
}
