/**
 * The fifth session's generality experiment (docs/fuzzing.md, "the oracles against mutants they
 * were not written for"): one-step mutants of the kinds of bench/mutants-list.ts at sites that list
 * did not touch, written before looking at what the oracles catch. The detected ones moved to the
 * list; these stay out of the score, each for the reason given (equivalent in the model, or a shape
 * the campaign reaches too rarely). Run them with `runMutants(root, { list: UNSEEN, seconds })`.
 */
import type { Mutant } from './mutants-list.js';

export const UNSEEN: Mutant[] = [
  {
    name: 'mremap-no-flush',
    file: 'src/linux/mremap.ts',
    preset: 'linux-4.14-smp',
    find: "    if (force_flush) yield* traced(cpu, 'flush_tlb_range', () => flush_tlb_range(k, cpu, mm, old_end - len, old_end));",
    replace: '    if (false) yield* traced(cpu, "flush_tlb_range", () => flush_tlb_range(k, cpu, mm, old_end - len, old_end));',
    // not scored: equivalent in the model: do_munmap() of the old range frees its page table and flushes the whole pmd before mremap() returns; only a truncation inside the window sees it
    description: 'move_ptes() moves the ptes without flushing the old range',
  },
  {
    name: 'truncate-skips-mapped-page',
    file: 'src/linux/truncate.ts',
    preset: 'linux-4.14-smp',
    find: '  if (page_mapcount(k, pfn) > 0) yield* unmap_mapping_range(',
    replace: '  if (false) yield* unmap_mapping_range(',
    // not scored: equivalent in the model: truncate_pagecache()'s second unmap_mapping_range() zaps the page anyway
    description: 'truncate_inode_page() removes a page that a racing fault mapped without unmapping it',
  },
  {
    name: 'cpa-flush-local-only',
    file: 'src/linux/pageattr.ts',
    preset: 'linux-4.14-smp',
    find: "on_each_cpu(k, cpu, '__cpa_flush_range', __flush_tlb_all)",
    replace: '__flush_tlb_all(k, cpu)',
    // not scored: seen by tlb-coherence in a hand-written program; the campaign seldom reaches the shape
    description: 'cpa_flush_range() flushes only the calling CPU',
  },
  {
    name: 'pte-free-no-range',
    file: 'src/linux/mmu_gather.ts',
    preset: 'linux-4.8-smp',
    find: '  tlb_adjust_range(tlb, address, 1n << BigInt(k.L.PMD_SHIFT));\n',
    replace: '',
    // not scored: equivalent unless a page table with no present pte is freed (the zapped ptes widen the range otherwise)
    description: "pte_free_tlb() does not add the freed page table's range to the gather",
  },
  {
    name: 'wp-page-shared-no-recheck',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.14-smp',
    find: '  if (readEntry(k, ptep) !== orig_pte) {\n    yield* spin_unlock(k, cpu, mm.page_table_lock);\n    unlock_page(k, page);',
    replace: '  if (false) {\n    yield* spin_unlock(k, cpu, mm.page_table_lock);\n    unlock_page(k, page);',
    // not scored: rare shape: a truncation between wp_page_shared()'s unlock and relock
    description: 'finish_mkwrite_fault() does not recheck the pte under the pte lock',
  },
  {
    name: 'xen-flush-others-first-page',
    file: 'src/linux/xen/mmu.ts',
    preset: 'linux-4.14-xen-pv',
    find: '  const single = end !== TLB_FLUSH_ALL && end - start <= 4096n;',
    replace: '  const single = end !== TLB_FLUSH_ALL;',
    // not scored: rare shape: a multi-page range below the full-flush ceiling with another vCPU holding a later page
    description: 'xen_flush_tlb_others() sends MMUEXT_INVLPG_MULTI of the first page for any range',
  },
  {
    name: 'tlb-table-no-invalidate',
    file: 'src/linux/mmu_gather.ts',
    preset: 'linux-4.19-hyperv',
    find: '  if (k.config.knobs.tlb_table_invalidate === true) yield* tlb_flush_mmu_tlbonly(k, cpu, tlb);',
    replace: '',
    // not scored: rare shape: only when the table batch page cannot be allocated or the batch fills
    description: 'tlb_table_invalidate() (4.19) does not flush before page tables go to RCU or are freed',
  },
  {
    name: 'switch-mm-clear-prev-first',
    file: 'src/linux/mmu_context.ts',
    preset: 'linux-4.14-xen-pv',
    find: '    next.cpumask |= bit;\n    yield* load_cr3(k, cpu, next.pgd); // Re-load page tables\n    prev.cpumask &= ~bit; // Stop flush ipis for the previous mm',
    replace:
      '    prev.cpumask &= ~bit; // Stop flush ipis for the previous mm\n    next.cpumask |= bit;\n    yield* load_cr3(k, cpu, next.pgd); // Re-load page tables',
    // not scored: equivalent in the model: no interleaving point between the two statements natively, the CR3 load is queued under Xen PV
    description: "switch_mm() leaves prev's mm_cpumask before CR3 holds next's pgd",
  },
];

/**
 * The sixth session's batch: 18 more one-step mutants of the kinds at sites neither list
 * touched, written before running any of them (docs/fuzzing.md, "Sixth session"). The 8 detected
 * blind moved to bench/mutants-list.ts; these stay out of the score, each for its reason.
 */
