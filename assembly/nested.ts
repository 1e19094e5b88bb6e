// Nested paging: 2D walks under Intel EPT or AMD NPT (docs/nested.md; the reference is
// src/reference/nested.ts). Every guest paging-structure access and the final guest-physical
// address are translated by the host walk (hostTranslate); the guest walk (nestedWalk) follows
// the same rules as walk.ts for every guest mode. With the nested TLB on (nested-tlb.ts), an
// access first looks for a combined mapping and each host translation for a guest-physical
// mapping; there are no paging-structure caches for either dimension.
//
// Results as in walk.ts (FAULT_BIT | vector << 16 | error code, or the host-physical address),
// plus VM exits: FAULT_BIT | (0xF0 + exit) << 16 | low 16 bits of the exit information, with the
// whole exit in nxKind / nxInfo / nxGpa.
import {
  CPU_BASE, CPU_STRIDE, MAX_CPUS, C_PDPTE, C_CR4, C_ST_FAULTS, IO_VA, IO_KIND, IO_PA, IO_FAULT,
  MODE_NONE, MODE_32, MODE_PAE, MODE_5L, FAULT_BIT, PA_MASK, PERM_RW, PERM_US, PERM_D, PERM_G, PERM_KEY_SHIFT,
  PF_P, PF_W, PF_U, PF_RSVD, PF_ID, E_P, E_A, E_D, E_PS, E_XD, CX_AMD, CX_NXE,
} from './layout';
import { physRead32, physRead64, physOr32, physOr64, addrMask, rsvdHi, rsvdHiPae, rsvd4M, pdpe1gb, ramSize } from './state';
import { beginAccess, acMode, acCx, acPkrU, acPkrS, acCr3, acPcid, isLongMode, CR4_PSE, CR4_PGE } from './context';
import { permFault, accessErrorBits } from './perms';
import { pageFault, tableRsvd, GP_RESULT } from './walk';
import {
  tlbOn, combinedFind, gpFind, fillEntry, dropEntry, entryHpa, entryGpa, entryRights, entryShift, combinedTag, nestedFlush,
  TAG_NPT, R_DIRTY, NF_COMBINED, NF_TAG, NF_KIND, tEvict,
} from './nested-tlb';

export const HOST_EPT: u32 = 1;
export const HOST_NPT: u32 = 2;
// host flags: bits 2:0 levels (4 or 5), bit 3 EPT A/D (EPTP bit 6), bit 4 execute-only supported,
// bit 5 mode-based execute control for EPT (secondary control bit 22)
const HF_AD: u32 = 8;
const HF_XO: u32 = 16;
const HF_MBEC: u32 = 32;
/** EPT entry bit 10: execute for user-mode linear addresses (with MBEC). */
const E_XU: u64 = 0x400;

export const EXIT_EPT_VIOLATION: u32 = 1;
export const EXIT_EPT_MISCONFIG: u32 = 2;
export const EXIT_NPF: u32 = 3;

// EPT exit qualification bits (SDM "Exit Qualification for EPT Violations").
const Q_READ: u32 = 1;
const Q_WRITE: u32 = 2;
const Q_FETCH: u32 = 4;
const Q_GLA_VALID: u32 = 128;
const Q_FINAL: u32 = 256;
const NPF_FINAL: u64 = u64(1) << 32;
const NPF_TABLE: u64 = u64(1) << 33;

// per-CPU host configuration and statistics
const hKind = new StaticArray<u32>(MAX_CPUS);
const hRoot = new StaticArray<u64>(MAX_CPUS);
const hFlags = new StaticArray<u32>(MAX_CPUS);
const hTag = new StaticArray<u32>(MAX_CPUS); // VPID (EPT; 0 = VPIDs off) or ASID (NPT)
// accesses, guest entries read, host entries read, VM exits, combined-mapping hits, guest-physical-mapping hits
const NSTATS: i32 = 6;
const stats = new StaticArray<u64>(MAX_CPUS * NSTATS);

/** The last exit: kind (EXIT_*), qualification or EXITINFO1, guest-physical address. */
let nxKind: u32 = 0;
let nxInfo: u64 = 0;
let nxGpa: u64 = 0;
let gla: u64 = 0;

