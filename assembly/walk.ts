// Page walks from memory (Intel SDM vol. 3 §4.3–4.6; rules in docs/paging-semantics.md).
// Results are encoded in a u64: a physical address, or FAULT_BIT | vector << 16 | error code.
import {
  RAM_BASE, C_CR2, C_CR4, C_PDPTE, C_LAST, C_LAST_N, C_ST_WALKS, C_ST_MEMREFS, C_ST_PSCHITS, C_ST_PSC_LEVEL, C_ST_FAULTS,
  PERM_RW, PERM_US, PERM_D, PERM_G, PERM_KEY_SHIFT, PF_P, PF_RSVD, VEC_PF, VEC_GP, FAULT_BIT,
  E_A, E_D, E_PS, E_G, E_XD, MODE_32, P_NEXT, P_PERMS,
} from './layout';
import { ramSize, vendorAmd, rsvdHi, rsvdHiPae, rsvd4M, pdpe1gb, physOr64, physOr32, physRead32 } from './state';
import {
  acCpu, acMode, acUser, acSmapOn, acWp, acSmep, acNxe, acPge, acIdEnabled, acPkrU, acPkrS, acPcid, acCr3, CR4_PSE,
} from './context';
import { permFault, accessErrorBits } from './perms';
import { pscFind, pscFill, pscPrefix, tlbInvalidatePage, pscInvalidateVa } from './caches';

/** Bits 51:12 of an entry: the next table or page frame (reserved bits above M already checked). */
export const FRAME_MASK: u64 = 0x000F_FFFF_FFFF_F000;
export const GP_RESULT: u64 = FAULT_BIT | (u64(VEC_GP) << 16);

// scratch for one walk (single-threaded): per level the next table and rights, for PSC fills;
// and, for AMD, the entries whose accessed bit is set only once the walk succeeds.
const SCR_NEXT: usize = 0x003F_0000;
const SCR_PERMS: usize = 0x003F_0040;
const SCR_PEND: usize = 0x003F_0080;

/** Page shift of the last successful walk (12, 21, 22 or 30). */
export let wShift: u32 = 12;
/** Cacheable rights of the last successful walk: PERM_* with D, G and the protection key. */
export let wPerms: u32 = 0;

/**
 * Raises #PF for va: sets CR2 and, as SDM 4.10.4.1 requires, invalidates the TLB entries for
 * the page and the paging-structure-cache entries of the current PCID used for va.
 */
export function pageFault(va: u64, code: u32): u64 {
  const cpu = acCpu;
  store<u64>(cpu + C_CR2, va);
  store<u64>(cpu + C_ST_FAULTS, load<u64>(cpu + C_ST_FAULTS) + 1);
  tlbInvalidatePage(cpu, va, acMode, acPcid, true);
  pscInvalidateVa(cpu, va, acMode, acPcid);
  return FAULT_BIT | (u64(VEC_PF) << 16) | u64(code);
}

/**
 * Reserved bits of an 8-byte entry at `level` (IA-32e 5..1, PAE 2..1): `base` (bits above
 * MAXPHYADDR, XD without NXE) plus PS in PML5E/PML4E (AMD: also bit 8) and the low address
 * bits of 1 GiB / 2 MiB pages.
 */
@inline export function tableRsvd(level: u32, ps: bool, base: u64, amd: bool): u64 {
  if (level >= 4) return base | (amd ? E_PS | E_G : E_PS);
  if (!ps) return base;
  return base | (level == 3 ? (pdpe1gb ? 0x3FFF_E000 : E_PS) : level == 2 ? 0x1F_E000 : 0);
}

@inline function countWalk(cpu: usize, refs: u32, pscLevel: u32): void {
  store<u64>(cpu + C_ST_WALKS, load<u64>(cpu + C_ST_WALKS) + 1);
  store<u64>(cpu + C_ST_MEMREFS, load<u64>(cpu + C_ST_MEMREFS) + refs);
  if (pscLevel != 0) {
    store<u64>(cpu + C_ST_PSCHITS, load<u64>(cpu + C_ST_PSCHITS) + 1);
    const p = cpu + C_ST_PSC_LEVEL + usize(pscLevel) * 8;
    store<u64>(p, load<u64>(p) + 1);
  }
}

@inline function recordEntry(cpu: usize, ea: u64): void {
  const n = load<u32>(cpu + C_LAST_N);
  if (n < 8) {
    store<u64>(cpu + C_LAST + usize(n) * 8, ea);
    store<u32>(cpu + C_LAST_N, n + 1);
  }
}

