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
    name: 'leave-mm-no-cr3',
    file: 'src/linux/tlbflush.ts',
    preset: 'linux-4.8-smp',
    find: '    active.cpumask &= ~(1 << cpu.index);\n    yield* k.pv.mmu.write_cr3(k, cpu, BigInt(k.init_mm.pgd));',
    replace: '    active.cpumask &= ~(1 << cpu.index);',
    // not scored: equivalent in the model: no speculative walks; mm_count keeps the pgd, switch_mm() reloads CR3
    description: 'leave_mm() leaves mm_cpumask but keeps the borrowed pgd in CR3',
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
