/**
 * The nested TLB (assembly/nested-tlb.ts) against the reference nested TLB
 * (src/reference/nested-tlb.ts): random 2D tables in every guest mode under EPT 4/5 and NPT 4/5,
 * random sequences of accesses, bit flips in guest and host entries that are not invalidated,
 * context switches between two VPIDs/EPTPs (ASIDs), and every invalidation: INVEPT types 1 and 2,
 * INVVPID types 0–3, VM entries with VPID 0, VMRUN's TLB_CONTROL, INVLPGA, the guest's INVLPG and
 * CR3 writes. The WASM TLB is large enough that nothing is evicted (checked), so stale
 * translations must agree exactly: results, exits, TLB hits, references, memory.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine, decodeNestedFault, type NestedConfig } from '../src/index.js';
import { referenceNestedAccess, RefNestedTlb, isCanonical, type NestedResult, type NestedTlbContext } from '../src/reference/index.js';
import { apiShape } from './support/nested-shape.js';
import { build, caseArb, loadMemory, RAM, type NCase } from './support/nested-cases.js';

const SPARE_TOP = 0x13f000n; // a copy of the host's top table: a second EPT root (EP4TA) over the same tables
const FLIP_BITS = [0, 1, 2, 5, 6, 7, 8, 9, 12, 13, 21, 63];

type Op =
  | { t: 'access'; va: number; kind: 'read' | 'write' | 'exec'; cpl: 0 | 3 }
  | { t: 'flip'; entry: number; bit: number }
  | { t: 'switch'; ctx: 0 | 1; tlbControl: 0 | 1 | 3 | 7 }
  | { t: 'invept'; type: 1 | 2; ctx: 0 | 1 }
  | { t: 'invvpid'; type: 0 | 1 | 2 | 3; ctx: 0 | 1; va: number }
  | { t: 'invlpga'; ctx: 0 | 1; va: number }
  | { t: 'guest'; op: 'invlpg' | 'cr3'; va: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('access' as const),
      va: fc.nat(5),
      kind: fc.constantFrom('read', 'read', 'write', 'exec'),
      cpl: fc.constantFrom(0, 3),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('flip' as const), entry: fc.nat(), bit: fc.constantFrom(...FLIP_BITS) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('switch' as const), ctx: fc.constantFrom(0, 1), tlbControl: fc.constantFrom(0, 0, 1, 3, 7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('invept' as const), type: fc.constantFrom(1, 2), ctx: fc.constantFrom(0, 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('invvpid' as const), type: fc.constantFrom(0, 1, 2, 3), ctx: fc.constantFrom(0, 1), va: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('invlpga' as const), ctx: fc.constantFrom(0, 1), va: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('guest' as const), op: fc.constantFrom('invlpg', 'cr3'), va: fc.nat(5) }) },
);

/** The reference result as `decodeNestedFault` (or a translation) shows it for a batch. */
function batchShape(r: NestedResult): unknown {
  if (r.ok) return { pa: r.pa };
  if (!('exit' in r)) return { vector: r.vector, errorCode: r.vector === 14 ? r.errorCode : 0 };
  if (r.exit === 'ept-violation') return { exit: r.exit, qualification: r.qualification & 0xffff, gpa: r.gpa };
  if (r.exit === 'ept-misconfig') return { exit: r.exit, gpa: r.gpa };
  return { exit: r.exit, exitInfo1: r.exitInfo1 & 0x3_0000_00ffn, gpa: r.exitInfo2 };
}

const machines = new Map<string, Machine>();
function machineFor(c: NCase): Machine {
  const key = `${c.vendor}/${c.m}`;
  let m = machines.get(key);
  if (!m) machines.set(key, (m = Machine.createSync({ ramBytes: RAM, vendor: c.vendor, maxPhysAddrBits: c.m })));
  m.reset();
  return m;
}