/**
 * Walks 8-byte-entry tables from `level` down (IA-32e levels 5..1, or PAE levels 2..1), starting
 * at `table` with the rights `perms` accumulated above. `rsvdBase` holds the reserved bits common
 * to every level of the mode. Inlined into the batch loops.
 */
@inline export function walkTables(cpu: usize, va: u64, kind: u32, level: u32, table: u64, perms: u32, rsvdBase: u64, pscLevel: u32, pscOn: bool, record: bool): u64 {
  const ram = ramSize;
  const amd = vendorAmd;
  const xdBit: u32 = acNxe ? 4 : 0;
  const errBits = accessErrorBits(kind, acUser, acIdEnabled);
  const topLevel = level;
  let refs: u32 = 0;
  let pend: usize = 0;
  while (true) {
    const ea = table + (((va >> (3 + 9 * level)) & 511) << 3);
    refs++;
    if (record) recordEntry(cpu, ea);
    const e: u64 = ea < ram ? load<u64>(usize(ea), RAM_BASE) : 0xFFFF_FFFF_FFFF_FFFF;
    if ((e & 1) == 0) {
      countWalk(cpu, refs, pscLevel);
      return pageFault(va, errBits);
    }
    const ps = (e & E_PS) != 0;
    if ((e & tableRsvd(level, ps, rsvdBase, amd)) != 0) {
      countWalk(cpu, refs, pscLevel);
      return pageFault(va, errBits | PF_P | PF_RSVD);
    }
    perms &= (u32(e >> 1) & 3) | 0xFFFF_FFFC;
    perms |= u32(e >> 61) & xdBit;
    if (level == 1 || ps) {
      countWalk(cpu, refs, pscLevel);
      perms |= (u32(e >> 59) & 15) << PERM_KEY_SHIFT;
      const f = permFault(perms, kind, acUser, acSmapOn, acWp, acSmep, acPkrU, acPkrS);
      if (f != 0) return pageFault(va, errBits | f);
      for (let i: usize = 0; i < pend; i++) physOr64(load<u64>(SCR_PEND + i * 8), E_A);
      const set: u64 = kind == 1 ? E_A | E_D : E_A;
      if ((e & set) != set) physOr64(ea, set);
      const shift = 3 + 9 * level;
      wShift = shift;
      wPerms = perms | (kind == 1 || (e & E_D) != 0 ? PERM_D : 0) | ((e & E_G) != 0 && acPge ? PERM_G : 0);
      if (pscOn) {
        for (let l = topLevel; l > level; l--) {
          pscFill(cpu, l, pscPrefix(va, l, acMode), acPcid, load<u64>(SCR_NEXT + usize(l) * 8), load<u32>(SCR_PERMS + usize(l) * 4));
        }
      }
      const pageMask = (u64(1) << shift) - 1;
      return (e & FRAME_MASK & ~pageMask) | (va & pageMask);
    }
    if ((e & E_A) == 0) {
      if (amd) store<u64>(SCR_PEND + pend++ * 8, ea);
      else physOr64(ea, E_A);
    }
    table = e & FRAME_MASK;
    if (pscOn) {
      store<u64>(SCR_NEXT + usize(level) * 8, table);
      store<u32>(SCR_PERMS + usize(level) * 4, perms);
    }
    level--;
  }
  return 0; // unreachable
}

/** IA-32e (4-level or 5-level) walk; va must be canonical. */
@inline export function walkLong(cpu: usize, va: u64, kind: u32, levels: u32, pscOn: bool, record: bool): u64 {
  const rsvdBase = rsvdHi | (acNxe ? 0 : E_XD);
  if (pscOn) {
    for (let l: u32 = 2; l <= levels; l++) {
      const h = pscFind(cpu, l, pscPrefix(va, l, acMode), acPcid);
      if (h != 0) return walkTables(cpu, va, kind, l - 1, load<u64>(h, P_NEXT), load<u32>(h, P_PERMS), rsvdBase, l, true, record);
    }
  }
  return walkTables(cpu, va, kind, levels, acCr3 & FRAME_MASK, PERM_RW | PERM_US, rsvdBase, 0, pscOn, record);
}

