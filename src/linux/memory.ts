/**
 * User page faults (mm/memory.c, 3.x): handle_mm_fault() -> __handle_mm_fault() allocates the
 * missing pud/pmd/pte tables (__pud_alloc/__pmd_alloc/__pte_alloc under mm->page_table_lock, the
 * populate going through pv_mmu_ops), then handle_pte_fault(): a none pte gets a new anonymous
 * page (do_anonymous_page); a present pte that allows the access only gets its young/dirty bits
 * (ptep_set_access_flags() writes only when a write fault changes the pte; x86's
 * flush_tlb_fix_spurious_fault() is a no-op) — "it has a PTE with proper rights so it returns
 * doing nothing" (seed 003).
 *
 * A write to a present read-only pte of a VM_WRITE vma (after fork's copy_page_range() or an
 * mprotect() that added PROT_WRITE) goes to do_wp_page(): reuse the page if it is mapped once,
 * else copy it (copy-on-write).
 *
 * Simplifications: anonymous private memory (no zero page: a read fault on a none pte allocates a
 * page too), and MAP_SHARED and MAP_PRIVATE mappings of the model's ramfs-like files (do_fault(),
 * 4.14: the page comes from the page cache through filemap_fault(), filemap.ts; a write to a
 * private one is copied by do_cow_fault() or do_wp_page(); no fault-around), and the special ptes
 * of VM_PFNMAP vmas (pfnmap.ts), which have no struct page for the core mm.
 *
 * The one unmap path of the model is here too (mm/memory.c): unmap_vmas() -> unmap_single_vma()
 * -> unmap_page_range() -> zap_pud_range() -> zap_pmd_range() -> zap_pte_range(), and
 * free_pgtables() -> free_pgd_range() -> free_pud_range() -> free_pmd_range() ->
 * free_pte_range(), written over the folding-aware accessors of pgtable.ts so that they serve
 * every paging mode; exit_mmap() and unmap_region() (mmap.ts) call them with one mmu_gather, and
 * unmap_mapping_range() (truncation of a file: every vma mapping the range, found through the
 * file's i_mmap) calls them through zap_page_range_single() with one gather per vma.
 */
import type { KGen } from '../scheduler/types.js';
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_NX, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL, _PAGE_TABLE, _PAGE_USER } from './constants.js';
import type { Kernel } from './kernel.js';
import { tableIndex } from './layout.js';
import type { LinuxCpu } from './percpu.js';
import {
  entryAddr,
  entryAddrAt,
  pgd_addr_end,
  pgd_clear,
  pgd_none,
  pgd_offset,
  pmd_addr_end,
  pmd_clear,
  pmd_none,
  pmd_offset,
  pmd_pgtable,
  pte_offset_kernel,
  pte_present,
  pud_addr_end,
  pud_clear,
  pud_none,
  pud_offset,
  pud_present,
  readEntry,
  set_pgd,
  set_pmd,
  set_pte,
  set_pte_at,
} from './pgtable.js';
import { pmd_free_tlb, pte_free_tlb, pud_free_tlb, tlb_adjust_range, tlb_finish_mmu, tlb_gather_mmu, tlb_remove_page, type MmuGather } from './mmu_gather.js';
import { cond_resched } from './sched.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import { get_page, page_add_file_rmap, page_add_new_anon_rmap, page_mapcount, page_remove_rmap, PageAnon, put_page } from './page.js';
import { flush_tlb_mm_range, TLB_FLUSH_ALL } from './tlbflush.js';
import { VM_EXEC, VM_PFNMAP, VM_SHARED, VM_WRITE, type AddressSpace, type MmStruct, type VmAreaStruct } from './structs.js';
import { filemap_fault, filemap_page_mkwrite, unlock_page, VM_FAULT_LOCKED, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS } from './filemap.js';
import { down_write, up_write } from './rwsem.js';
import { enterFn, traced } from '../scheduler/traced.js';
import { mustYield } from '../scheduler/point.js';

/** FAULT_FLAG_WRITE. */
export const FAULT_FLAG_WRITE = 0x01;
/** VM_FAULT_OOM. */
export const VM_FAULT_OOM = 0x0001;
/** VM_FAULT_WRITE: do_wp_page() broke COW or reused the page. */
export const VM_FAULT_WRITE = 0x0008;

/**
 * vm_get_page_prot(vm_flags) of a private mapping (mm/mmap.c protection_map, x86 __P001..__P111):
 * PAGE_READONLY / PAGE_COPY / PAGE_READONLY_EXEC / PAGE_COPY_EXEC = P|USER|A, NX unless VM_EXEC;
 * never RW: a private page becomes writable only through pte_mkwrite() in the fault path.
 */
export function vm_get_page_prot(k: Kernel, vm_flags: number): bigint {
  let p = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
  if (!(vm_flags & VM_EXEC) && k.L.paging !== '32bit') p |= _PAGE_NX;
  return p;
}

/** vma->vm_page_prot. */
function vm_page_prot(k: Kernel, vma: VmAreaStruct): bigint {
  return vm_get_page_prot(k, vma.vm_flags);
}

/** __pud_alloc(): a pud table under a none pgd entry (pgd_populate). */
function* __pud_alloc(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pgdp: number): KGen<void> {
  const pud = k.allocPageTable(3);
  yield* spin_lock(k, cpu, mm.page_table_lock);
  if (pgd_none(k, pgdp)) {
    yield* k.pv.mmu.alloc_pud(k, cpu, mm, pud / 4096); // paravirt_alloc_pud()
    yield* set_pgd(k, cpu, pgdp, BigInt(pud) | _PAGE_TABLE);
  } else k.m.frames.free(pud / 4096); // pud_free(): someone beat us to it
  yield* spin_unlock(k, cpu, mm.page_table_lock);
}

