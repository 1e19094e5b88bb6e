/**
 * Random page tables and control registers for the differential tests (WASM core vs the reference
 * walker). Deterministic: everything derives from a 32-bit seed through the project PRNG (src/util/prng.ts).
 *
 * Tables are built in a {@link SparseMemory} by following the walks of a few chosen linear
 * addresses, so that walks go deep; every table pointer picks a page of a small pool, so shared
 * tables and loops (an entry pointing back to a table above it) arise naturally.
 */
import type { AccessOptions, PagingMode, Vendor } from '../../src/core/types.js';
import { SparseMemory } from '../../src/reference/index.js';

export const RAM_BYTES = 1 << 20;
/** Page-table pool: 8 pages at 0x10000..0x17fff. */
export const POOL_BASE = 0x10000;
export const POOL_PAGES = 8;
/** A page of RAM that is never written: reads as zero (not present). */
export const ZERO_PAGE = 0x80000;

const P = 1n,
  RW = 2n,
  US = 4n,
  PS = 0x80n;

/** Seeded uniform floats (the project's PRNG). */
export { uniformSource as prng } from '../../src/util/prng.js';
import { uniformSource as prng } from '../../src/util/prng.js';

/** Random helpers on top of a PRNG. */
export class Rand {
  constructor(readonly next: () => number) {}
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bits(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i += 30) v |= BigInt(this.int(1 << Math.min(30, n - i))) << BigInt(i);
    return v;
  }
}

/** The random choices of one case, other than table contents (which come from `seed`). */
export interface PagingCase {
  mode: PagingMode;
  vendor: Vendor;
  maxPhysAddrBits: number;
  /** pse36 and pdpe1gb both on, or both off. */
  features: boolean;
  wp: boolean;
  pse: boolean;
  pge: boolean;
  smep: boolean;
  smap: boolean;
  pke: boolean;
  pks: boolean;
  nxe: boolean;
  pcide: boolean;
  pkru: number;
  pkrs: number;
  /** Fewer not-present entries, reserved bits and XD: more walks succeed (and fill TLBs). */
  friendly: boolean;
  seed: number;
}

export interface BuiltCase {
  mem: SparseMemory;
  vas: bigint[];
  regs: { cr0: bigint; cr3: bigint; cr4: bigint; efer: bigint; pkru: bigint; pkrs: bigint };
  /** PCID to load after CR4.PCIDE is set (IA-32e with pcide only). */
  pcid: number;
  /** Non-zero entries written, for failure messages. */
  entries: Array<[bigint, bigint]>;
}

const TOP: Record<PagingMode, number> = { none: 0, '32bit': 2, pae: 3, '4level': 4, '5level': 5 };

function poolPage(r: Rand): bigint {
  return BigInt(POOL_BASE + 0x1000 * r.int(POOL_PAGES));
}

/** A table pointer: mostly a pool page; sometimes zeroed RAM, past RAM, or far away. */
function tablePointer(r: Rand, m: number, wide: boolean, k = 1): bigint {
  const x = r.next();
  if (x < 1 - 0.2 * k) return poolPage(r);
  if (k < 1) return r.chance(0.5) ? BigInt(ZERO_PAGE) : BigInt(RAM_BYTES);
  if (x < 0.87) return BigInt(ZERO_PAGE);
  if (x < 0.94) return BigInt(RAM_BYTES + 0x1000 * r.int(16));
  if (!wide) return 0xffff_f000n;
  return r.chance(0.5) ? (1n << BigInt(m)) - 0x1000n : r.bits(m) & ~0xfffn;
}

/** A page frame address for a leaf of `size` bytes, sometimes with a stray low bit (reserved for large pages). */
function frameAddress(r: Rand, m: number, size: bigint, k = 1): bigint {
  const x = r.next();
  let a = x < 0.5 ? BigInt(r.int(RAM_BYTES)) : x < 0.8 ? r.bits(m) : poolPage(r);
  a &= ~(size - 1n);
  if (size > 0x1000n && r.chance(0.06 * k)) a |= 1n << BigInt(12 + 1 + r.int(Number(size).toString(2).length - 14));
  return a;
}

