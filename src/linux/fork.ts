/**
 * fork()'s copy of an address space: dup_mmap() (kernel/fork.c, 3.x) copies each vma and its page
 * tables with copy_page_range() -> copy_pud_range() -> copy_pmd_range() -> copy_pte_range() ->
 * copy_one_pte() (mm/memory.c, 3.10), calls arch_dup_mmap() (Xen PV pins the new pgd there), and
 * ends with flush_tlb_mm(oldmm). Every vma of the model is private and writable-capable
 * (is_cow_mapping(): VM_MAYWRITE without VM_SHARED), so each present pte is write-protected in
 * both the parent and the child, and the page gets one more reference and one more mapping
 * (get_page, page_dup_rmap): the first write on either side goes to do_wp_page() (memory.ts).
 *
 * Simplifications: the child's pud/pmd tables are allocated with its pte table (pte_alloc_walk),
 * only where the parent has a pte table (copy_pud_range/copy_pmd_range allocate them for the
 * whole span); copy_page_range() does not skip vmas without an anon_vma (their tables are empty
 * anyway); the progress/need_resched break of copy_pte_range() is not modelled (ranges are
 * small); ptep_set_wrprotect() (a locked bit clear on the pte, trapped and emulated under Xen PV)
 * is stored through the pv set_pte (native: the same store; Xen: an mmu_update, batched in lazy
 * MMU mode), and only when the pte is writable. The parent's mm->mmap_sem is the caller's (the
 * fuzzer's dup_mm adapter, src/fuzz/kernel-ops.ts, holds it for writing).
 */
import type { KGen } from '../scheduler/types.js';
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL } from './constants.js';
import type { Kernel } from './kernel.js';
import { pte_alloc_walk, vma_link_file } from './memory.js';
import { get_page, page_dup_rmap } from './page.js';
import type { LinuxCpu } from './percpu.js';
import {
  entryAddr,
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
  set_pte_at,
} from './pgtable.js';
import { cond_resched } from './sched.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import { newVma, VM_PFNMAP, type MmStruct, type VmAreaStruct } from './structs.js';
import { flush_tlb_mm_range, TLB_FLUSH_ALL } from './tlbflush.js';
import { enterFn, traced } from '../scheduler/traced.js';
import { DONE, mustYield } from '../scheduler/point.js';

/** Interleaving point after each page table copied (both pte locks dropped, before cond_resched()). */
export const LBL_COPY_PTE_RANGE = 'copy_pte_range';

/** ptep_set_wrprotect(mm, addr, ptep) (arch/x86/include/asm/pgtable.h): clear _PAGE_RW of the parent's pte. */
function ptep_set_wrprotect(k: Kernel, cpu: LinuxCpu, ptep: number): KGen<void> {
  const pte = readEntry(k, ptep);
  if (pte & _PAGE_RW) return k.pv.mmu.set_pte(k, cpu, ptep, pte & ~_PAGE_RW);
  return DONE;
}

/**
 * copy_one_pte(dst_mm, src_mm, dst_pte, src_pte, vma, addr, rss): a COW mapping is
 * write-protected in the parent and the child, the child's pte is made old (pte_mkold), the
 * page gets get_page() + page_dup_rmap(), and the child's pte is set with set_pte_at().
 */
function* copy_one_pte(k: Kernel, cpu: LinuxCpu, dst: MmStruct, dstPtep: number, srcPtep: number, addr: bigint): KGen<void> {
  let pte = readEntry(k, srcPtep);
  if (pte & _PAGE_SPECIAL) {
    // A VM_PFNMAP vma (remap_pfn_range(), always shared: not a COW mapping): pte_mkclean(),
    // pte_mkold(); vm_normal_page() is NULL, so no page references.
    yield* set_pte_at(k, cpu, dst, addr, dstPtep, pte & ~(_PAGE_DIRTY | _PAGE_ACCESSED));
    return;
  }
  yield* ptep_set_wrprotect(k, cpu, srcPtep); // is_cow_mapping(vm_flags)
  pte &= ~_PAGE_RW; // pte_wrprotect()
  pte &= ~_PAGE_ACCESSED; // pte_mkold()
  const pfn = entryAddr(k.L, pte) / 4096; // vm_normal_page()
  get_page(k, pfn);
  page_dup_rmap(k, pfn);
  yield* set_pte_at(k, cpu, dst, addr, dstPtep, pte);
}

/**
 * copy_pte_range(dst_mm, src_mm, dst_pmd, src_pmd, vma, addr, end): the child's pte table
 * (pte_alloc_map_lock), both pte locks (the model's mm->page_table_lock of each mm, child
 * first), lazy MMU mode, copy_one_pte() for each present pte (a none pte is skipped), then the
 * locks are dropped and cond_resched().
 */