/** __pmd_alloc(): a pmd table under a none pud (pud_populate). */
function* __pmd_alloc(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pudp: number): KGen<void> {
  const pmd = k.allocPageTable(2);
  yield* spin_lock(k, cpu, mm.page_table_lock);
  if (!pud_present(k, pudp)) yield* pud_populate(k, cpu, mm, pudp, pmd);
  else k.m.frames.free(pmd / 4096);
  yield* spin_unlock(k, cpu, mm.page_table_lock);
}

/**
 * pud_populate(mm, pudp, pmd). With PAE (arch/x86/mm/pgtable.c, 3.18 and 4.8) the entry is a PDPTE,
 * which holds only P (the other bits are reserved), and the CPU reads PDPTEs only when CR3 is
 * loaded, so it ends with flush_tlb_mm(mm): the CR3 reload makes the new pmd visible to every CPU
 * running the mm (free_pgtables() can free a user pmd, and a later fault in that gigabyte
 * allocates a new one). Otherwise (asm/pgalloc.h) a plain table entry.
 */
function* pud_populate(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pudp: number, pmd: number): KGen<void> {
  yield* k.pv.mmu.alloc_pmd(k, cpu, mm, pmd / 4096); // paravirt_alloc_pmd()
  if (k.L.paging !== 'pae') return yield* k.pv.mmu.set_pud(k, cpu, pudp, BigInt(pmd) | _PAGE_TABLE);
  yield* k.pv.mmu.set_pud(k, cpu, pudp, BigInt(pmd) | _PAGE_PRESENT);
  yield* traced(cpu, 'flush_tlb_mm', () => flush_tlb_mm_range(k, cpu, mm, 0n, TLB_FLUSH_ALL));
}

/** __pte_alloc(): a page table under a none pmd (pmd_populate). */
export function* __pte_alloc(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pmdp: number, tableFlags: bigint = _PAGE_TABLE): KGen<void> {
  const pte = k.allocPageTable(1);
  if (mustYield('pte_alloc_one')) yield 'pte_alloc_one'; // smp_wmb(): the new table is visible before it is hooked in
  yield* spin_lock(k, cpu, mm.page_table_lock);
  if (pmd_none(k, pmdp)) {
    yield* k.pv.mmu.alloc_pte(k, cpu, mm, pte / 4096); // paravirt_alloc_pte()
    yield* set_pmd(k, cpu, pmdp, BigInt(pte) | tableFlags); // pmd_populate()
  } else k.m.frames.free(pte / 4096); // pte_free()
  yield* spin_unlock(k, cpu, mm.page_table_lock);
}

/** Walks to the pte of `address` in `mm`, allocating the missing tables; returns its address. */
export function* pte_alloc_walk(k: Kernel, cpu: LinuxCpu, mm: MmStruct, address: bigint, tableFlags: bigint = _PAGE_TABLE): KGen<number> {
  const pgdp = pgd_offset(k, mm, address);
  if (pgd_none(k, pgdp)) yield* __pud_alloc(k, cpu, mm, pgdp);
  const pudp = pud_offset(k, pgdp, address);
  if (pud_none(k, pudp)) yield* __pmd_alloc(k, cpu, mm, pudp);
  const pmdp = pmd_offset(k, pudp, address);
  if (pmd_none(k, pmdp)) yield* __pte_alloc(k, cpu, mm, pmdp, tableFlags);
  return pte_offset_kernel(k, pmdp, address);
}

/** do_anonymous_page(): a fresh zeroed page, mapped writable if the vma is. */
function* do_anonymous_page(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, address: bigint, ptep: number): KGen<number> {
  const pfn = k.m.frames.alloc({ zero: true });
  let entry = (BigInt(pfn) * 4096n) | vm_page_prot(k, vma);
  if (vma.vm_flags & VM_WRITE) entry |= _PAGE_RW | _PAGE_DIRTY; // pte_mkwrite(pte_mkdirty())
  yield* spin_lock(k, cpu, mm.page_table_lock);
  if (readEntry(k, ptep) !== 0n) {
    yield* spin_unlock(k, cpu, mm.page_table_lock);
    k.m.frames.free(pfn); // release: raced with another fault
    return 0;
  }
  page_add_new_anon_rmap(k, pfn);
  yield* set_pte_at(k, cpu, mm, address, ptep, entry);
  cpu.lastFaultNote = `handle_mm_fault mapped a new page at 0x${address.toString(16)}`;
  yield* spin_unlock(k, cpu, mm.page_table_lock);
  return 0;
}

/**
 * do_wp_page(mm, vma, address, page_table, pmd, ptl, orig_pte) (mm/memory.c, 3.10), entered with
 * the pte lock held: a write fault on a present read-only pte. An anonymous page mapped once
 * (reuse_swap_page(): page_mapcount() <= 1) is reused, else copied (wp_page_copy).
 */
function* do_wp_page(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, address: bigint, ptep: number, orig_pte: bigint): KGen<number> {
  const old = entryAddr(k.L, orig_pte) / 4096;
  const fns = enterFn(cpu, 'do_wp_page');
  try {
    return yield* vma.vm_file && (vma.vm_flags & (VM_WRITE | VM_SHARED)) === (VM_WRITE | VM_SHARED)
      ? wp_page_shared(k, cpu, mm, vma, address, ptep, orig_pte, old)
      : PageAnon(k, old) && page_mapcount(k, old) <= 1
        ? wp_page_reuse(k, cpu, mm, vma, address, ptep, orig_pte)
        : wp_page_copy(k, cpu, mm, vma, address, ptep, orig_pte, old);
  } finally {
    fns.pop();
  }
}

