// Translating accesses: TLB fast path, TLB slow path, walk, fill (SDM 4.10.2).
import {
  IO_VA, IO_KIND, IO_PA, IO_FAULT, C_FLAGS, C_LAST_N, C_ST_TLBHITS, C_ST_TLBMISSES, C_ST_FAULTS,
  T_PA, T_PERMS, PERM_D, F_TLB, F_PSC, MODE_NONE, MODE_PAE, MODE_5L, FAULT_BIT, PA_MASK,
  R_CLASS_SHIFT, R_PERMS_SHIFT, MODE_4L, C_RSVD_UP, C_RSVD_LO, C_RSVD_1G, CX_AMD, C_CR2, C_FRONT,
} from './layout';
import { staleRewalk } from './state';
import { beginAccess, acMode, acCx, acPkrU, acPkrS, acCtx, acCr3, isLongMode } from './context';
import { permFault, accessErrorBits } from './perms';
import { tlbFind, tlbFindOrVictim, fillVictim, tlbFill, frontFill, tlbDrop, classShift, frontSlot } from './caches';
import { walkLong, walkPae, walk32, pageFault, GP_RESULT, flushWalkCounts, addWalkCounts, fastWalk, FRAME_MASK, SLOW } from './walk';
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

/** The linear address a mode uses: IA-32e addresses as they are, others truncated to 32 bits. */
@inline function linear(va: u64, mode: u32): u64 {
  return isLongMode(mode) ? va : va & 0xFFFF_FFFF;
}

/** A linear address that raises #GP: not canonical in IA-32e mode (SDM 3.3.7.1). */
@inline function nonCanonical(va: u64, mode: u32): bool {
  const s: u64 = mode == MODE_5L ? 7 : 16;
  return isLongMode(mode) && (i64(va << s) >> s) != i64(va);
}

/** One access (the API's cpu.access): records the entries read for sanitizers. */
export function accessOne(cpu: usize, va: u64, kind: u32, flags: u32): u64 {
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
  if (isLongMode(mode) && !tlbOn) {
    faults = walkBatchLong(cpu, n, mode == MODE_5L ? 5 : 4, pscOn);
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
  if (mode == MODE_5L) return tlbLoop(cpu, n, MODE_5L, pscOn);
  return mode == MODE_4L ? tlbLoop(cpu, n, MODE_4L, pscOn) : tlbLoop(cpu, n, MODE_PAE, pscOn);
}

@inline function tlbLoop(cpu: usize, n: u32, mode: u32, pscOn: bool): u32 {
  const front = usize(load<u32>(cpu + C_FRONT));
  const ctx = u64(acCtx);
  let hits: u64 = 0;
  let gps: u32 = 0;
  let faults: u32 = 0;
  for (let i: usize = 0; i < usize(n); i++) {
    const va = linear(load<u64>(i * 8, IO_VA), mode);
    const kind = checkedKind(i);
    if (nonCanonical(va, mode)) {
      gps++;
      faults += store2(i, GP_RESULT);
      continue;
    }
    const vpn = (va >> 12) & 0x1FF_FFFF_FFFF;
    const tag = (vpn << 8) | ctx;
    const fp = frontSlot(front, kind, vpn);
    if (load<u64>(fp) == tag) {
      store<u64>(i * 8, load<u64>(fp, 8) | (va & 0xFFF), IO_PA);
      store<u32>(i * 4, 0, IO_FAULT);
      hits++;
      continue;
    }
    faults += store2(i, missPath(cpu, va, kind, pscOn, false));
  }
  bump(cpu, C_ST_TLBHITS, hits);
  bump(cpu, C_ST_FAULTS, gps);
  return faults;
}

/**
 * The pure-walk batch loops (TLB off) for IA-32e modes, instantiated with the level count and
 * the PSC switch as constants. Without PSCs and protection keys every walk first takes fastWalk;
 * the exact walk (out of line) decides the rest.
 */
function walkBatchLong(cpu: usize, n: u32, levels: u32, pscOn: bool): u32 {
  if (!pscOn && acPkrU == 0 && acPkrS == 0) return levels == 5 ? fastLoop(cpu, n, 5) : fastLoop(cpu, n, 4);
  return levels == 5 ? exactLoop(cpu, n, 5, pscOn) : exactLoop(cpu, n, 4, pscOn);
}

@inline function fastLoop(cpu: usize, n: u32, levels: u32): u32 {
  const s: u64 = levels == 5 ? 7 : 16;
  const root = acCr3 & FRAME_MASK;
  const ram = ramSize;
  const up = load<u64>(cpu + C_RSVD_UP);
  const lo = load<u64>(cpu + C_RSVD_LO);
  const big1g = load<u64>(cpu + C_RSVD_1G);
  const amd = (acCx & CX_AMD) != 0;
  let faults: u32 = 0;
  let walks: u32 = 0;
  let refs: u32 = 0;
  let fastFaults: u32 = 0;
  let gps: u32 = 0; // #GP results, counted in the statistics as accessOne counts them
  let lastFast: isize = -1; // the last #PF found by fastWalk, and by the exact walk
  let lastExact: isize = -1;
  for (let i: usize = 0; i < usize(n); i++) {
    const va = load<u64>(i * 8, IO_VA);
    const kind = checkedKind(i);
    let r = SLOW;
    if ((i64(va << s) >> s) == i64(va)) r = fastWalk(va, kind, levels, root, up, lo, big1g, ram, amd);
    if (r < FAULT_BIT) {
      walks++;
      refs += levels - u32(r >> R_CLASS_SHIFT); // a walk of class c read levels - c entries
      store<u64>(i * 8, r & PA_MASK, IO_PA);
      store<u32>(i * 4, 0, IO_FAULT);
    } else if (r != SLOW) {
      walks++;
      refs += u32(r >> 32) & 0xFFFF;
      fastFaults++;
      lastFast = isize(i);
      store<u64>(i * 8, 0, IO_PA);
      store<u32>(i * 4, u32(r), IO_FAULT);
    } else {
      r = exactWalk(cpu, va, kind, levels);
      if (r == GP_RESULT) gps++;
      else if ((r & FAULT_BIT) != 0) lastExact = isize(i);
      faults += store2(i, r);
    }
  }
  // pageFault's effects for the fast path's faults (with the caches off: CR2 and the count).
  if (lastFast > lastExact) store<u64>(cpu + C_CR2, load<u64>(IO_VA + usize(lastFast) * 8));
  bump(cpu, C_ST_FAULTS, fastFaults + gps);
  addWalkCounts(walks, refs);
  return faults + fastFaults;
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
