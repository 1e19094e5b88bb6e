// Boot once, restore per execution (src/fuzz/linux-target.ts, Kernel.snapshot): a campaign that
// restores the booted kernel and machine before each execution runs exactly the executions of one
// that boots a fresh kernel every time — same status, scheduler steps and choices, finding and
// coverage, execution by execution — on native, Xen PV and Hyper-V-like presets, with programs
// on fewer CPUs than the machine has (a second booted configuration on the same machine).
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import type { Coverage } from '../src/fuzz/coverage.js';
import { runSeed } from '../src/fuzz/engine.js';
import { LinuxFuzzTarget } from '../src/fuzz/linux-target.js';
import type { ExecInput, ExecResult } from '../src/fuzz/target.js';
import { GraphSnapshot } from '../src/util/graph-snapshot.js';

beforeAll(async () => {
  await Machine.ready();
});

/** One line per execution: what the run did, and the coverage the campaign had after it. */
function campaign(preset: string, seed: number, runs: number, snapshots: boolean): string[] {
  const t = new LinuxFuzzTarget(preset, {});
  t.useSnapshots = snapshots;
  const lines: string[] = [];
  const run = t.run.bind(t);
  t.run = (input: ExecInput, cov: Coverage): ExecResult => {
    const r = run(input, cov);
    lines.push(
      `${input.program.cpus} ${r.status} ${r.steps} ${r.trace.join(',')} ${r.finding?.signature ?? '-'} ${r.finding?.log.join('|') ?? ''} ${cov.currentCount}`,
    );
    return r;
  };
  runSeed(t, seed, { runs, shrinkBudget: 20 });
  return lines;
}

describe('boot once, restore per execution', () => {
  for (const [preset, seed, runs] of [
    ['linux-3.17-smp', 3, 150],
    ['linux-4.13-xen-pv', 5, 150],
    ['linux-4.14-hyperv', 7, 100],
  ] as const)
    it(`${preset}: the same executions as booting every time`, () => {
      const fresh = campaign(preset, seed, runs, false);
      const restored = campaign(preset, seed, runs, true);
      expect(new Set(fresh.map((l) => l.split(' ')[0])).size).toBeGreaterThan(preset === 'linux-3.17-smp' ? 1 : 0);
      expect(restored).toEqual(fresh);
    });
});

describe('GraphSnapshot', () => {
  it('restores fields, arrays, Maps, Sets and typed arrays in place, dropping added keys', () => {
    const inner = { n: 1, list: [1, 2], m: new Map([['a', 1]]), s: new Set([1]), t: new Uint32Array([5, 6]) };
    const root = { inner, other: inner, name: 'x' } as Record<string, unknown>;
    const snap = GraphSnapshot.capture(root);
    inner.n = 2;
    inner.list.push(3);
    inner.m.set('b', 2);
    inner.s.delete(1);
    inner.t[0] = 9;
    root.name = 'y';
    root.extra = {};
    snap.restore();
    expect(root).toEqual({ inner: { n: 1, list: [1, 2], m: new Map([['a', 1]]), s: new Set([1]), t: new Uint32Array([5, 6]) }, other: inner, name: 'x' });
    expect(root.inner).toBe(inner);
  });

  it('refuses a generator it was not told about, naming where it is', () => {
    const g = (function* () {})();
    expect(() => GraphSnapshot.capture({ a: { b: [g] } })).toThrow(/generator at root\.a\.b\[0\]/);
    expect(GraphSnapshot.capture({ a: [g] }, { allowGenerator: (x) => x === g }).size).toBe(2);
  });
});