/**
 * wp_page_shared(vmf) (mm/memory.c, 4.14): a write to a read-only pte of a shared file mapping
 * (the first write after a read fault: vma_wants_writenotify() keeps shared ptes read-only until
 * page_mkwrite() ran). get_page(), drop the pte lock, do_page_mkwrite() (filemap_page_mkwrite:
 * the page locked, or VM_FAULT_NOPAGE if truncation took it), finish_mkwrite_fault(): the pte
 * lock again and, if the pte is unchanged, wp_page_reuse(); then fault_dirty_shared_page()
 * (unlock_page) and put_page().
 */
function* wp_page_shared(
  k: Kernel,
  cpu: LinuxCpu,
  mm: MmStruct,
  vma: VmAreaStruct,
  address: bigint,
  ptep: number,
  orig_pte: bigint,
  page: number,
): KGen<number> {
  get_page(k, page);
  yield* spin_unlock(k, cpu, mm.page_table_lock); // pte_unmap_unlock()
  const tmp = yield* filemap_page_mkwrite(k, cpu, vma, page);
  if (tmp & VM_FAULT_NOPAGE) {
    put_page(k, page);
    return tmp;
  }
  yield* spin_lock(k, cpu, mm.page_table_lock); // finish_mkwrite_fault(): pte_offset_map_lock()
  if (readEntry(k, ptep) !== orig_pte) {
    yield* spin_unlock(k, cpu, mm.page_table_lock);
    unlock_page(k, page);
    put_page(k, page);
    return VM_FAULT_NOPAGE;
  }
  yield* wp_page_reuse(k, cpu, mm, vma, address, ptep, orig_pte);
  unlock_page(k, page); // fault_dirty_shared_page()
  put_page(k, page);
  return VM_FAULT_WRITE;
}

/**
 * alloc_set_pte(vmf, memcg, page) under the pte lock (finish_fault(), mm/memory.c, 4.14): if the
 * pte is still none, mk_pte(page, vma->vm_page_prot) (read-only: vma_wants_writenotify()), made
 * writable and dirty for a write fault (maybe_mkwrite(pte_mkdirty())), page_add_file_rmap(),
 * set_pte_at(); the page's reference passes to the pte. VM_FAULT_NOPAGE if another fault won.
 */
function* finish_fault(
  k: Kernel,
  cpu: LinuxCpu,
  mm: MmStruct,
  vma: VmAreaStruct,
  address: bigint,
  ptep: number,
  page: number,
  flags: number,
  anon = false,
): KGen<number> {
  yield* spin_lock(k, cpu, mm.page_table_lock); // pte_offset_map_lock()
  let ret = VM_FAULT_NOPAGE;
  if (readEntry(k, ptep) === 0n) {
    let entry = (BigInt(page) * 4096n) | vm_page_prot(k, vma);
    if (flags & FAULT_FLAG_WRITE) entry |= _PAGE_DIRTY | (vma.vm_flags & VM_WRITE ? _PAGE_RW : 0n);
    // "if (write && !(vma->vm_flags & VM_SHARED))": do_cow_fault()'s copy is a new anonymous page
    if (anon) page_add_new_anon_rmap(k, page);
    else page_add_file_rmap(k, page);
    yield* set_pte_at(k, cpu, mm, address, ptep, entry);
    cpu.lastFaultNote = `do_fault mapped page 0x${page.toString(16)} of ${vma.vm_file!.f_inode.name} at 0x${address.toString(16)}`;
    ret = 0;
  }
  yield* spin_unlock(k, cpu, mm.page_table_lock);
  return ret;
}

/**
 * do_fault(vmf) (mm/memory.c, 4.14) of a MAP_SHARED file vma: a read fault is do_read_fault()
 * (__do_fault() = filemap_fault(), finish_fault(), unlock_page()); a write fault is
 * do_shared_fault() (__do_fault(), unlock_page(), do_page_mkwrite() = filemap_page_mkwrite(),
 * finish_fault(), fault_dirty_shared_page() = unlock_page()). VM_FAULT_SIGBUS beyond the end of
 * the file; VM_FAULT_NOPAGE when a racing fault or truncation won (the access is retried).
 */
function* do_fault(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, address: bigint, ptep: number, flags: number): KGen<number> {
  // "The VMA was not fully populated on mmap() or missing VM_DONTEXPAND": a driver that maps its
  // frames with remap_pfn_range() at mmap() time has no ->fault (src/linux/pfnmap.ts).
  if (vma.vm_flags & VM_PFNMAP) return VM_FAULT_SIGBUS;
  const pgoff = (vma.vm_pgoff ?? 0) + Number((address - vma.vm_start) >> 12n);
  const write = (flags & FAULT_FLAG_WRITE) !== 0;
  if (write && !(vma.vm_flags & VM_SHARED)) return yield* traced(cpu, 'do_cow_fault', () => do_cow_fault(k, cpu, mm, vma, address, ptep, pgoff, flags));
  const fns = enterFn(cpu, write ? 'do_shared_fault' : 'do_read_fault');
  try {
    const { ret, page } = yield* __do_fault(k, cpu, vma, pgoff);
    if (ret & (VM_FAULT_SIGBUS | VM_FAULT_NOPAGE)) return ret;
    if (write) {
      unlock_page(k, page);
      const tmp = yield* filemap_page_mkwrite(k, cpu, vma, page); // do_page_mkwrite()
      if (!(tmp & VM_FAULT_LOCKED)) {
        put_page(k, page);
        return tmp;
      }
    }
    const r = yield* finish_fault(k, cpu, mm, vma, address, ptep, page, flags);
    unlock_page(k, page);
    if (r) put_page(k, page);
    return r;
  } finally {
    fns.pop();
  }
}

