/**
 * Random 2D (guest + EPT/NPT) page tables for the nested differential tests
 * (test/nested-differential.test.ts, test/nested-tlb.test.ts).
 */
import fc from 'fast-check';
import type { Machine, PagingMode } from '../../src/index.js';
import { SparseMemory, type HostConfig, type RefConfig, type RefCpuState } from '../../src/reference/index.js';
import { prng, Rand } from './random-paging.js';

export const RAM = 4 << 20;
const HOST_POOL = 0x100000n; // host tables: 64 pages
const GUEST_BASE = 0x200000n; // GPA g (< 2 MiB) lives at HPA GUEST_BASE + perm(g)
const GUEST_POOL_PAGES = 24; // guest tables in GPA pages 1..24
const P = 1n,
  RW = 2n,
  US = 4n,
  PS = 0x80n,
  XD = 1n << 63n;

export interface NCase {
  mode: PagingMode;
  host: 'ept4' | 'ept5' | 'npt4' | 'npt5';
  vendor: 'intel' | 'amd';
  m: number;
  ad: boolean;
  xo: boolean;
  /** EPT mode-based execute control (ignored under NPT). */
  mbec?: boolean;
  wp: boolean;
  pse: boolean;
  smep: boolean;
  smap: boolean;
  nxe: boolean;
  pke: boolean;
  seed: number;
}

export interface Built {
  mem: SparseMemory;
  guest: RefCpuState;
  host: HostConfig;
  cfg: RefConfig;
  vas: bigint[];
}