export const UNSEEN_6: Mutant[] = [
  {
    name: 'kernel-full-flush-local-only',
    file: 'src/linux/tlbflush.ts',
    preset: 'linux-4.8-smp',
    find: "    yield* on_each_cpu(k, cpu, 'do_flush_tlb_all', do_flush_tlb_all);",
    replace: '    yield* do_flush_tlb_all(k, cpu);',
    // not scored: rare shape: a flush_tlb_kernel_range() wider than the ceiling comes only from vm_unmap_aliases() over dirty regions of two vmap blocks (vm_map_ram on two CPUs), with a third CPU's kernel entry to one of them
    description: 'flush_tlb_kernel_range() above the ceiling flushes only the calling CPU',
  },
  {
    name: 'pmd-free-pae-no-flush-all',
    file: 'src/linux/mmu_gather.ts',
    preset: 'linux-4.8-smp-pae',
    find: "  if (k.L.paging === 'pae') tlb.need_flush_all = true;",
    replace: '',
    // not scored: equivalent in the model: pmd_free_tlb() widens the gather to the pud's 1 GiB (the model's choice, docs/provenance.md), beyond tlb_single_page_flush_ceiling, so the flush reloads CR3 on every CPU anyway
    description: 'PAE ___pmd_free_tlb() does not ask for the full CR3 reload a PDPTE change needs',
  },
  {
    name: 'mremap-move-no-flush',
    file: 'src/linux/mremap.ts',
    preset: 'linux-4.14-smp',
    find: "      yield* traced(cpu, 'flush_tlb_range', () => flush_tlb_range(k, cpu, mm, old_end - len, old_addr));",
    replace: '',
    // not scored: equivalent with the fuzz layout: every mapping has its own page table (one 2 MiB slot each), so move_vma()'s do_munmap() of the old range frees that table and flushes the whole pmd before mremap() returns; needs a partial mremap (a neighbour in the same table)
    description: 'move_page_tables() moves the ptes and never flushes the old range',
  },
  {
    name: 'finish-fault-no-recheck',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.14-smp',
    find: '  if (readEntry(k, ptep) === 0n) {\n    let entry = (BigInt(page) * 4096n)',
    replace: '  if (true) {\n    let entry = (BigInt(page) * 4096n)',
    // not scored: rare shape and unjudged data: a read fault and a write (COW) fault of one MAP_PRIVATE file page racing in two threads; the lost copy is seen only as data, and the process view keeps no data for private file pages
    description: 'finish_fault() does not recheck pte_none() under the pte lock (file faults)',
  },
  {
    name: 'handle-pte-fault-no-recheck',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.14-smp',
    find: '  if (readEntry(k, ptep) === entry) {\n    // A write to a present pte',
    replace: '  if (true) {\n    // A write to a present pte',
    // not scored: rare shape: two threads of a forked parent write-fault one COW page at once, the second spinning on the pte lock while the first copies; the stale pte then reuses the child's frame (judged by the process view's isolation check)
    description: 'handle_pte_fault() does not recheck pte_same() under the pte lock',
  },
  {
    name: 'pud-alloc-no-recheck',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.8-smp',
    find: '  if (pgd_none(k, pgdp)) {\n    yield* k.pv.mmu.alloc_pud(',
    replace: '  if (true) {\n    yield* k.pv.mmu.alloc_pud(',
    // not scored: rare shape: the first faults of a fresh mm in two threads at once (every fuzz slot lies under the one pgd entry the first fault allocates)
    description: "__pud_alloc() does not recheck pgd_none() under the lock and overwrites another thread's table",
  },
  {
    name: 'fork-no-src-pte-lock',
    file: 'src/linux/fork.ts',
    preset: 'linux-4.14-smp',
    find: '    yield* spin_lock(k, cpu, src.page_table_lock); // spin_lock_nested(src_ptl, SINGLE_DEPTH_NESTING)\n    yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()\n    for (let a = addr, i = 0; a < end; a += 4096n, i++) {\n      const srcPtep = pte_offset_kernel(k, srcPmdp, a);\n      if (readEntry(k, srcPtep) === 0n) continue; // pte_none(): progress++\n      if (!(readEntry(k, srcPtep) & _PAGE_PRESENT)) throw new Error(`copy_pte_range: non-present non-none pte at 0x${a.toString(16)} (swap is not modelled)`);\n      yield* copy_one_pte(k, cpu, dst, dstPte0 + i * k.L.entrySize, srcPtep, a);\n    }\n    yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()\n    yield* spin_unlock(k, cpu, src.page_table_lock);\n',
    replace:
      '    yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()\n    for (let a = addr, i = 0; a < end; a += 4096n, i++) {\n      const srcPtep = pte_offset_kernel(k, srcPmdp, a);\n      if (readEntry(k, srcPtep) === 0n) continue; // pte_none(): progress++\n      if (!(readEntry(k, srcPtep) & _PAGE_PRESENT)) throw new Error(`copy_pte_range: non-present non-none pte at 0x${a.toString(16)} (swap is not modelled)`);\n      yield* copy_one_pte(k, cpu, dst, dstPte0 + i * k.L.entrySize, srcPtep, a);\n    }\n    yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()\n',
    // not scored: equivalent in 4-level paging (copy_pte_range()'s loop has no interleaving point: no other CPU can run while the lock would be held); in PAE (native_set_pte() yields between halves) not detected in 40 s on linux-4.8-smp-pae (7,226 executions)
    description: "copy_pte_range() copies the parent's ptes without taking the parent's pte lock",
  },
  {
    name: 'xen-l1-writable-pt-accepted',
    file: 'src/xen/mm.ts',
    preset: 'xen-4.7.1-pv',
    find: '    if (f & _PAGE_RW && !this.get_page_type(mfn, PGT_writable_page)) return this.couldNotPin(mfn, l1e, d, true);',
    replace: '    if (f & _PAGE_RW && !this.get_page_type(mfn, PGT_writable_page) && false) return this.couldNotPin(mfn, l1e, d, true);',
    // not scored: equivalent for a correct guest: Linux never asks Xen for a writable mapping of a page table (xen-refusal would report it); the check guards against a malicious guest, which the fuzz vocabulary does not model
    description: 'get_page_from_l1e() accepts a writable mapping of a frame whose type it could not change (a page table)',
  },
  {
    name: 'mprotect-no-pte-lock',
    file: 'src/linux/mprotect.ts',
    preset: 'linux-4.14-smp',
    find: '    yield* spin_lock(k, cpu, mm.page_table_lock);\n    yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()\n    for (let a = addr; a < end; a += 4096n) {\n      const ptep = pte_offset_kernel(k, pmdp, a);\n      if (!(readEntry(k, ptep) & _PAGE_PRESENT)) continue;\n      const ptent = yield* k.pv.mmu.ptep_modify_prot_start(k, cpu, mm, a, ptep);\n      yield* k.pv.mmu.ptep_modify_prot_commit(k, cpu, mm, a, ptep, pte_modify(k, ptent, newprot));\n      pages++;\n    }\n    yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()\n    yield* spin_unlock(k, cpu, mm.page_table_lock); // pte_unmap_unlock()\n',
    replace:
      '    yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()\n    for (let a = addr; a < end; a += 4096n) {\n      const ptep = pte_offset_kernel(k, pmdp, a);\n      if (!(readEntry(k, ptep) & _PAGE_PRESENT)) continue;\n      const ptent = yield* k.pv.mmu.ptep_modify_prot_start(k, cpu, mm, a, ptep);\n      yield* k.pv.mmu.ptep_modify_prot_commit(k, cpu, mm, a, ptep, pte_modify(k, ptent, newprot));\n      pages++;\n    }\n    yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()\n',
    // not scored: equivalent in 4-level paging (change_pte_range()'s loop has no interleaving point); in PAE a racing fault either backs off (NX in the high half) or loses its new page to the old one (same data): not detected in 40 s on linux-4.8-smp-pae (9,423 executions)
    description: 'change_pte_range() rewrites the ptes without the pte lock',
  },
];

