// TLBs (three page-size classes) and paging-structure caches (SDM 4.10.2, 4.10.3).
// Set-associative, FIFO replacement by fill stamp, deterministic. In front of the 4 KiB class, a
// direct-mapped front cache per access kind serves batch hits with one tag compare. It holds
// only what a lookup of the modelled TLB would find and allow in the same context (frontFill,
// after a fill or a hit), and every change to a 4 KiB entry drops its copies (tlbDrop, tlbFill,
// tlbFlush, clearFastTags), so it never changes what hits: the architectural model stays the
// set-associative TLB. A second, smaller front holds 2 MiB and 1 GiB entries the same way (IA-32e;
// tlbDrop drops their copies). Beside each 4 KiB entry a tag byte (tagOf its page number; 0 when the
// entry is invalid), kept in step with every write of the entry's key, lets the miss path rule
// out a hit in the whole set with one 16-byte compare (access.ts quickMiss). Beside each 4 KiB set
// (of up to 15 ways) a word lists its valid ways in fill order (fifoWord), so that the miss path
// finds the FIFO victim without reading the set's stamps.
import {
  C_TLB, C_PSC, C_STAMP, C_RETENTION, C_ST_EVICT, TLB_ENTRY, T_KEY, T_PA, T_PERMS, T_STAMP,
  C_FRONT, FRONT_SETS, FRONT_ENTRY, FRONT_SLOT, FRONT_MAP, LFRONT_SETS, LFRONT, LFRONT_MAP, C_TAGS, C_FIFO, C_FIFO_BAD, MODE_4L, MODE_5L,
  PSC_ENTRY, P_KEY, P_NEXT, P_PERMS, P_STAMP, PERM_G, PERM_D, MODE_32,
  PERM_RW, PERM_US, PERM_XD, PERM_KEY_SHIFT, CX_USER, CX_SMAP, CX_WP, CX_SMEP,
} from './layout';
import { acCtx, acCx, acMode, acPcid, keyRefusals } from './context';

/** Page shift of TLB class c in a paging mode: 4K, 2M (4M in 32-bit mode), 1G. */
@inline export function classShift(c: u32, mode: u32): u32 {
  return c == 0 ? 12 : c == 1 ? (mode == MODE_32 ? 22 : 21) : 30;
}

@inline export function vpnOf(va: u64, shift: u32): u64 {
  return (va >> shift) & ((u64(1) << (57 - shift)) - 1);
}

@inline export function keyOf(prefix: u64, pcid: u32): u64 {
  return (prefix << 13) | (u64(pcid) << 1) | 1;
}

@inline function tlbMatches(e: usize, vpn: u64, pcid: u32, globalOk: bool): bool {
  const k = load<u64>(e, T_KEY);
  if ((k & 1) == 0 || (k >> 13) != vpn) return false;
  // A global entry belongs to every PCID: it matches only when global entries are wanted.
  if ((load<u32>(e, T_PERMS) & PERM_G) != 0) return globalOk;
  return u32((k >> 1) & 0xFFF) == pcid;
}

/** The tag byte of a valid 4 KiB entry for page vpn: 8 bits of a hash of it, never 0. */
@inline export function tagOf(vpn: u64): u32 {
  const h = u32((vpn * 0x9E37_79B9_7F4A_7C15) >> 56);
  return h == 0 ? 1 : h;
}

/** Sets the tag byte of 4 KiB entry e (0: invalid). */
@inline function setTag(cpu: usize, e: usize, t: u32): void {
  store<u8>(usize(load<u32>(cpu + C_TAGS)) + ((e - usize(load<u32>(cpu + C_TLB))) >> 5), u8(t));
}

// ---- the 4 KiB sets' fill order ----
//
// Per 4 KiB set of up to 15 ways, a u64: the set's valid ways, oldest fill first, as 4-bit way
// numbers from bit 0, and their count in bits 63:60. A fill appends its way, a drop removes it
// (the others keep their order), an emptied class clears every word. While stamps only grow
// (every fill takes the next one) this is the order of the ways' stamps, so the head is the way
// tlbFill evicts from a full set: the oldest stamp. The fill counter wraps after 2^32 fills;
// from then on (C_FIFO_BAD) the words are neither kept nor read, until tlbFlush empties the
// 4 KiB class of every PCID and clears them.

/** Address of the fill-order word of the 4 KiB set at index `set`, or 0 (none, or not kept). */
@inline export function fifoWord(cpu: usize, set: usize): usize {
  const f = usize(load<u32>(cpu + C_FIFO));
  return f == 0 || load<u32>(cpu + C_FIFO_BAD) != 0 ? 0 : f + set * 8;
}

