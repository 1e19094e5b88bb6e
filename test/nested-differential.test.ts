/**
 * Differential property tests of nested paging: the WASM 2D walk (assembly/nested.ts, through
 * cpu.nestedAccess and cpu.nestedTranslateBatch) against the reference 2D walker
 * (src/reference/nested.ts) on random guest tables in every guest mode (paging off, 32-bit, PAE,
 * 4-level, 5-level) under random EPT (4- and 5-level, A/D on or off, execute-only supported or
 * not, mode-based execute control on or off) and NPT (4- and 5-level) tables: random rights, memory types, reserved bits, large pages,
 * not-present entries. Compared: results, exits with their qualification / EXITINFO, guest and
 * host reference counts, and every byte of memory afterwards. Fixed fast-check seeds.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine, decodeNestedFault, type NestedConfig } from '../src/index.js';
import { referenceNestedAccess } from '../src/reference/index.js';
import { prng, Rand } from './support/random-paging.js';
import { apiShape } from './support/nested-shape.js';
import { build, caseArb, loadMemory, RAM, type NCase } from './support/nested-cases.js';

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

function runCase(c: NCase, batch: boolean): void {
  const b = build(c);
  const m = machineFor(c);
  loadMemory(m, b.mem);
  const cpu = m.cpus[0]!;
  cpu.setControl({ cr4: b.guest.cr4, efer: b.guest.efer & ~(1n << 10n), cr3: b.guest.cr3, cr0: b.guest.cr0, pkru: b.guest.pkru });
  const nested: NestedConfig =
    b.host.kind === 'ept'
      ? { kind: 'ept', eptp: b.host.eptp, executeOnly: b.host.executeOnly, mbec: b.host.mbec, ...(b.guest.pdptes ? { pdptes: b.guest.pdptes } : {}) }
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

  it('MBEC cases reach the decisions MBEC adds: user fetches denied by bit 10 alone, allowed by it alone, bit 6 reported', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const c: NCase = {
        mode: '4level',
        host: 'ept4',
        vendor: 'intel',
        m: 46,
        ad: false,
        xo: true,
        mbec: true,
        wp: true,
        pse: true,
        smep: false,
        smap: false,
        nxe: true,
        pke: false,
        seed,
      };
      const b = build(c);
      for (const [va, kind, cpl] of b.vas.flatMap((va) => [[va, 'exec', 3] as const, [va, 'exec', 0] as const, [va, 'read', 0] as const])) {
        const r = referenceNestedAccess(b.mem.clone(), b.guest, va, { kind, cpl }, b.cfg, b.host);
        const leaf = r.rows.at(-1)?.hostEntries.at(-1)?.value ?? 0n;
        if (r.rows.at(-1)?.what !== 'GPA') continue;
        if (r.ok && kind === 'exec' && !(leaf & 4n)) seen.add('exec by bit 10 alone');
        if ('exit' in r && r.exit === 'ept-violation' && r.qualification & 0x20 && !(r.qualification & 0x40)) seen.add('bit 2 without bit 10 denied');
        if ('exit' in r && r.exit === 'ept-violation' && r.qualification & 0x40) seen.add('bit 6 reported');
      }
      if (seed % 25 === 0) runCase(c, seed % 50 === 25);
    }
    expect([...seen].sort()).toEqual(['bit 2 without bit 10 denied', 'bit 6 reported', 'exec by bit 10 alone']);
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
