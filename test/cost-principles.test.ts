/**
 * `pagewalk cost` measured counts against first principles (issue 7). Every run is seeded, so
 * the numbers are exact and repeatable; the tolerances below are statistical, justified inline.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/cost/config.js';
import { runCell, type CellResult } from '../src/cost/run.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Runs one cell of a one-config, one-workload matrix described in config-file JSON. */
async function cell(raw: Record<string, unknown>, footprint: number | null = null): Promise<CellResult> {
  const conf = resolveConfig(raw);
  return runCell(conf, { configIndex: 0, workloadIndex: 0, footprint: footprint ?? conf.footprints[0] });
}

describe('sequential accesses', () => {
  it('8-byte sequential reads over 4 KiB pages walk once per 512 accesses', async () => {
    const r = await cell({
      accesses: 512 * 300,
      warmup: 512 * 10,
      footprints: ['64M'],
      workloads: [{ kind: 'sequential', accessBytes: 8 }],
      configs: [{ paging: '4level' }],
    });
    expect(r.stats.walks).toBe(300);
    expect(r.stats.tlbMisses).toBe(300);
    expect(r.stats.tlbHits).toBe(512 * 300 - 300);
    expect(r.walksPer1000).toBeCloseTo(1000 / 512, 10);
    expect(r.stats.faults).toBe(0);
  });

  it('with 2 MiB pages the same stream walks once per 262144 accesses', async () => {
    const r = await cell({
      accesses: 262144 * 2,
      warmup: 0,
      footprints: ['64M'],
      workloads: [{ kind: 'sequential', accessBytes: 8 }],
      configs: [{ paging: '4level', pages: { '2m': 1 } }],
    });
    expect(r.stats.walks).toBe(2);
  });

  it('a 4 KiB stride beyond TLB reach walks on every access', async () => {
    const r = await cell({
      accesses: 20000,
      warmup: 2000,
      footprints: ['64M'],
      workloads: [{ kind: 'strided', stride: 4096 }],
      configs: [{ paging: '4level' }],
    });
    expect(r.stats.walks).toBe(20000);
    expect(r.tlbHitRate).toBe(0);
  });
});

describe('uniform random over a footprint far larger than TLB reach', () => {
  // In steady state every set of the TLB is full and, by symmetry, each of the pages that index
  // a set is equally likely to be resident, so one access hits with probability
  // p = entries / pages = reach / footprint, whatever the replacement policy. Accesses are close
  // to independent Bernoulli(p) trials, so hits ~ Binomial(N, p): we allow 5 standard deviations
  // (a false failure would be a < 1e-6 event, and the seeded run is deterministic anyway).
  const cases: Array<{ name: string; pages: Record<string, number>; reach: number; footprint: number }> = [
    { name: '4 KiB pages, 1536 entries (6 MiB reach) over 64 MiB', pages: { '4k': 1 }, reach: 1536 * 4096, footprint: 64 * MiB },
    { name: '4 KiB pages, 1536 entries (6 MiB reach) over 1 GiB', pages: { '4k': 1 }, reach: 1536 * 4096, footprint: GiB },
    { name: '2 MiB pages, 1536 entries (3 GiB reach) over 16 GiB', pages: { '2m': 1 }, reach: 1536 * 2 * MiB, footprint: 16 * GiB },
  ];
  for (const c of cases) {
    it(`hit rate ≈ reach / footprint: ${c.name}`, async () => {
      const N = 200_000;
      const r = await cell(
        {
          accesses: N,
          warmup: 50_000,
          footprints: [c.footprint],
          workloads: [{ kind: 'uniform' }],
          configs: [{ paging: '4level', pages: c.pages, tlb: { '4k': { sets: 128, ways: 12 }, '2m': { sets: 128, ways: 12 } } }],
        },
        c.footprint,
      );
      const p = c.reach / c.footprint;
      const sd = Math.sqrt(N * p * (1 - p));
      expect(Math.abs(r.stats.tlbHits - N * p)).toBeLessThanOrEqual(5 * sd);
      expect(r.stats.tlbHits + r.stats.tlbMisses).toBe(N);
    });
  }
});

