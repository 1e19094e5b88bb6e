/**
 * struct mmu_gather (include/asm-generic/tlb.h, mm/memory.c, 3.x): pages unmapped or page-table
 * pages removed are batched and freed only after the TLB flush in tlb_flush_mmu().
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import type { MmStruct } from './structs.js';
import { put_page } from './page.js';
import { flush_tlb_mm_range, TLB_FLUSH_ALL } from './tlbflush.js';

export interface MmuGather {
  mm: MmStruct;
  fullmm: boolean;
  need_flush: boolean;
  start: bigint;
  end: bigint;
  /** pfns waiting to be freed after the flush. */
  pages: number[];
}

/** tlb_gather_mmu(tlb, mm, fullmm). */
export function tlb_gather_mmu(mm: MmStruct, fullmm: boolean): MmuGather {
  return { mm, fullmm, need_flush: false, start: fullmm ? 0n : -1n, end: fullmm ? TLB_FLUSH_ALL : 0n, pages: [] };
}

/** tlb_remove_page(tlb, page). */
export function tlb_remove_page(tlb: MmuGather, pfn: number): void {
  tlb.need_flush = true;
  tlb.pages.push(pfn);
}

/** tlb_flush(tlb): flush_tlb_mm_range(tlb->mm, start, end) (x86 asm/tlb.h, 3.8+). */
export function* tlb_flush(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  yield* flush_tlb_mm_range(k, cpu, tlb.mm, tlb.fullmm ? 0n : tlb.start, tlb.fullmm ? TLB_FLUSH_ALL : tlb.end);
}

/** tlb_flush_mmu(): flush, then free the batched pages. */
export function* tlb_flush_mmu(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  if (!tlb.need_flush) return;
  tlb.need_flush = false;
  const fns = cpu.thread().fnStack;
  fns.push('tlb_flush_mmu');
  yield* tlb_flush(k, cpu, tlb);
  fns.pop();
  for (const pfn of tlb.pages) put_page(k, pfn); // free_pages_and_swap_cache(): the last reference frees
  tlb.pages.length = 0;
}

/** tlb_finish_mmu(tlb, start, end). */
export function* tlb_finish_mmu(k: Kernel, cpu: LinuxCpu, tlb: MmuGather): KGen<void> {
  const fns = cpu.thread().fnStack;
  fns.push('tlb_finish_mmu');
  yield* tlb_flush_mmu(k, cpu, tlb);
  fns.pop();
}
