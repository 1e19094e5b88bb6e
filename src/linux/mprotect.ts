/**
 * mprotect(): mm/mprotect.c of Linux 3.8-3.17 (read at 3.10): sys_mprotect() walks the vmas of
 * [start, end) and calls mprotect_fixup() on each, which splits the vma at start and end
 * (split_vma), sets vm_flags and vm_page_prot, and calls change_protection() ->
 * change_protection_range() -> change_pud_range() -> change_pmd_range() -> change_pte_range().
 * change_pte_range() rewrites each present pte under the pte lock inside
 * arch_enter_lazy_mmu_mode()/arch_leave_lazy_mmu_mode() with ptep_modify_prot_start() /
 * pte_modify() / ptep_modify_prot_commit() (pv_mmu_ops: native clears and re-stores the pte,
 * Xen PV queues an MMU_PT_UPDATE_PRESERVE_AD mmu_update in the lazy batch); then, if any pte
 * changed, change_protection_range() calls flush_tlb_range(vma, start, end).
 *
 * Not modelled: vma_merge() (a split vma is not merged back with a neighbour of the same flags;
 * the model's vmas are only ranges with flags, so this changes no behaviour), VM_MAY* checks
 * (the model's mappings are anonymous and private: every VM_MAY* bit is set), accounting
 * (VM_ACCOUNT, vm_stat_account), huge pages, NUMA hinting (prot_numa), dirty accounting
 * (dirty_accountable is 0 for anonymous memory), swap and migration entries (the model has
 * none), PROT_NONE and PROT_GROWSDOWN/UP.
 */
import type { KGen } from '../scheduler/types.js';
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PCD, _PAGE_PRESENT, _PAGE_PWT, _PAGE_SPECIAL } from './constants.js';
import type { Kernel } from './kernel.js';
import { find_vma, vm_get_page_prot } from './memory.js';
import { split_vma } from './mmap.js';
import type { LinuxCpu } from './percpu.js';
import { shared_page_prot } from './pfnmap.js';
import { down_write, up_write } from './rwsem.js';
import {
  pgd_addr_end,
  pgd_none,
  pgd_offset,
  pmd_addr_end,
  pmd_none,
  pud_addr_end,
  pmd_offset,
  pte_offset_kernel,
  pud_none,
  pud_offset,
  readEntry,
} from './pgtable.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import { VM_EXEC, VM_PFNMAP, VM_READ, VM_WRITE, type MmStruct, type VmAreaStruct } from './structs.js';
import { flush_tlb_range } from './tlbflush.js';
import { enterFn, traced } from '../scheduler/traced.js';
import { mustYield } from '../scheduler/point.js';

/** Interleaving point after a page table's ptes were rewritten (pte lock dropped, lazy MMU mode left). */
export const LBL_CHANGE_PTE_RANGE = 'change_pte_range';
/** Interleaving point after the page-table walk, before flush_tlb_range(). */
export const LBL_CHANGE_PROTECTION_FLUSH = 'change_protection_range:flush_tlb_range';

/** -ENOMEM, -EINVAL as sys_mprotect() returns them. */
export const ENOMEM = 12;
export const EINVAL = 22;

/**
 * pte_modify(pte, newprot) (arch/x86/include/asm/pgtable.h): keep the bits of _PAGE_CHG_MASK
 * (frame, PCD, PWT, SPECIAL, ACCESSED, DIRTY), take every other bit from newprot.
 */
export function pte_modify(k: Kernel, pte: bigint, newprot: bigint): bigint {
  const chg = k.L.PTE_PFN_MASK | _PAGE_PCD | _PAGE_PWT | _PAGE_SPECIAL | _PAGE_ACCESSED | _PAGE_DIRTY;
  return (pte & chg) | (newprot & ~chg);
}

/**
 * change_pte_range(vma, pmd, addr, end, newprot): every present pte of one page table in
 * [addr, end) gets newprot, under the pte lock (pte_offset_map_lock: the model's
 * mm->page_table_lock, which its fault path takes too) and in lazy MMU mode. Returns the
 * number of ptes changed.
 */
function* change_pte_range(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pmdp: number, addr: bigint, end: bigint, newprot: bigint): KGen<number> {
  let pages = 0;
  const fns = enterFn(cpu, 'change_pte_range');
  try {
    yield* spin_lock(k, cpu, mm.page_table_lock);
    yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()
    for (let a = addr; a < end; a += 4096n) {
      const ptep = pte_offset_kernel(k, pmdp, a);
      if (!(readEntry(k, ptep) & _PAGE_PRESENT)) continue;
      const ptent = yield* k.pv.mmu.ptep_modify_prot_start(k, cpu, mm, a, ptep);
      yield* k.pv.mmu.ptep_modify_prot_commit(k, cpu, mm, a, ptep, pte_modify(k, ptent, newprot));
      pages++;
    }
    yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()
    yield* spin_unlock(k, cpu, mm.page_table_lock); // pte_unmap_unlock()
  } finally {
    fns.pop();
  }
  if (mustYield(LBL_CHANGE_PTE_RANGE)) yield LBL_CHANGE_PTE_RANGE;
  return pages;
}

