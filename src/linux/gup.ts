/**
 * GUP-fast: get_user_pages_fast() of arch/x86/mm/gup.c (3.x/4.x). A lockless software walk of
 * the current mm's page tables with interrupts disabled: no mmap_sem, no page_table_lock. It is
 * safe only because freeing a page table requires a TLB shootdown that cannot complete while
 * this CPU has interrupts off (an IPI waits for them), or, with HAVE_RCU_TABLE_FREE, an RCU-sched
 * grace period, which the IRQ-off region also holds back (include/asm-generic/tlb.h).
 *
 * The walk reads one level per step (gup_pud_range, gup_pmd_range, gup_pte_range; each entry
 * read once, ACCESS_ONCE/gup_get_pte), yielding between levels so that other CPUs interleave.
 * It walks the levels the paging mode has (4-level, PAE: pgd = PDPTE, pmd, pte; 2-level: pgd =
 * pmd, pte), as the kernel's folded accessors do.
 * Every table read is checked by the page-table use-after-free sanitizer: a table freed (or
 * reused) after the walker read the entry pointing to it is reported and stops the run.
 */
import { FindingStop } from '../sanitizers/finding.js';
import type { KGen } from '../scheduler/types.js';
import { _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER } from './constants.js';
import type { Kernel } from './kernel.js';
import { tableIndex as layoutTableIndex, type Layout } from './layout.js';
import type { LinuxCpu } from './percpu.js';
import { entryAddr, readEntry } from './pgtable.js';
import { local_irq_disable, local_irq_enable } from './preempt.js';
import { ptUafOf } from './pt_sanitizers.js';
import type { MmStruct } from './structs.js';
import { defineKernelState } from './kstate.js';
import { enterFn } from '../scheduler/traced.js';
import { mustYield } from '../scheduler/point.js';

/** Labels of the interleaving points between the levels of the walk. */
export const LBL_GUP_PUD = 'gup_pud_range';
export const LBL_GUP_PMD = 'gup_pmd_range';
export const LBL_GUP_PTE = 'gup_pte_range';

/** Statistics of GUP-fast walks. */
export interface GupStats {
  pinned: number;
  slowPath: number;
}

export const gupStats = defineKernelState((): GupStats => ({ pinned: 0, slowPath: 0 }));

const LEVEL_NAME = ['', 'pte', 'pmd', 'pud', 'pgd'];

/** Index of `addr` in its table at `level` (1 = pte) when the pgd is at level `top`, for any paging mode. */
function tableIndex(L: Layout, top: number, level: number, addr: bigint): number {
  const [shift, ptrs] =
    level === top
      ? [L.PGDIR_SHIFT, L.PTRS_PER_PGD]
      : level === 1
        ? [12, L.PTRS_PER_PTE]
        : level === 2
          ? [L.PMD_SHIFT, L.PTRS_PER_PMD]
          : [L.PUD_SHIFT, L.PTRS_PER_PUD];
  return layoutTableIndex(addr, shift, ptrs);
}
const FN = ['', 'gup_pte_range', 'gup_pmd_range', 'gup_pud_range', 'get_user_pages_fast'];

/**
 * get_user_pages_fast(start, nr_pages, write, pages): returns how many pages it pinned
 * (get_page() on each); a missing or non-matching entry falls back to the slow path, which the
 * model does not run (it returns the count so far, as the fast part does).
 */
export function* get_user_pages_fast(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, nrPages: number, write: boolean, pages?: number[]): KGen<number> {
  const fns = enterFn(cpu, 'get_user_pages_fast');
  try {
    const san = ptUafOf(k);
    let nr = 0;
    // "we can prevent pagetable teardown by disabling interrupts" (mm/gup.c): the walk's guard
    local_irq_disable(cpu);
    const walk = san.beginWalk('get_user_pages_fast', cpu.index, () => (cpu.IF ? 'interrupts enabled' : null));
    const need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0n);
    const L = k.L;
    const top = L.paging === '4level' ? 4 : L.paging === 'pae' ? 3 : 2; // the pgd's level: folded levels are not read twice
    outer: for (let i = 0; i < nrPages; i++) {
      const addr = start + BigInt(i) * 4096n;
      let table = mm.pgd;
      let e = 0n;
      walk.link(table);
      for (let level = top; level >= 1; level--) {
        const entryPa = table + tableIndex(L, top, level, addr) * L.entrySize;
        walk.walker = FN[level];
        const f = walk.check(entryPa, `${LEVEL_NAME[level]} entry`);
        if (f) throw new FindingStop(f);
        e = readEntry(k, entryPa);
        // A PAE PDPTE holds only P (pud_none() is all the kernel asks of it).
        const want = L.paging === 'pae' && level === top ? _PAGE_PRESENT : need;
        if ((e & want) !== want || (level > 1 && e & _PAGE_PSE)) {
          gupStats(k).slowPath++;
          break outer; // goto slow (huge pages are not modelled)
        }
        if (level === 1) break;
        table = entryAddr(L, e);
        walk.link(table);
        const at = level === 4 ? LBL_GUP_PUD : level === 3 ? LBL_GUP_PMD : LBL_GUP_PTE;
        if (mustYield(at)) yield at;
      }
      if (pages) pages.push(Math.floor(entryAddr(L, e) / 4096)); // pages[nr] = pte_page(pte)
      nr++; // get_page(pte_page(pte))
    }
    local_irq_enable(cpu);
    gupStats(k).pinned += nr;
    return nr;
  } finally {
    fns.pop();
  }
}