// the host configuration of the access in progress
let kind_: u32 = 0;
let root_: u64 = 0;
let levels_: u32 = 4;
let ad_ = false;
let xo_ = false;
let mbec_ = false;
/** EPT bits that make an entry present: 2:0, and bit 10 with MBEC. */
let present_: u64 = 7;
/** The final translation is of a user-mode linear address (guest U/S = 1 at every level). */
let user_ = false;
let guestRefs: u64 = 0;
let hostRefs: u64 = 0;
/**
 * Rights of the last successful host translation: EPT bits 2:0 ANDed, bit 3 the AND of bit 10
 * with MBEC (else 0); NPT: R, W = R/W, X = !NX. Shifted left by 3 they are the qualification's bits 6:3.
 */
let lastRights: u32 = 7;
/** Page size (shift) and D state (every D flag the host maintains set) of that translation. */
let lastShift: u32 = 12;
let lastDirty = true;
// the nested TLB context of the access in progress
let cpuI: u32 = 0;
let tlb_ = false;
let tag_: u64 = 0; // VPID/ASID | TAG_NPT
let ep4ta_: u64 = 0;
let gpHits: u64 = 0;
/** 1 when the last nestedAccess was served by a combined mapping (no rows). */
let lastSource: u32 = 0;
// the guest leaf of the last successful guest walk: rights (PERM_*, with D and G) and page shift
let wPerms: u32 = 0;
let wShift: u32 = 12;

// The grid of the last single access: up to 6 rows {gpa, hpa, what | cached << 8 | guest value read << 9 | n << 32, 5 x {address, value}, guest entry value}.
const ROWS_MAX: u32 = 6;
const ROW_WORDS: i32 = 3 + 10 + 1;
const rows = new StaticArray<u64>(ROWS_MAX * ROW_WORDS);
let nRows: u32 = 0;
let recording = false;

function rowBegin(gpa: u64, what: u32): void {
  if (!recording || nRows >= ROWS_MAX) return;
  const r = i32(nRows) * ROW_WORDS;
  rows[r] = gpa;
  rows[r + 1] = FAULT_BIT; // no translation (yet)
  rows[r + 2] = u64(what);
  nRows++;
}

@inline function rowEntry(ea: u64, e: u64): void {
  if (!recording || nRows == 0) return;
  const r = i32(nRows - 1) * ROW_WORDS;
  const n = i32(rows[r + 2] >> 32);
  if (n >= 5) return;
  rows[r + 3 + 2 * n] = ea;
  rows[r + 4 + 2 * n] = e;
  rows[r + 2] = (rows[r + 2] & 0xFFFF_FFFF) | (u64(n + 1) << 32);
}

@inline function rowDone(hpa: u64): void {
  if (recording && nRows > 0) rows[i32(nRows - 1) * ROW_WORDS + 1] = hpa;
}

/** The guest entry the last row's translation read. */
@inline function rowGuestValue(e: u64): void {
  if (!recording || nRows == 0) return;
  const r = i32(nRows - 1) * ROW_WORDS;
  rows[r + 13] = e;
  rows[r + 2] |= 0x200;
}

/** Set by nestedExplainWalk: the next nestedAccess walks both dimensions whatever the nested TLB holds, and fills nothing. */
let bypassTlb = false;
export function nestedExplainWalk(on: bool): void {
  bypassTlb = on;
}

@inline function exitResult(kind: u32, info: u64, gpa: u64): u64 {
  nxKind = kind;
  nxInfo = info;
  nxGpa = gpa;
  return FAULT_BIT | (u64(0xF0 + kind) << 16) | (info & 0xFF) | (kind == EXIT_NPF ? (info >> 24) & 0x300 : info & 0xFF00);
}

