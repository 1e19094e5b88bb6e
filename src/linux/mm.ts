/**
 * Address-space lifetime (kernel/fork.c, mm/mmap.c, mm/memory.c, 3.x): mm_alloc() with
 * pgd_alloc(), mmput() -> exit_mmap() when the last user goes, mmdrop() -> __mmdrop() ->
 * pgd_free() when the last reference (lazy-TLB borrowers included) goes. exit_mmap() unmaps every
 * vma (unmap_vmas -> zap_pte_range in lazy MMU mode), frees the page tables (free_pgtables) and
 * finishes the mmu_gather (the TLB flush, then the pages are freed).
 */
import type { KGen } from '../scheduler/types.js';
import { _PAGE_PRESENT } from './constants.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { pgd_alloc, pgd_free } from './pgd.js';
import { entryAddr, pgd_clear, pmd_clear, pud_clear, readEntry } from './pgtable.js';
import { tlb_finish_mmu, tlb_gather_mmu, tlb_remove_page, type MmuGather } from './tlb.js';
import { MmStruct } from './structs.js';
import { cond_resched } from './sched.js';
import { page_remove_rmap } from './page.js';

/** mm_alloc() + mm_init(): a new address space with its own pgd. */
export function* mm_alloc(k: Kernel, cpu: LinuxCpu, name: string): KGen<MmStruct> {
  const mm = new MmStruct(k.newMmId(), 0, name);
  yield* pgd_alloc(k, cpu, mm);
  return mm;
}

/** mmput(mm): drop a user; at 0 tear the address space down (exit_mmap) and mmdrop(). */
export function* mmput(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
  if (--mm.mm_users > 0) return;
  const fns = cpu.thread().fnStack;
  fns.push('mmput');
  yield* exit_mmap(k, cpu, mm);
  k.observers.exitMmap?.(cpu, mm);
  fns.pop();
  yield* mmdrop(k, cpu, mm);
}

/** mmdrop(mm): drop a reference; at 0 free the mm (__mmdrop: pgd_free). */
export function* mmdrop(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
  if (mm === k.init_mm) {
    mm.mm_count--;
    return;
  }
  if (--mm.mm_count > 0) return;
  if (mm.mm_count < 0) throw new Error(`mmdrop(${mm.name}): mm_count went negative`);
  yield* pgd_free(k, cpu, mm); // mm_free_pgd()
  mm.freed = true;
}

/** Optional hooks other models attach to generic mm code (e.g. memcg accounting). */
export interface MmHooks {
  /** page_remove_rmap(page): called (page.ts) when zap_pte_range() or do_wp_page() removes a page's last mapping. */
  page_remove_rmap?: (k: Kernel, cpu: LinuxCpu, mm: MmStruct, pfn: number) => KGen<void>;
}

/** The hooks of a kernel (an object in `k.ext` under 'mm_hooks'). */
export function mmHooks(k: Kernel): MmHooks {
  let h = k.ext.get('mm_hooks') as MmHooks | undefined;
  if (!h) k.ext.set('mm_hooks', (h = {}));
  return h;
}

/** zap_pte_range() over one page table: clear each present pte in [lo, hi) in lazy MMU mode. */
function* zap_pte_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, pt: number, base: bigint, lo: bigint, hi: bigint): KGen<void> {
  const L = k.L;
  const [i0, i1] = span(base, 12, L.PTRS_PER_PTE, lo, hi);
  const fns = cpu.thread().fnStack;
  fns.push('zap_pte_range');
  yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()
  for (let i = i0; i <= i1; i++) {
    const ptep = pt + i * L.entrySize;
    const pte = readEntry(k, ptep);
    if (!(pte & _PAGE_PRESENT)) continue;
    const addr = base + BigInt(i) * 4096n;
    yield* k.pv.mmu.pte_clear(k, cpu, tlb.mm, addr, ptep); // ptep_get_and_clear_full()
    const pfn = entryAddr(L, pte) / 4096;
    yield* page_remove_rmap(k, cpu, tlb.mm, pfn);
    tlb_remove_page(tlb, pfn);
    yield 'zap_pte_range';
  }
  yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()
  fns.pop();
}

/** Entry indices [first, last] of a table whose entry 0 maps `base`, entries `1 << shift` apart, within [lo, hi). */
function span(base: bigint, shift: number, ptrs: number, lo: bigint, hi: bigint): [number, number] {
  const size = 1n << BigInt(shift);
  const end = base + size * BigInt(ptrs);
  if (hi <= base || lo >= end) return [0, -1];
  const first = lo > base ? Number((lo - base) >> BigInt(shift)) : 0;
  const last = hi < end ? Number((hi - 1n - base) >> BigInt(shift)) : ptrs - 1;
  return [first, last];
}

/** The user address span covered by the mm's vmas ([0, 0) when there are none). */
function vmaSpan(mm: MmStruct): [bigint, bigint] {
  if (mm.vmas.length === 0) return [0n, 0n];
  let lo = mm.vmas[0].vm_start, hi = mm.vmas[0].vm_end;
  for (const v of mm.vmas) {
    if (v.vm_start < lo) lo = v.vm_start;
    if (v.vm_end > hi) hi = v.vm_end;
  }
  return [lo, hi];
}

/**
 * Visits the page tables of the user address span of the vmas (as unmap_vmas/free_pgtables walk
 * the vma ranges): calls `leaf(pt, base, lo, hi)` for each page table, and after the children of
 * an upper-level entry, `upper(level, entryPtr, tablePa)` (level 3 = pud table referenced from
 * the pgd, 2 = pmd table, 1 = pte table). Each table is visited once.
 */
