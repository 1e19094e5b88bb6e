/**
 * struct mmu_gather (include/asm-generic/tlb.h and mm/memory.c, 3.8-4.14; x86 asm/tlb.h and
 * arch/x86/mm/pgtable.c ___pte_free_tlb/___pmd_free_tlb/___pud_free_tlb): the one gather of the
 * model, used by every unmap path (exit_mmap() and unmap_region(), mmap.ts). Pages unmapped and
 * page-table pages removed are batched and freed only after the TLB flush in tlb_flush_mmu().
 * How it behaves depends on the kernel's knobs and paging mode, never on the caller:
 *  - tlb_remove_page(): the page is freed by tlb_flush_mmu() right after the TLB flush. On x86
 *    software walkers (GUP-fast) are safe only because the remote flush is an IPI, which waits
 *    for the walker to re-enable interrupts.
 *  - tlb_remove_table() with HAVE_RCU_TABLE_FREE (knob `have_rcu_table_free`, seed 002's fix,
 *    commit 9e52fc2b50de): page-table pages are batched in a page allocated with GFP_NOWAIT and
 *    freed by an RCU-sched callback (tlb_table_flush -> call_rcu_sched(tlb_remove_table_rcu)),
 *    after every CPU left its IRQ-off region. 4.14-4.18: with fewer than two users of the mm the
 *    table is freed at once (knob `tlb_remove_table_single_user`); when the batch page cannot be
 *    allocated, tlb_remove_table_one() IPIs every CPU and frees the table, with no TLB flush
 *    before it. 4.19 ("mm/tlb, x86/mm: Support invalidating TLB caches for RCU_TABLE_FREE", knob
 *    `tlb_table_invalidate`) flushes the gathered range first (tlb_table_invalidate()).
 *  - fullmm (tlb_gather_mmu(tlb, mm, 0, -1): exit) flushes the whole mm; otherwise the flushed
 *    range is the span of what was unmapped or freed (__tlb_adjust_range()). With PAE,
 *    ___pmd_free_tlb() sets need_flush_all: a PDPTE changed, and only a CR3 reload reloads it.
 * Frees of page-table pages are recorded for the page-table use-after-free sanitizer.
 * Sources: mm/memory.c and include/asm-generic/tlb.h of 3.8.13, 4.14.5, 4.17 and 4.19.1
 * (docs/provenance.md).
 */
import type { KGen } from '../scheduler/types.js';
import { DONE } from '../scheduler/point.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { call_rcu_sched } from './rcupdate.js';
import { __get_free_page, free_page, GFP_NOWAIT, __GFP_NOWARN } from './page_alloc.js';
import { smp_call_function } from './smp.js';
import type { MmStruct } from './structs.js';
import { flush_tlb_mm_range, TLB_FLUSH_ALL } from './tlbflush.js';
import { ptUafOf } from './pt_sanitizers.js';
import { put_page } from './page.js';
import { enterFn, traced } from '../scheduler/traced.js';

/** MAX_TABLE_BATCH: tables per mmu_table_batch page. */
export const MAX_TABLE_BATCH = 509;

export interface MmuGather {
  mm: MmStruct;
  fullmm: boolean;
  start: bigint;
  end: bigint;
  need_flush: boolean;
  /** need_flush_all: flush the whole mm (a PAE PDPTE was cleared). */
  need_flush_all: boolean;
  /** Data pages and (without RCU table free) table pages, freed after the flush. */
  pages: number[];
  /** Which of `pages` are page-table pages (for the sanitizer's free records). */
  tablePages: Set<number>;
  /** Page-table pages awaiting the RCU callback (tlb->batch: the batch page and its tables). */
  batch: MmuTableBatch | null;
  /** The start and end passed to tlb_gather_mmu() (and again to tlb_finish_mmu()). */
  range: readonly [bigint, bigint];
}

/** struct mmu_table_batch: a page of table pointers (include/asm-generic/tlb.h). */
export interface MmuTableBatch {
  /** The page holding the batch. */
  page: number;
  tables: number[];
}

/**
 * tlb_gather_mmu(tlb, mm, start, end): fullmm when [start, end) is [0, -1) (exit_mmap);
 * inc_tlb_flush_pending(mm) (4.13+; the model counts it in every version, only tlb_finish_mmu()
 * of 4.13+ reads it).
 */
export function tlb_gather_mmu(mm: MmStruct, start: bigint, end: bigint): MmuGather {
  const fullmm = start === 0n && end === TLB_FLUSH_ALL;
  mm.tlb_flush_pending++;
  return {
    mm,
    fullmm,
    start: fullmm ? 0n : end,
    end: fullmm ? TLB_FLUSH_ALL : start,
    need_flush: false,
    need_flush_all: false,
    pages: [],
    tablePages: new Set(),
    batch: null,
    range: [start, end],
  };
}