export function build(c: NCase): Built {
  const r = new Rand(prng(c.seed));
  const mem = new SparseMemory(RAM);
  const cfg: RefConfig = { vendor: c.vendor, maxPhysAddrBits: c.m, pse36: true, pdpe1gb: true, ramBytes: RAM };
  const ept = c.host.startsWith('ept');
  const hostLevels = c.host.endsWith('5') ? 5 : 4;
  // A random permutation of the 512 guest pages of the first 2 MiB inside HPA 2..4 MiB.
  const perm = Array.from({ length: 512 }, (_, i) => i);
  for (let i = 511; i > 0; i--) {
    const j = r.int(i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const hpaOf = (gpa: bigint): bigint => GUEST_BASE + (BigInt(perm[Number(gpa >> 12n)]!) << 12n) + (gpa & 0xfffn);
  // host entries
  const hostFlags = (level: number, leaf: boolean): bigint => {
    let e: bigint;
    if (ept) {
      e = r.chance(leaf ? 0.75 : 0.93) ? 7n : r.pick([3n, 1n, 5n, 4n, 0n, 2n, 6n]);
      if (leaf) e |= (r.chance(0.9) ? 6n : BigInt(r.int(8))) << 3n;
      else if (r.chance(0.03)) e |= BigInt(1 + r.int(31)) << 3n;
      if (r.chance(0.4)) e |= 1n << 8n;
      if (leaf && r.chance(0.4)) e |= 1n << 9n;
      if (c.mbec && r.chance(e & 7n ? 0.9 : 0.5)) e |= 1n << 10n; // drawn only with MBEC: other cases keep their tables
    } else {
      e =
        (r.chance(0.97) ? P : 0n) |
        (r.chance(0.93) ? RW : 0n) |
        (r.chance(0.95) ? US : 0n) |
        (r.chance(0.06) ? XD : 0n) |
        (r.chance(0.4) ? 0x20n : 0n) |
        (leaf && r.chance(0.4) ? 0x40n : 0n);
      if (level >= 4 && r.chance(0.02)) e |= 0x100n;
    }
    if (c.m < 52 && r.chance(0.02)) e |= 1n << BigInt(c.m + r.int(52 - c.m));
    return e;
  };
  // The host chain for GPAs 0..2 MiB: top → ... → PD entry 0 (a PT, or sometimes a 2 MiB page).
  let page = HOST_POOL;
  const newTable = (): bigint => {
    const t = page;
    page += 0x1000n;
    return t;
  };
  const top = newTable();
  let table = top;
  for (let level = hostLevels; level >= 2; level--) {
    if (level === 2 && r.chance(0.15)) {
      // a 2 MiB host page: GPA g → HPA 2 MiB + g (the permutation does not apply)
      mem.write64(table, GUEST_BASE | PS | hostFlags(2, true));
      for (let i = 0; i < 512; i++) perm[i] = i;
      break;
    }
    const next = newTable();
    mem.write64(table, next | hostFlags(level, false));
    if (r.chance(0.2)) mem.write64(table + 8n * BigInt(1 + r.int(511)), newTable() | hostFlags(level, false)); // an empty branch
    table = next;
    if (level === 2)
      for (let g = 0n; g < 512n; g++) if (r.chance(0.97)) mem.write64(table + g * 8n, (GUEST_BASE + (BigInt(perm[Number(g)]!) << 12n)) | hostFlags(1, true));
  }
  const host: HostConfig = ept
    ? { kind: 'ept', eptp: top | (BigInt(hostLevels - 1) << 3n) | 6n | (c.ad ? 0x40n : 0n), executeOnly: c.xo, mbec: c.mbec === true }
    : { kind: 'npt', ncr3: top, levels: hostLevels as 4 | 5 };
  // guest tables: random entries in GPA pages 1..GUEST_POOL_PAGES
  const wide = c.mode !== '32bit';
  const gptr = (): bigint =>
    r.chance(0.9) ? BigInt(1 + r.int(GUEST_POOL_PAGES)) << 12n : r.chance(0.5) ? BigInt(r.int(512)) << 12n : r.bits(Math.min(c.m, 40)) & ~0xfffn;
  const guestEntry = (level: number): bigint => {
    let e = (r.chance(0.92) ? P : 0n) | (r.chance(0.85) ? RW : 0n) | (r.chance(0.85) ? US : 0n) | (r.chance(0.5) ? 0x20n : 0n) | (r.chance(0.3) ? 0x40n : 0n);
    const canLarge = wide ? level === 2 || (level === 3 && c.mode !== 'pae') : level === 2;
    if (canLarge && r.chance(0.2)) {
      e |= PS;
      if (wide) e |= level === 3 ? 0n : r.chance(0.9) ? 0n : 0x200000n;
      else e |= r.chance(0.3) ? BigInt(r.int(256)) << 13n : 0n;
      return e | (r.chance(0.05) ? 1n << 21n : 0n);
    }
    if (wide) {
      if (r.chance(0.1)) e |= XD;
      if (r.chance(0.2)) e |= BigInt(r.int(16)) << 59n;
      if (c.m < 52 && r.chance(0.02)) e |= 1n << BigInt(c.m + r.int(52 - c.m));
      if (level >= 4 && r.chance(0.02)) e |= PS;
    }
    return e | gptr();
  };
  const written = new Set<bigint>();
  const b64 = (gpa: bigint): bigint => mem.read64(hpaOf(gpa));
  const writeGuest = (gpa: bigint, v: bigint): void => {
    written.add(gpa);
    const hpa = hpaOf(gpa);
    if (wide) mem.write64(hpa, v);
    else mem.write32(hpa, Number(v & 0xffff_ffffn));
  };
  const entrySize = wide ? 8 : 4;
  for (let p = 1; p <= GUEST_POOL_PAGES; p++) {
    for (let i = 0; i < 6; i++) {
      const idx = r.pick([0, 1, 2, 511, r.int(512), r.int(4096 / entrySize)]) % (4096 / entrySize);
      const level = 1 + r.int(wide ? 5 : 2);
      writeGuest(BigInt(p) * 0x1000n + BigInt(idx * entrySize), guestEntry(level));
    }
  }
  // guest registers
  const cr3 = BigInt(1 + r.int(GUEST_POOL_PAGES)) << 12n;
  const CR0 = (1n << 31n) | 1n | (c.wp ? 1n << 16n : 0n);
  const cr4 =
    (c.pse ? 0x10n : 0n) |
    (c.smep ? 1n << 20n : 0n) |
    (c.smap ? 1n << 21n : 0n) |
    (c.mode === 'pae' || c.mode === '4level' || c.mode === '5level' ? 0x20n : 0n) |
    (c.mode === '5level' ? 1n << 12n : 0n) |
    (c.pke && (c.mode === '4level' || c.mode === '5level') ? 1n << 22n : 0n);
  const long = c.mode === '4level' || c.mode === '5level';
  const efer = (long ? (1n << 8n) | (1n << 10n) : 0n) | (c.nxe ? 1n << 11n : 0n);
  const guest: RefCpuState = { cr0: c.mode === 'none' ? 1n : CR0, cr3, cr4, efer, pkru: c.pke ? BigInt(r.int(2 ** 32)) : 0n, pkrs: 0n };
  if (c.mode === 'pae') guest.pdptes = Array.from({ length: 4 }, () => (r.chance(0.9) ? P | gptr() : 0n));
  // addresses: guided to be mapped at every level often
  const vas: bigint[] = [];
  for (let i = 0; i < 6; i++) {
    let va = 0n;
    const levels = c.mode === '5level' ? 5 : c.mode === '4level' ? 4 : 0;
    if (levels) for (let l = 1; l <= levels; l++) va |= BigInt(r.pick([0, 1, 2, 511, r.int(512)])) << BigInt(12 + 9 * (l - 1));
    else va = BigInt(r.int(2 ** 32));
    if (c.mode === '32bit') va = (BigInt(r.pick([0, 1, 2, 1023, r.int(1024)])) << 22n) | (BigInt(r.pick([0, 1, 2, 1023, r.int(1024)])) << 12n);
    if (c.mode === 'none') va = BigInt(r.int(512)) << 12n;
    va |= BigInt(r.int(4096));
    const width = c.mode === '5level' ? 57n : 48n;
    if (levels && va & (1n << (width - 1n))) va |= ((1n << 64n) - 1n) ^ ((1n << width) - 1n);
    if (levels && r.chance(0.03)) va ^= 1n << 60n;
    vas.push(va);
    // guided fill: the entries this address uses, where nothing was written yet
    let table = c.mode === 'pae' ? guest.pdptes![Number((va >> 30n) & 3n)]! & ~0xfffn : cr3;
    const topLevel = c.mode === '5level' ? 5 : c.mode === '4level' ? 4 : 2;
    for (let level = c.mode === 'none' ? 0 : topLevel; level >= 1; level--) {
      if (table === 0n || table > BigInt(GUEST_POOL_PAGES) << 12n) break;
      const idx = wide ? (va >> BigInt(12 + 9 * (level - 1))) & 0x1ffn : (va >> (level === 2 ? 22n : 12n)) & 0x3ffn;
      const gpa = table + idx * BigInt(entrySize);
      if (!written.has(gpa)) writeGuest(gpa, guestEntry(level));
      const v = wide ? b64(gpa) : BigInt(mem.read32(hpaOf(gpa)) >>> 0);
      if (!(v & P) || level === 1 || (v & PS && level <= 3)) break;
      table = wide ? v & 0xf_ffff_ffff_f000n : v & 0xffff_f000n;
    }
  }
  return { mem, guest, host, cfg, vas };
}

export function loadMemory(m: Machine, mem: SparseMemory): void {
  for (const pfn of mem.touchedFrames()) m.phys.writeBytes(BigInt(pfn) << 12n, mem.frameBytes(pfn));
}

export const caseArb: fc.Arbitrary<NCase> = fc.record({
  mode: fc.constantFrom<PagingMode>('none', '32bit', 'pae', '4level', '5level'),
  host: fc.constantFrom<NCase['host']>('ept4', 'ept5', 'npt4', 'npt5'),
  vendor: fc.constantFrom<NCase['vendor']>('intel', 'amd'),
  m: fc.constantFrom(36, 46, 48),
  ad: fc.boolean(),
  xo: fc.boolean(),
  mbec: fc.boolean(),
  wp: fc.boolean(),
  pse: fc.boolean(),
  smep: fc.boolean(),
  smap: fc.boolean(),
  nxe: fc.boolean(),
  pke: fc.boolean(),
  seed: fc.integer({ min: 0, max: 0xffff_ffff }),
});
