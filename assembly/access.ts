// Translating accesses: TLB fast path, TLB slow path, walk, fill (SDM 4.10.2).
import {
  IO_VA, IO_KIND, IO_PA, IO_FAULT, C_FLAGS, C_TLB, C_LAST_N, C_ST_TLBHITS, C_ST_TLBMISSES, C_ST_FAULTS,
  TLB_ENTRY, T_PA, T_PERMS, PERM_D, F_TLB, F_PSC, MODE_NONE, MODE_PAE, MODE_5L, FAULT_BIT, PA_MASK,
  R_CLASS_SHIFT, R_PERMS_SHIFT,
} from './layout';
import { staleRewalk } from './state';
import { beginAccess, acMode, acCx, acPkrU, acPkrS, acCtx, acCr3, isLongMode } from './context';
import { permFault, accessErrorBits } from './perms';
import { tlbFind, tlbFill, tlbSetFastTags, classShift } from './caches';
import { walkLong, walkPae, walk32, pageFault, GP_RESULT, flushWalkCounts, addWalkCounts, fastWalkLong, FRAME_MASK, SLOW } from './walk';
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
  for (let c: u32 = 0; c < 3; c++) {
    const e = tlbFind(cpu, c, va, mode);
    if (e == 0) continue;
    const perms = load<u32>(e, T_PERMS);
    const f = permFault(perms, kind, acCx, acPkrU, acPkrS);
    if (f == 0 && (kind != 1 || (perms & PERM_D) != 0)) {
      tlbSetFastTags(e);
      bump(cpu, C_ST_TLBHITS, 1);
      const mask = (u64(1) << classShift(c, mode)) - 1;
      return load<u64>(e, T_PA) | (va & mask);
    }
    // Denied by a possibly stale entry: Intel faults from it, AMD re-walks (docs "TLB").
    if (f != 0 && !staleRewalk) return pageFault(va, accessErrorBits(kind, acCx) | f);
    memory.fill(e, 0, TLB_ENTRY);
    break;
  }
  bump(cpu, C_ST_TLBMISSES, 1);
  const r = walkAny(cpu, va, kind, pscOn, record);
  if ((r & FAULT_BIT) == 0) {
    const c = u32(r >> R_CLASS_SHIFT) & 3;
    tlbFill(cpu, c, va, mode, r & PA_MASK & ~((u64(1) << classShift(c, mode)) - 1), u32(r >> R_PERMS_SHIFT) & 0x1FF);
  }
  return r;
}

/** Canonical check / 32-bit truncation. Returns va to use, or sets `gp`. */
let gp: bool = false;
@inline function linear(va: u64, mode: u32): u64 {
  gp = false;
  if (isLongMode(mode)) {
    const s: u64 = mode == MODE_5L ? 7 : 16;
    if ((i64(va << s) >> s) != i64(va)) gp = true;
    return va;
  }
  return va & 0xFFFF_FFFF;
}

