/**
 * Address-space lifetime (kernel/fork.c, mm/mmap.c, mm/memory.c, 3.x): mm_alloc() with
 * pgd_alloc(), mmput() -> exit_mmap() when the last user goes, mmdrop() -> __mmdrop() ->
 * pgd_free() when the last reference (lazy-TLB borrowers included) goes. exit_mmap() is in
 * mmap.ts.
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { pgd_alloc, pgd_free } from './pgd.js';
import { exit_mmap } from './mmap.js';
import { MmStruct } from './structs.js';
import { defineKernelState } from './kstate.js';
import { traced } from '../scheduler/traced.js';

/** mm_alloc() + mm_init(): a new address space with its own pgd. */
export function* mm_alloc(k: Kernel, cpu: LinuxCpu, name: string): KGen<MmStruct> {
  const mm = new MmStruct(k.newMmId(), 0, name);
  yield* pgd_alloc(k, cpu, mm);
  return mm;
}

/** mmput(mm): drop a user; at 0 tear the address space down (exit_mmap) and mmdrop(). */
export function* mmput(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
  if (--mm.mm_users > 0) return;
  yield* traced(cpu, 'mmput', function* () {
    yield* exit_mmap(k, cpu, mm);
    k.observers.exitMmap?.(cpu, mm);
  });
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

/** The hooks of a kernel. */
export const mmHooks = defineKernelState((): MmHooks => ({}));