/** Appends `way` (the newest fill) to the word at q. */
@inline function fifoAppend(q: usize, way: usize): void {
  const w = load<u64>(q);
  const n = w >> 60;
  store<u64>(q, (w & 0x0FFF_FFFF_FFFF_FFFF) | (u64(way) << (n * 4)) | ((n + 1) << 60));
}

/** A full set's oldest way evicted and refilled: the head moves to the tail (count unchanged: `n`, the set's ways). */
@inline function fifoRotate(q: usize, n: u64): void {
  const w = load<u64>(q);
  store<u64>(q, ((w & 0x0FFF_FFFF_FFFF_FFFF) >> 4) | ((w & 15) << ((n - 1) * 4)) | (n << 60));
}

/** Removes `way` from the word at q (a drop); the ways after it move up one place. */
function fifoRemove(q: usize, way: usize): void {
  const w = load<u64>(q);
  const n = w >> 60;
  for (let j: u64 = 0; j < n; j++) {
    if (((w >> (j * 4)) & 15) != u64(way)) continue;
    const low = w & ((u64(1) << (j * 4)) - 1);
    const high = ((w & 0x0FFF_FFFF_FFFF_FFFF) >> ((j + 1) * 4)) << (j * 4);
    store<u64>(q, low | high | ((n - 1) << 60));
    return;
  }
}

/** The fill-order word of 4 KiB entry e's set (0: not kept); wayOf: the entry's way. */
@inline function fifoOf(cpu: usize, e: usize): usize {
  return fifoWord(cpu, ((e - usize(load<u32>(cpu + C_TLB))) >> 5) / usize(load<u32>(cpu + C_TLB, 8)));
}

@inline function wayOf(cpu: usize, e: usize): usize {
  return ((e - usize(load<u32>(cpu + C_TLB))) >> 5) % usize(load<u32>(cpu + C_TLB, 8));
}

/**
 * Classes 1 and 2 (large pages) keep a flag in their descriptor's pad: set by a fill, cleared when
 * tlbFlush empties the class. A class whose flag is clear holds no entry, so its lookups, the
 * miss path's included, are skipped (4 KiB-only address spaces never scan the large classes).
 */
@inline export function classEmpty(d: usize, c: u32): bool {
  return c != 0 && load<u32>(d, 12) == 0;
}

/** Entry address of a TLB hit for va in class c under the current PCID, or 0. */
export function tlbFind(cpu: usize, c: u32, va: u64, mode: u32): usize {
  return tlbFindIn(cpu, c, va, mode);
}

/** tlbFind inlined (access.ts quickMiss: no call on its path). */
@inline export function tlbFindIn(cpu: usize, c: u32, va: u64, mode: u32): usize {
  const d = cpu + C_TLB + usize(c) * 16;
  const ways = usize(load<u32>(d, 8));
  if (ways == 0 || classEmpty(d, c)) return 0;
  const vpn = vpnOf(va, classShift(c, mode));
  let e = usize(load<u32>(d)) + usize(u32(vpn) & load<u32>(d, 4)) * ways * TLB_ENTRY;
  for (let w: usize = 0; w < ways; w++, e += TLB_ENTRY) {
    if (tlbMatches(e, vpn, acPcid, true)) return e;
  }
  return 0;
}

/**
 * Whether large-page class c's set for va may hold va's page: a valid way with its page number
 * (of any PCID), which tlbFindIn's hit needs. For the usual geometries (8 or 4 ways) one compare
 * per way and no branch; other geometries answer true (tlbFindIn decides).
 */
@inline export function largeMayHit(cpu: usize, c: u32, va: u64, mode: u32): bool {
  const d = cpu + C_TLB + usize(c) * 16;
  if (classEmpty(d, c)) return false;
  const ways = usize(load<u32>(d, 8));
  const vpn = vpnOf(va, classShift(c, mode));
  const want = (vpn << 13) | 1;
  const e = usize(load<u32>(d)) + usize(u32(vpn) & load<u32>(d, 4)) * ways * TLB_ENTRY;
  if (ways == 8) return samePage4(e, want) | samePage4(e + 4 * TLB_ENTRY, want);
  if (ways == 4) return samePage4(e, want);
  return true;
}

