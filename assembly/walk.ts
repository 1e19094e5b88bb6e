// Page walks from memory (Intel SDM vol. 3 §4.3–4.6; rules in docs/paging-semantics.md).
// A walk returns a u64: FAULT_BIT | vector << 16 | error code, or the physical address with the
// TLB class and the cacheable rights in bits 52..62 (layout.ts).
import {
  RAM_BASE, C_CR2, C_CR4, C_FLAGS, F_TLB, F_PSC, C_PDPTE, C_LAST, C_LAST_N, C_ST_WALKS, C_ST_MEMREFS, C_ST_PSCHITS, C_ST_PSC_LEVEL, C_ST_FAULTS,
  PERM_RW, PERM_US, PERM_D, PERM_G, PERM_KEY_SHIFT, PF_P, PF_RSVD, VEC_PF, VEC_GP, FAULT_BIT, R_CLASS_SHIFT, R_PERMS_SHIFT,
  E_A, E_D, E_PS, E_G, E_XD, MODE_32, P_NEXT, P_PERMS, CX_NXE, CX_PGE, CX_AMD,
} from './layout';
import { ramSize, rsvdHi, rsvdHiPae, rsvd4M, pdpe1gb, physOr64, physOr32, physRead32, physRead64 } from './state';
import { acCpu, acMode, acCx, acPkrU, acPkrS, acPcid, acCr3, CR4_PSE } from './context';
import { permFault, accessErrorBits } from './perms';
import { pscFind, pscFill, pscPrefix, tlbInvalidatePage, pscInvalidateVa } from './caches';

/** Bits 51:12 of an entry: the next table or page frame (reserved bits above M already checked). */
export const FRAME_MASK: u64 = 0x000F_FFFF_FFFF_F000;
export const GP_RESULT: u64 = FAULT_BIT | (u64(VEC_GP) << 16);

// Status of one level of a walk (tableLevel): the next table with the rights so far in bits 2:0,
// or STOP with the level in bits 54:52, the reason in bits 57:56 and, for a leaf, its address.
const STOP: u64 = 0x4000_0000_0000_0000;
const STOP_LEAF: u64 = 0;
const STOP_NOT_PRESENT: u64 = 1;
const STOP_RESERVED: u64 = 2;
const ENTRY_MASK: u64 = 0x000F_FFFF_FFFF_FFF8;

// scratch for one walk (single-threaded): per level the next table and rights, for PSC fills;
// and, for AMD, the entries whose accessed bit is set only once the walk succeeds.
const SCR_NEXT: usize = 0x003F_0000;
const SCR_PERMS: usize = 0x003F_0040;
const SCR_NPEND: usize = 0x003F_0070;
const SCR_PEND: usize = 0x003F_0080;

/**
 * Raises #PF for va: sets CR2 and, as SDM 4.10.4.1 requires, invalidates the TLB entries for
 * the page and the paging-structure-cache entries of the current PCID used for va.
 */
export function pageFault(va: u64, code: u32): u64 {
  const cpu = acCpu;
  store<u64>(cpu + C_CR2, va);
  store<u64>(cpu + C_ST_FAULTS, load<u64>(cpu + C_ST_FAULTS) + 1);
  const on = load<u32>(cpu + C_FLAGS); // caches switched off are empty
  if ((on & F_TLB) != 0) tlbInvalidatePage(cpu, va, acMode, acPcid, true);
  if ((on & F_PSC) != 0) pscInvalidateVa(cpu, va, acMode, acPcid);
  return FAULT_BIT | (u64(VEC_PF) << 16) | u64(code);
}

