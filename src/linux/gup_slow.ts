/**
 * The slow get_user_pages() path and its best-known user, a write to /proc/<pid>/mem (mm/gup.c and
 * mm/memory.c, 4.8; fs/proc/base.c): __get_user_pages() looks each page up with
 * follow_page_mask() -> follow_page_pte() under the pte lock and, when that finds no page it may
 * use, calls faultin_page() -> handle_mm_fault() and retries (after cond_resched()). With
 * FOLL_FORCE a debugger-style write may go through a read-only private mapping: the fault breaks
 * copy-on-write (do_cow_fault(), or do_wp_page()'s copy or reuse of an anonymous page) without
 * making the pte writable, and returns VM_FAULT_WRITE; the retry must then accept that read-only
 * pte. Before 4.8.3 faultin_page() did so by dropping FOLL_WRITE, so the retry was a plain read
 * lookup: if madvise(MADV_DONTNEED) zapped the COW copy in between, the read lookup faulted the
 * file's own page-cache page back in and the write went into the file (CVE-2016-5195, Dirty COW).
 * 19be0eaffa3a ("mm: remove gup_flags FOLL_WRITE games from __get_user_pages()", 4.8.3) keeps
 * FOLL_WRITE, sets FOLL_COW, and follow_page_pte() accepts a read-only pte only if it is dirty
 * (can_follow_write_pte()): a zapped copy is faulted again as a write, i.e. copied again. Knob
 * `gup_foll_cow` (default true: the fix).
 *
 * Not modelled: huge pages, FOLL_NUMA/FOLL_MLOCK/FOLL_SPLIT/FOLL_POPULATE, the gate area,
 * nonblocking/VM_FAULT_RETRY, fatal-signal checks, multi-page calls (one page per call).
 */
import type { KGen } from '../scheduler/types.js';
import { _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL } from './constants.js';
import type { Kernel } from './kernel.js';
import { FAULT_FLAG_WRITE, find_vma, handle_mm_fault, VM_FAULT_OOM, VM_FAULT_WRITE } from './memory.js';
import { VM_FAULT_SIGBUS } from './filemap.js';
import { get_page, PageAnon, put_page } from './page.js';
import type { LinuxCpu } from './percpu.js';
import { entryAddr, pgd_none, pgd_offset, pmd_none, pmd_offset, pte_offset_kernel, pud_none, pud_offset, readEntry } from './pgtable.js';
import { down_read, up_read } from './rwsem.js';
import { cond_resched } from './sched.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import { VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, type MmStruct, type VmAreaStruct } from './structs.js';
import { enterFn, traced } from '../scheduler/traced.js';
import { callTrace, cpuHeader } from './report.js';
import { FindingStop } from '../sanitizers/finding.js';

/** gup_flags (include/linux/mm.h, 4.8). */
export const FOLL_WRITE = 0x01;
export const FOLL_TOUCH = 0x02;
export const FOLL_GET = 0x04;
export const FOLL_FORCE = 0x10;
export const FOLL_REMOTE = 0x2000;
/** FOLL_COW (4.8.3+): "internal GUP flag", COW was broken for this lookup. */
export const FOLL_COW = 0x4000;

/** -EFAULT. */
const EFAULT = 14;

/**
 * can_follow_write_pte(pte, flags) (4.8.3+): "FOLL_FORCE can write to even unwritable pte's, but
 * only after we've gone through a COW cycle and they are dirty." Before the fix: pte_write() only.
 */
function can_follow_write_pte(k: Kernel, pte: bigint, flags: number): boolean {
  if (pte & _PAGE_RW) return true;
  return k.config.knobs.gup_foll_cow !== false && (flags & FOLL_FORCE) !== 0 && (flags & FOLL_COW) !== 0 && (pte & _PAGE_DIRTY) !== 0n;
}

/**
 * follow_page_mask() -> follow_page_pte(vma, address, pmd, flags): the page mapped at `address`
 * (with FOLL_GET a reference on it), or null: no pte, or a write lookup of a pte it may not write.
 */