/** change_pmd_range(): change_pte_range() on each present pmd (pmd_none_or_clear_bad skips none). */
function* change_pmd_range(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pudp: number, addr: bigint, end: bigint, newprot: bigint): KGen<number> {
  let pages = 0;
  for (let a = addr; a !== end;) {
    const next = pmd_addr_end(k, a, end);
    const pmdp = pmd_offset(k, pudp, a);
    if (!pmd_none(k, pmdp)) pages += yield* change_pte_range(k, cpu, mm, pmdp, a, next, newprot);
    a = next;
  }
  return pages;
}

/** change_pud_range(): change_pmd_range() on each present pud (folded into the pgd with PAE and 2-level paging). */
function* change_pud_range(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pgdp: number, addr: bigint, end: bigint, newprot: bigint): KGen<number> {
  let pages = 0;
  for (let a = addr; a !== end;) {
    const next = pud_addr_end(k, a, end);
    const pudp = pud_offset(k, pgdp, a);
    if (!pud_none(k, pudp)) pages += yield* change_pmd_range(k, cpu, mm, pudp, a, next, newprot);
    a = next;
  }
  return pages;
}

/**
 * change_protection_range(vma, addr, end, newprot): the page-table walk, then
 * flush_tlb_range(vma, start, end) "only if we actually modified any entries".
 */
function* change_protection_range(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, end: bigint, newprot: bigint): KGen<number> {
  const fns = enterFn(cpu, 'change_protection_range');
  try {
    let pages = 0;
    for (let a = start; a !== end;) {
      const next = pgd_addr_end(k, a, end);
      const pgdp = pgd_offset(k, mm, a);
      if (!pgd_none(k, pgdp)) pages += yield* change_pud_range(k, cpu, mm, pgdp, a, next, newprot);
      a = next;
    }
    if (pages > 0) {
      if (mustYield(LBL_CHANGE_PROTECTION_FLUSH)) yield LBL_CHANGE_PROTECTION_FLUSH;
      yield* traced(cpu, 'flush_tlb_range', () => flush_tlb_range(k, cpu, mm, start, end));
    }
    return pages;
  } finally {
    fns.pop();
  }
}

/** change_protection(vma, start, end, newprot, dirty_accountable = 0, prot_numa = 0). */
export function* change_protection(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, end: bigint, newprot: bigint): KGen<number> {
  return yield* change_protection_range(k, cpu, mm, start, end, newprot);
}

/**
 * mprotect_fixup(vma, pprev, start, end, newflags): split the vma so that exactly [start, end)
 * changes, set vm_flags (and, implicitly, vm_page_prot = vm_get_page_prot(newflags)), then
 * change_protection() over the range.
 */
export function* mprotect_fixup(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, start: bigint, end: bigint, newflags: number): KGen<number> {
  if (newflags === vma.vm_flags) return 0;
  if (start !== vma.vm_start) split_vma(mm, vma, start, true);
  if (end !== vma.vm_end) split_vma(mm, vma, end, false);
  vma.vm_flags = newflags;
  // vma_set_page_prot(): a VM_PFNMAP vma wants no write notify (vma_wants_writenotify()): PAGE_SHARED-like ptes.
  yield* change_protection(k, cpu, mm, start, end, newflags & VM_PFNMAP ? shared_page_prot(k, newflags) : vm_get_page_prot(k, newflags));
  return 0;
}

/**
 * sys_mprotect(start, len, prot) on `mm` (current->mm), under mm->mmap_sem held for writing;
 * `vmFlags` is calc_vm_prot_bits(prot):
 * VM_READ/VM_WRITE/VM_EXEC. Returns 0 or -errno: -EINVAL for an unaligned start, -ENOMEM when
 * [start, start+len) is not fully mapped (the vmas before the hole are changed, as in Linux).
 */
export function* sys_mprotect(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, len: bigint, vmFlags: number): KGen<number> {
  if (start & 0xfffn) return -EINVAL;
  if (len === 0n) return 0;
  const end = start + ((len + 0xfffn) & ~0xfffn);
  const fns = enterFn(cpu, 'sys_mprotect');
  try {
    yield* down_write(k, cpu, mm.mmap_sem);
    let err = 0;
    let vma = find_vma(mm, start);
    if (!vma || vma.vm_start > start) err = -ENOMEM;
    for (let nstart = start; vma && err === 0;) {
      const newflags = vmFlags | (vma.vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC));
      const tmp = vma.vm_end < end ? vma.vm_end : end;
      err = yield* traced(cpu, 'mprotect_fixup', () => mprotect_fixup(k, cpu, mm, vma!, nstart, tmp, newflags));
      nstart = tmp;
      if (err !== 0 || nstart >= end) break;
      vma = find_vma(mm, nstart);
      if (!vma || vma.vm_start !== nstart) err = -ENOMEM;
    }
    up_write(mm.mmap_sem, cpu.curr);
    return err;
  } finally {
    fns.pop();
  }
}
