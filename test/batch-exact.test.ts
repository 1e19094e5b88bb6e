/**
 * translateBatch with the caches off takes a fast walk (assembly/access.ts walkInPlace) that decides
 * most walks — faults included — on its own and applies a fault's side effects once per batch.
 * It must leave exactly what the same accesses made one at a time (cpu.access, the exact walk)
 * leave: the same results, CR2, statistics (walks, entries read, faults) and the same accessed
 * and dirty bits in memory. Random IA-32e tables (shared and looping tables, large pages,
 * reserved bits, entries past RAM, clear A/D bits, protection keys) under random control settings
 * (CR4.PKE and CR4.PKS with random key registers among them), both vendors.
 * With the TLB on, batches hit through a front cache in front of the modelled TLB
 * (assembly/caches.ts): the same hits, misses and stale translations as one access at a time,
 * across table edits, INVLPG, CR3 writes with and without PCID no-flush, privilege changes and
 * key-register writes, in IA-32e, PAE and 32-bit paging.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/index.js';
import type { AccessKind, Vendor } from '../src/core/types.js';
import { Prng } from '../src/util/prng.js';

const RAM = 1 << 20;
const POOL = 16; // table frames 1..POOL

function randomEntry(r: Prng, maxPa: number): bigint {
  if (r.nextFloat() < 0.04) return BigInt(r.below(256)) & ~1n; // not present
  const x = r.nextFloat();
  const frame = x < 0.96 ? BigInt(1 + r.below(POOL)) : x < 0.98 ? BigInt(RAM / 4096 + r.below(64)) : BigInt(r.nextU32()) & ((1n << BigInt(maxPa - 12)) - 1n);
  let e = (frame << 12n) | 1n;
  if (r.nextFloat() < 0.93) e |= 0x26n; // RW, US, A
  if (r.nextFloat() < 0.08) e &= ~0x20n; // A clear
  if (r.nextFloat() < 0.06) e &= ~0x2n;
  if (r.nextFloat() < 0.04) e &= ~0x4n;
  if (r.nextFloat() < 0.5) e |= 0x40n; // D
  if (r.nextFloat() < 0.1) e |= 1n << 8n; // G (reserved in an AMD PML4E)
  if (r.nextFloat() < 0.1) {
    e = (e & ~0x3fff_f000n) | (1n << 7n); // PS with a 1 GiB-aligned frame
    if (r.nextFloat() < 0.15) e |= 1n << BigInt(13 + r.below(17));
  }
  if (r.nextFloat() < 0.2) e |= 1n << 63n; // XD
  if (r.nextFloat() < 0.02) e |= 1n << BigInt(Math.min(51, maxPa + r.below(52 - maxPa + 1)));
  if (r.nextFloat() < 0.3) e |= BigInt(r.below(16)) << 59n; // protection key
  return e;
}

function randomVa(r: Prng, la57: boolean): bigint {
  const width = la57 ? 57 : 48;
  let va = (BigInt(r.nextU32()) << 32n) | BigInt(r.nextU32());
  // Mostly addresses that reuse a few top-level slots, so that walks get deep.
  if (r.nextFloat() < 0.8) va = (va & ((1n << 39n) - 1n)) | (BigInt(r.below(4)) << 39n) | (BigInt(r.below(2)) << 48n);
  va &= (1n << BigInt(width)) - 1n;
  if (va >> BigInt(width - 1)) va |= ((1n << 64n) - 1n) ^ ((1n << BigInt(width)) - 1n);
  if (r.nextFloat() < 0.03) va ^= 1n << 62n; // non-canonical
  return va;
}

/**
 * Translates vas/kinds on machine a's CPU 0 with translateBatch (into `out`) and the same accesses
 * one at a time on b's: same results, fault count, CR2, statistics (walks, entries read, faults)
 * and page-table memory (the pool's frames). Returns the faults and the protection-key faults.
 */
