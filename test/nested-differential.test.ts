/**
 * Differential property tests of nested paging: the WASM 2D walk (assembly/nested.ts, through
 * cpu.nestedAccess and cpu.nestedTranslateBatch) against the reference 2D walker
 * (src/reference/nested.ts) on random guest tables in every guest mode (paging off, 32-bit, PAE,
 * 4-level, 5-level) under random EPT (4- and 5-level, A/D on or off, execute-only supported or
 * not) and NPT (4- and 5-level) tables: random rights, memory types, reserved bits, large pages,
 * not-present entries. Compared: results, exits with their qualification / EXITINFO, guest and
 * host reference counts, and every byte of memory afterwards. Fixed fast-check seeds.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine, decodeNestedFault, type NestedConfig, type PagingMode } from '../src/index.js';
import { referenceNestedAccess, SparseMemory, type HostConfig, type RefConfig, type RefCpuState } from '../src/reference/index.js';
import { prng, Rand } from './support/random-paging.js';
import { apiShape } from './support/nested-shape.js';

const RAM = 4 << 20;
const HOST_POOL = 0x100000n; // host tables: 64 pages
const GUEST_BASE = 0x200000n; // GPA g (< 2 MiB) lives at HPA GUEST_BASE + perm(g)
const GUEST_POOL_PAGES = 24; // guest tables in GPA pages 1..24
const P = 1n,
  RW = 2n,
  US = 4n,
  PS = 0x80n,
  XD = 1n << 63n;

interface NCase {
  mode: PagingMode;
  host: 'ept4' | 'ept5' | 'npt4' | 'npt5';
  vendor: 'intel' | 'amd';
  m: number;
  ad: boolean;
  xo: boolean;
  wp: boolean;
  pse: boolean;
  smep: boolean;
  smap: boolean;
  nxe: boolean;
  pke: boolean;
  seed: number;
}

interface Built {
  mem: SparseMemory;
  guest: RefCpuState;
  host: HostConfig;
  cfg: RefConfig;
  vas: bigint[];
}

function build(c: NCase): Built {
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
    ? { kind: 'ept', eptp: top | (BigInt(hostLevels - 1) << 3n) | 6n | (c.ad ? 0x40n : 0n), executeOnly: c.xo }
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

const machines = new Map<string, Machine>();
function machineFor(c: NCase): Machine {
  const key = `${c.vendor}/${c.m}`;
  let m = machines.get(key);
  if (!m) {
    m = Machine.createSync({ ramBytes: RAM, vendor: c.vendor, maxPhysAddrBits: c.m, tlb: false, psc: false });
    machines.set(key, m);
  }
  m.reset();
  return m;
}

function loadMemory(m: Machine, mem: SparseMemory): void {
  for (const pfn of mem.touchedFrames()) m.phys.writeBytes(BigInt(pfn) << 12n, mem.frameBytes(pfn));
}

const caseArb: fc.Arbitrary<NCase> = fc.record({
  mode: fc.constantFrom<PagingMode>('none', '32bit', 'pae', '4level', '5level'),
  host: fc.constantFrom<NCase['host']>('ept4', 'ept5', 'npt4', 'npt5'),
  vendor: fc.constantFrom<NCase['vendor']>('intel', 'amd'),
  m: fc.constantFrom(36, 46, 48),
  ad: fc.boolean(),
  xo: fc.boolean(),
  wp: fc.boolean(),
  pse: fc.boolean(),
  smep: fc.boolean(),
  smap: fc.boolean(),
  nxe: fc.boolean(),
  pke: fc.boolean(),
  seed: fc.integer({ min: 0, max: 0xffff_ffff }),
});

function runCase(c: NCase, batch: boolean): void {
  const b = build(c);
  const m = machineFor(c);
  loadMemory(m, b.mem);
  const cpu = m.cpus[0]!;
  cpu.setControl({ cr4: b.guest.cr4, efer: b.guest.efer & ~(1n << 10n), cr3: b.guest.cr3, cr0: b.guest.cr0, pkru: b.guest.pkru });
  const nested: NestedConfig =
    b.host.kind === 'ept'
      ? { kind: 'ept', eptp: b.host.eptp, executeOnly: b.host.executeOnly, ...(b.guest.pdptes ? { pdptes: b.guest.pdptes } : {}) }
      : { kind: 'npt', ncr3: b.host.ncr3, levels: b.host.levels, ...(b.guest.pdptes ? { pdptes: b.guest.pdptes } : {}) };
  cpu.setNested(nested);
  const r = new Rand(prng(c.seed ^ 0x5a5a));
  const accesses = Array.from({ length: 8 }, () => ({ va: r.pick(b.vas), kind: r.pick(['read', 'write', 'exec'] as const), cpl: r.pick([0, 3] as const) }));
  const label = (i: number): string => `case ${JSON.stringify(c)} access ${i} ${JSON.stringify({ ...accesses[i], va: accesses[i]!.va.toString(16) })}`;
  if (!batch) {
    accesses.forEach((a, i) => {
      const want = referenceNestedAccess(b.mem, b.guest, a.va, { kind: a.kind, cpl: a.cpl }, b.cfg, b.host);
      cpu.resetNestedStats();
      const got = cpu.nestedAccess(a.va, { kind: a.kind, cpl: a.cpl });
      expect(got, label(i)).toEqual(apiShape(want));
      const s = cpu.nestedStats;
      expect({ guest: s.guestRefs, host: s.hostRefs }, label(i)).toEqual({ guest: want.guestRefs, host: want.hostRefs });
      expect(
        cpu.nestedGrid().map((row) => [row.gpa, row.hostEntries.length, row.hpa]),
        label(i),
      ).toEqual(want.rows.map((row) => [row.gpa, row.hostEntries.length, row.hpa]));
    });
  } else {
    // one batch per CPL: same accesses in order
    for (const cpl of [0, 3] as const) {
      const list = accesses.filter((a) => a.cpl === cpl);
      const vas = new BigUint64Array(list.map((a) => a.va));
      const kinds = new Uint8Array(list.map((a) => ({ read: 0, write: 1, exec: 2 })[a.kind]));
      const out = { pa: new BigUint64Array(list.length), fault: new Uint32Array(list.length) };
      cpu.nestedTranslateBatch(vas, kinds, out, { cpl });
      list.forEach((a, i) => {
        const want = referenceNestedAccess(b.mem, b.guest, a.va, { kind: a.kind, cpl }, b.cfg, b.host);
        const got = out.fault[i] === 0 ? { ok: true, pa: out.pa[i] } : decodeNestedFault(out.fault[i]!, out.pa[i]!);
        const w: Record<string, unknown> = want.ok
          ? { ok: true, pa: want.pa }
          : 'exit' in want
            ? want.exit === 'ept-violation'
              ? { exit: want.exit, qualification: want.qualification & 0xffff, gpa: want.gpa }
              : want.exit === 'ept-misconfig'
                ? { exit: want.exit, gpa: want.gpa }
                : { exit: want.exit, exitInfo1: want.exitInfo1, gpa: want.exitInfo2 }
            : { vector: want.vector, errorCode: want.vector === 14 ? want.errorCode : 0 };
        expect(got, `${label(accesses.indexOf(a))} (batch)`).toEqual(w);
      });
    }
  }
  for (const pfn of b.mem.touchedFrames()) {
    const a = m.phys.readBytes(BigInt(pfn) << 12n, 4096);
    const e = b.mem.frameBytes(pfn);
    if (!a.every((x, i) => x === e[i])) expect.fail(`memory differs in frame 0x${pfn.toString(16)} after ${JSON.stringify(c)}`);
  }
}

describe('nested paging: WASM 2D walk against the reference', () => {
  it('single accesses agree on random 2D tables (every guest mode x EPT 4/5, NPT 4/5)', () => {
    fc.assert(
      fc.property(caseArb, (c) => runCase(c, false)),
      { seed: 17, numRuns: 250 },
    );
  });

  it('batches agree on random 2D tables', () => {
    fc.assert(
      fc.property(caseArb, (c) => runCase(c, true)),
      { seed: 1717, numRuns: 120 },
    );
  });

  it('every combination of guest mode and host is exercised with successes and exits', () => {
    const seen = new Set<string>();
    for (const mode of ['none', '32bit', 'pae', '4level', '5level'] as const) {
      for (const host of ['ept4', 'ept5', 'npt4', 'npt5'] as const) {
        for (let seed = 0; seed < 10; seed++) {
          const c: NCase = {
            mode,
            host,
            vendor: host.startsWith('ept') ? 'intel' : 'amd',
            m: 46,
            ad: seed % 2 === 0,
            xo: true,
            wp: true,
            pse: true,
            smep: false,
            smap: false,
            nxe: true,
            pke: false,
            seed,
          };
          const b = build(c);
          for (const va of b.vas) {
            const r = referenceNestedAccess(b.mem.clone(), b.guest, va, { kind: 'read', cpl: 0 }, b.cfg, b.host);
            seen.add(`${mode}/${host}/${r.ok ? 'ok' : 'exit' in r ? r.exit : 'guest-fault'}`);
          }
          runCase(c, seed % 4 === 3);
        }
        expect(seen.has(`${mode}/${host}/ok`), `${mode}/${host} translates`).toBe(true);
        expect(
          [...seen].some((s) => s.startsWith(`${mode}/${host}/`) && (s.endsWith('violation') || s.endsWith('npf'))),
          `${mode}/${host} exits`,
        ).toBe(true);
      }
    }
  });
});
