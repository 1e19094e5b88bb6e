/**
 * mremap() (mm/mremap.c, 4.14): sys_mremap() under mm->mmap_sem held for writing; with
 * MREMAP_FIXED, mremap_to() unmaps the destination (do_munmap), checks the source
 * (vma_to_resize) and move_vma(): copy_vma() links a new vma at the destination (for a file vma
 * also into the file's i_mmap, where truncation finds it), move_page_tables() moves the ptes pmd by
 * pmd with move_ptes(), and do_munmap() removes the old range (its vma and page tables).
 *
 * move_ptes() moves each pte under the page-table lock (mm->page_table_lock stands for the split
 * old and new ptls, which the model does not have: new_ptl == old_ptl). When the TLB entries of the
 * old range are flushed is the knob `mremap_flush` (CVE-2018-18281):
 *  - 'deferred' (until commit eb66ae030829, "mremap: properly flush TLB before releasing the
 *    page", 4.19-rc8 and the stable releases of October 2018, e.g. 4.14.78): only a dirty pte
 *    forces flush_tlb_range() before the lock is dropped; for a clean one move_ptes() sets
 *    *need_flush and move_page_tables() flushes once, after every pte lock was dropped. Meanwhile
 *    the page is mapped only at its new address: a truncation of the file (unmap_mapping_range(),
 *    memory.ts) zaps it there, flushes only the new range and frees the page, while another CPU
 *    still reaches it through its TLB entry of the old address.
 *  - 'under-ptl' (the fix): every present pte forces the flush of the old range before the pte
 *    locks are dropped; the need_flush logic is gone.
 *
 * Not modelled: growing or shrinking in place and moves chosen by get_unmapped_area() (only
 * MREMAP_MAYMOVE|MREMAP_FIXED and same-size or shrinking requests), vma_merge() (the new vma is
 * always a fresh one: need_rmap_locks is false), huge pmds (move_huge_pmd), accounting (VM_ACCOUNT,
 * locked_vm), userfaultfd, mmu notifiers, soft-dirty.
 */
import type { KGen } from '../scheduler/types.js';
import { enterFn, traced } from '../scheduler/traced.js';
import { _PAGE_DIRTY, _PAGE_PRESENT } from './constants.js';
import type { Kernel } from './kernel.js';
import { find_vma, pte_alloc_walk, vma_link } from './memory.js';
import { do_munmap } from './mmap.js';
import type { LinuxCpu } from './percpu.js';
import { pgd_none, pgd_offset, pmd_none, pmd_offset, pte_offset_kernel, pud_none, pud_offset, readEntry, set_pte_at } from './pgtable.js';
import { down_write, up_write } from './rwsem.js';
import { cond_resched } from './sched.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import { newVma, type MmStruct, type VmAreaStruct } from './structs.js';
import { flush_tlb_range } from './tlbflush.js';
import { mustYield } from '../scheduler/point.js';

/** mremap() flags (include/uapi/linux/mman.h). */
export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;

/** Interleaving point before move_page_tables()' deferred flush ('deferred' only): every pte lock is dropped. */
export const LBL_MOVE_PAGE_TABLES_FLUSH = 'move_page_tables:flush_tlb_range';
/** Interleaving point after move_ptes() moved one page table's ptes and dropped the lock. */
export const LBL_MOVE_PTES = 'move_ptes';

/** LATENCY_LIMIT: at most 64 pages per move_ptes() call. */
const LATENCY_LIMIT = 64n * 4096n;

const EINVAL = 22;
const EFAULT = 14;

/** Whether move_ptes() flushes every moved present pte before dropping the lock (the fix). */
function flushUnderPtl(k: Kernel): boolean {
  return k.config.knobs.mremap_flush !== 'deferred';
}

/** get_old_pmd(mm, addr): the pmd entry mapping addr, or null when a level above (or the pmd) is none. */
function get_old_pmd(k: Kernel, mm: MmStruct, addr: bigint): number | null {
  const pgdp = pgd_offset(k, mm, addr);
  if (pgd_none(k, pgdp)) return null;
  const pudp = pud_offset(k, pgdp, addr);
  if (pud_none(k, pudp)) return null;
  const pmdp = pmd_offset(k, pudp, addr);
  return pmd_none(k, pmdp) ? null : pmdp;
}

/**
 * move_ptes(vma, old_pmd, old_addr, old_end, new_vma, new_pmd, new_addr, need_rmap_locks,
 * need_flush) (mm/mremap.c, 4.14.5 lines 115-192; the fix: 4.14.79 / 4.19): under the pte lock and
 * in lazy MMU mode, each pte of [old_addr, old_end) is taken (ptep_get_and_clear) and stored at
 * the new address (set_pte_at; move_pte() changes nothing on x86). Returns whether the caller
 * still has to flush (the 'deferred' need_flush).
 */
