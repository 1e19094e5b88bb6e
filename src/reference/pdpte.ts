/** PAE PDPTE registers (SDM 4.4.1, Table 4-8). */
import { bitRange, MASK32, PTE_P } from './bits.js';
import type { RefMemory } from './types.js';

/** Result of loading the PAE PDPTE registers. */
export type PdpteLoad = { ok: true; pdptes: bigint[]; base: bigint } | { ok: false; index: number; value: bigint; reservedBits: bigint; base: bigint };

/**
 * Reserved bits of a PAE PDPTE: 2:1, 8:5 and 63:M (SDM Table 4-8).
 */
export function pdpteReservedMask(maxPhysAddrBits: number): bigint {
  return bitRange(2, 1) | bitRange(8, 5) | bitRange(63, maxPhysAddrBits);
}

/** Physical address of the 32-byte page-directory-pointer table: CR3 bits 31:5 (SDM Table 4-7). */
export function pdptBase(cr3: bigint): bigint {
  return cr3 & MASK32 & ~0x1fn;
}

/**
 * Loads the four PDPTEs as MOV to CR3 (or a MOV to CR0/CR4 entering PAE paging) does.
 * SDM 4.4.1: "If any of the PDPTEs sets both the P flag (bit 0) and any reserved bit, the MOV to
 * CR instruction causes a general-protection exception (#GP(0)) and the PDPTEs are not loaded."
 * A PDPTE with P = 0 is never checked (docs/paging-semantics.md does not say; we follow the SDM).
 */
export function referenceLoadPdptes(mem: RefMemory, cr3: bigint, maxPhysAddrBits: number): PdpteLoad {
  const base = pdptBase(cr3);
  const rsvd = pdpteReservedMask(maxPhysAddrBits);
  const pdptes: bigint[] = [];
  for (let i = 0; i < 4; i++) {
    const value = mem.read64(base + BigInt(i * 8));
    if (value & PTE_P && value & rsvd) return { ok: false, index: i, value, reservedBits: value & rsvd, base };
    pdptes.push(value);
  }
  return { ok: true, pdptes, base };
}