/** __do_fault(vmf) (mm/memory.c, 4.14): vma->vm_ops->fault(), here filemap_fault(), under its own name in call traces. */
function* __do_fault(k: Kernel, cpu: LinuxCpu, vma: VmAreaStruct, pgoff: number): KGen<{ ret: number; page: number }> {
  const fns = enterFn(cpu, 'filemap_fault');
  try {
    return yield* filemap_fault(k, cpu, vma, pgoff);
  } finally {
    fns.pop();
  }
}

/**
 * do_cow_fault(vmf) (mm/memory.c, 4.14; 4.8: do_cow_fault(fe, pgoff)): a write fault on a none pte
 * of a private file mapping: a new page (alloc_page_vma()), the file's page from the page cache
 * (__do_fault() = filemap_fault(), locked), copy_user_highpage(), then finish_fault() maps the
 * copy as a new anonymous page (dirty; writable only if the vma is: maybe_mkwrite()), and the
 * page-cache page is unlocked and released. VM_FAULT_WRITE is not returned (no COW was broken:
 * the file's page was never mapped).
 */
function* do_cow_fault(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, address: bigint, ptep: number, pgoff: number, flags: number): KGen<number> {
  const cow = k.m.frames.alloc({ zero: false }); // alloc_page_vma()
  const { ret, page } = yield* __do_fault(k, cpu, vma, pgoff);
  if (ret & (VM_FAULT_SIGBUS | VM_FAULT_NOPAGE)) {
    k.m.frames.free(cow);
    return ret;
  }
  for (let o = 0; o < 4096; o += 8) k.m.phys.write64n(cow * 4096 + o, k.m.phys.read64n(page * 4096 + o)); // copy_user_highpage()
  const r = yield* finish_fault(k, cpu, mm, vma, address, ptep, cow, flags, true);
  unlock_page(k, page);
  put_page(k, page);
  if (r) k.m.frames.free(cow);
  return r;
}

/**
 * do_wp_page()'s `reuse:` path: ptep_set_access_flags() with
 * pte_mkyoung(maybe_mkwrite(pte_mkdirty(orig_pte))) (x86 stores the pte only when it changed; the
 * model stores it through set_pte as handle_pte_fault() does), then pte_unmap_unlock().
 */
function* wp_page_reuse(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, address: bigint, ptep: number, orig_pte: bigint): KGen<number> {
  let entry = orig_pte | _PAGE_ACCESSED | _PAGE_DIRTY; // pte_mkyoung(pte_mkdirty())
  if (vma.vm_flags & VM_WRITE) entry |= _PAGE_RW; // maybe_mkwrite()
  if (entry !== orig_pte) yield* set_pte(k, cpu, ptep, entry);
  cpu.lastFaultNote = `do_wp_page reused the page at 0x${address.toString(16)} and made the pte writable (0x${entry.toString(16)})`;
  yield* spin_unlock(k, cpu, mm.page_table_lock); // pte_unmap_unlock()
  return VM_FAULT_WRITE;
}

/**
 * do_wp_page()'s copy path ("Ok, we need to copy. Oh, well.."): page_cache_get(old_page), drop
 * the pte lock, allocate and copy (cow_user_page), retake the lock; if the pte is unchanged:
 * ptep_clear_flush(), page_add_new_anon_rmap(new), set_pte_at(mk_pte(new) writable and dirty),
 * page_remove_rmap(old) ("only after switching the pte to the new page"), and release the old
 * page's mapping reference; else release the new page. Finally page_cache_release(old_page).
 */
function* wp_page_copy(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, address: bigint, ptep: number, orig_pte: bigint, old: number): KGen<number> {
  get_page(k, old);
  yield* spin_unlock(k, cpu, mm.page_table_lock); // gotten: pte_unmap_unlock()
  const npfn = k.m.frames.alloc({ zero: false }); // alloc_page_vma()
  for (let o = 0; o < 4096; o += 8) k.m.phys.write64n(npfn * 4096 + o, k.m.phys.read64n(old * 4096 + o)); // cow_user_page()
  yield* spin_lock(k, cpu, mm.page_table_lock); // pte_offset_map_lock()
  let ret = 0;
  if (readEntry(k, ptep) === orig_pte) {
    let entry = (BigInt(npfn) * 4096n) | vm_page_prot(k, vma) | _PAGE_DIRTY; // pte_mkdirty(mk_pte())
    if (vma.vm_flags & VM_WRITE) entry |= _PAGE_RW; // maybe_mkwrite()
    yield* ptep_clear_flush(k, cpu, mm, address, ptep);
    page_add_new_anon_rmap(k, npfn);
    yield* set_pte_at(k, cpu, mm, address, ptep, entry); // set_pte_at_notify()
    yield* page_remove_rmap(k, cpu, mm, old);
    put_page(k, old); // new_page = old_page; page_cache_release(new_page)
    cpu.lastFaultNote = `do_wp_page copied the page at 0x${address.toString(16)} (pfn 0x${old.toString(16)} -> 0x${npfn.toString(16)})`;
    ret = VM_FAULT_WRITE;
  } else {
    k.m.frames.free(npfn); // page_cache_release(new_page): raced with another fault
  }
  yield* spin_unlock(k, cpu, mm.page_table_lock);
  put_page(k, old); // page_cache_release(old_page)
  return ret;
}

