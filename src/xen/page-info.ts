/**
 * Xen's per-frame bookkeeping (`struct page_info`): `count_info` (general reference count
 * and PGC_* flags) and `u.inuse.type_info` (type, PGT_* flags and the type reference count).
 *
 * Encoding follows the Xen of seed 001's era (xen-unstable 6020fcb848, November 2010, the
 * Xen 4.1 development tree; identical in 4.0): xen/include/asm-x86/mm.h
 *   #define PG_shift(idx)   (BITS_PER_LONG - (idx))
 *   #define PG_mask(x, idx) (x ## UL << PG_shift(idx))
 *   PGT_none = PG_mask(0,4) ... PGT_l1..l4_page_table = PG_mask(1..4,4),
 *   PGT_seg_desc_page = PG_mask(5,4), PGT_writable_page = PG_mask(7,4)  (bits 63:60)
 *   PGT_pinned = PG_mask(1,5) (bit 59), PGT_validated = PG_mask(1,6) (bit 58),
 *   PGT_pae_xen_l2 (57), PGT_partial (56), PGT_locked (55), PGT_count_mask = bits 54:0.
 * So a frame with one writable mapping reads `7400000000000001` (PRtype_info "016lx"),
 * exactly as seed 001 prints it.
 */

const PG_shift = (idx: number): bigint => BigInt(64 - idx);
const PG_mask = (x: number, idx: number): bigint => BigInt(x) << PG_shift(idx);

export const PGT_none = PG_mask(0, 4);
export const PGT_l1_page_table = PG_mask(1, 4);
export const PGT_l2_page_table = PG_mask(2, 4);
export const PGT_l3_page_table = PG_mask(3, 4);
export const PGT_l4_page_table = PG_mask(4, 4);
export const PGT_seg_desc_page = PG_mask(5, 4);
export const PGT_writable_page = PG_mask(7, 4);
export const PGT_type_mask = PG_mask(15, 4);
export const PGT_pinned = PG_mask(1, 5);
export const PGT_validated = PG_mask(1, 6);
export const PGT_pae_xen_l2 = PG_mask(1, 7);
export const PGT_partial = PG_mask(1, 8);
export const PGT_locked = PG_mask(1, 9);
export const PGT_count_mask = (1n << PG_shift(9)) - 1n;
/** x86_64: `#define PGT_root_page_table PGT_l4_page_table` (asm-x86/x86_64/page.h). */
export const PGT_root_page_table = PGT_l4_page_table;

/** count_info: PGC_allocated is PG_mask(1,1) (bit 63); the general count is bits 54:0. */
export const PGC_allocated = PG_mask(1, 1);
export const PGC_count_mask = (1n << PG_shift(9)) - 1n;

/** PGT_lN_page_table for N = 1..4. */
export function pgtForLevel(level: number): bigint {
  if (level < 1 || level > 4) throw new RangeError(`no Xen page-table type for level ${level}`);
  return BigInt(level) << 60n;
}

/** Page-table level (1..4) of a type word, or 0 if it is not a page-table type. */
export function levelOfType(typeInfo: bigint): number {
  const t = Number((typeInfo & PGT_type_mask) >> 60n);
  return t >= 1 && t <= 4 ? t : 0;
}

/** Name of the type field, for reports: 'none', 'l1'..'l4', 'seg_desc', 'writable', 'shared'. */
export function typeName(typeInfo: bigint): string {
  const t = Number((typeInfo & PGT_type_mask) >> 60n);
  return ['none', 'l1', 'l2', 'l3', 'l4', 'seg_desc', '6', 'writable', 'shared'][t] ?? String(t);
}

/** printk("%016lx") of a 64-bit word, as PRtype_info formats it on x86_64. */
export function PRtype_info(v: bigint): string {
  return BigInt.asUintN(64, v).toString(16).padStart(16, '0');
}

/**
 * The frame table Xen keeps for one machine: a `page_info` per machine frame, plus the
 * owning domain and the `tlbflush_timestamp` used by get_page_type's flush filter.
 */
export class XenFrameTable {
  readonly typeInfo: BigUint64Array;
  readonly countInfo: BigUint64Array;
  /** Owner domain id; -1 = no owner (Xen heap, unassigned). */
  readonly owner: Int32Array;
  /** `page->tlbflush_timestamp` (a value of the hypervisor's flush clock). */
  readonly tlbflushTimestamp: Float64Array;
  /**
   * `page->linear_pt_count` (XSA-240 fix): > 0, same-level (linear) entries this table holds; < 0,
   * same-level tables that use this one. Untouched without the fix.
   */
  readonly linearPtCount: Int16Array;

  constructor(readonly count: number) {
    this.typeInfo = new BigUint64Array(count);
    this.countInfo = new BigUint64Array(count);
    this.owner = new Int32Array(count).fill(-1);
    this.tlbflushTimestamp = new Float64Array(count);
    this.linearPtCount = new Int16Array(count);
  }

  /** `mfn_valid(mfn)`. */
  valid(mfn: number): boolean {
    return Number.isInteger(mfn) && mfn >= 0 && mfn < this.count;
  }

  /** Type reference count (`type_info & PGT_count_mask`). */
  typeCount(mfn: number): number {
    return Number(this.typeInfo[mfn] & PGT_count_mask);
  }

  /** General reference count (`count_info & PGC_count_mask`). */
  refCount(mfn: number): number {
    return Number(this.countInfo[mfn] & PGC_count_mask);
  }

  /** True when the frame is pinned (`PGT_pinned`). */
  pinned(mfn: number): boolean {
    return (this.typeInfo[mfn] & PGT_pinned) !== 0n;
  }

  /** True when the frame's current type has been validated (`PGT_validated`). */
  validated(mfn: number): boolean {
    return (this.typeInfo[mfn] & PGT_validated) !== 0n;
  }

  /** Readable summary of one frame, e.g. `mfn 0x1d2e04 l1 validated pinned type_count=1 count=2`. */
  describe(mfn: number): string {
    const t = this.typeInfo[mfn];
    const flags = [t & PGT_validated && 'validated', t & PGT_pinned && 'pinned'].filter(Boolean).join(' ');
    return `mfn ${mfn.toString(16)} ${typeName(t)}${flags ? ' ' + flags : ''} type_count=${this.typeCount(mfn)} count=${this.refCount(mfn)} (type_info ${PRtype_info(t)})`;
  }
}