/** __tlb_adjust_range(tlb, address): the range grows, and `tlb->end` is no longer 0 (`need_flush`). */
export function tlb_adjust_range(tlb: MmuGather, addr: bigint, size = 4096n): void {
  tlb.need_flush = true;
  if (tlb.fullmm) return;
  if (addr < tlb.start) tlb.start = addr;
  if (addr + size > tlb.end) tlb.end = addr + size;
}

/** Frees a page the model knows to be a page-table page, recording where (for the sanitizer). */
export function free_page_table_page(k: Kernel, cpu: LinuxCpu, pfn: number, site: string): void {
  k.m.frames.free(pfn);
  const chain = cpu.thread().fnStack;
  ptUafOf(k).recordFree(pfn, cpu.index, chain.at(-1) === site ? [...chain] : [...chain, site]);
}

/** tlb_remove_page(tlb, page). */
export function tlb_remove_page(tlb: MmuGather, pfn: number): void {
  tlb.need_flush = true;
  tlb.pages.push(pfn);
}

/**
 * tlb_table_invalidate(tlb) (4.19, CONFIG_HAVE_RCU_TABLE_INVALIDATE, which x86 selects with
 * HAVE_RCU_TABLE_FREE): "Invalidate page-table caches used by hardware walkers" before the
 * tables are freed; nothing before 4.19.
 */
function* tlb_table_invalidate(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  if (k.config.knobs.tlb_table_invalidate === true) yield* tlb_flush_mmu_tlbonly(k, cpu, tlb);
}

/** tlb_remove_table_smp_sync(): "Simply deliver the interrupt". */
function* tlb_remove_table_smp_sync(): KGen<void> {}

/**
 * tlb_remove_table_one(table): IPI every other CPU and wait (software walkers run with IRQs
 * off, so none is left inside a walk), then free the table. Not an RCU grace period, and no
 * TLB or paging-structure-cache invalidation.
 */
function tlb_remove_table_one(k: Kernel, cpu: LinuxCpu, pfn: number): KGen<void> {
  return traced(cpu, 'tlb_remove_table_one', () => sync_and_free_table(k, cpu, pfn));
}

function* sync_and_free_table(k: Kernel, cpu: LinuxCpu, pfn: number): KGen<void> {
  yield* smp_call_function(k, cpu, 'tlb_remove_table_smp_sync', tlb_remove_table_smp_sync);
  free_page_table_page(k, cpu, pfn, '__tlb_remove_table');
}

/** tlb_remove_table(tlb, table) (mm/memory.c, HAVE_RCU_TABLE_FREE). */
function* tlb_remove_table(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, pfn: number): KGen<void> {
  tlb.need_flush = true;
  // "When there's less then two users of this mm there cannot be a concurrent page-table walk." (until 4.19)
  if (k.config.knobs.tlb_remove_table_single_user !== false && tlb.mm.mm_users < 2) {
    free_page_table_page(k, cpu, pfn, '__tlb_remove_table');
    return;
  }
  if (tlb.batch === null) {
    const page = __get_free_page(k, cpu, GFP_NOWAIT | __GFP_NOWARN);
    if (page === null) {
      yield* tlb_table_invalidate(k, cpu, tlb);
      yield* tlb_remove_table_one(k, cpu, pfn);
      return;
    }
    tlb.batch = { page, tables: [] };
  }
  tlb.batch.tables.push(pfn);
  if (tlb.batch.tables.length === MAX_TABLE_BATCH) yield* tlb_table_flush(k, cpu, tlb);
}

/** The x86 ___pXd_free_tlb() tail: tlb_remove_table() with RCU table free, else tlb_remove_page(). */
function free_table_tlb(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, pfn: number): KGen<void> {
  if (k.config.knobs.have_rcu_table_free === true) return tlb_remove_table(k, cpu, tlb, pfn);
  else {
    tlb_remove_page(tlb, pfn);
    tlb.tablePages.add(pfn);
  }
  return DONE;
}

/** pte_free_tlb(tlb, pte, address) -> ___pte_free_tlb(): paravirt_release_pte(), then the free. */
export function* pte_free_tlb(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, table: number, address: bigint): KGen<void> {
  tlb_adjust_range(tlb, address, 1n << BigInt(k.L.PMD_SHIFT));
  yield* k.pv.mmu.release_pte(k, cpu, table / 4096);
  yield* free_table_tlb(k, cpu, tlb, table / 4096);
}

/** pmd_free_tlb(tlb, pmd, address) -> ___pmd_free_tlb(); nothing when the pmd is folded (pgtable-nopmd.h). */
export function* pmd_free_tlb(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, table: number, address: bigint): KGen<void> {
  if (k.L.pmdFolded) return;
  tlb_adjust_range(tlb, address, 1n << BigInt(k.L.PUD_SHIFT));
  yield* k.pv.mmu.release_pmd(k, cpu, table / 4096);
  if (k.L.paging === 'pae') tlb.need_flush_all = true; // "any changes to the top page-directory-pointer-table entries need a full cr3 reload"
  yield* free_table_tlb(k, cpu, tlb, table / 4096);
}

