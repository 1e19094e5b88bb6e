/**
 * The native C baseline of the benchmark (bench/native/walker.c) must compute exactly what the
 * reference walker computes, or the benchmark's comparison would be dishonest. Differential test
 * on random IA-32e page tables (random flags, large pages, reserved bits, shared and looping
 * tables, entries past RAM) under random control settings, in a plain ArrayBuffer at a non-zero
 * base: same results (pa, fault word) and same accessed/dirty bits left in memory. A third of the
 * configurations turn protection keys on (CR4.PKE, CR4.PKS) with random key registers.
 */
import { describe, expect, it } from 'vitest';
import { loadNativeWalker, NATIVE_CFG } from '../bench/native.js';
import { prng } from '../bench/prng.js';
import { referenceAccess, type RefMemory } from '../src/reference/index.js';
import type { AccessKind } from '../src/core/types.js';

const native = loadNativeWalker();
const RAM_BASE = 8192;
const RAM_BYTES = 1 << 20;
const POOL = 24; // table frames 1..POOL

/** Guest memory at `base` inside an ArrayBuffer, with the core's unbacked-address rule. */
class BufferMemory implements RefMemory {
  private readonly dv: DataView;
  constructor(readonly buffer: ArrayBuffer) {
    this.dv = new DataView(buffer, RAM_BASE, RAM_BYTES);
  }
  read64(pa: bigint): bigint {
    return pa + 8n > BigInt(RAM_BYTES) ? 0xffff_ffff_ffff_ffffn : this.dv.getBigUint64(Number(pa), true);
  }
  write64(pa: bigint, v: bigint): void {
    if (pa + 8n <= BigInt(RAM_BYTES)) this.dv.setBigUint64(Number(pa), BigInt.asUintN(64, v), true);
  }
  read32(pa: bigint): number {
    return pa + 4n > BigInt(RAM_BYTES) ? 0xffff_ffff : this.dv.getUint32(Number(pa), true);
  }
  write32(pa: bigint, v: number): void {
    if (pa + 4n <= BigInt(RAM_BYTES)) this.dv.setUint32(Number(pa), v >>> 0, true);
  }
}

/** Byte offset of the first difference, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Runs a native walker (`run`: on its own copy of the tables, into `pa` and `fault`, returning its
 * fault count) and requires the reference walker's results, fault count and memory after the walks.
 */
function expectReference(
  label: string,
  buffer: ArrayBuffer,
  refMem: BufferMemory,
  vas: BigUint64Array,
  kinds: Uint8Array,
  ref: { want: Uint32Array; wantPa: BigUint64Array; faults: number },
  run: (buf: ArrayBuffer, pa: BigUint64Array, fault: Uint32Array) => number,
): void {
  const n = vas.length;
  const buf = buffer.slice(0);
  const pa = new BigUint64Array(n);
  const fault = new Uint32Array(n);
  const nFaults = run(buf, pa, fault);
  for (let i = 0; i < n; i++) {
    if (fault[i] !== ref.want[i] || pa[i] !== ref.wantPa[i])
      expect({ fault: fault[i], pa: pa[i] }, `${label}, access ${i}: va 0x${vas[i].toString(16)} kind ${kinds[i]}`).toEqual({
        fault: ref.want[i],
        pa: ref.wantPa[i],
      });
  }
  expect(nFaults, label).toBe(ref.faults);
  expect(firstDifference(new Uint8Array(buf), new Uint8Array(refMem.buffer)), `${label}: memory after the walks`).toBe(-1);
}