/** Whether one of the four ways from entry e is valid with the page of `want` (a key of PCID 0). */
@inline function samePage4(e: usize, want: u64): bool {
  const m = ~u64(0x1FFE); // not the PCID
  const a = ((load<u64>(e, T_KEY) ^ want) & m) == 0;
  const b = ((load<u64>(e, TLB_ENTRY + T_KEY) ^ want) & m) == 0;
  const c = ((load<u64>(e, 2 * TLB_ENTRY + T_KEY) ^ want) & m) == 0;
  const d = ((load<u64>(e, 3 * TLB_ENTRY + T_KEY) ^ want) & m) == 0;
  return a | b | c | d;
}

/**
 * The 4 KiB lookup of the miss path, one pass over the set: the hit (as tlbFind), or 0 with
 * `fillVictim` set to the way tlbFill would pick for this page (first invalid, else oldest
 * stamp). A successful walk does not change the TLB, so the miss path's fill can take it as is.
 */
export let fillVictim: usize = 0;

export function tlbFindOrVictim(cpu: usize, va: u64): usize {
  const d = cpu + C_TLB;
  const ways = usize(load<u32>(d, 8));
  fillVictim = 0;
  if (ways == 0) return 0;
  const vpn = vpnOf(va, 12);
  let e = usize(load<u32>(d)) + usize(u32(vpn) & load<u32>(d, 4)) * ways * TLB_ENTRY;
  let invalid: usize = 0;
  let oldest: usize = 0;
  let oldestStamp: u32 = 0xFFFF_FFFF;
  for (let w: usize = 0; w < ways; w++, e += TLB_ENTRY) {
    if (tlbMatches(e, vpn, acPcid, true)) return e;
    const valid = (load<u64>(e, T_KEY) & 1) != 0;
    const st = valid ? load<u32>(e, T_STAMP) : 0xFFFF_FFFF;
    invalid = invalid == 0 && !valid ? e : invalid;
    const older = st < oldestStamp;
    oldest = older ? e : oldest;
    oldestStamp = older ? st : oldestStamp;
  }
  fillVictim = invalid != 0 ? invalid : oldest;
  return 0;
}

/**
 * Copies 4 KiB entry e (just filled, or just found by a lookup) into the front cache for every
 * access kind it allows in the current context, or a 2 MiB or 1 GiB one (IA-32e) into the
 * large-page front (PAE's 2 MiB and 32-bit paging's 4 MiB entries are not cached in front).
 */
export function frontFill(cpu: usize, c: u32, e: usize): void {
  const front = usize(load<u32>(cpu + C_FRONT));
  if (front == 0) return;
  const vpn = load<u64>(e, T_KEY) >> 13;
  const perms = load<u32>(e, T_PERMS);
  let tag: u64 = 0;
  let p: usize = 0; // the slot's read entry (write and fetch follow)
  if (c == 0) {
    tag = (fastVpn(vpn) << 8) | u64(acCtx);
    frontMark(front, vpn);
    p = frontSlot(front, 0, vpn);
  } else {
    if (acMode != MODE_4L && acMode != MODE_5L) return;
    tag = (largeKey(c, vpn) << 8) | u64(acCtx);
    const w = front + LFRONT_MAP;
    store<u64>(w, load<u64>(w) | (u64(1) << (vpn & 63)));
    p = lfrontSlot(front, 0, vpn);
  }
  const pa = load<u64>(e, T_PA);
  // permFault's verdicts for the three kinds as bit tests, and the stores as selects (whether a
  // kind is allowed is unpredictable: leaves differ in R/W, XD and keys); a write to a clean
  // entry must walk (it sets D)
  const cx = acCx;
  const user = (cx & CX_USER) != 0;
  const us = (perms & PERM_US) != 0;
  const base = !(user && !us);
  const keys = keyRefusals((perms >> PERM_KEY_SHIFT) & 15, us);
  const read = base && !((cx & CX_SMAP) != 0 && us) && (keys & 1) == 0;
  const write = read && !((perms & PERM_RW) == 0 && (user || (cx & CX_WP) != 0)) && (perms & PERM_D) != 0 && (keys & 0x100) == 0;
  const exec = base && (perms & PERM_XD) == 0 && !(!user && (cx & CX_SMEP) != 0 && us);
  frontStore(p, read, tag, pa);
  frontStore(p + FRONT_ENTRY, write, tag, pa);
  frontStore(p + 2 * FRONT_ENTRY, exec, tag, pa);
}

/** Writes front slot p's tag and page base when `ok`, else leaves it as it is (no branch). */
@inline function frontStore(p: usize, ok: bool, tag: u64, pa: u64): void {
  store<u64>(p, ok ? tag : load<u64>(p));
  store<u64>(p, ok ? pa : load<u64>(p, 8), 8);
}