/**
 * ptep_clear_flush(vma, address, ptep) (mm/pgtable-generic.c): ptep_get_and_clear() (the pv
 * pte_clear: a store; under Xen PV outside lazy mode a trapped and emulated write), then, the pte
 * being present (pte_accessible), flush_tlb_page(vma, address): the one-page case of
 * flush_tlb_mm_range() (arch/x86/mm/tlb.c: __flush_tlb_one locally, or leave_mm() for a lazy
 * borrower; flush_tlb_others() for the rest of mm_cpumask).
 */
function* ptep_clear_flush(k: Kernel, cpu: LinuxCpu, mm: MmStruct, address: bigint, ptep: number): KGen<void> {
  const fns = enterFn(cpu, 'ptep_clear_flush');
  try {
    yield* k.pv.mmu.pte_clear(k, cpu, mm, address, ptep);
    yield* traced(cpu, 'flush_tlb_page', () => flush_tlb_mm_range(k, cpu, mm, address, address + 4096n));
  } finally {
    fns.pop();
  }
}

/** pte_unmap_same(mm, pmd, page_table, orig_pte) (mm/memory.c, 3.x): compared under the pte lock only when sizeof(pte_t) > sizeof(long) (PAE). */
function* pte_unmap_same(k: Kernel, cpu: LinuxCpu, mm: MmStruct, ptep: number, orig_pte: bigint): KGen<boolean> {
  if (k.L.paging !== 'pae') return true;
  yield* spin_lock(k, cpu, mm.page_table_lock);
  const same = readEntry(k, ptep) === orig_pte;
  yield* spin_unlock(k, cpu, mm.page_table_lock);
  return same;
}

/** handle_pte_fault(). */
function* handle_pte_fault(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, address: bigint, ptep: number, flags: number): KGen<number> {
  const entry = readEntry(k, ptep);
  if (!(entry & _PAGE_PRESENT)) {
    if (entry === 0n) return vma.vm_file ? yield* do_fault(k, cpu, mm, vma, address, ptep, flags) : yield* do_anonymous_page(k, cpu, mm, vma, address, ptep);
    // do_swap_page() -> pte_unmap_same(): with PAE (a pte wider than a long) the pte is re-read
    // under the lock; one caught between the two halves of native_set_pte() (high half first,
    // e.g. do_wp_page()'s new pte) has changed by then: return, and the access retries.
    if (!(yield* pte_unmap_same(k, cpu, mm, ptep, entry))) return 0;
    throw new Error(`handle_pte_fault: non-present non-none pte 0x${entry.toString(16)} (swap is not modelled)`);
  }
  yield* spin_lock(k, cpu, mm.page_table_lock); // pte_offset_map_lock()
  let e = entry;
  if (readEntry(k, ptep) === entry) {
    // A write to a present pte without RW in a VM_WRITE vma (access_error let it through).
    if (flags & FAULT_FLAG_WRITE && !(entry & _PAGE_RW)) return yield* do_wp_page(k, cpu, mm, vma, address, ptep, entry);
    if (flags & FAULT_FLAG_WRITE) e |= _PAGE_DIRTY; // pte_mkdirty
    e |= _PAGE_ACCESSED; // pte_mkyoung
    // ptep_set_access_flags(): store only when changed and dirty (arch/x86/mm/pgtable.c).
    if (e !== entry && flags & FAULT_FLAG_WRITE) {
      yield* set_pte(k, cpu, ptep, e);
      cpu.lastFaultNote = `handle_mm_fault updated the access flags of the pte for 0x${address.toString(16)} (0x${e.toString(16)})`;
    } else {
      cpu.lastFaultNote = `handle_mm_fault found the pte for 0x${address.toString(16)} present with proper rights (0x${entry.toString(16)}) and returned doing nothing`;
    }
  }
  yield* spin_unlock(k, cpu, mm.page_table_lock);
  return 0;
}

/** handle_mm_fault(mm, vma, address, flags): 0 or VM_FAULT_* bits. */
export function* handle_mm_fault(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, address: bigint, flags: number): KGen<number> {
  const fns = enterFn(cpu, 'handle_mm_fault');
  try {
    const ptep = yield* pte_alloc_walk(k, cpu, mm, address);
    return yield* handle_pte_fault(k, cpu, mm, vma, address, ptep, flags);
  } finally {
    fns.pop();
  }
}

/** find_vma(mm, addr): the first vma with vm_end > addr. */
export function find_vma(mm: MmStruct, addr: bigint): VmAreaStruct | null {
  let best: VmAreaStruct | null = null;
  for (const v of mm.vmas) if (v.vm_end > addr && (!best || v.vm_start < best.vm_start)) best = v;
  return best;
}

/** Label of the interleaving point after each cleared pte. */
export const LBL_ZAP_PTE = 'zap_pte_range';
/** Label after a page table is unhooked by free_pgtables. */
export const LBL_FREE_PGTABLES = 'free_pgtables';

/**
 * zap_pte_range(tlb, vma, pmd, addr, end, details) (mm/memory.c, 3.8): inside
 * arch_enter_lazy_mmu_mode()/arch_leave_lazy_mmu_mode(), each present pte is cleared
 * (ptep_get_and_clear_full(): the pv pte_clear), its address added to the gather's range
 * (tlb_remove_tlb_entry), its mapping dropped (page_remove_rmap()) and the page queued on the
 * gather (__tlb_remove_page()), under the pte lock (mm->page_table_lock stands for the split
 * ptl). Not modelled: swap entries, the gather's batch
 * limit (force_flush) and the UP fast mode.
 */
