/**
 * The bridge from fuzz operations to the Linux model's public functions. Each entry calls the
 * model function of the same name (src/linux/); where the model has no such entry point the
 * adapter is written here from the kernel source it follows, using only the model's public
 * functions, and says so.
 */
import type { Kernel } from '../linux/kernel.js';
import { mm_alloc } from '../linux/mm.js';
import type { LinuxCpu } from '../linux/percpu.js';
import { newVma, type MmStruct } from '../linux/structs.js';
import { alloc_percpu, vfree, vmalloc } from '../linux/vmalloc.js';
import { vm_map_ram, vm_unmap_ram } from '../linux/vmap.js';
import type { KGen } from '../scheduler/types.js';
import { vm_munmap } from '../linux/mmap.js';
import { down_write, up_write } from '../linux/rwsem.js';
import { sys_mprotect } from '../linux/mprotect.js';
import { dup_mmap } from '../linux/fork.js';
import { get_user_pages_fast } from '../linux/gup.js';
import { attach_mem_cgroup, mem_cgroup_create, type MemCgroup } from '../linux/memcg.js';
import type { KObj } from './program.js';
import { LinuxFile } from '../linux/structs.js';
import { mmap_region_file } from '../linux/mmap.js';
import { MREMAP_FIXED, MREMAP_MAYMOVE, sys_mremap } from '../linux/mremap.js';
import { do_sys_ftruncate } from '../linux/truncate.js';
import { mustYield } from '../scheduler/point.js';
import { PfnmapDevice, pfnmap_dev_free_buffer, pfnmap_dev_mmap } from '../linux/pfnmap.js';
import { mem_write, type GupWriteObserver } from '../linux/gup_slow.js';
import { sys_madvise_dontneed } from '../linux/madvise.js';

/** A kernel object the program allocated. */
export interface KernelObject {
  /** Kernel virtual address of the object (for per-cpu memory: of CPU 0's unit). */
  va: bigint;
  pages: number;
  /** Per-cpu memory: bytes between two CPUs' units (0 otherwise). */
  unit: number;
  /** Pages given to vm_map_ram (freed to the page allocator after vm_unmap_ram). */
  pfns: number[];
  /** Accesses in progress (kernel code holds a reference while it uses the object: a kref). */
  users: number;
}

/** Address of `o` as CPU `cpu` accesses it (its own unit for per-cpu memory). */
export function objectVa(o: KernelObject, cpu: number): bigint {
  return o.va + BigInt(o.unit * cpu);
}

export interface KernelOps {
  alloc(cpu: LinuxCpu, kind: KObj, pages: number): KGen<KernelObject | null>;
  free(cpu: LinuxCpu, kind: KObj, o: KernelObject): KGen<void>;
  mmap(cpu: LinuxCpu, mm: MmStruct, start: bigint, pages: number, vmFlags: number): KGen<void>;
  munmap(cpu: LinuxCpu, mm: MmStruct, start: bigint, pages: number): KGen<void>;
  mprotect(cpu: LinuxCpu, mm: MmStruct, start: bigint, pages: number, vmFlags: number): KGen<void>;
  memcg_create(cpu: LinuxCpu, name: string): KGen<MemCgroup>;
  memcg_attach(mm: MmStruct, g: MemCgroup): void;
  /** get_user_pages_fast(): the frames it pinned, in address order (it stops at the first page it leaves to the slow path). */
  gup_fast(cpu: LinuxCpu, mm: MmStruct, start: bigint, pages: number, write: boolean): KGen<number[]>;
  dup_mm(cpu: LinuxCpu, parent: MmStruct, name: string): KGen<MmStruct>;
  /** A file of an in-memory (ramfs-like) file system, `pages` long, no page cached yet. */
  file_create(name: string, pages: number): LinuxFile;
  mmap_file(cpu: LinuxCpu, mm: MmStruct, file: LinuxFile, start: bigint, pages: number, vmFlags: number): KGen<void>;
  mremap(cpu: LinuxCpu, mm: MmStruct, start: bigint, pages: number, to: bigint): KGen<bigint>;
  ftruncate(cpu: LinuxCpu, file: LinuxFile, pages: number): KGen<void>;
  /** A device of the model PFN-mapping driver with a `pages`-page buffer (src/linux/pfnmap.ts). */
  dev_create(name: string, pages: number): PfnmapDevice;
  mmap_dev(cpu: LinuxCpu, mm: MmStruct, dev: PfnmapDevice, start: bigint, pages: number, vmFlags: number): KGen<void>;
  dev_release(cpu: LinuxCpu, dev: PfnmapDevice): KGen<void>;
  mmap_priv(cpu: LinuxCpu, mm: MmStruct, file: LinuxFile, start: bigint, pages: number, vmFlags: number): KGen<void>;
  /** write(2) of `value` to /proc/self/mem at `va`; `observe` sees the page get_user_pages() returned. */
  mem_write(cpu: LinuxCpu, mm: MmStruct, va: bigint, value: bigint, observe?: GupWriteObserver): KGen<number>;
  madvise_dontneed(cpu: LinuxCpu, mm: MmStruct, start: bigint, pages: number): KGen<number>;
}

