/**
 * pgd_alloc()/pgd_free() (arch/x86/mm/pgtable.c, 3.x): a new pgd copies the kernel part of
 * swapper_pg_dir (clone_pgd_range from KERNEL_PGD_BOUNDARY) under pgd_lock and joins pgd_list
 * unless SHARED_KERNEL_PMD; with PAE the user pmds are preallocated (preallocate_pmds(),
 * pgd_prepopulate_pmd(): PDPTEs are loaded at CR3 write, so they never change afterwards) and
 * the kernel pmd is shared.
 */
import type { KGen } from '../scheduler/types.js';
import { _PAGE_PRESENT } from './constants.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { entryAddr, readEntry, set_pud, writeEntry } from './pgtable.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import { SpinLock, type MmStruct } from './structs.js';
import { defineKernelState } from './kstate.js';

/** pgd_lock (arch/x86/mm/fault.c DEFINE_SPINLOCK(pgd_lock)), one per kernel. */
export const pgd_lock = defineKernelState(() => new SpinLock('pgd_lock'));

/** Level recorded in the frame table for a top-level table of this paging mode. */
export function pgdLevel(k: Kernel): number {
  return k.L.paging === '4level' ? 4 : k.L.paging === 'pae' ? 3 : 2;
}

/** pgd_ctor(): copy the kernel entries, and join pgd_list when the kernel pmd is not shared. */
function pgd_ctor(k: Kernel, mm: MmStruct): void {
  const L = k.L;
  const es = L.entrySize;
  const shareKernel = L.paging !== 'pae' || L.SHARED_KERNEL_PMD;
  if (shareKernel) {
    for (let i = L.KERNEL_PGD_BOUNDARY; i < L.PTRS_PER_PGD; i++) {
      const v = readEntry(k, k.init_mm.pgd + i * es);
      if (v === 0n) continue; // the new pgd page is zeroed
      if (es === 8) k.m.phys.write64n(mm.pgd + i * es, v);
      else k.m.phys.write32(BigInt(mm.pgd + i * es), Number(v));
    }
  }
  if (!L.SHARED_KERNEL_PMD) k.pgd_list.push(mm);
}

/** pgd_alloc(mm): sets mm.pgd. */
export function* pgd_alloc(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
  mm.pgd = k.allocPageTable(pgdLevel(k));
  const pmds: number[] = [];
  if (k.L.paging === 'pae') {
    // preallocate_pmds(): PREALLOCATED_PMDS = KERNEL_PGD_BOUNDARY (+1 without a shared kernel pmd).
    const n = k.L.SHARED_KERNEL_PMD ? k.L.KERNEL_PGD_BOUNDARY : k.L.PTRS_PER_PGD;
    for (let i = 0; i < n; i++) pmds.push(k.allocPageTable(2));
  }
  yield* k.pv.mmu.pgd_alloc(k, cpu, mm); // paravirt_pgd_alloc()
  const lock = pgd_lock(k);
  yield* spin_lock(k, cpu, lock);
  pgd_ctor(k, mm);
  // pgd_prepopulate_pmd(): pud_populate() each preallocated pmd (PDPTEs hold only P).
  for (let i = 0; i < pmds.length; i++) {
    if (i >= k.L.KERNEL_PGD_BOUNDARY) {
      // Unshared kernel pmd (Xen PV PAE): copy swapper's kernel pmd.
      const src = entryAddr(k.L, readEntry(k, k.init_mm.pgd + i * 8));
      for (let j = 0; j < 512; j++) k.m.phys.write64n(pmds[i] + j * 8, k.m.phys.read64n(src + j * 8));
    }
    yield* k.pv.mmu.alloc_pmd(k, cpu, mm, pmds[i] / 4096);
    yield* set_pud(k, cpu, mm.pgd + i * 8, BigInt(pmds[i]) | _PAGE_PRESENT);
  }
  yield* spin_unlock(k, cpu, lock);
}

/** pgd_free(mm): pgd_mop_up_pmds() (PAE), pgd_dtor() (leave pgd_list), paravirt_pgd_free(). */
export function* pgd_free(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
  if (k.L.paging === 'pae') {
    for (let i = 0; i < k.L.PTRS_PER_PGD; i++) {
      const v = readEntry(k, mm.pgd + i * 8);
      if (!(v & _PAGE_PRESENT)) continue;
      if (i >= k.L.KERNEL_PGD_BOUNDARY && k.L.SHARED_KERNEL_PMD) continue; // the shared kernel pmd
      writeEntry(k, mm.pgd + i * 8, 0n);
      yield* k.pv.mmu.release_pmd(k, cpu, entryAddr(k.L, v) / 4096);
      k.m.frames.free(entryAddr(k.L, v) / 4096);
    }
  }
  if (!k.L.SHARED_KERNEL_PMD) {
    const lock = pgd_lock(k);
    yield* spin_lock(k, cpu, lock);
    const i = k.pgd_list.indexOf(mm);
    if (i >= 0) k.pgd_list.splice(i, 1);
    yield* spin_unlock(k, cpu, lock);
  }
  yield* k.pv.mmu.pgd_free(k, cpu, mm);
  k.m.frames.free(mm.pgd / 4096);
}
