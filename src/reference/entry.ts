/**
 * Entry formats: which entries map a page, which bits are reserved, where the next table or the
 * page is. Straight from SDM vol. 3 Tables 4-4..4-6 (32-bit), 4-8..4-11 (PAE), 4-14..4-20 (IA-32e)
 * and docs/paging-semantics.md "Entry formats and reserved bits".
 */
import type { PagingMode, Vendor } from '../core/types.js';
import { bitRange, MASK32, physAddrMask, PTE_PS, PTE_XD } from './bits.js';

/** What the entry decoder needs to know about the processor and its registers. */
export interface EntryContext {
  mode: Exclude<PagingMode, 'none'>;
  vendor: Vendor;
  maxPhysAddrBits: number;
  pse36: boolean;
  pdpe1gb: boolean;
  /** IA32_EFER.NXE (meaningless in 32-bit paging). */
  nxe: boolean;
  /** CR4.PSE (only 32-bit paging looks at it). */
  pse: boolean;
}

/** True when a present entry at `level` maps a page (PS = 1 where PS is honoured, or a PTE). */
export function isLeafEntry(ctx: EntryContext, level: number, value: bigint): boolean {
  if (level === 1) return true;
  const ps = (value & PTE_PS) !== 0n;
  if (ctx.mode === '32bit') return level === 2 && ps && ctx.pse;
  if (ctx.mode === 'pae') return level === 2 && ps;
  // IA-32e: PS=1 maps a 1 GiB page in a PDPTE, a 2 MiB page in a PDE; in a PML4E/PML5E it is reserved.
  return (level === 3 || level === 2) && ps;
}

/** M' of 32-bit paging = min(MAXPHYADDR, 40) (SDM 4.3, Table 4-4 note), or 32 without PSE-36. */
function pse36Bits(ctx: EntryContext): number {
  return ctx.pse36 ? Math.min(ctx.maxPhysAddrBits, 40) : 32;
}

/** Reserved bits set in a present entry (0n when none). PAE PDPTE registers are checked at load. */
export function reservedBitsSet(ctx: EntryContext, level: number, value: bigint, leaf: boolean): bigint {
  const m = ctx.maxPhysAddrBits;
  if (ctx.mode === '32bit') {
    // Table 4-4: a 4 MiB PDE has bits 21:(M'-19) reserved; bits (M'-20):13 hold PA bits (M'-1):32.
    if (level === 2 && leaf) return value & bitRange(21, pse36Bits(ctx) - 19);
    return 0n;
  }
  const nx = ctx.nxe ? 0n : PTE_XD;
  if (ctx.mode === 'pae') {
    // Tables 4-9..4-11: bits 62:M reserved, XD reserved without NXE, 2 MiB PDE bits 20:13.
    let rsvd = bitRange(62, m) | nx;
    if (level === 2 && leaf) rsvd |= bitRange(20, 13);
    return value & rsvd;
  }
  // IA-32e: bits 51:M reserved, XD reserved without NXE (Tables 4-14..4-20).
  let rsvd = bitRange(51, m) | nx;
  if (level >= 4) {
    rsvd |= PTE_PS; // PML5E/PML4E bit 7 is reserved (Tables 4-14, 4-15).
    if (ctx.vendor === 'amd') rsvd |= 1n << 8n; // AMD APM vol. 2, 5.3.3: PML4E bits 8:7 MBZ.
  } else if (level === 3 && leaf) {
    rsvd |= ctx.pdpe1gb ? bitRange(29, 13) : PTE_PS; // Table 4-16; without 1 GiB pages PS is reserved.
  } else if (level === 2 && leaf) {
    rsvd |= bitRange(20, 13); // Table 4-18.
  }
  return value & rsvd;
}

/** Physical address of the table a non-leaf entry references. */
export function nextTableAddress(ctx: EntryContext, value: bigint): bigint {
  if (ctx.mode === '32bit') return value & 0xffff_f000n;
  return value & physAddrMask(ctx.maxPhysAddrBits);
}

/** Size in bytes of the page a leaf at `level` maps. */
export function leafPageSize(ctx: EntryContext, level: number): number {
  if (level === 1) return 4096;
  if (level === 2) return ctx.mode === '32bit' ? 4 << 20 : 2 << 20;
  return 1 << 30;
}

/** Physical address produced by a leaf entry for linear address `lin`. */
export function leafPhysAddress(ctx: EntryContext, level: number, value: bigint, lin: bigint): bigint {
  const size = BigInt(leafPageSize(ctx, level));
  const offset = lin & (size - 1n);
  if (ctx.mode === '32bit') {
    if (level === 1) return (value & 0xffff_f000n) | offset;
    // Table 4-4: PA bits 31:22 from PDE bits 31:22, PA bits (M'-1):32 from PDE bits (M'-20):13.
    const hiBits = pse36Bits(ctx) - 32;
    const hi = (value >> 13n) & bitRange(hiBits - 1, 0);
    return (hi << 32n) | (value & 0xffc0_0000n & MASK32) | offset;
  }
  return (value & physAddrMask(ctx.maxPhysAddrBits) & ~(size - 1n)) | offset;
}