function* zap_pte_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, pmdp: number, addr: bigint, end: bigint): KGen<void> {
  const fns = enterFn(cpu, 'zap_pte_range');
  try {
    // pte_offset_map_lock(): the pte lock (a spinlock: no preemption inside but with PREEMPT_RT)
    // is held around the lazy MMU section (mm/memory.c, 3.8.13 lines 1112-1203, 4.14.5 1294-1390).
    yield* spin_lock(k, cpu, tlb.mm.page_table_lock);
    yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()
    // The loop over a = addr, addr + 4096, ... != end with pte_offset_kernel(pmd, a), by index: the
    // present bit tested without a BigInt per empty entry, and the pmd read again only after a
    // step that ran model code (memory cannot change between two steps that only read).
    const pages = (end - addr) >> 12n;
    if (pages < 0n || addr + (pages << 12n) !== end) throw new Error(`zap_pte_range: ${addr} does not reach ${end} by pages`);
    const L = k.L;
    const first = tableIndex(addr, 12, L.PTRS_PER_PTE);
    const count = Number(pages);
    let table = -1;
    for (let n = 0; n < count; n++) {
      if (table < 0) table = entryAddrAt(k, pmdp);
      const ptep = table + ((first + n) & (L.PTRS_PER_PTE - 1)) * L.entrySize;
      if (!pte_present(k, ptep)) continue;
      table = -1;
      const a = addr + (BigInt(n) << 12n);
      const pte = readEntry(k, ptep);
      yield* k.pv.mmu.pte_clear(k, cpu, tlb.mm, a, ptep); // ptep_get_and_clear_full()
      tlb_adjust_range(tlb, a); // tlb_remove_tlb_entry()
      // vm_normal_page(): NULL for a special pte (remap_pfn_range() of a VM_PFNMAP vma): the
      // frame is the driver's, with no page references to drop ("if (unlikely(!page)) continue;").
      if (pte & _PAGE_SPECIAL) {
        if (mustYield(LBL_ZAP_PTE)) yield LBL_ZAP_PTE;
        continue;
      }
      const pfn = entryAddr(k.L, pte) / 4096;
      yield* page_remove_rmap(k, cpu, tlb.mm, pfn);
      tlb_remove_page(tlb, pfn);
      if (mustYield(LBL_ZAP_PTE)) yield LBL_ZAP_PTE;
    }
    yield* k.pv.mmu.lazy_mode.leave(k, cpu); // arch_leave_lazy_mmu_mode()
    yield* spin_unlock(k, cpu, tlb.mm.page_table_lock); // pte_unmap_unlock()
  } finally {
    fns.pop();
  }
}

/**
 * zap_pmd_range(): zap_pte_range() on each present pmd, and cond_resched() after every pmd
 * (`next: cond_resched();` in 3.8), outside zap_pte_range()'s lazy MMU section: an exiting task
 * (current->mm == NULL) can be switched out there and, switched back in, run the rest of the zap
 * on the mm it borrowed (context_switch()).
 */
function* zap_pmd_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, pudp: number, addr: bigint, end: bigint): KGen<void> {
  for (let a = addr; a !== end;) {
    const next = pmd_addr_end(k, a, end);
    const pmdp = pmd_offset(k, pudp, a);
    if (!pmd_none(k, pmdp)) yield* zap_pte_range(k, cpu, tlb, pmdp, a, next);
    yield* cond_resched(k, cpu);
    a = next;
  }
}

/** zap_pud_range(): zap_pmd_range() on each present pud (folded into the pgd with PAE and 2-level paging). */
function* zap_pud_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, pgdp: number, addr: bigint, end: bigint): KGen<void> {
  for (let a = addr; a !== end;) {
    const next = pud_addr_end(k, a, end);
    const pudp = pud_offset(k, pgdp, a);
    if (!pud_none(k, pudp)) yield* zap_pmd_range(k, cpu, tlb, pudp, a, next);
    a = next;
  }
}

/** unmap_page_range(tlb, vma, addr, end, details): zap_pud_range() on each present pgd entry. */
export function* unmap_page_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, addr: bigint, end: bigint): KGen<void> {
  for (let a = addr; a !== end;) {
    const next = pgd_addr_end(k, a, end);
    const pgdp = pgd_offset(k, tlb.mm, a);
    if (!pgd_none(k, pgdp)) yield* zap_pud_range(k, cpu, tlb, pgdp, a, next);
    a = next;
  }
}

/**
 * unmap_vmas(tlb, vma, start_addr, end_addr) (mm/memory.c, 3.8): unmap_single_vma() on each vma
 * of `vmas` (in address order) that meets [start_addr, end_addr), clipped to it; used by
 * exit_mmap() (the whole address space) and unmap_region() (munmap). Seed 000's oops shows
 * unmap_page_range(), zap_pud_range() and zap_pmd_range() inlined into unmap_single_vma: they are
 * not frames of the call trace.
 */
export function* unmap_vmas(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, vmas: readonly VmAreaStruct[], start_addr: bigint, end_addr: bigint): KGen<void> {
  end_addr &= k.L.VA_MASK; // -1: the top of the address space
  const fns = enterFn(cpu, 'unmap_vmas');
  try {
    for (const vma of vmas) {
      if (vma.vm_start >= end_addr) break;
      // unmap_single_vma()
      const start = vma.vm_start > start_addr ? vma.vm_start : start_addr;
      const end = vma.vm_end < end_addr ? vma.vm_end : end_addr;
      if (start >= vma.vm_end || end <= vma.vm_start || start === end) continue;
      const uf = enterFn(cpu, 'unmap_single_vma');
      try {
        yield* unmap_page_range(k, cpu, tlb, start, end);
      } finally {
        uf.pop();
      }
    }
  } finally {
    fns.pop();
  }
}

