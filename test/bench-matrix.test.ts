/**
 * Smoke test of the benchmark matrix (bench/matrix.ts) in its quick setting: on every cell —
 * page sizes, levels, attribute and access mixes, A/D bits clear, TLB hot/sequential/random —
 * the core, the same-semantics C walker, the generic C walker, the C TLB (and the lean walker
 * where its semantics coincide) produce the same results by hash, the reference walker agrees on
 * the first addresses, and walks that write A/D bits leave the same tables. Hashes, not timings.
 */
import { describe, expect, it } from 'vitest';
import { runMatrix } from '../bench/matrix.js';
import { loadNativeWalker } from '../bench/native.js';

const native = loadNativeWalker();

describe.skipIf(!native.ok)('bench matrix (quick setting)', () => {
  it('every implementation agrees on every cell', async () => {
    const r = await runMatrix({ quick: true, rounds: 1, targetMs: 1, seed: 14, filter: [] });
    expect(r.problems).toEqual([]);
    expect(r.cells.length).toBeGreaterThan(10);
    for (const c of r.cells) {
      const names = Object.keys(c.hashes);
      expect(names, c.name).toContain('wasm');
      expect(names.length, c.name).toBeGreaterThanOrEqual(3);
      const exact = names.filter((n) => n !== 'c-lean' || !c.name.includes('mixed'));
      for (const n of exact) if (n !== 'c-lean') expect(c.hashes[n], `${c.name}: ${n}`).toBe(c.hashes.wasm);
    }
    // Faults of several kinds occur, and the TLB cells ran.
    expect(r.cells.find((c) => c.name === 'xd100 ro12')!.faults).toBeGreaterThan(100);
    expect(r.cells.find((c) => c.name.startsWith('TLB hot'))!.mps['wasm-tlb']).toBeGreaterThan(0);
  });
});