function* follow_page_pte(k: Kernel, cpu: LinuxCpu, mm: MmStruct, address: bigint, flags: number): KGen<number | null> {
  const pgdp = pgd_offset(k, mm, address);
  if (pgd_none(k, pgdp)) return null; // no_page_table()
  const pudp = pud_offset(k, pgdp, address);
  if (pud_none(k, pudp)) return null;
  const pmdp = pmd_offset(k, pudp, address);
  if (pmd_none(k, pmdp)) return null;
  const ptep = pte_offset_kernel(k, pmdp, address);
  yield* spin_lock(k, cpu, mm.page_table_lock); // pte_offset_map_lock()
  try {
    const pte = readEntry(k, ptep);
    if (!(pte & _PAGE_PRESENT)) return null; // no_page
    if (flags & FOLL_WRITE && !can_follow_write_pte(k, pte, flags)) return null;
    if (pte & _PAGE_SPECIAL) return null; // vm_normal_page() NULL: follow_pfn_pte() (check_vma_flags() refused VM_PFNMAP already)
    const page = entryAddr(k.L, pte) / 4096;
    if (flags & FOLL_GET) get_page(k, page);
    return page;
  } finally {
    yield* spin_unlock(k, cpu, mm.page_table_lock);
  }
}

/**
 * faultin_page(tsk, vma, address, &flags, nonblocking): handle_mm_fault() as a write if FOLL_WRITE;
 * -EFAULT for SIGBUS/SIGSEGV/OOM. "The VM_FAULT_WRITE bit tells us that do_wp_page has broken COW
 * when necessary, even if maybe_mkwrite decided not to set pte_write": for a vma without VM_WRITE,
 * 4.8.3+ sets FOLL_COW; before, FOLL_WRITE was cleared ("We can thus safely do subsequent page
 * lookups as if they were reads").
 */
function* faultin_page(k: Kernel, cpu: LinuxCpu, mm: MmStruct, vma: VmAreaStruct, address: bigint, flags: { v: number }): KGen<number> {
  const ret = yield* handle_mm_fault(k, cpu, mm, vma, address, flags.v & FOLL_WRITE ? FAULT_FLAG_WRITE : 0);
  if (ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS)) return -EFAULT;
  if (ret & VM_FAULT_WRITE && !(vma.vm_flags & VM_WRITE)) {
    if (k.config.knobs.gup_foll_cow !== false) flags.v |= FOLL_COW;
    else flags.v &= ~FOLL_WRITE;
  }
  return 0;
}

/** check_vma_flags(vma, gup_flags): -EFAULT for VM_IO/VM_PFNMAP, and for an access the vma does not allow without FOLL_FORCE. */
function check_vma_flags(vma: VmAreaStruct, gup_flags: number): number {
  if (vma.vm_flags & (VM_IO | VM_PFNMAP)) return -EFAULT;
  if (gup_flags & FOLL_WRITE) {
    if (!(vma.vm_flags & VM_WRITE) && !(gup_flags & FOLL_FORCE)) return -EFAULT;
    // "We used to let the write,force case do COW in a VM_MAYWRITE VM_SHARED !VM_WRITE vma": refused for shared mappings
    if (!(vma.vm_flags & VM_WRITE) && vma.vm_flags & VM_SHARED) return -EFAULT;
  } else if (!(vma.vm_flags & VM_READ) && !(gup_flags & FOLL_FORCE)) return -EFAULT;
  return 0;
}

/**
 * __get_user_pages(tsk, mm, start, 1, gup_flags | FOLL_GET, &page, &vma, NULL) for one page: the
 * page (with a reference) and its vma, or -errno. The caller holds mm->mmap_sem for reading.
 */
