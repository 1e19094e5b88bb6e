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
 * - XSA-240 (CVE-2017-15595): pin a row of empty L2 tables, link each to the next with a
 *   read-only linear entry (allowed), unpin all but the first (each is now held only by the link
 *   before it), then unpin the first. Xen de-types the chain in one recursion per table; with
 *   enough tables its primary stack overflows into the guard page and Xen dies of a double fault
 *   (src/xen/stack.ts). After the fix a table that holds a linear entry cannot be used as a linear
 *   table: every second link is refused and the teardown stays one level deep.
 */
import { vmalloc } from '../linux/vmalloc.js';
import type { Kernel } from '../linux/kernel.js';
import { HYPERVISOR_mmu_update, kernel_entry_of, xen_set_entry_bits, xen_set_linear_entry } from '../linux/xen/hypercall.js';
import { pin_pagetable_pfn, set_lowmem_page_rw } from '../linux/xen/pin.js';
import { MMUEXT_PIN_L2_TABLE, MMUEXT_UNPIN_TABLE } from '../xen/hypercalls.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import type { KGen } from '../scheduler/types.js';
import { traced } from '../scheduler/traced.js';
import type { LinuxCpu } from '../linux/percpu.js';
import { registerScenario, type Scenario } from './registry.js';
import '../presets/xen.js';

const _PAGE_PRESENT = 0x1n;
const _PAGE_RW = 0x2n;
const _PAGE_ACCESSED = 0x20n;
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

/**
 * Tables in the XSA-240 chain: more than the 38 that overflow Xen 4.9.0's primary stack on the
 * measured build (src/xen/stack.ts: 208 bytes of frames per L2 table torn down).
 */
const XSA240_TABLES = 48;

function setupXsa240(k: Kernel) {
  return pocThread(k, 'xsa240', 'xsa240_init', function* (cpu) {
    const t: number[] = [];
    for (let i = 0; i < XSA240_TABLES; i++) {
      const pfn = k.allocPageTable(2) / 4096;
      yield* set_lowmem_page_rw(k, cpu, pfn, false); // make_lowmem_page_readonly()
      yield* pin_pagetable_pfn(k, cpu, MMUEXT_PIN_L2_TABLE, pfn);
      t.push(pfn);
    }
    // Entry 0 of each table: a read-only linear entry to the next (a refused one is ignored).
    for (let i = 0; i + 1 < t.length; i++) yield* HYPERVISOR_mmu_update(k, cpu, t[i] * 4096, (BigInt(t[i + 1]) << 12n) | _PAGE_PRESENT | _PAGE_ACCESSED);
    for (let i = t.length - 1; i >= 0; i--) yield* pin_pagetable_pfn(k, cpu, MMUEXT_UNPIN_TABLE, t[i]);
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

export const scenarioXsa240: Scenario = {
  name: 'xsa240-linear-pt-recursion',
  seed: 'XSA-240',
  description:
    "Xen PV (XSA-240, CVE-2017-15595): a guest kernel pins 48 empty L2 tables, links each to the next with a read-only linear entry and unpins them from the last to the first. Before the fix the last unpin de-types the whole chain in one recursion (__put_page_type -> free_page_type -> put_page_from_l2e -> ...), 208 bytes of stack per table: Xen's 8 KiB primary stack overflows and it panics with a DOUBLE FAULT. After the fix every second link is refused (linear_pt_count) and the teardown stays shallow.",
  presets: { buggy: 'xen-4.9.0-pv', fixed: 'xen-4.9.1-pv' },
  notBlind:
    'the crash needs 38 or more stacked L2 tables (208 bytes of Xen stack each on the measured build), each pinned, linked to the next and unpinned in order: over a hundred operations in one exact sequence (docs/historical-bugs.md).',
  setup: setupXsa240,
};

registerScenario(scenarioXsa148);
registerScenario(scenarioXsa182);
registerScenario(scenarioXsa240);
