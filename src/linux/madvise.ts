/**
 * madvise(start, len, MADV_DONTNEED) (mm/madvise.c, 4.8): under mm->mmap_sem held for reading
 * (madvise_need_mmap_write() is false for MADV_DONTNEED), for each vma of the range
 * madvise_dontneed(): -EINVAL for VM_LOCKED, VM_HUGETLB or VM_PFNMAP vmas, else
 * zap_page_range(vma, start, end - start, NULL): one mmu_gather over the range, unmap_single_vma()
 * for the vma, tlb_finish_mmu() (the TLB flush, then the pages' references dropped). An anonymous
 * (e.g. COW-copied) page is gone; a private file mapping faults the file's page in again.
 * Not modelled: -ENOMEM for holes (the model zaps what is mapped), userfaultfd, mmu notifiers.
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import { unmap_page_range } from './memory.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';
import { vma_list } from './mmap.js';
import type { LinuxCpu } from './percpu.js';
import { down_read, up_read } from './rwsem.js';
import { VM_PFNMAP, type MmStruct } from './structs.js';
import { enterFn } from '../scheduler/traced.js';

/** MADV_DONTNEED. */
export const MADV_DONTNEED = 4;
const EINVAL = 22;

/** sys_madvise(start, len, MADV_DONTNEED): 0 or -EINVAL. */
export function* sys_madvise_dontneed(k: Kernel, cpu: LinuxCpu, mm: MmStruct, start: bigint, len: bigint): KGen<number> {
  const end = start + ((len + 0xfffn) & ~0xfffn);
  const fns = enterFn(cpu, 'sys_madvise');
  try {
    yield* down_read(k, cpu, mm.mmap_sem);
    let ret = 0;
    for (const vma of vma_list(mm)) {
      if (vma.vm_end <= start || vma.vm_start >= end) continue;
      if (vma.vm_flags & VM_PFNMAP) {
        ret = -EINVAL; // madvise_dontneed(): VM_LOCKED | VM_HUGETLB | VM_PFNMAP
        break;
      }
      const s = vma.vm_start > start ? vma.vm_start : start;
      const e = vma.vm_end < end ? vma.vm_end : end;
      const zap = enterFn(cpu, 'zap_page_range');
      try {
        const tlb = tlb_gather_mmu(mm, s, e);
        const unmap = enterFn(cpu, 'unmap_single_vma');
        try {
          yield* unmap_page_range(k, cpu, tlb, s, e);
        } finally {
          unmap.pop();
        }
        yield* tlb_finish_mmu(k, cpu, tlb);
      } finally {
        zap.pop();
      }
    }
    up_read(mm.mmap_sem, cpu.curr);
    return ret;
  } finally {
    fns.pop();
  }
}
