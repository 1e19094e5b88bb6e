/**
 * Contract tests of nested paging on hand-built tables, run on the reference 2D walker
 * (src/reference/nested.ts) and on the WASM core (cpu.nestedAccess), which must agree on the
 * result and on every byte of memory afterwards. Each
 * expected value worked out from Intel SDM vol. 3C "EPT Misconfigurations", "EPT Violations",
 * "Accessed and Dirty Flags for EPT", "Exit Qualification for EPT Violations" and AMD APM vol. 2
 * §15.25 "Nested Paging" (docs/nested.md).
 */
import { describe, expect, it } from 'vitest';
import {
  referenceNestedAccess,
  SparseMemory,
  EPT_QUAL,
  NPF_FINAL,
  NPF_GUEST_TABLE,
  eptpProblem,
  type HostConfig,
  type RefConfig,
  type RefCpuState,
} from '../src/reference/index.js';
import type { AccessOptions } from '../src/core/types.js';
import { Machine, type NestedConfig } from '../src/index.js';
import type { NestedResult } from '../src/reference/index.js';
import { apiShape } from './support/nested-shape.js';

const machines = new Map<string, Machine>();

/** The reference walk of one access on `mem`, checked against the WASM core on a copy of it. */
function nestedAccess(mem: SparseMemory, guest: RefCpuState, va: bigint, opts: AccessOptions, c: RefConfig, host: HostConfig): NestedResult {
  const before = mem.clone();
  const want = referenceNestedAccess(mem, guest, va, opts, c, host);
  let m = machines.get(c.vendor);
  if (!m) machines.set(c.vendor, (m = Machine.createSync({ ramBytes: RAM, vendor: c.vendor, maxPhysAddrBits: c.maxPhysAddrBits, tlb: false, psc: false })));
  m.reset();
  for (const pfn of before.touchedFrames()) m.phys.writeBytes(BigInt(pfn) << 12n, before.frameBytes(pfn));
  const cpu = m.cpus[0]!;
  cpu.setControl({ cr4: guest.cr4, efer: guest.efer & ~(1n << 10n), cr3: guest.cr3, cr0: guest.cr0 });
  cpu.setNested(
    host.kind === 'ept'
      ? { kind: 'ept', eptp: host.eptp, executeOnly: host.executeOnly, mbec: host.mbec }
      : { kind: 'npt', ncr3: host.ncr3, levels: host.levels },
  );
  expect(cpu.nestedAccess(va, opts), 'WASM core').toEqual(apiShape(want));
  for (const pfn of mem.touchedFrames()) expect(m.phys.readBytes(BigInt(pfn) << 12n, 4096), `frame 0x${pfn.toString(16)}`).toEqual(mem.frameBytes(pfn));
  return want;
}

const P = 1n,
  RW = 2n,
  US = 4n,
  A = 0x20n,
  XD = 1n << 63n;
const R = 1n,
  W = 2n,
  X = 4n,
  WB = 6n << 3n,
  EA = 1n << 8n,
  ED = 1n << 9n;
const RAM = 8 << 20;
const HOST_OFFSET = 0x200000n; // GPA g lives at HPA g + 2 MiB
const cfg: RefConfig = { vendor: 'intel', maxPhysAddrBits: 46, pse36: true, pdpe1gb: true, ramBytes: RAM };
const long: RefCpuState = {
  cr0: (1n << 31n) | (1n << 16n) | 1n,
  cr3: 0x1000n,
  cr4: 1n << 5n,
  efer: (1n << 8n) | (1n << 10n) | (1n << 11n),
  pkru: 0n,
  pkrs: 0n,
};
const VA = (1n << 30n) + (1n << 21n) + (3n << 12n) + 0xabcn; // PML4 0, PDPT 1, PD 1, PT 3
const GPML4E = 0x1000n,
  GPDPTE = 0x2008n,
  GPDE = 0x3008n,
  GPTE = 0x4018n,
  GPAGE = 0x9000n;
const op = (kind: AccessOptions['kind'], cpl: 0 | 3 = 3): AccessOptions => ({ kind, cpl });

