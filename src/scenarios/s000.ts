/**
 * Seed 000 (000_e3947c68dc09f949.txt): "x86, mm, paravirt: Fix vmalloc_fault oops during lazy MMU
 * updates" (3.9).
 *
 * x86_64 SMP Xen PV guest. Process "httpd" is created before its memory cgroup, whose per-cpu
 * statistics are allocated in vmalloc space in a new pgd slot of init_mm: httpd's pgd lacks that
 * entry. httpd faults some anonymous memory in, then unmaps it: zap_pte_range() enters lazy MMU
 * mode and, for each page, page_remove_rmap() -> mem_cgroup_uncharge_page() ->
 * mem_cgroup_charge_statistics() stores to the per-cpu counter, which page-faults into
 * vmalloc_fault(). It copies the pgd entry with set_pgd():
 * - Xen PV before 3.9: set_pgd() on a pinned pgd is an mmu_update queued in the lazy-mode
 *   multicall batch; the pgd in RAM is still empty, pud_offset() reads through it and the pud
 *   check fails: "kernel BUG at arch/x86/mm/fault.c:396!" with vmalloc_fault in the call chain.
 * - 3.9 (arch_flush_lazy_mmu_mode() after set_pgd()): the batch is issued at once: clean.
 * - Native (000-vmalloc-fault-lazy-mmu-native), even before 3.9: set_pgd() is a plain store: clean.
 *
 * Two paths to the same BUG:
 * - 000-vmalloc-fault-lazy-mmu: the unmap is a munmap() (unmap_region() -> unmap_vmas() ->
 *   zap_pte_range()) with the process pgd loaded.
 * - 000-vmalloc-fault-lazy-mmu-exit: the seed's own path, an exit (do_exit -> exit_mm -> mmput ->
 *   exit_mmap -> unmap_vmas). In Linux 3.8 exit_mmap() (mm/mmap.c) first calls arch_exit_mmap()
 *   -> xen_exit_mmap() -> xen_drop_mm_ref() (arch/x86/xen/mmu.c): current->active_mm is the dying
 *   mm and current->mm is NULL (exit_mm(), kernel/exit.c), so leave_mm() loads swapper_pg_dir,
 *   which has every vmalloc pgd entry: the zap faults nothing at first. But zap_pmd_range()
 *   (mm/memory.c) calls cond_resched() after each page table. If httpd is switched out there,
 *   context_switch() (kernel/sched/core.c) loads the next process's pgd (switch_mm), and when that
 *   process sleeps and httpd is switched back in, httpd has no mm: it borrows the previous task's
 *   mm as active_mm (lazy TLB), keeping its pinned pgd in CR3. The next zap_pte_range() enters
 *   lazy MMU mode again (arch_enter_lazy_mmu_mode()), the memcg statistics store faults through
 *   the borrowed pgd, which lacks the new vmalloc entry, and vmalloc_fault() queues the set_pgd()
 *   on that pinned pgd: fault.c:396 as in the seed's oops (Pid 10866, comm httpd, exit_group).
 */
import type { Kernel } from '../linux/kernel.js';
import { attach_mem_cgroup, mem_cgroup_create } from '../linux/memcg.js';
import { do_munmap } from '../linux/mmap.js';
import { VM_EXEC, VM_READ, VM_WRITE } from '../linux/structs.js';
import { spawnProcess, user_access } from '../linux/user.js';
import { LBL_COND_RESCHED, schedule_blocked } from '../linux/sched.js';
import type { TaskStruct } from '../linux/structs.js';
import { ScriptedStrategy, type SchedView } from '../scheduler/strategy.js';
import { actionCode, SLOT_PREEMPT } from '../scheduler/types.js';
import { registerScenario, type Scenario } from './registry.js';
import '../presets/xen.js';
import { traced } from '../scheduler/traced.js';
import { do_exit } from '../linux/exit.js';

const CODE = 0x0040_0000n;
const DATA = 0x0060_0000n;
const PAGES = 4;

function setup000(k: Kernel) {
  const httpd = spawnProcess(k, {
    comm: 'httpd',
    cpu: 1 % k.cpus.length,
    vmas: [
      { vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC },
      { vm_start: DATA, vm_end: DATA + 0x10000n, vm_flags: VM_READ | VM_WRITE },
    ],
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      yield* user_access(cpu, CODE, 'exec');
      for (let i = 0; i < PAGES; i++) yield* user_access(cpu, DATA + BigInt(i) * 4096n, 'write');
      yield* traced(t, 'sys_munmap', () => do_munmap(k, cpu, t.mm!, DATA, 0x10000n));
    },
  });
  // mem_cgroup_create() after httpd's pgd_alloc(): the per-cpu stats get a new pgd slot in init_mm.
  const memcg = k.runSync(mem_cgroup_create(k, k.cpus[0], 'httpd'));
  attach_mem_cgroup(k, httpd.mm!, memcg);
  return { strategy: new ScriptedStrategy([]), maxSteps: 20_000 };
}

/**
 * The exit path: httpd touches its code and data (two page tables: 0x400000 and 0x600000 are in
 * different 2 MiB pmd spans) and exits. Another httpd process on the same CPU (created, like httpd,
 * before the memory cgroup) waits to run; it touches its memory and goes to sleep (a worker
 * blocking in a syscall).
 */
