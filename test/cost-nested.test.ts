/**
 * Nested paging in the cost model (src/cost/sim.ts hostTranslate, docs/cost.md "Nested paging"):
 * a 2D walk with every cache off reads (g + 1)(h + 1) − 1 entries — 24 for a 4-level guest on
 * 4-level EPT, 35 for 5 on 5, 19 on 2 MiB host pages — and the host-side caches (host PSCs, a
 * guest-physical TLB) and larger host pages only take references away; the TLBs hold combined
 * translations of the smaller page. Bad nested fields are refused by their path.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/cost/config.js';
import { runCell, type CellResult } from '../src/cost/run.js';

async function cell(config: Record<string, unknown>, footprint = '1G', accesses = 4000): Promise<CellResult> {
  const conf = resolveConfig({ accesses, warmup: 2000, footprints: [footprint], workloads: [{ kind: 'uniform' }], configs: [config] });
  return runCell(conf, { configIndex: 0, workloadIndex: 0, footprint: conf.footprints[0]! }, { core: false });
}

const BARE = { tlb: false, psc: false };

describe('cost model: nested paging', () => {
  it.each([
    ['4level', 4, '4k', 24, 4],
    ['4level', 5, '4k', 29, 4],
    ['5level', 5, '4k', 35, 5],
    ['4level', 4, '2m', 19, 4],
    ['4level', 4, '1g', 14, 4],
    ['pae', 4, '4k', 14, 2],
    ['32bit', 4, '4k', 14, 2],
  ] as const)('%s guest on %i-level EPT with %s host pages, caches off: %i references per 2D walk', async (paging, levels, hostPage, refs, guest) => {
    const r = await cell(
      { ...BARE, paging, nested: { kind: 'ept', levels, hostPage, hostPsc: false } },
      paging === '4level' || paging === '5level' ? '1G' : '256M',
    );
    expect(r.walksPer1000).toBe(1000);
    expect(r.memRefsPerWalk).toBe(refs);
    expect(r.nested).toMatchObject({
      guestRefsPerWalk: guest,
      hostRefsPerWalk: refs - guest,
      hostWalksPerWalk: guest + 1,
      gpaTlbHitRate: 0,
      hostPscHitRate: 0,
    });
  });

  it('host PSCs and a guest-physical TLB take host references away; cycles follow', async () => {
    const bare = await cell({ ...BARE, nested: { kind: 'ept', hostPsc: false } });
    const psc = await cell({ ...BARE, nested: { kind: 'ept' } });
    const ntlb = await cell({ ...BARE, nested: { kind: 'ept', gpaTlb: { sets: 16, ways: 8 } } });
    expect(psc.nested!.hostPscHitRate).toBeGreaterThan(0.9);
    expect(psc.memRefsPerWalk).toBeLessThan(bare.memRefsPerWalk);
    expect(ntlb.nested!.gpaTlbHitRate).toBeGreaterThan(0.3);
    expect(ntlb.memRefsPerWalk).toBeLessThan(psc.memRefsPerWalk);
    expect(psc.cycles.walk).toBeLessThan(bare.cycles.walk);
    expect(ntlb.cycles.walk).toBeLessThan(psc.cycles.walk);
  });

  it('costs more than the same guest run natively, and NPT prices like EPT of the same depth', async () => {
    const native = await cell({ core: 'skylake' }, '4G');
    const ept = await cell({ core: 'skylake', nested: { kind: 'ept' } }, '4G');
    const npt = await cell({ core: 'skylake', nested: { kind: 'npt' } }, '4G');
    expect(ept.walksPer1000).toBeCloseTo(native.walksPer1000, 6); // 4 KiB host pages: the combined TLB reach is the native one
    expect(ept.cycles.total).toBeGreaterThan(1.5 * native.cycles.total);
    expect(npt.memRefsPerWalk).toBe(ept.memRefsPerWalk);
    expect(ept.notes.join(' ')).toContain('priced by the cost model only');
  });

  it('combined TLB entries are of the smaller page: 2 MiB guest pages on 4 KiB host pages walk as often as 4 KiB guest pages', async () => {
    const small = await cell({ pages: { '2m': 1 }, nested: { kind: 'ept', hostPage: '4k' } }, '1G', 6000);
    const large = await cell({ pages: { '2m': 1 }, nested: { kind: 'ept', hostPage: '2m' } }, '1G', 6000);
    expect(small.walksPer1000).toBeGreaterThan(5 * large.walksPer1000);
  });

  it('refuses bad nested fields by their path', () => {
    const bad =
      (nested: unknown): (() => unknown) =>
      () =>
        resolveConfig({ configs: [{ nested }] });
    expect(bad({ kind: 'vmx' })).toThrow(/configs\[0\]\.nested\.kind: must be 'ept' or 'npt'/);
    expect(bad({ kind: 'ept', levels: 3 })).toThrow(/nested\.levels/);
    expect(bad({ kind: 'ept', hostPage: '4m' })).toThrow(/nested\.hostPage/);
    expect(bad({ kind: 'npt', gpaTlb: { sets: 3 } })).toThrow(/nested\.gpaTlb\.sets: must be a power of two/);
    expect(bad({ kind: 'npt', extra: 1 })).toThrow(/extra/);
  });
});
