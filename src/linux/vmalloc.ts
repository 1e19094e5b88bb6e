/**
 * vmalloc()/vfree() (mm/vmalloc.c, 3.x) and dynamic per-cpu memory in vmalloc space
 * (mm/percpu.c: chunks beyond the first are vmalloc'ed via pcpu_get_vm_areas()).
 *
 * vmalloc() maps pages into init_mm only (vmap_page_range -> pud_alloc/pmd_alloc/
 * pte_alloc_kernel -> set_pte_at(&init_mm, ...)). On 64-bit a new pud under an empty pgd slot is
 * visible to other pgds only after vmalloc_fault() (or vmalloc_sync_all()) copies the pgd entry;
 * on 32-bit non-PAE the same holds for a new page table (the folded pmd lives in the pgd); with
 * native PAE the kernel pmd is shared, so every pgd sees it at once.
 *
 * Areas are handed out bottom-up from VMALLOC_START with a guard page after each
 * (alloc_vmap_area), never twice. vfree() goes through the lazy vmap layer of 2.6.28 and later
 * (vmap.ts free_unmap_vmap_area(), as a large vm_unmap_ram() does): the TLB flush is left to the
 * lazy purge (and before 2.6.37 the pte clearing too); only debug_pagealloc, not modelled,
 * flushes at once.
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import { pte_alloc_walk } from './memory.js';
import type { LinuxCpu } from './percpu.js';
import { entryAddr, PAGE_KERNEL, pgd_none, pgd_offset_k, pgd_offset_pgd, readEntry, set_pgd } from './pgtable.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import { vmalloc_sync_one } from './fault.js';
import { pgd_lock } from './pgd.js';
import { pgd_index } from './layout.js';
import { free_unmap_vmap_area, vmallocState, type VmapArea } from './vmap.js';
import { enterFn, traced } from '../scheduler/traced.js';

export type { VmapArea };

/** vmalloc(size): the address of a new area (0n when the vmalloc space is exhausted). */
export function* vmalloc(k: Kernel, cpu: LinuxCpu, size: number): KGen<bigint> {
  const fns = enterFn(cpu, 'vmalloc');
  try {
    const st = vmallocState(k);
    const npages = Math.max(1, Math.ceil(size / 4096));
    yield* spin_lock(k, cpu, st.lock); // alloc_vmap_area()
    const addr = st.next;
    st.next += BigInt((npages + 1) * 4096); // guard page
    yield* spin_unlock(k, cpu, st.lock);
    if (st.next > k.L.VMALLOC_END) {
      return 0n;
    }
    const area: VmapArea = { addr, size: npages * 4096, pages: [] };
    for (let i = 0; i < npages; i++) area.pages.push(k.m.frames.alloc({ zero: true }));
    // map_vm_area() -> vmap_page_range(): init_mm only.
    for (let i = 0; i < npages; i++) {
      const va = addr + BigInt(i * 4096);
      const ptep = yield* pte_alloc_walk(k, cpu, k.init_mm, va);
      yield* k.pv.mmu.set_pte_at(k, cpu, k.init_mm, va, ptep, (BigInt(area.pages[i]) << 12n) | PAGE_KERNEL(k));
    }
    st.areas.set(addr, area);
    return addr;
  } finally {
    fns.pop();
  }
}

/**
 * vfree(addr) -> __vunmap(addr, 1): remove_vm_area() (find_vmap_area(), then
 * free_unmap_vmap_area(): the ptes cleared, the TLB flush left to the lazy purge; before 2.6.37
 * the purge clears the ptes too), then every page freed (__free_page()): a CPU may still hold a TLB
 * entry to a freed page until the purge, which the lazy vmap layer allows because the address is
 * not handed out again before it (vmap.ts).
 */
export function* vfree(k: Kernel, cpu: LinuxCpu, addr: bigint): KGen<void> {
  const st = vmallocState(k);
  const area = st.areas.get(addr);
  if (!area) throw new Error(`vfree: 0x${addr.toString(16)} is not a vmalloc area`);
  const fns = enterFn(cpu, 'vfree');
  try {
    st.areas.delete(addr);
    yield* traced(cpu, 'remove_vm_area', () => free_unmap_vmap_area(k, cpu, addr, area.pages.length));
    for (const pfn of area.pages) k.m.frames.free(pfn);
  } finally {
    fns.pop();
  }
}

