/**
 * The walk benchmark matrix (issue 14): `translateBatch` (TLB and paging-structure caches off)
 * against two native C baselines in the same process, over a grid of page tables and accesses:
 *
 *   - page sizes 4 KiB / 2 MiB / 1 GiB, 4- and 5-level paging;
 *   - regions from cache-resident (64 MiB of 4 KiB pages: 128 KiB of leaf tables) to 16 GiB
 *     (32 MiB of leaf tables), addresses random, sequential, or each page once;
 *   - every table at a random frame in 1 GiB of RAM, every leaf at a random frame;
 *   - leaf attribute mixes: execute-disable on 0 / 50 / 100 % of leaves, read-only on
 *     0 / 12 / 100 %, 1/256 supervisor-only, 1/256 not present (what kernels' tables look like),
 *     accessed/dirty bits preset or clear (then the walk must write them);
 *   - accesses: all user reads, or mixed user reads / writes / fetches (60 / 25 / 15 %).
 *
 * Implementations per cell, all over the same guest memory and addresses:
 *   wasm      cpu.translateBatch, TLB and PSC off
 *   c-full    the same-semantics C walker, as fast as C can be (bench/native/walker.c walkBatch)
 *   c-lean    the minimal C walker: P, U/S, R/W, A/D and large pages only (the practical limit)
 *   c-generic the same-semantics C walker without its fast path (information)
 *   c-mlp     the same-semantics C walker interleaving the leaf reads of 16 addresses, as the
 *             core's batch loop does (information: the same technique in C)
 * and, for the TLB cells, the core with its TLB and PSCs on (wasm-tlb; wasm-tlb-inplace: through
 * translateInPlace, without translateBatch's copies; wasm-tlb-access: cpu.access, one call per
 * address, as the fuzzer translates) against a C direct-mapped TLB (c-tlb).
 * Before timing, every implementation translates the cell's first addresses (and the reference
 * walker its first 256): the result hashes must agree (the lean walker's only where its
 * semantics coincide: reads). Cells whose walks write A/D bits restore the tables before every
 * run and compare the leaf entries left in memory, by hash, too.
 */
import { Machine, type Cpu } from '../src/index.js';
import { Prng } from '../src/util/prng.js';
import { referenceAccess, referenceLoadPdptes, type RefConfig, type RefCpuState } from '../src/reference/index.js';
import type { AccessKind } from '../src/core/types.js';
import { hashResults, hex32, newResults, type Results } from './hash.js';
import { loadNativeWalker, NATIVE_CFG, type NativeBatchFn, type NativeWalker } from './native.js';

const KIB = 1024;
const MIB = 2 ** 20;
const GIB = 2 ** 30;
const PAGE_BYTES = { '4k': 4 * KIB, '2m': 2 * MIB, '4m': 4 * MIB, '1g': GIB } as const;
const LEAF_LEVEL = { '4k': 1, '2m': 2, '4m': 2, '1g': 3 } as const;
type PageSize = keyof typeof PAGE_BYTES;

/** Leaf attribute mix: fractions of leaves with each property. */
export interface Attrs {
  xd: number;
  ro: number;
  sup: number;
  np: number;
  /** Leaves with a protection key other than 0 (drawn from 1..15); the others keep key 0. */
  keys: number;
  /** Accessed and dirty bits clear in every entry (tables too) at the start of every run. */
  adClear: boolean;
}

export interface Cell {
  name: string;
  group: 'size' | 'levels' | 'attrs' | 'access' | 'ad' | 'keys' | 'legacy' | 'tlb';
  page: PageSize;
  levels: 4 | 5;
  /** PAE or 32-bit paging instead of IA-32e (`levels` unused): a 1 GiB region at 0x4000_0000. */
  legacy?: 'pae' | '32';
  /** An AMD guest (a second machine): accessed bits set only by walks that succeed. */
  amd?: boolean;
  bytes: number;
  /** random: uniform pages; sequential: page i for address i; each-once: a page permutation. */
  order: 'random' | 'sequential' | 'each-once';
  attrs: Attrs;
  access: 'read' | 'mixed';
  addresses: number;
  /** Restrict addresses to the region's first pages (a hot set). */
  hotPages?: number;
  /** Accesses per page in sequential order (consecutive addresses `pageBytes / perPage` apart). */
  perPage?: number;
  /** TLB cells: the core with TLB and PSCs on against the C direct-mapped TLB. */
  tlb?: boolean;
  /**
   * TLB cells: the layout's root also holds a kernel's direct map in 2 MiB pages (supervisor), and
   * the core with the caches on reads it once in kernel mode before the cell's runs, so that its
   * 2 MiB TLB class holds an entry while the user accesses miss, as under a real kernel.
   */
  directMap?: boolean;
  /** CR4.PKE set and PKRU loaded with this value (protection keys apply to the user pages). */
  pkru?: number;
}

const REAL: Attrs = { xd: 0.5, ro: 1 / 8, sup: 1 / 256, np: 1 / 256, keys: 0, adClear: false };
const CLEAN: Attrs = { xd: 0, ro: 0, sup: 0, np: 0, keys: 0, adClear: false };
/**
 * Linux's PKRU for a process on hardware with protection keys (init_pkru_value: every key but 0
 * access-disabled), and a write-disable variant (every key but 0 write-disabled).
 */
const PKRU_LINUX = 0x5555_5554;
const PKRU_WD = 0xaaaa_aaa8;

function cell(name: string, group: Cell['group'], page: PageSize, bytes: number, o: Partial<Cell> = {}): Cell {
  return { name, group, page, levels: 4, bytes, order: 'random', attrs: REAL, access: 'read', addresses: 1 << 18, ...o };
}

