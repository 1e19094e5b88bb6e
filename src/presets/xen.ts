/**
 * Presets of the Xen PV model and of the seeds 000-002 (docs/xen-model.md), and the Xen PV knobs.
 * Plain data: the paravirt backends they name are registered by the Linux model's composition
 * root (src/linux/backends.ts).
 */
import { registerKnob } from './knobs.js';
import { registerPreset } from './registry.js';

registerKnob({
  name: 'xen_domid',
  type: 'int',
  min: 0,
  max: 0x7fef,
  default: 1,
  group: 'xen',
  description: 'Xen PV: domain id of the guest, printed as d<id> in the hypervisor log.',
});
registerKnob({
  name: 'xen_p2m',
  type: 'enum',
  values: ['identity', 'shuffled'],
  default: 'identity',
  group: 'xen',
  description: "Xen PV: guest pfn -> machine frame map; 'shuffled' permutes it (seeded by xen_p2m_seed) so mfn != pfn in logs.",
});
registerKnob({
  name: 'xen_foreign_frames',
  type: 'int',
  min: 0,
  max: 64,
  default: 2,
  group: 'xen',
  description:
    "Xen PV: machine frames allocated to another domain (d0), taken from the top of RAM: the guest's allocator never hands them out and its direct map does not map them, but a malicious guest kernel can still name them in the entries it writes, which get_page() must refuse (the guest does not own them).",
});
registerKnob({ name: 'xen_p2m_seed', type: 'int', min: 0, max: 0xffffffff, default: 1, group: 'xen', description: 'Xen PV: seed of the shuffled p2m.' });
registerKnob({
  name: 'xen_xsa148',
  type: 'enum',
  values: ['fixed', 'vulnerable'],
  default: 'fixed',
  group: 'xen',
  description:
    "Xen PV: XSA-148 (CVE-2015-7835, commit fe360c90ea, Xen 4.6.1): 'vulnerable' = L2_DISALLOW_MASK lets _PAGE_PSE through and mod_l2_entry()'s fast path compares only the frame and presence, so setting PSE on an existing L2 entry makes an unvalidated 2 MiB superpage (Xen 3.4 .. 4.6.0). 'fixed' (default) = the fix, also in the seeds' Xen 4.1 as a backport.",
});
registerKnob({
  name: 'xen_xsa182',
  type: 'enum',
  values: ['fixed', 'vulnerable'],
  default: 'fixed',
  group: 'xen',
  description:
    "Xen PV: XSA-182 (CVE-2016-6258, commit e1bff4c2ea, Xen 4.7.1): 'vulnerable' = the fast paths of mod_l2/l3/l4_entry() compare only the frame and _PAGE_PRESENT (mod_l1_entry(): also _PAGE_RW), so a read-only linear page-table entry is made writable unvalidated (Xen .. 4.7.0). 'fixed' (default) = every bit but FASTPATH_FLAG_WHITELIST forces re-validation; also in the seeds' Xen 4.1 as a backport.",
});
registerKnob({
  name: 'xen_xsa240',
  type: 'enum',
  values: ['fixed', 'vulnerable'],
  default: 'fixed',
  group: 'xen',
  description:
    "Xen PV: XSA-240 (CVE-2017-15595, commit 6987fc7558, Xen 4.10.0 / 4.9.1): 'vulnerable' = linear page tables may be stacked: a table with same-level entries may itself be used as a linear table, so a guest builds chains whose teardown recurses once per table until Xen's stack overflows (Xen .. 4.9.0). 'fixed' (default) = linear_pt_count limits linear page tables to a single level; also in the seeds' Xen 4.1 as a backport.",
});
registerKnob({
  name: 'xen_xsa241',
  type: 'enum',
  values: ['fixed', 'vulnerable'],
  default: 'fixed',
  group: 'xen',
  description:
    "Xen PV: XSA-241 (CVE-2017-15588, commit 23a183607a, Xen 4.10.0 / 4.9.1): 'vulnerable' = page->tlbflush_timestamp is stored with interrupts enabled after tlbflush_clock was read, so another CPU's flush may come in between and the frame is stamped older than that flush; a later type change skips the CPU's flush (Xen .. 4.9.0). 'fixed' (default) = the read and the store with interrupts disabled; also in the seeds' Xen 4.1 as a backport.",
});