export function* __get_user_pages(
  k: Kernel,
  cpu: LinuxCpu,
  mm: MmStruct,
  start: bigint,
  gup_flags: number,
): KGen<{ page: number; vma: VmAreaStruct } | number> {
  const fns = enterFn(cpu, '__get_user_pages');
  try {
    const vma = find_vma(mm, start); // find_extend_vma()
    if (!vma || vma.vm_start > start || check_vma_flags(vma, gup_flags)) return -EFAULT;
    const foll = { v: gup_flags | FOLL_GET };
    for (;;) {
      // retry:
      yield* cond_resched(k, cpu);
      const page = yield* follow_page_pte(k, cpu, mm, start & ~0xfffn, foll.v);
      if (page !== null) return { page, vma };
      const ret = yield* traced(cpu, 'faultin_page', () => faultin_page(k, cpu, mm, vma, start & ~0xfffn, foll));
      if (ret) return ret;
    }
  } finally {
    fns.pop();
  }
}

/** What a COW-violation check is told: the page a FOLL_FORCE write got, and through which vma. */
export type GupWriteObserver = (cpu: LinuxCpu, addr: bigint, page: number, vma: VmAreaStruct) => void;

/**
 * mem_rw(file, buf, count, ppos, 1) of /proc/<pid>/mem for 8 bytes (fs/proc/base.c, 4.8):
 * access_remote_vm(mm, addr, buf, 8, write = 1) -> __access_remote_vm(): down_read(mmap_sem),
 * get_user_pages_remote(tsk, mm, addr, 1, write = 1, force = 1, &page, &vma) (4.8's int
 * arguments: FOLL_WRITE | FOLL_FORCE, with FOLL_TOUCH | FOLL_REMOTE and FOLL_GET),
 * copy_to_user_page() (kmap(page) + the store), set_page_dirty_lock(), put_page(), up_read(). Returns the bytes written (0 if the page could not be got). `observe` sees the page
 * before the store (the model's check that a write through a private mapping never reaches a
 * page-cache page).
 */
export function* mem_write(k: Kernel, cpu: LinuxCpu, mm: MmStruct, addr: bigint, value: bigint, observe?: GupWriteObserver): KGen<number> {
  const fns = enterFn(cpu, 'mem_rw');
  try {
    yield* down_read(k, cpu, mm.mmap_sem);
    try {
      const r = yield* __get_user_pages(k, cpu, mm, addr, FOLL_FORCE | FOLL_WRITE | FOLL_TOUCH | FOLL_REMOTE);
      if (typeof r === 'number') return 0;
      observe?.(cpu, addr, r.page, r.vma);
      k.m.phys.write64n(r.page * 4096 + Number(addr & 0xff8n), value); // copy_to_user_page()
      put_page(k, r.page);
      return 8;
    } finally {
      up_read(mm.mmap_sem, cpu.curr);
    }
  } finally {
    fns.pop();
  }
}

/**
 * The model's COW check (sanitizer `cow-violation`; Linux has none): a FOLL_FORCE write through a
 * private mapping must get an anonymous (COW) copy, never the file's page-cache page.
 */
export function check_cow_write(k: Kernel, cpu: LinuxCpu, addr: bigint, page: number, vma: VmAreaStruct): void {
  if (!cowViolation(k, page, vma)) return;
  const file = vma.vm_file!.f_inode.name;
  const index = (vma.vm_pgoff ?? 0) + Number((addr - vma.vm_start) >> 12n);
  const lines = [
    '==================================================================',
    `BUG: cow-violation: a write through the private read-only mapping at 0x${addr.toString(16)} reached the page cache of file ${file}`,
    `pagewalk: /proc/${cpu.curr.pid}/mem write by task ${cpu.curr.comm}/${cpu.curr.pid}: get_user_pages(FOLL_FORCE | FOLL_WRITE) returned pfn 0x${page.toString(16)}, page ${index} of ${file}, not an anonymous copy`,
    ...cpuHeader(k.config, cpu),
    ...callTrace(cpu),
    '==================================================================',
  ];
  k.printk(...lines);
  throw new FindingStop({ sanitizer: 'cow-violation', signature: 'FOLL_FORCE write through a private mapping reached a page-cache page', log: lines });
}

/** Whether `page`, got for a write through `vma`, is a page-cache page of a private mapping's file. */
export function cowViolation(k: Kernel, page: number, vma: VmAreaStruct): boolean {
  return !!vma.vm_file && !(vma.vm_flags & VM_SHARED) && !PageAnon(k, page);
}
