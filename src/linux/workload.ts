/**
 * An ordinary workload: processes on every CPU that fetch code and read/write data pages
 * (demand faults), occasionally sleep and wake each other (voluntary context switches), exit at
 * the end (exit_mm/exit_mmap/TLB flushes), a kernel thread that vmalloc()s and vfree()s (new
 * kernel mappings) and then purges the lazily freed areas as set_memory_*() does
 * (vm_unmap_aliases(): a remote flush by IPI), and timer IRQs and perf NMIs whose handler touches
 * per-cpu memory in vmalloc space. Deterministic from `seed`. Used by the long clean-run test and
 * as a fuzzer baseline.
 */
import { Prng } from '../scheduler/prng.js';
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { schedule_blocked, wake_up_process } from './sched.js';
import { VM_EXEC, VM_READ, VM_WRITE, type TaskStruct } from './structs.js';
import { spawnKthread, spawnProcess, this_cpu_inc, user_access } from './user.js';
import { alloc_percpu, vfree, vmalloc } from './vmalloc.js';
import { vm_unmap_aliases } from './vmap.js';
import { hwAccess } from '../modelcpu/access.js';
import { enterFn } from '../scheduler/traced.js';

export interface WorkloadOptions {
  seed: number;
  /** Processes per CPU (default 2). */
  perCpu?: number;
  /** Loop iterations per process (default 200). */
  iterations?: number;
  /** Data pages per process (default 8). */
  pages?: number;
  /** Timer IRQ and perf NMI deliveries allowed (default 50 each). */
  interrupts?: number;
}

const CODE = 0x0040_0000n;
const DATA = 0x0100_0000n;

/** Sets up the workload on a freshly booted kernel. */
export function spawnOrdinaryWorkload(k: Kernel, opts: WorkloadOptions): TaskStruct[] {
  const rng = new Prng(opts.seed);
  const perCpu = opts.perCpu ?? 2;
  const iterations = opts.iterations ?? 200;
  const pages = opts.pages ?? 8;
  const tasks: TaskStruct[] = [];
  const vmas = [
    { vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC },
    { vm_start: DATA, vm_end: DATA + BigInt(pages) * 4096n, vm_flags: VM_READ | VM_WRITE },
  ];
  for (let c = 0; c < k.cpus.length; c++) {
    for (let p = 0; p < perCpu; p++) {
      const pattern = Array.from({ length: iterations }, () => rng.nextU32());
      const t = spawnProcess(k, {
        comm: `proc${c}.${p}`,
        cpu: c,
        vmas,
        body: function* (self) {
          const cpu = k.cpus[self.cpu];
          for (let i = 0; i < iterations; i++) {
            const r = pattern[i];
            yield* user_access(cpu, CODE + BigInt(r & 3) * 4096n, 'exec');
            yield* user_access(cpu, DATA + BigInt((r >>> 2) % pages) * 4096n, r & 0x10 ? 'write' : 'read');
            if ((r & 0x3e0) === 0) {
              // Wake a sibling and sleep briefly if someone else will wake us.
              for (const o of k.cpus[self.cpu].tasks) if (o !== self) wake_up_process(o);
              // Sleep only if a live sibling process will wake us (wakers wake everyone).
              // (a sibling already in do_exit() has done its final wake-ups).
              if (k.cpus[self.cpu].tasks.some((o) => o !== self && o.state !== 'dead' && !o.exiting && !o.kthread)) yield* schedule_blocked(k, cpu);
            }
          }
          for (const o of k.cpus[self.cpu].tasks) wake_up_process(o);
        },
      });
      tasks.push(t);
    }
  }
  const counter = k.runSync(alloc_percpu(k, k.cpus[0], 64));
  const n = opts.interrupts ?? 50;
  k.addInterruptSource({ name: 'timer', kind: 'irq', remaining: n, handler: () => timerTick() });
  k.addInterruptSource({ name: 'perf-nmi', kind: 'nmi', remaining: n, handler: (c) => perfNmi(k, c as LinuxCpu, counter) });
  tasks.push(
    spawnKthread(k, 'kworker/0:1', 0, function* (self) {
      const cpu = k.cpus[self.cpu];
      for (let i = 0; i < 4; i++) {
        const a = yield* vmalloc(k, cpu, 2 * 4096);
        yield* hwAccess(cpu, a, 'write', 0);
        yield* vfree(k, cpu, a);
      }
      yield* vm_unmap_aliases(k, cpu);
    }),
  );
  return tasks;
}

function* timerTick(): KGen<void> {
  // tick_handle_periodic(): nothing the memory model needs beyond the interrupt itself.
}

function* perfNmi(k: Kernel, cpu: LinuxCpu, counter: { base: bigint; unit: number }): KGen<void> {
  const fns = enterFn(cpu, 'perf_event_nmi_handler');
  try {
    yield* this_cpu_inc(k, cpu, counter);
  } finally {
    fns.pop();
  }
}
