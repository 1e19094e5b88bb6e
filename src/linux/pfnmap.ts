/**
 * VM_PFNMAP mappings (mm/memory.c, 4.14: remap_pfn_range() -> remap_p4d_range() ->
 * remap_pud_range() -> remap_pmd_range() -> remap_pte_range()) and a model device driver that
 * uses them the way drivers that hand out buffers do: its mmap() maps the frames of its buffer
 * with remap_pfn_range() (special ptes: no struct page behind them as far as the core mm is
 * concerned, so no reference or mapcount is taken and zap_pte_range() drops none), and when the
 * buffer is released it first revokes every user mapping with unmap_mapping_range() on the
 * device file's address_space — DRM's drm_vma_node_unmap() is such a call (include/drm/
 * drm_vma_manager.h, 4.14.5 lines 206-213) — and then frees the frames. The driver relies on
 * "having all VMAs through which a PFN might be accessible listed in the rmap" (the stable fix's
 * message): a vma that munmap() already took out of i_mmap but whose TLB entries are not yet
 * flushed is the hole CVE-2022-39188 names (docs/historical-bugs.md).
 *
 * The driver is a model, not a real driver: one buffer of `pages` zeroed frames, allocated at the
 * first mmap() and freed by `pfnmap_dev_free_buffer()` (its release ioctl); a later mmap()
 * allocates a new one. Its mutex is held across the whole mmap() (the model links the vma into
 * the mm and i_mmap under it; Linux's mmap_region() links it after the driver's ->mmap returned),
 * so that mmap() and the release never interleave inside the model driver. It has no ->fault: a
 * zapped pte of its mapping faults with SIGBUS (do_fault(), memory.ts).
 */
import type { KGen } from '../scheduler/types.js';
import { _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL } from './constants.js';
import type { Kernel } from './kernel.js';
import { pte_alloc_walk, unmap_mapping_range, vm_get_page_prot, vma_link } from './memory.js';
import type { LinuxCpu } from './percpu.js';
import { readEntry, set_pte_at } from './pgtable.js';
import { down_write, up_write } from './rwsem.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import {
  LinuxFile,
  newVma,
  RwSemaphore,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_IO,
  VM_MAYSHARE,
  VM_PFNMAP,
  VM_SHARED,
  VM_WRITE,
  type MmStruct,
  type VmAreaStruct,
} from './structs.js';
import { enterFn, traced } from '../scheduler/traced.js';

/** A device of the model driver: its file (address_space and i_mmap) and its buffer's frames. */
export class PfnmapDevice {
  readonly file: LinuxFile;
  /** The driver's mutex (mmap and the release). */
  readonly lock: RwSemaphore;
  /** The buffer's frames, or null before the first mmap() and after a release. */
  buffer: number[] | null = null;
  constructor(
    name: string,
    /** Frames of a buffer. */
    readonly pages: number,
  ) {
    this.file = new LinuxFile(name, BigInt(pages) * 4096n);
    this.lock = new RwSemaphore(`${name}.lock`);
  }
}

/**
 * remap_pte_range(mm, pmd, addr, end, pfn, prot): pte_alloc_map_lock(), then in lazy MMU mode
 * `BUG_ON(!pte_none(*pte)); set_pte_at(mm, addr, pte, pte_mkspecial(pfn_pte(pfn, prot)))` for
 * each page, pte_unmap_unlock(). The model calls it one page at a time (remap_pfn_range() of
 * one page per frame: the buffer's frames need not be contiguous).
 */
function* remap_pte_range(k: Kernel, cpu: LinuxCpu, mm: MmStruct, addr: bigint, pfn: number, prot: bigint): KGen<void> {
  const ptep = yield* pte_alloc_walk(k, cpu, mm, addr); // pud_alloc(), pmd_alloc(), pte_alloc_map_lock()
  yield* spin_lock(k, cpu, mm.page_table_lock);
  yield* k.pv.mmu.lazy_mode.enter(k, cpu); // arch_enter_lazy_mmu_mode()
  if (readEntry(k, ptep) !== 0n) throw new Error(`remap_pte_range: kernel BUG: the pte of 0x${addr.toString(16)} is not none`);
  yield* set_pte_at(k, cpu, mm, addr, ptep, (BigInt(pfn) << 12n) | prot | _PAGE_SPECIAL);
  yield* k.pv.mmu.lazy_mode.leave(k, cpu);
  yield* spin_unlock(k, cpu, mm.page_table_lock);
}