function randomEntry(rand: () => number, maxPa: number): bigint {
  if (rand() < 0.05) return BigInt(Math.floor(rand() * 0x100)) & ~1n; // not present
  const r = rand();
  let frame: bigint;
  if (r < 0.95)
    frame = BigInt(1 + Math.floor(rand() * POOL)); // a pool table (sharing, loops)
  else if (r < 0.98)
    frame = BigInt(RAM_BYTES / 4096 + Math.floor(rand() * 64)); // past RAM
  else frame = BigInt(Math.floor(rand() * 2 ** 30)) & ((1n << BigInt(maxPa - 12)) - 1n); // anywhere
  let e = (frame << 12n) | 1n;
  for (const bit of [1n, 2n, 3n, 4n, 5n, 6n]) if (rand() < 0.6) e |= 1n << bit;
  if (rand() < 0.15) e |= 1n << 8n; // G (reserved in an AMD PML4E)
  if (rand() < 0.9) e |= 0x26n; // mostly RW, US, A so that walks get deep
  if (rand() < 0.12) {
    e = (e & ~0x3fff_f000n) | (1n << 7n); // PS, with a 1 GiB-aligned frame (bits 29:12 clear)
    if (rand() < 0.15) e |= 1n << BigInt(13 + Math.floor(rand() * 17)); // large-page reserved bits 29:13
  }
  if (rand() < 0.1) e |= 1n << 63n; // XD
  if (rand() < 0.02) e |= 1n << BigInt(Math.min(51, maxPa + Math.floor(rand() * (52 - maxPa)))); // above MAXPHYADDR
  if (rand() < 0.3) e |= BigInt(Math.floor(rand() * 16)) << 59n; // protection key (PKE off: ignored)
  return e;
}

function randomAddress(rand: () => number, la57: boolean): bigint {
  const width = la57 ? 57 : 48;
  let va = 0n;
  for (let i = 0; i < width; i += 16) va |= BigInt(Math.floor(rand() * 65536)) << BigInt(i);
  va &= (1n << BigInt(width)) - 1n;
  if (va >> BigInt(width - 1)) va |= ((1n << 64n) - 1n) ^ ((1n << BigInt(width)) - 1n); // sign-extend
  if (rand() < 0.05) va ^= 1n << 62n; // non-canonical
  return va;
}