/** Empties TLB entry e of class c (and the front cache's copies of it). */
export function tlbDrop(cpu: usize, c: u32, e: usize): void {
  const k = load<u64>(e, T_KEY);
  if (c == 0) {
    if ((k & 1) != 0) {
      frontDrop(cpu, k >> 13);
      const q = fifoOf(cpu, e);
      if (q != 0) fifoRemove(q, wayOf(cpu, e));
    }
    setTag(cpu, e, 0);
  } else if ((k & 1) != 0) {
    const front = usize(load<u32>(cpu + C_FRONT));
    if (front != 0) frontDropAll(lfrontSlot(front, 0, k >> 13), largeKey(c, k >> 13));
  }
  clearEntry(e);
}

/** Zeroes one 32-byte TLB or PSC entry with plain stores (memory.fill is a call in V8). */
@inline function clearEntry(e: usize): void {
  store<u64>(e, 0);
  store<u64>(e, 0, 8);
  store<u64>(e, 0, 16);
  store<u64>(e, 0, 24);
}

// ---- the front cache ----

/**
 * The page number in a fast tag: va >> 12 with all of the canonical address's bits (63:57 copies
 * of bit 56; vpn holds bits 56:12), so that the batch loop can look a non-canonical address up
 * before checking it: it never matches.
 */
@inline function fastVpn(vpn: u64): u64 {
  return u64(i64(vpn << 19) >> 19) & 0xF_FFFF_FFFF_FFFF;
}

/** Front-cache slot of access kind `kind` for 4 KiB page number vpn (or any number with its low bits). */
@inline export function frontSlot(front: usize, kind: u32, vpn: u64): usize {
  return front + usize(u32(vpn) & (FRONT_SETS - 1)) * FRONT_SLOT + usize(kind) * FRONT_ENTRY;
}

/** Drops the front copies of page vpn's fast tags (every context: dropping more is harmless). */
function frontDrop(cpu: usize, vpn: u64): void {
  const front = usize(load<u32>(cpu + C_FRONT));
  if (front != 0) frontDropIn(front, vpn);
}

@inline function frontDropIn(front: usize, vpn: u64): void {
  frontDropAll(frontSlot(front, 0, vpn), vpn);
}

/** Empties the three kinds' entries of the slot at p whose page number is vpn. */
@inline function frontDropAll(p: usize, vpn: u64): void {
  // unrolled (a loop costs V8 a stack check per iteration)
  const v = vpn << 8;
  frontDropAt(p, v);
  frontDropAt(p + FRONT_ENTRY, v);
  frontDropAt(p + 2 * FRONT_ENTRY, v);
}

/** Empties the front entry at p if its tag's page number is `v` >> 8 (the 45 bits of a vpn). */
@inline function frontDropAt(p: usize, v: u64): void {
  if (((load<u64>(p) ^ v) & 0x1F_FFFF_FFFF_FF00) == 0) store<u64>(p, 0);
}

/** What a large-page front tag holds above its context id: class c's page number (vpnOf(va, 21) or vpnOf(va, 30)) and the class. */
@inline export function largeKey(c: u32, vpn: u64): u64 {
  return (vpn << 1) | u64(c - 1);
}

/** The large-page front's slot of access kind `kind` for a 2 MiB or 1 GiB page number (its low bits index it). */
@inline export function lfrontSlot(front: usize, kind: u32, vpn: u64): usize {
  return front + LFRONT + usize(u32(vpn) & (LFRONT_SETS - 1)) * FRONT_SLOT + usize(kind) * FRONT_ENTRY;
}

/** Marks page vpn's slot as written (frontClear's bitmap); before any store into the slot. */
@inline function frontMark(front: usize, vpn: u64): void {
  const s = u32(vpn) & (FRONT_SETS - 1);
  const w = front + FRONT_MAP + usize(s >> 6) * 8;
  store<u64>(w, load<u64>(w) | (u64(1) << u64(s & 63)));
}

/**
 * Empties the front cache: the fast tags of the slots written since the last clear (its bitmap;
 * a zero tag never matches: context ids start at 1), not all 16 KiB (flushes are frequent in the
 * fuzzer's short executions, and few pages are touched between two).
 */
export function frontClear(cpu: usize): void {
  const front = usize(load<u32>(cpu + C_FRONT));
  if (front == 0) return;
  clearMarked(front + LFRONT_MAP, front + LFRONT);
  for (let j: usize = 0; j < usize(FRONT_SETS) / 64; j++) clearMarked(front + FRONT_MAP + j * 8, front + j * 64 * FRONT_SLOT);
}

