/**
 * Direct MMU hypercalls a PV guest kernel may issue on its own page tables, outside the pv_mmu_ops
 * paths: rewriting an existing entry of init_mm's tables (flag bits only) and installing a linear
 * page-table entry, each one `HYPERVISOR_mmu_update(&req, 1, NULL, DOMID_SELF)`, whose return
 * code the caller checks and ignores: a refused request changes nothing. What they are for is
 * what a PV kernel is allowed to ask of Xen (include/xen/interface/xen.h: MMU_NORMAL_PT_UPDATE
 * on any entry of a table the guest owns; linear page tables are part of the PV ABI). On any other
 * backend they do nothing: a native kernel's tables are its own.
 */
import { MMU_NORMAL_PT_UPDATE, MMUEXT_PIN_L1_TABLE, MMUEXT_TLB_FLUSH_ALL, MMUEXT_UNPIN_TABLE } from '../../xen/hypercalls.js';
import { _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_RW } from '../constants.js';
import type { Kernel } from '../kernel.js';
import type { LinuxCpu } from '../percpu.js';
import { lookup_address } from '../pgtable.js';
import type { KGen } from '../../scheduler/types.js';
import { enterFn } from '../../scheduler/traced.js';
import { xen_hypercall, xenState } from './state.js';
import { lowmem_address, lookup_pte_k } from './pin.js';
import { mustYield } from '../../scheduler/point.js';

/** Xen's private L4 slots (ROOT_PAGETABLE_FIRST/LAST_XEN_SLOT), which mmu_update refuses. */
const XEN_SLOTS = [256, 271];

/** Running on Xen PV, with the Xen side booted (its tables validated). */
function onXen(k: Kernel): boolean {
  return k.config.knobs.paravirt === 'xen-pv' && xenState(k).booted;
}

/**
 * The machine address of the level-`level` entry (4 = pgd .. 1 = pte) on the walk to `va` in
 * init_mm's tables, or null when the walk stops above that level.
 */
export function kernel_entry_of(k: Kernel, va: bigint, level: number): number | null {
  const r = lookup_address(k, va);
  if (!r || r.level !== 1 || k.L.paging !== '4level') return null;
  const chain = [...r.upper, r.ptr]; // pgd, pud, pmd, pte entry addresses
  return chain[4 - level] ?? null;
}

/** The highest-numbered empty entry of a table (the guest's part of an L4), or -1. */
function lastFree(k: Kernel, table: number, level: number): number {
  for (let i = 511; i >= 0; i--) {
    if (level === 4 && i >= XEN_SLOTS[0] && i <= XEN_SLOTS[1]) continue;
    if (k.m.phys.read64n(table * 4096 + i * 8) === 0n) return i;
  }
  return -1;
}

/**
 * A guest kernel's plain store of `val` into the entry at machine address `pa` through its direct
 * map (`*ptr = val`), the other way a PV kernel writes its page tables: through a writable alias
 * (an ordinary page) it lands as it is; through the read-only alias of a pinned table it traps,
 * and Xen emulates it for an L1 after validating the value (writable page tables:
 * `ptwr_emulate`) or refuses it. A refused store is a fault the guest takes; the fuzzer's
 * malicious guest skips the instruction. Returns whether the store took effect. The alias is
 * looked at after the interleaving point, when the store executes.
 */
export function* xen_guest_store(k: Kernel, cpu: LinuxCpu, pa: number, val: bigint): KGen<boolean> {
  if (!onXen(k)) return false;
  if (mustYield('xen:guest_store')) yield 'xen:guest_store';
  const va = lowmem_address(k, Math.floor(pa / 4096)) + BigInt(pa % 4096);
  const p = lookup_pte_k(k, va);
  if (p === null) return false;
  const pte = k.m.phys.read64n(p);
  if (!(pte & _PAGE_PRESENT)) return false;
  if (pte & _PAGE_RW) {
    k.m.phys.write64n(pa, val);
    k.ptEpoch++;
    return true;
  }
  const fns = enterFn(cpu, 'ptwr_do_page_fault');
  try {
    return xenState(k).xen.ptwr_emulate(cpu.index, va, val);
  } finally {
    fns.pop();
  }
}

/** `HYPERVISOR_mmu_update` of one MMU_NORMAL_PT_UPDATE request; returns its rc. */
export function* HYPERVISOR_mmu_update(k: Kernel, cpu: LinuxCpu, ptr: number, val: bigint): KGen<number> {
  const fns = enterFn(cpu, 'HYPERVISOR_mmu_update');
  try {
    if (mustYield('xen:mmu_update')) yield 'xen:mmu_update';
    return (yield* xen_hypercall(k, cpu, xenState(k).xen.mmu_update_g(cpu.index, [{ ptr: BigInt(ptr) | BigInt(MMU_NORMAL_PT_UPDATE), val }]))).rc;
  } finally {
    fns.pop();
  }
}

/**
 * Sets `bits` in the existing page-table entry at machine address `pa` (e.g. one that
 * kernel_entry_of() found, or a linear entry xen_set_linear_entry() installed). Returns the
 * hypercall's rc, or null when the entry is not present, already has the bits, or not on Xen PV.
 */
