/**
 * Smoke test of the benchmark's core routine (bench/core.ts) on a tiny guest: every
 * implementation (WASM batched, WASM in place, TLB hits, per-call WASM, the reference walker and,
 * when a C compiler exists, the native C walker) must produce the same result hash over the same
 * addresses, on 4 KiB, 2 MiB and 1 GiB pages with faults of every kind. Hashes, not timings.
 */
import { describe, expect, it } from 'vitest';
import { QUICK_CONFIG, runBench, type BenchConfig } from '../bench/core.js';
import { loadNativeWalker } from '../bench/native.js';

const config: BenchConfig = { ...QUICK_CONFIG, rounds: 1, targetMs: 2 };

describe('bench core routine (quick setting)', () => {
  it('all implementations agree, by hash, on every region', async () => {
    const r = await runBench(config);
    expect(r.problems).toEqual([]);
    const native = loadNativeWalker();
    const regions = config.regions.map((x) => x.name);
    for (const [i, region] of regions.entries()) {
      const hashes = r.agreement[region];
      const names = Object.keys(hashes);
      const suffix = i === 0 ? '' : `@${region}`;
      expect(names).toContain(`wasm-batched${suffix}`);
      expect(names).toContain(`reference${suffix}`);
      expect(names).toContain(`wasm-per-call${suffix}`);
      if (native.ok) expect(names).toContain(`native-c${suffix}`);
      else expect(r.skipped[`native-c${suffix}`]).toBe(native.reason);
      const batched = hashes[`wasm-batched${suffix}`];
      for (const name of names) expect(hashes[name], `${name} on ${region}`).toEqual(batched);
      // Faults of every kind are in the set, and most addresses translate.
      expect(batched.faults).toBeGreaterThan(0);
      expect(batched.faults).toBeLessThan(config.crossCheckAddresses / 2);
    }
    // The TLB-hit path ran on its hot set without a single miss, and agreed with a walk.
    expect(r.agreement.hot['wasm-tlb-hit']).toBeDefined();
    expect(r.implementations['wasm-tlb-hit'].walksPerSec).toBeGreaterThan(0);
    // Ratios are computed for all four targets.
    for (const key of ['batchedOverNative', 'batchedOverReference', 'tlbHitOverWalk', 'batchedOverPerCall']) {
      expect(r.ratios[key]).toBeDefined();
    }
  });
});
