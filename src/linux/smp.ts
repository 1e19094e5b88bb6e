/**
 * Cross-CPU function calls (kernel/smp.c): smp_call_function_many() queues a call on each target
 * CPU and sends an IPI; with `wait` the caller busy-waits (csd_lock_wait) until every target has
 * run it. The IPI is delivered only while the target has IRQs enabled. on_each_cpu() also runs
 * the function locally with IRQs off.
 */
import { SPIN, type KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { local_irq_restore, local_irq_save, preempt_disable, preempt_enable } from './preempt.js';
import { enterFn } from '../scheduler/traced.js';
import { mustYield } from '../scheduler/point.js';

/** A function run on a CPU by an IPI. */
export type SmpCallFunc = (k: Kernel, cpu: LinuxCpu) => KGen<void>;

/** smp_call_function_many(mask, func, info, wait=1) from `cpu` (mask excludes `cpu`). */
export function* smp_call_function_many(k: Kernel, cpu: LinuxCpu, mask: number, name: string, func: SmpCallFunc): KGen<void> {
  const wait = { pending: 0 };
  for (const c of k.cpus) {
    if (c === cpu || !(mask & (1 << c.index))) continue;
    wait.pending++;
    c.pendingIpis.push({ name: `call_function(${name})`, handler: () => call_function_ipi(k, c, name, func, wait) });
  }
  while (wait.pending > 0) if (mustYield(SPIN)) yield SPIN; // csd_lock_wait()
}

/**
 * The IPI handler of a call: `func` on `c`, then one call fewer for the sender to wait for. One
 * generator function for every call (see `traced` in src/scheduler/traced.ts for why the model
 * creates no generator function per call).
 */
function* call_function_ipi(k: Kernel, c: LinuxCpu, name: string, func: SmpCallFunc, wait: { pending: number }): KGen<void> {
  const fns = enterFn(c, name);
  try {
    yield* func(k, c);
  } finally {
    fns.pop();
  }
  wait.pending--;
}

/** on_each_cpu(func, info, wait=1). */
export function* on_each_cpu(k: Kernel, cpu: LinuxCpu, name: string, func: SmpCallFunc): KGen<void> {
  preempt_disable(cpu);
  let all = 0;
  for (const c of k.cpus) all |= 1 << c.index;
  yield* smp_call_function_many(k, cpu, all & ~(1 << cpu.index), name, func);
  const flags = local_irq_save(cpu);
  yield* func(k, cpu);
  local_irq_restore(cpu, flags);
  yield* preempt_enable(cpu);
}

/** smp_call_function(func, info, wait=1) (kernel/smp.c): every other online CPU, with preemption off. */
export function* smp_call_function(k: Kernel, cpu: LinuxCpu, name: string, func: SmpCallFunc): KGen<void> {
  preempt_disable(cpu);
  let all = 0;
  for (const c of k.cpus) all |= 1 << c.index;
  yield* smp_call_function_many(k, cpu, all & ~(1 << cpu.index), name, func);
  yield* preempt_enable(cpu);
}
