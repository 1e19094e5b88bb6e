// Translating accesses: TLB fast path, TLB slow path, walk, fill (SDM 4.10.2).
import {
  IO_VA, IO_KIND, IO_PA, IO_FAULT, C_FLAGS, C_LAST_N, C_ST_TLBHITS, C_ST_TLBMISSES, C_ST_FAULTS,
  T_KEY, T_PA, T_PERMS, T_STAMP, TLB_ENTRY, C_TLB, C_PSC, PSC_ENTRY, P_KEY, P_NEXT, P_PERMS, PERM_G, PERM_KEY_SHIFT,
  CX_PGE, CX_NXE, E_D, E_G, PERM_D, F_TLB, F_PSC, MODE_NONE, MODE_PAE, MODE_32, MODE_5L, FAULT_BIT, PA_MASK, C_PDPTE, C_CR4,
  R_CLASS_SHIFT, R_PERMS_SHIFT, MODE_4L, C_RSVD_UP, C_RSVD_LO, C_RSVD_1G, C_CR2, C_FRONT,
  C_TAGS, C_LAST, LANES, KTAB, KT_MASK, KT_WANT, KT_EC, KT_OK, KT_KEYM, KT_PKR, PF_PK, E_US, RAM_BASE, E_P, E_A, E_PS, E_XD, PF_P, PF_RSVD, VEC_PF,
  PERM_RW, PERM_US, PERM_XD, UP_EA, UP_HITS,
} from './layout';
import { staleRewalk, vendorAmd, rsvdHiPae, rsvd4M } from './state';
import { beginAccess, acMode, acCx, acPkrU, acPkrS, acCtx, acCr3, acPcid, isLongMode, keyRefusals, CR4_PSE } from './context';
import { permFault, accessErrorBits } from './perms';
import { pscFind, pscFillIn, pscPrefix, tlbFind, tlbFindIn, tlbFindOrVictim, fillVictim, tlbFill, tlbFill4k, largeMayHit, frontFill, tlbDrop, classShift, frontSlot, lfrontSlot, largeKey, vpnOf, keyOf, tagOf, fifoWord } from './caches';
import { walkLong, walkPae, walk32, pageFault, GP_RESULT, flushWalkCounts, addWalkCounts, FRAME_MASK, SLOW, countPscHits, keepLevel, fillWalked } from './walk';
import { ramSize } from './state';

@inline function bump(cpu: usize, off: usize, n: u64): void {
  store<u64>(cpu + off, load<u64>(cpu + off) + n);
}

/** Walk for the current mode (va already canonical / truncated). */
@inline function walkAny(cpu: usize, va: u64, kind: u32, pscOn: bool, record: bool): u64 {
  const mode = acMode;
  if (isLongMode(mode)) return walkLong(cpu, va, kind, mode == MODE_5L ? 5 : 4, pscOn, record, acCx, acPkrU, acPkrS);
  if (mode == MODE_PAE) return walkPae(cpu, va, kind, pscOn, record);
  return walk32(cpu, va, kind, pscOn, record);
}

/**
 * Everything after a fast-path miss: look for an entry in each page-size class (its permissions
 * re-checked against the current context), else walk and fill.
 */
function missPath(cpu: usize, va: u64, kind: u32, pscOn: bool, record: bool): u64 {
  const mode = acMode;
  let scanned: u32 = 0; // classes looked up without a match
  for (let c: u32 = 0; c < 3; c++) {
    const e = c == 0 ? tlbFindOrVictim(cpu, va) : tlbFind(cpu, c, va, mode);
    if (e == 0) {
      scanned |= 1 << c;
      continue;
    }
    const perms = load<u32>(e, T_PERMS);
    const f = permFault(perms, kind, acCx, acPkrU, acPkrS);
    if (f == 0 && (kind != 1 || (perms & PERM_D) != 0)) {
      frontFill(cpu, c, e);
      bump(cpu, C_ST_TLBHITS, 1);
      const mask = (u64(1) << classShift(c, mode)) - 1;
      return load<u64>(e, T_PA) | (va & mask);
    }
    // Denied by a possibly stale entry: Intel faults from it, AMD re-walks (docs "TLB").
    if (f != 0 && !staleRewalk) return pageFault(va, accessErrorBits(kind, acCx) | f);
    tlbDrop(cpu, c, e);
    break;
  }
  bump(cpu, C_ST_TLBMISSES, 1);
  const r = walkAny(cpu, va, kind, pscOn, record);
  if ((r & FAULT_BIT) == 0) {
    const c = u32(r >> R_CLASS_SHIFT) & 3;
    // A successful walk does not touch the TLB: a class scanned above still has no entry for va.
    tlbFill(cpu, c, va, mode, r & PA_MASK & ~((u64(1) << classShift(c, mode)) - 1), u32(r >> R_PERMS_SHIFT) & 0x1FF, (scanned >> c & 1) != 0, c == 0 && (scanned & 1) != 0 ? fillVictim : 0);
  }
  return r;
}

/** tlbMatches for the current PCID, with `want` its key: valid, same page, same PCID or global. */
@inline function wayMatches(e: usize, want: u64): bool {
  const x = load<u64>(e, T_KEY) ^ want;
  return (x & ~u64(0x1FFE)) == 0 && ((x == 0) | ((load<u32>(e, T_PERMS) & PERM_G) != 0));
}

/** missPath's lookup hit in the 4 KiB class: allowed as it is, or SLOW for missPath's re-check. */
@inline function setHit(cpu: usize, e: usize, va: u64, kind: u32): u64 {
  const perms = load<u32>(e, T_PERMS);
  if (permFault(perms, kind, acCx, acPkrU, acPkrS) != 0 || (kind == 1 && (perms & PERM_D) == 0)) return SLOW;
  frontFill(cpu, 0, e);
  bump(cpu, C_ST_TLBHITS, 1);
  return load<u64>(e, T_PA) | (va & 0xFFF);
}

/** Way j after entry e as the pair (fill stamp, address): the oldest way has the smallest. */
@inline function stampWay(e: usize, j: usize): u64 {
  return (u64(load<u32>(e + j * TLB_ENTRY, T_STAMP)) << 32) | u64(e + j * TLB_ENTRY);
}

// TLB misses handled by quickMiss: each one a miss and a walk of one entry from the PDE cache
// (walkTables' countWalk), counted into the statistics once per batch (tlbLoop).
let quickWalks: u32 = 0;
// The other quick misses' walks (quickUpper's): their number, the entries they read, and per
// level the paging-structure-cache hits they began at (UP_HITS[0]: none, from CR3); the last
// quick miss's leaf entry address.
let upWalks: u32 = 0;
let upRefs: u32 = 0;
let quickLeaf: u64 = 0;

/** Adds quickMiss's walks to the statistics as walkTables counts them, and zeroes its counters. */
function countQuickWalks(cpu: usize): void {
  addWalkCounts(quickWalks + upWalks, quickWalks + upRefs);
  countPscHits(cpu, 2, quickWalks);
  for (let l: u32 = 3; l <= 5; l++) countPscHits(cpu, l, load<u32>(UP_HITS + usize(l) * 4));
  quickWalks = upWalks = upRefs = 0;
  store<u64>(UP_HITS, 0);
  store<u64>(UP_HITS, 0, 8);
  store<u64>(UP_HITS, 0, 16);
}

// quickUpper's results besides the leaf table: the rights above the leaf, the level the walk
// began at (1: the leaf, from a PDE-cache hit) and the paging-structure cache it began from.
let upPerms: u32 = 0;
let upTop: u32 = 0;
let upHit: u32 = 0;

/**
 * quickMiss's walk above the leaf after a PDE-cache miss, as walkLong makes it (from the deepest
 * paging-structure-cache hit, else from CR3) but reading only: the leaf table, or SLOW for any
 * entry walkTables must decide (not present, reserved bits, a large page, a clear accessed bit,
 * past RAM). The entries' addresses go to UP_EA (top level first), each level's next table and
 * rights to walkTables' scratch for leafAccess's fills; upPerms, upTop and upHit as above.
 */
function quickUpper(cpu: usize, va: u64, pcid: u32, lo: u64, pscOn: bool): u64 {
  const mode = acMode;
  const levels: u32 = mode == MODE_5L ? 5 : 4;
  let table = acCr3 & FRAME_MASK;
  let pp: u32 = PERM_RW | PERM_US;
  let top = levels;
  let hit: u32 = 0;
  if (pscOn) {
    for (let l: u32 = 3; l <= levels; l++) {
      const h = pscFind(cpu, l, pscPrefix(va, l, mode), pcid);
      if (h == 0) continue;
      table = load<u64>(h, P_NEXT);
      pp = load<u32>(h, P_PERMS);
      top = l - 1;
      hit = l;
      break;
    }
  }
  const up = load<u64>(cpu + C_RSVD_UP) | E_A;
  const mid = lo | E_PS | E_A;
  for (let L = top; L >= 2; L--) {
    const a = table + ((va >> (9 * L)) & 0xFF8);
    if (a >= ramSize) return SLOW;
    const e = load<u64>(usize(a), RAM_BASE);
    if ((e & (L >= 4 ? up : mid)) != (E_P | E_A)) return SLOW;
    // tableLevel's rights: R/W and U/S of every level, XD of any (set only with NXE: reserved without)
    pp = (pp & ((u32(e >> 1) & 3) | 4)) | (u32(e >> 61) & 4);
    table = e & FRAME_MASK;
    store<u64>(UP_EA + usize(top - L) * 8, a);
    keepLevel(L, table, pp);
  }
  upPerms = pp;
  upTop = top;
  upHit = hit;
  return table;
}

/**
 * quickUpper in PAE paging (walkPae after a PDE-cache miss): the PDE from the PDPTE register for
 * va's bits 31:30, read as quickUpper reads an entry (present, accessed, no reserved bit, no large
 * page; else SLOW), with the same results (upPerms, upTop 2, upHit 0: no cache above the PDE,
 * UP_EA, the PDE cache's fill kept for quickUpperDone).
 */
function quickUpperPae(cpu: usize, va: u64, lo: u64): u64 {
  const pdpte = load<u64>(cpu + C_PDPTE + usize((va >> 30) & 3) * 8);
  if ((pdpte & E_P) == 0) return SLOW;
  const a = (pdpte & FRAME_MASK) + ((va >> 18) & 0xFF8);
  if (a >= ramSize) return SLOW;
  const e = load<u64>(usize(a), RAM_BASE);
  if ((e & (lo | E_PS | E_A)) != (E_P | E_A)) return SLOW;
  return pdeWalked(a, e & FRAME_MASK, (PERM_RW | PERM_US) & ((u32(e >> 1) & 3) | 4) | (u32(e >> 61) & 4));
}

/** quickUpper's results for a walk that began at the PDE (at `a`; no cache above it): its table and rights. */
@inline function pdeWalked(a: u64, table: u64, pp: u32): u64 {
  store<u64>(UP_EA, a);
  keepLevel(2, table, pp);
  upPerms = pp;
  upTop = 2;
  upHit = 0;
  return table;
}

