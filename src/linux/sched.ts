/**
 * The scheduler core of kernel/sched/core.c (3.x): schedule()/__schedule(), context_switch(),
 * switch_to() (arch/x86/kernel/process_64.c __switch_to()), finish_task_switch(),
 * schedule_tail(), preempt_schedule_irq(), and the idle loop. Tasks are pinned to their CPU;
 * pick_next_task() is round-robin over the CPU's runnable tasks, then idle.
 *
 * Interleaving points: inside context_switch() after switch_mm() (CR3 already loaded, `current`
 * still prev, IRQs off: only NMIs can arrive: seed 004's window), and at switch_to() itself, where
 * prev's kernel stack stops until something switches back to it.
 */
import type { KGen } from '../scheduler/types.js';
import { versionNumber, type LinuxConfig } from './config.js';
import type { Kernel } from './kernel.js';
import { enter_lazy_tlb, switch_mm } from './mmu_context.js';
import { mmdrop } from './mm.js';
import type { LinuxCpu } from './percpu.js';
import { local_irq_disable, local_irq_enable, preempt_disable, preempt_enable, preempt_enable_no_resched } from './preempt.js';
import type { TaskStruct } from './structs.js';
import { enterFn } from '../scheduler/traced.js';
import { DONE, mustYield } from '../scheduler/point.js';

/** Label of the point where a task's stack is switched away (switch_to). */
export const LBL_SWITCH_TO = 'switch_to';
/** Label of seed 004's window: CR3 holds next's pgd, `current` is still prev. */
export const LBL_AFTER_SWITCH_MM = 'context_switch:after_switch_mm';
/** context_switch() after `prev->active_mm = NULL` (a kernel-thread prev), before switch_to(). */
export const LBL_AFTER_PREV_ACTIVE_MM = 'context_switch:after_prev_active_mm';
/** Label of the idle loop. */
export const LBL_IDLE = 'cpu_idle';

/** The idle task's loop (cpu_idle()/cpu_startup_entry()): schedule() whenever work appears. */
export function* cpu_idle(k: Kernel, cpu: LinuxCpu): KGen<void> {
  for (;;) {
    if (cpu.hasRunnable()) yield* schedule(k, cpu);
    if (mustYield(LBL_IDLE)) yield LBL_IDLE;
  }
}

/** pick_next_task(): round-robin over runnable tasks pinned to this CPU, else idle. */
export function pick_next_task(cpu: LinuxCpu, prev: TaskStruct): TaskStruct {
  const n = cpu.tasks.length;
  for (let i = 0; i < n; i++) {
    const t = cpu.tasks[(cpu.rrNext + i) % n];
    if (t !== prev && (t.state === 'runnable' || t.state === 'new')) {
      cpu.rrNext = (cpu.tasks.indexOf(t) + 1) % n;
      return t;
    }
  }
  if (prev.state === 'runnable') return prev;
  return cpu.idle;
}

/** wake_up_process(p): a blocked task becomes runnable. */
export function wake_up_process(t: TaskStruct): void {
  if (t.state === 'blocked') t.state = 'runnable';
}

/** set_current_state(TASK_INTERRUPTIBLE); schedule(): sleep until wake_up_process(). */
export function schedule_blocked(k: Kernel, cpu: LinuxCpu): KGen<void> {
  cpu.curr.state = 'blocked';
  return __schedule(k, cpu);
}

/** schedule(). */
export function schedule(k: Kernel, cpu: LinuxCpu): KGen<void> {
  return __schedule(k, cpu);
}

/**
 * preempt_schedule_irq(): involuntary preemption on return from an interrupt to a preemptible
 * context (PREEMPT, PREEMPT_RT). Injected by the deterministic scheduler.
 */
export function* preempt_schedule_irq(k: Kernel, cpu: LinuxCpu): KGen<void> {
  const fns = enterFn(cpu.curr, 'preempt_schedule_irq');
  try {
    yield* __schedule(k, cpu);
  } finally {
    fns.pop();
  }
}

/** Label of a cond_resched() call: a voluntary preemption point under every preemption model. */
export const LBL_COND_RESCHED = 'cond_resched';

/**
 * cond_resched() (include/linux/sched.h, 3.x: `_cond_resched()` in kernel/sched/core.c): if
 * need_resched is set, `__cond_resched()` -> `__schedule()`. A voluntary reschedule, so the task
 * may be switched out here even without CONFIG_PREEMPT; long loops such as zap_pmd_range() call
 * it. The model yields LBL_COND_RESCHED and the deterministic scheduler decides whether
 * need_resched was set (Kernel.canPreempt/preempt run `__cond_resched` then).
 */
export function* cond_resched(k: Kernel, _cpu: LinuxCpu): KGen<void> {
  if (cond_resched_is_noop(k.config)) return;
  if (mustYield(LBL_COND_RESCHED)) yield LBL_COND_RESCHED;
}

