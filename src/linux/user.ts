/**
 * Processes and what they do, for scenarios and the fuzzer: spawn a process with its own mm and
 * vmas, user-mode accesses (CPL 3, through the CPU's TLB and CR3, faults handled by
 * do_page_fault()), and kernel accesses to vmalloc/per-cpu memory.
 */
import { hwAccess } from '../modelcpu/access.js';
import type { AccessKind } from '../core/types.js';
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import { mm_alloc } from './mm.js';
import type { LinuxCpu } from './percpu.js';
import { newVma, type TaskBody, type TaskStruct, type VmAreaStruct } from './structs.js';
import { per_cpu_ptr, type PerCpuPtr } from './vmalloc.js';
import { mustYield } from '../scheduler/point.js';

/** Label of a user-mode instruction boundary (preemptible under every preemption model). */
export const LBL_USER = 'user';

export interface ProcessSpec {
  comm: string;
  cpu: number;
  vmas: VmAreaStruct[];
  body: TaskBody;
  /** Not part of the workload (the run may end while it still runs). */
  daemon?: boolean;
  /** Start blocked (TASK_INTERRUPTIBLE) until wake_up_process(). */
  blocked?: boolean;
}

/**
 * Creates a process at setup time: mm_alloc() (pgd_alloc copying the kernel part of
 * swapper_pg_dir as it is now), the vmas, and a runnable task pinned to `spec.cpu`.
 */
export function spawnProcess(k: Kernel, spec: ProcessSpec): TaskStruct {
  const cpu = k.cpus[spec.cpu];
  if (!cpu) throw new Error(`process '${spec.comm}': no CPU ${spec.cpu}`);
  const mm = k.runSync(mm_alloc(k, cpu, spec.comm));
  for (const v of spec.vmas) mm.vmas.push(newVma(v));
  const t = k.createTask(spec.comm, spec.cpu, mm, spec.body, spec.daemon);
  if (spec.blocked) t.state = 'blocked';
  return t;
}

/** Creates a kernel thread (mm == NULL: it borrows active_mm) at setup time. */
export function spawnKthread(k: Kernel, comm: string, cpuIndex: number, body: TaskBody, daemon = false): TaskStruct {
  return k.createTask(comm, cpuIndex, null, body, daemon);
}

/**
 * One user-mode access by the current task, then an instruction boundary where the task runs in
 * user mode (interrupts, preemption), labelled `label`. Returns the physical address accessed.
 */
export function* user_access(cpu: LinuxCpu, va: bigint, kind: AccessKind, label: string = LBL_USER): KGen<bigint> {
  const pa = yield* hwAccess(cpu, va, kind, 3);
  const t = cpu.curr;
  t.userMode = true;
  if (mustYield(label)) yield label;
  t.userMode = false;
  return pa;
}

/** this_cpu_inc(*ptr) on a u64 counter in dynamic per-cpu memory (a kernel access). */
export function* this_cpu_inc(k: Kernel, cpu: LinuxCpu, ptr: PerCpuPtr): KGen<void> {
  const pa = yield* hwAccess(cpu, per_cpu_ptr(ptr, cpu.index), 'write', 0);
  k.m.phys.write64n(Number(pa), k.m.phys.read64n(Number(pa)) + 1n);
}

/** A kernel read of a u64 at a kernel virtual address (e.g. vmalloc memory). */
export function* kernel_read64(k: Kernel, cpu: LinuxCpu, va: bigint): KGen<bigint> {
  const pa = yield* hwAccess(cpu, va, 'read', 0);
  return k.m.phys.read64n(Number(pa));
}
