/**
 * Task exit (kernel/exit.c, 3.2): do_exit() -> exit_mm(): take a reference for active_mm, set
 * current->mm = NULL, enter lazy TLB mode, mmput(); the task keeps the old mm as active_mm until
 * it is switched out. Then TASK_DEAD and the final schedule().
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import { enter_lazy_tlb } from './mmu_context.js';
import { mmput } from './mm.js';
import type { LinuxCpu } from './percpu.js';
import { preempt_disable } from './preempt.js';
import { __schedule } from './sched.js';
import { traced } from '../scheduler/traced.js';

/** Interleaving point right after exit_mm() cleared current->mm. */
export const LBL_EXIT_MM_NULL = 'exit_mm:after_mm_null';

/** exit_mm(tsk). */
export function* exit_mm(k: Kernel, cpu: LinuxCpu): KGen<void> {
  const tsk = cpu.curr;
  const mm = tsk.mm;
  if (!mm) return;
  yield* traced(tsk, 'exit_mm', function* () {
    mm.mm_count++; // atomic_inc(&mm->mm_count): the reference held through active_mm
    if (mm !== tsk.active_mm) k.BUG(cpu, 'kernel/exit.c', null, 'exit_mm');
    tsk.mm = null; // task_lock(); tsk->mm = NULL; up_read(&mm->mmap_sem)
    enter_lazy_tlb(k, cpu, mm, tsk);
    yield LBL_EXIT_MM_NULL;
    yield* mmput(k, cpu, mm);
  });
}

/** do_exit(code): never returns. */
export function* do_exit(k: Kernel, cpu: LinuxCpu, code: number): KGen<never> {
  const tsk = cpu.curr;
  yield* traced(tsk, 'do_exit', function* () {
    tsk.exiting = true; // exit_signals(): PF_EXITING
    yield* exit_mm(k, cpu);
    tsk.exitCode = code;
    preempt_disable(cpu); // the final schedule() runs with preemption off
    tsk.state = 'dead'; // TASK_DEAD
  });
  yield* __schedule(k, cpu);
  throw new Error(`do_exit: dead task ${tsk.comm}[${tsk.pid}] was scheduled again`);
}