/**
 * The seventh session's batch: 15 more one-step mutants of the kinds at sites neither list
 * nor the earlier batches touched, written before running any of them (docs/fuzzing.md, "Seventh
 * session"); the score they got blind is recorded there. The 6 detected (5 blind, 1 after the
 * GUP-fast walk guard) moved to bench/mutants-list.ts; these stay out of the score, each for its reason.
 */
export const UNSEEN_7: Mutant[] = [
  {
    name: 'do-flush-tlb-all-no-leave-mm',
    file: 'src/linux/tlbflush.ts',
    preset: 'linux-4.8-smp',
    find: "  if (k.config.smp && cpu.tlbState === 'lazy') yield* leave_mm(k, cpu);\n",
    replace: '',
    // not scored: equivalent in the model: a lazy CPU left in mm_cpumask keeps receiving the mm's flush IPIs, and flush_tlb_func() makes it leave then
    description: 'do_flush_tlb_all() does not leave_mm() on a lazy CPU (it stays in mm_cpumask on its old pgd)',
  },
  {
    name: 'rcu-gp-skips-caller',
    file: 'src/linux/rcupdate.ts',
    preset: 'linux-4.14-hyperv',
    find: '  const p: Pending = { name, fn, need: new Set(k.cpus.map((c) => c.index)) };',
    replace: '  const p: Pending = { name, fn, need: new Set(k.cpus.filter((c) => c !== cpu).map((c) => c.index)) };',
    // not scored: equivalent: the calling CPU unlinked the tables; a reader there can only begin after the call, and a grace period need not wait for it
    description: "call_rcu_sched()'s grace period does not wait for the calling CPU's quiescent state",
  },
  {
    name: 'follow-page-pte-no-lock',
    file: 'src/linux/gup_slow.ts',
    preset: 'linux-4.14-smp',
    find: '  yield* spin_lock(k, cpu, mm.page_table_lock); // pte_offset_map_lock()\n  try {\n    const pte = readEntry(k, ptep);\n    if (!(pte & _PAGE_PRESENT)) return null; // no_page\n    if (flags & FOLL_WRITE && !can_follow_write_pte(k, pte, flags)) return null;\n    if (pte & _PAGE_SPECIAL) return null; // vm_normal_page() NULL: follow_pfn_pte() (check_vma_flags() refused VM_PFNMAP already)\n    const page = entryAddr(k.L, pte) / 4096;\n    if (flags & FOLL_GET) get_page(k, page);\n    return page;\n  } finally {\n    yield* spin_unlock(k, cpu, mm.page_table_lock);\n',
    replace:
      "  const nolock = new (mm.page_table_lock.constructor as new (n: string) => typeof mm.page_table_lock)('nolock');\n  yield* spin_lock(k, cpu, nolock); // pte_offset_map_lock()\n  try {\n    const pte = readEntry(k, ptep);\n    if (!(pte & _PAGE_PRESENT)) return null; // no_page\n    if (flags & FOLL_WRITE && !can_follow_write_pte(k, pte, flags)) return null;\n    if (pte & _PAGE_SPECIAL) return null; // vm_normal_page() NULL: follow_pfn_pte() (check_vma_flags() refused VM_PFNMAP already)\n    const page = entryAddr(k.L, pte) / 4096;\n    if (flags & FOLL_GET) get_page(k, page);\n    return page;\n  } finally {\n    yield* spin_unlock(k, cpu, nolock);\n",
    // not scored: equivalent in the model (eighth session): a pte read without the lock while a zap holds it finds it cleared or takes a page reference before the gather's free, which keeps the frame alive; the write then lands in a page the zap removes, a legal linearization
    description: 'follow_page_pte() reads the pte and takes the page under a lock of its own instead of the pte lock',
  },
  {
    name: 'xen-flush-others-deferred-in-lazy-cpu',
    file: 'src/linux/xen/mmu.ts',
    preset: 'linux-4.14-xen-pv',
    find: "  yield* __xen_mc_entry(k, cpu, { op: 'mmuext_op', ops: [op] }, 'xen_flush_tlb_others');\n  yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU);",
    replace:
      "  yield* __xen_mc_entry(k, cpu, { op: 'mmuext_op', ops: [op] }, 'xen_flush_tlb_others');\n  yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU | PARAVIRT_LAZY_CPU);",
    // not scored: unreachable (eighth session): no path issues a remote flush between start_context_switch() and end_context_switch() (switch_mm() only queues a CR3 load; interrupts are off there)
    description: "xen_flush_tlb_others()' multicall also stays queued in lazy CPU mode (until the batch is flushed)",
  },
  {
    name: 'xen-drop-mm-ref-self-no-cr3',
    file: 'src/linux/xen/mmu.ts',
    preset: 'linux-4.14-xen-pv',
    find: '      yield* xen_write_cr3(k, cpu, BigInt(k.init_mm.pgd)); // load_cr3(swapper_pg_dir)\n      yield* xen_mc_flush(k, cpu);\n',
    replace: '',
    // not scored: unreachable (eighth session): exit_mmap() runs only from mmput() in exit_mm(), after current->mm was cleared, so the calling CPU's task never has the dying mm as mm
    description: 'xen_drop_mm_ref() does not load swapper_pg_dir on the calling CPU when its task still uses the mm',
  },
  {
    name: 'xen-drop-other-stays-in-cpumask',
    file: 'src/linux/xen/mmu.ts',
    preset: 'linux-4.14-xen-pv',
    find: '    mm.cpumask &= ~(1 << c.index); // leave_mm(): cpumask_clear_cpu(cpu, mm_cpumask(active_mm))\n',
    replace: '',
    // not scored: equivalent: the CPU already runs on swapper_pg_dir and the dying mm's mask is not used again
    description: "drop_other_mm_ref()'s leave_mm() loads swapper_pg_dir but leaves the CPU in mm_cpumask",
  },
  {
    name: 'xen-pin-pgd-no-flush',
    file: 'src/linux/xen/pin.ts',
    preset: 'linux-4.14-xen-pv',
    find: "level === 'pgd' ? UVMF_TLB_FLUSH : 0",
    replace: '0',
    // not scored: equivalent: Xen's own flush on the frame's type change to a page table removes the alias the guest's flush would
    description: 'xen_pin_page() makes the pgd read-only without UVMF_TLB_FLUSH (a writable alias may stay in a TLB)',
  },
  {
    name: 'cpa-no-unmap-aliases',
    file: 'src/linux/pageattr.ts',
    preset: 'linux-4.14-smp',
    find: '  yield* vm_unmap_aliases(k, cpu);\n',
    replace: '',
    // not scored: equivalent in the vocabulary: vm_map_ram()'s aliases (PAGE_KERNEL) are writable and NX like a vmalloc area, and set_memory toggles only NX: an alias never grants more
    description: 'change_page_attr_set_clr() does not call vm_unmap_aliases() (lazily unmapped vmap aliases of the frames keep their old attributes)',
  },
  {
    name: 'remap-pte-range-no-pte-lock',
    file: 'src/linux/pfnmap.ts',
    preset: 'linux-4.14.292-smp',
    find: '  yield* spin_lock(k, cpu, mm.page_table_lock);\n  yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()\n  if (readEntry(k, ptep) !== 0n) throw new Error(`remap_pte_range: kernel BUG: the pte of 0x${addr.toString(16)} is not none`);\n  yield* set_pte_at(k, cpu, mm, addr, ptep, (BigInt(pfn) << 12n) | prot | _PAGE_SPECIAL);\n  yield* k.pv.mmu.lazy_mode.leave(k, cpu);\n  yield* spin_unlock(k, cpu, mm.page_table_lock);\n',
    replace:
      "  const nolock = new (mm.page_table_lock.constructor as new (n: string) => typeof mm.page_table_lock)('nolock');\n  yield* spin_lock(k, cpu, nolock);\n  yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()\n  if (readEntry(k, ptep) !== 0n) throw new Error(`remap_pte_range: kernel BUG: the pte of 0x${addr.toString(16)} is not none`);\n  yield* set_pte_at(k, cpu, mm, addr, ptep, (BigInt(pfn) << 12n) | prot | _PAGE_SPECIAL);\n  yield* k.pv.mmu.lazy_mode.leave(k, cpu);\n  yield* spin_unlock(k, cpu, nolock);\n",
    // not scored: equivalent in 4-level paging (eighth session): no interleaving point while the lock would be held (set_pte_at() is one store, the lazy MMU hooks no-ops), so no other CPU can find it taken
    description: 'remap_pte_range() installs the special ptes under a lock of its own instead of the pte lock',
  },
];