function* walkUser(k: Kernel, mm: MmStruct, leaf: (pt: number, base: bigint, lo: bigint, hi: bigint) => KGen<void>, upper: (level: number, ptr: number, table: number) => KGen<void>): KGen<void> {
  const L = k.L;
  const es = L.entrySize;
  const [lo, hi] = vmaSpan(mm);
  const [g0, g1] = span(0n, L.PGDIR_SHIFT, L.KERNEL_PGD_BOUNDARY, lo, hi);
  const visitPmd = function* (pmdTable: number, base: bigint): KGen<void> {
    const [j0, j1] = span(base, L.PMD_SHIFT, L.PTRS_PER_PMD, lo, hi);
    for (let j = j0; j <= j1; j++) {
      const pmdp = pmdTable + j * es;
      const mv = readEntry(k, pmdp);
      if (!(mv & _PAGE_PRESENT)) continue;
      yield* leaf(entryAddr(L, mv), base + (BigInt(j) << BigInt(L.PMD_SHIFT)), lo, hi);
      yield* upper(1, pmdp, entryAddr(L, mv));
    }
  };
  for (let g = g0; g <= g1; g++) {
    const pgdp = mm.pgd + g * es;
    const gv = readEntry(k, pgdp);
    if (!(gv & _PAGE_PRESENT)) continue;
    const gbase = BigInt(g) << BigInt(L.PGDIR_SHIFT);
    if (L.pmdFolded) {
      // 2-level: the pgd entry is the pmd: it references a page table.
      yield* leaf(entryAddr(L, gv), gbase, lo, hi);
      yield* upper(1, pgdp, entryAddr(L, gv));
      continue;
    }
    if (L.pudFolded) {
      // PAE: the pgd entry (PDPTE) references a pmd table.
      yield* visitPmd(entryAddr(L, gv), gbase);
      yield* upper(2, pgdp, entryAddr(L, gv));
      continue;
    }
    const pudTable = entryAddr(L, gv);
    const [u0, u1] = span(gbase, L.PUD_SHIFT, L.PTRS_PER_PUD, lo, hi);
    for (let u = u0; u <= u1; u++) {
      const pudp = pudTable + u * es;
      const uv = readEntry(k, pudp);
      if (!(uv & _PAGE_PRESENT)) continue;
      yield* visitPmd(entryAddr(L, uv), gbase + (BigInt(u) << BigInt(L.PUD_SHIFT)));
      yield* upper(2, pudp, entryAddr(L, uv));
    }
    yield* upper(3, pgdp, pudTable);
  }
}

/**
 * unmap_vmas(): zap every user pte (exit: the whole user address space). unmap_vmas() ->
 * unmap_single_vma() -> unmap_page_range() -> zap_pud_range() -> zap_pmd_range() ->
 * zap_pte_range() (mm/memory.c, 3.6-3.8; seed 000's oops shows the middle ones inlined into
 * unmap_single_vma). The model walks the span of all vmas at once: one unmap_single_vma frame.
 * zap_pmd_range() calls cond_resched() after each pmd (`next: cond_resched();` in 3.8), outside
 * zap_pte_range()'s lazy MMU section: an exiting task (current->mm == NULL) can be switched out
 * there and, switched back in, run the rest of the zap on the mm it borrowed (context_switch()).
 */
export function* unmap_vmas(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  const fns = cpu.thread().fnStack;
  fns.push('unmap_vmas', 'unmap_single_vma');
  yield* walkUser(k, tlb.mm, function* (pt, base, lo, hi) {
    yield* zap_pte_range(k, cpu, tlb, pt, base, lo, hi);
    yield* cond_resched(k, cpu); // zap_pmd_range()
  }, function* () {});
  fns.length -= 2;
}

/**
 * free_pgtables() for the whole user range: clear each upper entry (pmd_clear/pud_clear/
 * pgd_clear), paravirt_release_pte/pmd/pud, and queue the table page on the mmu_gather
 * (pte_free_tlb/pmd_free_tlb/pud_free_tlb). With PAE the preallocated pmds stay (pgd_free()
 * frees them): only their ptes go.
 */
export function* free_pgtables(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  const pae = k.L.paging === 'pae';
  yield* walkUser(k, tlb.mm, function* () {}, function* (level, ptr, table) {
    const pfn = table / 4096;
    if (level === 1) {
      yield* pmd_clear(k, cpu, ptr);
      yield* k.pv.mmu.release_pte(k, cpu, pfn);
    } else if (level === 2) {
      if (pae) return; // preallocated pmd: kept until pgd_free()
      yield* pud_clear(k, cpu, ptr);
      yield* k.pv.mmu.release_pmd(k, cpu, pfn);
    } else {
      yield* pgd_clear(k, cpu, ptr);
      yield* k.pv.mmu.release_pud(k, cpu, pfn);
    }
    tlb_remove_page(tlb, pfn);
    yield 'free_pgtables';
  });
}

/** exit_mmap(mm) (mm/mmap.c). */
export function* exit_mmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
  const fns = cpu.thread().fnStack;
  fns.push('exit_mmap');
  yield* k.pv.mmu.exit_mmap(k, cpu, mm); // arch_exit_mmap()
  const tlb = tlb_gather_mmu(mm, true);
  yield* unmap_vmas(k, cpu, tlb);
  yield* free_pgtables(k, cpu, tlb);
  yield* tlb_finish_mmu(k, cpu, tlb);
  yield 'exit_mmap:remove_vma'; // remove_vma(): might_sleep()
  mm.vmas.length = 0;
  fns.pop();
}