/**
 * quickUpper in 32-bit paging (walk32 after a PDE-cache miss): the 4-byte PDE from CR3, present,
 * accessed and not a 4 MiB page (else SLOW), with quickUpper's results (upPerms, upTop 2, upHit 0,
 * UP_EA, the PDE cache's fill kept for quickUpperDone).
 */
function quickUpper32(cpu: usize, va: u64): u64 {
  const a = (acCr3 & 0xFFFF_F000) + ((va >> 20) & 0xFFC);
  if (a >= ramSize) return SLOW;
  const e = u64(load<u32>(usize(a), RAM_BASE));
  if ((e & (E_P | E_A)) != (E_P | E_A)) return SLOW;
  if ((e & E_PS) != 0 && (load<u64>(cpu + C_CR4) & CR4_PSE) != 0) return SLOW;
  return pdeWalked(a, e & 0xFFFF_F000, (PERM_RW | PERM_US) & ((u32(e >> 1) & 3) | 4));
}

/** quickMiss in 32-bit paging (4-byte entries; any cache geometry). */
function quickMiss32(cpu: usize, va: u64, kind: u32, pscOn: bool): u64 {
  const r = quickMissIn(cpu, va, kind, usize(load<u32>(cpu + C_TLB, 8)), usize(load<u32>(cpu + C_PSC, 8)), pscOn, true, true);
  return r == SET_HIT ? setHit(cpu, setHitWay, va, kind) : r;
}

/** quickPdpte's answer when the PDPTE cache does not hold va's entry (quickUpper decides). */
const NO_PDPTE: u64 = 0xFFFF_FFFF_FFFF_FFFE;

/**
 * quickUpper's usual case, inline: the PDPTE cache (a set of four ways: keys are unique in a set,
 * so any match is pscFind's) holds va's entry, and the walk reads the PDE from it as quickUpper
 * reads it, with the same results (upPerms, upTop, upHit, UP_EA; the PDE cache's fill is the
 * caller's). NO_PDPTE when the PDPTE cache does not hold the entry; SLOW as quickUpper.
 */
@inline function quickPdpte(cpu: usize, va: u64, pcid: u32, lo: u64): u64 {
  const d = cpu + C_PSC + 16;
  const prefix = (va >> 30) & 0x7FF_FFFF; // pscPrefix(va, 3, mode)
  const key = keyOf(prefix, pcid);
  const e = usize(load<u32>(d)) + usize(u32(prefix) & load<u32>(d, 4)) * 4 * PSC_ENTRY;
  let h: usize = load<u64>(e, P_KEY) == key ? e : 0;
  h = load<u64>(e, PSC_ENTRY + P_KEY) == key ? e + PSC_ENTRY : h;
  h = load<u64>(e, 2 * PSC_ENTRY + P_KEY) == key ? e + 2 * PSC_ENTRY : h;
  h = load<u64>(e, 3 * PSC_ENTRY + P_KEY) == key ? e + 3 * PSC_ENTRY : h;
  if (h == 0) return NO_PDPTE;
  const a = load<u64>(h, P_NEXT) + ((va >> 18) & 0xFF8);
  if (a >= ramSize) return SLOW;
  const pde = load<u64>(usize(a), RAM_BASE);
  if ((pde & (lo | E_A)) != (E_P | E_A)) return SLOW;
  upPerms = (load<u32>(h, P_PERMS) & ((u32(pde >> 1) & 3) | 4)) | (u32(pde >> 61) & 4);
  upHit = 3;
  if ((pde & E_PS) != 0) {
    // a 2 MiB page: the PDE is the leaf (quickLarge)
    upTop = 1;
    quickLeaf = a;
    return LARGE_PDE;
  }
  upTop = 2;
  store<u64>(UP_EA, a);
  return pde & FRAME_MASK;
}

/** quickPdpte's answer for a 2 MiB page: its PDE (at quickLeaf, rights upPerms) is the leaf. */
const LARGE_PDE: u64 = 0xFFFF_FFFF_FFFF_FFFC;

/**
 * quickMiss for a 2 MiB page from a PDPTE-cache hit (no entry for va in any TLB class, the PDE
 * present, accessed, no reserved bit of the lo mask): the 2 MiB leaf's checks as leafAccess makes
 * them (its reserved bits 20:13, the rights over both levels and its key against KT_OK, D for a
 * write), its walk counted (one entry from the PDPTE cache; the caches above need no fill), its
 * A/D set and the 2 MiB class filled through tlbFill, which copies it into the large-page front.
 * A fault, or reserved bits, return SLOW before changing anything (missPath faults).
 */
function quickLarge(cpu: usize, va: u64, kind: u32): u64 {
  const ea = usize(quickLeaf);
  const pde = load<u64>(ea, RAM_BASE);
  if ((pde & 0x1F_E000) != 0) return SLOW;
  const pp = upPerms;
  const rights = (pp & 3) | (~pp & 4);
  const ok = (load<u32>(KTAB, KT_OK) >> rights) & ~keyRefusals(u32(pde >> 59) & 15, (rights & 2) != 0);
  if ((ok & (u32(1) << (kind * 8))) == 0) return SLOW;
  const need: u64 = E_A | (u64(kind & 1) << 6); // a write also sets D
  if ((pde & need) != need) store<u64>(ea, pde | need, RAM_BASE);
  countUpWalk(1, 3);
  const dirty = ((pde | need) & E_D) != 0;
  const perms = leafPerms(pp, pde, dirty);
  const page = pde & FRAME_MASK & ~u64(0x1F_FFFF);
  tlbFill(cpu, 1, va, acMode, page, perms, true, 0);
  return page | (va & 0x1F_FFFF);
}

/** leafAccess's cached rights of a leaf `e`: `pp` (RW, US, XD over the levels), D, G, the key. */
@inline function leafPerms(pp: u32, e: u64, dirty: bool): u32 {
  return pp | (dirty ? PERM_D : 0) | ((e & E_G) != 0 && (acCx & CX_PGE) != 0 ? PERM_G : 0) | ((u32(e >> 59) & 15) << PERM_KEY_SHIFT);
}

/** A quick miss's walk that did not begin at a PDE-cache hit: `refs` entries read, from the cache at level `hit` (0: CR3). */
@inline function countUpWalk(refs: u32, hit: u32): void {
  upWalks++;
  upRefs += refs;
  store<u32>(UP_HITS + usize(hit) * 4, load<u32>(UP_HITS + usize(hit) * 4) + 1);
}

/** quickUpper's walk succeeded: walkTables' count, and leafAccess's paging-structure-cache fills. */
function quickUpperDone(cpu: usize, va: u64, pscOn: bool): void {
  countUpWalk(upTop, upHit);
  if (!pscOn) return;
  fillWalked(cpu, va, upTop, 1);
}

/**
 * missPath for the common IA-32e case: the 4 KiB set looked up through its tag bytes (one SIMD
 * compare; the ways whose byte matches the page's are compared), no hit in the large-page
 * classes (looked up only when they may hold entries), and a walk that needs no decision of
 * walkTables — from a PDE-cache hit (the leaf entry only, without calls), from a PDPTE-cache hit
 * (quickPdpte: the PDE, then the leaf), else from the deepest paging-structure-cache hit or CR3
 * (quickUpper: every entry above the leaf present, accessed,
 * no reserved bit, no large page) — to a leaf the access may use; once the fill is certain, its
 * victim as tlbFill would choose it (the first invalid way: a zero tag byte; else the oldest
 * stamp: the head of the set's fill-order word, caches.ts fifoWord, or the stamps themselves
 * where it is not kept), so that a miss costs little at any depth of the caches.
 * Results, statistics, A/D writes, TLB and paging-structure-cache contents, stamps and front
 * contents are missPath's, a leaf's fault's too (quickFault).
 * Any other case (a set hit that needs missPath's re-check, an
 * entry past RAM or with a clear accessed bit above the leaf, a large page or a large-page TLB
 * hit) returns SLOW before changing anything, and the caller runs missPath.
 */
function quickMiss(cpu: usize, va: u64, kind: u32, pscOn: bool): u64 {
  const ways = usize(load<u32>(cpu + C_TLB, 8));
  const pways = usize(load<u32>(cpu + C_PSC, 8));
  // The usual case without calls (V8 spills a value that lives across a call where it is made):
  // the usual geometry (4 KiB sets of 12 ways, PDE cache of 4; constant masks, unrolled loops)
  // and a PDE-cache hit, or a PDPTE-cache hit after a PDE-cache miss (quickPdpte). Else the
  // general one (quickUpper), directly after a miss that missed both caches too (random access
  // over more than the PDPTE cache maps): the results are the same. (tlbLoop inlines the same
  // choice.)
  if (((ways ^ 12) | (pways ^ 4) | usize(pdeMissed)) == 0 && pscOn) {
    const r = quickMissIn(cpu, va, kind, 12, 4, true, false);
    if (r == SET_HIT) return setHit(cpu, setHitWay, va, kind);
    if (r != PDE_MISS) return r;
  }
  return quickMissAny(cpu, va, kind, ways, pways, pscOn);
}

/**
 * A #PF of quickMiss's walk (the leaf entry at `ea` read, refused): counted as missPath's walk
 * counts it — from a PDE-cache hit (`pde`), a PDPTE-cache hit (`pdpte`: two entries read), or
 * quickUpper's start (upTop entries from the cache at upHit, or CR3) — then pageFault (CR2, the
 * count, the page's TLB entries — none: the lookups found none — and its paging-structure-cache
 * entries invalidated). Nothing filled, no A/D written: the exact walk fills the caches and sets
 * the leaf's bits only on success.
 */
function quickFault(va: u64, ea: u64, code: u32, pde: bool, pdpte: bool): u64 {
  if (pde) {
    quickWalks++;
  } else {
    countUpWalk(pdpte ? 2 : upTop, pdpte ? 3 : upHit);
  }
  quickLeaf = ea;
  return pageFault(va, code);
}

/**
 * missPath's lookup of large-page class c (pages of 2^shift bytes) for va, no smaller class
 * holding an entry for it: the large-page front's copy for this kind and context (a hit: the
 * physical address), else SLOW when the class holds an entry (missPath checks it), else
 * NO_LARGE (none: the lookup goes on).
 */
@inline function largeLookup(cpu: usize, va: u64, kind: u32, c: u32, shift: u32): u64 {
  const front = usize(load<u32>(cpu + C_FRONT));
  const v = vpnOf(va, shift);
  const lp = lfrontSlot(front, kind, v);
  if (front != 0 && load<u64>(lp) == ((largeKey(c, v) << 8) | u64(acCtx))) {
    bump(cpu, C_ST_TLBHITS, 1);
    return load<u64>(lp, 8) | (va & ((u64(1) << shift) - 1));
  }
  return largeMayHit(cpu, c, va, acMode) && tlbFindIn(cpu, c, va, acMode) != 0 ? SLOW : NO_LARGE;
}

/** largeLookup's answer when class c holds no entry for va. */
const NO_LARGE: u64 = 0xFFFF_FFFF_FFFF_FFFB;

/** quickMissIn found the page in its 4 KiB set, at way setHitWay: setHit's to check (out of its body: a call there spills). */
const SET_HIT: u64 = 0xFFFF_FFFF_FFFF_FFFD;
let setHitWay: usize = 0;

