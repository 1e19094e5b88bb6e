/**
 * The mutation benchmark's mutants: each deletes or weakens one safety step of the model. One
 * entry per mutant: the file, the exact source snippet (it must occur exactly once: the harness
 * refuses to run otherwise, so a refactor cannot silently neuter a mutant), its replacement, the
 * preset where the code runs, and what the mutation breaks.
 */
export interface Mutant {
  name: string;
  file: string;
  find: string;
  replace: string;
  preset: string;
  description: string;
}

export const MUTANTS: Mutant[] = [
  // ---- a TLB flush in each system-call path --------------------------------------------------
  {
    name: 'mprotect-no-flush',
    file: 'src/linux/mprotect.ts',
    preset: 'linux-4.14-smp',
    find: "      yield* traced(cpu, 'flush_tlb_range', () => flush_tlb_range(k, cpu, mm, start, end));\n",
    replace: '',
    description: 'change_protection_range() never calls flush_tlb_range()',
  },
  {
    name: 'munmap-gather-no-flush',
    file: 'src/linux/mmu_gather.ts',
    preset: 'linux-4.8-smp',
    find: '  else if (tlb.end > tlb.start) yield* flush_tlb_mm_range(',
    replace: '  else if (false) yield* flush_tlb_mm_range(',
    description: "munmap's tlb_flush_mmu() frees the pages without flushing",
  },
  {
    name: 'exit-gather-no-flush',
    file: 'src/linux/mmu_gather.ts',
    preset: 'linux-4.8-smp',
    find: '  if (tlb.fullmm || tlb.need_flush_all) yield* flush_tlb_mm_range(',
    replace: '  if (tlb.need_flush_all) yield* flush_tlb_mm_range(',
    description: "exit_mmap()'s tlb_flush_mmu() frees the pages without flushing",
  },
  {
    name: 'fork-no-flush-oldmm',
    file: 'src/linux/fork.ts',
    preset: 'linux-4.8-smp',
    find: "    yield* traced(cpu, 'flush_tlb_mm', () => flush_tlb_mm_range(k, cpu, oldmm, 0n, TLB_FLUSH_ALL));\n",
    replace: '',
    description: 'dup_mmap() skips flush_tlb_mm(oldmm) after write-protecting the parent',
  },
  {
    name: 'cow-no-ptep-clear-flush',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.14-smp',
    find: "    yield* traced(cpu, 'flush_tlb_page', () => flush_tlb_mm_range(k, cpu, mm, address, address + 4096n));\n",
    replace: '',
    description: "do_wp_page()'s ptep_clear_flush() clears without flushing",
  },
  {
    name: 'vfree-no-flush',
    file: 'src/linux/vmalloc.ts',
    preset: 'linux-4.8-smp',
    find: '  yield* flush_tlb_kernel_range(k, cpu, addr, addr + BigInt(area.size));\n',
    replace: '',
    description: 'vfree() frees the pages without flush_tlb_kernel_range()',
  },
  {
    name: 'vmap-purge-no-flush',
    file: 'src/linux/vmap.ts',
    // native: kernel TLB entries are global there; under Xen PV (no PGE) every CR3 load flushes
    // them, so the purge's flush is seldom the only one that removes a lazily unmapped alias
    preset: 'linux-4.8-smp',
    find: '  if (nr || forceFlush) yield* flush_tlb_kernel_range(',
    replace: '  if (false) yield* flush_tlb_kernel_range(',
    description: '__purge_vmap_area_lazy() frees lazily unmapped areas without the deferred flush',
  },
  {
    name: 'flush-range-one-short',
    file: 'src/linux/tlbflush.ts',
    preset: 'linux-4.8-smp',
    find: '      for (let a = start; a < end; a += 4096n) yield* __flush_tlb_single(k, cpu, a);\n    }\n  }',
    replace: '      for (let a = start; a < end - 4096n; a += 4096n) yield* __flush_tlb_single(k, cpu, a);\n    }\n  }',
    description: "flush_tlb_mm_range()'s local INVLPG loop stops one page short",
  },
  // ---- remote flushes, IPIs, lazy TLB -----------------------------------------------------------
  {
    name: 'no-remote-flush',
    file: 'src/linux/tlbflush.ts',
    preset: 'linux-4.8-smp',
    find: '  const others = mm.cpumask & ~(1 << cpu.index);',
    replace: '  const others = 0;',
    description: 'flush_tlb_mm_range() never calls flush_tlb_others()',
  },
  {
    name: 'ipi-not-sent',
    file: 'src/linux/tlbflush.ts',
    preset: 'linux-4.14-smp',
    find: "  yield* smp_call_function_many(k, cpu, cpumask, 'flush_tlb_func', (k2, c) => flush_tlb_func(k2, c, mm, start, end));",
    replace: '',
    description: 'native_flush_tlb_others() sends no IPI',
  },
  {
    name: 'ipi-handler-partial',
    file: 'src/linux/tlbflush.ts',
    preset: 'linux-4.8-smp',
    find: '    if (end === TLB_FLUSH_ALL) yield* __flush_tlb(k, cpu);\n    else for',
    replace: '    if (end === TLB_FLUSH_ALL) yield* __flush_tlb_single(k, cpu, start);\n    else for',
    description: 'flush_tlb_func() flushes one page where the sender asked for TLB_FLUSH_ALL',
  },
  {
    name: 'kernel-range-flush-local-only',
    file: 'src/linux/tlbflush.ts',
    preset: 'linux-4.8-smp',
    find: '      for (let a = start; a < end; a += 4096n) yield* __flush_tlb_single(k2, c, a);',
    replace: '      if (c === cpu) for (let a = start; a < end; a += 4096n) yield* __flush_tlb_single(k2, c, a);',
    description: 'flush_tlb_kernel_range() flushes only the calling CPU',
  },
  {
    name: 'xen-flush-others-noop',
    file: 'src/linux/xen/mmu.ts',
    preset: 'linux-4.14-xen-pv',
    find: '  if (targets.length === 0) return;\n  xen_mc_batch(k, cpu);',
    replace: '  return;\n  xen_mc_batch(k, cpu);',
    description: 'xen_flush_tlb_others() issues no MMUEXT_TLB_FLUSH_MULTI',
  },
  {
    name: 'hyperv-flush-single-page',
    file: 'src/linux/hyperv.ts',
    preset: 'linux-4.14-hyperv',
    find: '    if (end === TLB_FLUSH_ALL) c.hw.flushTlbAll();',
    replace: '    if (end === TLB_FLUSH_ALL) c.hw.invlpg(start);',
    description: 'hyperv_flush_tlb_others() flushes one page for HvFlushVirtualAddressSpace',
  },
  {
    name: 'lazy-cpu-no-leave-mm',
    file: 'src/linux/tlbflush.ts',
    preset: 'linux-4.8-smp',
    find: '  } else {\n    yield* leave_mm(k, cpu);\n  }',
    replace: '  } else {\n  }',
    description: 'flush_tlb_func() on a lazy CPU neither flushes nor calls leave_mm()',
  },
  {
    name: 'switch-mm-no-cr3-reload',
    file: 'src/linux/mmu_context.ts',
    preset: 'linux-4.8-smp',
    find: '      next.cpumask |= bit;\n      yield* load_cr3(k, cpu, next.pgd);',
    replace: '      next.cpumask |= bit;',
    description: 'switch_mm() back from lazy TLB mode after leave_mm() does not reload CR3',
  },
  {
    name: 'switch-mm-no-cpumask',
    file: 'src/linux/mmu_context.ts',
    preset: 'linux-4.14-smp',
    find: '    next.cpumask |= bit;\n    yield* load_cr3(k, cpu, next.pgd); // Re-load page tables',
    replace: '    yield* load_cr3(k, cpu, next.pgd); // Re-load page tables',
    description: 'switch_mm() does not add the CPU to mm_cpumask (no flush IPIs reach it)',
  },
  // ---- RCU, GUP-fast, locks ---------------------------------------------------------------------
  {
    name: 'rcu-no-grace-period',
    file: 'src/linux/rcupdate.ts',
    preset: 'linux-4.14-hyperv',
    find: '  return cpu.IF && cpu.preemptCount === 0 && cpu.frames.length === 0;',
    replace: '  return true;',
    description: 'RCU-sched does not wait for CPUs in IRQs-off regions',
  },
  {
    name: 'table-free-skips-rcu',
    file: 'src/linux/mmu_gather.ts',
    preset: 'linux-4.14-hyperv',
    find: '  if (k.config.knobs.tlb_remove_table_single_user !== false && tlb.mm.mm_users < 2) {',
    replace: '  if (true) {',
    description: 'tlb_remove_table() frees page tables at once, without the RCU grace period',
  },
  {
    name: 'gup-fast-irqs-on',
    file: 'src/linux/gup.ts',
    preset: 'linux-4.8-smp',
    find: '    local_irq_disable(cpu);\n    const walk',
    replace: '    const walk',
    description: 'get_user_pages_fast() walks with interrupts enabled',
  },
  {
    name: 'fault-no-pte-recheck',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.14-smp',
    find: '  if (readEntry(k, ptep) !== 0n) {\n    yield* spin_unlock',
    replace: '  if (false) {\n    yield* spin_unlock',
    description: 'do_anonymous_page() does not recheck the pte under the pte lock',
  },
  {
    name: 'cow-no-pte-same',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.14-smp',
    find: '  if (readEntry(k, ptep) === orig_pte) {',
    replace: '  if (true) {',
    description: "do_wp_page()'s copy path does not recheck the pte under the pte lock",
  },
  {
    name: 'cow-reuse-shared',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.8-smp',
    find: '&& page_mapcount(k, old) <= 1\n',
    replace: '&& page_mapcount(k, old) <= 2\n',
    description: 'do_wp_page() reuses a page still mapped by another process',
  },
  {
    name: 'fork-child-writable',
    file: 'src/linux/fork.ts',
    preset: 'linux-4.14-smp',
    find: '  pte &= ~_PAGE_RW; // pte_wrprotect()\n',
    replace: '',
    description: "copy_one_pte() leaves the child's pte writable",
  },
  // ---- Xen PV ---------------------------------------------------------------------------------
  {
    name: 'xen-lazy-leave-no-batch-flush',
    file: 'src/linux/xen/mmu.ts',
    preset: 'linux-4.14-xen-pv',
    find: '  preempt_disable(cpu);\n  yield* xen_mc_flush(k, cpu);\n  paravirt_leave_lazy_mmu(cpu);',
    replace: '  preempt_disable(cpu);\n  paravirt_leave_lazy_mmu(cpu);',
    description: 'xen_leave_lazy_mmu() does not issue the multicall batch',
  },
  {
    name: 'xen-set-upper-skips-pin-check',
    file: 'src/linux/xen/mmu.ts',
    preset: 'linux-4.14-xen-pv',
    find: '  if (!xen_page_pinned(k, p)) {',
    replace: '  if (true) {',
    description: 'xen_set_pmd/pud/pgd store directly into pinned page tables',
  },
  {
    name: 'xen-type-change-no-flush',
    file: 'src/xen/mm.ts',
    preset: 'linux-4.14-xen-pv',
    find: '          this.flush_tlb_mask(mask);',
    replace: '',
    description: "Xen's get_page_type() does not flush TLBs when a frame changes type",
  },
  {
    name: 'no-arch-flush-lazy-mmu',
    file: 'src/linux/fault.ts',
    preset: 'linux-3.9-xen-pv',
    find: "    if (variant !== 'active_mm') yield* k.pv.mmu.lazy_mode.flush(k, cpu); // arch_flush_lazy_mmu_mode()",
    replace: '',
    description: 'vmalloc_fault() does not call arch_flush_lazy_mmu_mode() after set_pgd()',
  },
  // ---- added in the fourth session: more steps of the same kinds (generality check) -----------
  {
    name: 'cpa-no-flush',
    file: 'src/linux/pageattr.ts',
    preset: 'linux-4.14-smp',
    find: "  if (flushtlb) yield* traced(cpu, 'cpa_flush_range',",
    replace: "  if (false) yield* traced(cpu, 'cpa_flush_range',",
    description: 'change_page_attr_set_clr() changes the ptes without cpa_flush_range()',
  },
  {
    name: 'gather-free-before-flush',
    file: 'src/linux/mmu_gather.ts',
    preset: 'linux-4.14-smp',
    find: "    yield* tlb_flush_mmu_tlbonly(k, cpu, tlb);\n    yield* tlb_table_flush(k, cpu, tlb);\n    // free_pages_and_swap_cache(): the last reference frees a page (a COW-shared page lives on)\n    for (const pfn of tlb.pages) {\n      if (tlb.tablePages.has(pfn)) free_page_table_page(k, cpu, pfn, 'free_pages_and_swap_cache');\n      else put_page(k, pfn);\n    }\n",
    replace:
      "    for (const pfn of tlb.pages) {\n      if (tlb.tablePages.has(pfn)) free_page_table_page(k, cpu, pfn, 'free_pages_and_swap_cache');\n      else put_page(k, pfn);\n    }\n    yield* tlb_flush_mmu_tlbonly(k, cpu, tlb);\n    yield* tlb_table_flush(k, cpu, tlb);\n",
    description: 'tlb_flush_mmu() frees the gathered pages before the TLB flush instead of after it',
  },
  {
    name: 'fork-parent-writable',
    file: 'src/linux/fork.ts',
    preset: 'linux-4.8-smp',
    find: '  yield* ptep_set_wrprotect(k, cpu, srcPtep); // is_cow_mapping(vm_flags)\n',
    replace: '',
    description: "copy_one_pte() leaves the parent's pte writable (no ptep_set_wrprotect())",
  },
  {
    name: 'pte-alloc-no-recheck',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.8-smp',
    find: '  if (pmd_none(k, pmdp)) {\n    yield* k.pv.mmu.alloc_pte(',
    replace: '  if (true) {\n    yield* k.pv.mmu.alloc_pte(',
    description: "__pte_alloc() does not recheck pmd_none() under the lock and overwrites another thread's table",
  },
  {
    name: 'hyperv-flush-others-noop',
    file: 'src/linux/hyperv.ts',
    preset: 'linux-4.14-hyperv',
    find: "  if (mustYield('hyperv_flush_tlb_others:hypercall')) yield 'hyperv_flush_tlb_others:hypercall';\n  for (const c of k.cpus) {",
    replace: "  if (mustYield('hyperv_flush_tlb_others:hypercall')) yield 'hyperv_flush_tlb_others:hypercall';\n  for (const c of [] as typeof k.cpus) {",
    description: 'hyperv_flush_tlb_others() issues a hypercall that flushes nothing',
  },
  {
    name: 'xen-exit-no-drop-mm-ref',
    file: 'src/linux/xen/mmu.ts',
    preset: 'linux-4.14-xen-pv',
    find: '    yield* drop_other_mm_ref(k, c, mm);\n',
    replace: '',
    description: "xen_exit_mmap() does not make the other CPUs drop the dying mm's pgd before unpinning it",
  },
];
