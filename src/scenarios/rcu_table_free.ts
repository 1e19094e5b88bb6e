/**
 * RCU table freeing without invalidating the paging-structure caches (docs/historical-bugs.md;
 * fixed in 4.19 by "mm/tlb, x86/mm: Support invalidating TLB caches for RCU_TABLE_FREE").
 *
 * One process, two threads, a Hyper-V-like kernel (HAVE_RCU_TABLE_FREE). Thread "toucher" on
 * CPU 1 writes the first page of a data area: CPU 1's paging-structure caches now hold the pgd,
 * pud and pmd entries above it, the last pointing to the area's pte page. Thread "unmapper" on
 * CPU 0 sets /proc/thread-self/fail-nth to 1 and munmap()s the area: zap_pte_range(), then
 * free_pgtables() -> free_pte_range(): pmd_clear(), pte_free_tlb() -> tlb_remove_table(), whose
 * GFP_NOWAIT batch page allocation is the injected failure -> tlb_remove_table_one():
 * smp_call_function() (an IPI, no flush), then the pte page is freed, before tlb_finish_mmu()'s
 * flush. The forced schedule then lets the toucher read the area's second page, which is in no
 * TLB: CPU 1's walk starts at its cached pmd entry and reads the freed pte page.
 * - 4.17: the walk reads a free frame (page-table use-after-free by the hardware walker);
 * - 4.19: tlb_table_invalidate() flushed every CPU's TLB and paging-structure caches first; the
 *   walk starts at CR3, finds the pmd entry clear and faults; the area is gone: SIGSEGV, clean.
 */
import type { Kernel } from '../linux/kernel.js';
import { vm_munmap } from '../linux/mmap.js';
import { proc_fail_nth_write } from '../linux/page_alloc.js';
import { pmd_offset, pmd_pgtable, pud_offset, pgd_offset } from '../linux/pgtable.js';
import { watchHardwareWalks } from '../linux/pt_sanitizers.js';
import { VM_EXEC, VM_READ, VM_WRITE } from '../linux/structs.js';
import { spawnProcess, user_access } from '../linux/user.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import { traced } from '../scheduler/traced.js';
import { actionCode, SLOT_STEP } from '../scheduler/types.js';
import { registerScenario, type Scenario } from './registry.js';
import '../presets/xen.js';

const CODE = 0x0040_0000n;
/** Alone in its pgd slot (index 1): munmap() frees its pte, pmd and pud pages. */
const DATA = 0x0080_0000_0000n;
const PAGES = 2;

function setupRcuTableFree(k: Kernel) {
  watchHardwareWalks(k);
  const st = { touched: false, ptePage: -1, done: false };
  const toucher = spawnProcess(k, {
    comm: 'toucher',
    cpu: 1,
    vmas: [
      { vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC },
      { vm_start: DATA, vm_end: DATA + BigInt(PAGES * 4096), vm_flags: VM_READ | VM_WRITE },
    ],
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      yield* user_access(cpu, CODE, 'exec');
      yield* user_access(cpu, DATA, 'write');
      const pmdp = pmd_offset(k, pud_offset(k, pgd_offset(k, t.mm!, DATA), DATA), DATA);
      st.ptePage = pmd_pgtable(k, pmdp) / 4096;
      st.touched = true;
      while (!k.m.frames.isFree(st.ptePage)) yield* user_access(cpu, CODE, 'exec');
      yield* user_access(cpu, DATA + 4096n, 'read');
      st.done = true;
    },
  });
  // The second thread (clone(CLONE_VM)): same mm, one more user.
  const mm = toucher.mm!;
  mm.mm_users++;
  mm.mm_count++;
  k.createTask('unmapper', 0, mm, function* (t) {
    const cpu = k.cpus[t.cpu];
    yield* user_access(cpu, CODE, 'exec');
    while (!st.touched) yield* user_access(cpu, CODE, 'exec');
    proc_fail_nth_write(t, 1); // write(open("/proc/thread-self/fail-nth"), "1")
    yield* traced(t, 'sys_munmap', () => vm_munmap(k, cpu, mm, DATA, BigInt(PAGES * 4096)));
  });
  // Once the pte page is free, run the toucher until it has read the second page.
  const rule = () => (st.ptePage >= 0 && !st.done && k.m.frames.isFree(st.ptePage) ? actionCode(1, SLOT_STEP) : undefined);
  return { strategy: new ScriptedStrategy([rule]), maxSteps: 50_000 };
}

export const scenarioRcuTableFree: Scenario = {
  name: 'rcu-table-free-no-invalidate',
  seed: 'RCU_TABLE_FREE',
  description:
    "x86_64 with a Hyper-V-like flush_tlb_others() and HAVE_RCU_TABLE_FREE: a thread munmap()s an area while another thread's CPU caches the pmd entry above it, and tlb_remove_table()'s batch page allocation fails (fault injection: fail-nth). 4.17: tlb_remove_table_one() frees the pte page after an IPI but before any TLB flush, and the other CPU's walk reads the freed page through its paging-structure cache. 4.19: tlb_table_invalidate() flushes first; the walk faults (SIGSEGV), clean.",
  presets: { buggy: 'linux-4.17-hyperv', fixed: 'linux-4.19-hyperv' },
  alsoReports: [
    { sanitizer: 'frame-lifetime', signature: 'use-after-free: hardware walk through a free page table in user mode' },
    // the same free judged when it happens: the other CPU's paging-structure cache still reaches the table
    {
      sanitizer: 'frame-lifetime',
      signature: "use-after-free: page table freed while another CPU's paging-structure cache reaches it in tlb_remove_table_one",
    },
    // and when the freed table is reallocated before the stale walk (the fuzzer finds this face too)
    { sanitizer: 'frame-lifetime', signature: 'use-after-free: hardware walk through a paging-structure-cache entry to a reallocated table in user mode' },
  ],
  setup: setupRcuTableFree,
};

registerScenario(scenarioRcuTableFree);