function* move_ptes(k: Kernel, cpu: LinuxCpu, mm: MmStruct, old_pmd: number, old_addr: bigint, old_end: bigint, new_addr: bigint): KGen<boolean> {
  const len = old_end - old_addr;
  const fixed = flushUnderPtl(k);
  let force_flush = false;
  let need_flush = false;
  const fns = enterFn(cpu, 'move_ptes');
  try {
    yield* spin_lock(k, cpu, mm.page_table_lock); // pte_offset_map_lock(); new_ptl == old_ptl
    yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()
    for (let a = old_addr, n = new_addr; a < old_end; a += 4096n, n += 4096n) {
      const old_pte = pte_offset_kernel(k, old_pmd, a);
      const pte = readEntry(k, old_pte);
      if (pte === 0n) continue; // pte_none()
      yield* k.pv.mmu.pte_clear(k, cpu, mm, a, old_pte); // ptep_get_and_clear()
      // 4.14.5: "If we are remapping a dirty PTE, make sure to flush TLB before we drop the PTL
      // for the old PTE or we may race with page_mkclean()." The fix: every present pte.
      if (pte & _PAGE_PRESENT && (fixed || pte & _PAGE_DIRTY)) force_flush = true;
      const new_pte = pte_offset_kernel(k, get_old_pmd(k, mm, n)!, n);
      yield* set_pte_at(k, cpu, mm, n, new_pte, pte);
    }
    yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()
    if (force_flush) yield* traced(cpu, 'flush_tlb_range', () => flush_tlb_range(k, cpu, mm, old_end - len, old_end));
    else need_flush = true; // 'deferred' only: *need_flush = true (the fix has no need_flush)
    yield* spin_unlock(k, cpu, mm.page_table_lock); // pte_unmap_unlock()
  } finally {
    fns.pop();
  }
  if (mustYield(LBL_MOVE_PTES)) yield LBL_MOVE_PTES;
  return need_flush && !fixed;
}

/**
 * move_page_tables(vma, old_addr, new_vma, new_addr, len, need_rmap_locks) (mm/mremap.c, 4.14.5
 * lines 196-261): per extent (up to the next pmd boundary of either side and LATENCY_LIMIT):
 * cond_resched(), get_old_pmd() (skip an unmapped extent), alloc_new_pmd() and pte_alloc() (the
 * model's pte_alloc_walk()), move_ptes(). 'deferred': then flush_tlb_range(vma, old_end - len,
 * old_addr) if any move_ptes() left the flush to it. Returns the length moved.
 */
export function* move_page_tables(k: Kernel, cpu: LinuxCpu, mm: MmStruct, old_addr: bigint, new_addr: bigint, len: bigint): KGen<bigint> {
  const PMD_SIZE = 1n << BigInt(k.L.PMD_SHIFT);
  const PMD_MASK = ~(PMD_SIZE - 1n);
  const old_end = old_addr + len;
  const fns = enterFn(cpu, 'move_page_tables');
  try {
    let need_flush = false;
    let extent = 0n;
    for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
      yield* cond_resched(k, cpu);
      let next = (old_addr + PMD_SIZE) & PMD_MASK;
      extent = next - old_addr;
      if (extent > old_end - old_addr) extent = old_end - old_addr;
      const old_pmd = get_old_pmd(k, mm, old_addr);
      if (old_pmd === null) continue;
      yield* pte_alloc_walk(k, cpu, mm, new_addr); // alloc_new_pmd(), pte_alloc()
      next = (new_addr + PMD_SIZE) & PMD_MASK;
      if (extent > next - new_addr) extent = next - new_addr;
      if (extent > LATENCY_LIMIT) extent = LATENCY_LIMIT;
      if (yield* move_ptes(k, cpu, mm, old_pmd, old_addr, old_addr + extent, new_addr)) need_flush = true;
    }
    if (need_flush) {
      if (mustYield(LBL_MOVE_PAGE_TABLES_FLUSH)) yield LBL_MOVE_PAGE_TABLES_FLUSH;
      yield* traced(cpu, 'flush_tlb_range', () => flush_tlb_range(k, cpu, mm, old_end - len, old_addr));
    }
    return len + old_addr - old_end;
  } finally {
    fns.pop();
  }
}

/**
 * copy_vma(&vma, addr, len, pgoff, &need_rmap_locks) (mm/mmap.c, 4.14 lines 3080-3150) without
 * vma_merge(): a new vma like `vma` at [addr, addr + len) with vm_pgoff `pgoff`, linked into the mm
 * and (vma_link() -> __vma_link_file()) into its file's i_mmap; need_rmap_locks = false.
 */
