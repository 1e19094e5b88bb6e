/** Types of the reference walker's inputs and outputs. */
import type { AccessResult, ControlRegs, PagingMode, Vendor } from '../core/types.js';

/**
 * Physical memory the reference walker reads and writes. `m.phys` of a Machine satisfies it,
 * and so does {@link SparseMemory}. Unbacked addresses must read as all ones and drop writes.
 */
export interface RefMemory {
  read64(pa: bigint): bigint;
  write64(pa: bigint, v: bigint): void;
  read32(pa: bigint): number;
  write32(pa: bigint, v: number): void;
  /**
   * Optional: sets `bits` in the `width`-byte entry at `pa` as the walk's A/D update (a locked
   * read-modify-write). The nested walker uses it to route the update through the host.
   */
  orBits?(pa: bigint, bits: bigint, width: 4 | 8): void;
}

/** Register state the walker reads. `pdptes` are the PAE PDPTE registers (see `referenceLoadPdptes`). */
export interface RefCpuState extends ControlRegs {
  /** The four PAE PDPTE registers; required in PAE mode. */
  pdptes?: bigint[];
}

/** Processor model: what CPUID would report, plus the RAM size (informative; memory decides backing). */
export interface RefConfig {
  vendor: Vendor;
  /** MAXPHYADDR, 32..52. */
  maxPhysAddrBits: number;
  /** PSE-36 supported (32-bit paging 4 MiB pages reach physical bits 39:32). */
  pse36: boolean;
  /** 1 GiB pages supported (CPUID.80000001H:EDX.Page1GB). */
  pdpe1gb: boolean;
  ramBytes: number;
}

/** One paging-structure entry consulted by a reference walk. */
export interface RefStep {
  /** 5 = PML5E … 1 = PTE (PAE: 3 = PDPTE register; 32-bit: 2 = PDE, 1 = PTE). */
  level: number;
  name: 'PML5E' | 'PML4E' | 'PDPTE' | 'PDE' | 'PTE';
  /** Physical address of the entry (PAE PDPTEs: where the register was loaded from). */
  entryAddress: bigint;
  /** Value read (PAE PDPTE: register value). */
  value: bigint;
  /** 'next', 'leaf', 'not-present' or 'reserved'. */
  decision: 'next' | 'leaf' | 'not-present' | 'reserved';
  /** True for a PAE PDPTE register (not read from memory). */
  register: boolean;
}

/** Result of `referenceAccess`: the architectural outcome plus the walk that produced it. */
export type RefAccessResult = AccessResult & {
  mode: PagingMode;
  steps: RefStep[];
  /** Size in bytes of the page that translated the address (0 on a fault or with paging off). */
  pageSize: number;
  /** The linear address (low 32 bits of va in 'none', '32bit', 'pae'). */
  linear: bigint;
};
