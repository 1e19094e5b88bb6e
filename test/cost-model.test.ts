/**
 * The cost model (src/cost/sim.ts) against the acceptance points of issue 17: steady-state
 * results independent of run length, the two TLB levels of the Skylake preset, a busy second
 * address space with and without PCIDs (and Linux's dynamic ASIDs), writes, parallel walkers,
 * honest labels, and the model counting exactly like the WASM core when configured like it.
 */
import { describe, expect, it } from 'vitest';
import { PagewalkError } from '../src/core/errors.js';
import { resolveConfig } from '../src/cost/config.js';
import { runCell, type CellResult } from '../src/cost/run.js';
import { SetAssoc } from '../src/cost/setassoc.js';

/** One cell; `core: false` prices it with the model alone (the WASM core is not run). */
async function cell(raw: Record<string, unknown>, core = false): Promise<CellResult> {
  const conf = resolveConfig(raw);
  return runCell(conf, { configIndex: 0, workloadIndex: 0, footprint: conf.footprints[0] }, { core });
}

describe('set-associative arrays', () => {
  it('LRU keeps the recently used line, FIFO evicts the oldest fill, bit-PLRU the first unused way', () => {
    const run = (policy: 'lru' | 'fifo' | 'plru'): number[] => {
      const a = new SetAssoc(1, 2, policy);
      a.insert(0, 1, 0);
      a.insert(0, 2, 0);
      a.lookup(0, 1, 0); // use 1 again
      a.insert(0, 3, 0); // evicts 2 (lru, plru) or 1 (fifo)
      return [1, 2, 3].filter((k) => a.lookup(0, k, 0) >= 0);
    };
    expect(run('lru')).toEqual([1, 3]);
    expect(run('plru')).toEqual([1, 3]);
    expect(run('fifo')).toEqual([2, 3]);
  });

  it('a flush by owner tag drops only that address space', () => {
    const a = new SetAssoc(4, 2, 'lru');
    a.insert(0, 8, 1);
    a.insert(1, 9, 2);
    a.flush(1);
    expect(a.lookup(0, 8, 1)).toBe(-1);
    expect(a.lookup(1, 9, 2)).toBeGreaterThanOrEqual(0);
  });
});

describe('steady state', () => {
  it('cycles per access do not depend on the run length once warm (16 GiB uniform, issue 17 check)', async () => {
    // The check is N = 100k vs 1M (docs/cost.md gives the figures); 40k vs 160k keeps the test fast.
    const run = (accesses: number) => cell({ accesses, warmup: 20000, footprints: ['16G'], workloads: [{ kind: 'uniform' }], configs: [{}] });
    const [short, long] = [await run(40_000), await run(160_000)];
    expect(Math.abs(short.cycles.total / long.cycles.total - 1)).toBeLessThan(0.05);
    // Page-table lines compete with data lines: at 16 GiB most PTE reads miss L1 and L2.
    expect(long.refsServed.memory + long.refsServed.L3).toBeGreaterThan(0.3);
  });

  it('a warm-up shorter than the caches and TLBs need is reported', async () => {
    const r = await cell({ accesses: 1000, warmup: 100, footprints: ['1G'], workloads: [{ kind: 'uniform' }], configs: [{}] });
    expect(r.notes.join()).toMatch(/warm-up of 100 accesses is shorter than the \d+ that fill the largest cache \(8M\)/);
  });
});

describe('two TLB levels (Skylake preset)', () => {
  it('4 MiB uniform: the L1 DTLB holds 64 of 1024 pages, the rest pay the STLB hit latency', async () => {
    const r = await cell({ accesses: 50000, footprints: ['4M'], workloads: [{ kind: 'uniform' }], configs: [{ core: 'skylake' }] });
    expect(r.model.walks).toBe(0);
    expect(Math.abs(r.l1HitRate - 64 / 1024)).toBeLessThan(0.01);
    expect(r.stlbHitRate + r.l1HitRate).toBe(1);
    expect(r.cycles.total).toBeCloseTo(9 * r.stlbHitRate, 6);
    expect(r.cycles.total).toBeGreaterThan(8);
    expect(r.cycles.total).toBeLessThan(9);
  });

  it('4 KiB and 2 MiB pages share the STLB: a 2 MiB working set evicts 4 KiB entries', async () => {
    // 1200 4 KiB pages fit the 1536-entry STLB alone, not beside 1200 2 MiB pages.
    const four = await cell({ accesses: 60000, footprints: ['4800K'], workloads: [{ kind: 'uniform' }], configs: [{}] });
    const mixed = await cell({
      accesses: 60000,
      footprints: ['4800M'],
      workloads: [{ kind: 'uniform' }],
      configs: [{ pages: { '4k': 0.0008, '2m': 0.9992 } }],
    });
    expect(four.walksPer1000).toBe(0);
    expect(mixed.model.walks).toBeGreaterThan(0);
  });
});