/** Empties the slots (from `slots` on) whose bits the bitmap word at w marks, and the word. */
@inline function clearMarked(w: usize, slots: usize): void {
  let m = load<u64>(w);
  if (m == 0) return;
  store<u64>(w, 0);
  while (m != 0) {
    const p = slots + usize(ctz(m)) * FRONT_SLOT;
    m &= m - 1;
    store<u64>(p, 0);
    store<u64>(p, 0, FRONT_ENTRY);
    store<u64>(p, 0, 2 * FRONT_ENTRY);
  }
}

/** Invalidates entries translating va in class c: PCID `pcid`, and global ones when asked. */
export function tlbInvalidateVa(cpu: usize, c: u32, va: u64, mode: u32, pcid: u32, globals: bool): void {
  const d = cpu + C_TLB + usize(c) * 16;
  const ways = usize(load<u32>(d, 8));
  if (ways == 0 || classEmpty(d, c)) return;
  const vpn = vpnOf(va, classShift(c, mode));
  let e = usize(load<u32>(d)) + usize(u32(vpn) & load<u32>(d, 4)) * ways * TLB_ENTRY;
  for (let w: usize = 0; w < ways; w++, e += TLB_ENTRY) {
    if (tlbMatches(e, vpn, pcid, globals)) tlbDrop(cpu, c, e);
  }
}

/**
 * Fills a translation: any entry for the same page in the current PCID is replaced. Victim: the
 * first invalid way (a replaced one counts), else the oldest fill (FIFO); evicting a valid entry
 * is counted when retention is maximal. One pass over the set; `noMatch`: the caller's lookup of
 * this class for va just found nothing, so there is no same-page entry to replace and the pass
 * only picks the victim. `hint`: that victim, already chosen by tlbFindOrVictim (or 0).
 */
export function tlbFill(cpu: usize, c: u32, va: u64, mode: u32, pageBase: u64, perms: u32, noMatch: bool, hint: usize): void {
  const d = cpu + C_TLB + usize(c) * 16;
  const ways = usize(load<u32>(d, 8));
  if (ways == 0) return;
  if (c != 0) store<u32>(d, 1, 12); // classEmpty: the class may hold entries now
  const vpn = vpnOf(va, classShift(c, mode));
  const set = usize(load<u32>(d)) + usize(u32(vpn) & load<u32>(d, 4)) * ways * TLB_ENTRY;
  let invalid: usize = 0;
  let oldest: usize = 0;
  let oldestStamp: u32 = 0xFFFF_FFFF;
  if (hint != 0) {
    if ((load<u64>(hint, T_KEY) & 1) == 0) invalid = hint;
    else oldest = hint;
  } else if (noMatch && (ways == 8 || ways == 4)) {
    // sets of 8 or 4 ways (the large classes' usual geometries) without a loop: the smallest order key (victimKey)
    let o = min(min(victimKey(set, 0), victimKey(set, 1)), min(victimKey(set, 2), victimKey(set, 3)));
    if (ways == 8) o = min(o, min(min(victimKey(set, 4), victimKey(set, 5)), min(victimKey(set, 6), victimKey(set, 7))));
    const e = set + usize(o & 7) * TLB_ENTRY;
    if ((load<u64>(e, T_KEY) & 1) == 0) invalid = e;
    else oldest = e;
  } else if (noMatch) {
    // Branch-free: which way holds the oldest stamp is unpredictable, so selects, not branches.
    for (let w: usize = 0; w < ways; w++) {
      const e = set + w * TLB_ENTRY;
      const valid = (load<u64>(e, T_KEY) & 1) != 0;
      const st = valid ? load<u32>(e, T_STAMP) : 0xFFFF_FFFF;
      invalid = invalid == 0 && !valid ? e : invalid;
      const older = st < oldestStamp;
      oldest = older ? e : oldest;
      oldestStamp = older ? st : oldestStamp;
    }
  } else {
    for (let w: usize = 0; w < ways; w++) {
      const e = set + w * TLB_ENTRY;
      if (tlbMatches(e, vpn, acPcid, true)) {
        tlbDrop(cpu, c, e);
        if (invalid == 0) invalid = e;
      } else if ((load<u64>(e, T_KEY) & 1) == 0) {
        if (invalid == 0) invalid = e;
      } else if (load<u32>(e, T_STAMP) < oldestStamp) {
        oldest = e;
        oldestStamp = load<u32>(e, T_STAMP);
      }
    }
  }
  let victim = invalid;
  if (victim == 0) {
    evicted(cpu);
    victim = oldest;
    tlbDrop(cpu, c, victim);
  }
  store<u64>(victim, keyOf(vpn, acPcid), T_KEY);
  store<u64>(victim, pageBase, T_PA);
  store<u32>(victim, perms, T_PERMS);
  store<u32>(victim, nextStamp(cpu), T_STAMP);
  if (c == 0) {
    setTag(cpu, victim, tagOf(vpn));
    const q = fifoOf(cpu, victim);
    if (q != 0) fifoAppend(q, wayOf(cpu, victim));
  }
  frontFill(cpu, c, victim);
}

