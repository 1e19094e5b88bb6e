/**
 * The benchmark's guest: one 4-level address space holding the regions the benchmark walks, and
 * seeded random address sets over them. Every implementation walks exactly this memory.
 *
 * All leaf and table entries are created with the accessed bit (and leaves with the dirty bit)
 * already set, so a successful walk writes nothing and every run of every implementation sees
 * the same memory. Leaf frames are a seeded shuffle and may lie beyond RAM: translation never
 * touches the data pages.
 */
import { Machine } from '../src/index.js';
import { prng, shuffledIndices } from './prng.js';

/** P | RW | US | A | D (SDM Table 4-19). */
export const LEAF_FLAGS = 0x67n;
/** P | RW | US | A. */
export const TABLE_FLAGS = 0x27n;
const PAGE = 4096;
/** Leaf frames start here (64 GiB), far past RAM: data pages are never touched. */
const FRAME_BASE = 1 << 24;

/** CR0.PE | CR0.WP | CR0.PG. */
const CR0 = (1n << 0n) | (1n << 16n) | (1n << 31n);
/** CR4.PAE. */
const CR4 = 1n << 5n;
/** EFER.LME | EFER.NXE. */
const EFER = (1n << 8n) | (1n << 11n);

/** One mapped virtual region. */
export interface Region {
  name: string;
  va: bigint;
  bytes: number;
  pageSize: '4k' | '2m' | '1g';
  /** Pages at the end of the region that are made to fault (see `addFaultZones`). */
  faultPages: number;
}

/** A set of addresses with their access kinds (0 read, 1 write, 2 exec), all for CPL 3. */
export interface AddressSet {
  name: string;
  vas: BigUint64Array;
  kinds: Uint8Array;
}

export interface WorkloadOptions {
  /** 4 KiB-page region sizes in bytes, e.g. { '4k-1g': 2 ** 30 }. */
  regions: Region[];
  ramBytes: number;
  seed: number;
}

export interface Workload {
  m: Machine;
  root: bigint;
  regions: Region[];
}

function regionPageBytes(r: Region): number {
  return r.pageSize === '4k' ? PAGE : r.pageSize === '2m' ? 2 ** 21 : 2 ** 30;
}

/** Maps a 4 KiB-page region to shuffled frames with the range operation `mapPages`. */
function map4k(w: Workload, r: Region, rand: () => number, frameOffset: number): void {
  const pages = r.bytes / PAGE;
  const perm = shuffledIndices(pages, rand);
  const chunk = 1 << 18;
  for (let start = 0; start < pages; start += chunk) {
    const n = Math.min(chunk, pages - start);
    const pas = new BigUint64Array(n);
    const halves = new Uint32Array(pas.buffer);
    for (let i = 0; i < n; i++) {
      const frame = FRAME_BASE + frameOffset + perm[start + i];
      halves[2 * i] = (frame % 2 ** 20) * PAGE; // low 32 bits of frame * 4096
      halves[2 * i + 1] = Math.floor(frame / 2 ** 20);
    }
    w.m.pageTables.mapPages('4level', w.root, r.va + BigInt(start * PAGE), pas, { flags: LEAF_FLAGS, tableFlags: TABLE_FLAGS });
  }
}

/** Maps a large-page region (2 MiB or 1 GiB) to shuffled large frames, one `map` call per page. */
function mapLarge(w: Workload, r: Region, rand: () => number, frameOffset: number): void {
  const size = regionPageBytes(r);
  const perm = shuffledIndices(r.bytes / size, rand);
  for (let i = 0; i < perm.length; i++) {
    const pa = BigInt(FRAME_BASE + frameOffset) * BigInt(PAGE) + BigInt(perm[i]) * BigInt(size);
    w.m.pageTables.map('4level', w.root, r.va + BigInt(i * size), pa, size, { pageSize: r.pageSize, flags: LEAF_FLAGS, tableFlags: TABLE_FLAGS });
  }
}

/**
 * Makes the last `faultPages` pages of a region fault in four ways (a quarter each): not present,
 * read-only (writes fault), execute-disable (fetches fault), supervisor-only (CPL 3 faults).
 */
function addFaultZones(w: Workload, r: Region): void {
  if (r.faultPages === 0) return;
  const size = regionPageBytes(r);
  const q = Math.floor(r.faultPages / 4);
  const zone = (k: number) => r.va + BigInt(r.bytes - (k + 1) * q * size);
  const len = q * size;
  const pt = w.m.pageTables;
  pt.unmap('4level', w.root, zone(0), len);
  pt.protect('4level', w.root, zone(1), len, { clear: 0x2n });
  pt.protect('4level', w.root, zone(2), len, { set: 1n << 63n });
  pt.protect('4level', w.root, zone(3), len, { clear: 0x4n });
}

/** Builds the machine (2 CPUs: cpus[0] for walks, cpus[1] for TLB hits), maps all regions. */
export async function buildWorkload(opts: WorkloadOptions): Promise<Workload> {
  const m = await Machine.create({ ramBytes: opts.ramBytes, cpus: 2, vendor: 'intel', maxPhysAddrBits: 46 });
  const root = m.pageTables.newRoot('4level');
  const w: Workload = { m, root, regions: opts.regions };
  const rand = prng(opts.seed);
  let frameOffset = 0;
  for (const r of opts.regions) {
    if (r.pageSize === '4k') map4k(w, r, rand, frameOffset);
    else mapLarge(w, r, rand, frameOffset);
    addFaultZones(w, r);
    frameOffset += Math.ceil(r.bytes / 2 ** 30) * 2 ** 18; // next region's frames stay 1 GiB-aligned
  }
  for (const cpu of m.cpus) cpu.setControl({ cr3: root, cr4: CR4, efer: EFER, cr0: CR0 });
  return w;
}

export interface AddressSetOptions {
  count: number;
  seed: number;
  /** Fractions of reads and writes; the rest are instruction fetches. */
  read?: number;
  write?: number;
  /** Fraction of addresses made non-canonical (bit 60 flipped): #GP. */
  nonCanonical?: number;
  /** Restrict to the first `pages` pages of the region (a hot set). */
  pages?: number;
}

/** Uniformly random addresses (random page, random byte offset) over a region. */
export function randomAddresses(r: Region, o: AddressSetOptions): AddressSet {
  const rand = prng(o.seed);
  const pageBytes = regionPageBytes(r);
  const pages = o.pages ?? r.bytes / pageBytes;
  const read = o.read ?? 0.6;
  const write = o.write ?? 0.25;
  const nonCanonical = o.nonCanonical ?? 0;
  const vas = new BigUint64Array(o.count);
  const kinds = new Uint8Array(o.count);
  const halves = new Uint32Array(vas.buffer);
  const baseLo = Number(r.va & 0xffffffffn);
  const baseHi = Number(r.va >> 32n);
  for (let i = 0; i < o.count; i++) {
    const off = Math.floor(rand() * pages) * pageBytes + Math.floor(rand() * pageBytes);
    const lo = baseLo + (off % 2 ** 32);
    halves[2 * i] = lo >>> 0;
    let hi = baseHi + Math.floor(off / 2 ** 32) + (lo >= 2 ** 32 ? 1 : 0);
    if (rand() < nonCanonical) hi ^= 1 << 28; // bit 60
    halves[2 * i + 1] = hi >>> 0;
    const k = rand();
    kinds[i] = k < read ? 0 : k < read + write ? 1 : 2;
  }
  return { name: r.name, vas, kinds };
}
