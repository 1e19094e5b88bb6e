/**
 * The `pagewalk cost` experiment matrix: its JSON configuration, the defaults, and strict
 * validation. A bad field is reported by its path, e.g.
 * `config.configs[2].tlb.4k.sets: must be a power of two` (PagewalkError: the CLI exits 2).
 */
import { PagewalkError } from '../core/errors.js';
import type { CacheGeometry, PscGeometry, TlbGeometry } from '../core/types.js';
import { DEFAULT_LATENCY, type LatencyModel } from './latency.js';
import { PRESET_NAMES, PRESETS, type DataCache, type PageClass, type TlbArray } from './presets.js';
import { POLICIES, type Policy } from './setassoc.js';
import { parseSize } from './sizes.js';

export type PagingDepth = '4level' | '5level' | 'pae' | '32bit';
export type FlushKind = 'none' | 'invlpg' | 'full';

/** Fractions of the footprint mapped with each page size ('2m' means 4 MiB pages in 32-bit mode). */
export interface PageMix {
  '4k': number;
  '2m': number;
  '1g': number;
}

/** One configuration: one line in the chart, one group in the table. */
export interface MachineConfig {
  name: string;
  paging: PagingDepth;
  pages: PageMix;
  tlb: TlbGeometry | false;
  psc: PscGeometry | false;
  /** CR4.PCIDE: context switches keep TLB entries (CR3 written with bit 63, as Linux does). */
  pcid: boolean;
  /** A context switch (CR3 to another address space and back) every N accesses; 0 = never. */
  contextSwitchEvery: number;
  /** INVLPG of an already-accessed page, or a full (CR3 reload) flush, every N accesses. */
  flush: { kind: FlushKind; every: number };
  /** Virtual address where the footprint starts (1 GiB aligned). */
  base: bigint;
  /** Named core whose TLBs, walkers and caches the cost model uses (src/cost/presets.ts). */
  core: string;
  /** Overrides of the preset's L1 DTLB / STLB arrays (empty list: no such level). */
  l1tlb?: TlbArray[];
  stlb?: TlbArray[];
  tlbPolicy?: Policy;
  walkers?: number;
  /** Address spaces taking turns on the CPU when contextSwitchEvery > 0 (each runs the workload). */
  addressSpaces: number;
  /** Dynamic ASIDs per CPU with PCIDs (Linux: TLB_NR_DYN_ASIDS = 6); default one per address space. */
  asids: number;
  /** The workload runs as a guest under nested paging (docs/cost.md "Nested paging"). */
  nested?: NestedCost;
}

/** A guest under EPT or NPT: the host's depth and page size, and what caches the host dimension. */
export interface NestedCost {
  kind: 'ept' | 'npt';
  /** Host paging levels (EPT page-walk length, or the host's NPT mode). */
  levels: 4 | 5;
  /** Page size of the host mappings of guest memory. */
  hostPage: '4k' | '2m' | '1g';
  /** Guest-physical → host-physical translations cached apart (an "NTLB"); false = none. */
  gpaTlb: CacheGeometry | false;
  /** Paging-structure caches of the host walk (keyed by guest-physical address); false = none. */
  hostPsc: PscGeometry | false;
  /** Guest RAM: guest page tables and data pages live at hashed guest-physical pages below it. */
  guestRam: number;
}

/** Options every workload has: the share of writes, and whether each access depends on the previous one. */
export interface WorkloadCommon {
  /** Fraction of accesses that are writes (seeded; 0 = reads only). */
  writes: number;
  /** Each address depends on the previous load (pointer chase): walks cannot overlap. */
  dependent: boolean;
}

export type WorkloadSpec = WorkloadCommon &
  (
    | { kind: 'sequential'; accessBytes: number }
    | { kind: 'strided'; stride: number }
    | { kind: 'uniform'; align: number }
    | { kind: 'zipf'; exponent: number }
    | { kind: 'pointer-chase'; nodeBytes: number }
    | { kind: 'file'; path: string; format: 'text' | 'binary' }
  );