/** EPT misconfiguration check of a present entry (SDM "EPT Misconfigurations"). */
@inline function eptMisconfigured(level: u32, e: u64, leaf: bool): bool {
  // write without read; read clear (execute-only, also bit 10 alone with MBEC) without execute-only support
  if ((e & 3) == 2) return true;
  if ((e & 1) == 0 && !xo_) return true;
  const ps = (e & E_PS) != 0;
  let rsvd = rsvdHi;
  if (level >= 4 || ((level == 3 || level == 2) && !ps)) rsvd |= 0xF8;
  else if (level == 3) rsvd |= pdpe1gb ? 0x3FFF_F000 : E_PS;
  else if (level == 2) rsvd |= 0x1F_F000;
  if ((e & rsvd) != 0) return true;
  if (leaf) {
    const mt = (e >> 3) & 7;
    if (mt == 2 || mt == 3 || mt == 7) return true;
  }
  return false;
}

/** The EPT translation of gpa (SDM "EPT Translation Mechanism"); kind 0 read, 1 write, 2 fetch. */
function eptTranslate(gpa: u64, kind: u32, paging: bool, final: bool): u64 {
  const write = kind == 1 || (paging && ad_);
  const read = kind == 0 || paging;
  let table = root_ & addrMask;
  let rights: u32 = mbec_ ? 15 : 7;
  // the execute right this fetch needs: bit 2, or with MBEC bit 10 for a user-mode linear address
  const xBit: u32 = mbec_ && user_ ? 8 : 4;
  for (let level = levels_; level >= 1; level--) {
    const ea = table + (((gpa >> (12 + 9 * (level - 1))) & 511) << 3);
    const e = physRead64(ea);
    hostRefs++;
    rowEntry(ea, e);
    rights &= u32(e & 7) | u32((e & E_XU) >> 7);
    let viol = (e & present_) == 0;
    if (!viol) {
      const leaf = level == 1 || ((level == 2 || level == 3) && (e & E_PS) != 0);
      if (eptMisconfigured(level, e, leaf)) return exitResult(EXIT_EPT_MISCONFIG, 0, gpa);
      if (!leaf) {
        if (ad_ && (e & 0x100) == 0) physOr64(ea, 0x100);
        table = e & addrMask;
        continue;
      }
      viol = (read && (rights & 1) == 0) || (write && (rights & 2) == 0) || (kind == 2 && (rights & xBit) == 0);
      if (!viol) {
        const set: u64 = ad_ ? 0x100 | (write ? 0x200 : 0) : 0;
        if ((e & set) != set) physOr64(ea, set);
        const mask = (u64(1) << (12 + 9 * (level - 1))) - 1;
        lastRights = rights;
        lastShift = 12 + 9 * (level - 1);
        lastDirty = !ad_ || write || (e & 0x200) != 0;
        return (e & addrMask & ~mask) | (gpa & mask);
      }
    }
    const q = (read ? Q_READ : 0) | (write ? Q_WRITE : 0) | (kind == 2 ? Q_FETCH : 0) | (rights << 3) | Q_GLA_VALID | (final ? Q_FINAL : 0);
    return exitResult(EXIT_EPT_VIOLATION, u64(q), gpa);
  }
  unreachable();
  return 0;
}

// NPT deferred accessed bits (AMD sets them top to bottom once the walk succeeds)
const pend = new StaticArray<u64>(5);

/**
 * The NPT translation of gpa (APM vol. 2 §15.25.5): a long-mode walk with host NXE in which every
 * access is a user access; guest paging-structure accesses are user writes.
 */
function nptTranslate(gpa: u64, kind: u32, paging: bool, final: bool): u64 {
  const k: u32 = paging ? 1 : kind;
  const code: u64 = (k == 1 ? PF_W : 0) | PF_U | (k == 2 ? PF_ID : 0);
  const tag = final ? NPF_FINAL : NPF_TABLE;
  let table = root_ & addrMask;
  let rw = true, us = true, xd = false;
  let np: i32 = 0;
  for (let level = levels_; level >= 1; level--) {
    const ea = table + (((gpa >> (12 + 9 * (level - 1))) & 511) << 3);
    const e = physRead64(ea);
    hostRefs++;
    rowEntry(ea, e);
    if ((e & E_P) == 0) return exitResult(EXIT_NPF, code | tag, gpa);
    const ps = level >= 2 && level <= 3 && (e & E_PS) != 0;
    if ((e & tableRsvd(level, ps, rsvdHi, true)) != 0) return exitResult(EXIT_NPF, code | PF_P | PF_RSVD | tag, gpa);
    rw = rw && (e & 2) != 0;
    us = us && (e & 4) != 0;
    xd = xd || (e & E_XD) != 0;
    if (level == 1 || ps) {
      if (!us || (k == 1 && !rw) || (k == 2 && xd)) return exitResult(EXIT_NPF, code | PF_P | tag, gpa);
      for (let i = 0; i < np; i++) physOr64(pend[i], E_A);
      physOr64(ea, k == 1 ? E_A | E_D : E_A);
      const mask = (u64(1) << (12 + 9 * (level - 1))) - 1;
      lastRights = 1 | (rw ? 2 : 0) | (xd ? 0 : 4);
      lastShift = 12 + 9 * (level - 1);
      lastDirty = k == 1 || (e & E_D) != 0;
      return (e & addrMask & ~mask) | (gpa & mask);
    }
    pend[np++] = ea;
    table = e & addrMask;
  }
  unreachable();
  return 0;
}