/** Whether the general quick miss's last walk missed the PDE and PDPTE caches (quickMiss's choice of path). */
let pdeMissed = false;

function quickMissAny(cpu: usize, va: u64, kind: u32, ways: usize, pways: usize, pscOn: bool): u64 {
  const r = ways == 12 && pways == 4 ? quickMissIn(cpu, va, kind, 12, 4, pscOn, true) : quickMissIn(cpu, va, kind, ways, pways, pscOn, true);
  return r == SET_HIT ? setHit(cpu, setHitWay, va, kind) : r;
}

/** quickMissIn without `any`: the PDE and PDPTE caches missed (nothing changed; quickMissAny takes it). */
const PDE_MISS: u64 = 0xFFFF_FFFF_FFFF_FFFE;

@inline function quickMissIn(cpu: usize, va: u64, kind: u32, ways: usize, pways: usize, pscOn: bool, any: bool, m32: bool = false): u64 {
  const d = cpu + C_TLB;
  // no 4 KiB TLB
  if (ways == 0) return SLOW;
  const vpn = (va >> 12) & 0x1FFF_FFFF_FFFF;
  const pcid = acPcid;
  const setNo = usize(u32(vpn) & load<u32>(d, 4));
  const setIdx = setNo * ways;
  const set = usize(load<u32>(d)) + setIdx * TLB_ENTRY;
  let victim: usize = 0;
  let valid = false;
  // the set's tag bytes, compared 16 at a time (one SIMD compare; the bits past its ways masked off)
  const tagsAt = usize(load<u32>(cpu + C_TAGS)) + setIdx;
  const tags = v128.load(tagsAt);
  const wmask: u32 = ways >= 16 ? 0xFFFF : (u32(1) << u32(ways)) - 1;
  const want = keyOf(vpn, pcid);
  if (ways > 16) {
    // too many ways for the tag words: one exact pass (the hit, or tlbFill's victim)
    let e = set;
    let invalid: usize = 0;
    let oldest: usize = 0;
    let oldestStamp: u32 = 0xFFFF_FFFF;
    for (let w: usize = 0; w < ways; w++, e += TLB_ENTRY) {
      if (wayMatches(e, want)) {
        setHitWay = e;
        return SET_HIT;
      }
      const v = (load<u64>(e, T_KEY) & 1) != 0;
      const st = v ? load<u32>(e, T_STAMP) : 0xFFFF_FFFF;
      invalid = invalid == 0 && !v ? e : invalid;
      const older = st < oldestStamp;
      oldest = older ? e : oldest;
      oldestStamp = older ? st : oldestStamp;
    }
    valid = invalid == 0;
    victim = valid ? oldest : invalid;
  } else {
    // only the ways holding the page's tag byte can hit (their bits in c)
    let c = u32(i8x16.bitmask(i8x16.eq(tags, i8x16.splat(i8(tagOf(vpn)))))) & wmask;
    if (c != 0) {
      // (a loop only after a tag match: a loop's entry costs V8 a stack check)
      do {
        const e = set + usize(ctz(c)) * TLB_ENTRY;
        c &= c - 1;
        if (wayMatches(e, want)) {
          setHitWay = e;
          return SET_HIT;
        }
      } while (c != 0);
    }
  }
  // No 4 KiB entry for va: missPath looks in the large-page classes that may hold entries (their
  // "ever filled" flags: a kernel's direct map fills them), 2 MiB first. A copy the large-page
  // front holds for this kind and context is that lookup's hit (frontFill copies only what it
  // finds and allows); else a hit in the class is missPath's to check.
  const large = load<u32>(d, 16 + 12) | (load<u32>(d, 32 + 12) << 1);
  if (large != 0) {
    if ((large & 1) != 0) {
      const r = largeLookup(cpu, va, kind, 1, 21);
      if (r != NO_LARGE) return r;
    }
    if ((large & 2) != 0) {
      const r = largeLookup(cpu, va, kind, 2, 30);
      if (r != NO_LARGE) return r;
    }
  }
  // walkLong: the PDE cache is probed first (branch-free: which way holds the key is unpredictable)
  const p = cpu + C_PSC;
  const prefix = m32 ? (va >> 22) & 0x3FF : (va >> 21) & 0xF_FFFF_FFFF; // pscPrefix(va, 2, mode)
  const pkey = keyOf(prefix, pcid);
  let pe = usize(load<u32>(p)) + usize(u32(prefix) & load<u32>(p, 4)) * pways * PSC_ENTRY;
  let h: usize = 0;
  if (!pscOn) {
    // no paging-structure caches: the walk begins at CR3
  } else if (pways == 4) {
    // the usual geometry, unrolled (a loop costs V8 a stack check per iteration)
    h = load<u64>(pe, P_KEY) == pkey ? pe : h;
    h = load<u64>(pe, P_KEY + PSC_ENTRY) == pkey ? pe + PSC_ENTRY : h;
    h = load<u64>(pe, P_KEY + 2 * PSC_ENTRY) == pkey ? pe + 2 * PSC_ENTRY : h;
    h = load<u64>(pe, P_KEY + 3 * PSC_ENTRY) == pkey ? pe + 3 * PSC_ENTRY : h;
  } else {
    for (let w: usize = 0; w < pways; w++, pe += PSC_ENTRY) h = load<u64>(pe, P_KEY) == pkey ? pe : h;
  }
  // PAE paging: 8-byte entries whose bits 62:MAXPHYADDR are reserved, the PDE under a PDPTE register
  // (32-bit paging, m32: 4-byte entries without reserved bits below a 4 MiB page's)
  const pae = !m32 && acMode == MODE_PAE;
  const lo = m32 ? E_P : pae ? rsvdHiPae | ((acCx & CX_NXE) != 0 ? 0 : E_XD) | E_P : load<u64>(cpu + C_RSVD_LO);
  let table: u64 = 0; // the leaf table
  let fromPdpte = false; // from quickPdpte
  let pp: u32 = 0; // the rights above the leaf (PERM_RW | PERM_US | PERM_XD), as a PDE-cache entry holds them
  if (h != 0) {
    if (any) pdeMissed = false;
    table = load<u64>(h, P_NEXT);
    pp = load<u32>(h, P_PERMS);
  } else {
    // the PDE cache missed: the levels above the leaf from the next cache that hits, or from CR3
    // (the usual case, a PDPTE-cache hit in a set of four ways, inline; without `any` only that)
    table = !pae && !m32 && pscOn && load<u32>(p, 16 + 8) == 4 ? quickPdpte(cpu, va, pcid, lo) : NO_PDPTE;
    fromPdpte = table != NO_PDPTE;
    if (!any && !fromPdpte) return PDE_MISS;
    if (any) pdeMissed = !fromPdpte;
    if (!fromPdpte) table = m32 ? quickUpper32(cpu, va) : pae ? quickUpperPae(cpu, va, lo) : quickUpper(cpu, va, pcid, lo, pscOn);
    if (table == SLOW) return SLOW;
    if (table == LARGE_PDE) return quickLarge(cpu, va, kind);
    pp = upPerms;
  }
  const ea = table + (m32 ? (va >> 10) & 0xFFC : (va >> 9) & 0xFF8);
  if (ea >= ramSize) return SLOW;
  const le = m32 ? u64(load<u32>(usize(ea), RAM_BASE)) : load<u64>(usize(ea), RAM_BASE);
  const ec = u32(load<u64>(KTAB + usize(kind) * 8, KT_EC));
  // not present or reserved: #PF
  if ((le & lo) != E_P) return quickFault(va, ea, (le & E_P) == 0 ? ec : ec | PF_P | PF_RSVD, h != 0, fromPdpte);
  // The rights folded over the levels as walkInPlace folds them, as PERM_RW | PERM_US | (no level
  // sets XD) << 2, and checked per kind against KT_OK and the leaf's key (permFault; XD without
  // NXE is reserved, caught above): bit 8k of `ok` set when kind k is allowed.
  const rights = (pp & u32(le >> 1) & 3) | (~(pp | u32(le >> 61)) & 4);
  const refused = keyRefusals(u32(le >> 59) & 15, (rights & 2) != 0);
  const ok = (load<u32>(KTAB, KT_OK) >> rights) & ~refused;
  if ((ok & (u32(1) << (kind * 8))) == 0) return quickFault(va, ea, ec | PF_P | (((refused >> (kind * 8)) & 1) != 0 ? PF_PK : 0), h != 0, fromPdpte);
  // no hit, and the fill will happen: its victim, the first invalid way (tag byte 0), else the oldest fill
  let q: usize = 0; // the set's fill-order word when kept (and the set is full), else 0
  if (ways <= 16) {
    const free = u32(i8x16.bitmask(i8x16.eq(tags, i8x16.splat(0)))) & wmask;
    if (free != 0) {
      victim = set + usize(ctz(free)) * TLB_ENTRY;
    } else if ((q = fifoWord(cpu, setNo)) != 0) {
      // a full set: the oldest fill, the head of the set's fill-order word
      valid = true;
      victim = set + usize(load<u64>(q) & 15) * TLB_ENTRY;
    } else {
      // the smallest (stamp, address) pair: four independent chains of minimums, not one
      valid = true;
      let e = set;
      let o0: u64 = 0xFFFF_FFFF_FFFF_FFFF;
      let o1 = o0;
      let o2 = o0;
      let o3 = o0;
      let w: usize = 0;
      if (ways == 12) {
        // the usual geometry, unrolled (a loop costs V8 a stack check per iteration)
        o0 = min(stampWay(e, 0), min(stampWay(e, 4), stampWay(e, 8)));
        o1 = min(stampWay(e, 1), min(stampWay(e, 5), stampWay(e, 9)));
        o2 = min(stampWay(e, 2), min(stampWay(e, 6), stampWay(e, 10)));
        o3 = min(stampWay(e, 3), min(stampWay(e, 7), stampWay(e, 11)));
        w = ways;
      }
      for (; w + 4 <= ways; w += 4, e += 4 * TLB_ENTRY) {
        o0 = min(o0, stampWay(e, 0));
        o1 = min(o1, stampWay(e, 1));
        o2 = min(o2, stampWay(e, 2));
        o3 = min(o3, stampWay(e, 3));
      }
      for (; w < ways; w++, e += TLB_ENTRY) o0 = min(o0, stampWay(e, 0));
      victim = usize(u32(min(min(o0, o1), min(o2, o3))));
    }
  }
  const need: u64 = E_A | (u64(kind & 1) << 6); // a write (kind 1) also sets D
  if ((le & need) != need) {
    if (m32) store<u32>(usize(ea), u32(le | need), RAM_BASE);
    else store<u64>(usize(ea), le | need, RAM_BASE);
  }
  quickLeaf = ea;
  // before the TLB fill: the stamps come from one counter
  if (h != 0) {
    quickWalks++;
  } else if (fromPdpte || !any) {
    // quickUpperDone after quickPdpte: two entries read from a PDPTE-cache hit, the PDE cached
    countUpWalk(2, 3);
    pscFillIn(cpu, 2, prefix, pcid, table, pp, pways);
  } else {
    quickUpperDone(cpu, va, pscOn);
  }
  // leafAccess's cached rights: RW US XD, D, G, the key
  const dirty = ((le | need) & E_D) != 0;
  const perms = leafPerms(rights ^ PERM_XD, le, dirty);
  const page = le & FRAME_MASK;
  if (q == 0 && ways <= 15) q = fifoWord(cpu, setNo); // a free way: appended to the order
  const way = (victim - set) >> 5;
  // the fast tag (fastVpn(vpn) << 8 is va's bits 63:12: va is canonical)
  const tag = fastTag(va, u64(acCtx));
  tlbFill4k(cpu, ways, victim, valid, q, way, vpn, want, tagsAt + way, tagOf(vpn), tag, page, perms, (ok & 1) != 0, (ok & 0x100) != 0 && dirty, (ok & 0x1_0000) != 0);
  return page | (va & 0xFFF);
}

