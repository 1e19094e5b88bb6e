/**
 * Unmapping address space (mm/mmap.c, 3.8): do_munmap() -> unmap_region(), and exit_mmap(). Both
 * tear down through the one path of mm/memory.c (memory.ts): with an mmu_gather (mmu_gather.ts),
 * unmap_vmas() clears the ptes, free_pgtables() frees the page tables that no remaining vma can
 * use (bounded by the neighbouring vmas: floor/ceiling), and tlb_finish_mmu() flushes the TLB and
 * then frees the pages and tables.
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import { free_pgtables, unmap_vmas, vma_link } from './memory.js';
import { tlb_finish_mmu, tlb_flush_mmu, tlb_gather_mmu } from './mmu_gather.js';
import type { LinuxCpu } from './percpu.js';
import { mmdrop } from './mm.js';
import { down_write, up_write } from './rwsem.js';
import { newVma, VM_MAYSHARE, VM_MIXEDMAP, VM_PFNMAP, VM_SHARED, type LinuxFile, type MmStruct, type VmAreaStruct } from './structs.js';
import { TLB_FLUSH_ALL } from './tlbflush.js';
import { enterFn } from '../scheduler/traced.js';
import { mustYield } from '../scheduler/point.js';

/** FIRST_USER_ADDRESS (x86: 0). */
const FIRST_USER_ADDRESS = 0n;
/** USER_PGTABLES_CEILING (0: the top of the address space). */
const USER_PGTABLES_CEILING = 0n;

/** The vmas of `mm` in address order (the mm->mmap list). */
export function vma_list(mm: MmStruct): VmAreaStruct[] {
  return [...mm.vmas].sort((a, b) => (a.vm_start < b.vm_start ? -1 : a.vm_start > b.vm_start ? 1 : 0));
}

/**
 * split_vma(mm, vma, addr, new_below) (mm/mmap.c): cut `vma` at `addr`; the new vma takes the
 * part below addr (new_below) or above it. Returns the new vma.
 */
export function split_vma(mm: MmStruct, vma: VmAreaStruct, addr: bigint, new_below: boolean): VmAreaStruct {
  const nv = newVma(vma);
  const pages = Number((addr - vma.vm_start) >> 12n);
  if (new_below) {
    nv.vm_end = addr;
    vma.vm_start = addr;
    if (vma.vm_pgoff !== undefined) vma.vm_pgoff += pages;
  } else {
    nv.vm_start = addr;
    vma.vm_end = addr;
    if (nv.vm_pgoff !== undefined) nv.vm_pgoff += pages;
  }
  mm.vmas.push(nv);
  // vma_adjust() -> __vma_link_file() (under i_mmap_lock_write(), which the model's split does not take: no yield here)
  nv.vm_file?.f_mapping.i_mmap.push(nv);
  return nv;
}

/**
 * mmap_region(file, addr, len, vm_flags, pgoff) (mm/mmap.c) for a MAP_SHARED (or, `shared`
 * false, a MAP_PRIVATE: copy-on-write, do_cow_fault()) mapping of `file` at a free range: a new vma (vm_file, vm_pgoff) linked into the mm (vma_link) and into the
 * file's i_mmap (__vma_link_file under i_mmap_lock_write()); no page-table work until the first
 * fault. The caller holds mm->mmap_sem for writing. (Anonymous mappings are linked by the fuzzer's
 * kernel-ops adapter, which has no file to link.)
 */
export function* mmap_region_file(
  k: Kernel,
  cpu: LinuxCpu,
  mm: MmStruct,
  file: LinuxFile,
  addr: bigint,
  len: bigint,
  vm_flags: number,
  pgoff: number,
  shared = true,
): KGen<VmAreaStruct> {
  const flags = shared ? vm_flags | VM_SHARED | VM_MAYSHARE : vm_flags;
  const vma = newVma({ vm_start: addr, vm_end: addr + len, vm_flags: flags, vm_file: file, vm_pgoff: pgoff, vm_mm: mm });
  yield* vma_link(k, cpu, mm, vma);
  return vma;
}

/**
 * unmap_region(mm, vma, prev, start, end) (mm/mmap.c, 3.8): the detached vmas' ptes in
 * [start, end), their page tables between prev's end and next's start, one mmu_gather.
 * The gather flushes the range it collected (the 4.x __tlb_adjust_range(); 3.8 flushes
 * [start, end), which covers the same pages). x86's tlb_end_vma() is empty, so before
 * CVE-2022-39188's fix nothing is flushed until tlb_finish_mmu(), after free_pgtables() took the
 * vmas out of their files' i_mmap (unlink_file_vma()). The stable fix ("mm: Force TLB flush for
 * PFNMAP mappings before unlink_file_vma()", 4.14.292, 4.19.257, 5.4.212; knob
 * `pfnmap_flush_before_unlink`) flushes first when the first vma is VM_PFNMAP or VM_MIXEDMAP.
 */