export interface CostConfig {
  seed: number;
  /** Measured accesses per cell. */
  accesses: number;
  /**
   * Accesses run before the counters are reset (fills the TLBs and caches); null = automatic
   * (enough to fill the largest cache and the TLBs). A warm-up shorter than that is lengthened,
   * with a warning in the cell.
   */
  warmup: number | null;
  /** Addresses per translateBatch call. */
  batch: number;
  footprints: number[];
  /** Refuse (exit 2) a cell whose label is false instead of warning. */
  strict: boolean;
  workloads: WorkloadSpec[];
  configs: MachineConfig[];
  latency: LatencyModel;
}

/**
 * Skylake-class TLB: STLB 1536 entries 12-way for 4 KiB (and 2 MiB, shared on the real part,
 * separate arrays here), 16 entries 4-way for 1 GiB (Intel Optimization Reference Manual,
 * Skylake TLB parameters).
 */
export const DEFAULT_TLB: TlbGeometry = {
  '4k': { sets: 128, ways: 12 },
  '2m': { sets: 128, ways: 12 },
  '1g': { sets: 4, ways: 4 },
};

/**
 * Paging-structure caches: Intel does not document their sizes (SDM §4.10.3 describes only what
 * they hold); these are of the order reverse-engineered by Gras et al., "ASLR on the Line" (AnC),
 * NDSS 2017: two PML4E/PML5E entries, four PDPTEs, 32 PDEs (src/cost/presets.ts).
 */
export const DEFAULT_PSC: PscGeometry = structuredClone(PRESETS.skylake.psc);

const BASE_64 = 0x10_0000_0000n; // 64 GiB: PML4 index 0, PDPT index 64
const BASE_32 = 0n;

function machine(name: string, over: Partial<MachineConfig>): MachineConfig {
  return {
    name,
    paging: '4level',
    pages: { '4k': 1, '2m': 0, '1g': 0 },
    tlb: DEFAULT_TLB,
    psc: DEFAULT_PSC,
    pcid: false,
    contextSwitchEvery: 0,
    flush: { kind: 'none', every: 0 },
    base: over.paging === 'pae' || over.paging === '32bit' ? BASE_32 : BASE_64,
    core: 'skylake',
    addressSpaces: 2,
    asids: MAX_ASIDS,
    ...over,
  };
}

/** PCIDs 1..4095 (PCID 0 is the no-PCID tag; SDM §4.10.1): one ASID per address space by default. */
export const MAX_ASIDS = 4095;

/** The matrix run by `pagewalk cost` with no arguments. */
export function defaultConfig(): CostConfig {
  const fp: number[] = [];
  for (let s = 2 ** 20; s <= 16 * 2 ** 30; s *= 4) fp.push(s);
  return {
    seed: 1,
    accesses: 100_000,
    warmup: null,
    batch: 8192,
    strict: false,
    footprints: fp,
    workloads: [{ kind: 'uniform', align: 8, writes: 0, dependent: false }],
    configs: [
      machine('4K pages, 4-level', {}),
      machine('2M pages, 4-level', { pages: { '4k': 0, '2m': 1, '1g': 0 } }),
      machine('1G pages, 4-level', { pages: { '4k': 0, '2m': 0, '1g': 1 } }),
      machine('4K pages, 5-level', { paging: '5level' }),
      machine('4K pages, 4-level, no PSC', { psc: false }),
      machine('4K, 2 processes, switch/10k, no PCID', { contextSwitchEvery: 10_000 }),
      machine('4K, 2 processes, switch/10k, PCID', { contextSwitchEvery: 10_000, pcid: true }),
    ],
    latency: structuredClone(DEFAULT_LATENCY),
  };
}

// ---------------------------------------------------------------- validation helpers

