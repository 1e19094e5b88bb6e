/**
 * Architectural bit positions used by the reference walker (Intel SDM vol. 3, ch. 2 and ch. 4).
 * Kept separate from `src/core` on purpose: the reference walker must not share code with the
 * WASM walker it checks.
 */

/** CR0 bits (SDM 2.5). */
export const CR0_PE = 1n << 0n;
export const CR0_WP = 1n << 16n;
export const CR0_PG = 1n << 31n;

/** CR4 bits (SDM 2.5). */
export const CR4_PSE = 1n << 4n;
export const CR4_PAE = 1n << 5n;
export const CR4_PGE = 1n << 7n;
export const CR4_LA57 = 1n << 12n;
export const CR4_PCIDE = 1n << 17n;
export const CR4_SMEP = 1n << 20n;
export const CR4_SMAP = 1n << 21n;
export const CR4_PKE = 1n << 22n;
export const CR4_PKS = 1n << 24n;

/** IA32_EFER bits (SDM 2.2.1). */
export const EFER_LME = 1n << 8n;
export const EFER_LMA = 1n << 10n;
export const EFER_NXE = 1n << 11n;

/** Paging-structure entry bits (SDM 4.3–4.5, Tables 4-4 … 4-20). */
export const PTE_P = 1n << 0n;
export const PTE_RW = 1n << 1n;
export const PTE_US = 1n << 2n;
export const PTE_PWT = 1n << 3n;
export const PTE_PCD = 1n << 4n;
export const PTE_A = 1n << 5n;
export const PTE_D = 1n << 6n;
export const PTE_PS = 1n << 7n;
export const PTE_G = 1n << 8n;
export const PTE_XD = 1n << 63n;

/** Page-fault error code bits (SDM 4.7, Figure 4-12). */
export const PFEC_P = 1;
export const PFEC_W = 2;
export const PFEC_U = 4;
export const PFEC_RSVD = 8;
export const PFEC_ID = 16;
export const PFEC_PK = 32;

/** Mask of bits hi..lo inclusive (hi ≥ lo − 1; empty when hi < lo). */
export function bitRange(hi: number, lo: number): bigint {
  if (hi < lo) return 0n;
  return ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);
}

/** Bits (M−1):12 — the physical-address field of CR3 and of PAE/IA-32e entries. */
export function physAddrMask(maxPhysAddrBits: number): bigint {
  return bitRange(maxPhysAddrBits - 1, 12);
}

export const MASK32 = 0xffff_ffffn;
export const MASK64 = (1n << 64n) - 1n;