/** The linear address a mode uses: IA-32e addresses as they are, others truncated to 32 bits. */
@inline function linear(va: u64, mode: u32): u64 {
  return isLongMode(mode) ? va : va & 0xFFFF_FFFF;
}

/** A linear address that raises #GP: not canonical in IA-32e mode (SDM 3.3.7.1). */
@inline function nonCanonical(va: u64, mode: u32): bool {
  const s: u64 = mode == MODE_5L ? 7 : 16;
  return isLongMode(mode) && (i64(va << s) >> s) != i64(va);
}

/**
 * One access (the API's cpu.access): records the entries read for sanitizers. With the TLB on,
 * the batch loop's front-cache hit and quickMiss first, unless `exact` (tests: missPath alone,
 * the yardstick both fast paths are checked against).
 */
export function accessOne(cpu: usize, va: u64, kind: u32, flags: u32, exact: bool): u64 {
  beginAccess(cpu, flags);
  store<u32>(cpu + C_LAST_N, 0);
  const mode = acMode;
  va = linear(va, mode);
  if (nonCanonical(va, mode)) {
    bump(cpu, C_ST_FAULTS, 1);
    return GP_RESULT;
  }
  if (mode == MODE_NONE) return va;
  const fl = load<u32>(cpu + C_FLAGS);
  const pscOn = (fl & F_PSC) != 0;
  if ((fl & F_TLB) != 0 && !exact) {
    // tlbOne's paths: a front hit (a copy of what missPath's lookup would find and allow), or
    // quickMiss, whose one entry read (the leaf, from the PDE cache) is recorded as walkTables would
    const front = usize(load<u32>(cpu + C_FRONT));
    if (front != 0) {
      const fp = frontSlot(front, kind, va >> 12);
      if (load<u64>(fp) == fastTag(va, u64(acCtx))) {
        bump(cpu, C_ST_TLBHITS, 1);
        return load<u64>(fp, 8) | (va & 0xFFF);
      }
    }
    if (isLongMode(mode) || mode == MODE_PAE || mode == MODE_32) {
      const r = mode == MODE_32 ? quickMiss32(cpu, va, kind, pscOn) : quickMiss(cpu, va, kind, pscOn);
      if (r != SLOW) {
        if ((quickWalks | upWalks) != 0) {
          // a miss and a walk (not a hit in the set, which setHit counted): the entries it read
          const n: u32 = quickWalks != 0 ? 1 : upTop;
          for (let j: u32 = 0; j + 1 < n; j++) store<u64>(cpu + C_LAST + usize(j) * 8, load<u64>(UP_EA + usize(j) * 8));
          store<u64>(cpu + C_LAST + usize(n - 1) * 8, quickLeaf);
          store<u32>(cpu + C_LAST_N, n);
          bump(cpu, C_ST_TLBMISSES, 1);
          countQuickWalks(cpu);
          flushWalkCounts(cpu);
        }
        return r;
      }
    }
  }
  const r = (fl & F_TLB) == 0 ? walkAny(cpu, va, kind, pscOn, true) : missPath(cpu, va, kind, pscOn, true);
  flushWalkCounts(cpu);
  return (r & FAULT_BIT) != 0 ? r : r & PA_MASK;
}

/**
 * Translates IO_VA[0..n) with kinds IO_KIND into IO_PA / IO_FAULT (0, or vector << 16 | error
 * code). Returns the number of faults. The TLB hit path and the walk are inlined into the loop.
 */
export function translateBatch(cpu: usize, n: u32, flags: u32): u32 {
  beginAccess(cpu, flags);
  badKind = -1;
  const mode = acMode;
  const fl = load<u32>(cpu + C_FLAGS);
  const pscOn = (fl & F_PSC) != 0;
  const tlbOn = (fl & F_TLB) != 0 && mode != MODE_NONE;
  let faults: u32 = 0;
  let gps: u32 = 0; // #GP results: counted in the statistics as accessOne counts them
  // PAE and 32-bit paging with the caches off: the legacy loop, unless a kind is invalid
  const legacy = (mode == MODE_PAE || mode == MODE_32) && !tlbOn && !pscOn ? batchKinds(n) : KINDS_BAD;
  if (isLongMode(mode) && !tlbOn) {
    faults = walkBatchLong(cpu, n, mode == MODE_5L ? 5 : 4, pscOn);
  } else if (legacy != KINDS_BAD) {
    const reads = legacy == KINDS_READS;
    faults = mode == MODE_PAE ? (reads ? legacyLoopPaeR(cpu, n) : legacyLoopPae(cpu, n)) : reads ? legacyLoop32R(cpu, n) : legacyLoop32(cpu, n);
  } else if (tlbOn) {
    faults = tlbBatch(cpu, n, mode, pscOn);
  } else {
    for (let i: usize = 0; i < usize(n); i++) {
      const va = linear(load<u64>(i * 8, IO_VA), mode);
      const kind = checkedKind(i);
      const gp = nonCanonical(va, mode);
      if (gp) gps++;
      const r = gp ? GP_RESULT : mode == MODE_NONE ? va : walkAny(cpu, va, kind, pscOn, false);
      faults += store2(i, r);
    }
    bump(cpu, C_ST_FAULTS, gps);
  }
  flushWalkCounts(cpu);
  return faults;
}

/**
 * The batch loop with the TLB on, instantiated per mode (5-level, 4-level, or the 32-bit-address
 * modes) so that the hit path has no mode tests. A hit is the front cache (one tag compare);
 * everything else goes to missPath, whose hits refill the front. Same hits either way: the front
 * holds copies only (caches.ts).
 */
function tlbBatch(cpu: usize, n: u32, mode: u32, pscOn: bool): u32 {
  if (mode == MODE_5L) return tlbLoop5(cpu, n, pscOn);
  return mode == MODE_4L ? tlbLoop4(cpu, n, pscOn) : tlbLoop(cpu, n, MODE_PAE, pscOn);
}

// one function per IA-32e mode (inlined side by side, the compiler merged two instances into one
// with the mode a variable: a variable shift and selects per address)
function tlbLoop5(cpu: usize, n: u32, pscOn: bool): u32 {
  return tlbLoop(cpu, n, MODE_5L, pscOn);
}

function tlbLoop4(cpu: usize, n: u32, pscOn: bool): u32 {
  return tlbLoop(cpu, n, MODE_4L, pscOn);
}

// tlbOne's counts, summed in one word: hits in bits 23:0, #GPs from GP_SHIFT, faults from
// FAULT_SHIFT (a batch holds at most 2^16 addresses: each field holds its sum)
const GP_SHIFT: u64 = 24;
const FAULT_SHIFT: u64 = 44;
// tlbLoop reads the tables of the addresses ahead from this score of groups walking far (about
// half of the last groups)
const TOUCH_FAR: u32 = 128;

@inline function tlbLoop(cpu: usize, n: u32, mode: u32, pscOn: bool): u32 {
  const front = usize(load<u32>(cpu + C_FRONT));
  const ctx = u64(acCtx);
  let acc: u64 = 0; // tlbOne's counts, summed
  // quickMiss's usual geometry (a constant per batch)
  const usual = load<u32>(cpu + C_TLB, 8) == 12 && load<u32>(cpu + C_PSC, 8) == 4 && pscOn;
  let i: usize = 0;
  let far: u32 = 0; // the score of groups walking far (below)
  // Four addresses per iteration while all hit (fewer loop overheads); otherwise one at a time,
  // in order (an address is looked up again after the previous one's miss path).
  while (i < usize(n)) {
    if (i + 3 < usize(n)) {
      const va0 = linear(load<u64>(i * 8, IO_VA), mode);
      const va1 = linear(load<u64>(i * 8 + 8, IO_VA), mode);
      const va2 = linear(load<u64>(i * 8 + 16, IO_VA), mode);
      const va3 = linear(load<u64>(i * 8 + 24, IO_VA), mode);
      const ks = load<u32>(i, IO_KIND); // four kinds
      if ((ks & 0xFCFC_FCFC) == 0 && (ks & (ks >> 1) & 0x0101_0101) == 0) {
        const fp0 = frontSlot(front, ks & 0xFF, va0 >> 12);
        const fp1 = frontSlot(front, (ks >> 8) & 0xFF, va1 >> 12);
        const fp2 = frontSlot(front, (ks >> 16) & 0xFF, va2 >> 12);
        const fp3 = frontSlot(front, ks >> 24, va3 >> 12);
        if (((load<u64>(fp0) ^ fastTag(va0, ctx)) | (load<u64>(fp1) ^ fastTag(va1, ctx)) | (load<u64>(fp2) ^ fastTag(va2, ctx)) | (load<u64>(fp3) ^ fastTag(va3, ctx))) == 0) {
          store<u64>(i * 8, load<u64>(fp0, 8) | (va0 & 0xFFF), IO_PA);
          store<u64>(i * 8 + 8, load<u64>(fp1, 8) | (va1 & 0xFFF), IO_PA);
          store<u64>(i * 8 + 16, load<u64>(fp2, 8) | (va2 & 0xFFF), IO_PA);
          store<u64>(i * 8 + 24, load<u64>(fp3, 8) | (va3 & 0xFFF), IO_PA);
          store<u64>(i * 4, 0, IO_FAULT); // four fault words
          store<u64>(i * 4 + 8, 0, IO_FAULT);
          acc += 4;
          i += 4;
          continue;
        }
      }
    }
    // one at a time: these four, or the last few (one instance of tlbOne); while misses walk to
    // leaf tables that miss the host's caches, the next four addresses' tables touched first,
    // so that their misses overlap these lookups
    if (isLongMode(mode) && far >= TOUCH_FAR && i + 8 <= usize(n)) {
      const root = acCr3 & FRAME_MASK;
      const ram = ramSize;
      store<u64>(L_TOUCH, load<u64>(L_TOUCH) ^ touchWalk(load<u64>(i * 8 + 32, IO_VA), root, mode, ram) ^ touchWalk(load<u64>(i * 8 + 40, IO_VA), root, mode, ram) ^ touchWalk(load<u64>(i * 8 + 48, IO_VA), root, mode, ram) ^ touchWalk(load<u64>(i * 8 + 56, IO_VA), root, mode, ram));
    }
    const walks = quickWalks + upWalks;
    const end = i + 4 < usize(n) ? i + 4 : usize(n);
    for (; i < end; i++) acc += tlbOne(cpu, i, mode, pscOn, front, ctx, usual);
    // the decayed count of groups whose lookups all walked, the last one to a leaf table not
    // seen lately (mlpLoop's sample, L_SEEN): groups of hits, or of walks over few tables, need no touch
    far -= far >> 3;
    if (isLongMode(mode) && quickWalks + upWalks - walks >= 3) {
      const table = u32(quickLeaf >> 12) + 1;
      const slot = L_SEEN + usize(table & (SEEN_SLOTS - 1)) * 4;
      if (load<u32>(slot) != table) far += 32;
      store<u32>(slot, table);
    }
  }
  bump(cpu, C_ST_TLBHITS, acc & 0xFF_FFFF);
  bump(cpu, C_ST_FAULTS, (acc >> GP_SHIFT) & 0xF_FFFF);
  bump(cpu, C_ST_TLBMISSES, quickWalks + upWalks);
  countQuickWalks(cpu);
  return u32(acc >> FAULT_SHIFT);
}