type Obj = Record<string, unknown>;

function fail(path: string, msg: string): never {
  throw new PagewalkError('EINVAL_ARG', `${path}: ${msg}`);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Obj, path: string, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${path}.${k}`, `unknown field (known: ${allowed.join(', ')})`);
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, `must be an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) fail(path, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function num(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `must be a number, got ${JSON.stringify(v)}`);
  if (v < min || v > max) fail(path, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function size(v: unknown, path: string, min: number, max: number): number {
  const n = parseSize(v);
  if (n === null) fail(path, `must be a size in bytes or like "4K", "2M", "16G", got ${JSON.stringify(v)}`);
  if (n < min || n > max) fail(path, `must be between ${min} and ${max} bytes, got ${n}`);
  return n;
}

function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) fail(path, `must be an object, got ${JSON.stringify(v)}`);
  return v;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `must be an array, got ${JSON.stringify(v)}`);
  if (v.length === 0) fail(path, 'must not be empty');
  return v;
}

// ---------------------------------------------------------------- sections

function geometry(v: unknown, path: string, dflt: CacheGeometry): CacheGeometry {
  if (v === undefined) return { ...dflt };
  const o = obj(v, path);
  checkKeys(o, path, ['sets', 'ways']);
  const sets = o.sets === undefined ? dflt.sets : int(o.sets, `${path}.sets`, 1, 65536);
  if ((sets & (sets - 1)) !== 0) fail(`${path}.sets`, `must be a power of two, got ${sets}`);
  const ways = o.ways === undefined ? dflt.ways : int(o.ways, `${path}.ways`, 1, 64);
  return { sets, ways };
}

function tlb(v: unknown, path: string): TlbGeometry | false {
  if (v === false) return false;
  if (v === undefined) return structuredClone(DEFAULT_TLB);
  const o = obj(v, path);
  checkKeys(o, path, ['4k', '2m', '1g']);
  return {
    '4k': geometry(o['4k'], `${path}.4k`, DEFAULT_TLB['4k']),
    '2m': geometry(o['2m'], `${path}.2m`, DEFAULT_TLB['2m']),
    '1g': geometry(o['1g'], `${path}.1g`, DEFAULT_TLB['1g']),
  };
}

function psc(v: unknown, path: string): PscGeometry | false {
  if (v === false) return false;
  if (v === undefined || v === true) return structuredClone(DEFAULT_PSC);
  const o = obj(v, path);
  checkKeys(o, path, ['pml5e', 'pml4e', 'pdpte', 'pde']);
  return {
    pml5e: geometry(o.pml5e, `${path}.pml5e`, DEFAULT_PSC.pml5e),
    pml4e: geometry(o.pml4e, `${path}.pml4e`, DEFAULT_PSC.pml4e),
    pdpte: geometry(o.pdpte, `${path}.pdpte`, DEFAULT_PSC.pdpte),
    pde: geometry(o.pde, `${path}.pde`, DEFAULT_PSC.pde),
  };
}

function pages(v: unknown, path: string, paging: PagingDepth): PageMix {
  if (v === undefined) return { '4k': 1, '2m': 0, '1g': 0 };
  const o = obj(v, path);
  checkKeys(o, path, ['4k', '2m', '1g']);
  const mix: PageMix = {
    '4k': o['4k'] === undefined ? 0 : num(o['4k'], `${path}.4k`, 0, 1),
    '2m': o['2m'] === undefined ? 0 : num(o['2m'], `${path}.2m`, 0, 1),
    '1g': o['1g'] === undefined ? 0 : num(o['1g'], `${path}.1g`, 0, 1),
  };
  const sum = mix['4k'] + mix['2m'] + mix['1g'];
  if (Math.abs(sum - 1) > 1e-9) fail(path, `fractions must add up to 1, got ${sum}`);
  if (mix['1g'] > 0 && (paging === 'pae' || paging === '32bit')) fail(`${path}.1g`, `1 GiB pages do not exist in ${paging} paging (SDM §4.3, §4.4)`);
  return mix;
}