/** EPT (or NPT, with `npt`) tables at HPA 0x10000.. mapping GPA 0..2 MiB with 4 KiB pages to GPA + 2 MiB. */
function build(opts: { npt?: boolean; leaf?: (gpa: bigint) => bigint; guestFlags?: bigint; five?: boolean; hostTable?: bigint } = {}): {
  mem: SparseMemory;
  eptPte: (gpa: bigint) => bigint;
} {
  const mem = new SparseMemory(RAM);
  const table = opts.hostTable ?? (opts.npt ? P | RW | US : R | W | X);
  const top = 0x10000n;
  if (opts.five) {
    mem.write64(0xf000n, top | table);
  }
  mem.write64(top, 0x11000n | table);
  mem.write64(0x11000n, 0x12000n | table);
  mem.write64(0x12000n, 0x13000n | table);
  for (let g = 0n; g < 512n; g++) {
    const gpa = g << 12n;
    const flags = opts.leaf ? opts.leaf(gpa) : opts.npt ? P | RW | US : R | W | X | WB;
    mem.write64(0x13000n + g * 8n, (gpa + HOST_OFFSET) | flags);
  }
  const gf = opts.guestFlags ?? P | RW | US;
  const gw = (gpa: bigint, v: bigint): void => mem.write64(gpa + HOST_OFFSET, v);
  gw(GPML4E, 0x2000n | gf);
  gw(GPDPTE, 0x3000n | gf);
  gw(GPDE, 0x4000n | gf);
  gw(GPTE, GPAGE | gf);
  return { mem, eptPte: (gpa) => 0x13000n + (gpa >> 12n) * 8n };
}

const ept = (extra: Partial<Extract<HostConfig, { kind: 'ept' }>> = {}): HostConfig => ({
  kind: 'ept',
  eptp: 0x10000n | (3n << 3n) | 6n,
  executeOnly: true,
  ...extra,
});
const npt: HostConfig = { kind: 'npt', ncr3: 0x10000n, levels: 4 };

