/**
 * Timing: calibrate each implementation to a target run length, warm it up (V8 runs the first
 * long WASM call in its baseline tier at about a third of the speed), then time alternating
 * rounds (each implementation once per round, order rotated) and keep the median. Every timed
 * run's output is hashed and checked against the expected hash for the same addresses.
 */
import { performance } from 'node:perf_hooks';
import { hashResults, hex32 } from './hash.js';
import type { Impl } from './impls.js';

/**
 * `cpu`: this process's CPU time (user + system, from getrusage, microsecond resolution), so
 * that time spent preempted by other processes on a shared machine does not count;
 * `wall`: elapsed time (performance.now()).
 */
export type Clock = 'cpu' | 'wall';

export interface MeasureOptions {
  rounds: number;
  clock: Clock;
  /** Target duration of one timed run in milliseconds. */
  targetMs: number;
  /** Expected hash of the first n results of a set (computed by the oracle). */
  expected(setName: string, n: number): number;
}

export interface Measurement {
  name: string;
  set: string;
  /** Addresses translated per run = n × passes. */
  n: number;
  passes: number;
  walksPerSec: number;
  /** Walks per second of every round, in round order. */
  samples: number[];
  hash: number;
  expectedHash: number;
  faults: number;
  problems: string[];
}

let clock: Clock = 'cpu';

/** Milliseconds of the selected clock spent in one run. */
function timeRun(impl: Impl, n: number, passes: number): number {
  if (clock === 'wall') {
    const t0 = performance.now();
    impl.run(n, passes);
    return performance.now() - t0;
  }
  const c0 = process.cpuUsage();
  impl.run(n, passes);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

/** Best (shortest) of three runs: calibration must not be thrown off by one preempted run. */
function bestOf3(impl: Impl, n: number, passes: number): number {
  return Math.max(Math.min(timeRun(impl, n, passes), timeRun(impl, n, passes), timeRun(impl, n, passes)), 1e-3);
}

/** Chooses (n, passes) so that a run lasts about `targetMs`, warming the implementation up. */
export function calibrate(impl: Impl, targetMs: number): { n: number; passes: number } {
  const max = impl.set.vas.length;
  let n = Math.min(max, 256);
  let ms = bestOf3(impl, n, 1);
  while (ms < targetMs / 8 && n < max) {
    n = Math.min(max, n * 4);
    ms = bestOf3(impl, n, 1);
  }
  if (n < max) return { n: Math.max(1, Math.min(max, Math.round((n * targetMs) / ms))), passes: 1 };
  // Whole set: one more long warm-up call happened above; enough passes to fill the target.
  return { n, passes: Math.max(1, Math.round(targetMs / ms)) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Calibrates, warms up and times all implementations in alternating rounds. */
export function measureAll(impls: Impl[], o: MeasureOptions): Measurement[] {
  clock = o.clock;
  const plans = impls.map((impl) => calibrate(impl, o.targetMs));
  // Warm-up at the timed size, then fix the expected hashes.
  impls.forEach((impl, i) => timeRun(impl, plans[i].n, plans[i].passes));
  const results: Measurement[] = impls.map((impl, i) => ({
    name: impl.name,
    set: impl.set.name,
    n: plans[i].n,
    passes: plans[i].passes,
    walksPerSec: 0,
    samples: [],
    hash: 0,
    expectedHash: o.expected(impl.set.name, plans[i].n),
    faults: 0,
    problems: [],
  }));
  for (let round = 0; round < o.rounds; round++) {
    for (let k = 0; k < impls.length; k++) {
      const i = (k + round) % impls.length;
      const impl = impls[i];
      const r = results[i];
      impl.beforeRun?.();
      const ms = timeRun(impl, r.n, r.passes);
      const problem = impl.afterRun?.();
      if (problem) r.problems.push(problem);
      r.samples[round] = (r.n * r.passes) / (ms / 1000);
      const h = hashResults(impl.out, r.n);
      r.hash = h.hash;
      r.faults = h.faults;
      if (h.hash !== r.expectedHash)
        r.problems.push(`round ${round + 1}: hash ${hex32(h.hash)} over ${r.n} addresses differs from wasm-batched's ${hex32(r.expectedHash)}`);
    }
  }
  for (const r of results) r.walksPerSec = median(r.samples);
  return results;
}
