// Control-register writes and TLB invalidation instructions, with the effects of SDM 4.10.4.1.
// Architectural validity (#GP conditions) is checked by the TypeScript side before calling here,
// except the PAE PDPTE check, which needs guest memory.
import {
  C_CR0, C_CR3, C_CR4, C_EFER, C_PKRU, C_PKRS, C_MODE, C_PCID, C_PDPTE, C_RSVD_UP, C_RSVD_LO, C_RSVD_1G,
  MODE_NONE, MODE_32, MODE_PAE, MODE_4L, MODE_5L, E_P, E_PS, E_G, E_XD,
} from './layout';
import { physRead64, maxPhys, rsvdHi, vendorAmd, pdpe1gb } from './state';
import {
  CR0_PG, CR4_PSE, CR4_PAE, CR4_PGE, CR4_LA57, CR4_PCIDE, CR4_SMEP, CR4_SMAP, EFER_LME, EFER_NXE, isLongMode,
} from './context';
import { tlbFlush, pscFlush, tlbInvalidatePage } from './caches';
import { nestedGuestFlush } from './nested';
import { NF_PCID, NF_KEEPG, NF_VA, NF_PCID_OR_G } from './nested-tlb';

export function modeOf(cr0: u64, cr4: u64, efer: u64): u32 {
  if ((cr0 & CR0_PG) == 0) return MODE_NONE;
  if ((cr4 & CR4_PAE) == 0) return MODE_32;
  if ((efer & EFER_LME) == 0) return MODE_PAE;
  return (cr4 & CR4_LA57) != 0 ? MODE_5L : MODE_4L;
}

/** PAE PDPTE i is invalid when present with bits 2:1, 8:5 or 63:MAXPHYADDR set (SDM 4.4.1). */
@inline function pdpteBad(e: u64): bool {
  const rsvd: u64 = 0x1E6 | ~((u64(1) << maxPhys) - 1);
  return (e & 1) != 0 && (e & rsvd) != 0;
}

/**
 * Writes CR0/CR3/CR4/EFER (the full new values) with their invalidation effects. `cr3Written`
 * tells whether this is a MOV to CR3 (then bit 63 with PCIDE means "no flush").
 * Returns 0, or -(1 + i) when PDPTE i fails the PAE load check (nothing changed then).
 */
export function setControl(cpu: usize, cr0: u64, cr3: u64, cr4: u64, efer: u64, cr3Written: bool): i32 {
  const oldCr0 = load<u64>(cpu + C_CR0);
  const oldCr4 = load<u64>(cpu + C_CR4);
  const mode = modeOf(cr0, cr4, efer);
  const noFlush = cr3Written && (cr4 & CR4_PCIDE) != 0 && (cr3 >> 63) != 0;
  cr3 &= 0x7FFF_FFFF_FFFF_FFFF;
  const cr4Flushing = CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP | CR4_SMAP | CR4_LA57;
  const pgChanged = ((cr0 ^ oldCr0) & CR0_PG) != 0;
  const cr4Changed = (cr4 ^ oldCr4) & cr4Flushing;
  // PDPTEs are loaded by MOV to CR3, and by MOV to CR0/CR4 that enter PAE paging or change
  // PAE, PGE, PSE or SMEP (SDM 4.4.1).
  if (mode == MODE_PAE && (cr3Written || pgChanged || ((cr4 ^ oldCr4) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP)) != 0)) {
    const base = cr3 & 0xFFFF_FFE0;
    for (let i: u32 = 0; i < 4; i++) if (pdpteBad(physRead64(base + u64(i) * 8))) return -1 - i32(i);
    for (let i: u32 = 0; i < 4; i++) store<u64>(cpu + C_PDPTE + usize(i) * 8, physRead64(base + u64(i) * 8));
  }
  store<u64>(cpu + C_CR0, cr0);
  store<u64>(cpu + C_CR3, cr3);
  store<u64>(cpu + C_CR4, cr4);
  store<u64>(cpu + C_EFER, efer);
  store<u32>(cpu + C_MODE, mode);
  // The fast walk's reserved bits, with P (SDM Table 4-20; walk.ts tableRsvd for the exact walk).
  const base = rsvdHi | ((efer & EFER_NXE) != 0 ? 0 : E_XD);
  store<u64>(cpu + C_RSVD_UP, base | E_PS | (vendorAmd ? E_G : 0) | E_P);
  store<u64>(cpu + C_RSVD_LO, base | E_P);
  store<u64>(cpu + C_RSVD_1G, pdpe1gb ? 0x3FFF_E000 : E_PS);
  const pcid: u32 = (cr4 & CR4_PCIDE) != 0 && isLongMode(mode) ? u32(cr3 & 0xFFF) : 0;
  store<u32>(cpu + C_PCID, pcid);
  const pcideCleared = (oldCr4 & CR4_PCIDE) != 0 && (cr4 & CR4_PCIDE) == 0;
  if (pgChanged || cr4Changed != 0 || pcideCleared) {
    flushEverything(cpu);
    nestedGuestFlush(cpu, 0, 0, 0);
  } else if (cr3Written && !noFlush) {
    tlbFlush(cpu, pcid, false, true);
    pscFlush(cpu, pcid, false);
    nestedGuestFlush(cpu, NF_PCID | NF_KEEPG, pcid, 0);
  }
  return 0;
}

export function flushEverything(cpu: usize): void {
  tlbFlush(cpu, 0, true, false);
  pscFlush(cpu, 0, true);
}

export function setPkeys(cpu: usize, pkru: u32, pkrs: u32): void {
  store<u32>(cpu + C_PKRU, pkru);
  store<u32>(cpu + C_PKRS, pkrs);
}

/** INVLPG: the page's entries in every class (current PCID and global) and all PSC entries of the PCID. */
export function invlpg(cpu: usize, va: u64): void {
  const mode = load<u32>(cpu + C_MODE);
  if (!isLongMode(mode)) va &= 0xFFFF_FFFF;
  else {
    const s: u64 = mode == MODE_5L ? 7 : 16;
    if ((i64(va << s) >> s) != i64(va)) return; // INVLPG of a non-canonical address is a no-op
  }
  const pcid = load<u32>(cpu + C_PCID);
  tlbInvalidatePage(cpu, va, mode, pcid, true);
  pscFlush(cpu, pcid, false);
  nestedGuestFlush(cpu, NF_VA | NF_PCID_OR_G, pcid, va);
}

/** INVPCID types 0–3 (operands already validated). */
export function invpcid(cpu: usize, type: u32, pcid: u32, va: u64): void {
  const mode = load<u32>(cpu + C_MODE);
  if (type == 0) {
    tlbInvalidatePage(cpu, va, mode, pcid, false);
    pscFlush(cpu, pcid, false);
    nestedGuestFlush(cpu, NF_VA | NF_PCID, pcid, va);
  } else if (type == 1) {
    tlbFlush(cpu, pcid, false, true);
    pscFlush(cpu, pcid, false);
    nestedGuestFlush(cpu, NF_PCID | NF_KEEPG, pcid, 0);
  } else if (type == 2) {
    flushEverything(cpu);
    nestedGuestFlush(cpu, 0, 0, 0);
  } else {
    tlbFlush(cpu, 0, true, true);
    pscFlush(cpu, 0, true);
    nestedGuestFlush(cpu, NF_KEEPG, 0, 0);
  }
}

