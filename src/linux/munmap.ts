/**
 * munmap(): do_munmap() -> unmap_region() (mm/mmap.c, 3.x/4.x): with an mmu_gather over the
 * range, unmap_vmas() -> unmap_page_range() -> zap_pud_range/zap_pmd_range/zap_pte_range()
 * (mm/memory.c: each pte cleared with ptep_get_and_clear_full() inside
 * arch_enter_lazy_mmu_mode()/arch_leave_lazy_mmu_mode(), page_remove_rmap(), tlb_remove_page()),
 * then free_pgtables() -> free_pgd_range() -> free_pud_range/free_pmd_range/free_pte_range()
 * (pmd_clear/pud_clear/pgd_clear, paravirt_release_pte/pmd/pud, pte_free_tlb/pmd_free_tlb/
 * pud_free_tlb), then tlb_finish_mmu(): the TLB flush, then the frees.
 * A page table is freed only if its whole span lies between the neighbouring vmas (floor/ceiling).
 */
import type { KGen } from '../scheduler/types.js';
import { _PAGE_PRESENT } from './constants.js';
import type { Kernel } from './kernel.js';
import { page_remove_rmap } from './page.js';
import { pXd_free_tlb, tlb_adjust_range, tlb_finish_mmu, tlb_gather_mmu_range, tlb_remove_page, type MmuGatherRcu } from './mmu_gather.js';
import type { LinuxCpu } from './percpu.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import { down_write, up_write } from './rwsem.js';
import { entryAddr, pgd_clear, pmd_clear, pud_clear, readEntry } from './pgtable.js';
import type { MmStruct } from './structs.js';

/** Label of the interleaving point after each cleared pte. */
export const LBL_ZAP_PTE = 'zap_pte_range';
/** Label after a page table is unhooked by free_pgtables. */
export const LBL_FREE_PGTABLES = 'free_pgtables';

const SHIFT = [0, 12, 21, 30, 39];

function idx(va: bigint, level: number): number {
  return Number((va >> BigInt(SHIFT[level])) & 511n);
}

/** zap_pte_range(tlb, vma, pmd, addr, end). */
function* zap_pte_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGatherRcu, pt: number, addr: bigint, end: bigint): KGen<void> {
  const fns = cpu.thread().fnStack;
  fns.push('zap_pte_range');
  // pte_offset_map_lock(): the pte lock (a spinlock: no preemption inside but with PREEMPT_RT)
  // is held around the lazy MMU section (mm/memory.c, 3.8.13 lines 1112-1203, 4.14.5 1294-1390).
  yield* spin_lock(k, cpu, tlb.mm.page_table_lock);
  yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()
  for (let a = addr; a < end; a += 4096n) {
    const ptep = pt + idx(a, 1) * 8;
    const pte = readEntry(k, ptep);
    if (!(pte & _PAGE_PRESENT)) continue;
    yield* k.pv.mmu.pte_clear(k, cpu, tlb.mm, a, ptep); // ptep_get_and_clear_full()
    tlb_adjust_range(tlb, a);
    const pfn = entryAddr(k.L, pte) / 4096;
    yield* page_remove_rmap(k, cpu, tlb.mm, pfn);
    tlb_remove_page(tlb, pfn);
    yield LBL_ZAP_PTE;
  }
  yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()
  yield* spin_unlock(k, cpu, tlb.mm.page_table_lock); // pte_unmap_unlock()
  fns.pop();
}

/** Calls `f(level, entryPtr, table, spanStart)` for each present upper entry under [start, end). */
function* walkRange(k: Kernel, mm: MmStruct, start: bigint, end: bigint, f: (level: number, ptr: number, table: number, base: bigint) => KGen<void>): KGen<void> {
  const rec = function* (table: number, level: number, base: bigint): KGen<void> {
    const span = 1n << BigInt(SHIFT[level]);
    for (let i = 0; i < 512; i++) {
      const lo = base + BigInt(i) * span;
      if (lo + span <= start || lo >= end) continue;
      const ptr = table + i * 8;
      const e = readEntry(k, ptr);
      if (!(e & _PAGE_PRESENT)) continue;
      const next = entryAddr(k.L, e);
      if (level > 2) yield* rec(next, level - 1, lo);
      yield* f(level, ptr, next, lo);
    }
  };
  yield* rec(mm.pgd, 4, 0n);
}

