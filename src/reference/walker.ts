/**
 * The reference page walker: plain TypeScript with BigInt, written from Intel SDM vol. 3 ch. 4 and
 * docs/paging-semantics.md, independent of the WASM walker in `assembly/`. No TLB and no
 * paging-structure caches: every access walks memory.
 */
import type { AccessOptions, PagingMode } from '../core/types.js';
import {
  CR4_PSE,
  EFER_NXE,
  MASK32,
  MASK64,
  PFEC_ID,
  PFEC_P,
  PFEC_PK,
  PFEC_RSVD,
  PFEC_U,
  PFEC_W,
  physAddrMask,
  PTE_A,
  PTE_D,
  PTE_P,
  PTE_RW,
  PTE_US,
  PTE_XD,
  CR4_SMEP,
} from './bits.js';
import { isLeafEntry, leafPageSize, leafPhysAddress, nextTableAddress, reservedBitsSet, type EntryContext } from './entry.js';
import { pdptBase } from './pdpte.js';
import { checkRights, isUserAccess, type WalkRights } from './rights.js';
import { referenceMode } from './mode.js';
import type { RefAccessResult, RefConfig, RefCpuState, RefMemory, RefStep } from './types.js';

const LEVEL_NAMES: Record<number, RefStep['name']> = { 5: 'PML5E', 4: 'PML4E', 3: 'PDPTE', 2: 'PDE', 1: 'PTE' };

/** A paging-structure entry the walk used, for the accessed/dirty updates. */
interface UsedEntry {
  address: bigint;
  register: boolean;
}

/** State of one walk in progress. */
interface Walk {
  ctx: EntryContext;
  mem: RefMemory;
  cpu: RefCpuState;
  opts: AccessOptions;
  lin: bigint;
  steps: RefStep[];
  used: UsedEntry[];
}

/** Top level and entry width of each mode. */
function topLevel(mode: Exclude<PagingMode, 'none'>): number {
  return mode === '5level' ? 5 : mode === '4level' ? 4 : mode === 'pae' ? 3 : 2;
}

/** Index of the entry for `lin` at `level` (SDM Figures 4-2, 4-5, 4-8, 4-9). */
function entryIndex(mode: PagingMode, level: number, lin: bigint): bigint {
  if (mode === '32bit') return (lin >> (level === 2 ? 22n : 12n)) & 0x3ffn;
  if (mode === 'pae' && level === 3) return (lin >> 30n) & 3n;
  return (lin >> BigInt(12 + 9 * (level - 1))) & 0x1ffn;
}

/** Root table address from CR3 (32-bit: bits 31:12; IA-32e: bits (M−1):12). */
function rootTable(ctx: EntryContext, cr3: bigint): bigint {
  return ctx.mode === '32bit' ? cr3 & 0xffff_f000n : cr3 & physAddrMask(ctx.maxPhysAddrBits);
}

/** Sets `bits` in the entry at `address` by a read-modify-write of the whole entry (4 or 8 bytes). */
function setEntryBits(w: Walk, address: bigint, bits: bigint): void {
  if (w.mem.orBits) {
    w.mem.orBits(address, bits, w.ctx.mode === '32bit' ? 4 : 8);
  } else if (w.ctx.mode === '32bit') {
    const cur = w.mem.read32(address);
    w.mem.write32(address, (cur | Number(bits)) >>> 0);
  } else {
    w.mem.write64(address, w.mem.read64(address) | bits);
  }
}

/** Reads the entry at `address` (4 bytes in 32-bit paging, 8 otherwise). */
function readEntry(w: Walk, address: bigint): bigint {
  return w.ctx.mode === '32bit' ? BigInt(w.mem.read32(address) >>> 0) : w.mem.read64(address) & MASK64;
}

/** The #PF error code for this access with the given cause bits (SDM 4.7). */
function errorCode(w: Walk, cause: number): number {
  let code = cause;
  if (w.opts.kind === 'write') code |= PFEC_W;
  if (isUserAccess(w.opts)) code |= PFEC_U;
  const nxeCounts = w.ctx.nxe && w.ctx.mode !== '32bit';
  if (w.opts.kind === 'exec' && ((w.cpu.cr4 & CR4_SMEP) !== 0n || nxeCounts)) code |= PFEC_ID;
  return code;
}

function pageFault(w: Walk, cause: number): RefAccessResult {
  return { ok: false, vector: 14, errorCode: errorCode(w, cause), cr2: w.lin, mode: w.ctx.mode, steps: w.steps, pageSize: 0, linear: w.lin };
}