describe('reference 2D walk: EPT', () => {
  it('translates through both dimensions with 4 guest and 5 x 4 host references', () => {
    const { mem } = build();
    const r = nestedAccess(mem, long, VA, op('write'), cfg, ept());
    expect(r).toMatchObject({ ok: true, pa: GPAGE + HOST_OFFSET + 0xabcn, gpa: GPAGE + 0xabcn, guestRefs: 4, hostRefs: 20 });
    expect(r.rows.map((x) => x.what)).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE', 'GPA']);
    // the guest's A/D bits land in host memory at the translated addresses
    expect(mem.read64(GPTE + HOST_OFFSET) & 0x60n).toBe(0x60n);
  });

  it('5-level EPT reads five host entries per row', () => {
    const { mem } = build({ five: true });
    const r = nestedAccess(mem, long, VA, op('read'), cfg, ept({ eptp: 0xf000n | (4n << 3n) | 6n }));
    expect(r).toMatchObject({ ok: true, guestRefs: 4, hostRefs: 25 });
  });

  it('execute-only pages: fetch allowed, read an EPT violation; misconfiguration when unsupported', () => {
    const { mem } = build({ leaf: (g) => (g === GPAGE ? X | WB : R | W | X | WB) });
    expect(nestedAccess(mem, long, VA, op('exec'), cfg, ept())).toMatchObject({ ok: true, pa: GPAGE + HOST_OFFSET + 0xabcn });
    const rd = nestedAccess(mem, long, VA, op('read'), cfg, ept());
    expect(rd).toMatchObject({ ok: false, exit: 'ept-violation', gpa: GPAGE + 0xabcn, gla: VA });
    expect(rd.ok === false && 'qualification' in rd && rd.qualification).toBe(EPT_QUAL.READ | EPT_QUAL.EXECUTABLE | EPT_QUAL.GLA_VALID | EPT_QUAL.FINAL);
    expect(nestedAccess(mem, long, VA, op('exec'), cfg, ept({ executeOnly: false }))).toMatchObject({ ok: false, exit: 'ept-misconfig', gpa: GPAGE + 0xabcn });
  });

  it('EPT A/D: guest paging-structure accesses are writes (qualification bits 0 and 1, bit 8 clear)', () => {
    const roTable = (g: bigint): bigint => (g === 0x3000n ? R | X | WB : R | W | X | WB);
    const { mem } = build({ leaf: roTable, guestFlags: P | RW | US | A | 0x40n });
    const withAd = nestedAccess(mem, long, VA, op('read'), cfg, ept({ eptp: 0x10000n | (3n << 3n) | 6n | (1n << 6n) }));
    expect(withAd).toMatchObject({
      ok: false,
      exit: 'ept-violation',
      gpa: GPDE,
      gla: VA,
      qualification: EPT_QUAL.READ | EPT_QUAL.WRITE | EPT_QUAL.READABLE | EPT_QUAL.EXECUTABLE | EPT_QUAL.GLA_VALID,
    });
    // without EPT A/D the same read walks (the guest A bits are already set: no write)
    expect(nestedAccess(mem, long, VA, op('read'), cfg, ept())).toMatchObject({ ok: true });
  });

  it('EPT A/D flags: A on every EPT entry used, D on the leaves of guest tables and of written pages', () => {
    const { mem, eptPte } = build();
    nestedAccess(mem, long, VA, op('read'), cfg, ept({ eptp: 0x10000n | (3n << 3n) | 6n | (1n << 6n) }));
    expect(mem.read64(0x10000n) & (EA | ED)).toBe(EA);
    expect(mem.read64(eptPte(0x3000n)) & (EA | ED)).toBe(EA | ED); // guest PD page: a paging-structure access is a write
    expect(mem.read64(eptPte(GPAGE)) & (EA | ED)).toBe(EA); // the data page was only read
    expect(mem.read64(eptPte(0x5000n)) & (EA | ED)).toBe(0n);
  });

  it('guest A/D updates are data writes: a read-only guest table page without EPT A/D exits on the A update', () => {
    const { mem } = build({ leaf: (g) => (g === 0x3000n ? R | X | WB : R | W | X | WB) });
    const r = nestedAccess(mem, long, VA, op('read'), cfg, ept());
    expect(r).toMatchObject({
      ok: false,
      exit: 'ept-violation',
      gpa: GPDE,
      qualification: EPT_QUAL.WRITE | EPT_QUAL.READABLE | EPT_QUAL.EXECUTABLE | EPT_QUAL.GLA_VALID,
    });
  });

  it('misconfiguration takes the walk before any permission: write-only, reserved bits, memory type 2', () => {
    for (const bad of [W | WB, R | W | X | (2n << 3n), R | W | X | WB | (1n << 50n)]) {
      const { mem } = build({ leaf: (g) => (g === GPAGE ? bad : R | W | X | WB) });
      expect(nestedAccess(mem, long, VA, op('read'), cfg, ept())).toMatchObject({ ok: false, exit: 'ept-misconfig', gpa: GPAGE + 0xabcn });
    }
    // a non-leaf EPT entry with bits 7:3 set (the PDPTE) is a misconfiguration for a guest table access
    const { mem } = build();
    mem.write64(0x11000n, 0x12000n | R | W | X | (1n << 3n));
    expect(nestedAccess(mem, long, VA, op('read'), cfg, ept())).toMatchObject({ ok: false, exit: 'ept-misconfig', gpa: GPML4E });
  });

  it('a not-present EPT entry is a violation with bits 5:3 clear', () => {
    const { mem } = build({ leaf: (g) => (g === GPAGE ? 0n : R | W | X | WB) });
    const r = nestedAccess(mem, long, VA, op('write'), cfg, ept());
    expect(r).toMatchObject({ ok: false, exit: 'ept-violation', qualification: EPT_QUAL.WRITE | EPT_QUAL.GLA_VALID | EPT_QUAL.FINAL, gpa: GPAGE + 0xabcn });
  });

  it('guest faults are delivered to the guest, not as exits', () => {
    const { mem } = build();
    mem.write64(GPTE + HOST_OFFSET, GPAGE | P | US | XD);
    expect(nestedAccess(mem, long, VA, op('write'), cfg, ept())).toMatchObject({ ok: false, vector: 14, errorCode: 7, cr2: VA, guestRefs: 4, hostRefs: 16 });
  });

  it('EPTP checks', () => {
    expect(eptpProblem(0x10000n | (3n << 3n) | 6n, 46)).toBeUndefined();
    expect(eptpProblem(0x10000n | (3n << 3n) | 1n, 46)).toMatch(/memory type/);
    expect(eptpProblem(0x10000n | (2n << 3n) | 6n, 46)).toMatch(/page-walk length/);
    expect(eptpProblem((1n << 47n) | (3n << 3n) | 6n, 46)).toMatch(/reserved/);
  });
});

