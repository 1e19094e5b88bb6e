/**
 * The subset of the paging core API (docs/core-api.md) that the modelled CPUs and the kernel
 * models use. Declared structurally so that the model depends only on the documented contract:
 * `Machine` from src/core satisfies `CoreMachine`, and `m.cpus[i]` satisfies `CoreCpu`.
 */
import type { AccessOptions, AccessResult, ControlRegs, PagingMode, WalkExplanation } from '../core/types.js';
import type { PscEntryInfo, PscFilter, TlbEntryInfo } from '../core/cpu.js';
import type { MachineSnapshot } from '../core/machine.js';

/** One hardware CPU of the core: registers, TLB, paging-structure caches, walker. */
export interface CoreCpu {
  readonly index: number;
  setControl(regs: Partial<ControlRegs>): void;
  getControl(): ControlRegs;
  /** CR3 alone (`getControl().cr3`). */
  getCr3(): bigint;
  /** CR3 >> 12 as a number (the root table's frame), without allocating. */
  cr3Frame(): number;
  readonly mode: PagingMode;
  /** CR2: the linear address of the last #PF. */
  readonly cr2: bigint;
  access(va: bigint, opts: AccessOptions): AccessResult;
  /** Physical addresses of the paging-structure entries read by the last access's walk. */
  lastWalkEntries(): bigint[];
  /** How many entries the last access's walk read (0 after a TLB hit). */
  lastWalkCount(): number;
  /** The frame of entry `i` the last access's walk read (`lastWalkEntries()[i] >> 12`, without allocating). */
  lastWalkFrame(i: number): number;
  invlpg(va: bigint): void;
  flushTlbAll(): void;
  /** Every valid TLB entry, decoded (sanitizers compare them with the tables). */
  tlbEntries(): TlbEntryInfo[];
  /** The valid TLB entries that translate `va` (every PCID and page-size class). */
  tlbEntriesFor(va: bigint): TlbEntryInfo[];
  /** Every valid paging-structure-cache entry, decoded (with `filter`: those serving addresses below `below`, or pointing to frame `table`). */
  pscEntries(filter?: PscFilter): PscEntryInfo[];
  /** A walk of the tables in memory; with `dryRun` it bypasses the TLB and changes nothing. */
  explain(va: bigint, opts: AccessOptions & { dryRun?: boolean }): WalkExplanation;
  /** The outcome of a dry-run walk of the tables in memory (no TLB, no A/D bit, no CR2). */
  probe(va: bigint, opts: AccessOptions): AccessResult;
  /** User, non-global TLB entries below `below`, and the stale ones among them, counted in the core: held * 65536 + stale. */
  userTlbScan(below: bigint): number;
  /** Paging-structure-cache entries below `below` that the tables in memory contradict, counted in the core. */
  staleUserPscCount(below: bigint): number;
}

/** Guest physical memory (pa = offset). */
export interface CorePhys {
  read64n(pa: number): bigint;
  write64n(pa: number, v: bigint): void;
  read32(pa: bigint): number;
  read32n(pa: number): number;
  write32(pa: bigint, v: number): void;
  readBytes(pa: bigint, len: number): Uint8Array;
}

/** The frame allocator and 4 KiB frame metadata. */
export interface CoreFrames {
  readonly count: number;
  alloc(opts?: { level?: number; owner?: number; zero?: boolean }): number;
  free(pfn: number): void;
  /** Takes a specific free frame out of the allocator (never handed out, never freed). */
  reserve(pfn: number): void;
  /** Called with the frame number before each free (a sanitizer's hook); null when nothing watches. */
  onFree: ((pfn: number) => void) | null;
  isFree(pfn: number): boolean;
  state(pfn: number): number;
  level(pfn: number): number;
  setLevel(pfn: number, level: number): void;
  generation(pfn: number): number;
}

/** A core machine: CPUs, RAM, frames. */
export interface CoreMachine {
  readonly ramBytes: number;
  readonly cpus: readonly CoreCpu[];
  readonly phys: CorePhys;
  readonly frames: CoreFrames;
  reset(): void;
  /** The machine's whole state (Machine.snapshot), and putting it back. */
  snapshot(): MachineSnapshot;
  restore(s: MachineSnapshot): void;
}