/** The full matrix (`npm run bench -- --only matrix`). */
export function fullCells(): Cell[] {
  return [
    cell('4k 64M rand', 'size', '4k', 64 * MIB, { addresses: 1 << 16 }),
    cell('4k 1G rand', 'size', '4k', GIB),
    cell('4k 1G seq', 'size', '4k', GIB, { order: 'sequential' }),
    cell('4k 16G rand', 'size', '4k', 16 * GIB, { addresses: 1 << 20 }),
    cell('2m 16G rand', 'size', '2m', 16 * GIB),
    cell('1g 512G rand', 'size', '1g', 512 * GIB),
    cell('4k 1G rand 5L', 'levels', '4k', GIB, { levels: 5 }),
    cell('2m 16G rand 5L', 'levels', '2m', 16 * GIB, { levels: 5 }),
    cell('4k 1G mixed', 'access', '4k', GIB, { access: 'mixed' }),
    cell('2m 16G mixed', 'access', '2m', 16 * GIB, { access: 'mixed' }),
    cell('xd0 ro0 clean', 'attrs', '4k', GIB, { access: 'mixed', attrs: CLEAN }),
    cell('xd0 ro12', 'attrs', '4k', GIB, { access: 'mixed', attrs: { ...REAL, xd: 0 } }),
    cell('xd100 ro12', 'attrs', '4k', GIB, { access: 'mixed', attrs: { ...REAL, xd: 1 } }),
    cell('xd50 ro0', 'attrs', '4k', GIB, { access: 'mixed', attrs: { ...REAL, ro: 0 } }),
    cell('xd50 ro100', 'attrs', '4k', GIB, { access: 'mixed', attrs: { ...REAL, ro: 1 } }),
    // PAE and 32-bit paging (XD only in PAE; 4 MiB pages with PSE-36 address bits)
    cell('PAE 4k 1G rand', 'legacy', '4k', GIB, { legacy: 'pae' }),
    cell('PAE 4k 1G mixed', 'legacy', '4k', GIB, { legacy: 'pae', access: 'mixed' }),
    cell('PAE 2m 1G mixed', 'legacy', '2m', GIB, { legacy: 'pae', access: 'mixed' }),
    cell('32-bit 4k 1G rand', 'legacy', '4k', GIB, { legacy: '32' }),
    cell('32-bit 4k 1G mixed', 'legacy', '4k', GIB, { legacy: '32', access: 'mixed' }),
    cell('32-bit 4m 1G mixed', 'legacy', '4m', GIB, { legacy: '32', access: 'mixed' }),
    // protection keys (CR4.PKE): a sixteenth of the leaves with a key other than 0
    cell('keys 4k 1G mixed', 'keys', '4k', GIB, { access: 'mixed', attrs: { ...REAL, keys: 1 / 16 }, pkru: PKRU_LINUX }),
    cell('keys wd 4k 1G mixed', 'keys', '4k', GIB, { access: 'mixed', attrs: { ...REAL, keys: 1 / 16 }, pkru: PKRU_WD }),
    cell('keys 4k 16G rand', 'keys', '4k', 16 * GIB, { attrs: { ...REAL, keys: 1 / 16 }, pkru: PKRU_LINUX, addresses: 1 << 20 }),
    cell('keys 2m 16G mixed', 'keys', '2m', 16 * GIB, { access: 'mixed', attrs: { ...REAL, keys: 1 / 16 }, pkru: PKRU_LINUX }),
    cell('A/D clear read', 'ad', '4k', GIB, { order: 'each-once', attrs: { ...REAL, adClear: true } }),
    cell('A/D clear mixed', 'ad', '4k', GIB, { order: 'each-once', access: 'mixed', attrs: { ...REAL, adClear: true } }),
    // AMD: the accessed bits a walk finds clear are set only if it succeeds
    cell('AMD A/D clear read', 'ad', '4k', GIB, { amd: true, order: 'each-once', attrs: { ...REAL, adClear: true } }),
    cell('AMD A/D clear mixed', 'ad', '4k', GIB, { amd: true, order: 'each-once', access: 'mixed', attrs: { ...REAL, adClear: true } }),
    cell('AMD 4k 1G mixed', 'ad', '4k', GIB, { amd: true, access: 'mixed' }),
    cell('TLB hot 64 pages', 'tlb', '4k', 64 * MIB, { tlb: true, hotPages: 64, access: 'mixed', attrs: CLEAN, addresses: 1 << 16 }),
    cell('TLB 4k seq 64M', 'tlb', '4k', 64 * MIB, { tlb: true, order: 'sequential', perPage: 8, addresses: 1 << 17 }),
    cell('TLB 4k rand 64M', 'tlb', '4k', 64 * MIB, { tlb: true, addresses: 1 << 16 }),
    cell('TLB 4k rand 1G', 'tlb', '4k', GIB, { tlb: true, addresses: 1 << 16 }),
    cell('TLB 4k rand 16G', 'tlb', '4k', 16 * GIB, { tlb: true, addresses: 1 << 16 }),
    cell('TLB 4k rand 1G, direct map', 'tlb', '4k', GIB, { tlb: true, addresses: 1 << 16, directMap: true }),
    cell('TLB 2m hot 64 pages', 'tlb', '2m', 16 * GIB, { tlb: true, hotPages: 64, access: 'mixed', attrs: CLEAN, addresses: 1 << 16 }),
    cell('TLB 2m rand 16G', 'tlb', '2m', 16 * GIB, { tlb: true, addresses: 1 << 16 }),
    cell('TLB 1g hot 16 pages', 'tlb', '1g', 512 * GIB, { tlb: true, hotPages: 16, access: 'mixed', attrs: CLEAN, addresses: 1 << 16 }),
    cell('TLB PAE hot 64 pages', 'tlb', '4k', GIB, { tlb: true, legacy: 'pae', hotPages: 64, access: 'mixed', attrs: CLEAN, addresses: 1 << 16 }),
    cell('TLB PAE 4k rand 1G', 'tlb', '4k', GIB, { tlb: true, legacy: 'pae', addresses: 1 << 16 }),
    cell('TLB 32-bit 4k rand 1G', 'tlb', '4k', GIB, { tlb: true, legacy: '32', addresses: 1 << 16 }),
    cell('TLB hot 64 pages, keys', 'tlb', '4k', 64 * MIB, {
      tlb: true,
      hotPages: 64,
      access: 'mixed',
      attrs: { ...CLEAN, keys: 1 / 16 },
      pkru: PKRU_LINUX,
      addresses: 1 << 16,
    }),
    cell('TLB 4k rand 64M, keys', 'tlb', '4k', 64 * MIB, {
      tlb: true,
      access: 'mixed',
      attrs: { ...REAL, keys: 1 / 16 },
      pkru: PKRU_LINUX,
      addresses: 1 << 16,
    }),
  ];
}