function flush(v: unknown, path: string): MachineConfig['flush'] {
  if (v === undefined) return { kind: 'none', every: 0 };
  const o = obj(v, path);
  checkKeys(o, path, ['kind', 'every']);
  const kind = o.kind ?? 'none';
  if (kind !== 'none' && kind !== 'invlpg' && kind !== 'full') fail(`${path}.kind`, `must be "none", "invlpg" or "full", got ${JSON.stringify(kind)}`);
  const every = o.every === undefined ? 0 : int(o.every, `${path}.every`, 0, 2 ** 31);
  if (kind !== 'none' && every === 0) fail(`${path}.every`, `must be at least 1 when kind is "${kind}"`);
  return { kind, every };
}

function base(v: unknown, path: string, paging: PagingDepth): bigint {
  if (v === undefined) return paging === 'pae' || paging === '32bit' ? BASE_32 : BASE_64;
  if (typeof v !== 'string' || !/^(0x[0-9a-f_]+|\d+)$/i.test(v)) fail(path, `must be an address string like "0x1000000000", got ${JSON.stringify(v)}`);
  const b = BigInt(v.replace(/_/g, ''));
  if (b % (1n << 30n) !== 0n) fail(path, `must be 1 GiB aligned, got ${v}`);
  return b;
}

const PAGING: PagingDepth[] = ['4level', '5level', 'pae', '32bit'];

function machineConfig(v: unknown, path: string, index: number): MachineConfig {
  const o = obj(v, path);
  checkKeys(o, path, [
    'name',
    'paging',
    'pages',
    'tlb',
    'psc',
    'pcid',
    'contextSwitchEvery',
    'flush',
    'base',
    'core',
    'l1tlb',
    'stlb',
    'tlbPolicy',
    'walkers',
    'addressSpaces',
    'asids',
    'nested',
  ]);
  const paging = (o.paging ?? '4level') as PagingDepth;
  if (!PAGING.includes(paging)) fail(`${path}.paging`, `must be one of ${PAGING.join(', ')}, got ${JSON.stringify(o.paging)}`);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) fail(`${path}.name`, 'must be a non-empty string');
  const pcid = o.pcid === undefined ? false : bool(o.pcid, `${path}.pcid`);
  if (pcid && (paging === 'pae' || paging === '32bit'))
    fail(`${path}.pcid`, `PCIDs need IA-32e paging (CR4.PCIDE requires EFER.LMA, SDM §4.10.1), not ${paging}`);
  return {
    name: (o.name as string | undefined) ?? `config ${index}`,
    paging,
    pages: pages(o.pages, `${path}.pages`, paging),
    tlb: tlb(o.tlb, `${path}.tlb`),
    psc: psc(o.psc, `${path}.psc`),
    pcid,
    contextSwitchEvery: o.contextSwitchEvery === undefined ? 0 : int(o.contextSwitchEvery, `${path}.contextSwitchEvery`, 0, 2 ** 31),
    flush: flush(o.flush, `${path}.flush`),
    base: base(o.base, `${path}.base`, paging),
    core: core(o.core, `${path}.core`),
    ...(o.l1tlb === undefined ? {} : { l1tlb: tlbArrays(o.l1tlb, `${path}.l1tlb`) }),
    ...(o.stlb === undefined ? {} : { stlb: tlbArrays(o.stlb, `${path}.stlb`) }),
    ...(o.tlbPolicy === undefined ? {} : { tlbPolicy: policy(o.tlbPolicy, `${path}.tlbPolicy`) }),
    ...(o.walkers === undefined ? {} : { walkers: int(o.walkers, `${path}.walkers`, 1, 64) }),
    addressSpaces: o.addressSpaces === undefined ? 2 : int(o.addressSpaces, `${path}.addressSpaces`, 1, 64),
    asids: o.asids === undefined ? MAX_ASIDS : int(o.asids, `${path}.asids`, 1, MAX_ASIDS),
    ...(o.nested === undefined || o.nested === false ? {} : { nested: nestedCost(o.nested, `${path}.nested`) }),
  };
}