function* copy_vma(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, addr: bigint, len: bigint, pgoff: number | undefined): KGen<VmAreaStruct> {
  const new_vma = newVma({ ...vma, vm_start: addr, vm_end: addr + len, vm_pgoff: pgoff });
  if (vma.vm_file) new_vma.vm_mm = mm;
  yield* vma_link(k, cpu, mm, new_vma);
  return new_vma;
}

/**
 * move_vma(vma, old_addr, old_len, new_len, new_addr, ...) (mm/mremap.c, 4.14.5 lines 263-376):
 * copy_vma(), move_page_tables(), then do_munmap() of the old range. Returns new_addr.
 */
function* move_vma(
  k: Kernel,
  cpu: LinuxCpu,
  mm: MmStruct,
  vma: VmAreaStruct,
  old_addr: bigint,
  old_len: bigint,
  new_len: bigint,
  new_addr: bigint,
): KGen<bigint> {
  const fns = enterFn(cpu, 'move_vma');
  try {
    const new_pgoff = vma.vm_pgoff === undefined ? undefined : vma.vm_pgoff + Number((old_addr - vma.vm_start) >> 12n);
    yield* copy_vma(k, cpu, mm, vma, new_addr, new_len, new_pgoff);
    const moved_len = yield* move_page_tables(k, cpu, mm, old_addr, new_addr, old_len);
    if (moved_len < old_len) throw new Error('move_vma: move_page_tables() failed (the model cannot run out of page-table memory here)');
    yield* do_munmap(k, cpu, mm, old_addr, old_len);
    return new_addr;
  } finally {
    fns.pop();
  }
}

/**
 * vma_to_resize(addr, old_len, new_len) (mm/mremap.c): the vma holding [addr, addr + old_len), or
 * -EFAULT when there is none or the range crosses its end.
 */
function vma_to_resize(mm: MmStruct, addr: bigint, old_len: bigint): VmAreaStruct | number {
  const vma = find_vma(mm, addr);
  if (!vma || vma.vm_start > addr) return -EFAULT;
  if (old_len > vma.vm_end - addr) return -EFAULT;
  return vma;
}

/**
 * mremap_to(addr, old_len, new_addr, new_len) (mm/mremap.c, 4.14): the ranges must not overlap;
 * do_munmap() of the destination, of the source's tail when shrinking, then vma_to_resize() and
 * move_vma().
 */
function* mremap_to(k: Kernel, cpu: LinuxCpu, mm: MmStruct, addr: bigint, old_len: bigint, new_addr: bigint, new_len: bigint): KGen<bigint> {
  if (new_addr & 0xfffn) return BigInt(-EINVAL);
  if (new_len > k.L.TASK_SIZE || new_addr > k.L.TASK_SIZE - new_len) return BigInt(-EINVAL);
  if (addr + old_len > new_addr && new_addr + new_len > addr) return BigInt(-EINVAL); // "Ensure the old/new locations do not overlap"
  yield* do_munmap(k, cpu, mm, new_addr, new_len);
  if (old_len >= new_len) {
    yield* do_munmap(k, cpu, mm, addr + new_len, old_len - new_len);
    old_len = new_len;
  }
  const vma = vma_to_resize(mm, addr, old_len);
  if (typeof vma === 'number') return BigInt(vma);
  return yield* move_vma(k, cpu, mm, vma, addr, old_len, new_len, new_addr);
}

/**
 * sys_mremap(addr, old_len, new_len, flags, new_addr) (mm/mremap.c, 4.14) on `mm` (current->mm):
 * returns the new address or -errno. Under mm->mmap_sem held for writing.
 */
export function* sys_mremap(
  k: Kernel,
  cpu: LinuxCpu,
  mm: MmStruct,
  addr: bigint,
  old_len: bigint,
  new_len: bigint,
  flags: number,
  new_addr: bigint,
): KGen<bigint> {
  if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE)) return BigInt(-EINVAL);
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return BigInt(-EINVAL);
  if (addr & 0xfffn) return BigInt(-EINVAL);
  old_len = (old_len + 0xfffn) & ~0xfffn;
  new_len = (new_len + 0xfffn) & ~0xfffn;
  if (new_len === 0n) return BigInt(-EINVAL);
  const fns = enterFn(cpu, 'sys_mremap');
  try {
    yield* down_write(k, cpu, mm.mmap_sem);
    let ret: bigint;
    if (flags & MREMAP_FIXED) ret = yield* mremap_to(k, cpu, mm, addr, old_len, new_addr, new_len);
    else if (old_len >= new_len) {
      yield* do_munmap(k, cpu, mm, addr + new_len, old_len - new_len); // "Always allow a shrinking remap"
      ret = addr;
    } else throw new Error('sys_mremap: growing a mapping without MREMAP_FIXED is not modelled');
    up_write(mm.mmap_sem, cpu.curr);
    return ret;
  } finally {
    fns.pop();
  }
}