/** The page's physical address, TLB class and cacheable rights as one walk result. */
@inline export function walkResult(pa: u64, cls: u32, perms: u32): u64 {
  return pa | (u64(cls) << R_CLASS_SHIFT) | (u64(perms) << R_PERMS_SHIFT);
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

// Walks and entry reads are counted in globals and added to the CPU's statistics once per call
// (flushWalkCounts), which keeps memory read-modify-writes out of the batch loop.
let walksCount: u32 = 0;
let refsCount: u32 = 0;

export function flushWalkCounts(cpu: usize): void {
  store<u64>(cpu + C_ST_WALKS, load<u64>(cpu + C_ST_WALKS) + walksCount);
  store<u64>(cpu + C_ST_MEMREFS, load<u64>(cpu + C_ST_MEMREFS) + refsCount);
  walksCount = 0;
  refsCount = 0;
}

@inline function countWalk(cpu: usize, refs: u32, pscLevel: u32): void {
  walksCount++;
  refsCount += refs;
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

@inline function stop(level: u32, reason: u64, ea: u64, perms: u32): u64 {
  return STOP | (reason << 56) | (u64(level) << 52) | ea | u64(perms);
}

/** AMD: the entry's accessed bit is set only if the whole walk succeeds. */
function deferAccessed(ea: u64): void {
  const n = load<u32>(SCR_NPEND);
  store<u64>(SCR_PEND + usize(n) * 8, ea);
  store<u32>(SCR_NPEND, n + 1);
}

/** AMD, walk succeeded: set the deferred accessed bits, top to bottom. */
function commitAccessed(): void {
  const n = load<u32>(SCR_NPEND);
  for (let i: u32 = 0; i < n; i++) physOr64(load<u64>(SCR_PEND + usize(i) * 8), E_A);
}

/**
 * One level L (a constant after inlining) of an 8-byte-entry walk: read the entry, check P and
 * the reserved bits, combine the rights, set A (Intel) or queue it (AMD). `s` is the table with
 * the rights so far (RW|US|XD in bits 2:0).
 */
@inline function tableLevel(L: u32, cpu: usize, va: u64, s: u64, rsvdBase: u64, cx: u32, ram: u64, pscOn: bool, record: bool): u64 {
  const ea = (s & FRAME_MASK) + (((va >> (3 + 9 * L)) & 511) << 3);
  if (record) recordEntry(cpu, ea);
  const e: u64 = ea < ram ? load<u64>(usize(ea), RAM_BASE) : 0xFFFF_FFFF_FFFF_FFFF;
  if ((e & 1) == 0) return stop(L, STOP_NOT_PRESENT, 0, 0);
  const ps = L >= 2 && L <= 3 && (e & E_PS) != 0;
  if ((e & tableRsvd(L, ps, rsvdBase, (cx & CX_AMD) != 0)) != 0) return stop(L, STOP_RESERVED, 0, 0);
  let perms = u32(s & 7) & ((u32(e >> 1) & 3) | 4);
  if ((cx & CX_NXE) != 0) perms |= u32(e >> 61) & 4;
  if (L == 1 || ps) return stop(L, STOP_LEAF, ea, perms);
  if ((e & E_A) == 0) {
    if ((cx & CX_AMD) != 0) deferAccessed(ea);
    else physOr64(ea, E_A);
  }
  const next = e & FRAME_MASK;
  if (pscOn) keepLevel(L, next, perms);
  return next | u64(perms);
}

/** Keeps a level's next table and rights (walked above the leaf) for fillWalked. */
@inline export function keepLevel(L: u32, next: u64, perms: u32): void {
  store<u64>(SCR_NEXT + usize(L) * 8, next);
  store<u32>(SCR_PERMS + usize(L) * 4, perms);
}

/** The paging-structure-cache fills of a successful walk: levels top down to above `at`, as keepLevel kept them. */
@inline export function fillWalked(cpu: usize, va: u64, top: u32, at: u32): void {
  for (let l = top; l > at; l--) pscFill(cpu, l, pscPrefix(va, l, acMode), acPcid, load<u64>(SCR_NEXT + usize(l) * 8), load<u32>(SCR_PERMS + usize(l) * 4));
}

/**
 * Walks 8-byte-entry tables from `level` down (IA-32e 5..1, or PAE 2..1), starting at `table`
 * with the rights `perms` accumulated above. The levels are unrolled so that each one's reserved
 * bits are constants. Inlined into the batch loops; `cx`, `pkrU`, `pkrS` are the access context.
 */
@inline export function walkTables(cpu: usize, va: u64, kind: u32, level: u32, table: u64, perms: u32, rsvdBase: u64, pscLevel: u32, pscOn: bool, record: bool, cx: u32, pkrU: u32, pkrS: u32): u64 {
  const ram = ramSize;
  if ((cx & CX_AMD) != 0) store<u32>(SCR_NPEND, 0);
  let s = table | u64(perms);
  if (level >= 5) s = tableLevel(5, cpu, va, s, rsvdBase, cx, ram, pscOn, record);
  if (level >= 4 && (s & STOP) == 0) s = tableLevel(4, cpu, va, s, rsvdBase, cx, ram, pscOn, record);
  if (level >= 3 && (s & STOP) == 0) s = tableLevel(3, cpu, va, s, rsvdBase, cx, ram, pscOn, record);
  if (level >= 2 && (s & STOP) == 0) s = tableLevel(2, cpu, va, s, rsvdBase, cx, ram, pscOn, record);
  if ((s & STOP) == 0) s = tableLevel(1, cpu, va, s, rsvdBase, cx, ram, pscOn, record);
  const at = u32(s >> 52) & 7;
  countWalk(cpu, level - at + 1, pscLevel);
  const reason = (s >> 56) & 3;
  const errBits = accessErrorBits(kind, cx);
  if (reason == STOP_NOT_PRESENT) return pageFault(va, errBits);
  if (reason == STOP_RESERVED) return pageFault(va, errBits | PF_P | PF_RSVD);
  return leafAccess(cpu, va, kind, at, s & ENTRY_MASK, u32(s & 7), level, pscOn, cx, pkrU, pkrS, errBits);
}

/** The leaf at `at` (entry address ea): access check, A/D update, PSC fills, result. */
@inline function leafAccess(cpu: usize, va: u64, kind: u32, at: u32, ea: u64, perms: u32, top: u32, pscOn: bool, cx: u32, pkrU: u32, pkrS: u32, errBits: u32): u64 {
  const e = physRead64(ea); // the leaf tableLevel read: nothing wrote it since
  perms |= (u32(e >> 59) & 15) << PERM_KEY_SHIFT;
  const f = permFault(perms, kind, cx, pkrU, pkrS);
  if (f != 0) return pageFault(va, errBits | f);
  if ((cx & CX_AMD) != 0) commitAccessed();
  const set: u64 = kind == 1 ? E_A | E_D : E_A;
  if ((e & set) != set) physOr64(ea, set);
  if (pscOn) fillWalked(cpu, va, top, at);
  const shift = 3 + 9 * at;
  const pageMask = (u64(1) << shift) - 1;
  const cached = perms | (kind == 1 || (e & E_D) != 0 ? PERM_D : 0) | ((e & E_G) != 0 && (cx & CX_PGE) != 0 ? PERM_G : 0);
  return walkResult((e & FRAME_MASK & ~pageMask) | (va & pageMask), at - 1, cached);
}

/** Returned by quickMiss when the access needs the exact miss path. */
export const SLOW: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/** countWalk's paging-structure-cache statistics for n walks begun at a level-`level` hit. */
export function countPscHits(cpu: usize, level: u32, n: u32): void {
  store<u64>(cpu + C_ST_PSCHITS, load<u64>(cpu + C_ST_PSCHITS) + n);
  const p = cpu + C_ST_PSC_LEVEL + usize(level) * 8;
  store<u64>(p, load<u64>(p) + n);
}

/** Adds walks done outside countWalk (the fast path's, counted by its caller). */
export function addWalkCounts(walks: u32, refs: u32): void {
  walksCount += walks;
  refsCount += refs;
}

/** IA-32e (4-level or 5-level) walk; va must be canonical. */
@inline export function walkLong(cpu: usize, va: u64, kind: u32, levels: u32, pscOn: bool, record: bool, cx: u32, pkrU: u32, pkrS: u32): u64 {
  const rsvdBase = rsvdHi | ((cx & CX_NXE) != 0 ? 0 : E_XD);
  if (pscOn) {
    for (let l: u32 = 2; l <= levels; l++) {
      const h = pscFind(cpu, l, pscPrefix(va, l, acMode), acPcid);
      if (h != 0) return walkTables(cpu, va, kind, l - 1, load<u64>(h, P_NEXT), load<u32>(h, P_PERMS), rsvdBase, l, true, record, cx, pkrU, pkrS);
    }
  }
  return walkTables(cpu, va, kind, levels, acCr3 & FRAME_MASK, PERM_RW | PERM_US, rsvdBase, 0, pscOn, record, cx, pkrU, pkrS);
}

/** PAE walk from the PDPTE registers loaded at the last CR3 write; va < 2^32. */
export function walkPae(cpu: usize, va: u64, kind: u32, pscOn: bool, record: bool): u64 {
  const cx = acCx;
  const pdpte = load<u64>(cpu + C_PDPTE + usize((va >> 30) & 3) * 8);
  if ((pdpte & 1) == 0) {
    countWalk(cpu, 0, 0);
    return pageFault(va, accessErrorBits(kind, cx));
  }
  const rsvdBase = rsvdHiPae | ((cx & CX_NXE) != 0 ? 0 : E_XD);
  if (pscOn) {
    const h = pscFind(cpu, 2, pscPrefix(va, 2, acMode), acPcid);
    if (h != 0) return walkTables(cpu, va, kind, 1, load<u64>(h, P_NEXT), load<u32>(h, P_PERMS), rsvdBase, 2, true, record, cx, 0, 0);
  }
  return walkTables(cpu, va, kind, 2, pdpte & FRAME_MASK, PERM_RW | PERM_US, rsvdBase, 0, pscOn, record, cx, 0, 0);
}

/** 32-bit paging walk (4-byte entries, PSE 4 MiB pages with PSE-36); va < 2^32. */
export function walk32(cpu: usize, va: u64, kind: u32, pscOn: bool, record: bool): u64 {
  const cx = acCx;
  const errBits = accessErrorBits(kind, cx);
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
      return leaf32(va, kind, pdeAddr, e, perms, errBits, 22, page, cx);
    }
    if ((e & u32(E_A)) == 0) {
      if ((cx & CX_AMD) != 0) pdePendingA = true;
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
  const r = leaf32(va, kind, ea, e, perms, errBits, 12, u64(e & 0xFFFF_F000), cx);
  if ((r & FAULT_BIT) == 0) {
    if (pdePendingA) physOr32(pdeAddr, u32(E_A));
    if (pscOn && h == 0) pscFill(cpu, 2, pscPrefix(va, 2, MODE_32), acPcid, table, pdePerms);
  }
  return r;
}

function leaf32(va: u64, kind: u32, ea: u64, e: u32, perms: u32, errBits: u32, shift: u32, page: u64, cx: u32): u64 {
  const f = permFault(perms, kind, cx, 0, 0);
  if (f != 0) return pageFault(va, errBits | f);
  const set: u32 = kind == 1 ? u32(E_A | E_D) : u32(E_A);
  if ((e & set) != set) physOr32(ea, set);
  const cached = perms | (kind == 1 || (e & u32(E_D)) != 0 ? PERM_D : 0) | ((e & u32(E_G)) != 0 && (cx & CX_PGE) != 0 ? PERM_G : 0);
  const pageMask = (u64(1) << shift) - 1;
  return walkResult((page & ~pageMask) | (va & pageMask), shift == 12 ? 0 : 1, cached);
}