describe('paging-structure caches', () => {
  const tinyTlb = { '4k': { sets: 1, ways: 1 } };

  it('with PML4E/PDPTE/PDE caches warm, a 4-level walk reads one entry (the PTE)', async () => {
    // 64 MiB = 32 PDEs: they fit the 32-entry PDE cache; a 1-entry TLB makes every access walk.
    const r = await cell({
      accesses: 20000,
      warmup: 20000,
      footprints: ['64M'],
      workloads: [{ kind: 'strided', stride: 4096 }],
      configs: [{ paging: '4level', tlb: tinyTlb, psc: { pde: { sets: 8, ways: 4 } } }],
    });
    expect(r.stats.walks).toBe(20000);
    expect(r.stats.memRefs).toBe(r.stats.walks);
    expect(r.stats.pscHitsByLevel.pde).toBe(r.stats.walks);
    expect(r.memRefsPerWalk).toBe(1);
  });

  it('without paging-structure caches every 4-level walk reads four entries', async () => {
    const r = await cell({
      accesses: 5000,
      warmup: 1000,
      footprints: ['64M'],
      workloads: [{ kind: 'strided', stride: 4096 }],
      configs: [{ paging: '4level', tlb: tinyTlb, psc: false }],
    });
    expect(r.stats.memRefs).toBe(4 * r.stats.walks);
    expect(r.stats.pscHits).toBe(0);
  });

  it('with every cache cold, 5-level walks read exactly one entry more than 4-level walks', async () => {
    // A CR3 reload before every access flushes the TLB and every PSC entry of the PCID (SDM §4.10.4.1).
    const run = (paging: string) =>
      cell({ accesses: 3000, warmup: 100, footprints: ['1G'], workloads: [{ kind: 'uniform' }], configs: [{ paging, flush: { kind: 'full', every: 1 } }] });
    const [four, five] = [await run('4level'), await run('5level')];
    expect(four.stats.walks).toBe(3000);
    expect(five.stats.walks).toBe(3000);
    expect(four.memRefsPerWalk).toBe(4);
    expect(five.memRefsPerWalk).toBe(5);
  });

  it('5-level adds at most one reference per walk whatever the workload (PML5E cache cold or warm)', async () => {
    const workloads = [{ kind: 'uniform' }, { kind: 'zipf', exponent: 0.8 }, { kind: 'pointer-chase' }, { kind: 'strided', stride: 2 ** 21 + 4096 }];
    for (const w of workloads) {
      for (const flush of [{ kind: 'none' }, { kind: 'invlpg', every: 7 }]) {
        const run = (paging: string) =>
          cell({
            accesses: 20000,
            warmup: 5000,
            footprints: ['16G'],
            workloads: [w],
            configs: [{ paging, flush, psc: { pml5e: { sets: 1, ways: 1 }, pml4e: { sets: 1, ways: 1 } } }],
          });
        const [four, five] = [await run('4level'), await run('5level')];
        expect(five.stats.walks, `${w.kind}/${flush.kind}`).toBe(four.stats.walks);
        const extra = five.stats.memRefs - four.stats.memRefs;
        expect(extra, `${w.kind}/${flush.kind}`).toBeGreaterThanOrEqual(0);
        expect(extra, `${w.kind}/${flush.kind}`).toBeLessThanOrEqual(five.stats.walks);
        // Each extra reference is a PML5E read, which only a walk missing every cache makes.
        expect(extra).toBeLessThanOrEqual(five.stats.walks - five.stats.pscHits);
      }
    }
  });

  it('per-level entry reads add up to the references, and PSC lookups to the walks that needed them', async () => {
    for (const pages of [{ '4k': 1 }, { '4k': 0.5, '2m': 0.25, '1g': 0.25 }]) {
      const r = await cell({ accesses: 50000, warmup: 10000, footprints: ['16G'], workloads: [{ kind: 'uniform' }], configs: [{ paging: '4level', pages }] });
      const sum = Object.values(r.memRefsByLevel).reduce((a, b) => a + b, 0);
      expect(sum).toBe(r.model.memRefs);
      const hits = r.pscLevels.reduce((a, l) => a + l.hits, 0);
      expect(hits).toBe(r.model.pscHits);
      // With 4 KiB pages only, every walk looks the PDE cache up first.
      if (pages['4k'] === 1) expect(r.pscLevels.find((l) => l.cache === 'PDE')!.lookups).toBe(r.model.walks);
    }
  });
});

describe('context switches, PCIDs and flushes', () => {
  const base = { accesses: 40000, warmup: 10000, footprints: ['4M'], workloads: [{ kind: 'uniform' }] };

  it('without PCIDs a context switch empties the TLB; with PCIDs the entries survive', async () => {
    const off = await cell({ ...base, configs: [{ paging: '4level', contextSwitchEvery: 1000 }] });
    const on = await cell({ ...base, configs: [{ paging: '4level', contextSwitchEvery: 1000, pcid: true }] });
    const none = await cell({ ...base, configs: [{ paging: '4level' }] });
    // 4 MiB = 1024 pages fit the 1536-entry TLB: with no switch (or PCIDs) nothing misses after warm-up.
    expect(none.stats.walks).toBe(0);
    expect(on.stats.walks).toBe(0);
    // Without PCIDs each of the 40 switches refills the touched pages: at least one walk per switch.
    expect(off.stats.walks).toBeGreaterThan(40 * 500);
  });

  it('INVLPG every access of another page forces walks that the PSC cannot shorten', async () => {
    const r = await cell({ ...base, configs: [{ paging: '4level', flush: { kind: 'invlpg', every: 1 } }] });
    // INVLPG drops all PSC entries of the PCID (SDM §4.10.4.1), so every walk reads all 4 levels.
    expect(r.stats.walks).toBeGreaterThan(0);
    expect(r.stats.pscHits).toBe(0);
    expect(r.memRefsPerWalk).toBe(4);
  });
});

describe('paging depths without IA-32e', () => {
  it('PAE walks read PDE and PTE (the PDPTEs are registers); 32-bit walks read PDE and PTE', async () => {
    for (const paging of ['pae', '32bit']) {
      const r = await cell({
        accesses: 5000,
        warmup: 500,
        footprints: ['64M'],
        workloads: [{ kind: 'strided', stride: 4096 }],
        configs: [{ paging, psc: false, tlb: { '4k': { sets: 1, ways: 1 } } }],
      });
      expect(r.stats.walks, paging).toBe(5000);
      expect(r.memRefsPerWalk, paging).toBe(2);
    }
  });

  it('a footprint beyond 4 GiB is skipped in PAE paging, with the reason', async () => {
    const r = await cell({ accesses: 100, warmup: 0, footprints: ['16G'], workloads: [{ kind: 'uniform' }], configs: [{ paging: 'pae' }] });
    expect(r.skipped).toMatch(/4 GiB linear address space of pae/);
  });
});