/** One access (the API's cpu.access): records the entries read for sanitizers. */
export function accessOne(cpu: usize, va: u64, kind: u32, flags: u32): u64 {
  beginAccess(cpu, flags);
  store<u32>(cpu + C_LAST_N, 0);
  const mode = acMode;
  va = linear(va, mode);
  if (gp) {
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
  if (isLongMode(mode) && !tlbOn) {
    faults = walkBatchLong(cpu, n, mode == MODE_5L ? 5 : 4, pscOn);
  } else if (tlbOn) {
    const d = cpu + C_TLB;
    const base = usize(load<u32>(d));
    const setMask = load<u32>(d, 4);
    const ways = usize(load<u32>(d, 8));
    const ctx = u64(acCtx);
    let hits: u64 = 0;
    for (let i: usize = 0; i < usize(n); i++) {
      let va = load<u64>(IO_VA + i * 8);
      const kind = checkedKind(i);
      va = linear(va, mode);
      let r: u64;
      if (gp) r = GP_RESULT;
      else {
        const vpn = (va >> 12) & 0x1FF_FFFF_FFFF;
        const tag = (vpn << 8) | ctx;
        let e = base + usize(u32(vpn) & setMask) * ways * TLB_ENTRY + usize(kind) * 8;
        r = FAULT_BIT;
        for (let w: usize = 0; w < ways; w++, e += TLB_ENTRY) {
          if (load<u64>(e) == tag) {
            r = load<u64>(e - usize(kind) * 8, T_PA) | (va & 0xFFF);
            break;
          }
        }
        if (r == FAULT_BIT) r = missPath(cpu, va, kind, pscOn, false);
        else hits++;
      }
      faults += store2(i, r);
    }
    bump(cpu, C_ST_TLBHITS, hits);
  } else {
    for (let i: usize = 0; i < usize(n); i++) {
      let va = linear(load<u64>(IO_VA + i * 8), mode);
      const kind = checkedKind(i);
      const r = gp ? GP_RESULT : mode == MODE_NONE ? va : walkAny(cpu, va, kind, pscOn, false);
      faults += store2(i, r);
    }
  }
  flushWalkCounts(cpu);
  return faults;
}

/**
 * The pure-walk batch loop (TLB off) for IA-32e modes. It is instantiated with the level count
 * and the paging-structure-cache switch as constants, so that each instance is one small hot
 * loop with no dead paths left to crowd the register allocator (measured: 2x on V8).
 */
function walkBatchLong(cpu: usize, n: u32, levels: u32, pscOn: bool): u32 {
  if (levels == 5) return pscOn ? walkLoop(cpu, n, 5, true) : walkLoop(cpu, n, 5, false);
  return pscOn ? walkLoop(cpu, n, 4, true) : walkLoop(cpu, n, 4, false);
}

@inline function walkLoop(cpu: usize, n: u32, levels: u32, pscOn: bool): u32 {
  const s: u64 = levels == 5 ? 7 : 16;
  const cx = acCx;
  const pkrU = acPkrU;
  const pkrS = acPkrS;
  const root = acCr3 & FRAME_MASK;
  const ram = ramSize;
  let faults: u32 = 0;
  let fastWalks: u32 = 0;
  let fastRefs: u32 = 0;
  for (let i: usize = 0; i < usize(n); i++) {
    const va = load<u64>(IO_VA + i * 8);
    const kind = checkedKind(i);
    let r: u64;
    if ((i64(va << s) >> s) != i64(va)) r = GP_RESULT;
    else {
      // Without PSCs the common case takes the fast path; the full walk handles the rest.
      r = pscOn ? SLOW : fastWalkLong(va, kind, levels, root, cx, pkrU, pkrS, ram);
      if (r == SLOW) r = walkLong(cpu, va, kind, levels, pscOn, false, cx, pkrU, pkrS);
      else {
        fastWalks++;
        fastRefs += levels - (u32(r >> R_CLASS_SHIFT) & 3);
      }
    }
    faults += store2(i, r);
  }
  addWalkCounts(fastWalks, fastRefs);
  return faults;
}

/** Index of the first invalid access kind (> 2) of the last batch, or -1. */
let badKind: i32 = -1;

export function batchBadKind(): i32 {
  return badKind;
}

/** IO_KIND[i]; an invalid kind is remembered and read as 0 so the batch stays well-defined. */
@inline function checkedKind(i: usize): u32 {
  const k = u32(load<u8>(IO_KIND + i));
  if (k <= 2) return k;
  if (badKind < 0) badKind = i32(i);
  return 0;
}

@inline function store2(i: usize, r: u64): u32 {
  if ((r & FAULT_BIT) != 0) {
    store<u64>(IO_PA + i * 8, 0);
    store<u32>(IO_FAULT + i * 4, u32(r));
    return 1;
  }
  store<u64>(IO_PA + i * 8, r & PA_MASK);
  store<u32>(IO_FAULT + i * 4, 0);
  return 0;
}
