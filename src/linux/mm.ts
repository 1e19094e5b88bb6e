/**
 * Address-space lifetime (kernel/fork.c, 3.x): mm_alloc() with pgd_alloc(), mmdrop() ->
 * __mmdrop() -> pgd_free() when the last reference (lazy-TLB borrowers included) goes. mmput()
 * (the last user gone: exit_mmap()) is in mmap.ts, with the rest of the teardown.
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { pgd_alloc, pgd_free } from './pgd.js';
import { MmStruct } from './structs.js';

/** mm_alloc() + mm_init(): a new address space with its own pgd. */
export function* mm_alloc(k: Kernel, cpu: LinuxCpu, name: string): KGen<MmStruct> {
  const mm = new MmStruct(k.newMmId(), 0, name);
  yield* pgd_alloc(k, cpu, mm);
  return mm;
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
