/**
 * The Xen PV backend of the Linux model (`paravirt=xen-pv`, registered by ../backends.ts). See
 * docs/xen-model.md.
 */
export { xenPvOps, xen_flush_tlb_others, xen_boot_now } from './mmu.js';
export { xen_pagetable_init } from './setup.js';
export { xenOf, xenState, XenPvState } from './state.js';
export { xen_mc_flush, xen_mc_batch, xen_mc_issue, MC_BATCH } from './multicalls.js';
export { xen_pgd_pin, xen_pgd_unpin, xen_alloc_ptpage, xen_release_ptpage, pin_pagetable_pfn, xen_page_pinned, lookup_pte_k } from './pin.js';