describe.skipIf(!native.ok)('native C walker (bench/native/walker.c) vs the reference walker', () => {
  it('agrees on 24 random configurations x 2000 random accesses, including A/D bits in memory', () => {
    if (!native.ok) return;
    const rand = prng(0xbe4c);
    let faults = 0;
    let translated = 0;
    let keyFaults = 0;
    for (let c = 0; c < 24; c++) {
      const maxPa = [36, 39, 46, 52][c % 4];
      const la57 = rand() < 0.3;
      const amd = rand() < 0.5;
      const pdpe1gb = rand() < 0.8;
      const user = rand() < 0.5;
      const cr0 = (1n << 0n) | (1n << 31n) | (rand() < 0.7 ? 1n << 16n : 0n);
      const cr4 = (1n << 5n) | (la57 ? 1n << 12n : 0n) | (rand() < 0.5 ? 1n << 20n : 0n) | (rand() < 0.5 ? 1n << 21n : 0n);
      const efer = (1n << 8n) | (1n << 10n) | (rand() < 0.7 ? 1n << 11n : 0n);
      const cr3 = BigInt(4096 * (1 + Math.floor(rand() * POOL)));
      // protection keys in a third of the configurations: Linux's PKRU or random key registers
      const keys = c % 3 === 2;
      const pke = keys && rand() < 0.8;
      const pks = keys && rand() < 0.6;
      const randomPkr = () => (rand() < 0.3 ? 0x5555_5554 : Math.floor(rand() * 2 ** 32));
      const pkru = pke ? randomPkr() : 0;
      const pkrs = pks ? randomPkr() : 0;
      const buffer = new ArrayBuffer(RAM_BASE + RAM_BYTES + 4096);
      const mem = new BufferMemory(buffer);
      for (let f = 1; f <= POOL; f++) for (let i = 0; i < 512; i++) mem.write64(BigInt(f * 4096 + i * 8), randomEntry(rand, maxPa));
      const refMem = new BufferMemory(buffer.slice(0));

      const n = 2000;
      const vas = new BigUint64Array(n);
      const kinds = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        vas[i] = randomAddress(rand, la57);
        // a batch of reads (walked with the kind a constant) every fourth configuration; invalid
        // kinds (walked as reads) in another
        const k = Math.floor(rand() * 3);
        kinds[i] = c % 4 === 1 ? 0 : c % 4 === 3 && rand() < 0.1 ? 3 : k;
      }
      let cfg = (la57 ? NATIVE_CFG.LA57 : 0) | (amd ? NATIVE_CFG.AMD : 0) | (pdpe1gb ? NATIVE_CFG.PDPE1GB : 0) | (user ? NATIVE_CFG.USER : 0);
      if (efer & (1n << 11n)) cfg |= NATIVE_CFG.NXE;
      if (cr0 & (1n << 16n)) cfg |= NATIVE_CFG.WP;
      if (cr4 & (1n << 20n)) cfg |= NATIVE_CFG.SMEP;
      if (cr4 & (1n << 21n)) cfg |= NATIVE_CFG.SMAP;
      if (pke) cfg |= NATIVE_CFG.PKE;
      if (pks) cfg |= NATIVE_CFG.PKS;
      const regs = { cr0, cr3, cr4: cr4 | (pke ? 1n << 22n : 0n) | (pks ? 1n << 24n : 0n), efer, pkru: BigInt(pkru), pkrs: BigInt(pkrs) };
      const refCfg = { vendor: amd ? ('amd' as const) : ('intel' as const), maxPhysAddrBits: maxPa, pse36: true, pdpe1gb, ramBytes: RAM_BYTES };
      const kindNames: AccessKind[] = ['read', 'write', 'exec'];
      const want = new Uint32Array(n);
      const wantPa = new BigUint64Array(n);
      let refFaults = 0;
      for (let i = 0; i < n; i++) {
        const r = referenceAccess(refMem, regs, vas[i], { kind: kindNames[kinds[i]] ?? 'read', cpl: user ? 3 : 0 }, refCfg);
        want[i] = r.ok ? 0 : r.vector === 14 ? (14 << 16) | r.errorCode : r.vector << 16;
        wantPa[i] = r.ok ? r.pa : 0n;
        if (!r.ok) refFaults++;
        if (!r.ok && r.vector === 14 && (r.errorCode & 32) !== 0) keyFaults++;
      }
      // The serial walker and the interleaved one, each on its own copy of the tables.
      for (const name of ['walkBatch', 'walkBatchInterleaved'] as const)
        expectReference(`${name}, config ${c}`, buffer, refMem, vas, kinds, { want, wantPa, faults: refFaults }, (buf, pa, fault) =>
          native.walker[name](buf, RAM_BASE, RAM_BYTES, cr3, maxPa, cfg, vas, kinds, pa, fault, pkru, pkrs),
        );
      faults += refFaults;
      translated += n - refFaults;
    }
    // The random tables exercise both outcomes in quantity, protection-key faults among them.
    expect(keyFaults).toBeGreaterThan(200);
    expect(faults).toBeGreaterThan(8000);
    expect(translated).toBeGreaterThan(8000);
  });

  it('agrees in PAE and 32-bit paging on 16 random configurations x 2000 random accesses', () => {
    if (!native.ok) return;
    const rand = prng(0x1e6a);
    let faults = 0;
    let translated = 0;
    for (let c = 0; c < 16; c++) {
      const pae = c % 2 === 0;
      const maxPa = [36, 40, 46, 52][(c >> 1) % 4];
      const amd = rand() < 0.5;
      const pse36 = rand() < 0.7;
      const user = rand() < 0.5;
      const cr0 = (1n << 0n) | (1n << 31n) | (rand() < 0.7 ? 1n << 16n : 0n);
      const cr4 = (pae ? 1n << 5n : rand() < 0.8 ? 1n << 4n : 0n) | (rand() < 0.5 ? 1n << 20n : 0n) | (rand() < 0.5 ? 1n << 21n : 0n);
      const efer = pae && rand() < 0.7 ? 1n << 11n : 0n;
      const buffer = new ArrayBuffer(RAM_BASE + RAM_BYTES + 4096);
      const mem = new BufferMemory(buffer);
      for (let f = 1; f <= POOL; f++)
        for (let i = 0; i < 512; i++) {
          if (pae) mem.write64(BigInt(f * 4096 + i * 8), randomEntry(rand, maxPa));
          else {
            // two 4-byte entries: mostly a pool table, sometimes past RAM; random flags, PS with PSE-36 bits
            for (const half of [0, 4]) {
              let e =
                rand() < 0.05
                  ? Math.floor(rand() * 0x100) & ~1
                  : ((rand() < 0.95 ? 1 + Math.floor(rand() * POOL) : RAM_BYTES / 4096 + Math.floor(rand() * 64)) << 12) | 1;
              for (const bit of [1, 2, 3, 4, 5, 6]) if (rand() < 0.6) e |= 1 << bit;
              if (rand() < 0.9) e |= 0x26;
              if (rand() < 0.12) e |= 0x80 | (rand() < 0.3 ? 1 << (13 + Math.floor(rand() * 9)) : 0);
              mem.write32(BigInt(f * 4096 + i * 8 + half), e >>> 0);
            }
          }
        }
      const cr3 = BigInt(4096 * (1 + Math.floor(rand() * POOL)) + (pae ? 32 * Math.floor(rand() * 4) : 0));
      if (pae) for (let i = 0; i < 4; i++) mem.write64(cr3 + BigInt(i * 8), rand() < 0.1 ? 0n : (BigInt(1 + Math.floor(rand() * POOL)) << 12n) | 1n);
      const refMem = new BufferMemory(buffer.slice(0));
      const n = 2000;
      const vas = new BigUint64Array(n);
      const kinds = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        vas[i] = BigInt(Math.floor(rand() * 2 ** 32)) | (rand() < 0.05 ? 1n << 40n : 0n); // bits above 31 ignored
        kinds[i] = c % 4 === 1 ? 0 : Math.floor(rand() * 3);
      }
      let cfg = (pae ? NATIVE_CFG.PAE : NATIVE_CFG.PAGING32) | (amd ? NATIVE_CFG.AMD : 0) | (user ? NATIVE_CFG.USER : 0) | (pse36 ? NATIVE_CFG.PSE36 : 0);
      if (efer & (1n << 11n)) cfg |= NATIVE_CFG.NXE;
      if (cr0 & (1n << 16n)) cfg |= NATIVE_CFG.WP;
      if (cr4 & (1n << 4n)) cfg |= NATIVE_CFG.PSE;
      if (cr4 & (1n << 20n)) cfg |= NATIVE_CFG.SMEP;
      if (cr4 & (1n << 21n)) cfg |= NATIVE_CFG.SMAP;
      const pdptes = pae ? [0, 1, 2, 3].map((i) => refMem.read64(cr3 + BigInt(i * 8))) : undefined;
      const regs = { cr0, cr3, cr4, efer, pkru: 0n, pkrs: 0n, pdptes };
      const refCfg = { vendor: amd ? ('amd' as const) : ('intel' as const), maxPhysAddrBits: maxPa, pse36, pdpe1gb: false, ramBytes: RAM_BYTES };
      const kindNames: AccessKind[] = ['read', 'write', 'exec'];
      const want = new Uint32Array(n);
      const wantPa = new BigUint64Array(n);
      let refFaults = 0;
      for (let i = 0; i < n; i++) {
        const r = referenceAccess(refMem, regs, vas[i], { kind: kindNames[kinds[i]], cpl: user ? 3 : 0 }, refCfg);
        want[i] = r.ok ? 0 : r.vector === 14 ? (14 << 16) | r.errorCode : r.vector << 16;
        wantPa[i] = r.ok ? r.pa : 0n;
        if (!r.ok) refFaults++;
      }
      for (const name of ['walkBatch', 'walkBatchGeneric'] as const)
        expectReference(`${name}, config ${c} (${pae ? 'PAE' : '32-bit'})`, buffer, refMem, vas, kinds, { want, wantPa, faults: refFaults }, (buf, pa, fault) =>
          native.walker[name](buf, RAM_BASE, RAM_BYTES, cr3, maxPa, cfg, vas, kinds, pa, fault),
        );
      faults += refFaults;
      translated += n - refFaults;
    }
    expect(faults).toBeGreaterThan(4000);
    expect(translated).toBeGreaterThan(4000);
  });

  it('rejects a RAM window outside the buffer with a clear error', () => {
    if (!native.ok) return;
    const z = new BigUint64Array(1);
    expect(() => native.walker.walkBatch(new ArrayBuffer(4096), 0, 8192, 0n, 46, 0, z, new Uint8Array(1), z, new Uint32Array(1))).toThrow(
      /outside the memory buffer/,
    );
  });
});

describe.skipIf(native.ok)('native C walker unavailable', () => {
  it('reports why it was skipped', () => {
    if (native.ok) return;
    expect(native.reason).toMatch(/compiler|headers|failed/);
  });
});