/** Way w of the set at `set` as tlbFill's order key: an invalid way its number, a valid one after every invalid one, by (stamp, way). */
@inline function victimKey(set: usize, w: usize): u64 {
  const e = set + w * TLB_ENTRY;
  const valid = (load<u64>(e, T_KEY) & 1) != 0;
  return valid ? (u64(1) << 63) | (u64(load<u32>(e, T_STAMP)) << 3) | u64(w) : u64(w);
}

/**
 * The miss path's 4 KiB fill into the way its lookup chose (`victim`: the first invalid way, else
 * the oldest stamp; `valid` whether it holds an entry): what tlbFill does with a hint after a
 * lookup that found nothing, in one step (the evicted entry's key is overwritten, not cleared
 * first), and frontFill with the verdicts per kind the caller computed (`r`, `w` and `x`: what
 * permFault allows, a write only on a dirty entry). `q` and `way`: the set's fill-order word
 * (0 when not kept) and the victim's way; a valid victim is the word's head. `ways`: the set's.
 * What the caller has at hand: the new entry's key (keyOf), the address of the victim's tag byte
 * and its new value (tagOf), the page's fast tag in the current context (fastVpn).
 */
@inline export function tlbFill4k(cpu: usize, ways: usize, victim: usize, valid: bool, q: usize, way: usize, vpn: u64, key: u64, tagAt: usize, tagByte: u32, tag: u64, pageBase: u64, perms: u32, r: bool, w: bool, x: bool): void {
  const front = usize(load<u32>(cpu + C_FRONT));
  if (valid) {
    evicted(cpu);
    if (front != 0) frontDropIn(front, load<u64>(victim, T_KEY) >> 13);
  }
  // the fill order (q: the set's word, 0 when not kept): the evicted head becomes the newest
  if (q != 0) {
    if (valid) fifoRotate(q, u64(ways)); // a full set: its word lists all of its ways
    else fifoAppend(q, way);
  }
  store<u64>(victim, key, T_KEY);
  store<u64>(victim, pageBase, T_PA);
  store<u32>(victim, perms, T_PERMS);
  store<u32>(victim, nextStamp(cpu), T_STAMP);
  store<u8>(tagAt, u8(tagByte));
  if (front == 0) return;
  frontMark(front, vpn);
  // A kind the entry does not allow empties its slot instead of keeping the copy it held (of
  // another page with the same slot): stores only, no loads. Dropping a copy changes no result
  // or statistic (its access finds the entry in the TLB set, a hit counted the same, and refills).
  const p = frontSlot(front, 0, vpn);
  store<u64>(p, r ? tag : 0);
  store<u64>(p, pageBase, 8);
  store<u64>(p, w ? tag : 0, FRONT_ENTRY);
  store<u64>(p, pageBase, FRONT_ENTRY + 8);
  store<u64>(p, x ? tag : 0, 2 * FRONT_ENTRY);
  store<u64>(p, pageBase, 2 * FRONT_ENTRY + 8);
}

/**
 * PSC replacement: the way holding `key` if any, else the first invalid way, else the oldest
 * fill (FIFO). Evicting a valid entry is counted when retention is maximal.
 */
function chooseVictim(cpu: usize, set: usize, ways: usize, size: usize, keyOff: usize, stampOff: usize, key: u64): usize {
  let invalid: usize = 0;
  let oldest: usize = 0;
  let oldestStamp: u32 = 0xFFFF_FFFF;
  for (let w: usize = 0; w < ways; w++) {
    const e = set + w * size;
    const k = load<u64>(e + keyOff);
    if (key != 0 && k == key) return e;
    if ((k & 1) == 0) {
      if (invalid == 0) invalid = e;
    } else if (load<u32>(e + stampOff) < oldestStamp) {
      oldest = e;
      oldestStamp = load<u32>(e + stampOff);
    }
  }
  if (invalid != 0) return invalid;
  evicted(cpu);
  return oldest;
}