/**
 * The eighth session's batch: 20 more one-step mutants of the kinds at sites none of the
 * lists nor the earlier batches touched, across native, PAE, 32-bit, Xen PV and Hyper-V presets,
 * written and committed before running any of them (docs/fuzzing.md, "Eighth session"); the score
 * they got blind is recorded there. The 16 detected moved to bench/mutants-list.ts; these stay out
 * of the score, each for its reason. (A fourth, vfree-flush-before-clear, was dropped in the
 * seventeenth session: vfree() no longer flushes; it leaves the flush to the lazy purge; and
 * vmap-purge-range-one-short, which that change made reachable, moved to the list.)
 */
export const UNSEEN_8: Mutant[] = [
  {
    name: 'remove-table-one-no-ipi',
    file: 'src/linux/mmu_gather.ts',
    preset: 'linux-4.14-hyperv',
    find: "  yield* smp_call_function(k, cpu, 'tlb_remove_table_smp_sync', tlb_remove_table_smp_sync);\n",
    replace: '',
    // not scored: rare shape: the table batch's GFP_NOWAIT page must fail (fail_nth) while a GUP-fast walk of the same mm on another CPU sits between two levels (not in 13,890 executions, 30 s)
    description: 'tlb_remove_table_one() frees the table without the IPI that waits for IRQs-off walkers (GUP-fast)',
  },
  {
    name: 'xen-drop-other-no-batch-flush',
    file: 'src/linux/xen/mmu.ts',
    preset: 'linux-4.14-xen-pv',
    find: '  if (st.mc[c.index].slots.length > 0)\n    st.xen.multicall(\n      c.index,\n      takeBatch(k, c).map((x) => x.entry),\n    );\n',
    replace: '',
    // not scored: equivalent in the model: what the other CPU's batch can hold belongs to its own mm (issued when it leaves lazy mode) or is a queued CR3 load, and drop_other_mm_ref() loads swapper_pg_dir itself for a CPU whose base pointer is still the dying pgd
    description: "drop_other_mm_ref() does not issue the other CPU's pending multicall batch (xen_mc_flush()) before it drops the mm",
  },
];

/**
 * The eighth session's second batch, the fifth blind one (docs/fuzzing.md, "Eighth session",
 * "Every return to user mode"): flushes deleted or weakened in
 * system-call paths whose return the TLB-coherence oracle did not judge — madvise(MADV_DONTNEED),
 * the zap of a truncation or a device release (zap_page_range_single()), and the FOLL_FORCE
 * copy-on-write of a /proc/self/mem write — written and committed before any was run. The five
 * detected moved to bench/mutants-list.ts; the two misses stay, with their reason.
 */
export const UNSEEN_9: Mutant[] = [
  {
    name: 'foll-force-cow-no-flush',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.14-smp',
    find: '    yield* ptep_clear_flush(k, cpu, mm, address, ptep);\n    page_add_new_anon_rmap(k, npfn);\n',
    replace:
      '    if (vma.vm_flags & VM_WRITE) yield* ptep_clear_flush(k, cpu, mm, address, ptep);\n    else yield* k.pv.mmu.pte_clear(k, cpu, mm, address, ptep);\n    page_add_new_anon_rmap(k, npfn);\n',
    // not scored: rare shape: a read of a read-only private page, then a /proc/self/mem write to it (the FOLL_FORCE copy-on-write) in one campaign program; the oracle reports it on a 4-operation program (write() to /proc/self/mem), not in 7,208 executions at 30 s (9,009 on the 32-bit preset)
    description: 'the copy-on-write of a read-only private page (a FOLL_FORCE write: /proc/self/mem) clears the old pte without flushing it',
  },
  {
    name: 'foll-force-cow-no-flush-32bit',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.8-smp-32bit',
    find: '    yield* ptep_clear_flush(k, cpu, mm, address, ptep);\n    page_add_new_anon_rmap(k, npfn);\n',
    replace:
      '    if (vma.vm_flags & VM_WRITE) yield* ptep_clear_flush(k, cpu, mm, address, ptep);\n    else yield* k.pv.mmu.pte_clear(k, cpu, mm, address, ptep);\n    page_add_new_anon_rmap(k, npfn);\n',
    // not scored: rare shape: a read of a read-only private page, then a /proc/self/mem write to it (the FOLL_FORCE copy-on-write) in one campaign program; the oracle reports it on a 4-operation program (write() to /proc/self/mem), not in 7,208 executions at 30 s (9,009 on the 32-bit preset)
    description: 'the copy-on-write of a read-only private page (a FOLL_FORCE write: /proc/self/mem) clears the old pte without flushing it (32-bit paging)',
  },
];