describe('reference 2D walk: EPT mode-based execute control (SDM "EPT Violations", "Exit Qualification for EPT Violations")', () => {
  const XU = 1n << 10n;
  const Q = EPT_QUAL;
  const mbec = ept({ mbec: true });
  /** EPT tables with bit 10 in every table entry; the final page's EPT PTE is `page`, every other page RWX + XU. */
  const mbecBuild = (page: bigint, guestFlags?: bigint): SparseMemory =>
    build({ hostTable: R | W | X | XU, leaf: (gpa) => (gpa === GPAGE ? page : R | W | X | XU) | WB, ...(guestFlags === undefined ? {} : { guestFlags }) }).mem;

  it('a user-mode linear address needs bit 10: bit 2 alone is a violation (bit 5 set, bit 6 clear), whatever the CPL', () => {
    for (const cpl of [3, 0] as const) {
      const r = nestedAccess(mbecBuild(R | W | X), long, VA, op('exec', cpl), cfg, mbec);
      expect(r).toMatchObject({ ok: false, exit: 'ept-violation', gpa: GPAGE + 0xabcn, gla: VA });
      expect('qualification' in r && r.qualification).toBe(Q.FETCH | Q.READABLE | Q.WRITABLE | Q.EXECUTABLE | Q.GLA_VALID | Q.FINAL);
    }
    expect(nestedAccess(mbecBuild(R | W | XU), long, VA, op('exec'), cfg, mbec)).toMatchObject({ ok: true, pa: GPAGE + HOST_OFFSET + 0xabcn });
  });

  it('a supervisor-mode linear address (a guest U/S = 0) needs bit 2: bit 10 alone is a violation (bit 6 set, bit 5 clear)', () => {
    const r = nestedAccess(mbecBuild(R | W | XU, P | RW), long, VA, op('exec', 0), cfg, mbec);
    expect(r).toMatchObject({ ok: false, exit: 'ept-violation', gpa: GPAGE + 0xabcn });
    expect('qualification' in r && r.qualification).toBe(Q.FETCH | Q.READABLE | Q.WRITABLE | Q.USER_EXECUTABLE | Q.GLA_VALID | Q.FINAL);
    expect(nestedAccess(mbecBuild(R | W | X, P | RW), long, VA, op('exec', 0), cfg, mbec)).toMatchObject({ ok: true });
  });

  it('with guest paging off every address is supervisor-mode', () => {
    const off: RefCpuState = { cr0: 1n, cr3: 0n, cr4: 0n, efer: 0n, pkru: 0n, pkrs: 0n };
    const r = nestedAccess(mbecBuild(R | XU), off, GPAGE + 0x10n, op('exec'), cfg, mbec);
    expect(r).toMatchObject({ ok: false, exit: 'ept-violation', gpa: GPAGE + 0x10n });
    expect('qualification' in r && r.qualification).toBe(Q.FETCH | Q.READABLE | Q.USER_EXECUTABLE | Q.GLA_VALID | Q.FINAL);
    expect(nestedAccess(mbecBuild(R | X), off, GPAGE + 0x10n, op('exec'), cfg, mbec)).toMatchObject({ ok: true, pa: GPAGE + HOST_OFFSET + 0x10n });
  });

  it('an entry with only bit 10 is present: user fetch allowed, read a violation; a misconfiguration without execute-only support', () => {
    expect(nestedAccess(mbecBuild(XU), long, VA, op('exec'), cfg, mbec)).toMatchObject({ ok: true, pa: GPAGE + HOST_OFFSET + 0xabcn });
    const r = nestedAccess(mbecBuild(XU), long, VA, op('read'), cfg, mbec);
    expect(r).toMatchObject({ ok: false, exit: 'ept-violation' });
    expect('qualification' in r && r.qualification).toBe(Q.READ | Q.USER_EXECUTABLE | Q.GLA_VALID | Q.FINAL);
    expect(nestedAccess(mbecBuild(XU), long, VA, op('read'), cfg, ept({ mbec: true, executeOnly: false }))).toMatchObject({
      exit: 'ept-misconfig',
      gpa: GPAGE + 0xabcn,
    });
    // write without read stays a misconfiguration
    expect(nestedAccess(mbecBuild(W | XU), long, VA, op('exec'), cfg, mbec)).toMatchObject({ exit: 'ept-misconfig' });
  });

  it('without MBEC bit 10 is ignored: bit 2 executes user-mode addresses, bit 10 alone is not present', () => {
    expect(nestedAccess(mbecBuild(R | W | X), long, VA, op('exec'), cfg, ept())).toMatchObject({ ok: true });
    const r = nestedAccess(mbecBuild(XU), long, VA, op('exec'), cfg, ept());
    expect(r).toMatchObject({ ok: false, exit: 'ept-violation' });
    expect('qualification' in r && r.qualification).toBe(Q.FETCH | Q.GLA_VALID | Q.FINAL);
  });

  it('guest paging-structure accesses are data accesses: a guest table page without execute rights walks; its A update reports bit 6', () => {
    const mem = build({ hostTable: R | W | X | XU, leaf: (gpa) => (gpa === 0x4000n ? R | XU : R | W | X | XU) | WB, guestFlags: P | RW | US }).mem;
    const r = nestedAccess(mem, long, VA, op('exec'), cfg, mbec);
    expect(r).toMatchObject({ ok: false, exit: 'ept-violation', gpa: GPTE });
    expect('qualification' in r && r.qualification).toBe(Q.WRITE | Q.READABLE | Q.USER_EXECUTABLE | Q.GLA_VALID);
  });
});