/**
 * A read-only walk of va's tables from `root` (IA-32e) to the entry that maps it, with no check
 * but the RAM bound and presence: its reads bring the entries into the host's caches before the
 * lookup of va needs them. Returns the last entry read (for the caller to keep: a read whose
 * value is unused would be dropped).
 */
@inline function touchWalk(va: u64, root: u64, mode: u32, ram: u64): u64 {
  let e: u64 = root | E_P;
  let ea: u64 = 0;
  if (mode == MODE_5L) {
    ea = root + ((va >> 45) & 0xFF8);
    if (ea >= ram) return 0;
    e = load<u64>(usize(ea), RAM_BASE);
  }
  ea = (e & FRAME_MASK) + ((va >> 36) & 0xFF8);
  if ((e & E_P) == 0 || ea >= ram) return e;
  e = load<u64>(usize(ea), RAM_BASE);
  ea = (e & FRAME_MASK) + ((va >> 27) & 0xFF8);
  if ((e & E_P) == 0 || ea >= ram) return e;
  e = load<u64>(usize(ea), RAM_BASE);
  ea = (e & FRAME_MASK) + ((va >> 18) & 0xFF8);
  if ((e & (E_P | E_PS)) != E_P || ea >= ram) return e;
  e = load<u64>(usize(ea), RAM_BASE);
  ea = (e & FRAME_MASK) + ((va >> 9) & 0xFF8);
  if ((e & (E_P | E_PS)) != E_P || ea >= ram) return e;
  return load<u64>(usize(ea), RAM_BASE);
}

/** The fast tag of va: all of its bits 63:12 and the context id (caches.ts fastVpn). */
@inline function fastTag(va: u64, ctx: u64): u64 {
  return ((va >> 4) & ~u64(0xFF)) | ctx;
}

/**
 * One address of tlbLoop: a front hit, or the #GP of a non-canonical address (which never hits:
 * the fast tag holds all of va's bits 63:12), or the miss path. Returns hits | #GPs << GP_SHIFT |
 * faults << FAULT_SHIFT (each 0 or 1).
 */
@inline function tlbOne(cpu: usize, i: usize, mode: u32, pscOn: bool, front: usize, ctx: u64, usual: bool): u64 {
  const va = linear(load<u64>(i * 8, IO_VA), mode);
  const kind = checkedKind(i);
  const fp = frontSlot(front, kind, va >> 12);
  if (load<u64>(fp) == fastTag(va, ctx)) {
    store<u64>(i * 8, load<u64>(fp, 8) | (va & 0xFFF), IO_PA);
    store<u32>(i * 4, 0, IO_FAULT);
    return 1;
  }
  if (nonCanonical(va, mode)) return (u64(1) << GP_SHIFT) | (u64(store2(i, GP_RESULT)) << FAULT_SHIFT);
  // (the PAE instance serves 32-bit paging too: quickMiss32 for its 4-byte entries)
  if (isLongMode(mode) || mode == MODE_PAE) {
    let r: u64 = SLOW;
    if (mode == MODE_PAE && acMode == MODE_32) {
      r = quickMiss32(cpu, va, kind, pscOn);
    } else if (usual && !pdeMissed) {
      // quickMiss's usual case, inlined
      r = quickMissIn(cpu, va, kind, 12, 4, true, false);
      if (r < SET_HIT) {
        // a page address: the usual result (one compare)
      } else if (r == SET_HIT) {
        r = setHit(cpu, setHitWay, va, kind);
      } else if (r == PDE_MISS) {
        r = quickMissAny(cpu, va, kind, 12, 4, true);
      }
    } else if (usual) {
      r = quickMissAny(cpu, va, kind, 12, 4, true);
    } else {
      r = quickMiss(cpu, va, kind, pscOn);
    }
    if (r != SLOW) {
      if ((r & FAULT_BIT) != 0) return u64(store2(i, r)) << FAULT_SHIFT; // quickFault
      store<u64>(i * 8, r, IO_PA);
      store<u32>(i * 4, 0, IO_FAULT);
      return 0;
    }
  }
  return u64(store2(i, missPath(cpu, va, kind, pscOn, false))) << FAULT_SHIFT;
}

/**
 * The pure-walk batch loops (TLB off) for IA-32e modes, instantiated with the level count and
 * the PSC switch as constants. Without PSCs every walk takes the fast walk (with protection keys
 * its instance that checks them), interleaved across addresses (mlpLoop); the exact walk (out of line) decides the rest. A batch
 * with an invalid kind (the caller then throws) goes through exactLoop, which reads it as a read.
 */
function walkBatchLong(cpu: usize, n: u32, levels: u32, pscOn: bool): u32 {
  const kinds = !pscOn ? batchKinds(n) : KINDS_BAD;
  if (kinds != KINDS_BAD) {
    const reads = kinds == KINDS_READS;
    if ((acPkrU | acPkrS) != 0) return levels == 5 ? (reads ? mlpLoop5RK(cpu, n) : mlpLoop5K(cpu, n)) : reads ? mlpLoop4RK(cpu, n) : mlpLoop4K(cpu, n);
    return levels == 5 ? (reads ? mlpLoop5R(cpu, n) : mlpLoop5(cpu, n)) : reads ? mlpLoop4R(cpu, n) : mlpLoop4(cpu, n);
  }
  return levels == 5 ? exactLoop(cpu, n, 5, pscOn) : exactLoop(cpu, n, 4, pscOn);
}

// mlpLoop's instances, each a function of its own: inlined side by side into walkBatchLong, the
// eight made one function of some 5,000 lines of WASM, and the IA-32e 4 KiB cells of the matrix
// ran 2-12 % slower (paired, same build otherwise).
function mlpLoop4(cpu: usize, n: u32): u32 {
  return mlpLoop(cpu, n, 4, false, false);
}
function mlpLoop4R(cpu: usize, n: u32): u32 {
  return mlpLoop(cpu, n, 4, true, false);
}
function mlpLoop5(cpu: usize, n: u32): u32 {
  return mlpLoop(cpu, n, 5, false, false);
}
function mlpLoop5R(cpu: usize, n: u32): u32 {
  return mlpLoop(cpu, n, 5, true, false);
}
function mlpLoop4K(cpu: usize, n: u32): u32 {
  return mlpLoop(cpu, n, 4, false, true);
}
function mlpLoop4RK(cpu: usize, n: u32): u32 {
  return mlpLoop(cpu, n, 4, true, true);
}
function mlpLoop5K(cpu: usize, n: u32): u32 {
  return mlpLoop(cpu, n, 5, false, true);
}
function mlpLoop5RK(cpu: usize, n: u32): u32 {
  return mlpLoop(cpu, n, 5, true, true);
}

// ---- the interleaved batch walk (memory-level parallelism) ----
//
// A serial walk cannot issue an entry read before the one above it returned; on tables that miss
// the caches (and the host's TLB) the CPU overlaps only the few walks its reorder window holds.
// mlpLoop walks MLP_K addresses per group in three phases: each address down to its leaf entry's
// address (the levels above are few and mostly cached), then the MLP_K leaf reads back to back
// (independent loads: their misses overlap), then each leaf's check and result. With the TLB
// off, walks of different addresses commute: a walk's result does not depend on A/D bits, and
// A/D bits are only ever set, in place (OR into the current entry), so memory ends as after the
// serial loop. An address that is not a plain walk (not canonical, an entry past RAM or not
// present, reserved bits, AMD's deferred A bits) goes through the serial fast walk instead;
// results, faults, CR2 (the last faulting address) and statistics equal the serial loop's.

const MLP_K: u32 = 16;
const MLP_SERIAL: u32 = 16; // groups walked serially after a cache-friendly one
const SEEN_SLOTS: u32 = 128; // leaf tables remembered (512 KiB of them: about what stays in L2)
const L_EA: usize = LANES; // the 4 KiB leaf entry's address (0: the lane is done or walks serially)
const L_F: usize = LANES + 8 * MLP_K; // rights folded over the levels above (walkInPlace's f)
const L_TOUCH: usize = LANES + 16 * MLP_K; // where the leaf reads' XOR goes (so that they stay)
const L_ACC: usize = LANES + 0x108; // a loop's counter word kept across its out-of-line calls
const L_PEND: usize = LANES + 0x110; // u8[MLP_K]: a group's lanes left to serialLane (zero between groups)
const L_AMD: usize = LANES + 0x120; // u64[5]: entries whose accessed bit an AMD walk defers (walkInPlace)
const L_SEEN: usize = LANES + 0x200; // u32[SEEN_SLOTS]: leaf table frame + 1, direct-mapped

// Counters of the addresses walked serially (out of line; added to the loop's own at its end).
let lnWalks: u32 = 0;
let lnRefs: u32 = 0;
let lnFastFaults: u32 = 0;
let lnGps: u32 = 0;
let lnFaults: u32 = 0;
let lnLanes: u32 = 0; // serialLane calls (the loops count walks as addresses less these)

/** One address through the serial fast walk (the exact walk behind it). */
function serialLane(cpu: usize, i: usize, kind: u32, levels: u32): void {
  lnLanes++;
  const va = load<u64>(i * 8, IO_VA);
  const keys = (acPkrU | acPkrS) != 0;
  const inc = walkInPlace(i, kind, va, levels, acCr3 & FRAME_MASK, load<u64>(cpu + C_RSVD_UP), load<u64>(cpu + C_RSVD_LO), load<u64>(cpu + C_RSVD_1G), ramSize, keys, true);
  if (inc != 0) {
    lnWalks++;
    lnRefs += u32(inc) & 0xFF_FFFF;
    lnFastFaults += u32(inc >> 24) & 0xF_FFFF;
  } else {
    const r = exactWalk(cpu, va, kind, levels);
    if (r == GP_RESULT) lnGps++;
    lnFaults += store2(i, r);
  }
}

/**
 * The lanes of group g flagged in L_PEND, through serialLane (flags cleared); `acc`, the loop's
 * counter word, passes through memory so that the caller's loop keeps no value across the calls.
 */
@inline function pendingLanes(cpu: usize, g: usize, levels: u32, acc: u64): u64 {
  store<u64>(L_ACC, acc);
  for (let j: usize = 0; j < usize(MLP_K); j++) {
    if (load<u8>(L_PEND + j) == 0) continue;
    store<u8>(L_PEND + j, 0);
    serialLane(cpu, g + j, batchKind(g + j), levels);
  }
  return load<u64>(L_ACC);
}

