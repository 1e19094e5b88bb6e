/**
 * The execution model shared by the scheduler, the modelled CPUs and the kernel models.
 *
 * Kernel code is written as generator functions. Every `yield` is an interleaving point: there
 * the scheduler may run another CPU, deliver an interrupt, an NMI or an IPI, or preempt the task.
 * The yielded value is a label naming the point (a constant string, so that yielding allocates
 * nothing), e.g. `'__native_flush_tlb:after_read_cr3'`. Nested calls use `yield*`.
 */

import type { ModelCpu } from '../modelcpu/cpu.js';

/** A label naming an interleaving point. */
export type YieldLabel = string;

/** A piece of kernel code: a generator that yields at its interleaving points and returns `T`. */
export type KGen<T = void> = Generator<YieldLabel, T, undefined>;

/** Label yielded by busy-wait loops (PCT demotes a spinning CPU, random walks are unaffected). */
export const SPIN: YieldLabel = 'spin';

/**
 * A thread of execution: a task's kernel stack or an interrupt frame. `stack` holds the
 * generators started on this thread that have not yet returned (the innermost on top); most
 * code nests with `yield*` inside one generator, and the scheduler pushes a new generator when
 * it injects code (a preemption into a task). `fnStack` is the call chain of model functions,
 * maintained by the functions that matter for reports (innermost last).
 */
export interface ExecThread {
  stack: KGen<unknown>[];
  fnStack: string[];
  /** Label of the last interleaving point this thread stopped at. */
  lastLabel: YieldLabel;
}

/** Slots of an action code: `code = cpu * ACTION_SLOTS + slot`. */
export const ACTION_SLOTS = 64;
/** Run one step of the CPU's current thread (the top interrupt frame, else the current task). */
export const SLOT_STEP = 0;
/** Preempt the current task (as on return from the timer interrupt with need_resched set). */
export const SLOT_PREEMPT = 1;
/** Deliver the oldest pending IPI. */
export const SLOT_IPI = 2;
/** Slots >= SLOT_SOURCE0 deliver interrupt source number `slot - SLOT_SOURCE0`. */
export const SLOT_SOURCE0 = 3;

/** Action code for a CPU and a slot. */
export function actionCode(cpu: number, slot: number): number {
  return cpu * ACTION_SLOTS + slot;
}
/** CPU of an action code. */
export function actionCpu(code: number): number {
  return (code / ACTION_SLOTS) | 0;
}
/** Slot of an action code. */
export function actionSlot(code: number): number {
  return code % ACTION_SLOTS;
}

/** Human-readable name of an action code, for traces and reports. */
export function describeAction(code: number, sourceNames: readonly string[] = []): string {
  const cpu = actionCpu(code);
  const slot = actionSlot(code);
  if (slot === SLOT_STEP) return `step cpu${cpu}`;
  if (slot === SLOT_PREEMPT) return `preempt cpu${cpu}`;
  if (slot === SLOT_IPI) return `ipi cpu${cpu}`;
  const s = slot - SLOT_SOURCE0;
  return `${sourceNames[s] ?? `source${s}`} cpu${cpu}`;
}

/** An interrupt that may be delivered (an IRQ line or an NMI source such as perf). */
export interface InterruptSource {
  readonly name: string;
  readonly kind: 'irq' | 'nmi';
  /** CPUs it may be delivered to; all when undefined. */
  readonly cpus?: readonly number[];
  /** Deliveries left (decremented on each delivery). */
  remaining: number;
  /** The handler; runs in a new interrupt frame on `cpu`. */
  handler(cpu: ModelCpu): KGen<void>;
}