function run(c: NCase, pge: boolean, vpids: [number, number], ops: Op[], geometry: { sets: number; ways: number }): { hits: number; gpaHits: number } {
  // random tables fault often: take the first of a few seeds with addresses that translate, and
  // send most accesses to those
  let b = build(c);
  let good: bigint[] = [];
  const pgeBit = pge ? 0x80n : 0n;
  for (let k = 1; k <= 8 && c.mode !== 'none'; k++) {
    const probe = b.mem.clone(); // a heuristic: one probe's A/D bits may affect the next
    good = b.vas.filter((va) => referenceNestedAccess(probe, { ...b.guest, cr4: b.guest.cr4 | pgeBit }, va, { kind: 'read', cpl: 0 }, b.cfg, b.host).ok);
    if (good.length) break;
    b = build({ ...c, seed: c.seed + k });
  }
  if (!good.length) return { hits: 0, gpaHits: 0 };
  // global pages: G in the leaf entry of the first good address (its last guest row before 'GPA')
  const rows = referenceNestedAccess(b.mem.clone(), b.guest, good[0]!, { kind: 'read', cpl: 0 }, b.cfg, b.host).rows;
  const leaf = rows.length >= 2 ? rows[rows.length - 2]!.hpa : undefined;
  if (leaf !== undefined && c.seed % 4 !== 0) {
    if (c.mode === '32bit') b.mem.write32(leaf, b.mem.read32(leaf) | 0x100);
    else b.mem.write64(leaf, b.mem.read64(leaf) | 0x100n);
  }
  const ids: [number, number] = b.host.kind === 'ept' ? vpids : [vpids[0] || 4, vpids[1] || 4]; // ASID 0 is the host's
  const guest = { ...b.guest, cr4: b.guest.cr4 | pgeBit };
  const vaOf = (i: number): bigint => (i < 4 ? good[i % good.length]! : b.vas[i % b.vas.length]!);
  const m = machineFor(c);
  const ept = b.host.kind === 'ept';
  const root0 = b.host.kind === 'ept' ? b.host.eptp : b.host.ncr3;
  for (let i = 0n; i < 512n; i++) b.mem.write64(SPARE_TOP + i * 8n, b.mem.read64((root0 & ~0xfffn) + i * 8n));
  loadMemory(m, b.mem);
  const cpu = m.cpus[0]!;
  cpu.setControl({ cr4: guest.cr4, efer: guest.efer & ~(1n << 10n), cr3: guest.cr3, cr0: guest.cr0, pkru: guest.pkru });
  const roots = [root0, (root0 & 0xfffn) | SPARE_TOP];
  const hosts = roots.map((root) => (b.host.kind === 'ept' ? { ...b.host, eptp: root } : { ...b.host, ncr3: root }));
  const cache = new RefNestedTlb();
  let cur: 0 | 1 = 0;
  const ctx = (): NestedTlbContext => ({ cache, id: ids[cur] });
  const pdptes = b.guest.pdptes ? { pdptes: b.guest.pdptes } : {};
  const enter = (k: 0 | 1, tlbControl: 0 | 1 | 3 | 7): void => {
    cur = k;
    const h = hosts[k]!;
    const cfg: NestedConfig =
      h.kind === 'ept'
        ? { kind: 'ept', eptp: h.eptp, executeOnly: h.executeOnly, mbec: h.mbec, vpid: ids[k], tlb: geometry, ...pdptes }
        : { kind: 'npt', ncr3: h.ncr3, levels: h.levels, asid: ids[k], tlbControl, tlb: geometry, ...pdptes };
    cpu.setNested(cfg);
    if (h.kind === 'ept' && ids[k] === 0) cache.vmTransitionVpid0();
    if (h.kind === 'npt') cache.tlbControl(tlbControl, ids[k]);
  };
  enter(0, 1);
  const entries: bigint[] = [];
  const log: string[] = [];
  let hits = 0,
    gpaHits = 0;
  const lin = (va: bigint): bigint => (c.mode === '4level' || c.mode === '5level' ? va : va & 0xffff_ffffn);
  for (const o of ops) {
    log.push(JSON.stringify(o));
    const where = (): string => `case ${JSON.stringify({ c, pge, ids })}\n${log.join('\n')}`;
    if (o.t === 'access') {
      const va = vaOf(o.va);
      const opts = { kind: o.kind, cpl: o.cpl };
      const want = referenceNestedAccess(b.mem, guest, va, opts, b.cfg, hosts[cur]!, ctx());
      cpu.resetNestedStats();
      if (o.va % 2) {
        // through the batch path: one access, its fault word decoded
        const out = { pa: new BigUint64Array(1), fault: new Uint32Array(1) };
        cpu.nestedTranslateBatch(new BigUint64Array([va]), new Uint8Array([{ read: 0, write: 1, exec: 2 }[o.kind]]), out, { cpl: o.cpl });
        const got = out.fault[0] === 0 ? { pa: out.pa[0] } : decodeNestedFault(out.fault[0]!, out.pa[0]!);
        expect(got, where()).toEqual(batchShape(want));
        expect(cpu.nestedStats.tlbHits, where()).toBe(want.source === 'tlb' ? 1 : 0);
      } else {
        const got = cpu.nestedAccess(va, opts);
        expect(got, where()).toEqual(apiShape(want));
        expect(cpu.nestedSource, where()).toBe(want.source ?? 'walk');
      }
      const s = cpu.nestedStats;
      const cached = want.rows.filter((r) => r.cached).length;
      expect({ guest: s.guestRefs, host: s.hostRefs, gpaHits: s.gpaHits }, where()).toEqual({ guest: want.guestRefs, host: want.hostRefs, gpaHits: cached });
      hits += s.tlbHits;
      gpaHits += cached;
      if (want.rows.length) entries.length = 0; // flips go to the entries of the last walk
      for (const r of want.rows) {
        for (const h of r.hostEntries) entries.push(h.entryAddress);
        if (r.what !== 'GPA' && r.hpa !== undefined) entries.push(r.hpa & ~7n);
      }
    } else if (o.t === 'flip') {
      if (!entries.length) continue;
      const a = entries[o.entry % entries.length]!;
      const v = b.mem.read64(a) ^ (1n << BigInt(o.bit));
      b.mem.write64(a, v);
      m.phys.write64(a, v);
    } else if (o.t === 'switch') {
      enter(o.ctx, ept ? 0 : o.tlbControl);
    } else if (o.t === 'invept') {
      if (!ept) continue;
      cpu.invept(o.type, roots[o.ctx]);
      cache.invept(o.type, roots[o.ctx]! & ~0xfffn);
    } else if (o.t === 'invvpid') {
      if (!ept) continue;
      const vpid = ids[o.ctx];
      const la = lin(vaOf(o.va));
      if ((o.type !== 2 && vpid === 0) || (o.type === 0 && !isCanonical(la, '5level'))) {
        expect(() => cpu.invvpid(o.type, vpid, la)).toThrow(/VMfailValid/);
        continue;
      }
      cpu.invvpid(o.type, vpid, la);
      cache.invvpid(o.type, vpid, la);
    } else if (o.t === 'invlpga') {
      if (ept) continue;
      const la = lin(vaOf(o.va));
      cpu.invlpga(la, ids[o.ctx]);
      cache.invlpga(la, ids[o.ctx]);
    } else if (o.op === 'invlpg') {
      const la = lin(vaOf(o.va));
      cpu.invlpg(la);
      if (isCanonical(la, c.mode)) cache.guestInvalidate(b.host.kind, ids[cur], 'invlpg', 0, la);
    } else {
      if (c.mode === 'pae') continue; // a CR3 write would load the PDPTE registers from host memory (docs/nested.md)
      cpu.setControl({ cr3: guest.cr3 });
      cache.guestInvalidate(b.host.kind, ids[cur], 'pcid', 0);
    }
  }
  expect(cpu.nestedStats.evictions, 'the WASM TLB must not evict for the comparison to hold').toBe(0);
  for (const pfn of b.mem.touchedFrames()) {
    const a = m.phys.readBytes(BigInt(pfn) << 12n, 4096);
    const e = b.mem.frameBytes(pfn);
    if (!Buffer.from(a).equals(Buffer.from(e))) expect.fail(`memory differs in frame 0x${pfn.toString(16)}\n${log.join('\n')}`);
  }
  return { hits, gpaHits };
}

describe('nested TLB: WASM against the reference, stale entries included', () => {
  it('random accesses, unflushed modifications and every invalidation agree (EPT 4/5, NPT 4/5, every guest mode)', () => {
    let hits = 0,
      gpaHits = 0;
    fc.assert(
      fc.property(
        caseArb,
        fc.boolean(),
        fc.constantFrom<[number, number]>([1, 2], [0, 1], [3, 3], [0, 0]),
        fc.array(opArb, { minLength: 6, maxLength: 30 }),
        (c, pge, ids, ops) => {
          const r = run(c, pge, ids, ops, { sets: 256, ways: 8 });
          hits += r.hits;
          gpaHits += r.gpaHits;
        },
      ),
      { seed: 0x17_0001, numRuns: 200 },
    );
    // the property exercised the caches
    if (process.env.PAGEWALK_DIFF_STATS) console.log({ hits, gpaHits });
    expect(hits).toBeGreaterThan(60);
    expect(gpaHits).toBeGreaterThan(1000);
  });
});