function* copy_pte_range(k: Kernel, cpu: LinuxCpu, dst: MmStruct, src: MmStruct, srcPmdp: number, addr: bigint, end: bigint): KGen<void> {
  const fns = enterFn(cpu, 'copy_pte_range');
  try {
    const dstPte0 = yield* pte_alloc_walk(k, cpu, dst, addr);
    yield* spin_lock(k, cpu, dst.page_table_lock);
    yield* spin_lock(k, cpu, src.page_table_lock); // spin_lock_nested(src_ptl, SINGLE_DEPTH_NESTING)
    yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()
    for (let a = addr, i = 0; a < end; a += 4096n, i++) {
      const srcPtep = pte_offset_kernel(k, srcPmdp, a);
      if (readEntry(k, srcPtep) === 0n) continue; // pte_none(): progress++
      if (!(readEntry(k, srcPtep) & _PAGE_PRESENT)) throw new Error(`copy_pte_range: non-present non-none pte at 0x${a.toString(16)} (swap is not modelled)`);
      yield* copy_one_pte(k, cpu, dst, dstPte0 + i * k.L.entrySize, srcPtep, a);
    }
    yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()
    yield* spin_unlock(k, cpu, src.page_table_lock);
    yield* spin_unlock(k, cpu, dst.page_table_lock); // pte_unmap_unlock(orig_dst_pte, dst_ptl)
  } finally {
    fns.pop();
  }
  if (mustYield(LBL_COPY_PTE_RANGE)) yield LBL_COPY_PTE_RANGE;
  yield* cond_resched(k, cpu);
}

/** copy_pmd_range(): copy_pte_range() for each present pmd of the parent in [addr, end). */
function* copy_pmd_range(k: Kernel, cpu: LinuxCpu, dst: MmStruct, src: MmStruct, srcPudp: number, addr: bigint, end: bigint): KGen<void> {
  for (let a = addr; a !== end;) {
    const next = pmd_addr_end(k, a, end);
    const srcPmdp = pmd_offset(k, srcPudp, a);
    if (!pmd_none(k, srcPmdp)) yield* copy_pte_range(k, cpu, dst, src, srcPmdp, a, next);
    a = next;
  }
}

/** copy_pud_range(): copy_pmd_range() for each present pud of the parent (folded with PAE and 2-level paging). */
function* copy_pud_range(k: Kernel, cpu: LinuxCpu, dst: MmStruct, src: MmStruct, srcPgdp: number, addr: bigint, end: bigint): KGen<void> {
  for (let a = addr; a !== end;) {
    const next = pud_addr_end(k, a, end);
    const srcPudp = pud_offset(k, srcPgdp, a);
    if (!pud_none(k, srcPudp)) yield* copy_pmd_range(k, cpu, dst, src, srcPudp, a, next);
    a = next;
  }
}

/** copy_page_range(dst_mm, src_mm, vma): the parent's page tables of the vma, pgd entry by pgd entry. */
export function* copy_page_range(k: Kernel, cpu: LinuxCpu, dst: MmStruct, src: MmStruct, vma: VmAreaStruct): KGen<void> {
  const fns = enterFn(cpu, 'copy_page_range');
  try {
    for (let a = vma.vm_start; a !== vma.vm_end;) {
      const next = pgd_addr_end(k, a, vma.vm_end);
      const srcPgdp = pgd_offset(k, src, a);
      if (!pgd_none(k, srcPgdp)) yield* copy_pud_range(k, cpu, dst, src, srcPgdp, a, next);
      a = next;
    }
  } finally {
    fns.pop();
  }
}

/**
 * dup_mmap(mm, oldmm): each vma copied and its page tables with copy_page_range(), then
 * arch_dup_mmap(oldmm, mm) (pv dup_mmap hook), then flush_tlb_mm(oldmm) (=
 * flush_tlb_mm_range(oldmm, 0, TLB_FLUSH_ALL)): the parent's ptes were write-protected, and other
 * CPUs running its threads may still cache them writable.
 */
export function* dup_mmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct, oldmm: MmStruct): KGen<void> {
  const fns = enterFn(cpu, 'dup_mmap');
  try {
    for (const v of [...oldmm.vmas]) {
      const tmp = newVma(v);
      mm.vmas.push(tmp);
      if (v.vm_file && !(v.vm_flags & VM_PFNMAP)) {
        // A file vma joins the file's i_mmap (vma_interval_tree_insert_after under
        // i_mmap_lock_write()); copy_page_range() copies nothing for a shared file vma without an
        // anon_vma (4.14: "Don't copy ptes where a page fault will fill them correctly"): the
        // child faults its pages in from the page cache.
        tmp.vm_mm = mm;
        yield* vma_link_file(k, cpu, tmp);
        continue;
      }
      if (v.vm_file) {
        tmp.vm_mm = mm; // a VM_PFNMAP vma: linked, and its ptes copied (there is nothing to fault them in)
        yield* vma_link_file(k, cpu, tmp);
      }
      yield* copy_page_range(k, cpu, mm, oldmm, v);
    }
    yield* k.pv.mmu.dup_mmap(k, cpu, oldmm, mm); // arch_dup_mmap()
    yield* traced(cpu, 'flush_tlb_mm', () => flush_tlb_mm_range(k, cpu, oldmm, 0n, TLB_FLUSH_ALL));
  } finally {
    fns.pop();
  }
}
