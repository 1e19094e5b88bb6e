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
 * - XSA-241 (CVE-2017-15588): thread A (CPU 0) takes a vmalloc'ed page's last writable mapping
 *   away (the vmap pte, then its direct-map alias: make_lowmem_page_readonly) in order to pin it as
 *   an L1 table. Xen drops the last PGT_writable_page reference in _put_page_type(): it reads
 *   tlbflush_clock, and before the fix stores page->tlbflush_timestamp with interrupts on. In that
 *   window thread B (CPU 1) asks Xen to flush every vCPU's TLB (the clock ticks; CPU 0 services the
 *   flush IPI), makes the vmap pte writable again (type count 1 -> 2), writes the page (CPU 1's TLB
 *   caches a writable entry) and makes it read-only again (2 -> 1; Xen does not flush: the guest's
 *   business). A resumes: the stamp stored is the time read before B's flush, and the count word is
 *   what it was, so the cmpxchg drops it to 0. A pins the page: the flush filter sees CPU 1 flushed
 *   after the stamp and skips it; the page is a validated L1 table that CPU 1 can still write.
 */
import { vmalloc } from '../linux/vmalloc.js';
import type { Kernel } from '../linux/kernel.js';
import {
  HYPERVISOR_mmu_update,
  kernel_entry_of,
  xen_clear_entry_bits,
  xen_set_entry_bits,
  xen_set_linear_entry,
  xen_tlb_flush_all,
} from '../linux/xen/hypercall.js';
import { pin_pagetable_pfn, set_lowmem_page_rw } from '../linux/xen/pin.js';
import { watchXenTypeChanges } from '../linux/xen/state.js';
import { MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE, MMUEXT_UNPIN_TABLE } from '../xen/hypercalls.js';
import { LBL_XEN_STAMP_IRQ } from '../xen/mm.js';
import { hwAccess } from '../modelcpu/access.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import { actionCode, SLOT_STEP, SPIN, type KGen } from '../scheduler/types.js';
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

function setupXsa241(k: Kernel) {
  // The audit's check at every page-table type change (the fuzzer's outcome oracle makes the same).
  watchXenTypeChanges(k);
  const st = { pfn: -1, va: 0n, pte: -1, armed: false, readonly: false, done: false };
  const cpu0 = k.cpus[0];
  k.createTask('xsa241_a', 0, null, function* (t) {
    const cpu = k.cpus[t.cpu];
    yield* traced(t, 'xsa241_pin', function* () {
      st.va = yield* vmalloc(k, cpu, 4096);
      const pte = kernel_entry_of(k, st.va, 1);
      if (pte === null) throw new Error('xsa241: no pte for the vmalloc area');
      st.pte = pte;
      st.pfn = Number((k.m.phys.read64n(pte) >> 12n) & 0xff_ffff_ffffn);
      yield* xen_clear_entry_bits(k, cpu, pte, _PAGE_RW); // the vmap alias read-only
      st.armed = true;
      yield* set_lowmem_page_rw(k, cpu, st.pfn, false); // make_lowmem_page_readonly(): the last writable mapping
      st.readonly = true;
      while (!st.done) yield SPIN;
      yield* pin_pagetable_pfn(k, cpu, MMUEXT_PIN_L1_TABLE, st.pfn);
    });
  });
  k.createTask('xsa241_b', 1, null, function* (t) {
    const cpu = k.cpus[t.cpu];
    yield* traced(t, 'xsa241_window', function* () {
      while (!st.armed || (cpu0.label() !== LBL_XEN_STAMP_IRQ && !st.readonly)) yield SPIN;
      yield* xen_tlb_flush_all(k, cpu); // MMUEXT_TLB_FLUSH_ALL: the clock ticks, CPU 0 flushes
      yield* xen_set_entry_bits(k, cpu, st.pte, _PAGE_RW); // PGT_writable_page count 1 -> 2
      yield* hwAccess(cpu, st.va, 'write', 0); // CPU 1's TLB: a writable entry for the frame
      yield* xen_clear_entry_bits(k, cpu, st.pte, _PAGE_RW); // 2 -> 1, no flush
      st.done = true;
    });
  });
  // While CPU 0 is inside Xen's interrupt window, run B to its end.
  const rule = () => (st.armed && cpu0.label() === LBL_XEN_STAMP_IRQ && !st.done ? actionCode(1, SLOT_STEP) : undefined);
  return { strategy: new ScriptedStrategy([rule]), maxSteps: 20_000 };
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
  setup: setupXsa240,
};

export const scenarioXsa241: Scenario = {
  name: 'xsa241-stale-tlbflush-stamp',
  seed: 'XSA-241',
  description:
    "Xen PV (XSA-241, CVE-2017-15588): a guest kernel makes a vmalloc'ed page read-only everywhere to pin it as an L1 table. Before the fix Xen reads tlbflush_clock for the page's stamp and stores it with interrupts on; meanwhile another vCPU flushes every TLB, maps the page writable again, writes it and unmaps it. The stamp is older than that CPU's flush, so the pin's flush filter skips it: the page becomes a validated L1 table the other CPU can still write through its TLB (Xen prints nothing; the audit reports it). After the fix the stamp is read and stored with interrupts off; the pin flushes CPU 1.",
  presets: { buggy: 'xen-4.9.0-pv', fixed: 'xen-4.9.1-pv' },
  // The fuzzer's outcome oracle sees the same stale entry at the same type change, first.
  alsoReports: [{ sanitizer: 'tlb-coherence', signature: "stale TLB entry on another CPU after Xen's page-table type change" }],
  setup: setupXsa241,
};

registerScenario(scenarioXsa148);
registerScenario(scenarioXsa182);
registerScenario(scenarioXsa240);
registerScenario(scenarioXsa241);