describe('address spaces, PCIDs and ASIDs', () => {
  const base = { accesses: 60000, footprints: ['2M'], workloads: [{ kind: 'uniform' }] };

  it('with both address spaces busy, PCIDs keep both working sets in the STLB; without, every switch refills', async () => {
    const off = await cell({ ...base, configs: [{ contextSwitchEvery: 1000 }] });
    const on = await cell({ ...base, configs: [{ contextSwitchEvery: 1000, pcid: true }] });
    expect(on.model.contextSwitches).toBe(60);
    // 2 × 512 pages fit the STLB together: with PCIDs no walk after warm-up.
    expect(on.model.walks).toBe(0);
    expect(off.model.walks).toBeGreaterThan(60 * 400);
    expect(off.cycles.total).toBeGreaterThan(on.cycles.total + 1);
  });

  it("Linux's 6 dynamic ASIDs: 8 round-robin address spaces flush on every switch, 4 do not", async () => {
    const run = (addressSpaces: number, asids: number) =>
      cell({ ...base, footprints: ['256K'], configs: [{ contextSwitchEvery: 1000, pcid: true, addressSpaces, asids }] });
    const eight = await run(8, 6);
    const four = await run(4, 6);
    const eightAll = await run(8, 4095);
    expect(eight.model.asidFlushes).toBe(eight.model.contextSwitches);
    expect(four.model.asidFlushes).toBe(0);
    expect(eightAll.model.asidFlushes).toBe(0);
    expect(eight.model.walks).toBeGreaterThan(eightAll.model.walks);
  });
});

describe('writes and walkers', () => {
  it('the first write to a page read before walks again and sets its dirty bit once', async () => {
    const ro = await cell({ accesses: 40000, footprints: ['1M'], workloads: [{ kind: 'uniform' }], configs: [{}] });
    const rw = await cell({ accesses: 40000, warmup: 0, footprints: ['1M'], workloads: [{ kind: 'uniform', writes: 0.5 }], configs: [{}] });
    expect(rw.model.dirtyUpdates).toBeLessThanOrEqual(256);
    expect(rw.model.dirtyUpdates).toBeGreaterThan(200);
    expect(rw.model.dirtyWalks).toBeGreaterThan(0);
    expect(rw.cycles.dirty).toBeGreaterThan(0);
    expect(ro.model.dirtyUpdates).toBe(0);
    // The core sets the same dirty bits: no fault, and its walks include the re-walks.
    const core = await cell({ accesses: 4000, warmup: 0, footprints: ['1M'], workloads: [{ kind: 'uniform', writes: 0.5 }], configs: [{}] }, true);
    expect(core.stats.faults).toBe(0);
  });

  it('independent walks overlap on the page walkers; a pointer chase pays each walk in full', async () => {
    const run = (dependent: boolean, walkers: number) =>
      cell({ accesses: 30000, warmup: 5000, footprints: ['1G'], workloads: [{ kind: 'uniform', dependent }], configs: [{ walkers }] });
    const dep = await run(true, 2);
    const ind = await run(false, 2);
    const four = await run(false, 4);
    expect(dep.cycles.walk / ind.cycles.walk).toBeCloseTo(2, 10);
    expect(dep.cycles.walk / four.cycles.walk).toBeCloseTo(4, 10);
  });
});

describe('honest labels', () => {
  it('a 16 GiB sequential run that touches a few hundred pages is flagged, and refused with strict', async () => {
    const raw = { accesses: 200_000, warmup: 50_000, footprints: ['16G'], workloads: [{ kind: 'sequential' }], configs: [{ pages: { '4k': 0.5, '2m': 0.5 } }] };
    const r = await cell(raw);
    expect(r.warnings[0]).toMatch(/labelled 16G but 250000 accesses of 8 B touch 489 4 KiB pages \(1\.9M\)/);
    expect(r.warnings[1]).toMatch(/pages 4k 50%, 2m 50% requested, but the 1 touched 2 MiB region map (4k|2m) 100%/);
    await expect(cell({ ...raw, strict: true })).rejects.toThrow(PagewalkError);
  });

  it('a 50/50 mix over a uniform 16 GiB run maps the mix (no warning)', async () => {
    const r = await cell({ accesses: 20000, footprints: ['16G'], workloads: [{ kind: 'uniform' }], configs: [{ pages: { '4k': 0.5, '2m': 0.5 } }] });
    expect(r.warnings).toEqual([]);
    expect(Math.abs(r.pageMix['2m'] - 0.5)).toBeLessThan(0.05);
  });
});

describe('the model counts like the WASM core when configured like it', () => {
  // One TLB level with the core's arrays (one per page size, FIFO), the same PSCs: every walk,
  // entry read and PSC hit must be the same, access for access.
  const coreLike = {
    tlbPolicy: 'fifo',
    l1tlb: false,
    stlb: [
      { sizes: ['4k'], sets: 128, ways: 12 },
      { sizes: ['2m'], sets: 128, ways: 12 },
      { sizes: ['1g'], sets: 4, ways: 4 },
    ],
  };
  for (const [name, paging, workload, pages] of [
    ['4-level, uniform 4K', '4level', { kind: 'uniform' }, { '4k': 1 }],
    ['5-level, zipf, page mix', '5level', { kind: 'zipf', exponent: 0.8 }, { '4k': 0.5, '2m': 0.3, '1g': 0.2 }],
  ] as const) {
    it(name, async () => {
      const r = await cell({ accesses: 20000, warmup: 5000, footprints: ['16G'], workloads: [workload], configs: [{ paging, pages, ...coreLike }] }, true);
      expect(r.model.walks).toBe(r.stats.walks);
      expect(r.model.memRefs).toBe(r.stats.memRefs);
      expect(r.model.pscHits).toBe(r.stats.pscHits);
      expect(r.model.pscHitsByLevel).toEqual(r.stats.pscHitsByLevel);
    });
  }
});