/**
 * The ninth session's batch, the sixth blind one (docs/fuzzing.md, "the oracles against mutants
 * they were not written for"): 13 one-step mutants, mostly weakenings rather than deletions — a
 * flush range cut short or reduced to one page, a cpumask that leaves out one CPU, a flush moved
 * before the stores it covers, a pte lock taken after the check it guards, an inverted condition,
 * a remote handler that flushes instead of leaving a lazy mm, a Xen stamp and a multicall op kind
 * dropped — at sites and in styles the list and the earlier batches did not use, written and
 * committed before any was run; then a second wave of 7, also committed before it ran. 18 of the 20
 * were detected blind and moved to bench/mutants-list.ts; the two misses stay, each with its reason.
 */
export const UNSEEN_10: Mutant[] = [
  {
    name: 'flush-func-lazy-flushes-not-leave',
    file: 'src/linux/tlbflush.ts',
    preset: 'linux-4.14-smp',
    find: '  } else {\n    yield* leave_mm(k, cpu);\n  }\n}',
    replace: '  } else {\n    yield* __flush_tlb(k, cpu);\n  }\n}',
    // not scored: equivalent in the model: the lazy CPU stays in mm_cpumask, so every later flush of the mm — each comes before a page table of it is freed — still reaches it and flushes its TLB and paging-structure caches (CR3 reload), and its pgd is freed only after it switched away (it holds mm_count); what leave_mm() adds is fewer IPIs. The branch runs in execution 1 (a BUG() probe there); not detected in 79,946 executions at 60 s
    description: "flush_tlb_func() on a lazy CPU flushes its TLB instead of leave_mm() (it stays in mm_cpumask on the mm's pgd)",
  },
  // ---- second wave, written and committed before any of it was run, after the first 13 ran
  {
    name: 'wp-copy-check-before-lock',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.14-smp',
    find: '  yield* spin_lock(k, cpu, mm.page_table_lock); // pte_offset_map_lock()\n  let ret = 0;\n  if (readEntry(k, ptep) === orig_pte) {',
    replace:
      '  const same = readEntry(k, ptep) === orig_pte;\n  yield* spin_lock(k, cpu, mm.page_table_lock); // pte_offset_map_lock()\n  let ret = 0;\n  if (same) {',
    // not scored: rare shape: after a fork, one thread write-faults a COW page (the copy path) while another thread's madvise(MADV_DONTNEED) of the range holds the pte lock between two pages (the zap yields between pages, the page not yet cleared); not in 95,778 executions at 60 s (no model error either). On that 7-operation program (docs/fuzzing.md, ninth session) the mutant is reported in 37 of 5,000 random schedules (frame-lifetime: the old page freed while the child maps it, or freed twice; 31 before the double-free report, 6 of the others ended as model errors), the real code in none
    description: 'wp_page_copy() compares the pte with orig_pte before it retakes the pte lock instead of under it',
  },
];

/**
 * The ninth session's second blind batch (docs/fuzzing.md, "UNSEEN_11"): 16 one-step mutants of the
 * issue's kinds other than a deleted or weakened flush, at sites none of the lists nor the earlier
 * batches touched: the pte lock and mmap_sem (zap_pte_range(), do_wp_page()'s reuse path,
 * finish_fault(), mprotect() and munmap() downgrading mmap_sem), IRQs-off in GUP-fast, an RCU
 * callback run early, switch_mm()'s lazy state and leave_mm() in interrupt context, Xen's type,
 * linear-table, fast-path, pin and flush-filter checks, multicall ordering and Xen's
 * arch_flush_lazy_mmu_mode(); written and committed before any was run. The 13 detected blind
 * moved to bench/mutants-list.ts (section "UNSEEN_11"); these three stay out of the score, each for
 * its reason (all three equivalent in the model).
 */
export const UNSEEN_11: Mutant[] = [
  {
    name: 'mprotect-mmap-sem-downgraded',
    file: 'src/linux/mprotect.ts',
    preset: 'linux-4.14-smp',
    find: "    yield* down_write(k, cpu, mm.mmap_sem);\n    let err = 0;\n    let vma = find_vma(mm, start);\n    if (!vma || vma.vm_start > start) err = -ENOMEM;\n    for (let nstart = start; vma && err === 0;) {\n      const newflags = vmFlags | (vma.vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC));\n      const tmp = vma.vm_end < end ? vma.vm_end : end;\n      err = yield* traced(cpu, 'mprotect_fixup', () => mprotect_fixup(k, cpu, mm, vma!, nstart, tmp, newflags));\n      nstart = tmp;\n      if (err !== 0 || nstart >= end) break;\n      vma = find_vma(mm, nstart);\n      if (!vma || vma.vm_start !== nstart) err = -ENOMEM;\n    }\n    up_write(mm.mmap_sem, cpu.curr);\n    return err;",
    replace:
      "    yield* down_write(k, cpu, mm.mmap_sem);\n    mm.mmap_sem.writer = null; // downgrade_write(): now held for reading\n    mm.mmap_sem.readers.set(cpu.curr, 1);\n    let err = 0;\n    let vma = find_vma(mm, start);\n    if (!vma || vma.vm_start > start) err = -ENOMEM;\n    for (let nstart = start; vma && err === 0;) {\n      const newflags = vmFlags | (vma.vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC));\n      const tmp = vma.vm_end < end ? vma.vm_end : end;\n      err = yield* traced(cpu, 'mprotect_fixup', () => mprotect_fixup(k, cpu, mm, vma!, nstart, tmp, newflags));\n      nstart = tmp;\n      if (err !== 0 || nstart >= end) break;\n      vma = find_vma(mm, nstart);\n      if (!vma || vma.vm_start !== nstart) err = -ENOMEM;\n    }\n    mm.mmap_sem.readers.delete(cpu.curr); // up_read()\n    mm.mmap_sem.writer = cpu.curr;\n    up_write(mm.mmap_sem, cpu.curr);\n    return err;",
    // not scored: equivalent in the model: down_write(), the downgrade and mprotect_fixup()'s split and new vm_flags run in one scheduler step (no interleaving point between), so a fault that takes mmap_sem after the downgrade sees the new flags, and one that took it before makes down_write() wait; the fault path reads vm_flags again when it builds the pte (do_anonymous_page(), wp_page_reuse()), after its one interleaving point (pte_alloc_one); a later vma of the range changes after the first one's change_protection(), and a pte a fault built meanwhile with the old flags is rewritten by that vma's change_pte_range() under the pte lock (81,308 executions, 60 s)
    description: 'sys_mprotect() downgrades mmap_sem to a read hold right after taking it (page faults run while it changes the vmas and ptes)',
  },
  {
    name: 'munmap-mmap-sem-downgraded-early',
    file: 'src/linux/mmap.ts',
    preset: 'linux-4.8-smp',
    find: '  yield* down_write(k, cpu, mm.mmap_sem);\n  const ret = yield* do_munmap(k, cpu, mm, start, len);\n  up_write(mm.mmap_sem, cpu.curr);',
    replace:
      '  yield* down_write(k, cpu, mm.mmap_sem);\n  mm.mmap_sem.writer = null; // downgrade_write(): now held for reading\n  mm.mmap_sem.readers.set(cpu.curr, 1);\n  const ret = yield* do_munmap(k, cpu, mm, start, len);\n  mm.mmap_sem.readers.delete(cpu.curr); // up_read()\n  mm.mmap_sem.writer = cpu.curr;\n  up_write(mm.mmap_sem, cpu.curr);',
    // not scored: equivalent in the model: down_write(), the downgrade and do_munmap()'s split and detach of the vmas run in one scheduler step, so a fault that takes mmap_sem for reading after the downgrade finds no vma (SIGSEGV, as with the write hold), and one that took it before makes down_write() wait (85,511 executions, 60 s)
    description:
      'vm_munmap() downgrades mmap_sem to a read hold before do_munmap() detaches the vmas (page faults run while it unmaps and frees the page tables)',
  },
  {
    name: 'rcu-gp-runs-all-callbacks',
    file: 'src/linux/rcupdate.ts',
    preset: 'linux-4.14-hyperv',
    find: '      const done = st.pending.filter((p) => p.need.size === 0);\n      st.pending = st.pending.filter((p) => p.need.size > 0);',
    replace: '      const done = st.pending;\n      st.pending = [];',
    // not scored: equivalent with two CPUs (every SMP preset): the rcu_sched thread's own CPU is quiescent at each of its steps, so a callback's grace period ends at the first step that sees the other CPU quiescent, and that step clears the CPU for every later callback too (72,464 executions, 60 s); with --set cpus=3 a targeted program (two munmaps freeing page tables, GUP-fast walks on the other two CPUs) ran a later callback before the thread saw every CPU once in 300 schedules, never while a CPU stayed in one IRQs-off section from call_rcu_sched() on (the rcu-grace-period oracle, which samples every step, would report that)
    description: "rcu_gp_kthread() invokes every pending callback once the oldest one's grace period is over (callbacks queued later run early)",
  },
];