function nestedCost(v: unknown, path: string): NestedCost {
  const o = obj(v, path);
  checkKeys(o, path, ['kind', 'levels', 'hostPage', 'gpaTlb', 'hostPsc', 'guestRam']);
  if (o.kind !== 'ept' && o.kind !== 'npt') fail(`${path}.kind`, `must be 'ept' or 'npt', got ${JSON.stringify(o.kind)}`);
  const levels = o.levels === undefined ? 4 : int(o.levels, `${path}.levels`, 4, 5);
  const hostPage = o.hostPage ?? '4k';
  if (hostPage !== '4k' && hostPage !== '2m' && hostPage !== '1g') fail(`${path}.hostPage`, `must be '4k', '2m' or '1g', got ${JSON.stringify(o.hostPage)}`);
  return {
    kind: o.kind,
    levels: levels as 4 | 5,
    hostPage,
    gpaTlb: o.gpaTlb === undefined || o.gpaTlb === false ? false : geometry(o.gpaTlb, `${path}.gpaTlb`, { sets: 1, ways: 16 }),
    hostPsc: psc(o.hostPsc, `${path}.hostPsc`),
    guestRam: o.guestRam === undefined ? 2 ** 36 : size(o.guestRam, `${path}.guestRam`, 2 ** 24, 2 ** 46),
  };
}

function core(v: unknown, path: string): string {
  if (v === undefined) return 'skylake';
  if (typeof v !== 'string' || !PRESET_NAMES.includes(v)) fail(path, `must be one of ${PRESET_NAMES.join(', ')}, got ${JSON.stringify(v)}`);
  return v;
}

function policy(v: unknown, path: string): Policy {
  if (typeof v !== 'string' || !POLICIES.includes(v as Policy)) fail(path, `must be one of ${POLICIES.join(', ')}, got ${JSON.stringify(v)}`);
  return v as Policy;
}

const CLASSES: PageClass[] = ['4k', '2m', '1g'];

/** A list of TLB arrays: [{ "sizes": ["4k", "2m"], "sets": 128, "ways": 12 }], or false for none. */
function tlbArrays(v: unknown, path: string): TlbArray[] {
  if (v === false) return [];
  const list = Array.isArray(v) ? v : fail(path, `must be a list of { sizes, sets, ways } or false, got ${JSON.stringify(v)}`);
  const seen = new Set<string>();
  return list.map((a, i) => {
    const p = `${path}[${i}]`;
    const o = obj(a, p);
    checkKeys(o, p, ['sizes', 'sets', 'ways']);
    const sizes = Array.isArray(o.sizes) && o.sizes.length ? o.sizes : fail(`${p}.sizes`, 'must be a non-empty list of "4k", "2m", "1g"');
    for (const z of sizes) {
      if (!CLASSES.includes(z as PageClass)) fail(`${p}.sizes`, `must name "4k", "2m" or "1g", got ${JSON.stringify(z)}`);
      if (seen.has(z as string)) fail(`${p}.sizes`, `page size ${z} is already held by another array of this level`);
      seen.add(z as string);
    }
    return { sizes: sizes as PageClass[], sets: int(o.sets, `${p}.sets`, 1, 65536), ways: int(o.ways, `${p}.ways`, 1, 256) };
  });
}

function workload(v: unknown, path: string): WorkloadSpec {
  const o = obj(v, path);
  const common: WorkloadCommon = {
    writes: o.writes === undefined ? 0 : num(o.writes, `${path}.writes`, 0, 1),
    dependent: o.dependent === undefined ? o.kind === 'pointer-chase' : bool(o.dependent, `${path}.dependent`),
  };
  const { writes: _w, dependent: _d, ...rest } = o;
  void _w;
  void _d;
  return { ...kindSpec(rest, path), ...common };
}

