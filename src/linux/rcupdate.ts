/**
 * RCU-sched callbacks, enough for HAVE_RCU_TABLE_FREE: call_rcu_sched(head, func) runs `func`
 * after a grace period, i.e. once every CPU has passed a quiescent state after the call
 * (Documentation/RCU/whatisRCU.txt; kernel/rcutree.c). For RCU-sched any region with
 * preemption or interrupts disabled is a read-side critical section, so a CPU is quiescent
 * only when it runs with IRQs on, preempt_count 0 and no interrupt frame. An `rcu_sched`
 * kernel thread (one per kernel, created on demand on the CPU that queued the first callback)
 * samples the CPUs at each of its steps, and invokes the callbacks whose grace period is over;
 * it exits when none are left (and is recreated by the next call_rcu_sched).
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import type { TaskStruct } from './structs.js';
import { defineKernelState } from './kstate.js';
import { enterFn } from '../scheduler/traced.js';
import { mustYield } from '../scheduler/point.js';

/** An RCU callback: a model function run by the rcu_sched thread. */
export type RcuCallback = (k: Kernel, cpu: LinuxCpu) => void;

interface Pending {
  name: string;
  fn: RcuCallback;
  /** CPUs that still owe a quiescent state. */
  need: Set<number>;
}

interface RcuState {
  pending: Pending[];
  thread: TaskStruct | null;
  /** Grace periods completed. */
  completed: number;
}

const rstate = defineKernelState((): RcuState => ({ pending: [], thread: null, completed: 0 }));

/** A CPU in a quiescent state for RCU-sched right now. */
export function rcu_sched_quiescent(cpu: LinuxCpu): boolean {
  return cpu.IF && cpu.preemptCount === 0 && cpu.frames.length === 0;
}

/** call_rcu_sched(head, func). */
export function call_rcu_sched(k: Kernel, cpu: LinuxCpu, name: string, fn: RcuCallback): void {
  const st = rstate(k);
  const p: Pending = { name, fn, need: new Set(k.cpus.map((c) => c.index)) };
  st.pending.push(p);
  k.observers.rcuQueued?.(cpu, p);
  if (!st.thread || st.thread.state === 'dead') st.thread = k.createTask('rcu_sched', cpu.index, null, (t) => rcu_gp_kthread(k, t));
}

function* rcu_gp_kthread(k: Kernel, t: TaskStruct): KGen<void> {
  const st = rstate(k);
  const cpu = k.cpus[t.cpu];
  while (st.pending.length > 0) {
    let over = false; // some grace period is over (without one, nothing to split: no arrays per poll)
    for (const p of st.pending) {
      for (const c of k.cpus) if (p.need.has(c.index) && rcu_sched_quiescent(c)) p.need.delete(c.index);
      if (p.need.size === 0) over = true;
    }
    if (over) {
      const done = st.pending.filter((p) => p.need.size === 0);
      st.pending = st.pending.filter((p) => p.need.size > 0);
      for (const p of done) {
        st.completed++;
        k.observers.rcuInvoke?.(cpu, p, p.name);
        const fns = enterFn(t, 'rcu_process_callbacks');
        try {
          fns.push(p.name);
          try {
            p.fn(k, cpu); // a plain function: nothing here yields
          } finally {
            fns.pop();
          }
        } finally {
          fns.pop();
        }
      }
    }
    if (mustYield('rcu_gp_kthread')) yield 'rcu_gp_kthread';
  }
  // Returns into do_exit() (task_entry()).
}

/** Callbacks still waiting for their grace period. */
export function rcu_pending(k: Kernel): number {
  return rstate(k).pending.length;
}

/** Grace periods completed (callbacks invoked). */
export function rcu_completed(k: Kernel): number {
  return rstate(k).completed;
}