/** pud_free_tlb(tlb, pud, address) -> ___pud_free_tlb(); nothing when the pud is folded (pgtable-nopud.h). */
export function* pud_free_tlb(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, table: number, address: bigint): KGen<void> {
  if (k.L.pudFolded) return;
  tlb_adjust_range(tlb, address, 1n << BigInt(k.L.PGDIR_SHIFT));
  yield* k.pv.mmu.release_pud(k, cpu, table / 4096);
  yield* free_table_tlb(k, cpu, tlb, table / 4096);
}

/** tlb_table_flush(tlb): hand the batch to RCU (call_rcu_sched(tlb_remove_table_rcu)); 4.19 invalidates first. */
export function* tlb_table_flush(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  const batch = tlb.batch;
  if (!batch) return;
  yield* tlb_table_invalidate(k, cpu, tlb);
  tlb.batch = null;
  call_rcu_sched(k, cpu, 'tlb_remove_table_rcu', (k2, c2) => {
    for (const pfn of batch.tables) free_page_table_page(k2, c2, pfn, '__tlb_remove_table');
    free_page(k2, batch.page);
  });
}

/** tlb_flush(tlb) (x86 asm/tlb.h): flush_tlb_mm_range() over the gathered range, or all of the mm. */
function* tlb_flush(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  if (tlb.fullmm || tlb.need_flush_all) yield* flush_tlb_mm_range(k, cpu, tlb.mm, 0n, TLB_FLUSH_ALL);
  else if (tlb.end > tlb.start) yield* flush_tlb_mm_range(k, cpu, tlb.mm, tlb.start, tlb.end);
}

/**
 * tlb_flush_mmu_tlbonly(tlb): the TLB flush of what was gathered, then __tlb_reset_range(). The
 * model's `need_flush` stands for `tlb->end != 0` (something was unmapped or freed).
 */
function* tlb_flush_mmu_tlbonly(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  if (!tlb.need_flush) return;
  tlb.need_flush = false;
  yield* tlb_flush(k, cpu, tlb);
  if (!tlb.fullmm) {
    tlb.start = k.L.TASK_SIZE;
    tlb.end = 0n;
  }
}

/**
 * tlb_flush_mmu(tlb): tlb_flush_mmu_tlbonly(), then tlb_flush_mmu_free(): hand the tables to RCU
 * (4.19 order; 4.17 calls tlb_table_flush() at the end of tlb_flush_mmu_tlbonly(), the same point
 * since the gather always has a range when it holds tables) and free the gathered pages.
 */
export function* tlb_flush_mmu(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  if (!tlb.need_flush && tlb.pages.length === 0 && !tlb.batch) return;
  const fns = enterFn(cpu, 'tlb_flush_mmu');
  try {
    yield* tlb_flush_mmu_tlbonly(k, cpu, tlb);
    yield* tlb_table_flush(k, cpu, tlb);
    // free_pages_and_swap_cache(): the last reference frees a page (a COW-shared page lives on)
    for (const pfn of tlb.pages) {
      if (tlb.tablePages.has(pfn)) free_page_table_page(k, cpu, pfn, 'free_pages_and_swap_cache');
      else put_page(k, pfn);
    }
  } finally {
    fns.pop();
  }
  tlb.pages.length = 0;
  tlb.tablePages.clear();
}

/**
 * tlb_finish_mmu(tlb, start, end). From 4.13 (mm/memory.c, 4.13.4 and 4.14.5 lines 415-429):
 * `force = mm_tlb_flush_nested(mm)` (another gather of the mm is open: "parallel threads are doing
 * PTE changes on same range ... a thread has stable TLB entry can fail to flush the TLB by
 * observing pte_none"), and arch_tlb_finish_mmu() adds [start, end) to the range when forced,
 * so that a zap that found nothing still flushes; then dec_tlb_flush_pending(mm). Earlier
 * kernels (4.8.15, 4.9.124) have no such flush; knob `tlb_flush_nested` (default true: every
 * preset carries it as a backport; false gives the pre-4.13 code).
 */
export function* tlb_finish_mmu(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  const fns = enterFn(cpu, 'tlb_finish_mmu');
  try {
    if (tlb.mm.tlb_flush_pending > 1 && k.config.knobs.tlb_flush_nested !== false) {
      const [start, end] = tlb.range;
      tlb_adjust_range(tlb, start, end - start); // __tlb_adjust_range(tlb, start, end - start)
    }
    yield* tlb_flush_mmu(k, cpu, tlb);
    yield* tlb_table_flush(k, cpu, tlb);
  } finally {
    fns.pop();
    tlb.mm.tlb_flush_pending--;
  }
}
