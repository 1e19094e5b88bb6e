/**
 * Sparse page-table layout for a stream: which page size backs each region of the address
 * space (from the configured mix), which regions the stream touches, and building exactly
 * those with `m.pageTables.map`, so a 16 GiB footprint costs only the tables it uses.
 *
 * Granularity: a touched 4 KiB page maps its whole 2 MiB region (4 MiB in 32-bit paging) with
 * 4 KiB pages — one page table, one WASM call; a 2 MiB-page region maps one PDE; a 1 GiB-page
 * region one PDPTE. Untouched regions get no tables at all.
 */
import type { PageSize } from '../core/types.js';
import type { PageMix, PagingDepth } from './config.js';
import type { Stream } from './stream.js';

/** Leaf level: 1 = PTE (4 KiB), 2 = PDE (2 MiB / 4 MiB), 3 = PDPTE (1 GiB). */
export type LeafLevel = 1 | 2 | 3;

/** Level-structure facts of a paging depth (SDM vol. 3 §4.3–4.5). */
export interface DepthInfo {
  /** Highest level whose entries are read from memory by a walk (PAE PDPTEs are registers). */
  topMemLevel: number;
  /** Linear-address bits translated per level. */
  bitsPerLevel: number;
  /** Bytes per paging-structure entry. */
  entryBytes: number;
  /** 4 KiB pages per large (2 MiB / 4 MiB) page. */
  largePages: number;
  /** Paging-structure caches that exist: levels of the cached entries (2 = PDE ... 5 = PML5E). */
  pscLevels: number[];
}

export function depthInfo(paging: PagingDepth): DepthInfo {
  switch (paging) {
    case '5level':
      return { topMemLevel: 5, bitsPerLevel: 9, entryBytes: 8, largePages: 512, pscLevels: [2, 3, 4, 5] };
    case '4level':
      return { topMemLevel: 4, bitsPerLevel: 9, entryBytes: 8, largePages: 512, pscLevels: [2, 3, 4] };
    case 'pae': // PDPTEs are loaded into registers on the CR3 write (SDM §4.4.1); PDE cache only.
      return { topMemLevel: 2, bitsPerLevel: 9, entryBytes: 8, largePages: 512, pscLevels: [2] };
    case '32bit':
      return { topMemLevel: 2, bitsPerLevel: 10, entryBytes: 4, largePages: 1024, pscLevels: [2] };
  }
}

/** Names of entries by level, as the SDM spells them. */
export const LEVEL_NAME: Record<number, string> = { 1: 'PTE', 2: 'PDE', 3: 'PDPTE', 4: 'PML4E', 5: 'PML5E' };

const GIG_PAGES = 2 ** 18; // 4 KiB pages per 1 GiB

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function frac(x: number): number {
  return x - Math.floor(x);
}

/** Deterministic hash of (seed, tag, x) to [0, 1), x < 2^53. */
function unitHash(seed: number, tag: number, x: number): number {
  const hi = Math.floor(x / 0x1_0000_0000);
  const lo = x >>> 0;
  return mix32(mix32(mix32(seed ^ Math.imul(tag, 0x9e3779b9)) ^ lo) ^ hi) / 0x1_0000_0000;
}

const PHI = (Math.sqrt(5) - 1) / 2;

/**
 * Chooses the page size of every region so that the mix is really mapped, also over a few
 * neighbouring regions: region r of a size class takes that size when frac(r·φ + u) < share
 * (a golden-ratio low-discrepancy sequence with a seeded phase u), so any n consecutive regions
 * hold the requested share to within a few regions (a seeded coin per region could map a 50/50
 * mix of a short run all with one size). A 1 GiB region is one 1 GiB page with share mix.1g;
 * otherwise each of its 2 MiB regions is a 2 MiB page with share mix.2m / (1 − mix.1g), else
 * 4 KiB pages. A mix of 0 or 1 is exact.
 */
export class PagePlan {
  readonly info: DepthInfo;
  private readonly p2m: number;
  private readonly u1: number;
  private readonly u2: number;

  constructor(
    readonly paging: PagingDepth,
    readonly mix: PageMix,
    seed: number,
  ) {
    this.info = depthInfo(paging);
    this.p2m = mix['1g'] >= 1 ? 0 : mix['2m'] / (1 - mix['1g']);
    this.u1 = unitHash(seed, 1, 0);
    this.u2 = unitHash(seed, 2, 0);
  }

  /** Leaf level translating 4 KiB virtual page `vpn`. */
  leafLevel(vpn: number): LeafLevel {
    if (this.mix['1g'] > 0 && frac(Math.floor(vpn / GIG_PAGES) * PHI + this.u1) < this.mix['1g']) return 3;
    if (this.p2m > 0 && frac(Math.floor(vpn / this.info.largePages) * PHI + this.u2) < this.p2m) return 2;
    return 1;
  }