/**
 * zap_page_range_single(vma, address, size, details) (mm/memory.c, 4.14 line 1633): one
 * mmu_gather over [address, address + size) of one vma: unmap_single_vma(), tlb_finish_mmu()
 * (the TLB flush of that range, then the pages' references are dropped).
 */
function* zap_page_range_single(k: Kernel, cpu: LinuxCpu, vma: VmAreaStruct, address: bigint, size: bigint): KGen<void> {
  const end = address + size;
  const fns = enterFn(cpu, 'zap_page_range_single');
  try {
    const tlb = tlb_gather_mmu(vma.vm_mm!, address, end);
    const inner = enterFn(cpu, 'unmap_single_vma');
    try {
      yield* unmap_page_range(k, cpu, tlb, address, end);
    } finally {
      inner.pop();
    }
    yield* tlb_finish_mmu(k, cpu, tlb);
  } finally {
    fns.pop();
  }
}

/**
 * unmap_mapping_range(mapping, holebegin, holelen, even_cows) (mm/memory.c, 4.14 lines
 * 2806-2832): under i_mmap_lock_write(mapping), unmap_mapping_range_tree(): for every vma of the
 * file's i_mmap that maps a page of [holebegin, holebegin + holelen) (holelen 0: to the end of the
 * file), unmap_mapping_range_vma() -> zap_page_range_single() over the part of the vma that maps
 * it. `even_cows` only matters for private COWed pages, which the model has not.
 */
export function* unmap_mapping_range(k: Kernel, cpu: LinuxCpu, mapping: AddressSpace, holebegin: bigint, holelen: bigint, even_cows: boolean): KGen<void> {
  void even_cows;
  const first = Number(holebegin >> 12n);
  const last = holelen === 0n ? Number.MAX_SAFE_INTEGER : first + Number((holelen + 4095n) >> 12n) - 1;
  const fns = enterFn(cpu, 'unmap_mapping_range');
  try {
    yield* down_write(k, cpu, mapping.i_mmap_rwsem); // i_mmap_lock_write()
    for (const vma of [...mapping.i_mmap]) {
      // unmap_mapping_range_tree(): vma_interval_tree_foreach() over [first, last]
      const vba = vma.vm_pgoff ?? 0;
      const vea = vba + Number((vma.vm_end - vma.vm_start) >> 12n) - 1;
      if (vea < first || vba > last) continue;
      const zba = Math.max(first, vba);
      const zea = Math.min(last, vea);
      const start = vma.vm_start + (BigInt(zba - vba) << 12n);
      const end = vma.vm_start + (BigInt(zea - vba + 1) << 12n);
      yield* zap_page_range_single(k, cpu, vma, start, end - start); // unmap_mapping_range_vma()
    }
    up_write(mapping.i_mmap_rwsem, cpu.curr);
  } finally {
    fns.pop();
  }
}

/** __vma_link_file(vma) under i_mmap_lock_write() (mm/mmap.c vma_link()): a file vma joins its file's i_mmap. */
export function* vma_link_file(k: Kernel, cpu: LinuxCpu, vma: VmAreaStruct): KGen<void> {
  const mapping = vma.vm_file?.f_mapping;
  if (!mapping) return;
  yield* down_write(k, cpu, mapping.i_mmap_rwsem);
  mapping.i_mmap.push(vma);
  up_write(mapping.i_mmap_rwsem, cpu.curr);
}

/** vma_link(mm, vma, ...) (mm/mmap.c): the vma joins the mm's list (__vma_link()), then its file's i_mmap. */
export function vma_link(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct): KGen<void> {
  mm.vmas.push(vma);
  return vma_link_file(k, cpu, vma);
}

/** unlink_file_vma(vma) (mm/mmap.c): a file vma leaves its file's i_mmap, under i_mmap_lock_write(). */
export function* unlink_file_vma(k: Kernel, cpu: LinuxCpu, vma: VmAreaStruct): KGen<void> {
  const mapping = vma.vm_file?.f_mapping;
  if (!mapping) return;
  yield* down_write(k, cpu, mapping.i_mmap_rwsem);
  const i = mapping.i_mmap.indexOf(vma);
  if (i >= 0) mapping.i_mmap.splice(i, 1);
  up_write(mapping.i_mmap_rwsem, cpu.curr);
}

/** free_pte_range(tlb, pmd, addr): unhook the page table (pmd_clear) and queue it (pte_free_tlb). */
function* free_pte_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, pmdp: number, addr: bigint): KGen<void> {
  const table = pmd_pgtable(k, pmdp);
  yield* pmd_clear(k, cpu, pmdp);
  yield* pte_free_tlb(k, cpu, tlb, table, addr);
  if (mustYield(LBL_FREE_PGTABLES)) yield LBL_FREE_PGTABLES;
}

/**
 * The unsigned-long arithmetic of free_pgd_range() and its helpers: 0 stands for both the bottom
 * and the top of the address space, so comparisons are made on `x - 1` modulo the word size.
 */
function m1(k: Kernel, x: bigint): bigint {
  return (x - 1n) & k.L.VA_MASK;
}