function batchAgainstOneByOne(
  a: Machine,
  b: Machine,
  vas: BigUint64Array,
  kinds: Uint8Array,
  out: { pa: BigUint64Array; fault: Uint32Array },
  opts: { cpl: 0 | 3; ac: boolean },
  label: string,
): { faults: number; keyFaults: number } {
  const n = vas.length;
  const before = { a: a.cpus[0].stats, b: b.cpus[0].stats };
  const nf = a.cpus[0].translateBatch(vas, kinds, out, opts);
  const names: AccessKind[] = ['read', 'write', 'exec'];
  let want = 0;
  let keyFaults = 0;
  for (let i = 0; i < n; i++) {
    const x = b.cpus[0].access(vas[i], { kind: names[kinds[i]], ...opts });
    const w = x.ok ? 0 : x.vector === 14 ? (14 << 16) | x.errorCode : x.vector << 16;
    if (w) want++;
    if (!x.ok && x.vector === 14 && (x.errorCode & 32) !== 0) keyFaults++;
    if (out.fault[i] !== w || out.pa[i] !== (x.ok ? x.pa : 0n))
      expect({ i, va: vas[i].toString(16), kind: kinds[i], fault: out.fault[i], pa: out.pa[i] }, label).toEqual({
        i,
        va: vas[i].toString(16),
        kind: kinds[i],
        fault: w,
        pa: x.ok ? x.pa : 0n,
      });
  }
  expect(nf, `${label}: faults`).toBe(want);
  expect(a.cpus[0].cr2, `${label}: CR2`).toBe(b.cpus[0].cr2);
  const sa = a.cpus[0].stats,
    sb = b.cpus[0].stats;
  expect({ walks: sa.walks - before.a.walks, memRefs: sa.memRefs - before.a.memRefs, faults: sa.faults - before.a.faults }, `${label}: statistics`).toEqual({
    walks: sb.walks - before.b.walks,
    memRefs: sb.memRefs - before.b.memRefs,
    faults: sb.faults - before.b.faults,
  });
  for (let f = 1; f <= POOL; f++)
    for (let i = 0; i < 512; i++) {
      const pa = BigInt(f * 4096 + i * 8);
      if (a.phys.read64(pa) !== b.phys.read64(pa))
        expect(a.phys.read64(pa).toString(16), `${label}: entry at ${pa.toString(16)}`).toBe(b.phys.read64(pa).toString(16));
    }
  return { faults: want, keyFaults };
}

describe('translateBatch (caches off) = the same accesses one at a time', () => {
  it('results, CR2, statistics and A/D bits agree on 40 random configurations', async () => {
    const r = new Prng(0xba7c4);
    let faults = 0;
    let ok = 0;
    let keyFaults = 0;
    for (let c = 0; c < 40; c++) {
      const maxPa = [36, 46, 52][c % 3];
      const vendor: Vendor = c % 2 ? 'amd' : 'intel';
      const la57 = r.nextFloat() < 0.3;
      const opts = { ramBytes: RAM, vendor, maxPhysAddrBits: maxPa, pdpe1gb: r.nextFloat() < 0.8, tlb: false as const, psc: false as const };
      const [a, b] = await Promise.all([Machine.create(opts), Machine.create(opts)]);
      for (let f = 1; f <= POOL; f++) {
        for (let i = 0; i < 512; i++) {
          const e = randomEntry(r, maxPa);
          a.phys.write64(BigInt(f * 4096 + i * 8), e);
          b.phys.write64(BigInt(f * 4096 + i * 8), e);
        }
      }
      const regs = {
        cr0: (1n << 0n) | (1n << 31n) | (r.nextFloat() < 0.7 ? 1n << 16n : 0n),
        cr3: BigInt(4096 * (1 + r.below(POOL))),
        cr4:
          (1n << 5n) |
          (la57 ? 1n << 12n : 0n) |
          (r.nextFloat() < 0.5 ? 1n << 20n : 0n) |
          (r.nextFloat() < 0.5 ? 1n << 21n : 0n) |
          (r.nextFloat() < 0.4 ? 1n << 22n : 0n) |
          (r.nextFloat() < 0.3 ? 1n << 24n : 0n),
        efer: (1n << 8n) | (r.nextFloat() < 0.8 ? 1n << 11n : 0n),
        pkru: r.nextFloat() < 0.3 ? 0n : r.nextFloat() < 0.3 ? 0x5555_5554n : BigInt(r.nextU32()),
        pkrs: r.nextFloat() < 0.3 ? 0n : BigInt(r.nextU32()),
      };
      const cpl = r.nextFloat() < 0.5 ? 3 : 0;
      const ac = r.nextFloat() < 0.3;
      for (const m of [a, b]) {
        m.cpus[0].setControl({ cr0: regs.cr0 & ~(1n << 31n), cr4: regs.cr4, efer: regs.efer, cr3: regs.cr3, pkru: regs.pkru, pkrs: regs.pkrs });
        m.cpus[0].setControl({ cr0: regs.cr0 });
      }
      // every other configuration through the machine's own batch buffers (no copies); with its
      // own arrays, sometimes more addresses than the copying path's chunk (8,192)
      const viaIo = c % 2 === 1;
      const n = viaIo ? 3000 : c % 4 === 0 ? 8300 : 600;
      const vas = viaIo ? a.io.va.subarray(0, n) : new BigUint64Array(n);
      const kinds = viaIo ? a.io.kind.subarray(0, n) : new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        vas[i] = randomVa(r, la57);
        kinds[i] = r.below(3);
      }
      // the caller's output arrays hold garbage first: every word must be written (a batch without faults zero-fills)
      const out = viaIo
        ? { pa: a.io.pa.subarray(0, n), fault: a.io.fault.subarray(0, n) }
        : { pa: new BigUint64Array(n).fill(0xdeadn), fault: new Uint32Array(n).fill(0xffff_ffff) };
      const got = batchAgainstOneByOne(a, b, vas, kinds, out, { cpl, ac }, `config ${c}`);
      const want = got.faults;
      keyFaults += got.keyFaults;
      faults += want;
      ok += n - want;
    }
    expect(faults).toBeGreaterThan(3000);
    expect(keyFaults).toBeGreaterThan(100);
    expect(ok).toBeGreaterThan(3000);
  });
});