/** unmap_vmas() over [start, end): zap the ptes of every page table in the range. */
export function* unmap_vmas_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGatherRcu, start: bigint, end: bigint): KGen<void> {
  const fns = cpu.thread().fnStack;
  fns.push('unmap_vmas');
  yield* walkRange(k, tlb.mm, start, end, function* (level, _ptr, table, base) {
    if (level !== 2) return;
    const lo = base > start ? base : start;
    const hi = base + (1n << 21n) < end ? base + (1n << 21n) : end;
    yield* zap_pte_range(k, cpu, tlb, table, lo, hi);
  });
  fns.pop();
}

/**
 * free_pgd_range(tlb, addr, end, floor, ceiling): unhook and free every page table whose whole
 * span lies inside [floor, ceiling) and meets [addr, end), lower levels first.
 */
export function* free_pgd_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGatherRcu, addr: bigint, end: bigint, floor: bigint, ceiling: bigint): KGen<void> {
  const fns = cpu.thread().fnStack;
  fns.push('free_pgtables');
  yield* walkRange(k, tlb.mm, addr, end, function* (level, ptr, table, base) {
    const span = 1n << BigInt(SHIFT[level]);
    if (base < floor || base + span > ceiling) return;
    const pfn = table / 4096;
    if (level === 2) {
      yield* pmd_clear(k, cpu, ptr);
      yield* k.pv.mmu.release_pte(k, cpu, pfn); // paravirt_release_pte()
    } else if (level === 3) {
      yield* pud_clear(k, cpu, ptr);
      yield* k.pv.mmu.release_pmd(k, cpu, pfn);
    } else {
      yield* pgd_clear(k, cpu, ptr);
      yield* k.pv.mmu.release_pud(k, cpu, pfn);
    }
    tlb_adjust_range(tlb, base, span);
    yield* pXd_free_tlb(k, cpu, tlb, pfn); // pte_free_tlb()/pmd_free_tlb()/pud_free_tlb()
    yield LBL_FREE_PGTABLES;
  });
  fns.pop();
}

/**
 * do_munmap(mm, start, len): removes the vmas inside [start, start+len) (whole vmas only) and
 * runs unmap_region() over them.
 */
export function* do_munmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, len: bigint): KGen<void> {
  const end = start + len;
  const fns = cpu.thread().fnStack;
  fns.push('do_munmap');
  const gone = mm.vmas.filter((v) => v.vm_start >= start && v.vm_end <= end);
  for (const v of gone) mm.vmas.splice(mm.vmas.indexOf(v), 1);
  let floor = 0n;
  let ceiling = k.L.TASK_SIZE + 1n;
  for (const v of mm.vmas) {
    if (v.vm_end <= start && v.vm_end > floor) floor = v.vm_end;
    if (v.vm_start >= end && v.vm_start < ceiling) ceiling = v.vm_start;
  }
  // unmap_region(): the pgd-level spans are checked against ceiling rounded as free_pgd_range does.
  fns.push('unmap_region');
  const tlb = tlb_gather_mmu_range(mm, start, end);
  yield* unmap_vmas_range(k, cpu, tlb, start, end);
  yield* free_pgd_range(k, cpu, tlb, start, end, floor, ceiling);
  yield* tlb_finish_mmu(k, cpu, tlb);
  fns.length -= 2;
}

/** vm_munmap(start, len) (mm/mmap.c): do_munmap() under mm->mmap_sem held for writing. */
export function* vm_munmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, len: bigint): KGen<void> {
  yield* down_write(k, cpu, mm.mmap_sem);
  yield* do_munmap(k, cpu, mm, start, len);
  up_write(mm.mmap_sem, cpu.curr);
}