/**
 * The fifteenth session's batch, the eighth blind one (docs/fuzzing.md, "the oracles against
 * mutants they were not written for"): sites in files no earlier mutant touched (the native
 * backend's INVLPG and global flush and its protection-change start, the fault handler's vma
 * checks, exit_mm(), mmap_sem, the anonymous and copy-on-write pages' contents and protections,
 * Xen's remote INVLPG, its PRESERVE_AD commit, its L2 superpage and page-owner checks), written
 * before any was run. 10 of 14 were detected as written; the page-owner one after the guest's
 * vocabulary could name frames it does not own (xen_foreign_frames). Those 11 moved to the list.
 */
export const UNSEEN_12: Mutant[] = [
  {
    name: 'modify-prot-start-no-clear',
    file: 'src/linux/native.ts',
    preset: 'linux-4.14-smp',
    find: '  const old = readEntry(k, ptep);\n  writeEntry(k, ptep, 0n);\n  return old;',
    replace: '  const old = readEntry(k, ptep);\n  return old;',
    // not scored: equivalent in the model: nothing reads the accessed and dirty bits a CPU sets meanwhile (no reclaim, no writeback, no MADV_FREE), so a lost A or D bit changes no outcome; every writable pte the model builds is dirty already (51,479 executions, 60 s)
    description: "__ptep_modify_prot_start() reads the pte without clearing it (mprotect's change leaves it present meanwhile)",
  },
  {
    name: 'xen-ptep-commit-not-issued',
    file: 'src/linux/xen/mmu.ts',
    preset: 'linux-4.14-xen-pv',
    find: "  yield* xen_extend_mmu_update(k, cpu, { ptr, val: pte }, 'xen_ptep_modify_prot_commit');\n  yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU);\n",
    replace: "  yield* xen_extend_mmu_update(k, cpu, { ptr, val: pte }, 'xen_ptep_modify_prot_commit');\n",
    // not scored: equivalent in the model: the only caller, mprotect's change_pte_range(), runs in lazy MMU mode, whose leave issues the batch before the pte lock is dropped (27,549 executions, 60 s)
    description: 'xen_ptep_modify_prot_commit() queues its mmu_update without issuing it outside lazy MMU mode',
  },
  {
    name: 'xen-l2-superpage-accepted',
    file: 'src/xen/mm.ts',
    preset: 'linux-4.14-xen-pv',
    find: "    this.log(MM_C_LINE.superpageDisallowed, 'Attempt to map superpage without allowsuperpage flag in hypervisor');\n    return -EINVAL;",
    replace: '    return 1;',
    // not scored: unreachable on every fixed preset: with the XSA-148 fix L2_DISALLOW_MASK refuses PSE in mod_l2_entry() before get_page_from_l2e() (and pin validation refuses it in alloc_l2_table() the same way); without the fix (xen-4.6.0-pv) the fast path is the bug itself (35,617 executions, 60 s)
    description: 'get_page_from_l2e() accepts a PSE L2 entry without a reference or type check (a guest superpage over any frames)',
  },
];

/**
 * The sixteenth session's second blind batch: 12 one-step mutants written down and committed
 * before any was run, favouring the forms earlier batches used less: a step moved after the one
 * that must follow it (an unlock before the flush, a free before the sync IPI, the type release
 * before the unpin), a check or a release applied to the wrong object (the new entry instead of
 * the old, the new base instead of the old, every CPU instead of the flushing one, mm_cpumask
 * alone instead of the CPU's current base, the MMU lazy mode instead of the caller's, init_mm's
 * lock instead of the mm's), and an operation done on part of what it must cover (one CPU's vmap
 * blocks). 9 detected as written, a 10th (xen-new-baseptr-puts-new) after the type-reference
 * audit was added; those 10 moved to the list. The two below are equivalent in the model.
 */