describe('translateBatch and cpu.access (TLB and PSC on) = the same accesses through the exact miss path', () => {
  it('results, CR2 and TLB statistics agree across edits, invalidations and context changes', async () => {
    const r = new Prng(0xf207);
    let hits = 0;
    for (let c = 0; c < 12; c++) {
      const vendor: Vendor = c % 2 ? 'amd' : 'intel';
      // 2 ways; 12 (the set's tag bytes span two words); 20 (more than the tag compare covers)
      const ways = [2, 12, 20][c % 3];
      // maximal retention counts evictions, so a victim taken as if empty would show in the statistics
      const retention = c % 4 >= 2 ? ('maximal' as const) : ('realistic' as const);
      const opts = {
        ramBytes: RAM,
        vendor,
        maxPhysAddrBits: 46,
        retention,
        tlb: { '4k': { sets: 8 / Math.min(ways, 8), ways } },
        // the paging-structure caches small (walks begin at every level), or off (at CR3)
        psc: c % 5 === 4 ? (false as const) : { pde: { sets: 2, ways: 2 } },
      };
      // a: translateBatch; b: cpu.accessExact (missPath alone); c: cpu.access (front hit, quickMiss)
      const [a, b, c3] = await Promise.all([Machine.create(opts), Machine.create(opts), Machine.create(opts)]);
      const both = (f: (m: Machine) => void) => {
        f(a);
        f(b);
        f(c3);
      };
      // Tables that mostly translate: a fixed path down to a few leaf tables, leaves random.
      for (let f = 1; f <= POOL; f++) {
        for (let i = 0; i < 512; i++) {
          const e = f <= 4 ? (BigInt(1 + ((f + i) % 4) + 1) << 12n) | 0x27n : randomEntry(r, 46) | (r.nextFloat() < 0.9 ? 0x27n : 0n);
          both((m) => m.phys.write64(BigInt(f * 4096 + i * 8), e));
        }
      }
      // frame 0 (a 2 MiB page's at physical 0, below) full of present entries: a walk that took
      // that page's PDE for a table would find leaves there, not a fault
      for (let i = 0; i < 512; i++) both((m) => m.phys.write64(BigInt(i * 8), (BigInt(1 + (i % POOL)) << 12n) | 0x27n));
      // PAE paging in a quarter of the configurations: the PDPT at CR3 in a frame past the pool (no
      // entry the writes below make names it, so no walk sets a reserved A bit in a PDPTE), no
      // PCIDs, no keys
      const pae = c % 4 === 1;
      const pdpt = BigInt((POOL + 1) * 4096);
      // 32-bit paging in another quarter (CR4.PSE: the large entries written below are 4 MiB pages;
      // each 8-byte entry written is two 4-byte ones, the upper mostly not present)
      const m32 = c % 4 === 3;
      if (pae) for (let i = 0; i < 4; i++) both((m) => m.phys.write64(pdpt + BigInt(i * 8), (BigInt(2 + i) << 12n) | 1n));
      // protection keys in two configurations of three (CR4.PKE and PKS; the key registers change below)
      const keysOn = c % 3 !== 0 && !pae && !m32;
      const cr4 = (m32 ? 1n << 4n : 1n << 5n) | (1n << 7n) | (r.nextFloat() < 0.5 ? 1n << 20n : 0n) | (keysOn ? (1n << 22n) | (1n << 24n) : 0n);
      const pkr = () => (r.nextFloat() < 0.3 ? 0n : r.nextFloat() < 0.5 ? 0x5555_5554n : BigInt(r.nextU32()));
      const pkru = keysOn ? pkr() : 0n;
      const pkrs = keysOn ? pkr() : 0n;
      both((m) => {
        m.cpus[0].setControl({ cr0: 1n, cr4, efer: m32 ? 0n : pae ? 1n << 11n : (1n << 8n) | (1n << 11n), cr3: pae ? pdpt : 4096n, pkru, pkrs });
        m.cpus[0].setControl({ cr0: (1n << 0n) | (1n << 16n) | (1n << 31n) });
        if (!pae && !m32) m.cpus[0].setControl({ cr4: cr4 | (1n << 17n) }); // PCIDE
      });
      const names: AccessKind[] = ['read', 'write', 'exec'];
      // half of them in the upper half (page numbers above 2^41: the front cache's drops must match them)
      const va = () =>
        (r.nextFloat() < 0.5 ? 0xffff_8000_0000_0000n : 0n) |
        (BigInt(r.below(4)) << 39n) |
        (BigInt(r.below(4)) << 30n) |
        (BigInt(r.below(4)) << 21n) |
        (BigInt(r.below(24)) << 12n) |
        BigInt(r.below(4096));
      for (let step = 0; step < 60; step++) {
        const op = r.nextFloat();
        if (op < 0.1) {
          // a random entry anywhere, or a large page (2 MiB as a PDE, 1 GiB as a PDPTE: the tables
          // loop) where the addresses walk, so that the large-page TLB classes hold entries
          const large = r.nextFloat() < 0.4;
          if (m32 && large) {
            // a 4 MiB page (PSE-36 address bits sometimes) in the page directory, where va() walks
            const pde = [0, 1, 256, 257, 512, 513, 768, 769][r.below(8)];
            const e32 = ((r.nextFloat() < 0.5 ? 0 : r.below(1024) << 22) | 0xa7 | (r.nextFloat() < 0.3 ? r.below(16) << 13 : 0)) >>> 0; // often at 0: a table's walk would read RAM there
            both((m) => m.phys.write32(BigInt(4096 + pde * 4), e32));
            continue;
          }
          const pa = large ? BigInt((1 + r.below(4)) * 4096 + r.below(4) * 8) : BigInt((1 + r.below(POOL)) * 4096 + r.below(512) * 8);
          const e = large ? (BigInt(r.below(4)) << 30n) | 0xa7n | (r.nextFloat() < 0.3 ? 1n << 63n : 0n) : randomEntry(r, 46) | 0x27n;
          both((m) => m.phys.write64(pa, e)); // not invalidated: stale entries must stay stale
        } else if (op < 0.17) {
          const v = va();
          both((m) => m.cpus[0].invlpg(v));
        } else if (op < 0.24) {
          const cr3 = pae
            ? pdpt
            : m32
              ? BigInt(4096 * (1 + r.below(4)))
              : BigInt(4096 * (1 + r.below(4))) | BigInt(1 + r.below(3)) | (r.nextFloat() < 0.5 ? 1n << 63n : 0n);
          both((m) => m.cpus[0].setControl({ cr3 }));
        } else if (op < 0.27) {
          // CR4.PGE toggled: every entry flushed, global ones too
          both((m) => {
            const cur = m.cpus[0].getControl().cr4;
            m.cpus[0].setControl({ cr4: cur ^ (1n << 7n) });
            m.cpus[0].setControl({ cr4: cur });
          });
        } else if (keysOn && op < 0.31) {
          // WRPKRU / a PKRS write: no flush, the cached entries' keys are checked against the new values
          const regs = { pkru: pkr(), pkrs: pkr() };
          both((m) => m.cpus[0].setControl(regs));
        } else {
          const n = 1 + r.below(40);
          const cpl = r.nextFloat() < 0.7 ? 3 : 0;
          const vas = new BigUint64Array(n);
          const kinds = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            vas[i] = r.nextFloat() < 0.5 && i > 0 ? vas[r.below(i)] : va();
            kinds[i] = r.below(3);
          }
          const out = { pa: new BigUint64Array(n).fill(0xdeadn), fault: new Uint32Array(n).fill(0xffff_ffff) };
          a.cpus[0].translateBatch(vas, kinds, out, { cpl });
          for (let i = 0; i < n; i++) {
            const x = b.cpus[0].accessExact(vas[i], { kind: names[kinds[i]], cpl });
            const y = c3.cpus[0].access(vas[i], { kind: names[kinds[i]], cpl });
            expect({ step, i, y, entries: c3.cpus[0].lastWalkEntries() }, `config ${c}`).toEqual({ step, i, y: x, entries: b.cpus[0].lastWalkEntries() });
            const w = x.ok ? 0 : x.vector === 14 ? (14 << 16) | x.errorCode : x.vector << 16;
            if (out.fault[i] !== w || out.pa[i] !== (x.ok ? x.pa : 0n)) {
              expect({ step, i, fault: out.fault[i], pa: out.pa[i] }, `config ${c}`).toEqual({ step, i, fault: w, pa: x.ok ? x.pa : 0n });
            }
          }
        }
        const state = (m: Machine) => ({ stats: m.cpus[0].stats, cr2: m.cpus[0].cr2, tlb: m.cpus[0].tlbEntries(), psc: m.cpus[0].pscEntries() });
        expect(state(a), `config ${c} step ${step}`).toEqual(state(b));
        expect(state(c3), `config ${c} step ${step}`).toEqual(state(b));
      }
      hits += a.cpus[0].stats.tlbHits;
    }
    expect(hits).toBeGreaterThan(2000);
  });

  it('agree on batches whose misses walk hundreds of leaf tables and evict large pages', async () => {
    // tlbLoop reads the tables of the addresses ahead while its misses walk to leaf tables it has
    // not seen lately: 512 leaf tables under one PD, random leaves and some random PDEs (not
    // present, 2 MiB pages, frames past RAM, reserved bits). Beside them 4,096 2 MiB pages (8 PDs)
    // and 32 1 GiB pages, more than their TLB classes hold, so that fills evict large entries.
    const r = new Prng(0x70c4);
    const ram = 4 << 20;
    for (let c = 0; c < 4; c++) {
      const vendor: Vendor = c % 2 ? 'amd' : 'intel';
      const la57 = c >= 2;
      // maximal retention counts evictions (2,048 2 MiB entries: the large pages get more
      // addresses; a PDPTE cache of four ways, so that 2 MiB misses take the quick path)
      const retention = c === 3 ? ('maximal' as const) : ('realistic' as const);
      const opts = { ramBytes: ram, vendor, maxPhysAddrBits: 46, retention, ...(c === 3 ? { psc: { pdpte: { sets: 16, ways: 4 } } } : {}) };
      const [a, b] = await Promise.all([Machine.create(opts), Machine.create(opts)]);
      const both = (f: (m: Machine) => void) => {
        f(a);
        f(b);
      };
      const w64 = (pa: number, e: bigint) => both((m) => m.phys.write64(BigInt(pa), e));
      // PML5 (frame 7) -> PML4 (1) -> PDPT (2) -> PD (3) -> leaf tables (frames 8..519); PDPT
      // entries 1..8 -> PDs of 2 MiB pages (frames 520..527); entries 16..47: 1 GiB pages
      w64(7 * 4096, (1n << 12n) | 0x27n);
      w64(4096, (2n << 12n) | 0x27n);
      w64(2 * 4096, (3n << 12n) | 0x27n);
      for (let i = 1; i < 512; i++) {
        w64(4096 + i * 8, randomEntry(r, 46));
        const large = (BigInt(r.below(1 << 16)) << 30n) | 0xa7n | (r.nextFloat() < 0.2 ? 1n << 63n : 0n) | (r.nextFloat() < 0.1 ? 0n : 0x40n);
        w64(2 * 4096 + i * 8, i <= 8 ? (BigInt(519 + i) << 12n) | 0x27n : i >= 16 && i < 48 ? large : randomEntry(r, 46));
      }
      for (let i = 0; i < 512; i++) w64(3 * 4096 + i * 8, r.nextFloat() < 0.06 ? randomEntry(r, 46) : (BigInt(8 + i) << 12n) | 0x27n);
      for (let f = 8; f < 520; f++) for (let i = 0; i < 512; i++) w64(f * 4096 + i * 8, randomEntry(r, 46) | (r.nextFloat() < 0.9 ? 0x27n : 0n));
      for (let f = 520; f < 528; f++)
        for (let i = 0; i < 512; i++) {
          const e = (BigInt(r.below(1 << 20)) << 21n) | 0xa7n | (r.nextFloat() < 0.2 ? 1n << 63n : 0n) | (r.nextFloat() < 0.5 ? 0x40n : 0n);
          w64(f * 4096 + i * 8, r.nextFloat() < 0.03 ? randomEntry(r, 46) : r.nextFloat() < 0.05 ? e & ~2n : e);
        }
      both((m) => {
        m.cpus[0].setControl({ cr0: 1n, cr4: (1n << 5n) | (la57 ? 1n << 12n : 0n), efer: (1n << 8n) | (1n << 11n), cr3: BigInt((la57 ? 7 : 1) * 4096) });
        m.cpus[0].setControl({ cr0: (1n << 0n) | (1n << 16n) | (1n << 31n) });
      });
      const n = 8000;
      const vas = new BigUint64Array(n);
      const kinds = new Uint8Array(n);
      const largeShare = retention === 'maximal' ? 0.6 : 0.3;
      for (let i = 0; i < n; i++) {
        const x = r.nextFloat();
        const off = BigInt(r.below(4096));
        vas[i] =
          x < 0.6 - largeShare
            ? (BigInt(r.below(1 << 18)) << 12n) | off // the 4 KiB pages
            : x < 0.6
              ? (BigInt(512 + r.below(4096)) << 21n) | off // the 2 MiB pages
              : x < 0.66
                ? (BigInt(16 + r.below(32)) << 30n) | off // the 1 GiB pages
                : x < 0.99
                  ? (BigInt(r.below(1 << 18)) << 12n) | off
                  : x < 0.995
                    ? (BigInt(r.nextU32()) << 16n) & ((1n << 47n) - 1n)
                    : 1n << 62n;
        kinds[i] = r.below(3);
      }
      const cpl = c % 3 === 0 ? 0 : 3;
      const out = { pa: new BigUint64Array(n), fault: new Uint32Array(n) };
      a.cpus[0].translateBatch(vas, kinds, out, { cpl });
      const names: AccessKind[] = ['read', 'write', 'exec'];
      for (let i = 0; i < n; i++) {
        const x = b.cpus[0].accessExact(vas[i], { kind: names[kinds[i]], cpl });
        const w = x.ok ? 0 : x.vector === 14 ? (14 << 16) | x.errorCode : x.vector << 16;
        if (out.fault[i] !== w || out.pa[i] !== (x.ok ? x.pa : 0n)) {
          expect({ i, fault: out.fault[i], pa: out.pa[i] }, `config ${c}`).toEqual({ i, fault: w, pa: x.ok ? x.pa : 0n });
        }
      }
      const state = (m: Machine) => ({ stats: m.cpus[0].stats, cr2: m.cpus[0].cr2, tlb: m.cpus[0].tlbEntries(), psc: m.cpus[0].pscEntries() });
      expect(state(a), `config ${c}`).toEqual(state(b));
      expect(a.cpus[0].stats.tlbMisses, `config ${c}: misses`).toBeGreaterThan(n / 2);
      if (retention === 'maximal') expect(a.cpus[0].stats.forcedEvictions, `config ${c}: evictions`).toBeGreaterThan(100);
      for (let f = 1; f < 528; f++)
        for (let i = 0; i < 512; i++)
          if (a.phys.read64(BigInt(f * 4096 + i * 8)) !== b.phys.read64(BigInt(f * 4096 + i * 8))) expect(`frame ${f} entry ${i}`).toBe('equal');
    }
  });
});