export function* xen_set_entry_bits(k: Kernel, cpu: LinuxCpu, pa: number, bits: bigint): KGen<number | null> {
  if (!onXen(k)) return null;
  const old = k.m.phys.read64n(pa);
  if (!(old & _PAGE_PRESENT) || (old | bits) === old) return null;
  return yield* HYPERVISOR_mmu_update(k, cpu, pa, old | bits);
}

/**
 * A read-only linear page-table entry: in the highest-numbered free entry of the level-`level`
 * table on the walk to `va` (Linux's kernel mappings grow from the bottom of each table), an
 * entry pointing to the level-`level` table on the walk to `toVa` (the same table: a self-map).
 * Returns the entry's machine address and the rc, or null (no such tables, no free entry, not
 * Xen PV).
 */
export function* xen_set_linear_entry(k: Kernel, cpu: LinuxCpu, va: bigint, toVa: bigint, level: number): KGen<{ pa: number; rc: number } | null> {
  if (!onXen(k) || level < 2) return null;
  const pa = kernel_entry_of(k, va, level);
  const to = kernel_entry_of(k, toVa, level);
  if (pa === null || to === null) return null;
  const table = Math.floor(pa / 4096);
  const i = lastFree(k, table, level);
  if (i < 0) return null;
  const at = table * 4096 + i * 8;
  const rc = yield* HYPERVISOR_mmu_update(k, cpu, at, (BigInt(Math.floor(to / 4096)) << 12n) | _PAGE_PRESENT | _PAGE_ACCESSED);
  return { pa: at, rc };
}

/**
 * `HYPERVISOR_mmuext_op(MMUEXT_TLB_FLUSH_ALL)`: Xen flushes the TLB of every vCPU of the domain
 * (flush_tlb_mask(d->domain_dirty_cpumask): its flush IPIs, not the guest's). Nothing on other
 * backends.
 */
export function* xen_tlb_flush_all(k: Kernel, cpu: LinuxCpu): KGen<void> {
  if (!onXen(k)) return;
  const fns = enterFn(cpu, 'HYPERVISOR_mmuext_op');
  try {
    if (mustYield('xen:mmuext_op')) yield 'xen:mmuext_op';
    xenState(k).xen.mmuext_op(cpu.index, [{ cmd: MMUEXT_TLB_FLUSH_ALL }]);
  } finally {
    fns.pop();
  }
}

/**
 * Clears `bits` in the existing page-table entry at machine address `pa` (HYPERVISOR_mmu_update).
 * Returns the rc, or null when the entry is not present, has none of the bits, or not on Xen PV.
 */
export function* xen_clear_entry_bits(k: Kernel, cpu: LinuxCpu, pa: number, bits: bigint): KGen<number | null> {
  if (!onXen(k)) return null;
  const old = k.m.phys.read64n(pa);
  if (!(old & _PAGE_PRESENT) || (old & bits) === 0n) return null;
  return yield* HYPERVISOR_mmu_update(k, cpu, pa, old & ~bits);
}

/** The machine frame init_mm's tables map at `va` (a 4 KiB pte), or null (not Xen PV, not mapped). */
export function xen_frame_of(k: Kernel, va: bigint): number | null {
  if (!onXen(k)) return null;
  const pte = kernel_entry_of(k, va, 1);
  if (pte === null) return null;
  const e = k.m.phys.read64n(pte);
  return e & _PAGE_PRESENT ? Number((e >> 12n) & 0xff_ffff_ffffn) : null;
}

/**
 * The direct-map alias of machine frame `mfn` made read-only or writable again
 * (make_lowmem_page_readonly/readwrite: HYPERVISOR_update_va_mapping(__va(pfn), pte, 0)), here
 * with the rc returned instead of BUG() on a refusal. Null when the alias is not mapped.
 */
export function* xen_lowmem_rw(k: Kernel, cpu: LinuxCpu, mfn: number, writable: boolean): KGen<number | null> {
  if (!onXen(k)) return null;
  const st = xenState(k);
  const va = lowmem_address(k, st.xen.p2m.mfnToPfn(mfn));
  const p = lookup_pte_k(k, va);
  if (p === null) return null;
  const cur = k.m.phys.read64n(p);
  if (!(cur & _PAGE_PRESENT)) return null;
  const fns = enterFn(cpu, 'HYPERVISOR_update_va_mapping');
  try {
    if (mustYield('xen:update_va_mapping')) yield 'xen:update_va_mapping';
    return yield* xen_hypercall(k, cpu, st.xen.update_va_mapping_g(cpu.index, va, writable ? cur | 0x2n : cur & ~0x2n, 0));
  } finally {
    fns.pop();
  }
}

/** A direct MMUEXT_PIN_L<level>_TABLE (level 1..4) or, with level 0, MMUEXT_UNPIN_TABLE of `mfn`: the rc. */
export function* xen_pin_table(k: Kernel, cpu: LinuxCpu, mfn: number, level: number): KGen<number | null> {
  if (!onXen(k)) return null;
  const fns = enterFn(cpu, 'HYPERVISOR_mmuext_op');
  try {
    if (mustYield('xen:mmuext_op')) yield 'xen:mmuext_op';
    const cmd = level === 0 ? MMUEXT_UNPIN_TABLE : MMUEXT_PIN_L1_TABLE + level - 1;
    return xenState(k).xen.mmuext_op(cpu.index, [{ cmd, mfn }]).rc;
  } finally {
    fns.pop();
  }
}
