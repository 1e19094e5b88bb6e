/**
 * Another domain's frames on the Xen PV presets (knob xen_foreign_frames): Linux never allocates
 * them and its direct map does not map them, the malicious-guest vocabulary names them
 * (gpt_update `foreign-ro` / `foreign-rw`), Xen refuses every such entry, and the PV safety audit
 * reports one that a Xen without get_page()'s owner check accepts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { configFromPreset } from '../src/linux/config.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { mm_alloc } from '../src/linux/mm.js';
import { lookup_pte_k, xen_pgd_pin, xenOf } from '../src/linux/xen/index.js';
import { Coverage } from '../src/fuzz/coverage.js';
import { parseProgram, type GptEntry } from '../src/fuzz/program.js';
import { createTarget } from '../src/fuzz/targets.js';
import { XenMm } from '../src/xen/mm.js';
import '../src/presets/xen.js';

beforeAll(async () => {
  await Machine.ready();
});

/**
 * One kernel thread on pool page 0: allocated as a level-`level` table, write-protected and pinned,
 * and entry 3 written (by hypercall, or by a plain store) — after the pin (`pinFirst`), or before,
 * while the page is an ordinary page (Xen then validates the entry at the pin).
 */
const guestOps = (level: number, entry: GptEntry, pinFirst: boolean, via?: 'store') => {
  const pin = [
    { op: 'gpt_lowmem', pt: 0, writable: false },
    { op: 'gpt_pin', pt: 0 },
  ];
  const update = { op: 'gpt_update', pt: 0, index: 3, to: 1, entry, ...(via ? { via } : {}) };
  const ops = [{ op: 'gpt_alloc', pt: 0, level }, ...(pinFirst ? [...pin, update] : [update, ...pin])];
  return parseProgram({ cpus: 1, irqs: [], tasks: [{ cpu: 0, kthread: true, spawn: 'boot', ops }] }, 'program', 1);
};
const program = (level: number, entry: GptEntry, via?: 'store') => guestOps(level, entry, true, via);
const writeThenPin = (level: number, entry: GptEntry, via?: 'store') => guestOps(level, entry, false, via);

const run = async (level: number, entry: GptEntry, overrides: Record<string, number> = {}, make = program, via?: 'store') =>
  (await createTarget('linux-4.14-xen-pv', overrides)).run({ program: make(level, entry, via), schedule: { strategy: 'random', seed: 1 } }, new Coverage());

describe("another domain's frames (xen_foreign_frames)", () => {
  it.each<Record<string, string | number>>([{}, { xen_p2m: 'shuffled', xen_p2m_seed: 5 }])(
    'belong to d0, are never free for Linux, and are not mapped by the direct map (%o)',
    (overrides) => {
      const k = bootLinuxSync(configFromPreset('linux-4.14-xen-pv', overrides));
      const cpu = k.cpus[0];
      k.runSync(xen_pgd_pin(k, cpu, k.runSync(mm_alloc(k, cpu, 'p')))); // the first pv op boots the Xen side
      const xen = xenOf(k);
      // the model's frames are machine frames (pfn_to_mfn() is the identity; the p2m only names them in Xen's log)
      expect(xen.foreignFrames).toEqual([k.m.frames.count - 2, k.m.frames.count - 1]);
      expect(xen.foreignDomid).toBe(0);
      for (const f of xen.foreignFrames) {
        expect(xen.mm.pages.owner[f]).toBe(0);
        expect(k.m.frames.isFree(f)).toBe(false);
        const p = lookup_pte_k(k, k.L.PAGE_OFFSET + BigInt(f) * 4096n);
        expect(p === null || (k.m.phys.read64n(p) & 1n) === 0n).toBe(true);
      }
      // the frame below them is the guest's, and mapped
      const below = xen.foreignFrames[0] - 1;
      expect(xen.mm.pages.owner[below]).toBe(1);
      expect(k.m.phys.read64n(lookup_pte_k(k, k.L.PAGE_OFFSET + BigInt(below) * 4096n)!) & 1n).toBe(1n);
    },
  );

  it('Xen refuses an entry naming one, at every level, read-only or writable, by hypercall or store, as an update or at the pin: no finding', async () => {
    for (const make of [program, writeThenPin])
      for (const via of [undefined, 'store'] as const)
        for (const level of [1, 2, 3, 4])
          for (const entry of ['foreign-ro', 'foreign-rw'] as const) {
            const r = await run(level, entry, {}, make, via);
            expect({ level, entry, via, status: r.status, finding: r.finding?.signature }).toEqual({
              level,
              entry,
              via,
              status: 'finished',
              finding: undefined,
            });
          }
  });

  it('a Xen whose get_page() skips the owner check is reported by the PV safety audit', async () => {
    const get_page = XenMm.prototype.get_page;
    // the planted bug: the reference is taken as if the guest owned the frame
    XenMm.prototype.get_page = function (this: XenMm, mfn: number) {
      return get_page.call(this, mfn, this.pages.owner[mfn]);
    };
    try {
      const l1 = await run(1, 'foreign-rw');
      expect(l1.finding?.sanitizer).toBe('xen-pv-escalation');
      expect(l1.finding?.signature).toMatch(/writable-foreign-frame-via-L1/);
      expect(l1.finding?.log.join('\n')).toMatch(/writable mapping of a frame owned by d0/);
      expect((await run(1, 'foreign-ro')).finding?.signature).toMatch(/read-only-foreign-frame-via-L1/);
      expect((await run(2, 'foreign-ro')).finding?.signature).toMatch(/unvalidated-L2-entry/);
      // written first and validated by the pin: the audit of the table Xen validated reports it
      const pinned = await run(1, 'foreign-rw', {}, writeThenPin);
      expect(pinned.finding?.signature).toMatch(/writable-foreign-frame-via-L1/);
      expect(pinned.finding?.log.join('\n')).toMatch(/validation of mfn [0-9a-f]+ as an L1 table \(entry 3\)/);
      expect((await run(2, 'foreign-ro', {}, writeThenPin)).finding?.signature).toMatch(/unvalidated-L2-entry/);
      // a plain store into the pinned L1 traps, and Xen's emulation takes the reference the same way
      const stored = await run(1, 'foreign-rw', {}, program, 'store');
      expect(stored.finding?.signature).toMatch(/writable-foreign-frame-via-L1/);
      expect(stored.finding?.log.join('\n')).toMatch(/ptwr_emulate of/);
      // a plain store into the ordinary page lands; the pin validates it
      expect((await run(1, 'foreign-ro', {}, writeThenPin, 'store')).finding?.log.join('\n')).toMatch(/validation of mfn [0-9a-f]+ as an L1 table \(entry 3\)/);
      // without foreign frames the operation does nothing
      expect((await run(1, 'foreign-rw', { xen_foreign_frames: 0 })).finding).toBeUndefined();
    } finally {
      XenMm.prototype.get_page = get_page;
    }
  });
});