/**
 * chooseVictim for a PSC set of four ways, without a loop or a branch per way: the first way
 * holding `key`, else the first invalid way, else the oldest fill (the smallest (stamp, address)
 * pair: ties go to the first way, as chooseVictim's strict compare has them).
 */
@inline function pscVictim4(cpu: usize, set: usize, key: u64): usize {
  const a = set;
  const b = set + PSC_ENTRY;
  const c = set + 2 * PSC_ENTRY;
  const d = set + 3 * PSC_ENTRY;
  const ka = load<u64>(a, P_KEY);
  const kb = load<u64>(b, P_KEY);
  const kc = load<u64>(c, P_KEY);
  const kd = load<u64>(d, P_KEY);
  // the later ways first, so that the first one wins
  let e: usize = (kd & 1) == 0 ? d : 0;
  e = (kc & 1) == 0 ? c : e;
  e = (kb & 1) == 0 ? b : e;
  e = (ka & 1) == 0 ? a : e;
  e = kd == key ? d : e;
  e = kc == key ? c : e;
  e = kb == key ? b : e;
  e = ka == key ? a : e;
  if (e != 0) return e;
  evicted(cpu);
  return usize(u32(min(min(pscStampWay(a), pscStampWay(b)), min(pscStampWay(c), pscStampWay(d)))));
}

/** PSC entry e as the pair (fill stamp, address): the oldest way has the smallest. */
@inline function pscStampWay(e: usize): u64 {
  return (u64(load<u32>(e, P_STAMP)) << 32) | u64(e);
}

@inline function nextStamp(cpu: usize): u32 {
  const s = load<u32>(cpu + C_STAMP) + 1;
  store<u32>(cpu + C_STAMP, s);
  if (s == 0) store<u32>(cpu + C_FIFO_BAD, 1); // stamps wrapped: the fill-order words no longer hold
  return s;
}

@inline function evicted(cpu: usize): void {
  if (load<u32>(cpu + C_RETENTION) != 0) store<u64>(cpu + C_ST_EVICT, load<u64>(cpu + C_ST_EVICT) + 1);
}

/** Every TLB entry of the CPU: of PCID `pcid` only unless `allPcids`; global ones unless `keepGlobal`. */
export function tlbFlush(cpu: usize, pcid: u32, allPcids: bool, keepGlobal: bool): void {
  frontClear(cpu);
  for (let c: usize = 0; c < 3; c++) {
    const d = cpu + C_TLB + c * 16;
    const base = usize(load<u32>(d));
    const n = usize(load<u32>(d, 4) + 1) * usize(load<u32>(d, 8));
    if (c == 0) {
      tlbFlush4k(cpu, base, n, pcid, allPcids, keepGlobal);
      continue;
    }
    if (classEmpty(d, u32(c))) continue; // no valid entry: every byte is zero already
    if (allPcids && !keepGlobal) {
      memory.fill(base, 0, n * TLB_ENTRY);
      store<u32>(d, 0, 12);
      continue;
    }
    for (let i: usize = 0; i < n; i++) {
      const e = base + i * TLB_ENTRY;
      const k = load<u64>(e, T_KEY);
      if ((k & 1) == 0) continue;
      if (keepGlobal && (load<u32>(e, T_PERMS) & PERM_G) != 0) continue;
      if (allPcids || u32((k >> 1) & 0xFFF) == pcid) clearEntry(e);
    }
  }
}

/**
 * tlbFlush of the 4 KiB class, led by the tag bytes: an invalid entry's tag is 0 and its 32 bytes
 * are zero (every invalidation is clearEntry or a fill with zeros), so eight invalid entries are
 * passed with one 8-byte load instead of a scan (or a fill) of their 256 bytes. Same memory after.
 */
function tlbFlush4k(cpu: usize, base: usize, n: usize, pcid: u32, allPcids: bool, keepGlobal: bool): void {
  const tags = usize(load<u32>(cpu + C_TAGS));
  const fifo = usize(load<u32>(cpu + C_FIFO));
  const ways = usize(load<u32>(cpu + C_TLB, 8));
  const all = allPcids && !keepGlobal; // every entry goes: the fill-order words are cleared below
  let i: usize = 0;
  while (i < n) {
    if (i + 8 <= n && load<u64>(tags + i) == 0) {
      i += 8;
      continue;
    }
    const end = i + 8 <= n ? i + 8 : n;
    for (; i < end; i++) {
      if (load<u8>(tags + i) == 0) continue;
      const e = base + i * TLB_ENTRY;
      if (keepGlobal && (load<u32>(e, T_PERMS) & PERM_G) != 0) continue;
      if (allPcids || u32((load<u64>(e, T_KEY) >> 1) & 0xFFF) == pcid) {
        if (!all) {
          const q = fifoWord(cpu, i / ways);
          if (q != 0) fifoRemove(q, i % ways);
        }
        clearEntry(e);
        store<u8>(tags + i, 0);
      }
    }
  }
  if (all && fifo != 0) {
    memory.fill(fifo, 0, usize(load<u32>(cpu + C_TLB, 4) + 1) * 8);
    store<u32>(cpu + C_FIFO_BAD, 0);
  }
}