describe('reference 2D walk: NPT', () => {
  const acfg: RefConfig = { ...cfg, vendor: 'amd' };
  it('translates, with host accesses as user accesses', () => {
    const { mem } = build({ npt: true });
    expect(nestedAccess(mem, long, VA, op('read', 0), acfg, npt)).toMatchObject({ ok: true, pa: GPAGE + HOST_OFFSET + 0xabcn, guestRefs: 4, hostRefs: 20 });
  });

  it('#NPF on the final translation: EXITINFO1 = #PF code (P, U, I/D) | bit 32, EXITINFO2 = GPA', () => {
    const { mem } = build({ npt: true, leaf: (g) => (g === GPAGE ? P | RW | US | XD : P | RW | US) });
    expect(nestedAccess(mem, long, VA, op('exec', 0), acfg, npt)).toMatchObject({
      ok: false,
      exit: 'npf',
      exitInfo1: 0x15n | NPF_FINAL,
      exitInfo2: GPAGE + 0xabcn,
    });
  });

  it('#NPF on a guest table: a user write, bit 33', () => {
    const { mem } = build({ npt: true, leaf: (g) => (g === 0x4000n ? 0n : g === 0x2000n ? P | US : P | RW | US) });
    expect(nestedAccess(mem, long, VA, op('read'), acfg, npt)).toMatchObject({ ok: false, exit: 'npf', exitInfo1: 0x7n | NPF_GUEST_TABLE, exitInfo2: GPDPTE });
    mem.write64(0x13000n + 2n * 8n, (0x2000n + HOST_OFFSET) | P | RW | US);
    expect(nestedAccess(mem, long, VA, op('read'), acfg, npt)).toMatchObject({ ok: false, exit: 'npf', exitInfo1: 0x6n | NPF_GUEST_TABLE, exitInfo2: GPTE });
  });

  it('a supervisor-only nested entry denies every access (host U/S)', () => {
    const { mem } = build({ npt: true });
    mem.write64(0x12000n, 0x13000n | P | RW);
    expect(nestedAccess(mem, long, VA, op('read', 0), acfg, npt)).toMatchObject({
      ok: false,
      exit: 'npf',
      exitInfo1: 0x7n | NPF_GUEST_TABLE,
      exitInfo2: GPML4E,
    });
  });
});

