/**
 * Security fixes of later Xen releases, as switches on the model's Xen 4.1 mm.c. Each switch
 * changes only the lines its fix commit changed (docs/historical-bugs.md, docs/provenance.md):
 *
 * - XSA-148 (CVE-2015-7835), commit fe360c90ea "x86: guard against undue super page PTE
 *   creation" (Xen 4.6.1 / 4.5.2 / 4.4.4; the bug dates from the PV superpage support of Xen 3.4):
 *   L2_DISALLOW_MASK keeps _PAGE_PSE unless `allowsuperpage` is on, and mod_l2_entry()'s fast path
 *   compares PSE and RW too when it is. Without it a guest sets PSE on an existing L2 entry, the
 *   fast path ("identical mapping and presence") takes it unvalidated, and the guest has a 2 MiB
 *   writable mapping of whatever frames follow the L1 table the entry pointed at.
 * - XSA-182 (CVE-2016-6258), commit e1bff4c2ea "x86/pv: Remove unsafe bits from the
 *   mod_l?_entry() fastpath" (Xen 4.7.1 / 4.6.4 / 4.5.4): the fast paths of mod_l1..l4_entry()
 *   compare every bit but FASTPATH_FLAG_WHITELIST (NX, the available bits, G, D, A, U). Without it
 *   mod_l2/l3/l4_entry() compare only the frame and _PAGE_PRESENT, so a guest turns a read-only
 *   linear page-table entry (allowed) into a writable one (refused on the slow path: "Attempt to
 *   create linear p.t. with write perms") and writes its own page tables.
 * - XSA-240 (CVE-2017-15595), commit 6987fc7558 "x86: limit linear page table use to a single
 *   level" (Xen 4.10.0; backports 4.9.1 c2b0a92d23, 4.8.3, 4.7.4, 4.6.7): page->linear_pt_count
 *   counts a table's same-level entries (positive) or its uses as a same-level table elsewhere
 *   (negative), and get_lN_linear_pagetable() refuses a link that would need both. Without it a
 *   guest builds chains of same-level tables, each held only by the linear entry of the one
 *   before; dropping the first de-types them all in one recursion (__put_page_type ->
 *   free_page_type -> put_page_from_lNe -> __put_page_type ...) as deep as the chain is long,
 *   until Xen's 8 KiB primary stack overflows (src/xen/stack.ts).
 */

/** Which fixes the hypervisor carries (true = fixed). */
export interface XenFixes {
  xsa148: boolean;
  xsa182: boolean;
  xsa240: boolean;
  xsa241: boolean;
}

/** Every fix applied. */
export const ALL_FIXES: Readonly<XenFixes> = { xsa148: true, xsa182: true, xsa240: true, xsa241: true };

/** x86 PTE flag bits, as `get_pte_flags()` returns them (bits 63:52 moved to 23:12). */
const _PAGE_PRESENT = 0x001;
const _PAGE_RW = 0x002;
const _PAGE_USER = 0x004;
const _PAGE_ACCESSED = 0x020;
const _PAGE_DIRTY = 0x040;
const _PAGE_GLOBAL = 0x100;
const _PAGE_AVAIL = 0xe00;
/** asm-x86/page.h after XSA-182: `_PAGE_AVAIL_HIGH (0x7ff << 12)`, the PTE's bits 62:52. */
const _PAGE_AVAIL_HIGH = 0x7ff << 12;
/** `_PAGE_NX_BIT (1U << 23)`: PTE bit 63. */
const _PAGE_NX_BIT = 1 << 23;

/** mm.c after XSA-182: the flags a guest may change without re-validation. */
export const FASTPATH_FLAG_WHITELIST = (_PAGE_NX_BIT | _PAGE_AVAIL_HIGH | _PAGE_AVAIL | _PAGE_GLOBAL | _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_USER) >>> 0;

/** The 24-bit flags that, with the frame, decide whether mod_l1_entry() takes its fast path. */
export function l1FastpathFlags(f: XenFixes): number {
  // 4.1: "Fast path for identical mapping, r/w and presence."
  return f.xsa182 ? ~FASTPATH_FLAG_WHITELIST & 0xffffff : _PAGE_RW | _PAGE_PRESENT;
}

/**
 * The same for mod_l2/l3/l4_entry(). With XSA-148 alone and `allowsuperpage` off (the model's
 * setting) the L2 fast path still compares only _PAGE_PRESENT: that fix refuses PSE through
 * L2_DISALLOW_MASK instead.
 */
export function lNFastpathFlags(f: XenFixes): number {
  return f.xsa182 ? ~FASTPATH_FLAG_WHITELIST & 0xffffff : _PAGE_PRESENT;
}

/** Whether L2_DISALLOW_MASK lets _PAGE_PSE through (before XSA-148 it always did). */
export function l2AllowsPse(f: XenFixes): boolean {
  return !f.xsa148;
}

/** `lNe_has_changed(x, y, flags)`: the frame or any of the 24-bit `flags` differ. */
export function lNeHasChanged(x: bigint, y: bigint, flags: number): boolean {
  // Frame bits 51:12 always count; `flags` is a 24-bit get_pte_flags() mask (bits 23:12 = PTE 63:52).
  const f = BigInt(flags >>> 0);
  const mask = (((1n << 52n) - 1n) & ~0xfffn) | (f & 0xfffn) | ((f >> 12n) << 52n);
  return ((x ^ y) & mask) !== 0n;
}
