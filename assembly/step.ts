// A walk that reads one paging-structure entry per call, so that the orchestrator can let other
// CPUs write between two levels, and so that `explain` can show every decision. It follows the
// same rules as walk.ts (shared: permFault, accessErrorBits, reserved masks) but never uses the
// TLB or the paging-structure caches: every level is read from memory.
import {
  C_STEP, C_PDPTE, C_CR4, C_FLAGS, F_TLB, MODE_NONE, MODE_32, MODE_PAE, MODE_5L,
  PERM_RW, PERM_US, PERM_D, PERM_G, PERM_KEY_SHIFT, PF_P, PF_RSVD, VEC_PF, FAULT_BIT,
  E_A, E_D, E_PS, E_G, E_XD, CX_NXE, CX_PGE,
} from './layout';
import { vendorAmd, rsvdHi, rsvdHiPae, rsvd4M, physRead64, physRead32, physOr64, physOr32 } from './state';
import { beginAccess, acMode, acCx, acPkrU, acPkrS, acCr3, CR4_PSE, isLongMode } from './context';
import { permFault, accessErrorBits } from './perms';
import { tlbFill } from './caches';
import { pageFault, GP_RESULT, tableRsvd } from './walk';

// state (offsets from C_STEP)
const S_VA: usize = 0;
const S_TABLE: usize = 8;
const S_RESULT: usize = 16;
const S_KIND: usize = 24;
const S_FLAGS: usize = 28;
const S_LEVEL: usize = 32;
const S_PERMS: usize = 36;
const S_DONE: usize = 40;
const S_DRY: usize = 44;
const S_NPEND: usize = 48;
const S_PEND: usize = 56; // u64[6]
// record of the last step (offsets from C_STEP)
const R_LEVEL: usize = 112;
const R_INDEX: usize = 116;
const R_EA: usize = 120;
const R_VALUE: usize = 128;
const R_AFTER: usize = 136;
const R_DECISION: usize = 144;
const R_SHIFT: usize = 148;

export const D_NEXT: u32 = 0;
export const D_LEAF: u32 = 1;
export const D_NOT_PRESENT: u32 = 2;
export const D_RESERVED: u32 = 3;
export const D_DENIED: u32 = 4;

/**
 * Starts a stepping walk. Returns 0 when steps follow, else the final result (#GP, or the
 * identity translation without paging), also available from stepResult().
 */
export function stepBegin(cpu: usize, va: u64, kind: u32, flags: u32, dry: bool): u64 {
  beginAccess(cpu, flags);
  const s = cpu + C_STEP;
  const mode = acMode;
  store<u32>(s + S_KIND, kind);
  store<u32>(s + S_FLAGS, flags);
  store<u32>(s + S_DRY, dry ? 1 : 0);
  store<u32>(s + S_NPEND, 0);
  store<u32>(s + S_PERMS, PERM_RW | PERM_US);
  store<u32>(s + S_DONE, 0);
  if (isLongMode(mode)) {
    const sh: u64 = mode == MODE_5L ? 7 : 16;
    if ((i64(va << sh) >> sh) != i64(va)) return finish(s, GP_RESULT);
    store<u32>(s + S_LEVEL, mode == MODE_5L ? 5 : 4);
    store<u64>(s + S_TABLE, acCr3 & 0x000F_FFFF_FFFF_F000);
  } else {
    va &= 0xFFFF_FFFF;
    if (mode == MODE_NONE) {
      store<u64>(s + S_VA, va);
      return finish(s, va);
    }
    store<u32>(s + S_LEVEL, mode == MODE_PAE ? 3 : 2);
    store<u64>(s + S_TABLE, mode == MODE_PAE ? acCr3 & 0xFFFF_FFE0 : acCr3 & 0xFFFF_F000);
  }
  store<u64>(s + S_VA, va);
  return 0;
}

function finish(s: usize, r: u64): u64 {
  store<u64>(s + S_RESULT, r);
  store<u32>(s + S_DONE, 1);
  return r == 0 ? 0x4000_0000_0000_0000 : r; // 0 would read as "steps follow"
}

export function stepResult(cpu: usize): u64 {
  return load<u64>(cpu + C_STEP + S_RESULT);
}