/** AMD, told by the PML5E/PML4E reserved-bit mask (its PML4Es reserve bit 8, G): A bits deferred. */
@inline function amdMask(up: u64): bool {
  return (up & E_G) != 0;
}

/** upperWalk's result for an address it finished (a large page): | fault << 1 | TLB class << 2. */
const LANE_DONE: u64 = 1;

/**
 * walkInPlace of batch address i down to its 4 KiB leaf entry, without reading it (levels a
 * constant): returns the leaf entry's address (the rights of the levels above folded into
 * L_F[p]); or, for a 2 MiB / 1 GiB page, the finished walk (LANE_DONE); or 0 when the address
 * needs the serial walk. Accessed bits are set in place as the walk passes (Intel), as walkInPlace does.
 */
@inline function upperWalk(i: usize, kind: u32, va: u64, p: usize, levels: u32, root: u64, up: u64, lo: u64, big1g: u64, ram: u64, keys: bool): u64 {
  const s: u64 = levels == 5 ? 7 : 16;
  if ((i64(va << s) >> s) != i64(va)) return 0;
  let f: u64 = 0xFFFF_FFFF_FFFF_FFFF;
  let t = root;
  let ea: u64 = 0;
  let e: u64 = 0;
  if (levels == 5) {
    ea = t + ((va >> 45) & 0xFF8);
    if (ea >= ram) return 0;
    e = load<u64>(usize(ea), RAM_BASE);
    if ((e & up) != E_P) return 0;
    if ((e & E_A) == 0) {
      if (amdMask(up)) return 0;
      store<u64>(usize(ea), load<u64>(usize(ea), RAM_BASE) | E_A, RAM_BASE);
    }
    f &= e ^ E_XD;
    t = e & FRAME_MASK;
  }
  ea = t + ((va >> 36) & 0xFF8);
  if (ea >= ram) return 0;
  e = load<u64>(usize(ea), RAM_BASE);
  if ((e & up) != E_P) return 0;
  if ((e & E_A) == 0) {
    if (amdMask(up)) return 0;
    store<u64>(usize(ea), load<u64>(usize(ea), RAM_BASE) | E_A, RAM_BASE);
  }
  f &= e ^ E_XD;
  ea = (e & FRAME_MASK) + ((va >> 27) & 0xFF8);
  if (ea >= ram) return 0;
  e = load<u64>(usize(ea), RAM_BASE);
  if ((e & lo) != E_P) return 0;
  if ((e & E_PS) != 0) return (e & big1g) != 0 ? 0 : LANE_DONE | (2 << 2) | (u64(finishLeaf(i, kind, e, ea | 2, f, keys)) << 1);
  if ((e & E_A) == 0) {
    if (amdMask(up)) return 0;
    store<u64>(usize(ea), load<u64>(usize(ea), RAM_BASE) | E_A, RAM_BASE);
  }
  f &= e ^ E_XD;
  ea = (e & FRAME_MASK) + ((va >> 18) & 0xFF8);
  if (ea >= ram) return 0;
  e = load<u64>(usize(ea), RAM_BASE);
  if ((e & lo) != E_P) return 0;
  if ((e & E_PS) != 0) return (e & 0x1F_E000) != 0 ? 0 : LANE_DONE | (1 << 2) | (u64(finishLeaf(i, kind, e, ea | 1, f, keys)) << 1);
  if ((e & E_A) == 0) {
    if (amdMask(up)) return 0;
    store<u64>(usize(ea), load<u64>(usize(ea), RAM_BASE) | E_A, RAM_BASE);
  }
  store<u64>(L_F + p, f & (e ^ E_XD));
  ea = (e & FRAME_MASK) + ((va >> 9) & 0xFF8);
  return ea >= ram ? 0 : ea;
}

/**
 * The protection-key check of a leaf `e` whose rights over all levels folded into `f`: PF_PK when
 * the key register that applies (PKRU for a user page, PKRS for a supervisor one: 32 bits further
 * up in KT_PKR) refuses `kind` to the leaf's key, else 0 (KT_KEYM and KT_PKR, set by beginAccess:
 * permFault's rules as one shift and an AND). A key fault comes before the other rights in the
 * error code, as in permFault.
 */
@inline function keyFault(kind: u32, e: u64, f: u64): u32 {
  const sh = ((e >> 58) & 30) | ((~f & E_US) << 3);
  return (u32(load<u64>(KTAB, KT_PKR) >> sh) & load<u32>(KTAB + usize(kind) * 4, KT_KEYM)) != 0 ? PF_PK : 0;
}

/**
 * The leaf's access check, A/D update and result for batch address i (walkInPlace's last step):
 * `e` the leaf entry, `leaf` its address | TLB class, `f` the rights folded above. Returns 1 for
 * a #PF (written as walkInPlace's), else 0.
 */
@inline function finishLeaf(i: usize, kind: u32, e: u64, leaf: u64, f: u64, keys: bool): u32 {
  const t = KTAB + usize(kind) * 8;
  f &= e ^ E_XD;
  const pk: u32 = keys ? keyFault(kind, e, f) : 0;
  if (pk != 0 || (f & load<u64>(t, KT_MASK)) != load<u64>(t, KT_WANT)) {
    store<u64>(i * 8, 0, IO_PA);
    store<u32>(i * 4, (VEC_PF << 16) | u32(load<u64>(t, KT_EC)) | PF_P | pk, IO_FAULT);
    return 1;
  }
  const need: u64 = E_A | (u64(kind & 1) << 6); // a write also sets D
  if ((e & need) != need) {
    const ea = usize(leaf & ~7);
    store<u64>(ea, load<u64>(ea, RAM_BASE) | need, RAM_BASE);
  }
  const off = (u64(1) << (12 + 9 * u32(leaf & 3))) - 1;
  store<u64>(i * 8, (e & FRAME_MASK & ~off) | (load<u64>(i * 8, IO_VA) & off), IO_PA);
  store<u32>(i * 4, 0, IO_FAULT);
  return 0;
}

// serialRun's per-walk increment of its counter word: entries read in bits 23:0, #PFs in 43:24,
// 4 KiB translations in 63:44 (a batch holds at most 2^16 addresses).
const INC_FAULT: u64 = u64(1) << 24;
const INC_SMALL: u64 = u64(1) << 44;

/** A #PF found by walkInPlace, written in place: the result words, and the counter increment. */
@inline function faultInPlace(i: usize, refs: u32, code: u64): u64 {
  store<u64>(i * 8, 0, IO_PA);
  store<u32>(i * 4, (VEC_PF << 16) | u32(code), IO_FAULT);
  return INC_FAULT | u64(refs);
}

/** faultInPlace for an entry that failed its level's mask: not present, or reserved bits. */
@inline function entryFaultInPlace(i: usize, e: u64, refs: u32, kind: u32): u64 {
  const ec = load<u64>(KTAB + usize(kind) * 8, KT_EC);
  return faultInPlace(i, refs, (e & E_P) == 0 ? ec : ec | PF_P | PF_RSVD);
}

/**
 * AMD (walkInPlace with amdDefer): sets the accessed bits the walk deferred (`nd` entries in
 * L_AMD) when the leaf check `inc` succeeded, re-reading each entry (the leaf's own A/D, just
 * written, may be one of them in looping tables); a fault leaves them clear. Returns `inc`.
 */
@inline function amdDone(inc: u64, nd: u32): u64 {
  if (nd != 0 && (inc & (u64(0xF_FFFF) << 24)) == 0) {
    for (let k: usize = 0; k < usize(nd); k++) {
      const a = usize(load<u64>(L_AMD + k * 8));
      store<u64>(a, load<u64>(a, RAM_BASE) | E_A, RAM_BASE);
    }
  }
  return inc;
}

/**
 * An IA-32e walk of batch address i (Intel; AMD while every accessed bit is set, or with amdDefer) in as few
 * instructions as possible, its result written in place (IO_PA, IO_FAULT) as the C walker writes
 * its own. Per level one mask test covers present and reserved bits (masks precomputed by
 * setControl: `up` for PML5E/PML4E, `lo` below, `big1g` for a 1 GiB leaf); the rights of all
 * levels fold into one AND (QEMU's mmu_translate: `f &= e ^ XD`, so bit 63 of `f` says "no level
 * forbids fetches"); the access check is one mask compare per kind (KTAB, set by beginAccess);
 * a missing accessed bit is set in place (Intel) as the walk passes, the leaf's A/D on success.
 * A #PF is written without its side effects, which the caller applies (CR2, statistics: with the
 * caches off). Returns serialRun's counter increment (never 0), or 0 when the address needs the
 * exact walk (not canonical, an entry past RAM, AMD's deferred accessed bits), before writing
 * anything but accessed bits the exact walk sets too. `levels` is a constant after inlining;
 * the other constants stay in registers; `keys` (a constant): protection keys apply.
 */
@inline function walkInPlace(i: usize, kind: u32, va: u64, levels: u32, root: u64, up: u64, lo: u64, big1g: u64, ram: u64, keys: bool, amdDefer: bool): u64 {
  const s: u64 = levels == 5 ? 7 : 16;
  if ((i64(va << s) >> s) != i64(va)) return 0;
  let f: u64 = 0xFFFF_FFFF_FFFF_FFFF;
  let t = root;
  let ea: u64 = 0;
  let e: u64 = 0;
  let nd: u32 = 0; // AMD, amdDefer: entries in L_AMD whose accessed bit waits for the leaf
  if (levels == 5) {
    ea = t + ((va >> 45) & 0xFF8);
    if (ea >= ram) return 0;
    e = load<u64>(usize(ea), RAM_BASE);
    if ((e & up) != E_P) return entryFaultInPlace(i, e, 1, kind);
    if ((e & E_A) == 0) {
      if (!amdMask(up)) {
        e |= E_A;
        store<u64>(usize(ea), e, RAM_BASE);
      } else if (amdDefer) {
        store<u64>(L_AMD + usize(nd++) * 8, ea);
      } else return 0;
    }
    f = e ^ E_XD;
    t = e & FRAME_MASK;
  }
  ea = t + ((va >> 36) & 0xFF8);
  if (ea >= ram) return 0;
  e = load<u64>(usize(ea), RAM_BASE);
  if ((e & up) != E_P) return entryFaultInPlace(i, e, levels - 3, kind);
  if ((e & E_A) == 0) {
    if (!amdMask(up)) {
      e |= E_A;
      store<u64>(usize(ea), e, RAM_BASE);
    } else if (amdDefer) {
      store<u64>(L_AMD + usize(nd++) * 8, ea);
    } else return 0;
  }
  f &= e ^ E_XD;
  ea = (e & FRAME_MASK) + ((va >> 27) & 0xFF8);
  if (ea >= ram) return 0;
  e = load<u64>(usize(ea), RAM_BASE);
  if ((e & lo) != E_P) return entryFaultInPlace(i, e, levels - 2, kind);
  if ((e & E_PS) != 0) {
    if ((e & big1g) != 0) return entryFaultInPlace(i, e, levels - 2, kind);
    return amdDone(leafInPlace(i, kind, va, e, ea, f, 0x3FFF_FFFF, u64(levels - 2), keys), nd);
  }
  if ((e & E_A) == 0) {
    if (!amdMask(up)) {
      e |= E_A;
      store<u64>(usize(ea), e, RAM_BASE);
    } else if (amdDefer) {
      store<u64>(L_AMD + usize(nd++) * 8, ea);
    } else return 0;
  }
  f &= e ^ E_XD;
  ea = (e & FRAME_MASK) + ((va >> 18) & 0xFF8);
  if (ea >= ram) return 0;
  e = load<u64>(usize(ea), RAM_BASE);
  if ((e & lo) != E_P) return entryFaultInPlace(i, e, levels - 1, kind);
  if ((e & E_PS) != 0) {
    if ((e & 0x1F_E000) != 0) return entryFaultInPlace(i, e, levels - 1, kind);
    return amdDone(leafInPlace(i, kind, va, e, ea, f, 0x1F_FFFF, u64(levels - 1), keys), nd);
  }
  if ((e & E_A) == 0) {
    if (!amdMask(up)) {
      e |= E_A;
      store<u64>(usize(ea), e, RAM_BASE);
    } else if (amdDefer) {
      store<u64>(L_AMD + usize(nd++) * 8, ea);
    } else return 0;
  }
  f &= e ^ E_XD;
  ea = (e & FRAME_MASK) + ((va >> 9) & 0xFF8);
  if (ea >= ram) return 0;
  e = load<u64>(usize(ea), RAM_BASE);
  if ((e & lo) != E_P) return entryFaultInPlace(i, e, levels, kind);
  return amdDone(leafInPlace(i, kind, va, e, ea, f, 0xFFF, INC_SMALL | u64(levels), keys), nd);
}