export const UNSEEN_15: Mutant[] = [
  {
    name: 'pmd-alloc-wrong-lock',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.8-smp',
    find: '  const pmd = k.allocPageTable(2);\n  yield* spin_lock(k, cpu, mm.page_table_lock);\n  if (!pud_present(k, pudp)) yield* pud_populate(k, cpu, mm, pudp, pmd);\n  else k.m.frames.free(pmd / 4096);\n  yield* spin_unlock(k, cpu, mm.page_table_lock);',
    replace:
      '  const pmd = k.allocPageTable(2);\n  yield* spin_lock(k, cpu, k.init_mm.page_table_lock);\n  if (!pud_present(k, pudp)) yield* pud_populate(k, cpu, mm, pudp, pmd);\n  else k.m.frames.free(pmd / 4096);\n  yield* spin_unlock(k, cpu, k.init_mm.page_table_lock);',
    // not scored: equivalent, by construction and in the model: init_mm's page_table_lock is one global lock, so two faults of one mm still serialize in __pmd_alloc() (only exclusion against other holders of mm->page_table_lock over the pud is lost, and nothing else writes a user pud under it: free_pgtables() clears one under mmap_sem held for writing, which excludes the faults); a wrong-mm lock, not a global one, was the bug meant. On linux-4.8-smp the path is moreover atomic: from pte_alloc_walk()'s pud_none() to the native set_pud() store there is no scheduling point (61,715 executions, 60 s; instrumented: 65,892 __pmd_alloc() calls, the recheck never found the pud present). Diagnostic run on linux-4.14-xen-pv (alloc_pmd is hypercalls there): 21,594 executions, 60 s, no finding, 219 rechecks found the pud populated by the other thread meanwhile, each time handled as before
    description:
      "__pmd_alloc() rechecks and populates the pud under init_mm's page_table_lock instead of the mm's (two faults of one mm can both install a pmd table)",
  },
  {
    name: 'xen-mc-issue-checks-mmu-mode',
    file: 'src/linux/xen/multicalls.ts',
    preset: 'linux-4.14-xen-pv',
    find: '  if ((lazyBits(cpu) & mode) === 0 && b.slots.length > 0) return issue_after_flush(k, cpu, b);',
    replace: '  if ((lazyBits(cpu) & PARAVIRT_LAZY_MMU) === 0 && b.slots.length > 0) return issue_after_flush(k, cpu, b);',
    // not scored: equivalent in the model: the only calls whose decision changes are __xen_write_cr3()'s xen_mc_issue(PARAVIRT_LAZY_CPU) inside a context switch (lazy CPU mode), which the mutant issues at once instead of at end_context_switch(): the same hypercalls in the same order, one batch earlier (25,402 executions, 60 s; instrumented, 40 s: 123,731 changed decisions, every one lazy=CPU mode=CPU from __xen_write_cr3). The harmful direction, a CR3 write or a pin (mode 0) left queued in lazy MMU mode, never occurred (none of the 123,731): lazy MMU sections are pte loops that write no CR3 and pin nothing, remote user flushes on Xen PV are hypercalls (no flush_tlb_func() IPI), and a kernel-range flush IPI runs leave_mm() only on a lazy (kernel-thread) CPU, which is not inside a pte loop
    description:
      "xen_mc_issue() tests the MMU lazy mode instead of the caller's mode (in lazy MMU mode a CR3 write or a pin is left queued; in lazy CPU mode a CR3 write is issued at once)",
  },
];

/**
 * The sixteenth session's third blind batch: 10 one-step mutants at code no batch had reached
 * (the gather's pending count, the RCU table free's order, Xen's batch with interrupts on, Xen's
 * private L4 slots, mod_l3_entry()'s refusal, ptwr emulation of a non-L1 table, the fault path's
 * page->mapping recheck, GUP-fast's write check, free_pmd_range()'s floor, mremap's lazy-mode exit),
 * written and committed before any was run. 5 detected as written, a 6th (gup-fast-write-ignores-rw)
 * after the process view judged write pins; those 6 moved to the list, and a 7th
 * (xen-mc-batch-irqs-on) in the seventeenth session, after the kernel's BUG_ON(preemptible()) of the
 * multicall buffer was modelled. The three below: a rare shape (an oracle gap until the seventeenth
 * session), one the fuzzer's operations cannot reach, one too rare in the model.
 */
export const UNSEEN_16: Mutant[] = [
  {
    name: 'xen-mod-l4-private-slot',
    file: 'src/xen/mm.ts',
    preset: 'linux-4.14-xen-pv',
    find: '    if (!is_guest_l4_slot(slot)) {\n      this.log(MM_C_LINE.illegalL4Update',
    replace: '    if (false) {\n      this.log(MM_C_LINE.illegalL4Update',
    // not scored: unreachable by the vocabulary (16,532 executions, 60 s): no operation writes an L4 entry in Xen's slots 256-271: gpt_update's index is 0..GPT_INDICES-1 (4), pt_set/pt_clear touch entries on the walk to a kernel object (slots 272 and up), and pt_linear takes the highest-numbered free entry of the table (near 511); the xen-pv-escalation audit would judge a guest-written linear or per-domain slot. Vocabulary fix: let gpt_update (and pt_linear at level 4) pick from the boundary slots 255, 256, 258 (LINEAR_PT_L4_SLOT), 260, 271, 272 of an L4
    description: "mod_l4_entry() lets the guest update an L4 slot in Xen's private area (the linear and per-domain slots)",
  },
  {
    name: 'filemap-fault-no-mapping-recheck',
    file: 'src/linux/filemap.ts',
    preset: 'linux-4.14-smp',
    find: '    if (page_mapping(k, page) !== mapping) {\n      unlock_page(k, page);\n      put_page(k, page);\n      continue; // goto retry_find',
    replace: '    if (false) {\n      unlock_page(k, page);\n      put_page(k, page);\n      continue; // goto retry_find',
    // not scored: a rare shape, and an oracle gap until the seventeenth session (33,274 executions, 60 s; 51,225 with the gap closed): the i_size recheck under the page lock still refuses a page truncated away, so the mutant matters only if the file grew back (a second ftruncate) between the truncation and the fault's lock_page(); then the fault maps a page that is no longer the file's page-cache page (an orphan, kept alive by the fault's reference, so frame-lifetime sees nothing), and the process view keeps no shadow of a shared file mapping's data (judge(): 'the shadow keeps none'), so no oracle judged that two mappings of one file offset use different frames. Closed since by the general check (src/fuzz/interp.ts checkPageCache(), at every judged access of a shared file page and after a /proc/self/mem write into one): at quiescence (and at each judged access) every present pte of a VM_SHARED file vma maps the page cache's page for its index (mapping.page_tree.get(pgoff)), and a page removed from the page cache is mapped nowhere
    description: 'filemap_fault() does not recheck page->mapping after lock_page(): a page truncation removed from the page cache meanwhile is mapped',
  },
  {
    name: 'mremap-lazy-leave-after-unlock',
    file: 'src/linux/mremap.ts',
    preset: 'linux-4.14-xen-pv',
    find: "    yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()\n    if (force_flush) yield* traced(cpu, 'flush_tlb_range', () => flush_tlb_range(k, cpu, mm, old_end - len, old_end));\n    else need_flush = true; // 'deferred' only: *need_flush = true (the fix has no need_flush)\n    yield* spin_unlock(k, cpu, mm.page_table_lock); // pte_unmap_unlock()\n",
    replace:
      "    if (force_flush) yield* traced(cpu, 'flush_tlb_range', () => flush_tlb_range(k, cpu, mm, old_end - len, old_end));\n    else need_flush = true; // 'deferred' only: *need_flush = true (the fix has no need_flush)\n    yield* spin_unlock(k, cpu, mm.page_table_lock); // pte_unmap_unlock()\n    yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()\n",
    // not scored: rare shape (19,444 executions, 60 s): mremap() holds mmap_sem for writing, so no fault, munmap or mprotect of the mm can use the window between the pte unlock and the late lazy-mode leave (where the pte clears, stores and flush are still queued); only a truncation's unmap_mapping_range() (which takes the pte lock, finds the old pte still present, zaps and frees the page, then the queued store maps the freed page at the new address: frame-lifetime) or GUP-fast can, and the process view counts accesses during an mremap as racy. A structural check would see it at once: a page-table lock is never released while the CPU's multicall buffer holds mmu_updates of tables it covers
    description:
      'move_ptes() leaves lazy MMU mode after dropping the pte lock: on Xen PV the batched pte clears, stores and flush are issued after another CPU may take the lock',
  },
];

