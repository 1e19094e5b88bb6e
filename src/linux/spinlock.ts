/**
 * Spinlocks (include/linux/spinlock.h). Without PREEMPT_RT spin_lock() disables preemption and
 * busy-waits; with PREEMPT_RT a spinlock_t is a sleeping rt_mutex that leaves preemption enabled
 * (the model keeps the busy-wait but not the preempt_disable; raw_spin_lock always disables
 * preemption). Each contended iteration is an interleaving point labelled SPIN.
 */
import { SPIN, type KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { local_irq_disable, local_irq_enable, preempt_disable, preempt_enable } from './preempt.js';
import type { SpinLock } from './structs.js';
import { DONE, mustYield, point } from '../scheduler/point.js';

/**
 * Takes the lock; a plain function for what the caller delegates to (`yield* spin_lock(...)`): a
 * free lock is taken at once (DONE), a held one in `spin()`.
 */
function acquire(cpu: LinuxCpu, lock: SpinLock): KGen<void> {
  // With PREEMPT_RT the holder may be a preempted task of the same CPU: the waiter blocks.
  if (lock.owner === cpu.index && lock.holder === cpu.curr) throw new Error(`cpu${cpu.index}: recursive spin_lock(${lock.name})`);
  if (lock.owner >= 0) return spin(cpu, lock);
  lock.owner = cpu.index;
  lock.holder = cpu.curr;
  return DONE;
}

function* spin(cpu: LinuxCpu, lock: SpinLock): KGen<void> {
  while (lock.owner >= 0) if (mustYield(SPIN)) yield SPIN;
  lock.owner = cpu.index;
  lock.holder = cpu.curr;
}

export function spin_lock(k: Kernel, cpu: LinuxCpu, lock: SpinLock): KGen<void> {
  if (k.config.preempt !== 'rt') preempt_disable(cpu);
  return acquire(cpu, lock);
}

/** spin_trylock(): takes the lock if it is free (true; preemption disabled as by spin_lock()), else false at once. */
export function spin_trylock(k: Kernel, cpu: LinuxCpu, lock: SpinLock): boolean {
  if (lock.owner >= 0) return false;
  if (k.config.preempt !== 'rt') preempt_disable(cpu);
  lock.owner = cpu.index;
  lock.holder = cpu.curr;
  return true;
}

/** spin_unlock(): a preemption point (preempt_enable(); with PREEMPT_RT, rt_spin_unlock()). */
export function spin_unlock(k: Kernel, cpu: LinuxCpu, lock: SpinLock): KGen<void> {
  lock.owner = -1;
  lock.holder = null;
  return k.config.preempt !== 'rt' ? preempt_enable(cpu) : point('rt_spin_unlock');
}

export function raw_spin_lock_irq(cpu: LinuxCpu, lock: SpinLock): KGen<void> {
  local_irq_disable(cpu);
  preempt_disable(cpu);
  return acquire(cpu, lock);
}

export function raw_spin_unlock_irq(cpu: LinuxCpu, lock: SpinLock): void {
  lock.owner = -1;
  lock.holder = null;
  local_irq_enable(cpu);
  cpu.preemptCount--;
}