// ---- paging-structure caches: level l (2 = PDE .. 5 = PML5E) caches entries of that level ----

/** Shift of the linear address bits a level-`level` paging-structure-cache entry serves (its key's prefix). */
@inline export function pscShift(level: u32, mode: u32): u32 {
  return mode == MODE_32 ? 22 : 12 + 9 * (level - 1);
}

@inline export function pscPrefix(va: u64, level: u32, mode: u32): u64 {
  if (mode == MODE_32) return (va >> 22) & 0x3FF;
  const shift = pscShift(level, mode);
  return (va >> shift) & ((u64(1) << (57 - shift)) - 1);
}

/** On a hit returns the entry address (next table at P_NEXT, rights at P_PERMS), else 0. */
export function pscFind(cpu: usize, level: u32, prefix: u64, pcid: u32): usize {
  const d = cpu + C_PSC + usize(level - 2) * 16;
  const ways = usize(load<u32>(d, 8));
  if (ways == 0) return 0;
  const key = keyOf(prefix, pcid);
  let e = usize(load<u32>(d)) + usize(u32(prefix) & load<u32>(d, 4)) * ways * PSC_ENTRY;
  for (let w: usize = 0; w < ways; w++, e += PSC_ENTRY) {
    if (load<u64>(e, P_KEY) == key) return e;
  }
  return 0;
}

export function pscFill(cpu: usize, level: u32, prefix: u64, pcid: u32, next: u64, perms: u32): void {
  pscFillIn(cpu, level, prefix, pcid, next, perms, usize(load<u32>(cpu + C_PSC + usize(level - 2) * 16, 8)));
}

/** pscFill inlined (access.ts quickMissIn), `ways` the level's (a constant there: no call for four). */
@inline export function pscFillIn(cpu: usize, level: u32, prefix: u64, pcid: u32, next: u64, perms: u32, ways: usize): void {
  const d = cpu + C_PSC + usize(level - 2) * 16;
  if (ways == 0) return;
  const key = keyOf(prefix, pcid);
  const set = usize(load<u32>(d)) + usize(u32(prefix) & load<u32>(d, 4)) * ways * PSC_ENTRY;
  const victim = ways == 4 ? pscVictim4(cpu, set, key) : chooseVictim(cpu, set, ways, PSC_ENTRY, P_KEY, P_STAMP, key);
  store<u64>(victim, key, P_KEY);
  store<u64>(victim, next, P_NEXT);
  store<u32>(victim, perms, P_PERMS);
  store<u32>(victim, nextStamp(cpu), P_STAMP);
}

/** Drops PSC entries of `pcid` (all PCIDs if `allPcids`). */
export function pscFlush(cpu: usize, pcid: u32, allPcids: bool): void {
  for (let l: usize = 0; l < 4; l++) {
    const d = cpu + C_PSC + l * 16;
    const base = usize(load<u32>(d));
    const n = usize(load<u32>(d, 4) + 1) * usize(load<u32>(d, 8));
    if (allPcids) {
      memory.fill(base, 0, n * PSC_ENTRY);
      continue;
    }
    for (let i: usize = 0; i < n; i++) {
      const e = base + i * PSC_ENTRY;
      const k = load<u64>(e, P_KEY);
      if ((k & 1) != 0 && u32((k >> 1) & 0xFFF) == pcid) clearEntry(e);
    }
  }
}

/** Drops the PSC entries of the current PCID that would be used to translate va (#PF). */
export function pscInvalidateVa(cpu: usize, va: u64, mode: u32, pcid: u32): void {
  for (let l: u32 = 2; l <= 5; l++) {
    const e = pscFind(cpu, l, pscPrefix(va, l, mode), pcid);
    if (e != 0) clearEntry(e);
  }
}

/** #PF and INVLPG: TLB entries for the page of va in every class. */
export function tlbInvalidatePage(cpu: usize, va: u64, mode: u32, pcid: u32, globals: bool): void {
  for (let c: u32 = 0; c < 3; c++) tlbInvalidateVa(cpu, c, va, mode, pcid, globals);
}