/** Reads and decides one level. Returns 1 when the walk is finished (see stepResult), else 0. */
export function stepNext(cpu: usize): u32 {
  const s = cpu + C_STEP;
  if (load<u32>(s + S_DONE) != 0) return 1;
  beginAccess(cpu, load<u32>(s + S_FLAGS));
  const mode = acMode;
  const va = load<u64>(s + S_VA);
  const kind = load<u32>(s + S_KIND);
  const level = load<u32>(s + S_LEVEL);
  const table = load<u64>(s + S_TABLE);
  const dry = load<u32>(s + S_DRY) != 0;
  const errBits = accessErrorBits(kind, acCx);
  const is32 = mode == MODE_32;
  const shift: u32 = is32 ? (level == 2 ? 22 : 12) : 3 + 9 * level;
  const index: u64 = is32 ? (va >> shift) & 1023 : mode == MODE_PAE && level == 3 ? (va >> 30) & 3 : (va >> shift) & 511;
  const ea = table + index * (is32 ? 4 : 8);
  const pdpteReg = mode == MODE_PAE && level == 3;
  const e: u64 = pdpteReg ? load<u64>(cpu + C_PDPTE + usize(index) * 8) : is32 ? u64(physRead32(ea)) : physRead64(ea);
  store<u32>(s + R_LEVEL, level);
  store<u32>(s + R_INDEX, u32(index));
  store<u64>(s + R_EA, ea);
  store<u64>(s + R_VALUE, e);
  store<u64>(s + R_AFTER, e);
  store<u32>(s + R_SHIFT, shift);
  if ((e & 1) == 0) return fault(s, va, errBits, D_NOT_PRESENT, dry);
  if (pdpteReg) {
    // PDPTE registers were checked at load and carry no rights.
    store<u32>(s + R_DECISION, D_NEXT);
    store<u64>(s + S_TABLE, e & 0x000F_FFFF_FFFF_F000);
    store<u32>(s + S_LEVEL, 2);
    return 0;
  }
  const pse = !is32 || (load<u64>(cpu + C_CR4) & CR4_PSE) != 0;
  const ps = (e & E_PS) != 0 && level >= 2 && level <= 3 && pse;
  if ((e & reservedBits(mode, level, ps)) != 0) return fault(s, va, errBits | PF_P | PF_RSVD, D_RESERVED, dry);
  let perms = load<u32>(s + S_PERMS);
  perms &= (u32(e >> 1) & 3) | 0xFFFF_FFFC;
  if ((acCx & CX_NXE) != 0) perms |= u32(e >> 61) & 4;
  if (level == 1 || ps) {
    if (!is32) perms |= (u32(e >> 59) & 15) << PERM_KEY_SHIFT;
    const f = permFault(perms, kind, acCx, acPkrU, acPkrS);
    if (f != 0) return fault(s, va, errBits | f, D_DENIED, dry);
    if (!dry) {
      const n = load<u32>(s + S_NPEND);
      for (let i: u32 = 0; i < n; i++) setA(mode, load<u64>(s + S_PEND + usize(i) * 8), E_A);
      const set: u64 = kind == 1 ? E_A | E_D : E_A;
      if ((e & set) != set) setA(mode, ea, set);
      store<u64>(s + R_AFTER, is32 ? u64(physRead32(ea)) : physRead64(ea));
    }
    store<u32>(s + R_DECISION, D_LEAF);
    store<u32>(s + S_PERMS, perms); // the leaf's folded rights (probeRights)
    const page: u64 = is32 && level == 2 ? (e & 0xFFC0_0000) | (((e >> 13) & 0xFF) << 32) : is32 ? e & 0xFFFF_F000 : e & 0x000F_FFFF_FFFF_F000;
    const mask = (u64(1) << shift) - 1;
    const pa = (page & ~mask) | (va & mask);
    if (!dry && (load<u32>(cpu + C_FLAGS) & F_TLB) != 0) {
      const p = perms | (kind == 1 || (e & E_D) != 0 ? PERM_D : 0) | ((e & E_G) != 0 && (acCx & CX_PGE) != 0 ? PERM_G : 0);
      tlbFill(cpu, level == 1 ? 0 : level == 2 ? 1 : 2, va, mode, pa & ~mask, p, false, 0);
    }
    finish(s, pa);
    return 1;
  }
  if ((e & E_A) == 0 && !dry) {
    if (vendorAmd) {
      const n = load<u32>(s + S_NPEND);
      store<u64>(s + S_PEND + usize(n) * 8, ea);
      store<u32>(s + S_NPEND, n + 1);
    } else {
      setA(mode, ea, E_A);
      store<u64>(s + R_AFTER, is32 ? u64(physRead32(ea)) : physRead64(ea));
    }
  }
  store<u32>(s + R_DECISION, D_NEXT);
  store<u32>(s + S_PERMS, perms);
  store<u64>(s + S_TABLE, is32 ? e & 0xFFFF_F000 : e & 0x000F_FFFF_FFFF_F000);
  store<u32>(s + S_LEVEL, level - 1);
  return 0;
}

/** Reserved bits of entry e at `level` in `mode` (docs/paging-semantics.md table). */
function reservedBits(mode: u32, level: u32, ps: bool): u64 {
  if (mode == MODE_32) return ps ? u64(rsvd4M) : 0;
  const base = (mode == MODE_PAE ? rsvdHiPae : rsvdHi) | ((acCx & CX_NXE) != 0 ? 0 : E_XD);
  return tableRsvd(level, ps, base, vendorAmd);
}

@inline function setA(mode: u32, ea: u64, bits: u64): void {
  if (mode == MODE_32) physOr32(ea, u32(bits));
  else physOr64(ea, bits);
}

function fault(s: usize, va: u64, code: u32, decision: u32, dry: bool): u32 {
  store<u32>(s + R_DECISION, decision);
  finish(s, dry ? FAULT_BIT | (u64(VEC_PF) << 16) | u64(code) : pageFault(va, code));
  return 1;
}

/**
 * A whole dry-run walk in one call (stepBegin, then stepNext until it is decided): the result as
 * stepResult() gives it. For checks that compare translations often (`Cpu.probe`).
 */
export function probeWalk(cpu: usize, va: u64, kind: u32, flags: u32): u64 {
  if (stepBegin(cpu, va, kind, flags, true) == 0) while (stepNext(cpu) != 1);
  return stepResult(cpu);
}

/**
 * The rights a successful walk folded down to its leaf (PERM_RW, PERM_US, PERM_XD and the key, as a
 * TLB fill from it would cache them, before D and G): with permFault, the verdict of the other
 * access kinds' walks of the same address in the same context.
 */
export function probeRights(cpu: usize): u32 {
  return load<u32>(cpu + C_STEP + S_PERMS);
}

/** Record of the last step: level, index, entry address, value, value after, decision, shift. */
export function stepRecordAddr(cpu: usize): usize {
  return cpu + C_STEP + R_LEVEL;
}

