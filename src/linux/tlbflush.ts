/**
 * TLB flushing: __native_flush_tlb() (arch/x86/include/asm/tlbflush.h), flush_tlb_mm_range(),
 * flush_tlb_func() and native_flush_tlb_others() (arch/x86/mm/tlb.c, 3.17), the UP variant
 * (tlbflush.h: flush_tlb_mm_range() -> __flush_tlb_up() when mm == current->active_mm), and
 * leave_mm().
 */
import type { KGen } from '../scheduler/types.js';
import { on_each_cpu, smp_call_function_many } from './smp.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { preempt_disable, preempt_enable } from './preempt.js';
import { staleTlbFlushBegin, staleTlbFlushEnd } from './stale_tlb.js';
import type { MmStruct } from './structs.js';
import { mustYield } from '../scheduler/point.js';

/** TLB_FLUSH_ALL. */
export const TLB_FLUSH_ALL = -1n;
/** tlb_single_page_flush_ceiling (arch/x86/mm/tlb.c, 3.17). */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33n;

/** Interleaving point between native_read_cr3() and native_write_cr3() (seed 003's window). */
export const LBL_FLUSH_AFTER_READ_CR3 = '__native_flush_tlb:after_read_cr3';

/** native_read_cr3(). */
export function native_read_cr3(cpu: LinuxCpu): bigint {
  return cpu.hw.getCr3();
}

/** native_write_cr3(): MOV to CR3 (flushes non-global TLB entries, SDM vol. 3, 4.10.4.1). */
export function native_write_cr3(k: Kernel, cpu: LinuxCpu, cr3: bigint): void {
  cpu.hw.setControl({ cr3 });
  cpu.cr3Epoch++;
  k.lockup.progress(cpu);
}

/**
 * __native_flush_tlb(): native_write_cr3(native_read_cr3()). Before commit 5cf0791da5c1
 * ("x86/mm: Disable preemption during CR3 read+write", seed 003) a preemption could fall between
 * the read and the write; the fix wraps the pair in preempt_disable()/preempt_enable().
 */
export function* __native_flush_tlb(k: Kernel, cpu: LinuxCpu): KGen<void> {
  const fixed = k.config.flush_tlb_preempt_disable;
  if (fixed) preempt_disable(cpu);
  const cr3 = native_read_cr3(cpu);
  if (mustYield(LBL_FLUSH_AFTER_READ_CR3)) yield LBL_FLUSH_AFTER_READ_CR3;
  native_write_cr3(k, cpu, cr3);
  if (fixed) yield* preempt_enable(cpu);
}

/** __flush_tlb(): pv_mmu_ops.flush_tlb_user. */
export function __flush_tlb(k: Kernel, cpu: LinuxCpu): KGen<void> {
  return k.pv.mmu.flush_tlb_user(k, cpu);
}

/** __flush_tlb_single(addr): pv_mmu_ops.flush_tlb_single. */
export function __flush_tlb_single(k: Kernel, cpu: LinuxCpu, addr: bigint): KGen<void> {
  return k.pv.mmu.flush_tlb_single(k, cpu, addr);
}

/**
 * leave_mm(cpu): a lazy CPU stops receiving flush IPIs for its borrowed mm and switches to
 * swapper_pg_dir (arch/x86/mm/tlb.c). BUG() if the CPU is not in lazy TLB mode.
 */
export function* leave_mm(k: Kernel, cpu: LinuxCpu): KGen<void> {
  const active = cpu.tlbActiveMm;
  if (cpu.tlbState === 'ok') k.BUG(cpu, 'arch/x86/mm/tlb.c', null, 'leave_mm');
  if (active && active.cpumask & (1 << cpu.index)) {
    active.cpumask &= ~(1 << cpu.index);
    yield* k.pv.mmu.write_cr3(k, cpu, BigInt(k.init_mm.pgd));
  }
}

/**
 * flush_tlb_mm_range(mm, start, end). UP: flush the local TLB if mm is current->active_mm.
 * SMP (3.17): preemption off; local flush (or leave_mm() for a lazy borrower), then other CPUs
 * in mm_cpumask through flush_tlb_others.
 */
