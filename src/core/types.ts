/**
 * Public types of the paging core. These shapes are the contract that the Linux/Xen model,
 * the fuzzer, the cost tool, the CLI and the web page all build on.
 *
 * All guest addresses and register values are `bigint` at the API; counts are `number`.
 */

/** CPU vendor whose documented paging behaviour differs in a few corners. See README "Vendors". */
export type Vendor = 'intel' | 'amd';

/** The kind of memory access. Numeric codes (0/1/2) are used by the batch API. */
export type AccessKind = 'read' | 'write' | 'exec';
export const ACCESS_KIND_CODE: Record<AccessKind, number> = { read: 0, write: 1, exec: 2 };

/** Paging mode derived from CR0.PG, CR4.PAE, EFER.LME/LMA and CR4.LA57. */
export type PagingMode = 'none' | '32bit' | 'pae' | '4level' | '5level';

/** TLB geometry for one page-size class. `sets` must be a power of two. */
export interface CacheGeometry {
  sets: number;
  ways: number;
}

export interface TlbGeometry {
  /** 4 KiB translations. */
  '4k': CacheGeometry;
  /** 2 MiB (PAE/4-level/5-level) and 4 MiB (32-bit PSE) translations. */
  '2m': CacheGeometry;
  /** 1 GiB translations. */
  '1g': CacheGeometry;
}

/** Paging-structure cache geometry per level (SDM 4.10.3). */
export interface PscGeometry {
  pml5e: CacheGeometry;
  pml4e: CacheGeometry;
  pdpte: CacheGeometry;
  pde: CacheGeometry;
}

/**
 * `realistic`: finite TLBs and paging-structure caches with deterministic FIFO replacement.
 * `maximal`: keep every entry the architecture allows to be kept until an invalidation
 * forces it out (large caches; a capacity eviction is counted in `stats.forcedEvictions`).
 */
export type RetentionPolicy = 'realistic' | 'maximal';

/**
 * What happens when a cached TLB entry denies an access whose paging-structure entries in
 * memory now allow it (permissions loosened without a flush):
 * `fault` — a spurious #PF from the stale entry, which the #PF then invalidates (Intel);
 * `rewalk` — the entry is dropped and the walk redone from memory (AMD).
 */
export type StalePermissionPolicy = 'fault' | 'rewalk';

export interface MachineOptions {
  /** Guest physical RAM in bytes (multiple of 4096, at most 4 GiB − 128 MiB). Default 64 MiB. */
  ramBytes?: number;
  /** Number of CPUs (1..64). Default 1. */
  cpus?: number;
  /** Default 'intel'. */
  vendor?: Vendor;
  /** MAXPHYADDR, 32..52. Default 46. */
  maxPhysAddrBits?: number;
  /** Default 'realistic'. */
  retention?: RetentionPolicy;
  /** Default: 'fault' for intel, 'rewalk' for amd. */
  stalePermission?: StalePermissionPolicy;
  /** TLB geometry (realistic retention); `false` disables the TLB. */
  tlb?: Partial<TlbGeometry> | false;
  /** Paging-structure caches; `false` disables them. */
  psc?: Partial<PscGeometry> | false;
  /** 1 GiB pages supported (CPUID pdpe1gb). Default true. */
  pdpe1gb?: boolean;
  /** PSE-36 for 32-bit paging 4 MiB pages. Default true. */
  pse36?: boolean;
}

/** Control registers of one CPU. Any subset may be passed to `setControl`. */
export interface ControlRegs {
  cr0: bigint;
  cr3: bigint;
  cr4: bigint;
  efer: bigint;
  pkru: bigint;
  pkrs: bigint;
}

export interface AccessOptions {
  kind: AccessKind;
  /** Current privilege level: 0..2 are supervisor, 3 is user. */
  cpl: 0 | 1 | 2 | 3;
  /** EFLAGS.AC (relevant to SMAP for supervisor accesses). Default false. */
  ac?: boolean;
  /** An implicit supervisor-mode access (GDT/IDT/TSS...), whatever the CPL. Default false. */
  implicit?: boolean;
}

export type AccessResult = { ok: true; pa: bigint } | { ok: false; vector: 14; errorCode: number; cr2: bigint } | { ok: false; vector: 13 };

export interface BatchOptions {
  cpl: 0 | 1 | 2 | 3;
  ac?: boolean;
  implicit?: boolean;
}

export interface BatchOutput {
  pa: BigUint64Array;
  /** 0 = translated, else vector in bits 16..23 and the #PF error code in bits 0..15. */
  fault: Uint32Array;
}

export interface CpuStats {
  /** Page walks started (TLB misses that walked, plus re-walks). */
  walks: number;
  /** Paging-structure entries read from memory by walks. */
  memRefs: number;
  tlbHits: number;
  tlbMisses: number;
  /** Walks that skipped upper levels thanks to a paging-structure-cache hit. */
  pscHits: number;
  /** #PF and #GP raised by accesses. */
  faults: number;
  /** Entries evicted for capacity while retention was 'maximal'. */
  forcedEvictions: number;
  /** Paging-structure-cache hits by the level of the cached entry. */
  pscHitsByLevel: { pde: number; pdpte: number; pml4e: number; pml5e: number };
}

/** Page-fault error code bits (SDM Figure 4-12). */
export const PF = { P: 1, W: 2, U: 4, RSVD: 8, ID: 16, PK: 32 } as const;

/** One level of an explained walk. */
export interface WalkStep {
  /** 5 = PML5E, 4 = PML4E, 3 = PDPTE, 2 = PDE, 1 = PTE. */
  level: number;
  /** Name as the SDM uses it: 'PML5E', 'PML4E', 'PDPTE', 'PDE', 'PTE'. */
  name: string;
  /** Index into the table, from the linear address. */
  index: number;
  /** Physical address of the entry (for PAE PDPTEs: the address they were loaded from). */
  entryAddress: bigint;
  /** Raw value read (before any A/D update). */
  value: bigint;
  /** Value after the walk's A/D update (equal to `value` when unchanged). */
  valueAfter: bigint;
  /** Decoded flags of the entry, e.g. ['P','RW','US','A','PS']. */
  flags: string[];
  /** Bits of the entry that decided the outcome at this level. */
  decisiveBits: string[];
  /** What happened here: 'next' (go to the next table), 'leaf', 'denied' (a leaf the access may not use), 'not-present', 'reserved', 'pdpte-register'. */
  decision: string;
  /** True when the entry came from a paging-structure cache or PDPTE register, not memory. */
  cached: boolean;
}

export interface WalkExplanation {
  va: bigint;
  mode: PagingMode;
  options: Required<AccessOptions>;
  /** Field split of the address, e.g. { pml4: 0x1ff, pdpt: 3, pd: 0, pt: 5, offset: 0x123 }. */
  fields: Record<string, number>;
  steps: WalkStep[];
  /** 'tlb' when the translation came from the TLB (steps then empty). */
  source: 'tlb' | 'walk' | 'none';
  result: AccessResult;
  /** Page size of the final translation in bytes (0 on fault). */
  pageSize: number;
  /** Human-readable decoding of the #PF error code bits, when there is one. */
  errorCodeBits?: string[];
}

/** Frame-table states. */
export const FRAME_STATE = { FREE: 0, ALLOCATED: 1, RESERVED: 2 } as const;

/** Page size of a mapping made by the range operations. */
export type PageSize = '4k' | '2m' | '4m' | '1g';