describe('nested paging API', () => {
  it('counts guest and host references apart, and shows the grid', async () => {
    const m = await Machine.create({ ramBytes: RAM, tlb: false, psc: false });
    const { mem } = build();
    for (const pfn of mem.touchedFrames()) m.phys.writeBytes(BigInt(pfn) << 12n, mem.frameBytes(pfn));
    const cpu = m.cpus[0]!;
    cpu.setControl({ cr4: long.cr4, efer: 0x900n, cr3: long.cr3, cr0: long.cr0 });
    cpu.setNested({ kind: 'ept', eptp: 0x10000n | (3n << 3n) | 6n });
    expect(cpu.nestedAccess(VA, op('read'))).toEqual({ ok: true, pa: GPAGE + HOST_OFFSET + 0xabcn, gpa: GPAGE + 0xabcn });
    expect(cpu.nestedStats).toEqual({ accesses: 1, guestRefs: 4, hostRefs: 20, exits: 0, tlbHits: 0, gpaHits: 0, evictions: 0 });
    const grid = cpu.nestedGrid();
    expect(grid.map((r) => r.what)).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE', 'GPA']);
    expect(grid[4]).toMatchObject({ gpa: GPAGE + 0xabcn, hpa: GPAGE + HOST_OFFSET + 0xabcn });
    expect(grid[0]!.hostEntries.map((e) => e.entryAddress)).toEqual([0x10000n, 0x11000n, 0x12000n, 0x13000n + 8n]);
    const out = { pa: new BigUint64Array(2), fault: new Uint32Array(2) };
    expect(() => cpu.nestedTranslateBatch(new BigUint64Array([VA, VA]), new Uint8Array([0, 7]), out, { cpl: 3 })).toThrow(/kinds\[1\] = 7/);
    m.reset();
    expect(cpu.nestedStats).toEqual({ accesses: 0, guestRefs: 0, hostRefs: 0, exits: 0, tlbHits: 0, gpaHits: 0, evictions: 0 });
  });

  it('refuses bad configurations with a clear error', async () => {
    const m = await Machine.create({ ramBytes: RAM });
    const cpu = m.cpus[0]!;
    expect(() => cpu.nestedAccess(0n, op('read'))).toThrow(/nested paging is off/);
    expect(() => cpu.setNested({ kind: 'ept', eptp: 0x10000n | (3n << 3n) | 1n })).toThrow(/memory type 1/);
    expect(() => cpu.setNested({ kind: 'ept', eptp: 0x10000n | (5n << 3n) | 6n })).toThrow(/page-walk length 6/);
    expect(() => cpu.setNested({ kind: 'npt', ncr3: 1n << 50n })).toThrow(/MAXPHYADDR/);
    expect(() => cpu.setNested({ kind: 'npt', ncr3: 0x10000n, mbec: true } as NestedConfig)).toThrow(
      expect.objectContaining({ code: 'EINVAL_ARG', message: expect.stringMatching(/cfg\.mbec .* NPT has no such option/) }),
    );
    expect(() => cpu.setNested({ kind: 'ept', eptp: 0x10000n | (3n << 3n) | 6n, mbec: 1 as unknown as boolean })).toThrow(/cfg\.mbec must be true or false/);
    cpu.setControl({ cr4: 0x20n, cr3: 0x1000n, cr0: long.cr0 });
    expect(() => cpu.setNested({ kind: 'npt', ncr3: 0x10000n })).toThrow(/pdptes/);
    expect(() => cpu.setNested({ kind: 'npt', ncr3: 0x10000n, pdptes: [1n | 2n, 0n, 0n, 0n] })).toThrow(/reserved bits/);
  });
});