/**
 * remap_pfn_range(vma, addr, pfn, size, prot) (mm/memory.c, 4.14.5 lines 2044-2094): marks the vma
 * `VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP` and maps the frames from `pfn` on. Not
 * modelled: the COW special case (vm_pgoff = pfn for a private mapping; the model driver's
 * mappings are shared), track_pfn_remap() (PAT).
 */
export function remap_pfn_range(k: Kernel, cpu: LinuxCpu, vma: VmAreaStruct, addr: bigint, pfn: number, size: bigint, prot: bigint): KGen<void> {
  vma.vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
  return traced(cpu, 'remap_pfn_range', () => remap_pte_ranges(k, cpu, vma, addr, pfn, size, prot));
}

/** remap_pfn_range()'s walk: remap_pte_range() on each page. */
function* remap_pte_ranges(k: Kernel, cpu: LinuxCpu, vma: VmAreaStruct, addr: bigint, pfn: number, size: bigint, prot: bigint): KGen<void> {
  for (let a = addr, p = pfn; a < addr + size; a += 4096n, p++) yield* remap_pte_range(k, cpu, vma.vm_mm!, a, p, prot);
}

/** vm_page_prot of a MAP_SHARED vma without write notify (x86 __S001..__S111): PAGE_SHARED (RW) when VM_WRITE, else PAGE_READONLY. */
export function shared_page_prot(k: Kernel, vm_flags: number): bigint {
  return vm_get_page_prot(k, vm_flags) | (vm_flags & VM_WRITE ? _PAGE_RW : 0n) | _PAGE_PRESENT;
}

/**
 * mmap(addr, pages * 4096, prot, MAP_SHARED | MAP_FIXED, fd of `dev`, 0) at a free range: a new
 * vma, the driver's ->mmap (call_mmap(): allocate the buffer if there is none, then
 * remap_pfn_range() for each of its frames), and the vma linked into the mm and the device's
 * i_mmap. The caller holds mm->mmap_sem for writing. `pages` must not exceed the device's buffer.
 */
export function* pfnmap_dev_mmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct, dev: PfnmapDevice, addr: bigint, pages: number, vm_flags: number): KGen<VmAreaStruct> {
  if (pages < 1 || pages > dev.pages) throw new Error(`pfnmap_dev_mmap: ${pages} pages of a ${dev.pages}-page buffer`);
  const vma = newVma({
    vm_start: addr,
    vm_end: addr + BigInt(pages) * 4096n,
    vm_flags: vm_flags | VM_SHARED | VM_MAYSHARE,
    vm_file: dev.file,
    vm_pgoff: 0,
    vm_mm: mm,
  });
  const fns = enterFn(cpu, 'mmap_region');
  try {
    yield* down_write(k, cpu, dev.lock);
    const buf = (dev.buffer ??= Array.from({ length: dev.pages }, () => k.m.frames.alloc({ zero: true })));
    const prot = shared_page_prot(k, vma.vm_flags);
    for (let i = 0; i < pages; i++) yield* remap_pfn_range(k, cpu, vma, addr + BigInt(i) * 4096n, buf[i], 4096n, prot);
    yield* vma_link(k, cpu, mm, vma);
    up_write(dev.lock, cpu.curr);
  } finally {
    fns.pop();
  }
  return vma;
}

/**
 * The model driver's release of its buffer (an ioctl): under its mutex, unmap_mapping_range(
 * mapping, 0, 0, 1) — every vma of the device's i_mmap loses its ptes, and each
 * zap_page_range_single() flushes what it zapped — then the frames go back to the page
 * allocator (__free_page()). Nothing happens without a buffer.
 */
export function pfnmap_dev_free_buffer(k: Kernel, cpu: LinuxCpu, dev: PfnmapDevice): KGen<void> {
  return traced(cpu, 'pfnmap_dev_free_buffer', () => free_buffer(k, cpu, dev));
}

function* free_buffer(k: Kernel, cpu: LinuxCpu, dev: PfnmapDevice): KGen<void> {
  yield* down_write(k, cpu, dev.lock);
  const buf = dev.buffer;
  if (buf) {
    yield* unmap_mapping_range(k, cpu, dev.file.f_mapping, 0n, 0n, true);
    for (const pfn of buf) k.m.frames.free(pfn); // __free_page()
    dev.buffer = null;
  }
  up_write(dev.lock, cpu.curr);
}