const COMMON_KEYS = ['writes', 'dependent'];

type KindSpec = WorkloadSpec extends infer W ? (W extends WorkloadCommon ? Omit<W, keyof WorkloadCommon> : never) : never;

function kindSpec(o: Obj, path: string): KindSpec {
  const kind = o.kind;
  switch (kind) {
    case 'sequential':
      checkKeys(o, path, [...COMMON_KEYS, 'kind', 'accessBytes']);
      return { kind, accessBytes: o.accessBytes === undefined ? 8 : size(o.accessBytes, `${path}.accessBytes`, 1, 2 ** 30) };
    case 'strided':
      checkKeys(o, path, [...COMMON_KEYS, 'kind', 'stride']);
      return { kind, stride: o.stride === undefined ? 4096 : size(o.stride, `${path}.stride`, 1, 2 ** 40) };
    case 'uniform': {
      checkKeys(o, path, [...COMMON_KEYS, 'kind', 'align']);
      const align = o.align === undefined ? 8 : size(o.align, `${path}.align`, 1, 2 ** 30);
      if ((align & (align - 1)) !== 0) fail(`${path}.align`, `must be a power of two, got ${align}`);
      return { kind, align };
    }
    case 'zipf':
      checkKeys(o, path, [...COMMON_KEYS, 'kind', 'exponent']);
      return { kind, exponent: o.exponent === undefined ? 0.99 : num(o.exponent, `${path}.exponent`, 0.01, 10) };
    case 'pointer-chase': {
      checkKeys(o, path, [...COMMON_KEYS, 'kind', 'nodeBytes']);
      const nodeBytes = o.nodeBytes === undefined ? 64 : size(o.nodeBytes, `${path}.nodeBytes`, 8, 2 ** 30);
      if ((nodeBytes & (nodeBytes - 1)) !== 0) fail(`${path}.nodeBytes`, `must be a power of two, got ${nodeBytes}`);
      return { kind, nodeBytes };
    }
    case 'file': {
      checkKeys(o, path, [...COMMON_KEYS, 'kind', 'path', 'format']);
      if (typeof o.path !== 'string' || o.path === '') fail(`${path}.path`, 'must name an address file');
      const format = o.format ?? (/\.bin$/i.test(o.path) ? 'binary' : 'text');
      if (format !== 'text' && format !== 'binary') fail(`${path}.format`, `must be "text" or "binary", got ${JSON.stringify(format)}`);
      return { kind, path: o.path, format };
    }
    default:
      fail(`${path}.kind`, `must be one of sequential, strided, uniform, zipf, pointer-chase, file; got ${JSON.stringify(kind)}`);
  }
}

function footprints(v: unknown, path: string): number[] {
  if (isObj(v)) {
    checkKeys(v, path, ['from', 'to', 'factor']);
    const from = size(v.from, `${path}.from`, 4096, 2 ** 44);
    const to = size(v.to, `${path}.to`, from, 2 ** 44);
    const factor = v.factor === undefined ? 4 : int(v.factor, `${path}.factor`, 2, 1024);
    const out: number[] = [];
    for (let s = from; s <= to; s *= factor) out.push(s);
    return out;
  }
  return arr(v, path).map((s, i) => {
    const n = size(s, `${path}[${i}]`, 4096, 2 ** 44);
    if (n % 4096 !== 0) fail(`${path}[${i}]`, `must be a multiple of 4096, got ${n}`);
    return n;
  });
}

