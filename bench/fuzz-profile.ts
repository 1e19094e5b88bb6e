/**
 * `tsx bench/fuzz-profile.ts <preset> [seconds] [firstSeed]`: a one-core campaign for a fixed time,
 * printing executions/s; run under `node --cpu-prof --import tsx` to profile the fuzzer.
 */
import { DEFAULT_RUNS_PER_SEED } from '../src/fuzz/campaign.js';
import { runUnits } from '../src/fuzz/runner.js';
import { createTarget } from '../src/fuzz/targets.js';

const [preset = 'linux-4.13-xen-pv', secs = '15', first = '1'] = process.argv.slice(2);
const target = await createTarget(preset, {});
const start = performance.now();
const results = runUnits(
  target,
  { firstSeed: Number(first), runsPerSeed: DEFAULT_RUNS_PER_SEED },
  { shouldStop: () => performance.now() - start >= Number(secs) * 1000 },
);
const ms = performance.now() - start;
const execs = results.reduce((s, r) => s + r.executions, 0);
console.log(
  `${preset}: ${execs} executions in ${(ms / 1000).toFixed(1)} s = ${Math.round((execs / ms) * 1000)}/s, ${results.reduce((s, r) => s + r.findings.length, 0)} findings`,
);