describe('translateBatch (caches off) = the same accesses one at a time, in PAE and 32-bit paging', () => {
  it('results, CR2, statistics and A/D bits agree on 24 random configurations', async () => {
    const r = new Prng(0x1e9a);
    let faults = 0;
    let ok = 0;
    for (let c = 0; c < 24; c++) {
      const pae = c % 2 === 0;
      const vendor: Vendor = c % 4 >= 2 ? 'amd' : 'intel';
      const maxPa = [36, 40, 46][c % 3];
      const opts = { ramBytes: RAM, vendor, maxPhysAddrBits: maxPa, pse36: c % 3 !== 0, tlb: false as const, psc: false as const };
      const [a, b] = await Promise.all([Machine.create(opts), Machine.create(opts)]);
      const both = (f: (m: Machine) => void) => {
        f(a);
        f(b);
      };
      for (let f = 1; f <= POOL; f++) {
        for (let i = 0; i < (pae ? 512 : 1024); i++) {
          if (pae) {
            const e = randomEntry(r, maxPa);
            both((m) => m.phys.write64(BigInt(f * 4096 + i * 8), e));
          } else {
            // 4-byte entries: mostly a pool table, sometimes a frame past RAM; random flags, PS
            // (4 MiB pages: bits 20:13 PSE-36 address bits, reserved above MAXPHYADDR)
            let e = r.nextFloat() < 0.04 ? r.below(256) & ~1 : ((r.nextFloat() < 0.95 ? 1 + r.below(POOL) : RAM / 4096 + r.below(64)) << 12) | 1;
            if (r.nextFloat() < 0.93) e |= 0x26;
            if (r.nextFloat() < 0.08) e &= ~0x20;
            if (r.nextFloat() < 0.06) e &= ~0x2;
            if (r.nextFloat() < 0.04) e &= ~0x4;
            if (r.nextFloat() < 0.5) e |= 0x40;
            if (r.nextFloat() < 0.1) e |= 0x80 | (r.nextFloat() < 0.3 ? 1 << (13 + r.below(9)) : 0);
            both((m) => m.phys.write32(BigInt(f * 4096 + i * 4), e >>> 0));
          }
        }
      }
      // PAE: the four PDPTEs (loaded into registers by the CR3 write) present or not, never reserved
      const cr3 = BigInt(4096 * (1 + r.below(POOL)) + (pae ? 32 * r.below(4) : 0));
      if (pae)
        for (let i = 0; i < 4; i++) {
          const e = r.nextFloat() < 0.1 ? 0n : (BigInt(1 + r.below(POOL)) << 12n) | 1n;
          both((m) => m.phys.write64(cr3 + BigInt(i * 8), e));
        }
      const cr0 = (1n << 0n) | (1n << 31n) | (r.nextFloat() < 0.7 ? 1n << 16n : 0n);
      const cr4 = (pae ? 1n << 5n : r.nextFloat() < 0.7 ? 1n << 4n : 0n) | (r.nextFloat() < 0.5 ? 1n << 20n : 0n) | (r.nextFloat() < 0.5 ? 1n << 21n : 0n);
      const efer = pae && r.nextFloat() < 0.7 ? 1n << 11n : 0n;
      both((m) => {
        m.cpus[0].setControl({ cr0: 1n, cr4, efer, cr3 });
        m.cpus[0].setControl({ cr0 });
      });
      const cpl = r.nextFloat() < 0.5 ? 3 : 0;
      const ac = r.nextFloat() < 0.3;
      const n = 1500;
      const vas = new BigUint64Array(n);
      const kinds = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        // mostly the first few page tables' addresses, so that walks reach the leaves; bits above 31 ignored
        vas[i] = (BigInt(r.below(4)) << 30n) | (BigInt(r.below(8)) << 21n) | BigInt(r.below(1 << 21)) | (r.nextFloat() < 0.05 ? 1n << 40n : 0n);
        kinds[i] = c % 6 === 5 ? 0 : r.below(3);
      }
      const out = { pa: new BigUint64Array(n).fill(0xdeadn), fault: new Uint32Array(n).fill(0xffff_ffff) };
      const want = batchAgainstOneByOne(a, b, vas, kinds, out, { cpl, ac }, `config ${c} (${pae ? 'PAE' : '32-bit'})`).faults;
      faults += want;
      ok += n - want;
    }
    expect(faults).toBeGreaterThan(3000);
    expect(ok).toBeGreaterThan(3000);
  });
});

