/**
 * The PV MMU hypercall interface (xen/include/public/xen.h) and its constants.
 */

/** Hypercall numbers, xen/include/public/xen.h. */
export const __HYPERVISOR_mmu_update = 1;
export const __HYPERVISOR_multicall = 13;
export const __HYPERVISOR_update_va_mapping = 14;
export const __HYPERVISOR_mmuext_op = 26;

/** `mmu_update` commands (low 2 bits of `ptr`). */
export const MMU_NORMAL_PT_UPDATE = 0;
export const MMU_MACHPHYS_UPDATE = 1;
export const MMU_PT_UPDATE_PRESERVE_AD = 2;

/** `mmuext_op` commands. */
export const MMUEXT_PIN_L1_TABLE = 0;
export const MMUEXT_PIN_L2_TABLE = 1;
export const MMUEXT_PIN_L3_TABLE = 2;
export const MMUEXT_PIN_L4_TABLE = 3;
export const MMUEXT_UNPIN_TABLE = 4;
export const MMUEXT_NEW_BASEPTR = 5;
export const MMUEXT_TLB_FLUSH_LOCAL = 6;
export const MMUEXT_INVLPG_LOCAL = 7;
export const MMUEXT_TLB_FLUSH_MULTI = 8;
export const MMUEXT_INVLPG_MULTI = 9;
export const MMUEXT_TLB_FLUSH_ALL = 10;
export const MMUEXT_INVLPG_ALL = 11;
export const MMUEXT_SET_LDT = 13;
export const MMUEXT_NEW_USER_BASEPTR = 15;

/** `update_va_mapping` flags. */
export const UVMF_NONE = 0;
export const UVMF_TLB_FLUSH = 1;
export const UVMF_INVLPG = 2;
export const UVMF_FLUSHTYPE_MASK = 3;
export const UVMF_LOCAL = 0;
export const UVMF_ALL = 4;

/** `struct mmu_update { uint64_t ptr; uint64_t val; }`: ptr is a machine address | command. */
export interface MmuUpdate {
  ptr: bigint;
  val: bigint;
}

/**
 * `struct mmuext_op`: `arg1` is an mfn (pin/unpin/baseptr) or a linear address (INVLPG,
 * SET_LDT); arg2 is `vcpumask` (the _MULTI flushes, bit i = vCPU i) or `nrEnts` (SET_LDT).
 */
export interface MmuextOp {
  cmd: number;
  mfn?: number;
  linearAddr?: bigint;
  vcpumask?: number[];
  nrEnts?: number;
}

/** One entry of a multicall batch (`struct multicall_entry`), by hypercall. */
export type MulticallEntry =
  { op: 'mmu_update'; reqs: MmuUpdate[] } | { op: 'mmuext_op'; ops: MmuextOp[] } | { op: 'update_va_mapping'; va: bigint; val: bigint; flags: number };

/** Name of an mmuext command, for traces. */
export function mmuextName(cmd: number): string {
  return (
    [
      'MMUEXT_PIN_L1_TABLE',
      'MMUEXT_PIN_L2_TABLE',
      'MMUEXT_PIN_L3_TABLE',
      'MMUEXT_PIN_L4_TABLE',
      'MMUEXT_UNPIN_TABLE',
      'MMUEXT_NEW_BASEPTR',
      'MMUEXT_TLB_FLUSH_LOCAL',
      'MMUEXT_INVLPG_LOCAL',
      'MMUEXT_TLB_FLUSH_MULTI',
      'MMUEXT_INVLPG_MULTI',
      'MMUEXT_TLB_FLUSH_ALL',
      'MMUEXT_INVLPG_ALL',
      'MMUEXT_FLUSH_CACHE',
      'MMUEXT_SET_LDT',
      'MMUEXT_14',
      'MMUEXT_NEW_USER_BASEPTR',
    ][cmd] ?? `MMUEXT_${cmd}`
  );
}
