/**
 * Historical Xen PV bugs (docs/historical-bugs.md). Each scenario is a guest kernel thread doing
 * what the advisory says a malicious PV kernel does, with HYPERVISOR_mmu_update on its own
 * (init_mm's) page tables; before the fix Xen accepts an entry it must refuse and prints nothing,
 * so the finding is the PV safety audit's (src/xen/audit.ts): what the guest gained. After the fix
 * Xen refuses the request with its usual log line and the guest goes on.
 *
 * - XSA-148 (CVE-2015-7835): set _PAGE_PSE on the L2 entry above a vmalloc'ed page. The entry's
 *   frame is an L1 page table; mod_l2_entry()'s fast path sees the same frame, still present,
 *   and stores it: a writable 2 MiB superpage over the L1 table and the frames after it.
 * - XSA-182 (CVE-2016-6258): install a read-only linear entry in swapper_pg_dir pointing to
 *   swapper_pg_dir itself (allowed: Xen's linear page tables), then set _PAGE_RW on it. The fast
 *   path compares only the frame and presence: the guest has a writable view of its page tables.
 */
import { vmalloc } from '../linux/vmalloc.js';
import type { Kernel } from '../linux/kernel.js';
import { kernel_entry_of, xen_set_entry_bits, xen_set_linear_entry } from '../linux/xen/hypercall.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import type { KGen } from '../scheduler/types.js';
import { traced } from '../scheduler/traced.js';
import type { LinuxCpu } from '../linux/percpu.js';
import { registerScenario, type Scenario } from './registry.js';
import '../presets/xen.js';

const _PAGE_RW = 0x2n;
const _PAGE_PSE = 0x80n;

/** A guest kernel thread on CPU 0 running `body` inside the named function (the "module"). */
function pocThread(k: Kernel, comm: string, fn: string, body: (cpu: LinuxCpu) => KGen<void>) {
  k.createTask(comm, 0, null, function* (t) {
    const cpu = k.cpus[t.cpu];
    yield* traced(t, fn, () => body(cpu));
  });
  return { strategy: new ScriptedStrategy([]), maxSteps: 20_000 };
}

function setupXsa148(k: Kernel) {
  return pocThread(k, 'xsa148', 'xsa148_init', function* (cpu) {
    const va = yield* vmalloc(k, cpu, 4096);
    const pmdp = kernel_entry_of(k, va, 2);
    if (pmdp === null) throw new Error('xsa148: no pmd above the vmalloc area');
    yield* xen_set_entry_bits(k, cpu, pmdp, _PAGE_PSE);
  });
}

function setupXsa182(k: Kernel) {
  return pocThread(k, 'xsa182', 'xsa182_init', function* (cpu) {
    const va = yield* vmalloc(k, cpu, 4096);
    const lin = yield* xen_set_linear_entry(k, cpu, va, va, 4);
    if (!lin || lin.rc !== 0) throw new Error('xsa182: Xen refused the read-only linear L4 entry');
    yield* xen_set_entry_bits(k, cpu, lin.pa, _PAGE_RW);
  });
}

export const scenarioXsa148: Scenario = {
  name: 'xsa148-l2-superpage-fastpath',
  seed: 'XSA-148',
  description:
    'Xen PV (XSA-148, CVE-2015-7835): a guest kernel sets PSE on the L2 entry above a vmalloc\'ed page with HYPERVISOR_mmu_update. Before the fix mod_l2_entry()\'s fast path (same frame, still present) stores it without validation: a writable 2 MiB superpage over the L1 page table; Xen prints nothing, the audit reports what the guest gained. After the fix: "Bad L2 flags 80".',
  presets: { buggy: 'xen-4.6.0-pv', fixed: 'xen-4.6.1-pv' },
  setup: setupXsa148,
};

export const scenarioXsa182: Scenario = {
  name: 'xsa182-linear-pt-fastpath',
  seed: 'XSA-182',
  description:
    'Xen PV (XSA-182, CVE-2016-6258): a guest kernel installs a read-only linear entry in swapper_pg_dir pointing to itself, then sets _PAGE_RW on it. Before the fix the fast path of mod_l4_entry() (same frame, still present) stores it without validation: writable access to the guest\'s own page tables; Xen prints nothing, the audit reports what the guest gained. After the fix: "Attempt to create linear p.t. with write perms".',
  presets: { buggy: 'xen-4.7.0-pv', fixed: 'xen-4.7.1-pv' },
  setup: setupXsa182,
};

registerScenario(scenarioXsa148);
registerScenario(scenarioXsa182);