/**
 * walkInPlace's leaf (inlined once per page size, so that `off` and `inc` are constants): the
 * access check against the rights folded over the levels, A/D, the result written in place.
 */
@inline function leafInPlace(i: usize, kind: u32, va: u64, e: u64, ea: u64, f: u64, off: u64, inc: u64, keys: bool): u64 {
  f &= e ^ E_XD;
  const t8 = KTAB + usize(kind) * 8;
  const pk: u32 = keys ? keyFault(kind, e, f) : 0;
  if (pk != 0 || (f & load<u64>(t8, KT_MASK)) != load<u64>(t8, KT_WANT)) return faultInPlace(i, u32(inc), load<u64>(t8, KT_EC) | PF_P | pk);
  const need: u64 = E_A | (u64(kind & 1) << 6); // a write also sets D
  if ((e & need) != need) store<u64>(usize(ea), e | need, RAM_BASE);
  store<u64>(i * 8, (e & FRAME_MASK & ~off) | (va & off), IO_PA);
  store<u32>(i * 4, 0, IO_FAULT);
  return inc;
}

/**
 * mlpLoop's serial groups: each address through the serial fast walk, group after group, for at
 * least `groups` groups and then until a group translates a 4 KiB page. Returns where it
 * stopped (a group boundary, or `whole`); its counts go into the ln* counters. Out of line so
 * that this loop gets registers of its own (inside mlpLoop its state spilled to the stack); the
 * walk writes its results in place and its counts go into one word, so that the loop's state
 * fits the registers V8 leaves it.
 */
@inline function serialRun(cpu: usize, g: usize, whole: usize, groups: u32, levels: u32, reads: bool, keys: bool): usize {
  const root = acCr3 & FRAME_MASK;
  const ram = ramSize;
  const up = load<u64>(cpu + C_RSVD_UP);
  const lo = load<u64>(cpu + C_RSVD_LO);
  const big1g = load<u64>(cpu + C_RSVD_1G);
  let acc: u64 = 0;
  for (; g < whole; ) {
    const small = acc >> 44;
    const end = g + usize(MLP_K);
    // no call in this loop (values live across a call are spilled where they are made): the
    // addresses the fast walk leaves (inc 0) go to serialLane after the group (flags in L_PEND)
    for (let i = g; i < end; i++) {
      const inc = walkInPlace(i, reads ? 0 : batchKind(i), load<u64>(i * 8, IO_VA), levels, root, up, lo, big1g, ram, keys, false);
      if (inc == 0) store<u8>(L_PEND + (i & usize(MLP_K - 1)), 1); // a store: never a select
      acc += inc;
    }
    if ((load<u64>(L_PEND) | load<u64>(L_PEND + 8)) != 0) acc = pendingLanes(cpu, g, levels, acc);
    g = end;
    if (groups != 0) groups--;
    if (groups == 0 && (acc >> 44) != small) break;
  }
  lnRefs += u32(acc) & 0xFF_FFFF;
  lnFastFaults += u32(acc >> 24) & 0xF_FFFF;
  return g;
}

function serialRun4(cpu: usize, g: usize, whole: usize, groups: u32): usize {
  return serialRun(cpu, g, whole, groups, 4, false, false);
}

function serialRun5(cpu: usize, g: usize, whole: usize, groups: u32): usize {
  return serialRun(cpu, g, whole, groups, 5, false, false);
}

// a batch of reads: the kind a constant (the access masks at fixed addresses, no kind loads)
function serialRun4R(cpu: usize, g: usize, whole: usize, groups: u32): usize {
  return serialRun(cpu, g, whole, groups, 4, true, false);
}

function serialRun5R(cpu: usize, g: usize, whole: usize, groups: u32): usize {
  return serialRun(cpu, g, whole, groups, 5, true, false);
}

// with protection keys (CR4.PKE/PKS): the key check in the leaf
function serialRun4K(cpu: usize, g: usize, whole: usize, groups: u32, reads: bool): usize {
  return reads ? serialRun(cpu, g, whole, groups, 4, true, true) : serialRun(cpu, g, whole, groups, 4, false, true);
}

function serialRun5K(cpu: usize, g: usize, whole: usize, groups: u32, reads: bool): usize {
  return reads ? serialRun(cpu, g, whole, groups, 5, true, true) : serialRun(cpu, g, whole, groups, 5, false, true);
}

@inline function mlpLoop(cpu: usize, n: u32, levels: u32, reads: bool, keys: bool): u32 {
  const root = acCr3 & FRAME_MASK;
  const ram = ramSize;
  const up = load<u64>(cpu + C_RSVD_UP);
  const lo = load<u64>(cpu + C_RSVD_LO);
  const big1g = load<u64>(cpu + C_RSVD_1G);
  let acc: u64 = 0; // serialRun's counter word for this loop's own walks
  lnWalks = lnRefs = lnFastFaults = lnGps = lnFaults = lnLanes = 0;
  const whole = usize(n) & ~usize(MLP_K - 1);
  // Interleaving gains nothing for groups without 4 KiB pages (their leaves are read on the way
  // down) or whose leaf tables are few and therefore cached (most of them seen in the last
  // groups: L_SEEN): after such a group, the next ones are walked one address after the other,
  // until a group translates a 4 KiB page again, and at least MLP_SERIAL groups after a
  // cache-friendly one. Either way the results are the same.
  let serial = false;
  let serialGroups: u32 = 0;
  for (let g: usize = 0; g < whole; g += usize(MLP_K)) {
    if (serial || serialGroups != 0) {
      // out of line, with its own registers, until a group translates a 4 KiB page again
      if (keys) g = levels == 5 ? serialRun5K(cpu, g, whole, serialGroups, reads) : serialRun4K(cpu, g, whole, serialGroups, reads);
      else if (reads) g = levels == 5 ? serialRun5R(cpu, g, whole, serialGroups) : serialRun4R(cpu, g, whole, serialGroups);
      else g = levels == 5 ? serialRun5(cpu, g, whole, serialGroups) : serialRun4(cpu, g, whole, serialGroups);
      serial = false;
      serialGroups = 0;
      if (g >= whole) break;
    }
    // no calls in the lane loops (values live across a call are spilled where they are made):
    // the lanes the fast walk leaves go to serialLane after the group (flags in L_PEND)
    let pending: u32 = 0; // lanes whose 4 KiB leaf is still to be read
    let seen: u32 = 0; // pending lanes whose leaf table was seen lately
    for (let j: usize = 0; j < usize(MLP_K); j++) {
      const i = g + j;
      const kind = batchKind(i);
      const p = j * 8;
      let leaf = upperWalk(i, kind, load<u64>(i * 8, IO_VA), p, levels, root, up, lo, big1g, ram, keys);
      if (leaf == 0) {
        store<u8>(L_PEND + j, 1);
      } else if ((leaf & LANE_DONE) != 0) {
        acc += ((leaf << 23) & INC_FAULT) | u64(levels - u32(leaf >> 2));
        leaf = 0;
      } else {
        pending++;
        if ((j & 3) == 0) {
          // every fourth lane's leaf table looked up and remembered (a sample is enough)
          const table = u32(leaf >> 12) + 1;
          const slot = L_SEEN + usize(table & (SEEN_SLOTS - 1)) * 4;
          seen += u32(load<u32>(slot) == table);
          store<u32>(slot, table);
        }
      }
      store<u64>(L_EA + p, leaf);
    }
    if (seen >= (MLP_K / 4) * 3 / 4) serialGroups = MLP_SERIAL;
    serial = pending == 0;
    if (!serial) {
      // the 4 KiB leaf reads, back to back (a lane that is done reads guest address 0, unused);
      // the loop below reads them again from the cache
      let touch: u64 = 0;
      for (let j: usize = 0; j < usize(MLP_K); j++) touch ^= load<u64>(usize(load<u64>(L_EA + j * 8)), RAM_BASE);
      store<u64>(L_TOUCH, touch);
      for (let j: usize = 0; j < usize(MLP_K); j++) {
        const p = j * 8;
        const leaf = load<u64>(L_EA + p);
        if (leaf == 0) continue;
        const i = g + j;
        const e = load<u64>(usize(leaf), RAM_BASE);
        if ((e & lo) != E_P) {
          store<u8>(L_PEND + j, 1);
          continue;
        }
        acc += (u64(finishLeaf(i, batchKind(i), e, leaf, load<u64>(L_F + p), keys)) << 24) | u64(levels);
      }
    }
    if ((load<u64>(L_PEND) | load<u64>(L_PEND + 8)) != 0) acc = pendingLanes(cpu, g, levels, acc);
  }
  for (let i = whole; i < usize(n); i++) serialLane(cpu, i, batchKind(i), levels);
  // pageFault's effects for the fast path's faults (with the caches off: CR2 and the count). CR2
  // is the last faulting address in batch order, found from the end (the exact walks' pageFault
  // wrote theirs out of order: a serial lane may run before an earlier address's leaf check).
  const fastFaults = u32(acc >> 24) & 0xF_FFFF;
  if (fastFaults + lnFastFaults + lnFaults != 0) {
    for (let i = usize(n); i > 0; i--) {
      if ((load<u32>((i - 1) * 4, IO_FAULT) >> 16) == VEC_PF) {
        store<u64>(cpu + C_CR2, load<u64>((i - 1) * 8, IO_VA));
        break;
      }
    }
  }
  bump(cpu, C_ST_FAULTS, fastFaults + lnFastFaults + lnGps);
  addWalkCounts(n - lnLanes + lnWalks, (u32(acc) & 0xFF_FFFF) + lnRefs);
  return fastFaults + lnFastFaults + lnFaults;
}