/** Random 64-bit entry for PAE/IA-32e levels; `level` 5..1. */
function entry64(r: Rand, c: PagingCase, level: number): bigint {
  const m = c.maxPhysAddrBits;
  const k = c.friendly ? 0.25 : 1; // scales the probability of faulting features
  let e = 0n;
  if (r.chance(1 - 0.1 * k)) e |= P;
  if (r.chance(1 - 0.25 * k)) e |= RW;
  if (r.chance(1 - 0.3 * k)) e |= US;
  e |= r.bits(3) << 3n; // PWT PCD A
  if (r.chance(0.3)) e |= 0x40n; // D
  if (r.chance(level >= 4 ? 0.08 * k : 0.3)) e |= 0x100n; // G (AMD: reserved in PML4E/PML5E)
  e |= r.bits(3) << 9n;
  const canBeLarge = c.mode === 'pae' ? level === 2 : level === 2 || level === 3;
  let large = false;
  if (canBeLarge && r.chance(0.25)) {
    e |= PS;
    large = true;
  } else if (level >= 4 && r.chance(0.03 * k)) e |= PS;
  else if (level === 1 && r.chance(0.2)) e |= PS; // PAT
  if (r.chance(0.12 * k)) e |= 1n << 63n;
  if (c.mode === 'pae') {
    if (r.chance(0.03 * k)) e |= 1n << BigInt(52 + r.int(11));
  } else if (r.chance(0.5)) e |= r.bits(11) << 52n;
  if (m < 52 && r.chance(0.03 * k)) e |= 1n << BigInt(m + r.int(52 - m));
  if (large || level === 1) e |= frameAddress(r, m, large ? (level === 3 ? 1n << 30n : 1n << 21n) : 0x1000n, k);
  else e |= tablePointer(r, m, true, k);
  return e;
}

/** Random PAE PDPTE: rarely with reserved bits (2:1, 8:5, 63:M). */
function pdpte(r: Rand, c: PagingCase): bigint {
  const k = c.friendly ? 0.25 : 1;
  let e = r.chance(1 - 0.1 * k) ? P : 0n;
  e |= (r.bits(2) << 3n) | (r.bits(3) << 9n);
  if (r.chance(0.02)) e |= r.pick([2n, 4n, 0x20n, 0x40n, 0x80n, 0x100n, 1n << 63n]);
  if (c.maxPhysAddrBits < 52 && r.chance(0.01)) e |= 1n << BigInt(c.maxPhysAddrBits + r.int(52 - c.maxPhysAddrBits));
  return e | tablePointer(r, c.maxPhysAddrBits, true, k);
}

/** Random 32-bit paging entry. */
function entry32(r: Rand, level: number, k: number): bigint {
  let e = 0;
  if (r.chance(1 - 0.1 * k)) e |= 1;
  if (r.chance(1 - 0.25 * k)) e |= 2;
  if (r.chance(1 - 0.3 * k)) e |= 4;
  e |= r.int(8) << 3; // PWT PCD A
  if (r.chance(0.3)) e |= 0x40;
  if (r.chance(0.3)) e |= 0x100;
  e |= r.int(8) << 9;
  let v = BigInt(e >>> 0);
  if (level === 2 && r.chance(0.3)) {
    v |= PS | (BigInt(r.int(1024)) << 22n) | (r.chance(0.3) ? 0x1000n : 0n);
    if (r.chance(0.5)) v |= BigInt(r.int(256)) << 13n;
    if (r.chance(0.05 * k)) v |= 1n << 21n;
    return v;
  }
  if (level === 1) return v | (r.chance(0.2) ? PS : 0n) | (BigInt(r.int(1 << 20)) << 12n);
  return v | tablePointer(r, 32, false, k);
}

/** Index bits per level of a random linear address, biased to a few values so tables are shared. */
function indexFor(r: Rand, bits: number): bigint {
  const max = (1 << bits) - 1;
  return BigInt(r.pick([0, 1, 2, max, max >> 1, r.int(max + 1), r.int(max + 1)]));
}

/** A random linear address for the mode (sometimes non-canonical in IA-32e, with high junk in 32-bit modes). */
function randomVa(r: Rand, mode: PagingMode): bigint {
  const off = BigInt(r.int(4096));
  if (mode === '32bit') return (indexFor(r, 10) << 22n) | (indexFor(r, 10) << 12n) | off | (r.chance(0.1) ? r.bits(32) << 32n : 0n);
  if (mode === 'pae' || mode === 'none') {
    return (BigInt(r.int(4)) << 30n) | (indexFor(r, 9) << 21n) | (indexFor(r, 9) << 12n) | off | (r.chance(0.1) ? r.bits(32) << 32n : 0n);
  }
  const levels = mode === '5level' ? 5 : 4;
  let va = off;
  for (let l = 1; l <= levels; l++) va |= indexFor(r, 9) << BigInt(12 + 9 * (l - 1));
  const width = BigInt(12 + 9 * levels);
  if (va & (1n << (width - 1n))) va |= ((1n << 64n) - 1n) ^ ((1n << width) - 1n);
  if (r.chance(0.05)) va ^= 1n << BigInt(Number(width) + r.int(64 - Number(width)));
  return va;
}

/** Index of the entry for `va` at `level` in `mode` (for the generator's guided fill). */
function indexAt(mode: PagingMode, level: number, va: bigint): bigint {
  if (mode === '32bit') return (va >> (level === 2 ? 22n : 12n)) & 0x3ffn;
  if (mode === 'pae' && level === 3) return (va >> 30n) & 3n;
  return (va >> BigInt(12 + 9 * (level - 1))) & 0x1ffn;
}

