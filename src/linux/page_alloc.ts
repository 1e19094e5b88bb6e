/**
 * Page allocations that may fail, and fault injection (mm/page_alloc.c should_fail_alloc_page(),
 * lib/fault-inject.c should_fail(), 4.17). The model's sleeping allocations (GFP_KERNEL: page
 * tables, user pages) never fail: the kernel would reclaim or OOM-kill, which is not modelled. A
 * non-sleeping one (GFP_NOWAIT, GFP_ATOMIC: no __GFP_DIRECT_RECLAIM) fails when memory runs out
 * or when fault injection says so.
 *
 * Fault injection is the kernel's own systematic mode (CONFIG_FAULT_INJECTION, 4.13+): a task
 * writes n to /proc/thread-self/fail-nth and the n-th fault-injection point it passes afterwards
 * fails (syzkaller's fault-injection mode). fail_page_alloc is configured through debugfs as
 * min-order=0 with ignore-gfp-wait=Y (the default), so only non-sleeping allocations are
 * injection points, and order-0 ones count.
 */
import { PagewalkError } from '../core/errors.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import type { TaskStruct } from './structs.js';

/** gfp_t bits the model distinguishes (include/linux/gfp.h, 4.17). */
export const __GFP_DIRECT_RECLAIM = 0x400000;
export const __GFP_KSWAPD_RECLAIM = 0x1000000;
export const __GFP_NOWARN = 0x200;
/** GFP_NOWAIT: kswapd may be woken, the caller does not reclaim. */
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;

/** Writes /proc/<pid>/fail-nth (proc_fail_nth_write(), fs/proc/base.c): the n-th injection point of `task` fails (0: none). */
export function proc_fail_nth_write(task: TaskStruct, n: number): void {
  task.fail_nth = n;
}

/**
 * should_fail(attr, size) (lib/fault-inject.c): in task context, a pending fail-nth counts this
 * point and fails it when it reaches zero. The probability-based mode (attr->probability) is off.
 */
function should_fail(cpu: LinuxCpu): boolean {
  const current = cpu.curr;
  if (cpu.frames.length > 0 || current.fail_nth === 0) return false; // in_task()
  current.fail_nth--;
  return current.fail_nth === 0;
}

/** should_fail_alloc_page(gfp_mask, order) with min-order=0 and ignore-gfp-wait=Y. */
function should_fail_alloc_page(cpu: LinuxCpu, gfp: number): boolean {
  if (gfp & __GFP_DIRECT_RECLAIM) return false; // fail_page_alloc.ignore_gfp_reclaim
  return should_fail(cpu);
}

/** __get_free_page(gfp_mask): a frame, or null when a non-sleeping allocation fails. */
export function __get_free_page(k: Kernel, cpu: LinuxCpu, gfp: number): number | null {
  if (should_fail_alloc_page(cpu, gfp)) return null;
  try {
    return k.m.frames.alloc({ zero: false });
  } catch (e) {
    if (e instanceof PagewalkError && e.code === 'ENOMEM_FRAMES' && !(gfp & __GFP_DIRECT_RECLAIM)) return null;
    throw e;
  }
}

/** free_page(addr). */
export function free_page(k: Kernel, pfn: number): void {
  k.m.frames.free(pfn);
}
