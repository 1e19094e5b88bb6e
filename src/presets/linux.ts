/**
 * The Linux model's knobs and presets. Each preset names the kernel it follows and what it is
 * for; see docs/linux-model.md for the source files behind every knob.
 */
import { registerKnob } from './knobs.js';
import { registerPreset } from './registry.js';

const G = 'linux';
registerKnob({
  name: 'version',
  type: 'string',
  default: '3.17.0',
  group: G,
  description: 'Kernel version string, as printed in oops headers (e.g. 3.2.39-rt59).',
});
registerKnob({
  name: 'paging',
  type: 'enum',
  values: ['32bit', 'pae', '4level'],
  default: '4level',
  group: G,
  description: 'x86 paging mode: 32-bit 2-level (non-PAE), 32-bit PAE 3-level, or 64-bit 4-level.',
});
registerKnob({ name: 'smp', type: 'bool', default: true, group: G, description: 'CONFIG_SMP. false = a UP kernel (needs cpus=1).' });
registerKnob({ name: 'cpus', type: 'int', min: 1, max: 8, default: 2, group: G, description: 'Number of CPUs.' });
registerKnob({
  name: 'preempt',
  type: 'enum',
  values: ['none', 'voluntary', 'preempt', 'rt'],
  default: 'preempt',
  group: G,
  description: 'Preemption model: PREEMPT_NONE, PREEMPT_VOLUNTARY (no involuntary preemption), PREEMPT, PREEMPT_RT (spinlocks do not disable preemption).',
});
registerKnob({
  name: 'paravirt',
  type: 'string',
  default: 'native',
  group: G,
  description: 'pv_mmu_ops backend: native, or one registered by another model (e.g. xen-pv).',
});
registerKnob({
  name: 'vmalloc_fault',
  type: 'enum',
  values: ['active_mm', 'active_mm+flush', 'read_cr3'],
  default: 'active_mm+flush',
  group: G,
  description:
    "arch/x86/mm/fault.c vmalloc_fault() on 64-bit: 'active_mm' = syncs current->active_mm's pgd, set_pgd() without a flush (before 3.9); 'active_mm+flush' = the same with arch_flush_lazy_mmu_mode() after set_pgd() (3.9..4.7, commit 1160c2779b82; 3.18 shipped it: seed 004's rewrite was not merged); 'read_cr3' = the same checks on the pgd in CR3 (4.8 on, the first release that reads CR3 here). All three keep WARN_ON_ONCE(in_nmi()). 32-bit kernels always use read_cr3() + vmalloc_sync_one().",
});
registerKnob({
  name: 'vmalloc_sync_all',
  type: 'bool',
  default: true,
  group: G,
  description:
    "The kernel has vmalloc_sync_all() (until 5.6, which split it into vmalloc_sync_mappings()/vmalloc_sync_unmappings(); seed 004's patch proposed dropping it). false: it does nothing.",
});
registerKnob({
  name: 'flush_tlb_preempt_disable',
  type: 'bool',
  default: true,
  group: G,
  description: '__native_flush_tlb() disables preemption around read_cr3/write_cr3 (the seed 003 fix, commit 5cf0791da5c1).',
});
registerKnob({
  name: 'lockup_threshold',
  type: 'int',
  min: 2,
  max: 1_000_000,
  default: 64,
  group: G,
  description: 'Lockup detector: identical faults (address, CPU) without any page-table or CR3 change before a lockup is reported.',
});
registerKnob({ name: 'ram_mib', type: 'int', min: 4, max: 512, default: 16, group: G, description: 'Guest RAM in MiB (direct-mapped by the kernel).' });
registerKnob({
  name: 'watchdog_format',
  type: 'enum',
  values: ['auto', 'v3.2', 'v3.14', 'v4.15'],
  default: 'auto',
  group: G,
  description:
    "Lockup message format: 'v3.2' = 'BUG: soft lockup - CPU#0 stuck for 22s!' and WARN 'Watchdog detected hard LOCKUP on cpu 0'; 'v3.14' adds the 'NMI watchdog: ' prefix to soft lockups; 'v4.15' = 'watchdog: BUG: soft lockup...' and 'NMI watchdog: Watchdog detected hard LOCKUP on cpu 0'. 'auto' chooses by version.",
});
registerKnob({
  name: 'platform_nmi',
  type: 'bool',
  default: true,
  group: G,
  description:
    'The platform delivers NMIs (perf counter overflow, the NMI watchdog) to the kernel. false for a Xen PV guest of Xen 4.1: Linux has a Xen PV PMU only from 4.3 (arch/x86/xen/pmu.c), which needs the vPMU of Xen 4.6 or later, and a PV guest runs no NMI watchdog; its only NMIs, VCPUOP_send_nmi backtrace requests, are not modelled.',
});

