/**
 * Seed 004 (004_55101baa4c0a53b2.txt): "Re: frequent lockups in 3.18rc4" — vmalloc_fault() must
 * sync the pgd in CR3, not current->active_mm's.
 *
 * 64-bit SMP. Process "next" is created before a per-cpu perf buffer is allocated in vmalloc
 * space (a new pgd slot in init_mm), process "prev" after it: next's pgd lacks the entry. On
 * CPU 0, prev wakes next and sleeps; context_switch() loads next's pgd (switch_mm) and, before
 * switch_to() changes `current`, a perf NMI arrives whose handler increments its per-cpu counter.
 * - Up to 4.7 (3.18 included: the rewrite posted in the seed was not merged), vmalloc_fault()
 *   warns (WARN_ON_ONCE(in_nmi())), syncs current->active_mm — prev's pgd, which is fine — and
 *   returns 0; the access faults again, forever, in NMI context: hard lockup.
 * - 4.8 syncs the pgd in CR3 ((pgd_t *)__va(read_cr3()) + pgd_index(address)): the same warning,
 *   then the access succeeds. The seed's patch also copied only the top-level entry; the merged
 *   change kept the lower-level checks, and so does the model.
 * Variants '004-pae' (PAE: the kernel pmd is shared, no vmalloc fault at all) and '004-32bit'
 * (32-bit non-PAE: vmalloc_sync_one() on read_cr3() syncs the right pgd in every release)
 * run the same program.
 */
import { PagewalkError } from '../core/errors.js';
import type { Kernel } from '../linux/kernel.js';
import { LBL_AFTER_SWITCH_MM, schedule_blocked, wake_up_process } from '../linux/sched.js';
import { VM_EXEC, VM_READ, VM_WRITE, type TaskStruct } from '../linux/structs.js';
import { spawnProcess, this_cpu_inc, user_access } from '../linux/user.js';
import { alloc_percpu, type PerCpuPtr } from '../linux/vmalloc.js';
import type { LinuxCpu } from '../linux/percpu.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import { actionCode, SLOT_SOURCE0 } from '../scheduler/types.js';
import { registerScenario, type Scenario } from './registry.js';
import { traced } from '../scheduler/traced.js';

const CODE = 0x0040_0000n;
const DATA = 0x0060_0000n;
const USER_VMAS = [
  { vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC },
  { vm_start: DATA, vm_end: DATA + 0x10000n, vm_flags: VM_READ | VM_WRITE },
];

function* touch(cpu: LinuxCpu, n: number) {
  for (let i = 0; i < n; i++) {
    yield* user_access(cpu, CODE, 'exec');
    yield* user_access(cpu, DATA + BigInt(i % 4) * 4096n, 'write');
  }
}

/** The perf NMI handler: this_cpu_inc() on a per-cpu counter in vmalloc space. */
function perfNmi(k: Kernel, counter: PerCpuPtr) {
  return function* (c: unknown) {
    const cpu = c as LinuxCpu;
    yield* traced(cpu, 'perf_event_nmi_handler', () => this_cpu_inc(k, cpu, counter));
  };
}

function setup004(k: Kernel) {
  const tasks: { prev?: TaskStruct; next?: TaskStruct } = {};
  tasks.next = spawnProcess(k, {
    comm: 'next',
    cpu: 0,
    vmas: USER_VMAS,
    blocked: true,
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      yield* touch(cpu, 3);
      wake_up_process(tasks.prev!);
    },
  });
  // After next's pgd_alloc: the per-cpu chunk creates a new pgd entry in init_mm only.
  const counter = k.runSync(alloc_percpu(k, k.cpus[0], 64));
  tasks.prev = spawnProcess(k, {
    comm: 'prev',
    cpu: 0,
    vmas: USER_VMAS,
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      yield* touch(cpu, 3);
      wake_up_process(tasks.next!);
      yield* schedule_blocked(k, cpu); // sleep: context_switch(prev -> next)
      yield* touch(cpu, 1);
    },
  });
  if (k.cpus.length > 1) {
    spawnProcess(k, { comm: 'worker', cpu: 1, vmas: USER_VMAS, body: (t) => touch(k.cpus[t.cpu], 6) });
  }
  const src = k.addInterruptSource({ name: 'perf-nmi', kind: 'nmi', cpus: [0], remaining: 1, handler: perfNmi(k, counter) });
  if (src < 0) throw new PagewalkError('EINVAL_ARG', `scenario needs platform NMIs (perf), but preset ${k.config.preset} sets platform_nmi=false`);
  const cpu0 = k.cpus[0];
  const nmi = actionCode(0, SLOT_SOURCE0 + src);
  // The NMI lands in context_switch(prev -> next) after switch_mm(), before switch_to().
  const rule = () => (cpu0.curr === tasks.prev && cpu0.label() === LBL_AFTER_SWITCH_MM && cpu0.frames.length === 0 ? nmi : undefined);
  return { strategy: new ScriptedStrategy([rule]), maxSteps: 20_000 };
}

const base = 'an NMI inside context_switch() after the CR3 load and before `current` changes touches per-cpu memory in vmalloc space that the next pgd lacks';

export const scenario004: Scenario = {
  name: '004-vmalloc-fault-nmi',
  seed: '004_55101baa4c0a53b2.txt',
  description: `x86_64 SMP: ${base}. Up to 4.7 (3.18 included) vmalloc_fault() syncs current->active_mm (the previous task's pgd), returns 0 and the access faults forever in the NMI (hard lockup); 4.8 syncs the pgd in CR3.`,
  presets: { buggy: 'linux-3.18-smp', fixed: 'linux-4.8-smp' },
  // The same current->active_mm, read after context_switch() stored NULL there (kernel-thread prev).
  alsoReports: [{ sanitizer: 'oops', signature: 'BUG: unable to handle kernel NULL pointer dereference in vmalloc_fault' }],
  setup: setup004,
};

export const scenario004pae: Scenario = {
  name: '004-vmalloc-fault-nmi-pae',
  seed: '004_55101baa4c0a53b2.txt',
  description: `x86-32 PAE SMP, the same program: ${base} — but with PAE the kernel pmd is shared by every pgd, so no vmalloc fault is ever taken (3.18 and 4.8 both clean).`,
  presets: { buggy: 'linux-3.18-smp-pae', fixed: 'linux-4.8-smp-pae' },
  setup: setup004,
};

export const scenario004x32: Scenario = {
  name: '004-vmalloc-fault-nmi-32bit',
  seed: '004_55101baa4c0a53b2.txt',
  description: `x86-32 non-PAE SMP, the same program: ${base}. The 32-bit vmalloc_fault() always used read_cr3() ("Do _not_ use current here"), so it syncs the right pgd in 3.18 and 4.8 alike (clean, with the in_nmi() WARNING).`,
  presets: { buggy: 'linux-3.18-smp-32bit', fixed: 'linux-4.8-smp-32bit' },
  setup: setup004,
};

registerScenario(scenario004);
registerScenario(scenario004pae);
registerScenario(scenario004x32);