function setup000exit(k: Kernel) {
  const c = 1 % k.cpus.length;
  const vmas = [
    { vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC },
    { vm_start: DATA, vm_end: DATA + 0x10000n, vm_flags: VM_READ | VM_WRITE },
  ];
  const httpd = spawnProcess(k, {
    comm: 'httpd',
    cpu: c,
    vmas,
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      yield* user_access(cpu, CODE, 'exec');
      for (let i = 0; i < PAGES; i++) yield* user_access(cpu, DATA + BigInt(i) * 4096n, 'write');
      // exit_group(): do_exit() never returns.
      yield* traced(t, 'system_call_fastpath', () => traced(t, 'sys_exit_group', () => traced(t, 'do_group_exit', () => do_exit(k, cpu, 0))));
    },
  });
  const worker = spawnProcess(k, {
    comm: 'httpd',
    cpu: c,
    vmas,
    daemon: true,
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      yield* user_access(cpu, CODE, 'exec');
      yield* user_access(cpu, DATA, 'write');
      yield* schedule_blocked(k, cpu); // sleeps for the rest of the run
    },
  });
  const memcg = k.runSync(mem_cgroup_create(k, k.cpus[0], 'httpd'));
  attach_mem_cgroup(k, httpd.mm!, memcg);
  attach_mem_cgroup(k, worker.mm!, memcg);
  return { strategy: rescheduleExitOnce(k, httpd), maxSteps: 20_000 };
}

/** need_resched at the first cond_resched() of the exiting task (in zap_pmd_range()): switch it out once. */
function rescheduleExitOnce(k: Kernel, exiting: TaskStruct): ScriptedStrategy {
  const preempt = actionCode(exiting.cpu, SLOT_PREEMPT);
  let done = false;
  const rule = (_v: SchedView, acts: Int32Array, n: number): number | undefined => {
    if (done || k.cpus[exiting.cpu].curr !== exiting || !exiting.exiting || exiting.lastLabel !== LBL_COND_RESCHED) return undefined;
    if (!Array.prototype.includes.call(acts.subarray(0, n), preempt)) return undefined;
    done = true;
    return preempt;
  };
  return new ScriptedStrategy([rule]);
}

const what =
  'zap_pte_range() in lazy MMU mode uncharges pages from a memory cgroup whose per-cpu statistics live in vmalloc space that the process pgd lacks; vmalloc_fault() syncs the pgd entry with set_pgd()';

export const scenario000: Scenario = {
  name: '000-vmalloc-fault-lazy-mmu',
  seed: '000_e3947c68dc09f949.txt',
  description: `x86_64 Xen PV: ${what}, which Xen PV queues in the multicall batch: before 3.9 the pud check reads the still-empty pgd entry and BUG()s (fault.c:396); 3.9 flushes the batch after set_pgd().`,
  presets: { buggy: 'linux-3.8-xen-pv', fixed: 'linux-3.9-xen-pv' },
  setup: setup000,
};

export const scenario000native: Scenario = {
  name: '000-vmalloc-fault-lazy-mmu-native',
  seed: '000_e3947c68dc09f949.txt',
  description: `x86_64 native, the same program: ${what}, a plain store natively, so both 3.8 and 3.9 run clean.`,
  presets: { buggy: 'linux-3.8-smp', fixed: 'linux-3.9-smp' },
  setup: setup000,
};

const whatExit =
  "an exiting httpd is switched out at cond_resched() in zap_pmd_range(), another process runs and sleeps, and httpd, switched back in with no mm, borrows that process's mm (pinned pgd in CR3) for the rest of unmap_vmas(); zap_pte_range() in lazy MMU mode uncharges pages from a memory cgroup whose per-cpu statistics live in vmalloc space the borrowed pgd lacks, and vmalloc_fault() syncs current->active_mm's pgd entry with set_pgd()";

export const scenario000exit: Scenario = {
  name: '000-vmalloc-fault-lazy-mmu-exit',
  seed: '000_e3947c68dc09f949.txt',
  description: `x86_64 Xen PV, the seed's exit path: ${whatExit}, queued in the multicall batch: before 3.9 the pud check reads the still-empty entry and BUG()s (fault.c:396) under do_exit -> exit_mm -> mmput -> exit_mmap; 3.9 flushes the batch after set_pgd().`,
  presets: { buggy: 'linux-3.8-xen-pv', fixed: 'linux-3.9-xen-pv' },
  setup: setup000exit,
};

export const scenario000exitNative: Scenario = {
  name: '000-vmalloc-fault-lazy-mmu-exit-native',
  seed: '000_e3947c68dc09f949.txt',
  description: `x86_64 native, the same exit program: ${whatExit}, a plain store natively, so both 3.8 and 3.9 run clean.`,
  presets: { buggy: 'linux-3.8-smp', fixed: 'linux-3.9-smp' },
  setup: setup000exit,
};

registerScenario(scenario000);
registerScenario(scenario000native);
registerScenario(scenario000exit);
registerScenario(scenario000exitNative);
