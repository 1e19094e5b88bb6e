/**
 * `cpu.nestedExplain` against the reference 2D walker on random 2D tables (every guest mode, EPT
 * 4/5, NPT 4/5): the grid's rows (guest-physical address, host entries read, host-physical
 * address), the guest entry each row read, the result and the reference counts agree; the cell
 * that ended the walk is the last one the walk read; a dry run leaves every byte of memory as it
 * was, a real one leaves what the reference leaves. The nested TLB is on and must be bypassed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine, type NestedConfig } from '../src/index.js';
import { referenceNestedAccess } from '../src/reference/index.js';
import { apiShape } from './support/nested-shape.js';
import { build, caseArb, loadMemory, RAM } from './support/nested-cases.js';
import { nestedGridText } from '../src/explain/nested.js';

describe('cpu.nestedExplain', () => {
  it('agrees with the reference walk, cell by cell; dry runs change nothing', () => {
    const machines = new Map<string, Machine>();
    const ends = new Set<string>();
    fc.assert(
      fc.property(caseArb, fc.boolean(), (c, dry) => {
        const b = build(c);
        const key = `${c.vendor}/${c.m}`;
        let m = machines.get(key);
        if (!m) machines.set(key, (m = Machine.createSync({ ramBytes: RAM, vendor: c.vendor, maxPhysAddrBits: c.m })));
        m.reset();
        loadMemory(m, b.mem);
        const cpu = m.cpus[0]!;
        cpu.setControl({ cr4: b.guest.cr4, efer: b.guest.efer & ~(1n << 10n), cr3: b.guest.cr3, cr0: b.guest.cr0, pkru: b.guest.pkru });
        const pdptes = b.guest.pdptes ? { pdptes: b.guest.pdptes } : {};
        const cfg: NestedConfig =
          b.host.kind === 'ept'
            ? { kind: 'ept', eptp: b.host.eptp, executeOnly: b.host.executeOnly, mbec: b.host.mbec, ...pdptes }
            : { kind: 'npt', ncr3: b.host.ncr3, levels: b.host.levels, ...pdptes };
        cpu.setNested(cfg);
        for (const va of b.vas) {
          const opts = { kind: 'write' as const, cpl: 3 as const };
          cpu.nestedAccess(va, opts); // fills the nested TLB: the explanation must not use it
          referenceNestedAccess(b.mem, b.guest, va, opts, b.cfg, b.host); // the same access on the reference
          const frames = b.mem.touchedFrames();
          const snap = (): Buffer => Buffer.concat(frames.map((f) => m!.phys.readBytes(BigInt(f) << 12n, 4096)));
          const before = dry ? snap() : undefined;
          const want = referenceNestedAccess(dry ? b.mem.clone() : b.mem, b.guest, va, opts, b.cfg, b.host);
          const x = cpu.nestedExplain(va, { ...opts, dryRun: dry });
          expect(x.result).toEqual(apiShape(want));
          expect({ g: x.guestRefs, h: x.hostRefs }).toEqual({ g: want.guestRefs, h: want.hostRefs });
          expect(x.rows.map((r) => [r.gpa, r.hostEntries, r.hpa])).toEqual(
            want.rows.map((r) => [r.gpa, r.hostEntries.map((e) => ({ entryAddress: e.entryAddress, value: e.value })), r.hpa]),
          );
          if (before) expect(snap().equals(before), 'dry run changed memory').toBe(true);
          if (x.end) {
            const last = x.rows[x.end.row]!;
            ends.add(x.end.cell === 'guest' ? (x.end.adUpdate ? 'ad' : 'guest') : 'host');
            if (x.end.cell === 'guest' && !x.end.adUpdate) expect(x.end.row).toBe(x.rows.length - 1);
            if (x.end.cell !== 'guest') expect(x.end.cell).toBe(last.hostEntries.length - 1);
            expect(nestedGridText(x)).toContain('ended at: ');
          }
        }
        if (!dry)
          for (const pfn of b.mem.touchedFrames())
            if (!Buffer.from(m.phys.readBytes(BigInt(pfn) << 12n, 4096)).equals(Buffer.from(b.mem.frameBytes(pfn))))
              expect.fail(`memory differs in frame 0x${pfn.toString(16)}`);
      }),
      { seed: 0x17_e1, numRuns: 100 },
    );
    expect([...ends].sort()).toEqual(['ad', 'guest', 'host']);
  });
});
