/**
 * Task exit (kernel/exit.c, 3.2): do_exit() -> exit_mm(): take a reference for active_mm, set
 * current->mm = NULL, enter lazy TLB mode, mmput(); the task keeps the old mm as active_mm until
 * it is switched out. Then TASK_DEAD and the final schedule().
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import { enter_lazy_tlb } from './mmu_context.js';
import { mmput } from './mmap.js';
import type { LinuxCpu } from './percpu.js';
import { preempt_disable } from './preempt.js';
import { __schedule, schedule_tail } from './sched.js';
import type { TaskStruct } from './structs.js';
import { enterFn } from '../scheduler/traced.js';
import { mustYield } from '../scheduler/point.js';

/** Interleaving point right after exit_mm() cleared current->mm. */
export const LBL_EXIT_MM_NULL = 'exit_mm:after_mm_null';

/** exit_mm(tsk). */
export function* exit_mm(k: Kernel, cpu: LinuxCpu): KGen<void> {
  const tsk = cpu.curr;
  const mm = tsk.mm;
  if (!mm) return;
  const fns = enterFn(tsk, 'exit_mm');
  try {
    mm.mm_count++; // atomic_inc(&mm->mm_count): the reference held through active_mm
    if (mm !== tsk.active_mm) k.BUG(cpu, 'kernel/exit.c', null, 'exit_mm');
    tsk.mm = null; // task_lock(); tsk->mm = NULL; up_read(&mm->mmap_sem)
    enter_lazy_tlb(k, cpu, mm, tsk);
    if (mustYield(LBL_EXIT_MM_NULL)) yield LBL_EXIT_MM_NULL;
    yield* mmput(k, cpu, mm);
  } finally {
    fns.pop();
  }
}

/** do_exit(code): never returns. */
export function* do_exit(k: Kernel, cpu: LinuxCpu, code: number): KGen<never> {
  const tsk = cpu.curr;
  const fns = enterFn(tsk, 'do_exit');
  try {
    tsk.exiting = true; // exit_signals(): PF_EXITING
    yield* exit_mm(k, cpu);
    tsk.exitCode = code;
    preempt_disable(cpu); // the final schedule() runs with preemption off
    tsk.state = 'dead'; // TASK_DEAD
  } finally {
    fns.pop();
  }
  yield* __schedule(k, cpu);
  throw new Error(`do_exit: dead task ${tsk.comm}[${tsk.pid}] was scheduled again`);
}

/**
 * The first code a new task runs: ret_from_fork -> schedule_tail(), then the task's body, then
 * do_exit() if the body returns.
 */
export function* task_entry(k: Kernel, cpu: LinuxCpu, t: TaskStruct): KGen<void> {
  yield* schedule_tail(k, cpu, cpu.lastPrev!);
  if (t.body) yield* t.body(t);
  yield* do_exit(k, cpu, 0);
}