/** A few seconds: the same kinds of cells on small regions (hash agreement, not timing). */
export function quickCells(): Cell[] {
  return fullCells()
    .filter((c) => (!c.name.startsWith('4k 1G seq') && c.group !== 'attrs') || c.name === 'xd100 ro12')
    .map((c) => ({ ...c, bytes: Math.min(c.bytes, c.page === '4k' ? 16 * MIB : c.page === '2m' ? GIB : 64 * GIB), addresses: Math.min(c.addresses, 4096) }));
}

// ---- the guest: tables written straight into guest RAM at random frames ----

const P = 1,
  RW = 2,
  US = 4,
  A = 0x20,
  D = 0x40,
  PS = 0x80;
const XD_HI = 0x8000_0000;
/** A leaf's protection key: bits 62:59, i.e. 30:27 of the high word. */
const KEY_SHIFT_HI = 27;
/** CR0.PE | CR0.WP | CR0.PG; CR4.PAE (| LA57); EFER.LME | EFER.NXE. */
const CR0 = (1n << 0n) | (1n << 16n) | (1n << 31n);
const CR4_PAE = 1n << 5n;
const CR4_LA57 = 1n << 12n;
const CR4_PKE = 1n << 22n;
const EFER = (1n << 8n) | (1n << 11n);
/** Region bases: PML4 slot 32 (4-level); PML5 slot 3 (5-level). */
const BASE_4L = 32n << 39n;
const BASE_5L = 3n << 48n;
/** PAE and 32-bit regions: the second GiB of the 4 GiB linear space. */
const LEGACY_BASE = 0x4000_0000n;
const CR4_PSE = 1n << 4n;
/** Linux's direct map (x86-64, 4-level: PAGE_OFFSET), over the first 1 GiB of guest RAM in 2 MiB pages. */
const DIRECT_MAP = 0xffff_8880_0000_0000n;

/** One mapped region with its own root: where its leaf entries are, and their frames. */
interface Layout {
  key: string;
  root: number;
  levels: 4 | 5;
  page: PageSize;
  va: bigint;
  /** 4-byte entries (32-bit paging): slots are guest physical address / 4. */
  narrow: boolean;
  /** Guest physical address / 8 (/ 4 when narrow) of each leaf entry, in VA order. */
  leafSlot: Uint32Array;
  /** Leaf frame numbers in units of the page size. */
  leafFrame: Uint32Array;
  /** Guest physical address / 8 (/ 4) of every non-leaf entry of the region. */
  tableSlot: Uint32Array;
}

class Guest {
  readonly pool: Uint32Array;
  private next = 0;
  private readonly layouts = new Map<string, Layout>();
  /** Layouts whose root holds the direct map. */
  private readonly mapped = new Set<string>();
  private constructor(
    readonly m: Machine,
    readonly rand: Prng,
  ) {
    // Every frame of RAM but frame 0, shuffled: tables land at random frames.
    const frames = m.ramBytes / 4096;
    this.pool = new Uint32Array(frames - 1);
    for (let i = 0; i < this.pool.length; i++) this.pool[i] = i + 1;
    for (let i = this.pool.length - 1; i > 0; i--) {
      const j = rand.below(i + 1);
      const t = this.pool[i];
      this.pool[i] = this.pool[j];
      this.pool[j] = t;
    }
  }

  static async create(ramBytes: number, seed: number, vendor: 'intel' | 'amd' = 'intel'): Promise<Guest> {
    const m = await Machine.create({ ramBytes, cpus: 2, vendor, maxPhysAddrBits: 46 });
    return new Guest(m, new Prng(seed));
  }

  /** 32-bit view of guest RAM (re-read: the buffer is replaced when WASM memory grows). */
  words(): Uint32Array {
    const { memory, ramOffset } = this.m.linearMemory;
    return new Uint32Array(memory.buffer, ramOffset, this.m.ramBytes / 4);
  }

  private table(): number {
    if (this.next >= this.pool.length) throw new Error('bench matrix: out of guest RAM for page tables');
    return this.pool[this.next++] * 4096;
  }

  layout(page: PageSize, levels: 4 | 5, bytes: number): Layout {
    const key = `${page}/${levels}/${bytes}`;
    let l = this.layouts.get(key);
    if (!l) this.layouts.set(key, (l = this.build(page, levels, bytes)));
    return l;
  }