registerPreset({
  name: 'linux-3.8-xen-pv',
  base: 'linux-3.8-smp',
  description:
    'Linux 3.8 x86_64 SMP as a Xen PV guest (Xen 4.1, no platform NMIs): set_pgd() in vmalloc_fault() is queued by lazy MMU mode and not flushed (seed 000, before the fix).',
  knobs: { version: '3.8.0', paravirt: 'xen-pv', vmalloc_fault: 'active_mm', platform_nmi: false },
});
registerPreset({
  name: 'linux-3.9-xen-pv',
  base: 'linux-3.8-xen-pv',
  description:
    'linux-3.8-xen-pv with "x86, mm, paravirt: Fix vmalloc_fault oops during lazy MMU updates" (arch_flush_lazy_mmu_mode() after set_pgd(), 3.9; seed 000 fix). ' +
    "Also carries seed 002's later fix (HAVE_RCU_TABLE_FREE, 4.14) as a backport, so that a campaign on it tests seed 000's fix alone; " +
    "'--set have_rcu_table_free=false' gives the 3.9 release, in which the fuzzer finds seed 002's GUP-fast use-after-free. The backport includes 4.19's tlb_table_invalidate() and its removal of tlb_remove_table()'s single-user shortcut.",
  knobs: { version: '3.9.0', vmalloc_fault: 'active_mm+flush', have_rcu_table_free: true, tlb_table_invalidate: true, tlb_remove_table_single_user: false },
});
registerPreset({
  name: 'linux-2.6.37-rc4-xen-pv',
  description:
    'Linux 2.6.37-rc4 x86_64 SMP as a Xen PV guest (domain 80, Xen 4.1, no platform NMIs): vm_unmap_ram() leaves the ptes until the lazy purge (seed 001, before the fix).',
  knobs: {
    version: '2.6.37-rc4',
    paging: '4level',
    smp: true,
    cpus: 2,
    preempt: 'voluntary',
    paravirt: 'xen-pv',
    vmalloc_fault: 'active_mm',
    vmalloc_sync_all: true,
    vunmap_clear_ptes: 'lazy-purge',
    xen_domid: 80,
    platform_nmi: false,
  },
});
registerPreset({
  name: 'linux-2.6.37-xen-pv',
  base: 'linux-2.6.37-rc4-xen-pv',
  description:
    'Linux 2.6.37 as a Xen PV guest: "vmalloc: eagerly clear ptes on vunmap" (64141da5; seed 001 fix) — ptes cleared at once, the TLB flushed lazily. ' +
    "Also carries the later fixes of seeds 000 (vmalloc_fault=active_mm+flush, 3.9, a stable fix) and 002 (HAVE_RCU_TABLE_FREE, 4.14) as backports, so that a campaign on it tests seed 001's fix alone; " +
    "'--set vmalloc_fault=active_mm --set have_rcu_table_free=false' gives the 2.6.37 release, in which the fuzzer finds both. The backport includes 4.19's tlb_table_invalidate() and its removal of tlb_remove_table()'s single-user shortcut.",
  knobs: {
    version: '2.6.37',
    vunmap_clear_ptes: 'eager',
    vmalloc_fault: 'active_mm+flush',
    have_rcu_table_free: true,
    tlb_table_invalidate: true,
    tlb_remove_table_single_user: false,
  },
});
registerPreset({
  name: 'linux-4.13-smp',
  description: 'Linux 4.13 x86_64 SMP, native: remote TLB flush by IPI, page tables freed with tlb_remove_page() (no HAVE_RCU_TABLE_FREE).',
  knobs: {
    version: '4.13.0',
    paging: '4level',
    smp: true,
    cpus: 2,
    preempt: 'preempt',
    paravirt: 'native',
    vmalloc_fault: 'read_cr3',
    have_rcu_table_free: false,
  },
});
registerPreset({
  name: 'linux-4.14-smp',
  base: 'linux-4.13-smp',
  description:
    "Linux 4.14 x86_64 SMP, native, with HAVE_RCU_TABLE_FREE (commit 9e52fc2b50de). As a fixed preset it carries the later tlb_table_invalidate() fix and the removal of tlb_remove_table()'s single-user shortcut (both 4.19) as backports; '--set tlb_table_invalidate=false --set tlb_remove_table_single_user=true' gives 4.14.0.",
  knobs: { version: '4.14.0', have_rcu_table_free: true, tlb_table_invalidate: true, tlb_remove_table_single_user: false },
});
registerPreset({
  name: 'linux-4.13-xen-pv',
  base: 'linux-4.13-smp',
  description:
    'Linux 4.13 as a Xen PV guest (Xen 4.1, no platform NMIs): flush_tlb_others() is a hypercall (no IPI) and page tables are freed with tlb_remove_page() (seed 002, before the fix).',
  knobs: { paravirt: 'xen-pv', platform_nmi: false },
});
registerPreset({
  name: 'linux-4.14-xen-pv',
  base: 'linux-4.13-xen-pv',
  description:
    "linux-4.13-xen-pv with HAVE_RCU_TABLE_FREE: page tables freed after an RCU-sched grace period (seed 002 fix). Carries the later tlb_table_invalidate() fix and the removal of tlb_remove_table()'s single-user shortcut (both 4.19) as backports; '--set tlb_table_invalidate=false --set tlb_remove_table_single_user=true' gives 4.14.0.",
  knobs: { version: '4.14.0', have_rcu_table_free: true, tlb_table_invalidate: true, tlb_remove_table_single_user: false },
});
registerPreset({
  name: 'linux-4.13-hyperv',
  base: 'linux-4.13-smp',
  description: 'Linux 4.13 with a Hyper-V-like flush_tlb_others() hypercall and tlb_remove_page() (seed 002, before the fix).',
  knobs: { paravirt: 'hyperv-flush' },
});
registerPreset({
  name: 'linux-4.14-hyperv',
  base: 'linux-4.13-hyperv',
  description:
    "linux-4.13-hyperv with HAVE_RCU_TABLE_FREE. Carries the later tlb_table_invalidate() fix and the removal of tlb_remove_table()'s single-user shortcut (both 4.19) as backports; '--set tlb_table_invalidate=false --set tlb_remove_table_single_user=true' gives 4.14.0.",
  knobs: { version: '4.14.0', have_rcu_table_free: true, tlb_table_invalidate: true, tlb_remove_table_single_user: false },
});
// RCU table freeing without a TLB invalidate (docs/historical-bugs.md): 4.14-4.18 free a page
// table in tlb_remove_table_one() (batch page allocation failed) with no flush; 4.19 flushes first.
registerPreset({
  name: 'linux-4.17-hyperv',
  base: 'linux-4.14-hyperv',
  description:
    'Linux 4.17 with the Hyper-V flush_tlb_others() hypercall and HAVE_RCU_TABLE_FREE (selected unconditionally on x86, 4.14-4.18): when tlb_remove_table() cannot allocate its batch page, tlb_remove_table_one() frees the page table without invalidating the paging-structure caches (before "mm/tlb, x86/mm: Support invalidating TLB caches for RCU_TABLE_FREE").',
  knobs: { version: '4.17.0', tlb_remove_table_single_user: true, tlb_table_invalidate: false },
});
registerPreset({
  name: 'linux-4.19-hyperv',
  base: 'linux-4.17-hyperv',
  description:
    'Linux 4.19 with the Hyper-V flush_tlb_others() hypercall, which also sets pv_mmu_ops.tlb_remove_table = tlb_remove_table (HAVE_RCU_TABLE_FREE if PARAVIRT): tlb_table_invalidate() flushes before tables are freed, and tlb_remove_table() no longer frees at once for a single-user mm.',
  knobs: { version: '4.19.0', tlb_remove_table_single_user: false, tlb_table_invalidate: true },
});