registerPreset({
  name: 'linux-3.2-rt-up',
  description: 'Linux 3.2.39-rt59, x86_64 UP, PREEMPT_RT, __native_flush_tlb() without preempt_disable (seed 003, before the fix).',
  knobs: {
    version: '3.2.39-rt59',
    paging: '4level',
    smp: false,
    cpus: 1,
    preempt: 'rt',
    flush_tlb_preempt_disable: false,
    vmalloc_fault: 'active_mm',
    vmalloc_sync_all: true,
  },
});
registerPreset({
  name: 'linux-3.2-rt-up-fixed',
  base: 'linux-3.2-rt-up',
  description:
    'linux-3.2-rt-up with "x86/mm: disable preemption during CR3 read+write" applied (seed 003 fix). ' +
    "Also carries 4.8's vmalloc_fault() (the pgd in CR3, seed 004's bug gone) as a backport, so that a campaign on it tests seed 003's fix alone; " +
    "'--set vmalloc_fault=active_mm' gives 3.2-rt with only seed 003's fix, in which the fuzzer finds seed 004's NMI lockup.",
  knobs: { flush_tlb_preempt_disable: true, vmalloc_fault: 'read_cr3' },
});
registerPreset({
  name: 'linux-3.8-smp',
  description: 'Linux 3.8, x86_64 SMP (2 CPUs), PREEMPT, native; 64-bit vmalloc_fault() syncs current->active_mm without arch_flush_lazy_mmu_mode().',
  knobs: { version: '3.8.0', paging: '4level', smp: true, cpus: 2, preempt: 'preempt', vmalloc_fault: 'active_mm', vmalloc_sync_all: true },
});
registerPreset({
  name: 'linux-3.9-smp',
  base: 'linux-3.8-smp',
  description: 'Linux 3.9, x86_64 SMP: vmalloc_fault() calls arch_flush_lazy_mmu_mode() after set_pgd().',
  knobs: { version: '3.9.0', vmalloc_fault: 'active_mm+flush' },
});
registerPreset({
  name: 'linux-3.17-smp',
  description:
    "Linux 3.17, x86_64 SMP (2 CPUs), PREEMPT; vmalloc_fault() syncs current->active_mm (seed 004's bug). Its fault.c was not read: BUG/WARN lines print as unknown.",
  knobs: { version: '3.17.0', paging: '4level', smp: true, cpus: 2, preempt: 'preempt', vmalloc_fault: 'active_mm+flush', vmalloc_sync_all: true },
});
registerPreset({
  name: 'linux-3.18-smp',
  base: 'linux-3.17-smp',
  description:
    'Linux 3.18, x86_64 SMP: vmalloc_fault() still syncs current->active_mm, as 3.17 did (seed 004, the lockups of 3.18-rc: the posted rewrite was not merged).',
  knobs: { version: '3.18.0' },
});
registerPreset({
  name: 'linux-4.8-smp',
  base: 'linux-3.18-smp',
  description:
    "Linux 4.8, x86_64 SMP: vmalloc_fault() syncs the pgd in CR3 ((pgd_t *)__va(read_cr3()) + pgd_index(address)) instead of current->active_mm's — the first release without seed 004's bug; WARN_ON_ONCE(in_nmi()) stays.",
  knobs: { version: '4.8.0', vmalloc_fault: 'read_cr3' },
});
for (const [v, base] of [
  ['3.17', 'linux-3.17-smp'],
  ['3.18', 'linux-3.18-smp'],
  ['4.8', 'linux-4.8-smp'],
] as const) {
  registerPreset({
    name: `${base}-pae`,
    base,
    description: `Linux ${v}, x86-32 PAE SMP: the kernel pmd is shared by every pgd, so vmalloc memory never faults.`,
    knobs: { paging: 'pae' },
  });
  registerPreset({
    name: `${base}-32bit`,
    base,
    description: `Linux ${v}, x86-32 non-PAE SMP: vmalloc_fault() syncs the pgd in CR3 through vmalloc_sync_one() (as every 32-bit release did).`,
    knobs: { paging: '32bit' },
  });
}

// Knobs of the Linux model's later additions (mm/vmalloc.c, the mmu_gather).
registerKnob({
  name: 'vunmap_clear_ptes',
  type: 'enum',
  values: ['lazy-purge', 'eager'],
  default: 'eager',
  group: 'linux',
  description:
    "mm/vmalloc.c vunmap: 'lazy-purge' = ptes of unmapped vmap areas/blocks stay until the lazy purge (before 2.6.37-rc5, seed 001); 'eager' = ptes cleared at once, TLB flushed lazily (commit 64141da5).",
});