/** The operations of each kernel, built once (an interpreter per execution shares them). */
const opsOf = new WeakMap<Kernel, KernelOps>();

/**
 * The operations on kernel `k`. Built once per kernel: their generator methods are generator
 * functions made by this call, and a generator function made per execution costs a new hidden
 * class at its first call (see `traced` in src/scheduler/traced.ts).
 */
export function kernelOps(k: Kernel): KernelOps {
  let ops = opsOf.get(k);
  if (!ops) opsOf.set(k, (ops = makeKernelOps(k)));
  return ops;
}

function makeKernelOps(k: Kernel): KernelOps {
  return {
    *alloc(cpu, kind, pages) {
      if (kind === 'vmalloc') {
        const va = yield* vmalloc(k, cpu, pages * 4096);
        return va === 0n ? null : { va, pages, unit: 0, pfns: [], users: 0 };
      }
      if (kind === 'percpu') {
        const p = yield* alloc_percpu(k, cpu, 4096);
        return { va: p.base, pages: 1, unit: p.unit, pfns: [], users: 0 };
      }
      // vm_map_ram() of freshly allocated pages (alloc_page(GFP_KERNEL) each).
      const pfns: number[] = [];
      for (let i = 0; i < pages; i++) pfns.push(k.m.frames.alloc({ zero: true }));
      const va = yield* vm_map_ram(k, cpu, pfns);
      return { va, pages, unit: 0, pfns, users: 0 };
    },

    *free(cpu, kind, o) {
      if (kind === 'vmap') {
        yield* vm_unmap_ram(k, cpu, o.va, o.pages);
        // The caller (e.g. the NFS readdir code of seed 001) then frees its pages.
        for (const pfn of o.pfns) k.m.frames.free(pfn);
        return;
      }
      // free_percpu() of a vmalloc'ed chunk releases the area like vfree() (pcpu_free_vm_areas).
      yield* vfree(k, cpu, o.va);
    },

    /**
     * mmap() of anonymous memory: vm_mmap_pgoff() takes mm->mmap_sem for writing, mmap_region()
     * links a new vma; no page-table work until the first fault (mm/mmap.c). The model has no
     * do_mmap entry point, so the vma is linked here.
     */
    *mmap(cpu, mm, start, pages, vmFlags) {
      yield* down_write(k, cpu, mm.mmap_sem);
      mm.vmas.push(newVma({ vm_start: start, vm_end: start + BigInt(pages * 4096), vm_flags: vmFlags }));
      if (mustYield('mmap_region')) yield 'mmap_region';
      up_write(mm.mmap_sem, cpu.curr);
    },

    *munmap(cpu, mm, start, pages) {
      yield* vm_munmap(k, cpu, mm, start, BigInt(pages * 4096));
    },

    *mprotect(cpu, mm, start, pages, vmFlags) {
      yield* sys_mprotect(k, cpu, mm, start, BigInt(pages * 4096), vmFlags);
    },

    *gup_fast(cpu, mm, start, pages, write) {
      const pinned: number[] = [];
      yield* get_user_pages_fast(k, cpu, mm, start, pages, write, pinned);
      return pinned;
    },

    *memcg_create(cpu, name) {
      return yield* mem_cgroup_create(k, cpu, name);
    },

    memcg_attach(mm, g) {
      attach_mem_cgroup(k, mm, g);
    },

    /**
     * fork()'s dup_mm(): mm_alloc() (pgd_alloc), then dup_mmap(): the vmas and their page tables
     * copied copy-on-write (copy_page_range), arch_dup_mmap() (Xen PV pins the new pgd there:
     * xen_dup_mmap -> xen_pgd_pin), flush_tlb_mm(oldmm) (src/linux/fork.ts); all of it under the
     * parent's mmap_sem held for writing (dup_mmap() takes it).
     */
    file_create(name, pages) {
      return new LinuxFile(name, BigInt(pages * 4096));
    },

    /** mmap(start, len, prot, MAP_SHARED | MAP_FIXED, fd, 0): vm_mmap_pgoff() under mmap_sem -> mmap_region() (src/linux/mmap.ts). */
    *mmap_file(cpu, mm, file, start, pages, vmFlags) {
      yield* down_write(k, cpu, mm.mmap_sem);
      yield* mmap_region_file(k, cpu, mm, file, start, BigInt(pages * 4096), vmFlags, 0);
      up_write(mm.mmap_sem, cpu.curr);
    },

    /** mremap(start, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to) (src/linux/mremap.ts). */
    *mremap(cpu, mm, start, pages, to) {
      const len = BigInt(pages * 4096);
      return yield* sys_mremap(k, cpu, mm, start, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    },

    /** ftruncate(fd, pages * PAGE_SIZE) (src/linux/truncate.ts). */
    *ftruncate(cpu, file, pages) {
      yield* do_sys_ftruncate(k, cpu, file, BigInt(pages * 4096));
    },

    dev_create(name, pages) {
      return new PfnmapDevice(name, pages);
    },

    /** mmap(start, len, prot, MAP_SHARED | MAP_FIXED, fd of the device, 0) under mmap_sem (src/linux/pfnmap.ts). */
    *mmap_dev(cpu, mm, dev, start, pages, vmFlags) {
      yield* down_write(k, cpu, mm.mmap_sem);
      yield* pfnmap_dev_mmap(k, cpu, mm, dev, start, pages, vmFlags);
      up_write(mm.mmap_sem, cpu.curr);
    },

    /** ioctl(fd, <release the buffer>): unmap_mapping_range() of the device, then the frames freed (src/linux/pfnmap.ts). */
    *dev_release(cpu, dev) {
      yield* pfnmap_dev_free_buffer(k, cpu, dev);
    },

    /** mmap(start, len, prot, MAP_PRIVATE | MAP_FIXED, fd, 0) under mmap_sem (src/linux/mmap.ts). */
    *mmap_priv(cpu, mm, file, start, pages, vmFlags) {
      yield* down_write(k, cpu, mm.mmap_sem);
      yield* mmap_region_file(k, cpu, mm, file, start, BigInt(pages * 4096), vmFlags, 0, false);
      up_write(mm.mmap_sem, cpu.curr);
    },

    /** /proc/self/mem write: mem_rw() -> access_remote_vm() (src/linux/gup_slow.ts). */
    *mem_write(cpu, mm, va, value, observe) {
      return yield* mem_write(k, cpu, mm, va, value, observe);
    },

    /** madvise(start, len, MADV_DONTNEED) (src/linux/madvise.ts). */
    *madvise_dontneed(cpu, mm, start, pages) {
      return yield* sys_madvise_dontneed(k, cpu, mm, start, BigInt(pages * 4096));
    },

    *dup_mm(cpu, parent, name) {
      yield* down_write(k, cpu, parent.mmap_sem);
      const mm = yield* mm_alloc(k, cpu, name);
      yield* dup_mmap(k, cpu, mm, parent);
      up_write(parent.mmap_sem, cpu.curr);
      return mm;
    },
  };
}