/**
 * The seventeenth session's blind batch: 12 one-step mutants at sites no list or earlier batch
 * touched (vb_free()'s region reuse, the lazy-TLB mm reference in context_switch(), Xen's exit-path
 * leave_mm(), PAE pgd_free()'s shared kernel pmd, __get_page_type()'s type-change count, the second
 * pass of truncate_inode_pages_range(), the nested-flush range of zap_page_range_single(), the
 * pending-flush count of tlb_finish_mmu(), free_page_type() of an L1, madvise()'s VM_PFNMAP
 * check, check_vma_flags()' shared read-only refusal, ___pud_free_tlb()'s RCU free), written and
 * committed before any was run. 8 detected as written, a 9th (gup-force-write-shared-ro) after the
 * process view judged shared file mappings (their data, and that each maps the file's page); those
 * 9 moved to the list. The three below: two shapes the campaign makes too rarely, one equivalent.
 */
export const UNSEEN_17: Mutant[] = [
  {
    name: 'truncate-second-pass-no-page-lock',
    file: 'src/linux/truncate.ts',
    preset: 'linux-4.14-smp',
    find: '      yield* lock_page(k, cpu, pfn);\n      if (mapping.page_tree.get(index) === pfn) yield* truncate_inode_page(k, cpu, mapping, index, pfn);\n      unlock_page(k, pfn);\n',
    replace: '      if (mapping.page_tree.get(index) === pfn) yield* truncate_inode_page(k, cpu, mapping, index, pfn);\n',
    // not scored: rare shape (31,784 executions, 60 s): from lock_page() in filemap_fault() to finish_fault()'s set_pte there is no interleaving point unless the pte lock is contended, so the truncation can run its second pass in the fault's window only while the fault spins on the pte lock of its mm, and the whole tail (pass 2, the second unmap_mapping_range()) must run before the spinner gets the lock; then the fault maps a page no longer in the page cache, beyond EOF, and only a later access of that page (which must get SIGBUS) shows it. The general check of UNSEEN_16's filemap-fault-no-mapping-recheck (a VM_SHARED file pte maps the page cache's page for its index) would see it at the mapping
    description:
      "truncate_inode_pages_range()'s second pass removes pages without waiting for the page lock (a fault holding it between filemap_fault()'s checks and finish_fault() maps a page removed from the page cache)",
  },
  {
    name: 'zap-single-nested-range-one-page',
    file: 'src/linux/memory.ts',
    preset: 'linux-4.14-smp',
    find: '    const tlb = tlb_gather_mmu(vma.vm_mm!, address, end);',
    replace: '    const tlb = tlb_gather_mmu(vma.vm_mm!, address, address + 4096n);',
    // not scored: rare shape (38,043 executions, 60 s): only the driver release's zap frees frames it did not unmap, so the short forced flush matters only when munmap() of a device mapping of 2+ pages cleared its ptes and a page other than the first is cached in a TLB when the release zaps in the window before munmap's flush. Hand-written 5-operation program (mmap_dev 2 pages, read page 1, clone, dev_release || munmap): frame-lifetime in 16 of 1,000 random schedules (the unmutated code: none; tlb_flush_nested=false: 15 of 300 on the same program, and its campaign finds the page-0 variant in 192 executions)
    description:
      'zap_page_range_single() gathers with the range of its first page only: the forced flush of tlb_finish_mmu() (a concurrent gather of the mm) covers one page instead of the zapped range',
  },
  {
    name: 'tlb-finish-dec-pending-before-flush',
    file: 'src/linux/mmu_gather.ts',
    preset: 'linux-4.14-smp',
    find: '    yield* tlb_flush_mmu(k, cpu, tlb);\n    yield* tlb_table_flush(k, cpu, tlb);\n  } finally {\n    fns.pop();\n    tlb.mm.tlb_flush_pending--;\n  }',
    replace:
      '    tlb.mm.tlb_flush_pending--;\n    yield* tlb_flush_mmu(k, cpu, tlb);\n    yield* tlb_table_flush(k, cpu, tlb);\n  } finally {\n    fns.pop();\n  }',
    // not scored: equivalent for what the oracles judge (32,721 executions, 60 s): the only racer that frees frames it did not unmap is the driver release, and its whole unmap_mapping_range() (zap, forced flush, free after) runs under i_mmap_rwsem, which munmap()/exit_mmap() need (unlink_file_vma()) before they reach tlb_finish_mmu(); so the early dec_tlb_flush_pending() never overlaps the release's mm_tlb_flush_nested() test. Between madvise/munmap gathers the nested flush only serves the write-after-return promise of 99baac21e458 (a thread whose madvise() returned writes through a stale entry into a page the other gather frees), which the process view does not judge while another mapping change of the mm is in flight
    description:
      "tlb_finish_mmu() calls dec_tlb_flush_pending() before its flush: a concurrent gather's mm_tlb_flush_nested() no longer sees this one, whose ptes are cleared but not yet flushed",
  },
];

/** Every generality batch (not scored), for `--unseen` and `--check`. */
export const ALL_UNSEEN: Mutant[] = [
  ...UNSEEN,
  ...UNSEEN_6,
  ...UNSEEN_7,
  ...UNSEEN_8,
  ...UNSEEN_9,
  ...UNSEEN_10,
  ...UNSEEN_11,
  ...UNSEEN_12,
  ...UNSEEN_15,
  ...UNSEEN_16,
  ...UNSEEN_17,
];