registerKnob({
  name: 'have_rcu_table_free',
  type: 'bool',
  default: false,
  group: 'linux',
  description:
    'CONFIG_HAVE_RCU_TABLE_FREE on x86: page-table pages are freed through tlb_remove_table() after an RCU-sched grace period (4.14+, seed 002 fix) instead of tlb_remove_page() right after the TLB flush.',
});

registerKnob({
  name: 'mremap_flush',
  type: 'enum',
  values: ['under-ptl', 'deferred'],
  default: 'under-ptl',
  group: 'linux',
  description:
    "mm/mremap.c move_ptes() (CVE-2018-18281): 'deferred' = only a dirty pte is flushed before the pte lock is dropped, a clean one by move_page_tables() after every lock was dropped, so a truncation can free the moved page while a stale TLB entry of the old address still maps it (every release before 4.19-rc8 and the stable fixes of October 2018, e.g. 4.14.78); 'under-ptl' (default) = \"mremap: properly flush TLB before releasing the page\" (eb66ae030829): every present pte is flushed before the lock is dropped. The default gives every preset the fix as a backport; only the presets of this bug set 'deferred'.",
});

// ---- Historical Linux bugs (docs/historical-bugs.md): a 4.14 stable kernel before and after one
// security fix, on the 4.14 model (linux-4.14-smp, which carries that fix as a backport).
registerPreset({
  name: 'linux-4.14.77-smp',
  base: 'linux-4.14-smp',
  description:
    'Linux 4.14.77 x86_64 SMP (the last 4.14 stable release before the CVE-2018-18281 backport): mremap() flushes the TLB of a moved clean pte only after dropping the page-table lock, so ftruncate() of a MAP_SHARED file can free the page while another CPU still maps it through a stale TLB entry of the old address. The rest of the model follows 4.14.5 (tlb_remove_table() keeps its single-user shortcut, as 4.14 has it).',
  knobs: { version: '4.14.77', mremap_flush: 'deferred', tlb_remove_table_single_user: true },
});
registerPreset({
  name: 'linux-4.14.78-smp',
  base: 'linux-4.14.77-smp',
  description:
    'linux-4.14.77-smp with "mremap: properly flush TLB before releasing the page" (4.14.78; upstream eb66ae030829, 4.19-rc8): move_ptes() flushes before the pte lock is dropped. As a fixed preset it carries, as linux-4.14-smp does, the removal of tlb_remove_table()\'s single-user shortcut (4.19) as a backport.',
  knobs: { version: '4.14.78', mremap_flush: 'under-ptl', tlb_remove_table_single_user: false },
});
registerKnob({
  name: 'gup_foll_cow',
  type: 'bool',
  default: true,
  group: 'linux',
  description:
    'mm/gup.c faultin_page()/follow_page_pte() (CVE-2016-5195, Dirty COW): true (default) = 19be0eaffa3a "mm: remove gup_flags FOLL_WRITE games from __get_user_pages()" (4.8.3, and the stable kernels of October 2016): after a FOLL_FORCE write fault broke COW in a read-only vma, FOLL_COW is set and a read-only pte is followed for writing only if dirty; false = FOLL_WRITE is dropped and the retry is a read lookup, which a racing madvise(MADV_DONTNEED) turns into the file\'s page-cache page. The default gives every preset the fix as a backport; only the presets of this bug set false.',
});
registerPreset({
  name: 'linux-4.8.2-smp',
  base: 'linux-4.8-smp',
  description:
    "Linux 4.8.2 x86_64 SMP (the last 4.8 stable release before the Dirty COW fix): a FOLL_FORCE write through /proc/self/mem to a read-only private file mapping, racing madvise(MADV_DONTNEED), writes the file's page-cache page. mm/gup.c follows 4.8.15 less the fix; the fault and page-cache paths follow the model's 4.14 (docs/historical-bugs.md).",
  knobs: { version: '4.8.2', gup_foll_cow: false },
});
registerPreset({
  name: 'linux-4.8.3-smp',
  base: 'linux-4.8.2-smp',
  description:
    'linux-4.8.2-smp with 19be0eaffa3a "mm: remove gup_flags FOLL_WRITE games from __get_user_pages()" (4.8.3): FOLL_COW and can_follow_write_pte().',
  knobs: { version: '4.8.3', gup_foll_cow: true },
});
registerKnob({
  name: 'tlb_flush_nested',
  type: 'bool',
  default: true,
  group: 'linux',
  description:
    "mm/memory.c tlb_finish_mmu(): true (default) = 4.13's mm_tlb_flush_nested() (read in 4.13.4 and 4.14.5): when another mmu_gather of the same mm is open, the gather's whole range is flushed even if its zap found every pte already clear; false = the code of 4.12 and before (absent in 4.8.15 and 4.9.124): a zap racing a munmap() that cleared the ptes but has not flushed yet flushes nothing, so a driver that revokes its mappings with unmap_mapping_range() and then frees the frames frees them while CPUs still map them through stale TLB entries (the fuzzer finds this with the PFN-mapping device). The default gives every preset the fix as a backport, as the other historical knobs do; no preset sets false.",
});
registerKnob({
  name: 'pfnmap_flush_before_unlink',
  type: 'bool',
  default: true,
  group: 'linux',
  description:
    'mm/mmap.c unmap_region() (CVE-2022-39188): true (default) = "mm: Force TLB flush for PFNMAP mappings before unlink_file_vma()" (the stable rewrite of b67fbebd4cf9 "mmu_gather: Force tlb-flush VM_PFNMAP vmas"; 4.14.292, 4.19.257, 5.4.212; upstream 5.19): the gathered range is flushed between unmap_vmas() and free_pgtables() when the vma is VM_PFNMAP or VM_MIXEDMAP; false = the flush waits for tlb_finish_mmu(), after unlink_file_vma() took the vma out of the file\'s i_mmap, so a driver\'s unmap_mapping_range() finds nothing to zap or flush and the driver frees frames other CPUs still map through stale TLB entries. The default gives every preset the fix as a backport; only the presets of this bug set false.',
});
registerPreset({
  name: 'linux-4.14.291-smp',
  base: 'linux-4.14-smp',
  description:
    'Linux 4.14.291 x86_64 SMP (the last 4.14 stable release before the CVE-2022-39188 backport): munmap() of a VM_PFNMAP mapping flushes the TLB only in tlb_finish_mmu(), after unlink_file_vma(), so a driver that revokes its mappings with unmap_mapping_range() and frees the frames can free them while another CPU still maps one through a stale TLB entry. The rest of the model follows 4.14.5 with the later fixes of the 4.14 presets (mremap_flush under-ptl from 4.14.78; tlb_table_invalidate as linux-4.14-smp carries it, not verified for 4.14.291; tlb_remove_table() keeps its single-user shortcut, as 4.14 has it).',
  knobs: { version: '4.14.291', pfnmap_flush_before_unlink: false, tlb_remove_table_single_user: true },
});
registerPreset({
  name: 'linux-4.14.292-smp',
  base: 'linux-4.14.291-smp',
  description:
    'linux-4.14.291-smp with "mm: Force TLB flush for PFNMAP mappings before unlink_file_vma()" (4.14.292; the stable rewrite of upstream b67fbebd4cf9, 5.19): unmap_region() flushes a VM_PFNMAP vma\'s range before free_pgtables() unlinks it. As a fixed preset it carries, as linux-4.14-smp does, the removal of tlb_remove_table()\'s single-user shortcut (4.19) as a backport.',
  knobs: { version: '4.14.292', pfnmap_flush_before_unlink: true, tlb_remove_table_single_user: false },
});
registerKnob({
  name: 'tlb_remove_table_single_user',
  type: 'bool',
  default: true,
  group: 'linux',
  description:
    'With HAVE_RCU_TABLE_FREE, tlb_remove_table() frees a page table at once when the mm has fewer than two users (4.14-4.18); false: always batched (4.19, "mm/tlb: Remove tlb_remove_table() non-concurrent condition"). The fixed presets that carry tlb_table_invalidate as a backport (linux-4.14-smp, -xen-pv, -hyperv, linux-3.9-xen-pv, linux-2.6.37-xen-pv, linux-4.14.78-smp, linux-4.14.292-smp and the xen-4.x presets\' 4.14 guest) carry false with it: with the shortcut a CPU still on the mm keeps paging-structure-cache entries to a freed table until the gather\'s flush, a true 4.14 finding of the fuzzer.',
});
registerKnob({
  name: 'tlb_table_invalidate',
  type: 'bool',
  default: false,
  group: 'linux',
  description:
    'With HAVE_RCU_TABLE_FREE, tlb_table_invalidate() flushes the TLB and paging-structure caches before page tables are handed to RCU or, when the batch page cannot be allocated, freed by tlb_remove_table_one() (4.19, "mm/tlb, x86/mm: Support invalidating TLB caches for RCU_TABLE_FREE"); false: no flush before tlb_remove_table_one() frees the table (4.14-4.18).',
});