/**
 * Whether host rights (R W X) and D state allow an access: kind 0 read, 1 write, 2 fetch; a guest
 * paging-structure access is a read, or a write under EPT A/D and under NPT.
 */
@inline function hostAllows(rights: u64, kind: u32, paging: bool, user: bool): bool {
  const write = kind == 1 || (paging && (ad_ || kind_ == HOST_NPT));
  if ((kind == 0 || paging) && (rights & 0x10000) == 0) return false;
  if (write && ((rights & 0x20000) == 0 || (rights & R_DIRTY) == 0)) return false;
  return kind != 2 || (rights & (mbec_ && user ? 0x80000 : 0x40000)) != 0;
}

// ---- fast paths (batches: nothing recorded). A host walk whose every entry needs no check to
// fail, no A/D update and no rights decision is finished with one mask test per level; anything
// else returns FAST_MISS and the exact walk (eptTranslate / nptTranslate) runs from the top. The
// entries' reads have no side effect, so the exact walk sees what the fast one saw.
const FAST_MISS: u64 = FAULT_BIT;
/** Off only for bench/nested.ts, which times the exact walk against the fast paths in one process. */
let fastOn = true;
export function nestedFastPaths(on: bool): void {
  fastOn = on;
}

/**
 * EPT: every entry RWX, and with MBEC bit 10 (so the AND of the rights allows any access), no
 * reserved bit, a leaf memory type other than 2, 3, 7, and with EPT A/D the A flags (and the
 * leaf's D for a write) already set.
 */
function eptFast(gpa: u64, write: bool): u64 {
  let table = root_ & addrMask;
  const a: u64 = (ad_ ? 0x100 : 0) | (mbec_ ? E_XU : 0);
  const d: u64 = ad_ && write ? 0x200 : 0;
  const tableMask: u64 = 7 | 0xF8 | rsvdHi | a;
  for (let level = levels_; level >= 1; level--) {
    const ea = table + (((gpa >> (12 + 9 * (level - 1))) & 511) << 3);
    if (ea >= ramSize) return FAST_MISS;
    const e = physRead64(ea);
    if (level > 1 && (e & tableMask) == (7 | a)) {
      table = e & addrMask;
      continue;
    }
    let rsvd = rsvdHi;
    if (level == 2) rsvd |= 0x1F_F000;
    else if (level == 3) {
      if (!pdpe1gb) return FAST_MISS;
      rsvd |= 0x3FFF_F000;
    } else if (level > 3) return FAST_MISS;
    if ((level > 1 && (e & E_PS) == 0) || (e & (7 | rsvd | a | d)) != (7 | a | d) || ((0x8C >> u32((e >> 3) & 7)) & 1) != 0) return FAST_MISS;
    hostRefs += u64(levels_ - level + 1);
    const shift = 12 + 9 * (level - 1);
    lastRights = mbec_ ? 15 : 7;
    lastShift = shift;
    lastDirty = !ad_ || write || (e & 0x200) != 0;
    const mask = (u64(1) << shift) - 1;
    return (e & addrMask & ~mask) | (gpa & mask);
  }
  return FAST_MISS;
}

/**
 * NPT: every entry present, writable, user, accessed, with no reserved bit, the leaf dirty for a
 * write (guest paging-structure accesses are writes), no NX for a fetch.
 */