  private build(page: PageSize, levels: 4 | 5, bytes: number): Layout {
    const w = this.words();
    const leafLevel = LEAF_LEVEL[page];
    const n = bytes / PAGE_BYTES[page];
    const va = levels === 5 ? BASE_5L : BASE_4L;
    const baseVpn = Number(va >> 12n);
    const root = this.table();
    const cur = new Array<number>(levels + 1).fill(-1); // table at each level for the current leaf
    const curPrefix = new Array<number>(levels + 1).fill(-1);
    cur[levels] = root;
    const leafSlot = new Uint32Array(n);
    const leafFrame = new Uint32Array(n);
    const tableSlot: number[] = [];
    const frameLimit = 2 ** 32 / (PAGE_BYTES[page] / 4096); // frames below 2^44 bytes
    const pagesPer = PAGE_BYTES[page] / 4096;
    for (let i = 0; i < n; i++) {
      const vpn = baseVpn + i * pagesPer;
      for (let lv = levels; lv > leafLevel; lv--) {
        const span = 512 ** (lv - 1); // 4 KiB pages under one entry of level lv
        const prefix = Math.floor(vpn / span);
        if (curPrefix[lv - 1] === prefix) continue;
        const t = this.table();
        const slot = cur[lv] / 8 + (prefix % 512);
        w[2 * slot] = t | P | RW | US | A;
        w[2 * slot + 1] = 0;
        tableSlot.push(slot);
        cur[lv - 1] = t;
        curPrefix[lv - 1] = prefix;
        for (let below = lv - 2; below >= leafLevel; below--) curPrefix[below] = -1;
      }
      leafSlot[i] = cur[leafLevel] / 8 + (Math.floor(vpn / 512 ** (leafLevel - 1)) % 512);
      leafFrame[i] = Math.floor(frameLimit / 2 + this.rand.nextFloat() * (frameLimit / 2)); // past RAM
    }
    return { key: `${page}/${levels}/${bytes}`, root, levels, page, va, narrow: false, leafSlot, leafFrame, tableSlot: Uint32Array.from(tableSlot) };
  }

  /** A PAE or 32-bit layout: `bytes` (at most 1 GiB) at LEGACY_BASE; root is CR3 (PAE: the PDPT's address). */
  legacyLayout(page: PageSize, mode: 'pae' | '32', bytes: number): Layout {
    const key = `${mode}/${page}/${bytes}`;
    const have = this.layouts.get(key);
    if (have) return have;
    const w = this.words();
    const pae = mode === 'pae';
    const n = bytes / PAGE_BYTES[page];
    const large = page !== '4k';
    const root = this.table(); // PAE: the PDPT at the start of this frame
    const pd = pae ? this.table() : root;
    const base = Number(LEGACY_BASE);
    const leafSlot = new Uint32Array(n);
    const leafFrame = new Uint32Array(n);
    const tableSlot: number[] = [];
    if (pae) {
      // PDPTE for the region's 1 GiB (bits 31:30 = 1); the others not present
      for (let i = 0; i < 4; i++) w[(root >> 2) + 2 * i] = w[(root >> 2) + 2 * i + 1] = 0;
      w[(root >> 2) + 2 * (base >>> 30)] = pd | P;
    }
    const per = pae ? 512 : 1024; // entries per table
    const pdIndex = (va: number) => (pae ? (va >>> 21) & 511 : va >>> 22);
    const slotOf = (table: number, i: number) => (pae ? table / 8 + i : table / 4 + i);
    const pageBytes = PAGE_BYTES[page];
    // leaf frames (in page units) past RAM: below 2^36 bytes (PAE, PSE-36 4 MiB pages) or 2^32 (32-bit PTEs)
    const limit = (pae || page === '4m' ? 2 ** 36 : 2 ** 32) / pageBytes;
    const floor = this.m.ramBytes / pageBytes;
    let pt = -1;
    for (let i = 0; i < n; i++) {
      const va = base + i * pageBytes;
      if (large) {
        leafSlot[i] = slotOf(pd, pdIndex(va));
      } else {
        if (i % per === 0) {
          pt = this.table();
          const s = slotOf(pd, pdIndex(va));
          w[pae ? 2 * s : s] = pt | P | RW | US | A;
          if (pae) w[2 * s + 1] = 0;
          tableSlot.push(s);
        }
        leafSlot[i] = slotOf(pt, i % per);
      }
      leafFrame[i] = floor + Math.floor(this.rand.nextFloat() * (limit - floor));
    }
    const l: Layout = { key, root, levels: 4, page, va: LEGACY_BASE, narrow: !pae, leafSlot, leafFrame, tableSlot: Uint32Array.from(tableSlot) };
    this.layouts.set(key, l);
    return l;
  }

  /** Adds the direct map (DIRECT_MAP) to a 4-level layout's root, once. */
  directMap(l: Layout): void {
    if (l.levels !== 4 || this.mapped.has(l.key)) return;
    this.mapped.add(l.key);
    const w = this.words();
    const pdpt = this.table();
    const pd = this.table();
    const entry = (slot: number, lo: number) => {
      w[2 * slot] = lo >>> 0;
      w[2 * slot + 1] = 0;
    };
    entry(l.root / 8 + Number((DIRECT_MAP >> 39n) & 511n), pdpt | P | RW | A);
    entry(pdpt / 8 + Number((DIRECT_MAP >> 30n) & 511n), pd | P | RW | A);
    for (let i = 0; i < 512; i++) entry(pd / 8 + i, i * 2 ** 21 + (P | RW | A | D | PS));
  }

  /** Writes the leaf (and table) entries of a layout for an attribute mix, deterministically. */
  applyAttrs(l: Layout, a: Attrs, seed: number): void {
    const w = this.words();
    const r = new Prng(seed);
    const q = (f: number) => Math.floor(f * 2 ** 32);
    const np = q(a.np),
      sup = q(a.sup),
      ro = q(a.ro),
      xd = q(a.xd);
    const large = l.page === '4k' ? 0 : PS;
    const ad = a.adClear ? 0 : A | D;
    const shift = Math.log2(PAGE_BYTES[l.page]);
    for (let i = 0; i < l.leafSlot.length; i++) {
      const f = l.leafFrame[i];
      // frame << shift as 64-bit halves (a 4 MiB PDE: address bits 35:32 in bits 16:13)
      const lo = shift >= 32 ? 0 : ((f * 2 ** shift) % 2 ** 32) >>> 0;
      const hi = Math.floor((f * 2 ** (shift - 12)) / 2 ** 20);
      let flags = P | RW | US | ad | large;
      let h = hi;
      if (r.nextU32() < np) flags &= ~P;
      if (r.nextU32() < sup) flags &= ~US;
      if (r.nextU32() < ro) flags &= ~RW;
      if (r.nextU32() < xd) h |= XD_HI;
      if (a.keys > 0 && r.nextFloat() < a.keys) h |= (1 + r.below(15)) << KEY_SHIFT_HI;
      const s = l.leafSlot[i];
      if (l.narrow) {
        // 32-bit paging: no XD, no keys; a 4 MiB page's address bits 35:32 in bits 16:13
        w[s] = (lo | flags | (l.page === '4m' ? (hi & 0xf) << 13 : 0)) >>> 0;
        continue;
      }
      w[2 * s] = (lo | flags) >>> 0;
      w[2 * s + 1] = h >>> 0;
    }
    const at = l.narrow ? 1 : 2;
    for (const s of l.tableSlot) w[at * s] = a.adClear ? w[at * s] & ~A : w[at * s] | A;
  }

