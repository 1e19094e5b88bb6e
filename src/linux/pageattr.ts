/**
 * set_memory_nx()/set_memory_x() of arch/x86/mm/pageattr.c (2.6.37 and 4.14, the same code for
 * this path): change_page_attr_set_clr() first calls vm_unmap_aliases() ("Must avoid aliasing
 * mappings": it completes every lazily deferred vmap TLB flush), then rewrites the 4 KiB ptes of
 * the range under cpa_lock (__change_page_attr: the new pte keeps the pfn, gets the mask, and
 * _PAGE_GLOBAL when present; set_pte_atomic() only when it changed, which sets CPA_FLUSHTLB), and
 * when anything changed flushes every CPU (cpa_flush_range: on_each_cpu(__cpa_flush_range) ->
 * __flush_tlb_all()). The NX bit is the one attribute change without alias processing ("No alias
 * checking for _NX bit modifications"), so the direct map is not touched. Callers in the kernel:
 * module RONX (set_memory_nx on module data, set_memory_x when freeing) and the BPF JIT, on
 * memory from module_alloc(), that is vmalloc space — as the fuzz vocabulary uses it.
 * Not modelled: kmap_flush_unused() (no highmem), large-page splitting (vmalloc ptes are 4 KiB),
 * the cache flush (NX is no caching attribute: cache = 0).
 */
import type { KGen } from '../scheduler/types.js';
import { DONE } from '../scheduler/point.js';
import { traced } from '../scheduler/traced.js';
import { _PAGE_GLOBAL, _PAGE_NX, _PAGE_PRESENT } from './constants.js';
import type { Kernel } from './kernel.js';
import { defineKernelState } from './kstate.js';
import type { LinuxCpu } from './percpu.js';
import { lookup_address, readEntry, set_pte } from './pgtable.js';
import { on_each_cpu } from './smp.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import { SpinLock } from './structs.js';
import { __flush_tlb } from './tlbflush.js';
import { vm_unmap_aliases } from './vmap.js';

const cpaLock = defineKernelState(() => new SpinLock('cpa_lock'));

/** __flush_tlb_all(): __flush_tlb_global() with PGE (the pv flush_tlb_kernel), else __flush_tlb(). */
function* __flush_tlb_all(k: Kernel, cpu: LinuxCpu): KGen<void> {
  if (k.cpu_has_pge) yield* k.pv.mmu.flush_tlb_kernel(k, cpu);
  else yield* __flush_tlb(k, cpu);
}

/** change_page_attr_set_clr(&addr, numpages, mask_set, mask_clr, 0, 0, NULL) for an NX change. */
function* change_page_attr_set_clr(k: Kernel, cpu: LinuxCpu, addr: bigint, numpages: number, mask_set: bigint, mask_clr: bigint): KGen<void> {
  yield* vm_unmap_aliases(k, cpu);
  let flushtlb = false;
  for (let i = 0; i < numpages; i++) {
    const address = addr + BigInt(i * 4096);
    yield* spin_lock(k, cpu, cpaLock(k));
    const r = lookup_address(k, address);
    const kpte = r && r.level === 1 ? r.ptr : null; // vmalloc space: 4 KiB ptes
    const old = kpte === null ? 0n : readEntry(k, kpte);
    if (kpte !== null && old !== 0n) {
      let pte = (old & ~mask_clr) | mask_set;
      pte = pte & _PAGE_PRESENT ? pte | _PAGE_GLOBAL : pte & ~_PAGE_GLOBAL;
      pte &= k.__supported_pte_mask; // canon_pgprot()
      if (pte !== old) {
        yield* set_pte(k, cpu, kpte, pte); // set_pte_atomic()
        flushtlb = true; // cpa->flags |= CPA_FLUSHTLB
      }
    }
    yield* spin_unlock(k, cpu, cpaLock(k));
  }
  if (flushtlb) yield* traced(cpu, 'cpa_flush_range', () => on_each_cpu(k, cpu, '__cpa_flush_range', __flush_tlb_all));
}

/** set_memory_nx(addr, numpages) / set_memory_x(addr, numpages): nothing without NX support. */
export function set_memory_nx(k: Kernel, cpu: LinuxCpu, addr: bigint, numpages: number, nx: boolean): KGen<void> {
  if (!(k.__supported_pte_mask & _PAGE_NX) || k.L.paging === '32bit') return DONE;
  return traced(cpu, nx ? 'set_memory_nx' : 'set_memory_x', () => change_page_attr_set_clr(k, cpu, addr, numpages, nx ? _PAGE_NX : 0n, nx ? 0n : _PAGE_NX));
}