describe('the FIFO victim (fill-order words) = the oldest stamp', () => {
  // One 12-way set (the usual geometry's specialised miss path), more pages than ways, PCIDs
  // flushed one at a time (entries leave from the middle of the fill order), INVLPG, and the fill
  // counter started just below its wrap: translateBatch (quickMiss, the fill-order words) and
  // cpu.accessExact (missPath: the stamps) must keep the same entries in the same ways.
  for (const start of [0, 0xffff_ff00]) {
    it(`same entries in the same ways, stamps from ${start.toString(16)}`, async () => {
      const opts = {
        ramBytes: RAM,
        vendor: 'intel' as const,
        maxPhysAddrBits: 46,
        retention: 'maximal' as const,
        tlb: { '4k': { sets: 1, ways: 12 } },
        psc: { pde: { sets: 1, ways: 4 }, pdpte: { sets: 1, ways: 4 } },
      };
      const [a, b] = await Promise.all([Machine.create(opts), Machine.create(opts)]);
      const both = (f: (m: Machine) => void) => {
        f(a);
        f(b);
      };
      // PML4 -> PDPT -> PD -> one leaf table of 512 present user pages (some global), under
      // eight PDEs (more than the PDE cache holds: misses that the PDPTE cache, four ways as in
      // the usual geometry, serves)
      both((m) => {
        m.phys.write64(0x1000n, 0x2027n);
        m.phys.write64(0x2000n, 0x3027n);
        for (let i = 0; i < 8; i++) m.phys.write64(BigInt(0x3000 + i * 8), 0x4027n);
        for (let i = 0; i < 512; i++) m.phys.write64(BigInt(0x4000 + i * 8), (BigInt(0x10 + i) << 12n) | 0x67n | (i % 16 === 0 ? 0x100n : 0n));
        m.cpus[0].setControl({ cr0: 1n, cr4: (1n << 5n) | (1n << 7n), efer: (1n << 8n) | (1n << 11n), cr3: 0x1000n });
        m.cpus[0].setControl({ cr0: (1n << 0n) | (1n << 16n) | (1n << 31n) });
        m.cpus[0].setControl({ cr4: (1n << 5n) | (1n << 7n) | (1n << 17n) });
        m.cpus[0].setControl({ cr3: 0x1001n });
        // the fill counter (CPU block offset 384, assembly/layout.ts C_STAMP): close to its wrap
        (m.cpus[0] as unknown as { view: DataView }).view.setUint32(384, start, true);
      });
      const r = new Prng(0xf1f0 + start);
      let evictions = 0;
      for (let step = 0; step < 400; step++) {
        const op = r.nextFloat();
        if (op < 0.1) {
          const cr3 = 0x1000n | BigInt(1 + r.below(3)) | (r.nextFloat() < 0.4 ? 1n << 63n : 0n);
          both((m) => m.cpus[0].setControl({ cr3 }));
        } else if (op < 0.15) {
          const v = BigInt(r.below(40)) << 12n;
          both((m) => m.cpus[0].invlpg(v));
        } else if (op < 0.16) {
          both((m) => m.cpus[0].setControl({ cr4: m.cpus[0].getControl().cr4 ^ (1n << 7n) })); // PGE: everything flushed
        } else {
          const n = 1 + r.below(12);
          const vas = new BigUint64Array(n);
          for (let i = 0; i < n; i++) vas[i] = (BigInt(r.below(8)) << 21n) | (BigInt(r.below(40)) << 12n) | BigInt(r.below(4096));
          const kinds = new Uint8Array(n);
          const out = { pa: new BigUint64Array(n), fault: new Uint32Array(n) };
          a.cpus[0].translateBatch(vas, kinds, out, { cpl: 3 });
          for (let i = 0; i < n; i++) {
            const x = b.cpus[0].accessExact(vas[i], { kind: 'read', cpl: 3 });
            expect({ step, i, pa: out.pa[i] }).toEqual({ step, i, pa: x.ok ? x.pa : -1n });
          }
        }
        const state = (m: Machine) => ({ step, stats: m.cpus[0].stats, tlb: m.cpus[0].tlbEntries(), psc: m.cpus[0].pscEntries() });
        expect(state(a)).toEqual(state(b));
        evictions = b.cpus[0].stats.forcedEvictions;
      }
      expect(evictions).toBeGreaterThan(500);
    });
  }
});