function nptFast(gpa: u64, k: u32): u64 {
  let table = root_ & addrMask;
  const want: u64 = 7 | E_A;
  let xd: u64 = 0;
  for (let level = levels_; level >= 1; level--) {
    const ea = table + (((gpa >> (12 + 9 * (level - 1))) & 511) << 3);
    if (ea >= ramSize) return FAST_MISS;
    const e = physRead64(ea);
    const ps = level >= 2 && level <= 3 && (e & E_PS) != 0;
    if ((e & (want | tableRsvd(level, ps, rsvdHi, true))) != want) return FAST_MISS;
    xd |= e;
    if (level == 1 || ps) {
      if ((k == 1 && (e & E_D) == 0) || (k == 2 && (xd & E_XD) != 0)) return FAST_MISS;
      hostRefs += u64(levels_ - level + 1);
      const shift = 12 + 9 * (level - 1);
      lastRights = 3 | ((xd & E_XD) != 0 ? 0 : 4);
      lastShift = shift;
      lastDirty = k == 1 || (e & E_D) != 0;
      const mask = (u64(1) << shift) - 1;
      return (e & addrMask & ~mask) | (gpa & mask);
    }
    table = e & addrMask;
  }
  return FAST_MISS;
}

/** One host translation as a row of the grid: `what` is the guest level (0 = the final GPA). */
function hostTranslate(gpa: u64, kind: u32, paging: bool, what: u32): u64 {
  if (tlb_) {
    const e = gpFind(cpuI, gpa, kind_ == HOST_NPT ? tag_ : 0, ep4ta_);
    if (e != 0) {
      const rights = entryRights(e);
      if (hostAllows(rights, kind, paging, user_)) {
        gpHits++;
        rowBegin(gpa, what | 0x100);
        lastRights = u32(rights >> 16) & 15;
        lastShift = entryShift(e);
        lastDirty = (rights & R_DIRTY) != 0;
        const mask = (u64(1) << lastShift) - 1;
        const hpa = entryHpa(e) | (gpa & mask);
        rowDone(hpa);
        return hpa;
      }
      dropEntry(e);
    }
  }
  rowBegin(gpa, what);
  const final = !paging;
  let r = FAST_MISS;
  if (!recording && fastOn) r = kind_ == HOST_EPT ? eptFast(gpa, kind == 1 || (paging && ad_)) : nptFast(gpa, paging ? 1 : kind);
  if (r == FAST_MISS) r = kind_ == HOST_EPT ? eptTranslate(gpa, kind, paging, final) : nptTranslate(gpa, kind, paging, final);
  if ((r & FAULT_BIT) == 0) {
    rowDone(r);
    if (tlb_) {
      const mask = (u64(1) << lastShift) - 1;
      const rights = (u64(lastRights) << 16) | (lastDirty ? R_DIRTY : 0);
      fillEntry(cpuI, true, gpa, lastShift, kind_ == HOST_NPT ? tag_ : 0, ep4ta_, r & ~mask, gpa & ~mask, rights);
    }
  }
  return r;
}

// the guest walk's entries (per level): guest-physical address, host-physical address, rights
const gGpa = new StaticArray<u64>(6);
const gHpa = new StaticArray<u64>(6);
const gRights = new StaticArray<u32>(6);

/**
 * A guest A/D update of the entry read at `level`: a write to its guest-physical address
 * (SDM "EPT Violations": such writes are data writes), through the read's translation.
 */
function guestSetBits(level: u32, bits: u64, wide: bool): u64 {
  const hpa = gHpa[level];
  const cur: u64 = wide ? physRead64(hpa) : u64(physRead32(hpa));
  if ((cur & bits) == bits) return 0;
  if ((gRights[level] & 2) == 0) return exitResult(EXIT_EPT_VIOLATION, u64(Q_WRITE | (gRights[level] << 3) | Q_GLA_VALID), gGpa[level]);
  if (wide) physOr64(hpa, bits);
  else physOr32(hpa, u32(bits));
  return 0;
}