/** PAE walk from the PDPTE registers loaded at the last CR3 write; va < 2^32. */
export function walkPae(cpu: usize, va: u64, kind: u32, pscOn: bool, record: bool): u64 {
  const pdpte = load<u64>(cpu + C_PDPTE + usize((va >> 30) & 3) * 8);
  if ((pdpte & 1) == 0) {
    countWalk(cpu, 0, 0);
    return pageFault(va, accessErrorBits(kind, acUser, acIdEnabled));
  }
  const rsvdBase = rsvdHiPae | (acNxe ? 0 : E_XD);
  if (pscOn) {
    const h = pscFind(cpu, 2, pscPrefix(va, 2, acMode), acPcid);
    if (h != 0) return walkTables(cpu, va, kind, 1, load<u64>(h, P_NEXT), load<u32>(h, P_PERMS), rsvdBase, 2, true, record);
  }
  return walkTables(cpu, va, kind, 2, pdpte & FRAME_MASK, PERM_RW | PERM_US, rsvdBase, 0, pscOn, record);
}

/** 32-bit paging walk (4-byte entries, PSE 4 MiB pages with PSE-36); va < 2^32. */
export function walk32(cpu: usize, va: u64, kind: u32, pscOn: bool, record: bool): u64 {
  const errBits = accessErrorBits(kind, acUser, acIdEnabled);
  const pse = (load<u64>(cpu + C_CR4) & CR4_PSE) != 0;
  let perms: u32 = PERM_RW | PERM_US;
  let table: u64 = acCr3 & 0xFFFF_F000;
  let refs: u32 = 0;
  let pscLevel: u32 = 0;
  let pdeAddr: u64 = 0;
  let pdePendingA = false;
  let pdePerms: u32 = 0;
  const h = pscOn ? pscFind(cpu, 2, pscPrefix(va, 2, MODE_32), acPcid) : 0;
  if (h != 0) {
    table = load<u64>(h, P_NEXT);
    perms = load<u32>(h, P_PERMS);
    pscLevel = 2;
  } else {
    pdeAddr = table + ((va >> 22) << 2);
    refs++;
    if (record) recordEntry(cpu, pdeAddr);
    const e = physRead32(pdeAddr);
    if ((e & 1) == 0) {
      countWalk(cpu, refs, 0);
      return pageFault(va, errBits);
    }
    perms &= ((e >> 1) & 3) | 0xFFFF_FFFC;
    if ((e & u32(E_PS)) != 0 && pse) {
      countWalk(cpu, refs, 0);
      if ((e & rsvd4M) != 0) return pageFault(va, errBits | PF_P | PF_RSVD);
      const page = (u64(e) & 0xFFC0_0000) | (u64((e >> 13) & 0xFF) << 32);
      return leaf32(va, kind, pdeAddr, e, perms, errBits, 22, page);
    }
    if ((e & u32(E_A)) == 0) {
      if (vendorAmd) pdePendingA = true;
      else physOr32(pdeAddr, u32(E_A));
    }
    table = u64(e & 0xFFFF_F000);
    pdePerms = perms;
  }
  const ea = table + (((va >> 12) & 1023) << 2);
  refs++;
  if (record) recordEntry(cpu, ea);
  const e = physRead32(ea);
  countWalk(cpu, refs, pscLevel);
  if ((e & 1) == 0) return pageFault(va, errBits);
  perms &= ((e >> 1) & 3) | 0xFFFF_FFFC;
  const r = leaf32(va, kind, ea, e, perms, errBits, 12, u64(e & 0xFFFF_F000));
  if ((r & FAULT_BIT) == 0) {
    if (pdePendingA) physOr32(pdeAddr, u32(E_A));
    if (pscOn && h == 0) pscFill(cpu, 2, pscPrefix(va, 2, MODE_32), acPcid, table, pdePerms);
  }
  return r;
}

function leaf32(va: u64, kind: u32, ea: u64, e: u32, perms: u32, errBits: u32, shift: u32, page: u64): u64 {
  const f = permFault(perms, kind, acUser, acSmapOn, acWp, acSmep, 0, 0);
  if (f != 0) return pageFault(va, errBits | f);
  const set: u32 = kind == 1 ? u32(E_A | E_D) : u32(E_A);
  if ((e & set) != set) physOr32(ea, set);
  wShift = shift;
  wPerms = perms | (kind == 1 || (e & u32(E_D)) != 0 ? PERM_D : 0) | ((e & u32(E_G)) != 0 && acPge ? PERM_G : 0);
  const pageMask = (u64(1) << shift) - 1;
  return (page & ~pageMask) | (va & pageMask);
}
