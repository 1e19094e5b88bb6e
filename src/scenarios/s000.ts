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
 * The unmap is a munmap() (unmap_region() -> unmap_vmas() -> zap_pte_range()): in this model,
 * as in Linux 3.8's arch/x86/xen/mmu.c, xen_exit_mmap() (arch_exit_mmap(), run first by
 * exit_mmap()) switches the exiting CPU to swapper_pg_dir before unmap_vmas(), so the exit path
 * itself cannot take this vmalloc fault here; see docs/xen-model.md.
 */
import type { Kernel } from '../linux/kernel.js';
import { attach_mem_cgroup, mem_cgroup_create } from '../linux/memcg.js';
import { do_munmap } from '../linux/munmap.js';
import { VM_EXEC, VM_READ, VM_WRITE } from '../linux/structs.js';
import { spawnProcess, user_access } from '../linux/user.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import { registerScenario, type Scenario } from './registry.js';
import '../presets/xen.js';

const CODE = 0x0040_0000n;
const DATA = 0x0060_0000n;
const PAGES = 4;

function setup000(k: Kernel) {
  const httpd = spawnProcess(k, {
    comm: 'httpd', cpu: 1 % k.cpus.length,
    vmas: [
      { vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC },
      { vm_start: DATA, vm_end: DATA + 0x10000n, vm_flags: VM_READ | VM_WRITE },
    ],
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      yield* user_access(cpu, CODE, 'exec');
      for (let i = 0; i < PAGES; i++) yield* user_access(cpu, DATA + BigInt(i) * 4096n, 'write');
      t.fnStack.push('sys_munmap');
      yield* do_munmap(k, cpu, t.mm!, DATA, 0x10000n);
      t.fnStack.pop();
    },
  });
  // mem_cgroup_create() after httpd's pgd_alloc(): the per-cpu stats get a new pgd slot in init_mm.
  const memcg = k.runSync(mem_cgroup_create(k, k.cpus[0], 'httpd'));
  attach_mem_cgroup(k, httpd.mm!, memcg);
  return { strategy: new ScriptedStrategy([]), maxSteps: 20_000 };
}

const what = 'zap_pte_range() in lazy MMU mode uncharges pages from a memory cgroup whose per-cpu statistics live in vmalloc space that the process pgd lacks; vmalloc_fault() syncs the pgd entry with set_pgd()';

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

registerScenario(scenario000);
registerScenario(scenario000native);