/**
 * From 4.9 (commit 35a773a07926, "sched/core: Avoid _cond_resched() for PREEMPT=y") a
 * CONFIG_PREEMPT kernel's `_cond_resched()` is `{ return 0; }`: preemption can happen anywhere
 * anyway, so cond_resched() is no scheduling point (include/linux/sched.h).
 */
export function cond_resched_is_noop(config: LinuxConfig): boolean {
  return (config.preempt === 'preempt' || config.preempt === 'rt') && versionNumber(config.version) >= 4009;
}

/** __cond_resched(): add_preempt_count(PREEMPT_ACTIVE); __schedule(); sub_preempt_count(PREEMPT_ACTIVE). */
export function* __cond_resched(k: Kernel, cpu: LinuxCpu): KGen<void> {
  const fns = enterFn(cpu.curr, '_cond_resched');
  try {
    yield* __schedule(k, cpu);
  } finally {
    fns.pop();
  }
}

/** __schedule(): rq lock with IRQs off, pick next, context_switch() or unlock. */
export function* __schedule(k: Kernel, cpu: LinuxCpu): KGen<void> {
  preempt_disable(cpu);
  local_irq_disable(cpu); // raw_spin_lock_irq(&rq->lock)
  const prev = cpu.curr;
  if (prev.state === 'running') prev.state = prev.idle ? 'running' : 'runnable';
  const next = pick_next_task(cpu, prev);
  if (next !== prev) {
    yield* context_switch(k, cpu, prev, next);
  } else {
    prev.state = 'running';
    local_irq_enable(cpu); // raw_spin_unlock_irq(&rq->lock)
  }
  preempt_enable_no_resched(cpu);
}

/** context_switch(rq, prev, next) (kernel/sched/core.c, 3.17). */
export function* context_switch(k: Kernel, cpu: LinuxCpu, prev: TaskStruct, next: TaskStruct): KGen<void> {
  const fns = enterFn(prev, 'context_switch');
  try {
    k.nr_switches++;
    const mm = next.mm;
    const oldmm = prev.active_mm!;
    yield* k.pv.cpu.start_context_switch(k, cpu, prev); // arch_start_context_switch(prev)
    if (!mm) {
      next.active_mm = oldmm;
      oldmm.mm_count++;
      enter_lazy_tlb(k, cpu, oldmm, next);
    } else {
      yield* switch_mm(k, cpu, oldmm, mm, next);
    }
    if (mustYield(LBL_AFTER_SWITCH_MM)) yield LBL_AFTER_SWITCH_MM;
    if (!prev.mm) {
      prev.active_mm = null;
      cpu.prevMm = oldmm;
      // An NMI from here to switch_to() sees current == prev with active_mm NULL (3.18
      // kernel/sched/core.c context_switch(), lines 2387-2401 of 3.18.63).
      if (mustYield(LBL_AFTER_PREV_ACTIVE_MM)) yield LBL_AFTER_PREV_ACTIVE_MM;
    }
    yield* switch_to(k, cpu, prev, next);
  } finally {
    fns.pop();
  }
  // We are prev again, switched back in by some later context_switch(): "last" is the task
  // that ran before us.
  yield* finish_task_switch(k, cpu, cpu.lastPrev!);
}

/**
 * switch_to(prev, next, last) / __switch_to(): end the lazy CPU mode (arch_end_context_switch),
 * save prev's preempt count and load next's (3.13+ per-cpu preempt count), then switch
 * `current` (this_cpu_write(current_task, next_p)) and the stack.
 */
export function* switch_to(k: Kernel, cpu: LinuxCpu, prev: TaskStruct, next: TaskStruct): KGen<void> {
  yield* k.pv.cpu.end_context_switch(k, cpu, next);
  prev.savedPreemptCount = cpu.preemptCount;
  cpu.preemptCount = next.savedPreemptCount;
  cpu.lastPrev = prev;
  cpu.curr = next;
  next.state = 'running';
  if (mustYield(LBL_SWITCH_TO)) yield LBL_SWITCH_TO;
}

/**
 * finish_task_switch(rq, prev): release the rq lock (IRQs on), drop the mm a lazy prev left
 * (rq->prev_mm) and reap a dead prev.
 */
export function finish_task_switch(k: Kernel, cpu: LinuxCpu, _prev: TaskStruct): KGen<void> {
  const mm = cpu.prevMm;
  cpu.prevMm = null;
  local_irq_enable(cpu); // finish_lock_switch(): raw_spin_unlock_irq(&rq->lock)
  if (mm) return mmdrop(k, cpu, mm);
  return DONE;
}

/**
 * kernel/sched/core.c schedule_tail(prev), the first thing a freshly forked task calls:
 * finish_task_switch(), whose release of rq->lock ends the preempt count of 1 that sched_fork()
 * gave the child (the preempt_enable() here). post_schedule() and set_child_tid are not modelled.
 */
export function* schedule_tail(k: Kernel, cpu: LinuxCpu, prev: TaskStruct): KGen<void> {
  yield* finish_task_switch(k, cpu, prev);
  yield* preempt_enable(cpu);
}
