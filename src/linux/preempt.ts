/**
 * preempt_disable()/preempt_enable() (include/linux/preempt.h) and local_irq_disable()/
 * local_irq_enable() (include/linux/irqflags.h). preempt_enable() is a preemption point
 * (it calls preempt_schedule() when the count drops to 0 with need_resched set): the model
 * yields there so that the scheduler may preempt.
 */
import type { KGen } from '../scheduler/types.js';
import type { ModelCpu } from '../modelcpu/cpu.js';
import { DONE, point } from '../scheduler/point.js';

export function preempt_disable(cpu: ModelCpu): void {
  cpu.preemptCount++;
}

/** preempt_enable(): drops the count; at 0 this is a preemption point. */
export function preempt_enable(cpu: ModelCpu): KGen<void> {
  if (cpu.preemptCount <= 0) throw new Error(`cpu${cpu.index}: preempt_enable() with preempt_count ${cpu.preemptCount}`);
  return --cpu.preemptCount === 0 ? point('preempt_enable') : DONE;
}

/** sched_preempt_enable_no_resched() / preempt_enable_no_resched(). */
export function preempt_enable_no_resched(cpu: ModelCpu): void {
  if (cpu.preemptCount <= 0) throw new Error(`cpu${cpu.index}: preempt_enable_no_resched() with preempt_count ${cpu.preemptCount}`);
  cpu.preemptCount--;
}

export function local_irq_disable(cpu: ModelCpu): void {
  cpu.IF = false;
}

export function local_irq_enable(cpu: ModelCpu): void {
  cpu.IF = true;
}

/** local_irq_save(): returns the previous IF. */
export function local_irq_save(cpu: ModelCpu): boolean {
  const f = cpu.IF;
  cpu.IF = false;
  return f;
}

export function local_irq_restore(cpu: ModelCpu, flags: boolean): void {
  cpu.IF = flags;
}