function* unmap_region(
  k: Kernel,
  cpu: LinuxCpu,
  mm: MmStruct,
  vmas: VmAreaStruct[],
  prev: VmAreaStruct | undefined,
  next: VmAreaStruct | undefined,
  start: bigint,
  end: bigint,
): KGen<void> {
  const fns = enterFn(cpu, 'unmap_region');
  try {
    const tlb = tlb_gather_mmu(mm, start, end);
    yield* unmap_vmas(k, cpu, tlb, vmas, start, end);
    // "Ensure we have no stale TLB entries by the time this mapping is removed from the rmap."
    if (k.config.knobs.pfnmap_flush_before_unlink !== false && vmas[0] && vmas[0].vm_flags & (VM_PFNMAP | VM_MIXEDMAP)) yield* tlb_flush_mmu(k, cpu, tlb);
    yield* free_pgtables(k, cpu, tlb, vmas, prev ? prev.vm_end : FIRST_USER_ADDRESS, next ? next.vm_start : USER_PGTABLES_CEILING);
    yield* tlb_finish_mmu(k, cpu, tlb);
  } finally {
    fns.pop();
  }
}

/**
 * do_munmap(mm, start, len) (mm/mmap.c, 3.8): split the vmas that straddle start or end, detach
 * the vmas inside [start, end) and unmap_region() them. Returns 0 or -EINVAL.
 */
export function* do_munmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, len: bigint): KGen<number> {
  if (start & 0xfffn || start > k.L.TASK_SIZE || len > k.L.TASK_SIZE - start) return -22;
  len = (len + 0xfffn) & ~0xfffn;
  if (len === 0n) return -22;
  const end = start + len;
  const fns = enterFn(cpu, 'do_munmap');
  try {
    let vmas = vma_list(mm);
    const first = vmas.find((v) => v.vm_end > start); // find_vma()
    if (first && first.vm_start < end) {
      // __split_vma(mm, vma, start, 0): the model keeps `first` as the part from start (new_below),
      // so that `last` below may be the same vma.
      if (start > first.vm_start) split_vma(mm, first, start, true);
      const last = vmas.find((v) => v.vm_end > end);
      if (last && end > last.vm_start) split_vma(mm, last, end, true);
      vmas = vma_list(mm);
      const gone = vmas.filter((v) => v.vm_start >= start && v.vm_end <= end);
      const prev = vmas.filter((v) => v.vm_end <= start).at(-1);
      const next = vmas.find((v) => v.vm_start >= end);
      for (const v of gone) mm.vmas.splice(mm.vmas.indexOf(v), 1); // detach_vmas_to_be_unmapped()
      yield* unmap_region(k, cpu, mm, gone, prev, next, start, end);
    }
  } finally {
    fns.pop();
  }
  return 0;
}

/** vm_munmap(start, len) (mm/mmap.c): do_munmap() under mm->mmap_sem held for writing. */
export function* vm_munmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, len: bigint): KGen<number> {
  yield* down_write(k, cpu, mm.mmap_sem);
  const ret = yield* do_munmap(k, cpu, mm, start, len);
  up_write(mm.mmap_sem, cpu.curr);
  return ret;
}

/**
 * exit_mmap(mm) (mm/mmap.c, 3.8): arch_exit_mmap() (the pv hook: Xen unpins), then, if the mm
 * has vmas, unmap_vmas() over all of them, free_pgtables() over the whole user range and
 * tlb_finish_mmu() with a fullmm gather, then remove_vma() (may sleep).
 */
export function* exit_mmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
  const fns = enterFn(cpu, 'exit_mmap');
  try {
    yield* k.pv.mmu.exit_mmap(k, cpu, mm); // arch_exit_mmap()
    const vmas = vma_list(mm);
    if (vmas.length > 0) {
      const tlb = tlb_gather_mmu(mm, 0n, TLB_FLUSH_ALL);
      yield* unmap_vmas(k, cpu, tlb, vmas, 0n, TLB_FLUSH_ALL);
      yield* free_pgtables(k, cpu, tlb, vmas, FIRST_USER_ADDRESS, USER_PGTABLES_CEILING);
      yield* tlb_finish_mmu(k, cpu, tlb);
      if (mustYield('exit_mmap:remove_vma')) yield 'exit_mmap:remove_vma'; // remove_vma(): might_sleep()
      mm.vmas.length = 0;
    }
  } finally {
    fns.pop();
  }
}

/** mmput(mm) (kernel/fork.c): drop a user; at 0 tear the address space down (exit_mmap) and mmdrop(). */
export function* mmput(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
  if (--mm.mm_users > 0) return;
  const fns = enterFn(cpu, 'mmput');
  try {
    yield* exit_mmap(k, cpu, mm);
    k.observers.exitMmap?.(cpu, mm);
  } finally {
    fns.pop();
  }
  yield* mmdrop(k, cpu, mm);
}