  /** Leaf level of every address of the stream. */
  leafLevels(s: Stream): Uint8Array {
    const out = new Uint8Array(s.vpn.length);
    for (let i = 0; i < out.length; i++) out[i] = this.leafLevel(s.vpn[i]);
    return out;
  }
}

/** What the builder mapped. */
export interface BuiltTables {
  /** Bytes of virtual space mapped with each page size. */
  mappedBytes: { '4k': number; '2m': number; '1g': number };
  /** Page-table frames allocated (including the root). */
  tableFrames: number;
  /** WASM map calls made. */
  mapCalls: number;
}

/** Touched regions, grouped by page size: keys are region numbers (1 GiB, or large-page regions). */
export interface Regions {
  gig: Set<number>;
  large: Set<number>;
  small: Set<number>;
}

/** The regions touched by the stream. */
export function touchedRegions(s: Stream, leaf: Uint8Array, plan: PagePlan): Regions {
  const r: Regions = { gig: new Set(), large: new Set(), small: new Set() };
  const lp = plan.info.largePages;
  for (let i = 0; i < s.vpn.length; i++) {
    const l = leaf[i];
    if (l === 3) r.gig.add(Math.floor(s.vpn[i] / GIG_PAGES));
    else (l === 2 ? r.large : r.small).add(Math.floor(s.vpn[i] / lp));
  }
  return r;
}

/** Page-table frames the regions need, root included (an upper bound for RAM sizing). */
export function framesNeeded(r: Regions, plan: PagePlan): number {
  const lp = plan.info.largePages;
  const upper = (pagesPerEntry: number): number => {
    const s = new Set<number>();
    for (const g of r.gig) s.add(Math.floor((g * GIG_PAGES) / pagesPerEntry));
    for (const x of r.large) s.add(Math.floor((x * lp) / pagesPerEntry));
    for (const x of r.small) s.add(Math.floor((x * lp) / pagesPerEntry));
    return s.size;
  };
  switch (plan.paging) {
    case '32bit':
      return 1 + r.small.size;
    case 'pae': {
      const pds = new Set<number>();
      for (const x of [...r.large, ...r.small]) pds.add(Math.floor((x * lp) / GIG_PAGES));
      return 1 + pds.size + r.small.size;
    }
    case '4level':
    case '5level': {
      const pds = new Set<number>();
      for (const x of [...r.large, ...r.small]) pds.add(Math.floor((x * lp) / GIG_PAGES));
      const pdpts = upper(2 ** 27);
      const pml4s = plan.paging === '5level' ? upper(2 ** 36) : 0;
      return 1 + pml4s + pdpts + pds.size + r.small.size;
    }
  }
}

/** The minimal slice of `m.pageTables` the builder uses (docs/core-api.md). */
export interface PageTablesLike {
  map(mode: PagingDepth, root: bigint, va: bigint, pa: bigint, bytes: number, opts: { pageSize?: PageSize; flags?: bigint; tableFlags?: bigint }): void;
}

/** Leaf flags: P | R/W | U/S (SDM Table 4-19/4-20), so CPL-3 reads and writes are allowed. */
export const LEAF_FLAGS = 0x7n;
const GIG = 1n << 30n;

/**
 * Maps every touched region; `framesUsed` reports the page-table frames allocated so far. Physical addresses are va mod 1 GiB (page aligned): translations
 * never read the data, so aliasing frames is harmless and keeps RAM small.
 */
export function buildTables(pt: PageTablesLike, root: bigint, r: Regions, plan: PagePlan, framesUsed: () => number): BuiltTables {
  const mode = plan.paging;
  const largeBytes = plan.info.largePages * 4096;
  const largeSize: PageSize = mode === '32bit' ? '4m' : '2m';
  let calls = 0;
  for (const g of [...r.gig].sort((a, b) => a - b)) {
    pt.map(mode, root, BigInt(g) * GIG, 0n, 2 ** 30, { pageSize: '1g', flags: LEAF_FLAGS });
    calls++;
  }
  const mapLarge = (set: Set<number>, size: PageSize): void => {
    for (const x of [...set].sort((a, b) => a - b)) {
      const va = BigInt(x) * BigInt(largeBytes);
      pt.map(mode, root, va, va & (GIG - 1n), largeBytes, { pageSize: size, flags: LEAF_FLAGS });
      calls++;
    }
  };
  mapLarge(r.large, largeSize);
  mapLarge(r.small, '4k');
  return {
    mappedBytes: { '4k': r.small.size * largeBytes, '2m': r.large.size * largeBytes, '1g': r.gig.size * 2 ** 30 },
    tableFrames: framesUsed(),
    mapCalls: calls,
  };
}