/** Builds the tables, addresses and registers of one case. */
export function buildCase(c: PagingCase, nVas = 4): BuiltCase {
  const r = new Rand(prng(c.seed));
  const mem = new SparseMemory(RAM_BYTES);
  const written = new Set<bigint>();
  const entries: Array<[bigint, bigint]> = [];
  const is32 = c.mode === '32bit';
  const put = (addr: bigint, v: bigint): void => {
    written.add(addr);
    if (v === 0n) return;
    entries.push([addr, v]);
    if (is32) mem.write32(addr, Number(v));
    else mem.write64(addr, v);
  };
  const root = BigInt(POOL_BASE);
  const pdpt = root + BigInt(32 * r.int(128));
  if (c.mode === 'pae') for (let i = 0n; i < 4n; i++) put(pdpt + i * 8n, pdpte(r, c));
  const vas: bigint[] = [];
  for (let i = 0; i < nVas; i++) {
    const va = randomVa(r, c.mode);
    vas.push(va);
    let table = c.mode === 'pae' ? pdpt : root;
    for (let level = TOP[c.mode]; level >= 1; level--) {
      const addr = table + indexAt(c.mode, level, va) * (is32 ? 4n : 8n);
      if (!written.has(addr)) put(addr, is32 ? entry32(r, level, c.friendly ? 0.25 : 1) : c.mode === 'pae' && level === 3 ? pdpte(r, c) : entry64(r, c, level));
      const v = is32 ? BigInt(mem.read32(addr)) : mem.read64(addr);
      if (!(v & P) || level === 1 || (v & PS && level <= 3)) break;
      table = is32 ? v & 0xffff_f000n : v & 0xf_ffff_ffff_f000n;
      if (table < BigInt(POOL_BASE) || table >= BigInt(POOL_BASE + POOL_PAGES * 0x1000)) break;
    }
  }
  return { mem, vas, regs: registersFor(c, r, pdpt), pcid: c.mode === '4level' || c.mode === '5level' ? r.int(4096) : 0, entries };
}

/** Control registers of the case (CR4.PCIDE is applied separately, after paging is on). */
function registersFor(c: PagingCase, r: Rand, pdpt: bigint): BuiltCase['regs'] {
  const ia32e = c.mode === '4level' || c.mode === '5level';
  const cr0 = 1n | (c.mode === 'none' ? 0n : 1n << 31n) | (c.wp ? 1n << 16n : 0n);
  let cr4 = 0n;
  if (c.pse) cr4 |= 1n << 4n;
  if (c.mode === 'pae' || ia32e) cr4 |= 1n << 5n;
  if (c.pge) cr4 |= 1n << 7n;
  if (c.mode === '5level') cr4 |= 1n << 12n;
  if (c.smep) cr4 |= 1n << 20n;
  if (c.smap) cr4 |= 1n << 21n;
  if (c.pke) cr4 |= 1n << 22n;
  if (c.pks) cr4 |= 1n << 24n;
  const efer = (ia32e ? 1n << 8n : 0n) | (c.nxe ? 1n << 11n : 0n);
  const cr3 = c.mode === 'pae' ? pdpt | (r.chance(0.2) ? BigInt(r.int(32)) : 0n) : BigInt(POOL_BASE);
  return { cr0, cr3, cr4, efer, pkru: BigInt(c.pkru >>> 0), pkrs: BigInt(c.pkrs >>> 0) };
}

/** One access of a case. */
export interface CaseAccess {
  vaIndex: number;
  kind: 0 | 1 | 2;
  cpl: 0 | 1 | 2 | 3;
  ac: boolean;
  implicit: boolean;
}

export function accessOptions(a: CaseAccess): AccessOptions {
  return { kind: (['read', 'write', 'exec'] as const)[a.kind], cpl: a.cpl, ac: a.ac, implicit: a.implicit };
}

export const hex = (v: bigint): string => '0x' + v.toString(16);

/** A short human-readable description of a case, for failure messages. */
export function describeCase(c: PagingCase, b: BuiltCase): string {
  const regs = Object.entries(b.regs)
    .map(([k, v]) => `${k}=${hex(v)}`)
    .join(' ');
  const ents = b.entries.map(([a, v]) => `  [${hex(a)}] = ${hex(v)}`).join('\n');
  return `mode=${c.mode} vendor=${c.vendor} M=${c.maxPhysAddrBits} pse36/pdpe1gb=${c.features} friendly=${c.friendly} pcid=${b.pcid} pcide=${c.pcide}\n${regs}\nvas: ${b.vas.map(hex).join(' ')}\nentries:\n${ents}`;
}
