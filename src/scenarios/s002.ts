/**
 * Seed 002 (002_ed8e8150ae450866.txt): "x86/mm: Enable RCU based page table freeing
 * (CONFIG_HAVE_RCU_TABLE_FREE=y)" (4.14).
 *
 * SMP, one process with two threads. Thread "reader" on CPU 0 faults in a data area, then pins it
 * with get_user_pages_fast() (a lockless walk with IRQs off); thread "unmapper" on CPU 1 munmap()s
 * the area: zap_pte_range(), free_pgtables() (the pte/pmd/pud pages go to the mmu_gather),
 * tlb_finish_mmu(): the remote TLB flush, then the frees. The forced schedule stops the reader
 * inside GUP-fast just after it read the pmd entry (the pointer to the pte page) and runs the
 * unmapper:
 * - native: flush_tlb_others() is an IPI that waits for CPU 0 to enable interrupts, i.e. for
 *   GUP-fast to finish: the pte page is freed only afterwards: clean;
 * - Xen PV / Hyper-V-like: the flush is a hypercall that does not wait: the pte page is freed
 *   while the reader still walks it: page-table use-after-free;
 * - HAVE_RCU_TABLE_FREE: the tables are freed after an RCU-sched grace period, which CPU 0's
 *   IRQ-off region holds back: clean.
 */
import { get_user_pages_fast, LBL_GUP_PTE } from '../linux/gup.js';
import type { Kernel } from '../linux/kernel.js';
import { do_munmap } from '../linux/mmap.js';
import { VM_EXEC, VM_READ, VM_WRITE, type TaskStruct } from '../linux/structs.js';
import { spawnProcess, user_access } from '../linux/user.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import { actionCode, SLOT_STEP, SPIN } from '../scheduler/types.js';
import { registerScenario, type Scenario } from './registry.js';
import '../presets/xen.js';
import { traced } from '../scheduler/traced.js';

const CODE = 0x0040_0000n;
/** Alone in its pgd slot (index 1), so that munmap() frees its pte, pmd and pud pages. */
const DATA = 0x0080_0000_0000n;
const PAGES = 8;

function setup002(k: Kernel) {
  const st = { populated: false, unmapper: null as TaskStruct | null };
  const reader = spawnProcess(k, {
    comm: 'reader',
    cpu: 0,
    vmas: [
      { vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC },
      { vm_start: DATA, vm_end: DATA + BigInt(PAGES * 4096), vm_flags: VM_READ | VM_WRITE },
    ],
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      yield* user_access(cpu, CODE, 'exec');
      for (let i = 0; i < PAGES; i++) yield* user_access(cpu, DATA + BigInt(i) * 4096n, 'write');
      st.populated = true;
      yield* traced(t, 'sys_read(O_DIRECT)', () => get_user_pages_fast(k, cpu, t.mm!, DATA, PAGES, true));
    },
  });
  // The second thread (clone(CLONE_VM)): same mm, one more user.
  const mm = reader.mm!;
  mm.mm_users++;
  mm.mm_count++;
  st.unmapper = k.createTask('unmapper', 1, mm, function* (t) {
    const cpu = k.cpus[t.cpu];
    yield* user_access(cpu, CODE, 'exec');
    while (!st.populated) yield* user_access(cpu, CODE, 'exec');
    yield* traced(t, 'sys_munmap', () => do_munmap(k, cpu, mm, DATA, BigInt(PAGES * 4096)));
  });
  const cpu0 = k.cpus[0];
  const cpu1 = k.cpus[1];
  // Once the reader stopped inside GUP-fast at the pte level, run the unmapper until it is done
  // or waits (for an IPI acknowledgement, or for a grace period).
  const rule = () => {
    const u = st.unmapper!;
    if (cpu0.curr !== reader || cpu0.label() !== LBL_GUP_PTE) return undefined;
    if (u.state === 'dead' || cpu1.label() === SPIN) return undefined;
    return actionCode(1, SLOT_STEP);
  };
  return { strategy: new ScriptedStrategy([rule]), maxSteps: 50_000 };
}

const what = 'a thread walks its page tables in get_user_pages_fast() with IRQs off while another thread munmap()s the area and frees the page tables';

export const scenario002: Scenario = {
  name: '002-gup-fast-pt-free',
  seed: '002_ed8e8150ae450866.txt',
  description: `x86_64 Xen PV: ${what}. flush_tlb_others() is a hypercall that does not wait for the walker: with tlb_remove_page() the pte page is freed under it (page-table use-after-free); HAVE_RCU_TABLE_FREE defers the free past an RCU-sched grace period.`,
  presets: { buggy: 'linux-4.13-xen-pv', fixed: 'linux-4.14-xen-pv' },
  setup: setup002,
};

export const scenario002native: Scenario = {
  name: '002-gup-fast-pt-free-native',
  seed: '002_ed8e8150ae450866.txt',
  description: `x86_64 native: ${what}. The remote flush is an IPI that waits until the walker re-enables interrupts, so both tlb_remove_page() (4.13) and RCU table freeing (4.14) are clean.`,
  presets: { buggy: 'linux-4.13-smp', fixed: 'linux-4.14-smp' },
  setup: setup002,
};

export const scenario002hyperv: Scenario = {
  name: '002-gup-fast-pt-free-hyperv',
  seed: '002_ed8e8150ae450866.txt',
  description: `x86_64 with a Hyper-V-like flush_tlb_others() hypercall: ${what}: use-after-free with tlb_remove_page(), clean with HAVE_RCU_TABLE_FREE.`,
  presets: { buggy: 'linux-4.13-hyperv', fixed: 'linux-4.14-hyperv' },
  setup: setup002,
};

registerScenario(scenario002);
registerScenario(scenario002native);
registerScenario(scenario002hyperv);