/** The guest walk of linear address va, every entry read through the host. */
function nestedWalk(cpu: usize, va: u64, kind: u32): u64 {
  const mode = acMode;
  const cx = acCx;
  const errBits = accessErrorBits(kind, cx);
  let gpa: u64 = va;
  if (mode != MODE_NONE) {
    const amd = (cx & CX_AMD) != 0;
    const wide = mode != MODE_32;
    const top: u32 = mode == MODE_5L ? 5 : mode == MODE_32 ? 2 : mode == MODE_PAE ? 2 : 4;
    let perms: u32 = PERM_RW | PERM_US;
    let table: u64 = 0;
    let rsvdBase: u64 = 0;
    if (mode == MODE_32) {
      table = acCr3 & 0xFFFF_F000;
    } else if (mode == MODE_PAE) {
      const pdpte = load<u64>(cpu + C_PDPTE + usize((va >> 30) & 3) * 8);
      if ((pdpte & 1) == 0) return pageFault(va, errBits);
      table = pdpte & addrMask;
      rsvdBase = rsvdHiPae | ((cx & CX_NXE) != 0 ? 0 : E_XD);
    } else {
      table = acCr3 & addrMask;
      rsvdBase = rsvdHi | ((cx & CX_NXE) != 0 ? 0 : E_XD);
    }
    const pse = (load<u64>(cpu + C_CR4) & CR4_PSE) != 0;
    let leafLevel: u32 = 0;
    let e: u64 = 0;
    for (let level = top; level >= 1; level--) {
      const ea: u64 = wide ? table + (((va >> (3 + 9 * level)) & 511) << 3) : table + (((va >> (level == 2 ? 22 : 12)) & 1023) << 2);
      user_ = false;
      const h = hostTranslate(ea, 0, true, level);
      if ((h & FAULT_BIT) != 0) return h;
      guestRefs++;
      gGpa[level] = ea;
      gHpa[level] = h;
      gRights[level] = lastRights;
      e = wide ? physRead64(h) : u64(physRead32(h));
      rowGuestValue(e);
      if ((e & 1) == 0) return pageFault(va, errBits);
      const ps = (e & E_PS) != 0;
      const leaf = level == 1 || (wide ? (level == 2 || (level == 3 && mode != MODE_PAE)) && ps : ps && pse);
      const rsvd: u64 = wide ? tableRsvd(level, leaf, rsvdBase, amd) : leaf && level == 2 ? u64(rsvd4M) : 0;
      if ((e & rsvd) != 0) return pageFault(va, errBits | PF_P | PF_RSVD);
      perms &= (u32(e >> 1) & 3) | 0xFFFF_FFFC;
      if ((cx & CX_NXE) != 0 && (e & E_XD) != 0) perms |= 4;
      if (leaf) {
        leafLevel = level;
        break;
      }
      if (!amd) {
        const x = guestSetBits(level, E_A, wide);
        if (x != 0) return x;
      }
      table = wide ? e & addrMask : e & 0xFFFF_F000;
    }
    if (isLongMode(mode)) perms |= (u32(e >> 59) & 15) << PERM_KEY_SHIFT;
    const f = permFault(perms, kind, cx, acPkrU, acPkrS);
    if (f != 0) return pageFault(va, errBits | f);
    if (amd) {
      for (let l = top; l > leafLevel; l--) {
        const x = guestSetBits(l, E_A, wide);
        if (x != 0) return x;
      }
    }
    const x = guestSetBits(leafLevel, kind == 1 ? E_A | E_D : E_A, wide);
    if (x != 0) return x;
    if (kind == 1 || (e & E_D) != 0) perms |= PERM_D;
    if ((e & 0x100) != 0 && (load<u64>(cpu + C_CR4) & CR4_PGE) != 0) perms |= PERM_G;
    wPerms = perms;
    wShift = wide ? 3 + 9 * leafLevel : leafLevel == 2 ? 22 : 12;
    if (wide) {
      const mask = (u64(1) << (3 + 9 * leafLevel)) - 1;
      gpa = (e & addrMask & ~mask) | (va & mask);
    } else if (leafLevel == 2) {
      gpa = (e & 0xFFC0_0000) | (((e >> 13) & 0xFF) << 32) | (va & 0x3F_FFFF);
    } else {
      gpa = (e & 0xFFFF_F000) | (va & 0xFFF);
    }
  }
  // SDM "EPT Violations": with guest paging off every linear address is a supervisor-mode address.
  user_ = mode != MODE_NONE && (wPerms & PERM_US) != 0;
  const r = hostTranslate(gpa, kind, false, 0);
  nxGpa = gpa;
  if (tlb_ && mode != MODE_NONE && (r & FAULT_BIT) == 0) {
    // the combined mapping: the smaller of the guest page and the host page
    const shift = wShift < lastShift ? wShift : lastShift;
    const mask = (u64(1) << shift) - 1;
    const rights = u64(wPerms) | (u64(lastRights) << 16) | (lastDirty ? R_DIRTY : 0);
    fillEntry(cpuI, false, va, shift, combinedTag(tag_, acPcid, (wPerms & PERM_G) != 0, wShift), ep4ta_, r & ~mask, gpa & ~mask, rights);
  }
  return r;
}