  /** FNV-1a over the leaf entries of a layout (memory written by the walks). */
  leafHash(l: Layout): number {
    const w = this.words();
    let h = 0x811c9dc5;
    const at = l.narrow ? 1 : 2;
    for (const s of l.leafSlot) {
      h = Math.imul(h ^ w[at * s], 0x01000193);
      if (!l.narrow) h = Math.imul(h ^ w[2 * s + 1], 0x01000193);
    }
    for (const s of l.tableSlot) h = Math.imul(h ^ w[at * s], 0x01000193);
    return h >>> 0;
  }
}

/** The cell's addresses and kinds. */
function addresses(c: Cell, seed: number): { vas: BigUint64Array; kinds: Uint8Array } {
  const r = new Prng(seed);
  const pageBytes = PAGE_BYTES[c.page];
  const pages = c.hotPages ?? c.bytes / pageBytes;
  const n = c.order === 'each-once' ? Math.min(c.addresses, pages) : c.addresses;
  const vas = new BigUint64Array(n);
  const kinds = new Uint8Array(n);
  const halves = new Uint32Array(vas.buffer);
  const base = c.legacy ? LEGACY_BASE : c.levels === 5 ? BASE_5L : BASE_4L;
  const baseLo = Number(base & 0xffff_ffffn);
  const baseHi = Number(base >> 32n);
  let perm: Uint32Array | null = null;
  if (c.order === 'each-once') {
    perm = new Uint32Array(pages);
    for (let i = 0; i < pages; i++) perm[i] = i;
    for (let i = pages - 1; i > 0; i--) {
      const j = r.below(i + 1);
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
  }
  const per = c.perPage ?? 1;
  for (let i = 0; i < n; i++) {
    let off: number;
    if (c.order === 'sequential') off = (Math.floor(i / per) % pages) * pageBytes + (i % per) * (pageBytes / per);
    else off = (perm ? perm[i] : r.below(pages)) * pageBytes + r.below(pageBytes);
    const lo = baseLo + (off % 2 ** 32);
    halves[2 * i] = lo >>> 0;
    halves[2 * i + 1] = (baseHi + Math.floor(off / 2 ** 32) + (lo >= 2 ** 32 ? 1 : 0)) >>> 0;
    if (c.access === 'read') kinds[i] = 0;
    else {
      const k = r.nextFloat();
      kinds[i] = k < 0.6 ? 0 : k < 0.85 ? 1 : 2;
    }
  }
  return { vas, kinds };
}

// ---- implementations ----

interface MImpl {
  name: string;
  /** Compared by hash with the core's results (false: different semantics on this cell). */
  exact: boolean;
  out: Results;
  run(n: number, passes: number): void;
}

function wasmImpl(name: string, cpu: Cpu, vas: BigUint64Array, kinds: Uint8Array): MImpl {
  const out = newResults(vas.length);
  let cached = -1;
  let v = { vas, kinds, pa: out.pa, fault: out.fault };
  return {
    name,
    exact: true,
    out,
    run(n, passes) {
      if (n !== cached) {
        v = { vas: vas.subarray(0, n), kinds: kinds.subarray(0, n), pa: out.pa.subarray(0, n), fault: out.fault.subarray(0, n) };
        cached = n;
      }
      for (let p = 0; p < passes; p++) cpu.translateBatch(v.vas, v.kinds, v, { cpl: 3 });
    },
  };
}

/**
 * The core with its IO buffers filled once per run and `translateInPlace` called `passes` times:
 * the TLB hit path without translateBatch's copies in and out (n <= machine.batchMax).
 */
function inPlaceImpl(name: string, m: Machine, cpu: Cpu, vas: BigUint64Array, kinds: Uint8Array): MImpl {
  const out = newResults(vas.length);
  return {
    name,
    exact: true,
    out,
    run(n, passes) {
      m.io.va.set(vas.subarray(0, n));
      m.io.kind.set(kinds.subarray(0, n));
      for (let p = 0; p < passes; p++) cpu.translateInPlace(n, { cpl: 3 });
      out.pa.set(m.io.pa.subarray(0, n));
      out.fault.set(m.io.fault.subarray(0, n));
    },
  };
}

/**
 * Information: the walk without translateBatch's copies. The first machine.batchMax addresses
 * are placed in the IO buffers once per run and walked through translateInPlace, repeatedly when
 * a run asks for more (the 2^18-address cells: the same kind of addresses, not the same ones, so
 * its results are compared only on the cells of at most batchMax addresses).
 */
function inPlaceWalk(name: string, m: Machine, cpu: Cpu, vas: BigUint64Array, kinds: Uint8Array): MImpl {
  const out = newResults(vas.length);
  const k = Math.min(vas.length, m.batchMax);
  return {
    name,
    exact: vas.length <= m.batchMax,
    out,
    run(n, passes) {
      const c = Math.min(n, k);
      m.io.va.set(vas.subarray(0, c));
      m.io.kind.set(kinds.subarray(0, c));
      for (let p = 0; p < passes; p++) for (let d = 0; d < n; d += c) cpu.translateInPlace(Math.min(c, n - d), { cpl: 3 });
      if (n <= k) {
        out.pa.set(m.io.pa.subarray(0, n));
        out.fault.set(m.io.fault.subarray(0, n));
      }
    },
  };
}

/** `cpu.access`, one call per address (the fuzzer's path): a front-cache hit, quickMiss or missPath. */
function accessImpl(name: string, cpu: Cpu, vas: BigUint64Array, kinds: Uint8Array): MImpl {
  const out = newResults(vas.length);
  const opts = (['read', 'write', 'exec'] as const).map((kind) => ({ kind, cpl: 3 as const }));
  return {
    name,
    exact: true,
    out,
    run(n, passes) {
      for (let p = 0; p < passes; p++) {
        for (let i = 0; i < n; i++) {
          const r = cpu.access(vas[i], opts[kinds[i]]);
          out.pa[i] = r.ok ? r.pa : 0n;
          out.fault[i] = r.ok ? 0 : r.vector === 14 ? (14 << 16) | r.errorCode : r.vector << 16;
        }
      }
    },
  };
}

function nativeImpl(
  name: string,
  fn: NativeBatchFn,
  g: Guest,
  cr3: bigint,
  cfg: number,
  pkru: number,
  vas: BigUint64Array,
  kinds: Uint8Array,
  exact: boolean,
): MImpl {
  const out = newResults(vas.length);
  return {
    name,
    exact,
    out,
    run(n, passes) {
      const { memory, ramOffset } = g.m.linearMemory;
      const sub =
        n === vas.length
          ? { vas, kinds, pa: out.pa, fault: out.fault }
          : { vas: vas.subarray(0, n), kinds: kinds.subarray(0, n), pa: out.pa.subarray(0, n), fault: out.fault.subarray(0, n) };
      for (let p = 0; p < passes; p++) fn(memory.buffer as ArrayBuffer, ramOffset, g.m.ramBytes, cr3, 46, cfg, sub.vas, sub.kinds, sub.pa, sub.fault, pkru, 0);
    },
  };
}

// ---- timing ----

function cpuMs(f: () => void): number {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return Math.max((c.user + c.system) / 1000, 1e-3);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface MatrixConfig {
  quick: boolean;
  rounds: number;
  targetMs: number;
  seed: number;
  /** Only cells whose name contains one of these strings (all when empty). */
  filter: string[];
}

export interface CellResult {
  name: string;
  group: Cell['group'];
  /** Median M translations/s per implementation. */
  mps: Record<string, number>;
  ratios: Record<string, number>;
  hashes: Record<string, string>;
  faults: number;
  problems: string[];
}

export interface MatrixResult {
  cells: CellResult[];
  /** The worst cell of each acceptance ratio. */
  worst: Record<string, { cell: string; value: number; target: number; met: boolean }>;
  problems: string[];
  skipped: string | null;
}

/** The acceptance ratios (issue 14) and the cells they apply to. */
const TARGETS: { key: string; target: number; applies: (c: Cell) => boolean }[] = [
  { key: 'wasm/c-full', target: 0.85, applies: (c) => !c.tlb },
  { key: 'c-full/c-lean', target: 0.9, applies: (c) => !c.tlb },
  { key: 'wasm/c-lean', target: 0.75, applies: (c) => !c.tlb },
  { key: 'wasm/c-full', target: 1.3, applies: (c) => c.name === '4k 16G rand' },
  { key: 'wasm-tlb/c-tlb', target: 0.6, applies: (c) => c.name === 'TLB hot 64 pages' },
  { key: 'wasm-tlb-inplace/c-tlb', target: 0.6, applies: (c) => c.name === 'TLB hot 64 pages' },
  // caches on, TLB-miss-dominated random access (every page size and mix): faster than caches off
  { key: 'wasm-tlb/wasm', target: 1, applies: (c) => !!c.tlb && c.name.includes(' rand') },
];

function nativeCfg(c: Cell): number {
  return nativeMode(c) | (c.amd ? NATIVE_CFG.AMD : 0);
}

function nativeMode(c: Cell): number {
  if (c.legacy === '32') return NATIVE_CFG.USER | NATIVE_CFG.WP | NATIVE_CFG.PAGING32 | NATIVE_CFG.PSE | NATIVE_CFG.PSE36;
  if (c.legacy === 'pae') return NATIVE_CFG.USER | NATIVE_CFG.WP | NATIVE_CFG.NXE | NATIVE_CFG.PAE;
  return (
    NATIVE_CFG.USER | NATIVE_CFG.PDPE1GB | NATIVE_CFG.NXE | NATIVE_CFG.WP | (c.levels === 5 ? NATIVE_CFG.LA57 : 0) | (c.pkru !== undefined ? NATIVE_CFG.PKE : 0)
  );
}

function runCell(g: Guest, c: Cell, walker: NativeWalker, cfg: MatrixConfig, idx: number, log: (s: string) => void): CellResult {
  const l = c.legacy ? g.legacyLayout(c.page, c.legacy, c.bytes) : g.layout(c.page, c.levels, c.bytes);
  const attrSeed = cfg.seed * 7919 + idx;
  g.applyAttrs(l, c.attrs, attrSeed);
  const [cpuOff, cpuOn] = g.m.cpus;
  const cr3 = BigInt(l.root);
  // IA-32e; PAE (EFER.NXE, no LME); 32-bit paging (CR4.PSE)
  const cr4 = c.legacy === '32' ? CR4_PSE : c.legacy === 'pae' ? CR4_PAE : CR4_PAE | (c.levels === 5 ? CR4_LA57 : 0n) | (c.pkru !== undefined ? CR4_PKE : 0n);
  const efer = c.legacy === '32' ? 0n : c.legacy === 'pae' ? EFER & ~(1n << 8n) : EFER;
  const pkru = BigInt(c.pkru ?? 0);
  for (const cpu of g.m.cpus) {
    // Paging off first: CR4.LA57 cannot change in IA-32e mode.
    cpu.setControl({ cr0: CR0 & ~(1n << 31n) });
    cpu.setControl({ cr3, cr4, efer, pkru });
    cpu.setControl({ cr0: CR0 });
  }
  cpuOff.configure({ tlb: false, psc: false });
  cpuOn.configure({ tlb: true, psc: true });
  if (c.directMap) {
    g.directMap(l);
    const r = cpuOn.access(DIRECT_MAP, { kind: 'read', cpl: 0 });
    if (!r.ok) throw new Error(`bench matrix: the direct map does not translate (${JSON.stringify(r)})`);
  }
  const { vas, kinds } = addresses(c, cfg.seed * 104729 + idx);
  const ncfg = nativeCfg(c);
  walker.tlbFlush(); // the tables changed (setControl flushed the core's TLBs)
  const impls: MImpl[] = [wasmImpl('wasm', cpuOff, vas, kinds)];
  if (c.tlb) {
    impls.push(wasmImpl('wasm-tlb', cpuOn, vas, kinds), nativeImpl('c-tlb', walker.tlbBatch, g, cr3, ncfg, c.pkru ?? 0, vas, kinds, true));
    if (vas.length <= g.m.batchMax) impls.push(inPlaceImpl('wasm-tlb-inplace', g.m, cpuOn, vas, kinds));
    impls.push(accessImpl('wasm-tlb-access', cpuOn, vas, kinds));
  } else {
    impls.push(
      nativeImpl('c-full', walker.walkBatch, g, cr3, ncfg, c.pkru ?? 0, vas, kinds, true),
      nativeImpl('c-lean', walker.walkBatchLean, g, cr3, ncfg, c.pkru ?? 0, vas, kinds, c.access === 'read' && c.pkru === undefined && !c.amd),
      nativeImpl('c-generic', walker.walkBatchGeneric, g, cr3, ncfg, c.pkru ?? 0, vas, kinds, true),
      nativeImpl('c-mlp', walker.walkBatchInterleaved, g, cr3, ncfg, c.pkru ?? 0, vas, kinds, true),
    );
    // (not on the A/D-clear cells: repeating the first addresses would walk them with A/D set)
    if (!c.attrs.adClear) impls.push(inPlaceWalk('wasm-inplace', g.m, cpuOff, vas, kinds));
  }
  const res: CellResult = { name: c.name, group: c.group, mps: {}, ratios: {}, hashes: {}, faults: 0, problems: [] };
  const restore = c.attrs.adClear ? () => g.applyAttrs(l, c.attrs, attrSeed) : () => {};

  // Cross-check: every implementation over all addresses once, from the same memory.
  const n = vas.length;
  let want = 0;
  let wantMem = 0;
  for (const impl of impls) {
    restore();
    impl.run(n, 1);
    const h = hashResults(impl.out, n);
    res.hashes[impl.name] = hex32(h.hash);
    if (impl.name === 'wasm') {
      want = h.hash;
      res.faults = h.faults;
      if (c.attrs.adClear) wantMem = g.leafHash(l);
    } else if (impl.exact && h.hash !== want) res.problems.push(`${impl.name}: results hash ${hex32(h.hash)} differs from wasm's ${hex32(want)}`);
    if (c.attrs.adClear && impl.exact && g.leafHash(l) !== wantMem) res.problems.push(`${impl.name}: page-table memory after the walks differs from wasm's`);
  }
  // The reference walker (src/reference) on the first addresses.
  restore();
  const refN = Math.min(n, 256);
  const refOut = newResults(refN);
  const regs: RefCpuState = cpuOff.getControl();
  if (c.legacy === 'pae') {
    const load = referenceLoadPdptes(g.m.phys, cr3, 46);
    if (!load.ok) throw new Error('bench matrix: the PAE layout has a reserved PDPTE');
    regs.pdptes = load.pdptes;
  }
  const refCfg: RefConfig = { vendor: c.amd ? 'amd' : 'intel', maxPhysAddrBits: 46, pse36: true, pdpe1gb: true, ramBytes: g.m.ramBytes };
  const kindNames: AccessKind[] = ['read', 'write', 'exec'];
  for (let i = 0; i < refN; i++) {
    const r = referenceAccess(g.m.phys, regs, vas[i], { kind: kindNames[kinds[i]], cpl: 3 }, refCfg);
    refOut.pa[i] = r.ok ? r.pa : 0n;
    refOut.fault[i] = r.ok ? 0 : r.vector === 14 ? (14 << 16) | r.errorCode : r.vector << 16;
  }
  const refHash = hashResults(refOut, refN).hash;
  const wasmHead = hashResults(impls[0].out, refN).hash;
  if (refHash !== wasmHead) res.problems.push(`reference: first ${refN} results hash ${hex32(refHash)} differs from wasm's ${hex32(wasmHead)}`);

  // Plans: a run of about targetMs (cells that write A/D: every address once per run).
  const plans = impls.map((impl) => {
    if (c.attrs.adClear) return { n, passes: 1 };
    let k = Math.min(n, 1024);
    let ms = cpuMs(() => impl.run(k, 1));
    while (ms < cfg.targetMs / 4 && k < n) {
      k = Math.min(n, k * 4);
      ms = cpuMs(() => impl.run(k, 1));
    }
    if (k < n) return { n: Math.max(1, Math.min(n, Math.round((k * cfg.targetMs) / ms))), passes: 1 };
    return { n: k, passes: Math.max(1, Math.round(cfg.targetMs / ms)) };
  });
  const samples: number[][] = impls.map(() => []);
  const before = cpuOn.stats;
  for (let round = 0; round < cfg.rounds; round++) {
    for (let k = 0; k < impls.length; k++) {
      const i = (k + round) % impls.length;
      const { n: m, passes } = plans[i];
      restore();
      // warm-up: a short untimed run of the same implementation, so that every timed run starts
      // from the caches its own walks leave (not the previous implementation's buffers)
      if (!c.attrs.adClear) impls[i].run(Math.min(m, 4096), 1);
      const ms = cpuMs(() => impls[i].run(m, passes));
      samples[i].push((m * passes) / ms / 1000);
      if (impls[i].exact && !c.attrs.adClear && m === n) {
        const h = hashResults(impls[i].out, m).hash;
        if (h !== want) res.problems.push(`${impls[i].name}: round ${round + 1} results differ`);
      }
    }
  }
  // (an access that faults is a miss every time: a page no access may use never enters the TLB)
  if (c.hotPages && res.faults === 0) {
    const s = cpuOn.stats;
    if (s.tlbMisses !== before.tlbMisses) res.problems.push(`wasm-tlb: ${s.tlbMisses - before.tlbMisses} TLB misses on a hot set that fits the TLB`);
  }
  if (c.directMap && !cpuOn.tlbEntries().some((e) => e.pageSize === 2 ** 21)) res.problems.push("wasm-tlb: the direct map's 2 MiB TLB entry is gone");
  impls.forEach((impl, i) => (res.mps[impl.name] = median(samples[i])));
  // A ratio is the median of the per-round ratios: both runs of a pair come from the same round,
  // a few runs apart, so a phase of load from other processes slows both.
  const col = (name: string) => impls.findIndex((impl) => impl.name === name);
  const q = (a: string, b: string) => {
    const ia = col(a),
      ib = col(b);
    if (ia >= 0 && ib >= 0) res.ratios[`${a}/${b}`] = median(samples[ia].map((x, r) => x / samples[ib][r]));
  };
  if (c.tlb) {
    q('wasm-tlb', 'c-tlb');
    q('wasm-tlb-inplace', 'c-tlb');
    q('wasm-tlb', 'wasm');
  } else {
    q('wasm', 'c-full');
    q('c-full', 'c-lean');
    q('wasm', 'c-lean');
    q('c-full', 'c-generic');
    q('wasm', 'c-mlp');
    q('wasm-inplace', 'c-full');
  }
  log(
    `  ${c.name.padEnd(18)} ${Object.entries(res.mps)
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join('  ')}${res.problems.length ? '  MISMATCH' : ''}`,
  );
  return res;
}

export async function runMatrix(cfg: MatrixConfig, log: (s: string) => void = () => {}): Promise<MatrixResult> {
  const nat = loadNativeWalker();
  if (!nat.ok) return { cells: [], worst: {}, problems: [], skipped: nat.reason };
  const all = cfg.quick ? quickCells() : fullCells();
  const cells = cfg.filter.length ? all.filter((c) => cfg.filter.some((f) => c.name.includes(f))) : all;
  const ram = cfg.quick ? 64 * MIB : GIB;
  const g = await Guest.create(ram, cfg.seed);
  const gAmd = cells.some((c) => c.amd) ? await Guest.create(ram, cfg.seed, 'amd') : g;
  log(`matrix: ${cells.length} cells, ${cfg.rounds} rounds of ~${cfg.targetMs} ms (process CPU time), M translations/s`);
  const results = cells.map((c) => runCell(c.amd ? gAmd : g, c, nat.walker, cfg, all.indexOf(c), log));
  const worst: MatrixResult['worst'] = {};
  for (const t of TARGETS) {
    const label = `${t.key} >= ${t.target}`;
    for (const [i, c] of cells.entries()) {
      if (!t.applies(c)) continue;
      const v = results[i].ratios[t.key];
      if (v === undefined) continue;
      if (!worst[label] || v < worst[label].value) worst[label] = { cell: c.name, value: v, target: t.target, met: v >= t.target };
    }
  }
  return { cells: results, worst, problems: results.flatMap((r) => r.problems.map((p) => `${r.name}: ${p}`)), skipped: null };
}

const COLS = ['wasm', 'wasm-inplace', 'wasm-tlb', 'wasm-tlb-inplace', 'wasm-tlb-access', 'c-full', 'c-lean', 'c-generic', 'c-mlp', 'c-tlb'];

/** The matrix as a Markdown table, the worst cells first. */
export function formatMatrix(r: MatrixResult): string {
  if (r.skipped) return `matrix skipped: ${r.skipped}`;
  const lines: string[] = [];
  lines.push('| worst cell for | cell | ratio | target |');
  lines.push('|---|---|---|---|');
  for (const [label, w] of Object.entries(r.worst))
    lines.push(`| ${label.split(' >=')[0]} | ${w.cell} | **${w.value.toFixed(2)}×** | ≥ ${w.target} ${w.met ? 'met' : 'MISSED'} |`);
  lines.push('');
  const cols = COLS.filter((k) => r.cells.some((c) => c.mps[k] !== undefined));
  const ratioKeys = [...new Set(r.cells.flatMap((c) => Object.keys(c.ratios)))];
  lines.push(`| cell | ${cols.join(' | ')} | ${ratioKeys.join(' | ')} | faults | hash |`);
  lines.push(`|---|${cols.map(() => '---:').join('|')}|${ratioKeys.map(() => '---:').join('|')}|---:|---|`);
  for (const c of r.cells) {
    const v = cols.map((k) => (c.mps[k] === undefined ? '' : c.mps[k].toFixed(1)));
    const q = ratioKeys.map((k) => (c.ratios[k] === undefined ? '' : c.ratios[k].toFixed(2)));
    lines.push(`| ${c.name} | ${v.join(' | ')} | ${q.join(' | ')} | ${c.faults} | ${c.problems.length ? 'MISMATCH' : 'equal'} |`);
  }
  if (r.problems.length) {
    lines.push('');
    for (const p of r.problems) lines.push(`!!! ${p}`);
  }
  return lines.join('\n');
}