/** The vmap area containing `va`, if any. */
export function find_vmap_area(k: Kernel, va: bigint): VmapArea | undefined {
  for (const a of vmallocState(k).areas.values()) if (va >= a.addr && va < a.addr + BigInt(a.size)) return a;
  return undefined;
}

/**
 * vmalloc_sync_all(): 64-bit sync_global_pgds(VMALLOC_START, VMALLOC_END) (arch/x86/mm/init_64.c)
 * copies each present init_mm pgd entry into every pgd on pgd_list; 32-bit (fault.c) runs
 * vmalloc_sync_one() for every PMD_SIZE step over every pgd, unless SHARED_KERNEL_PMD. Absent
 * from 3.18 on (knob vmalloc_sync_all): then it does nothing.
 */
export function* vmalloc_sync_all(k: Kernel, cpu: LinuxCpu): KGen<void> {
  if (!k.config.vmalloc_sync_all) return;
  const L = k.L;
  const lock = pgd_lock(k);
  if (L.paging === '4level') {
    const step = 1n << BigInt(L.PGDIR_SHIFT);
    for (let a = L.VMALLOC_START & ~(step - 1n); a < L.VMALLOC_END; a += step) {
      const pgd_ref = pgd_offset_k(k, a);
      if (pgd_none(k, pgd_ref)) continue;
      yield* spin_lock(k, cpu, lock);
      for (const mm of k.pgd_list) {
        const pgdp = pgd_offset_pgd(k, mm.pgd, a);
        yield* spin_lock(k, cpu, mm.page_table_lock);
        if (pgd_none(k, pgdp)) yield* set_pgd(k, cpu, pgdp, readEntry(k, pgd_ref));
        else if (entryAddr(L, readEntry(k, pgdp)) !== entryAddr(L, readEntry(k, pgd_ref))) k.BUG(cpu, 'arch/x86/mm/init_64.c', null, 'sync_global_pgds');
        yield* spin_unlock(k, cpu, mm.page_table_lock);
      }
      yield* spin_unlock(k, cpu, lock);
    }
    return;
  }
  if (L.SHARED_KERNEL_PMD) return;
  const PMD_SIZE = 1n << BigInt(L.PMD_SHIFT);
  for (let a = L.VMALLOC_START & ~(PMD_SIZE - 1n); a >= L.TASK_SIZE && a < 0xffff_f000n; a += PMD_SIZE) {
    if (pgd_index(L, a) < L.KERNEL_PGD_BOUNDARY) break;
    yield* spin_lock(k, cpu, lock);
    for (const mm of k.pgd_list) {
      yield* spin_lock(k, cpu, mm.page_table_lock);
      const ret = yield* vmalloc_sync_one(k, cpu, mm.pgd, a);
      yield* spin_unlock(k, cpu, mm.page_table_lock);
      if (!ret) break;
    }
    yield* spin_unlock(k, cpu, lock);
  }
}

/** A dynamic per-cpu allocation: `unit` bytes per CPU, units contiguous in vmalloc space. */
export interface PerCpuPtr {
  base: bigint;
  unit: number;
}

/** alloc_percpu(size): one unit per possible CPU in a vmalloc'ed chunk. */
export function* alloc_percpu(k: Kernel, cpu: LinuxCpu, size: number): KGen<PerCpuPtr> {
  const unit = Math.ceil(size / 4096) * 4096;
  const base = yield* vmalloc(k, cpu, unit * k.cpus.length);
  if (base === 0n) throw new Error('alloc_percpu: vmalloc space exhausted');
  return { base, unit };
}

/** per_cpu_ptr(ptr, cpu). */
export function per_cpu_ptr(ptr: PerCpuPtr, cpu: number): bigint {
  return ptr.base + BigInt(cpu * ptr.unit);
}
