/**
 * Builds a small image from a list of mappings with the core's PTE range operations
 * (`m.pageTables.newRoot` / `map`), for the page's "build an image" form and for tests.
 */
import { PagewalkError } from '../core/errors.js';
import type { PageSize } from '../core/types.js';
import { Machine } from '../core/machine.js';
import { hex } from './hex.js';
import { saveImage } from './image.js';
import { defaultModeRegs, type ImageMode, type ImageQuery, type PagewalkImage } from './image-types.js';

/** One mapping: `bytes` of linear space at `va` onto physical `pa`, with leaf `flags` (P is added). */
export interface MappingSpec {
  va: bigint;
  pa: bigint;
  pageSize: PageSize;
  /** Bytes to map; default one page. */
  bytes?: number;
  /** Leaf flags, e.g. RW|US (P is always added). */
  flags: bigint;
}

export interface BuildImageSpec {
  mode: ImageMode;
  mappings: MappingSpec[];
  /** Default 4 MiB. */
  ramBytes?: number;
  queries?: ImageQuery[];
  name?: string;
}

const PAGE_BYTES: Record<PageSize, number> = { '4k': 4096, '2m': 2 ** 21, '4m': 2 ** 22, '1g': 2 ** 30 };
const SIZES_BY_MODE: Record<ImageMode, PageSize[]> = { '32bit': ['4k', '4m'], pae: ['4k', '2m'], '4level': ['4k', '2m', '1g'], '5level': ['4k', '2m', '1g'] };

function checkMapping(mode: ImageMode, s: MappingSpec, i: number): void {
  const where = `mappings[${i}]`;
  if (!SIZES_BY_MODE[mode].includes(s.pageSize))
    throw new PagewalkError('EBAD_INPUT', `${where}.pageSize: ${s.pageSize} pages do not exist in ${mode} paging (${SIZES_BY_MODE[mode].join(', ')})`);
  const size = BigInt(PAGE_BYTES[s.pageSize]);
  if (s.va % size !== 0n) throw new PagewalkError('EBAD_INPUT', `${where}.va: ${hex(s.va)} is not aligned to the ${s.pageSize} page size`);
  if (s.pa % size !== 0n) throw new PagewalkError('EBAD_INPUT', `${where}.pa: ${hex(s.pa)} is not aligned to the ${s.pageSize} page size`);
}

/**
 * Creates a machine, builds page tables for the mappings under a new root, points CR3 at it
 * with the mode's default CR0/CR4/EFER, and returns the image of the frames in use.
 */
export async function buildImage(spec: BuildImageSpec): Promise<PagewalkImage> {
  spec.mappings.forEach((s, i) => checkMapping(spec.mode, s, i));
  const m = await Machine.create({ ramBytes: spec.ramBytes ?? 4 * 2 ** 20, cpus: 1 });
  const pt = m.pageTables;
  const root = pt.newRoot(spec.mode);
  for (const s of spec.mappings) pt.map(spec.mode, root, s.va, s.pa, s.bytes ?? PAGE_BYTES[s.pageSize], { pageSize: s.pageSize, flags: s.flags | 1n });
  m.cpus[0].setControl({ ...defaultModeRegs(spec.mode), cr3: root, pkru: 0n, pkrs: 0n });
  return saveImage(m, { frames: 'used', name: spec.name ?? `built ${spec.mode} image`, queries: spec.queries ?? [] });
}