/**
 * A combined-mapping hit that allows the access: the host-physical address, else FAULT_BIT (a
 * denied hit drops the entry: the walk decides). Writes need the guest's and the host's D set.
 */
function combinedHit(va: u64, kind: u32): u64 {
  const e = combinedFind(cpuI, va, tag_, ep4ta_, acPcid);
  if (e == 0) return FAULT_BIT;
  const rights = entryRights(e);
  const perms = u32(rights & 0xFFFF);
  if (permFault(perms, kind, acCx, acPkrU, acPkrS) == 0 && hostAllows(rights, kind, false, (perms & PERM_US) != 0) && (kind != 1 || (perms & PERM_D) != 0)) {
    const mask = (u64(1) << entryShift(e)) - 1;
    nxGpa = entryGpa(e) | (va & mask);
    return entryHpa(e) | (va & mask);
  }
  dropEntry(e);
  return FAULT_BIT;
}

@inline function cpuIndex(cpu: usize): i32 {
  return i32((cpu - CPU_BASE) / CPU_STRIDE);
}

/** Configures CPU i's host: kind 0 (off), HOST_EPT or HOST_NPT; root = EPTP or nCR3. */
export function nestedSet(i: u32, kind: u32, root: u64, flags: u32, tag: u32): void {
  hKind[i] = kind;
  hRoot[i] = root;
  hFlags[i] = flags;
  hTag[i] = tag;
}

/**
 * The nested context of CPU i for the guest's own invalidations (INVLPG, MOV to CR3, INVPCID):
 * its VPID/ASID with TAG_NPT; VPID 0 when nested paging is off.
 */
export function guestTag(i: u32): u64 {
  return hKind[i] == HOST_NPT ? u64(hTag[i]) | TAG_NPT : hKind[i] == HOST_EPT ? u64(hTag[i]) : 0;
}

function begin(cpu: usize, flags: u32): void {
  beginAccess(cpu, flags);
  const i = cpuIndex(cpu);
  kind_ = hKind[i];
  root_ = hRoot[i];
  const f = hFlags[i];
  levels_ = f & 7;
  ad_ = (f & HF_AD) != 0;
  xo_ = (f & HF_XO) != 0;
  mbec_ = kind_ == HOST_EPT && (f & HF_MBEC) != 0;
  present_ = mbec_ ? 7 | E_XU : 7;
  cpuI = u32(i);
  tlb_ = tlbOn(cpuI) && !bypassTlb;
  tag_ = guestTag(cpuI);
  ep4ta_ = kind_ == HOST_EPT ? root_ & addrMask : 0;
  guestRefs = 0;
  hostRefs = 0;
  gpHits = 0;
  nxKind = 0;
}