// ---- Historical Xen bugs (docs/historical-bugs.md): the model's Xen 4.1 mm.c with one later
// security fix left out, under a Linux 4.14 PV guest (none of the seed bugs). A buggy preset has
// only its own bug; its fixed preset adds that fix; each later one keeps the earlier fixes.
registerPreset({
  name: 'xen-4.6.0-pv',
  base: 'linux-4.14-xen-pv',
  description:
    "Xen 4.6.0 (XSA-148, CVE-2015-7835): PSE is not in L2_DISALLOW_MASK and mod_l2_entry()'s fast path compares only the frame and presence, so a PV guest turns an L2 entry into an unvalidated writable 2 MiB superpage. " +
    'Also, as in 4.6.0, without the later XSA-182 fix (whose whitelist fast path would refuse the PSE change too). Guest: Linux 4.14.',
  knobs: { xen_xsa148: 'vulnerable', xen_xsa182: 'vulnerable' },
});
registerPreset({
  name: 'xen-4.6.1-pv',
  base: 'xen-4.6.0-pv',
  description:
    'xen-4.6.0-pv with "x86: guard against undue super page PTE creation" (fe360c90ea, XSA-148 fix): a PSE L2 entry is refused ("Bad L2 flags 80"). ' +
    "Also carries the later XSA-182 fix (4.6.4) as a backport, so that a campaign on it tests XSA-148's fix alone; '--set xen_xsa182=vulnerable' gives the 4.6.1 release.",
  knobs: { xen_xsa148: 'fixed', xen_xsa182: 'fixed' },
});
registerPreset({
  name: 'xen-4.7.0-pv',
  base: 'xen-4.6.1-pv',
  description:
    'Xen 4.7.0 (XSA-182, CVE-2016-6258): the fast paths of mod_l2/l3/l4_entry() compare only the frame and _PAGE_PRESENT, so a PV guest makes a read-only linear page-table entry writable without re-validation. Keeps the XSA-148 fix. Guest: Linux 4.14.',
  knobs: { xen_xsa182: 'vulnerable' },
});
registerPreset({
  name: 'xen-4.7.1-pv',
  base: 'xen-4.7.0-pv',
  description:
    'xen-4.7.0-pv with "x86/pv: Remove unsafe bits from the mod_l?_entry() fastpath" (e1bff4c2ea, XSA-182 fix): only FASTPATH_FLAG_WHITELIST bits skip re-validation; a writable linear entry is refused ("Attempt to create linear p.t. with write perms").',
  knobs: { xen_xsa182: 'fixed' },
});
registerPreset({
  name: 'xen-4.9.0-pv',
  base: 'xen-4.7.1-pv',
  description:
    'Xen 4.9.0 (XSA-240, CVE-2017-15595): linear page tables may be stacked, so a PV guest links a chain of same-level tables, each held only by the read-only linear entry of the one before, and unpins the first: Xen de-types them in one recursion per table until its 8 KiB stack overflows (a debug build: DOUBLE FAULT). Also, as in 4.9.0, XSA-241 (CVE-2017-15588): the TLB-flush time stamp of a frame whose last writable type reference goes is stored with interrupts enabled after the clock was read, so a flush of another CPU in between leaves that CPU skipped by the flush filter of the next type change. Keeps the XSA-148 and XSA-182 fixes. Guest: Linux 4.14.',
  knobs: { xen_xsa240: 'vulnerable', xen_xsa241: 'vulnerable' },
});
registerPreset({
  name: 'xen-4.9.1-pv',
  base: 'xen-4.9.0-pv',
  description:
    'xen-4.9.0-pv with "x86: limit linear page table use to a single level" (c2b0a92d23, the 4.9 backport of 6987fc7558, XSA-240 fix): a table that holds linear entries cannot be used as a linear table, nor the other way round; the second link of a chain is refused. ' +
    'And "x86: don\'t store possibly stale TLB flush time stamp" (61a2d31481, the 4.9 backport of 23a183607a, XSA-241 fix): the stamp is read and stored with interrupts disabled.',
  knobs: { xen_xsa240: 'fixed', xen_xsa241: 'fixed' },
});