function cacheLevel(v: unknown, path: string): DataCache {
  const o = obj(v, path);
  checkKeys(o, path, ['name', 'bytes', 'ways', 'cycles']);
  if (typeof o.name !== 'string' || o.name === '') fail(`${path}.name`, 'must be a non-empty string');
  return {
    name: o.name,
    bytes: size(o.bytes, `${path}.bytes`, 64, 2 ** 34),
    ways: o.ways === undefined ? 8 : int(o.ways, `${path}.ways`, 1, 64),
    cycles: num(o.cycles, `${path}.cycles`, 0, 1e6),
  };
}

function latency(v: unknown, path: string): LatencyModel {
  const d = structuredClone(DEFAULT_LATENCY);
  if (v === undefined) return d;
  const o = obj(v, path);
  checkKeys(o, path, ['tlbHit', 'stlbHit', 'pscHit', 'dirtyUpdate', 'caches', 'memory', 'cachePolicy']);
  const out: LatencyModel = {
    tlbHit: o.tlbHit === undefined ? d.tlbHit : num(o.tlbHit, `${path}.tlbHit`, 0, 1e6),
    pscHit: o.pscHit === undefined ? d.pscHit : num(o.pscHit, `${path}.pscHit`, 0, 1e6),
    dirtyUpdate: o.dirtyUpdate === undefined ? d.dirtyUpdate : num(o.dirtyUpdate, `${path}.dirtyUpdate`, 0, 1e6),
    cachePolicy: o.cachePolicy === undefined ? d.cachePolicy : policy(o.cachePolicy, `${path}.cachePolicy`),
  };
  if (o.stlbHit !== undefined) out.stlbHit = num(o.stlbHit, `${path}.stlbHit`, 0, 1e6);
  if (o.memory !== undefined) out.memory = num(o.memory, `${path}.memory`, 0, 1e6);
  if (o.caches !== undefined) {
    const caches = arr(o.caches, `${path}.caches`).map((c, i) => cacheLevel(c, `${path}.caches[${i}]`));
    for (let i = 1; i < caches.length; i++)
      if (caches[i].bytes < caches[i - 1].bytes) fail(`${path}.caches[${i}].bytes`, 'caches must be listed from smallest to largest');
    out.caches = caches;
  }
  return out;
}

/**
 * Validates a parsed JSON config and fills in the defaults of every missing field. Throws a
 * PagewalkError naming the first bad field as `config.<path>: <problem>`.
 */
export function resolveConfig(raw: unknown): CostConfig {
  const d = defaultConfig();
  const o = obj(raw, 'config');
  checkKeys(o, 'config', ['seed', 'accesses', 'warmup', 'batch', 'strict', 'footprints', 'workloads', 'configs', 'latency']);
  return {
    seed: o.seed === undefined ? d.seed : int(o.seed, 'config.seed', 0, 2 ** 32 - 1),
    accesses: o.accesses === undefined ? d.accesses : int(o.accesses, 'config.accesses', 1, 50_000_000),
    warmup: o.warmup === undefined || o.warmup === null || o.warmup === 'auto' ? d.warmup : int(o.warmup, 'config.warmup', 0, 50_000_000),
    batch: o.batch === undefined ? d.batch : int(o.batch, 'config.batch', 1, 65536),
    strict: o.strict === undefined ? d.strict : bool(o.strict, 'config.strict'),
    footprints: o.footprints === undefined ? d.footprints : footprints(o.footprints, 'config.footprints'),
    workloads: o.workloads === undefined ? d.workloads : arr(o.workloads, 'config.workloads').map((w, i) => workload(w, `config.workloads[${i}]`)),
    configs: o.configs === undefined ? d.configs : arr(o.configs, 'config.configs').map((c, i) => machineConfig(c, `config.configs[${i}]`, i)),
    latency: latency(o.latency, 'config.latency'),
  };
}

/** Parses config text (JSON) from `file`; a syntax error names the file. */
export function parseConfigText(text: string, file: string): CostConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PagewalkError('EINVAL_ARG', `${file}: not valid JSON (${(e as Error).message})`);
  }
  return resolveConfig(raw);
}