/** Canonical check (SDM 3.3.7.1): bits 63:47 (63:56 with LA57) equal bit 47 (56). */
export function isCanonical(va: bigint, mode: PagingMode): boolean {
  if (mode !== '4level' && mode !== '5level') return true;
  const width = mode === '5level' ? 57n : 48n;
  const top = (va & MASK64) >> (width - 1n);
  return top === 0n || top === (1n << (65n - width)) - 1n;
}

/**
 * Accessed/dirty updates after a successful walk. Intel: the non-leaf entries already got A during
 * the walk; the leaf gets A (and D for writes). AMD: every entry used gets A top to bottom, then
 * the leaf gets D (docs/paging-semantics.md "Accessed and dirty bits"). PAE PDPTEs have no A bit.
 */
function commitAccessed(w: Walk, leaf: UsedEntry): void {
  const dirty = w.opts.kind === 'write' ? PTE_D : 0n;
  if (w.ctx.vendor === 'amd') {
    for (const e of w.used) if (!e.register) setEntryBits(w, e.address, PTE_A);
  }
  setEntryBits(w, leaf.address, PTE_A | dirty);
}

/**
 * Performs one access through the paging structures, exactly as docs/paging-semantics.md says:
 * canonical check, the walk (present, reserved bits, rights accumulation), the leaf check,
 * the A/D updates. Returns the architectural result plus the steps walked.
 */
export function referenceAccess(mem: RefMemory, cpu: RefCpuState, va: bigint, opts: AccessOptions, cfg: RefConfig): RefAccessResult {
  const mode = referenceMode(cpu);
  const va64 = va & MASK64;
  const lin = mode === '4level' || mode === '5level' ? va64 : va64 & MASK32;
  if (mode === 'none') return { ok: true, pa: lin, mode, steps: [], pageSize: 0, linear: lin };
  if (!isCanonical(va64, mode)) return { ok: false, vector: 13, mode, steps: [], pageSize: 0, linear: lin };
  const ctx: EntryContext = {
    mode,
    vendor: cfg.vendor,
    maxPhysAddrBits: cfg.maxPhysAddrBits,
    pse36: cfg.pse36,
    pdpe1gb: cfg.pdpe1gb,
    nxe: (cpu.efer & EFER_NXE) !== 0n,
    pse: (cpu.cr4 & CR4_PSE) !== 0n,
  };
  const w: Walk = { ctx, mem, cpu, opts, lin, steps: [], used: [] };
  const rights: WalkRights = { rw: true, us: true, xd: false, pkey: 0 };
  let table = mode === 'pae' ? pdptBase(cpu.cr3) : rootTable(ctx, cpu.cr3);
  const entrySize = mode === '32bit' ? 4n : 8n;
  for (let level = topLevel(mode); level >= 1; level--) {
    const register = mode === 'pae' && level === 3;
    const index = entryIndex(mode, level, lin);
    const address = table + index * entrySize;
    let value: bigint;
    if (register) {
      if (!cpu.pdptes || cpu.pdptes.length !== 4) throw new Error('reference: PAE paging needs the 4 PDPTE registers (referenceLoadPdptes)');
      value = cpu.pdptes[Number(index)]!;
    } else {
      value = readEntry(w, address);
    }
    const step: RefStep = { level, name: LEVEL_NAMES[level]!, entryAddress: address, value, decision: 'next', register };
    w.steps.push(step);
    if (!(value & PTE_P)) {
      step.decision = 'not-present';
      return pageFault(w, 0);
    }
    const leaf = !register && isLeafEntry(ctx, level, value);
    if (!register && reservedBitsSet(ctx, level, value, leaf)) {
      step.decision = 'reserved';
      return pageFault(w, PFEC_P | PFEC_RSVD);
    }
    if (!register) {
      rights.rw &&= (value & PTE_RW) !== 0n;
      rights.us &&= (value & PTE_US) !== 0n;
      if (ctx.nxe && mode !== '32bit' && value & PTE_XD) rights.xd = true;
    }
    const used: UsedEntry = { address, register };
    if (leaf) {
      step.decision = 'leaf';
      if (mode === '4level' || mode === '5level') rights.pkey = Number((value >> 59n) & 0xfn);
      const decision = checkRights(mode, cpu, rights, opts);
      if (decision !== 'ok') return pageFault(w, PFEC_P | (decision === 'pk' ? PFEC_PK : 0));
      commitAccessed(w, used);
      const pa = leafPhysAddress(ctx, level, value, lin);
      return { ok: true, pa, mode, steps: w.steps, pageSize: leafPageSize(ctx, level), linear: lin };
    }
    // Intel: a non-leaf entry gets A once it has passed the present and reserved checks.
    if (cfg.vendor === 'intel' && !register) setEntryBits(w, address, PTE_A);
    w.used.push(used);
    table = nextTableAddress(ctx, value);
  }
  throw new Error('reference: unreachable — level 1 is always a leaf');
}