export function* flush_tlb_mm_range(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, end: bigint): KGen<void> {
  const stale = staleTlbFlushBegin(k, cpu, 'flush_tlb_mm_range', mm, start, end);
  if (!k.config.smp) {
    // __flush_tlb_up() -> __flush_tlb()
    if (mm === cpu.curr.active_mm) yield* __flush_tlb(k, cpu);
    staleTlbFlushEnd(k, cpu, stale);
    return;
  }
  preempt_disable(cpu);
  let all = end === TLB_FLUSH_ALL;
  if (cpu.curr.active_mm === mm) {
    if (!cpu.curr.mm) yield* leave_mm(k, cpu);
    else if (all || (end - start) >> 12n > TLB_SINGLE_PAGE_FLUSH_CEILING) {
      all = true;
      yield* __flush_tlb(k, cpu);
    } else {
      for (let a = start; a < end; a += 4096n) yield* __flush_tlb_single(k, cpu, a);
    }
  }
  const others = mm.cpumask & ~(1 << cpu.index);
  if (others !== 0) yield* k.pv.mmu.flush_tlb_others(k, cpu, others, mm, all ? 0n : start, all ? TLB_FLUSH_ALL : end);
  staleTlbFlushEnd(k, cpu, stale); // flush_tlb_others() returned: the kernel considers the flush done
  yield* preempt_enable(cpu);
}

/** flush_tlb_func(): the IPI handler of a remote flush (arch/x86/mm/tlb.c). */
export function* flush_tlb_func(k: Kernel, cpu: LinuxCpu, mm: MmStruct | null, start: bigint, end: bigint): KGen<void> {
  if (mm !== cpu.tlbActiveMm) return;
  if (cpu.tlbState === 'ok') {
    if (end === TLB_FLUSH_ALL) yield* __flush_tlb(k, cpu);
    else for (let a = start; a < end; a += 4096n) yield* __flush_tlb_single(k, cpu, a);
  } else {
    yield* leave_mm(k, cpu);
  }
}

/**
 * native_flush_tlb_others(): smp_call_function_many(cpumask, flush_tlb_func, info, wait=1):
 * an IPI to each CPU, then a busy-wait until every handler has run (kernel/smp.c).
 */
export function* native_flush_tlb_others(k: Kernel, cpu: LinuxCpu, cpumask: number, mm: MmStruct | null, start: bigint, end: bigint): KGen<void> {
  yield* smp_call_function_many(k, cpu, cpumask, 'flush_tlb_func', (k2, c) => flush_tlb_func(k2, c, mm, start, end));
}

/** do_kernel_range_flush(): __flush_tlb_single() on each page of [start, end) (arch/x86/mm/tlb.c). */
function* do_kernel_range_flush(k: Kernel, cpu: LinuxCpu, start: bigint, end: bigint): KGen<void> {
  for (let a = start; a < end; a += 4096n) yield* __flush_tlb_single(k, cpu, a);
}

/** do_flush_tlb_all(): __flush_tlb_all(), and leave_mm() when lazy (arch/x86/mm/tlb.c). */
export function* do_flush_tlb_all(k: Kernel, cpu: LinuxCpu): KGen<void> {
  yield* k.pv.mmu.flush_tlb_kernel(k, cpu);
  if (k.config.smp && cpu.tlbState === 'lazy') yield* leave_mm(k, cpu);
}

/**
 * flush_tlb_kernel_range(start, end) (3.17): on every CPU, INVLPG each page, or a full flush
 * beyond tlb_single_page_flush_ceiling pages.
 */
export function* flush_tlb_kernel_range(k: Kernel, cpu: LinuxCpu, start: bigint, end: bigint): KGen<void> {
  const stale = staleTlbFlushBegin(k, cpu, 'flush_tlb_kernel_range', null, start, end);
  if (end === TLB_FLUSH_ALL || (end - start) >> 12n > TLB_SINGLE_PAGE_FLUSH_CEILING) {
    yield* on_each_cpu(k, cpu, 'do_flush_tlb_all', do_flush_tlb_all);
  } else {
    yield* on_each_cpu(k, cpu, 'do_kernel_range_flush', (k2, c) => do_kernel_range_flush(k2, c, start, end));
  }
  staleTlbFlushEnd(k, cpu, stale); // on_each_cpu() waited for every CPU
}

/**
 * flush_tlb_range(vma, start, end) (arch/x86/include/asm/tlbflush.h, 3.8-3.17 SMP:
 * flush_tlb_mm_range(vma->vm_mm, start, end, vma->vm_flags); the vm_flags only matter for
 * VM_HUGETLB, which the model has not; UP: __flush_tlb_up() if vma->vm_mm is current->active_mm,
 * which flush_tlb_mm_range() does for UP). The model's vmas do not point to their mm: `mm` is
 * vma->vm_mm.
 */
export function flush_tlb_range(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, end: bigint): KGen<void> {
  return flush_tlb_mm_range(k, cpu, mm, start, end);
}