/** The exact walk of one address (out of line: the fast loop's rare case). */
function exactWalk(cpu: usize, va: u64, kind: u32, levels: u32): u64 {
  const s: u64 = levels == 5 ? 7 : 16;
  if ((i64(va << s) >> s) != i64(va)) return GP_RESULT;
  return levels == 5 ? walkLong(cpu, va, kind, 5, false, false, acCx, acPkrU, acPkrS) : walkLong(cpu, va, kind, 4, false, false, acCx, acPkrU, acPkrS);
}

@inline function exactLoop(cpu: usize, n: u32, levels: u32, pscOn: bool): u32 {
  const s: u64 = levels == 5 ? 7 : 16;
  const cx = acCx;
  const pkrU = acPkrU;
  const pkrS = acPkrS;
  let faults: u32 = 0;
  let gps: u32 = 0;
  for (let i: usize = 0; i < usize(n); i++) {
    const va = load<u64>(i * 8, IO_VA);
    const kind = checkedKind(i);
    const canonical = (i64(va << s) >> s) == i64(va);
    if (!canonical) gps++;
    faults += store2(i, canonical ? walkLong(cpu, va, kind, levels, pscOn, false, cx, pkrU, pkrS) : GP_RESULT);
  }
  bump(cpu, C_ST_FAULTS, gps);
  return faults;
}

// ---- PAE and 32-bit paging: the fast walk of two-level tables ----
//
// With the caches off, a batch in PAE or 32-bit paging takes a fast walk as IA-32e batches do
// (walkInPlace's per-level mask test, folded rights, the KTAB access check, A/D in place, faults
// decided in place and their CR2 and count applied once per batch), one address after the other:
// two levels under the PDPTE registers or CR3 (the few tables above the leaves stay cached, and
// a leaf miss overlaps with the next walks as far as the reorder window reaches). The exact walk
// (walkPae, walk32) decides what the fast one leaves (0): a PDPTE not present, an entry past
// RAM, AMD's deferred accessed bit. Protection keys do not exist outside IA-32e mode.

/** PAE (SDM 4.4): the PDE from the PDPTE register for va's bits 31:30, then the PTE; `lo` is the mask test (P and reserved bits). */
@inline function paeInPlace(cpu: usize, i: usize, kind: u32, va: u64, lo: u64, ram: u64, amd: bool): u64 {
  const pdpte = load<u64>(cpu + C_PDPTE + usize((va >> 30) & 3) * 8);
  if ((pdpte & E_P) == 0) return 0;
  let ea = (pdpte & FRAME_MASK) + ((va >> 18) & 0xFF8);
  if (ea >= ram) return 0;
  let e = load<u64>(usize(ea), RAM_BASE);
  if ((e & lo) != E_P) return entryFaultInPlace(i, e, 1, kind);
  if ((e & E_PS) != 0) {
    if ((e & 0x1F_E000) != 0) return entryFaultInPlace(i, e, 1, kind);
    return leafInPlace(i, kind, va, e, ea, 0xFFFF_FFFF_FFFF_FFFF, 0x1F_FFFF, 1, false);
  }
  if ((e & E_A) == 0) {
    if (amd) return 0;
    e |= E_A;
    store<u64>(usize(ea), e, RAM_BASE);
  }
  const f = e ^ E_XD;
  ea = (e & FRAME_MASK) + ((va >> 9) & 0xFF8);
  if (ea >= ram) return 0;
  e = load<u64>(usize(ea), RAM_BASE);
  if ((e & lo) != E_P) return entryFaultInPlace(i, e, 2, kind);
  return leafInPlace(i, kind, va, e, ea, f, 0xFFF, INC_SMALL | 2, false);
}

/** 32-bit paging (SDM 4.3): 4-byte entries, a 4 MiB page (CR4.PSE, PSE-36 bits 20:13) or a PTE. */
@inline function w32InPlace(i: usize, kind: u32, va: u64, root: u64, pse: bool, ram: u64, amd: bool): u64 {
  let ea = root + ((va >> 20) & 0xFFC);
  if (ea >= ram) return 0;
  let e = u64(load<u32>(usize(ea), RAM_BASE));
  const ec = load<u64>(KTAB + usize(kind) * 8, KT_EC);
  if ((e & E_P) == 0) return faultInPlace(i, 1, ec);
  if ((e & E_PS) != 0 && pse) {
    if ((u32(e) & rsvd4M) != 0) return faultInPlace(i, 1, ec | PF_P | PF_RSVD);
    return leaf32InPlace(i, kind, va, e, ea, 0xFFFF_FFFF_FFFF_FFFF, (e & 0xFFC0_0000) | (((e >> 13) & 0xFF) << 32), 0x3F_FFFF, 1);
  }
  if ((e & E_A) == 0) {
    if (amd) return 0;
    e |= E_A;
    store<u32>(usize(ea), u32(e), RAM_BASE);
  }
  const f = e ^ E_XD; // no XD in 32-bit paging: bit 63 of f stays set
  ea = (e & 0xFFFF_F000) + ((va >> 10) & 0xFFC);
  if (ea >= ram) return 0;
  e = u64(load<u32>(usize(ea), RAM_BASE));
  if ((e & E_P) == 0) return faultInPlace(i, 2, ec);
  return leaf32InPlace(i, kind, va, e, ea, f, e & 0xFFFF_F000, 0xFFF, INC_SMALL | 2);
}

/** leafInPlace for a 4-byte entry `e` at `ea` mapping `page`. */
@inline function leaf32InPlace(i: usize, kind: u32, va: u64, e: u64, ea: u64, f: u64, page: u64, off: u64, inc: u64): u64 {
  f &= e ^ E_XD;
  const t8 = KTAB + usize(kind) * 8;
  if ((f & load<u64>(t8, KT_MASK)) != load<u64>(t8, KT_WANT)) return faultInPlace(i, u32(inc), load<u64>(t8, KT_EC) | PF_P);
  const need: u64 = E_A | (u64(kind & 1) << 6); // a write also sets D
  if ((e & need) != need) store<u32>(usize(ea), u32(e | need), RAM_BASE);
  store<u64>(i * 8, (page & ~off) | (va & off), IO_PA);
  store<u32>(i * 4, 0, IO_FAULT);
  return inc;
}

function legacyLoopPae(cpu: usize, n: u32): u32 {
  return legacyLoop(cpu, n, true, false);
}

function legacyLoop32(cpu: usize, n: u32): u32 {
  return legacyLoop(cpu, n, false, false);
}

// a batch of reads: the kind a constant
function legacyLoopPaeR(cpu: usize, n: u32): u32 {
  return legacyLoop(cpu, n, true, true);
}

function legacyLoop32R(cpu: usize, n: u32): u32 {
  return legacyLoop(cpu, n, false, true);
}

/** The PAE or 32-bit batch loop (valid kinds; TLB and PSCs off): fast walks, the exact walk behind them. */
@inline function legacyLoop(cpu: usize, n: u32, pae: bool, reads: bool): u32 {
  const ram = ramSize;
  const amd = vendorAmd;
  const lo = rsvdHiPae | ((acCx & CX_NXE) != 0 ? 0 : E_XD) | E_P;
  const root = acCr3 & 0xFFFF_F000;
  const pse = (load<u64>(cpu + C_CR4) & CR4_PSE) != 0;
  let acc: u64 = 0; // leafInPlace's counter word: entries read, #PFs
  let exact: u32 = 0; // addresses the exact walk took (it counts its own walks)
  let exactFaults: u32 = 0;
  for (let i: usize = 0; i < usize(n); i++) {
    const kind = reads ? 0 : batchKind(i);
    const va = load<u64>(i * 8, IO_VA) & 0xFFFF_FFFF;
    const inc = pae ? paeInPlace(cpu, i, kind, va, lo, ram, amd) : w32InPlace(i, kind, va, root, pse, ram, amd);
    acc += inc;
    if (inc != 0) continue;
    exact++;
    exactFaults += store2(i, pae ? walkPae(cpu, va, kind, false, false) : walk32(cpu, va, kind, false, false));
  }
  // pageFault's effects for the fast walks' faults: CR2 (the last faulting linear address, in
  // batch order: the exact walks set theirs as they went) and the count
  const fastFaults = u32(acc >> 24) & 0xF_FFFF;
  if (fastFaults != 0) {
    for (let i = usize(n); i > 0; i--) {
      if ((load<u32>((i - 1) * 4, IO_FAULT) >> 16) == VEC_PF) {
        store<u64>(cpu + C_CR2, load<u64>((i - 1) * 8, IO_VA) & 0xFFFF_FFFF);
        break;
      }
    }
  }
  bump(cpu, C_ST_FAULTS, fastFaults);
  addWalkCounts(n - exact, u32(acc) & 0xFF_FFFF);
  return fastFaults + exactFaults;
}

/** Index of the first invalid access kind (> 2) of the last batch, or -1. */
let badKind: i32 = -1;

export function batchBadKind(): i32 {
  return badKind;
}

/** IO_KIND[i]; an invalid kind is remembered and read as 0 so the batch stays well-defined. */
@inline function checkedKind(i: usize): u32 {
  const k = u32(load<u8>(i, IO_KIND));
  if (k <= 2) return k;
  if (badKind < 0) badKind = i32(i);
  return 0;
}

/** IO_KIND[i] in a batch whose kinds batchKinds found valid. */
@inline function batchKind(i: usize): u32 {
  return u32(load<u8>(i, IO_KIND));
}

const KINDS_BAD: u32 = 0; // a kind above 2
const KINDS_MIXED: u32 = 1;
const KINDS_READS: u32 = 2; // all reads

/**
 * IO_KIND[0..n): KINDS_BAD, KINDS_READS or KINDS_MIXED. Eight kinds at a time: bit 7 of each
 * byte of ((k & 0x7F) + 0x7D) | k is set iff that byte is above 2 (no carries between bytes).
 */
function batchKinds(n: u32): u32 {
  let any: u64 = 0;
  let bad: u64 = 0;
  let i: usize = 0;
  for (; i + 8 <= usize(n); i += 8) {
    const k = load<u64>(i, IO_KIND);
    any |= k;
    bad |= ((k & 0x7F7F_7F7F_7F7F_7F7F) + 0x7D7D_7D7D_7D7D_7D7D) | k;
  }
  bad &= 0x8080_8080_8080_8080;
  for (; i < usize(n); i++) {
    const k = load<u8>(i, IO_KIND);
    any |= k;
    bad |= u64(k > 2);
  }
  return bad != 0 ? KINDS_BAD : any == 0 ? KINDS_READS : KINDS_MIXED;
}

@inline function store2(i: usize, r: u64): u32 {
  if ((r & FAULT_BIT) != 0) {
    store<u64>(i * 8, 0, IO_PA);
    store<u32>(i * 4, u32(r), IO_FAULT);
    return 1;
  }
  store<u64>(i * 8, r & PA_MASK, IO_PA);
  store<u32>(i * 4, 0, IO_FAULT);
  return 0;
}