/**
 * free_pmd_range(): free_pte_range() on each present pmd in [addr, end); then, if no vma outside
 * [floor, ceiling) can use the pmd table, unhook it (pud_clear: with PAE the PDPTE) and queue it
 * (pmd_free_tlb).
 */
function* free_pmd_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, pudp: number, addr: bigint, end: bigint, floor: bigint, ceiling: bigint): KGen<void> {
  let start = addr;
  for (let a = addr; a !== end;) {
    const next = pmd_addr_end(k, a, end);
    const pmdp = pmd_offset(k, pudp, a);
    if (!pmd_none(k, pmdp)) yield* free_pte_range(k, cpu, tlb, pmdp, a);
    a = next;
  }
  const PUD_MASK = ~((1n << BigInt(k.L.PUD_SHIFT)) - 1n) & k.L.VA_MASK;
  start &= PUD_MASK;
  if (start < floor) return;
  if (ceiling) {
    ceiling &= PUD_MASK;
    if (!ceiling) return;
  }
  if (m1(k, end) > m1(k, ceiling)) return;
  if (k.L.pmdFolded) return; // pud_clear() and pmd_free_tlb() do nothing (pgtable-nopmd.h)
  const table = pmd_offset(k, pudp, start);
  yield* pud_clear(k, cpu, pudp);
  yield* pmd_free_tlb(k, cpu, tlb, table, start);
  if (mustYield(LBL_FREE_PGTABLES)) yield LBL_FREE_PGTABLES;
}

/** free_pud_range(): free_pmd_range() on each present pud, then the pud table itself (4-level only). */
function* free_pud_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, pgdp: number, addr: bigint, end: bigint, floor: bigint, ceiling: bigint): KGen<void> {
  let start = addr;
  for (let a = addr; a !== end;) {
    const next = pud_addr_end(k, a, end);
    const pudp = pud_offset(k, pgdp, a);
    if (!pud_none(k, pudp)) yield* free_pmd_range(k, cpu, tlb, pudp, a, next, floor, ceiling);
    a = next;
  }
  const PGDIR_MASK = ~((1n << BigInt(k.L.PGDIR_SHIFT)) - 1n) & k.L.VA_MASK;
  start &= PGDIR_MASK;
  if (start < floor) return;
  if (ceiling) {
    ceiling &= PGDIR_MASK;
    if (!ceiling) return;
  }
  if (m1(k, end) > m1(k, ceiling)) return;
  if (k.L.pudFolded) return; // pgd_clear() and pud_free_tlb() do nothing (pgtable-nopud.h)
  const table = pud_offset(k, pgdp, start);
  yield* pgd_clear(k, cpu, pgdp);
  yield* pud_free_tlb(k, cpu, tlb, table, start);
  if (mustYield(LBL_FREE_PGTABLES)) yield LBL_FREE_PGTABLES;
}

/**
 * free_pgd_range(tlb, addr, end, floor, ceiling) (mm/memory.c, 3.8): frees the page tables that
 * map only [addr, end) — no vma below `floor` or from `ceiling` up can use them (floor 0 is the
 * bottom of the address space, ceiling 0 its top).
 */
export function* free_pgd_range(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, addr: bigint, end: bigint, floor: bigint, ceiling: bigint): KGen<void> {
  const PMD_SIZE = 1n << BigInt(k.L.PMD_SHIFT);
  const PMD_MASK = ~(PMD_SIZE - 1n) & k.L.VA_MASK;
  addr &= PMD_MASK;
  if (addr < floor) {
    addr = (addr + PMD_SIZE) & k.L.VA_MASK;
    if (!addr) return;
  }
  if (ceiling) {
    ceiling &= PMD_MASK;
    if (!ceiling) return;
  }
  if (m1(k, end) > m1(k, ceiling)) end -= PMD_SIZE;
  if (addr > m1(k, end)) return;
  for (let a = addr; a !== end;) {
    const next = pgd_addr_end(k, a, end);
    const pgdp = pgd_offset(k, tlb.mm, a);
    if (!pgd_none(k, pgdp)) yield* free_pud_range(k, cpu, tlb, pgdp, a, next, floor, ceiling);
    a = next;
  }
}

/**
 * free_pgtables(tlb, vma, floor, ceiling) (mm/memory.c, 3.8): free_pgd_range() over each vma of
 * `vmas` (in address order), nearby vmas (less than a pmd apart) gathered into one call, each
 * bounded by the next vma or `ceiling`; each vma first leaves its file's i_mmap
 * (unlink_file_vma(), "Hide vma from rmap and truncate_pagecache before freeing pgtables").
 * Used by exit_mmap() and unmap_region().
 */
export function* free_pgtables(k: Kernel, cpu: LinuxCpu, tlb: MmuGather, vmas: readonly VmAreaStruct[], floor: bigint, ceiling: bigint): KGen<void> {
  const PMD_SIZE = 1n << BigInt(k.L.PMD_SHIFT);
  const fns = enterFn(cpu, 'free_pgtables');
  try {
    for (let i = 0; i < vmas.length;) {
      const addr = vmas[i].vm_start;
      let last = i;
      yield* unlink_file_vma(k, cpu, vmas[i]);
      // "gather nearby vmas into one call down"
      while (last + 1 < vmas.length && vmas[last + 1].vm_start <= vmas[last].vm_end + PMD_SIZE) yield* unlink_file_vma(k, cpu, vmas[++last]);
      const next = vmas[last + 1];
      yield* free_pgd_range(k, cpu, tlb, addr, vmas[last].vm_end, floor, next ? next.vm_start : ceiling);
      i = last + 1;
    }
  } finally {
    fns.pop();
  }
}