function one(cpu: usize, va: u64, kind: u32): u64 {
  const mode = acMode;
  nxGpa = 0;
  nxKind = 0;
  if (!isLongMode(mode)) va &= 0xFFFF_FFFF;
  gla = va;
  const s: u64 = mode == MODE_5L ? 7 : 16;
  let r: u64;
  if (isLongMode(mode) && (i64(va << s) >> s) != i64(va)) {
    store<u64>(cpu + C_ST_FAULTS, load<u64>(cpu + C_ST_FAULTS) + 1);
    r = GP_RESULT;
  } else {
    r = tlb_ && mode != MODE_NONE ? combinedHit(va, kind) : FAULT_BIT;
    if (r == FAULT_BIT) r = nestedWalk(cpu, va, kind);
    else {
      lastSource = 1;
      stats[cpuI * NSTATS + 4]++;
    }
  }
  const b = cpuIndex(cpu) * NSTATS;
  stats[b]++;
  if ((r & FAULT_BIT) != 0 && nxKind != 0) {
    stats[b + 3]++;
    // With VPIDs off, a VM exit invalidates the combined mappings of VPID 0 (SDM "Operations that Invalidate Cached Mappings").
    if (tlb_ && tag_ == 0) nestedFlush(cpuI, NF_COMBINED | NF_TAG | NF_KIND, 0, 0, 0, 0);
  }
  return r;
}

function flushStats(cpu: usize): void {
  const b = cpuIndex(cpu) * NSTATS;
  stats[b + 1] += guestRefs;
  stats[b + 2] += hostRefs;
  stats[b + 5] += gpHits;
}

/** One nested access (records the grid). Exit details: nestedExitKind/Info/Gpa. */
export function nestedAccess(cpu: usize, va: u64, kind: u32, flags: u32): u64 {
  begin(cpu, flags);
  recording = true;
  nRows = 0;
  lastSource = 0;
  const r = one(cpu, va, kind);
  recording = false;
  flushStats(cpu);
  return (r & FAULT_BIT) != 0 ? r : r & PA_MASK;
}

/**
 * Translates IO_VA[0..n) (kinds IO_KIND) into IO_PA / IO_FAULT: 0, a guest fault (vector << 16 |
 * error code), or a VM exit ((0xF0 + exit) << 16 | low bits of its information) with the
 * guest-physical address in IO_PA. Returns the number of faults and exits.
 */
export function nestedBatch(cpu: usize, n: u32, flags: u32): u32 {
  begin(cpu, flags);
  badKind = -1;
  let faults: u32 = 0;
  for (let i: usize = 0; i < usize(n); i++) {
    const k = u32(load<u8>(i, IO_KIND));
    if (k > 2 && badKind < 0) badKind = i32(i);
    const r = one(cpu, load<u64>(i * 8, IO_VA), k <= 2 ? k : 0);
    if ((r & FAULT_BIT) != 0) {
      store<u64>(i * 8, nxKind != 0 ? nxGpa : 0, IO_PA);
      store<u32>(i * 4, u32(r), IO_FAULT);
      faults++;
    } else {
      store<u64>(i * 8, r & PA_MASK, IO_PA);
      store<u32>(i * 4, 0, IO_FAULT);
    }
  }
  flushStats(cpu);
  return faults;
}

/** Index of the first access kind > 2 of the last batch (walked as a read), or -1. */
let badKind: i32 = -1;
export function nestedBadKind(): i32 { return badKind; }
export function nestedExitKind(): u32 { return nxKind; }
export function nestedExitInfo(): u64 { return nxInfo; }
export function nestedExitGpa(): u64 { return nxGpa; }
export function nestedStat(i: u32, k: u32): u64 { return stats[i32(i) * NSTATS + i32(k)]; }
export function nestedStatsReset(i: u32): void {
  tEvict[i] = 0;
  for (let k = 0; k < NSTATS; k++) stats[i32(i) * NSTATS + k] = 0;
}
export function nestedRows(): u32 { return nRows; }
export function nestedLastSource(): u32 { return lastSource; }
export function nestedRowWord(r: u32, w: u32): u64 { return rows[i32(r) * ROW_WORDS + i32(w)]; }

/**
 * The guest's own invalidations (INVLPG, MOV to CR3, MOV to CR4, INVPCID) on the nested TLB:
 * combined mappings of the current VPID/ASID, for every EP4TA (SDM "Operations that Invalidate
 * Cached Mappings"). `sel` adds NF_* selectors (PCID, globals, address).
 */
export function nestedGuestFlush(cpu: usize, sel: u32, pcid: u32, va: u64): void {
  const i = u32(cpuIndex(cpu));
  if (tlbOn(i)) nestedFlush(i, NF_COMBINED | NF_TAG | sel, guestTag(i), 0, pcid, va);
}
