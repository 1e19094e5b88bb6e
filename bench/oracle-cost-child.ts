/**
 * One side of the outcome oracles' cost measurement (bench/fuzz-core.ts `runOracleCost`): a process
 * that fuzzes `preset` with the oracles on or off for its whole life (as a campaign does: its
 * compiled code sees one mode only), and on each message `{ seed, runs }` runs that campaign unit
 * and answers with the CPU time it took.
 */
import { runUnits } from '../src/fuzz/runner.js';
import { createTarget } from '../src/fuzz/targets.js';
import { setOutcomeCoverage, setOutcomeOracles } from '../src/fuzz/outcome.js';

const [preset, mode] = process.argv.slice(2);
// Without the oracles' coverage keys both sides execute the same programs.
setOutcomeCoverage(false);
setOutcomeOracles(mode === 'on');
const target = await createTarget(preset, {});
process.on('message', (m: { seed: number; runs: number } | 'exit') => {
  if (m === 'exit') process.exit(0);
  const t0 = process.cpuUsage();
  const executions = runUnits(target, { firstSeed: m.seed, runsPerSeed: m.runs, seeds: 1 }).reduce((s, r) => s + r.executions, 0);
  const t = process.cpuUsage(t0);
  process.send!({ ms: (t.user + t.system) / 1000, executions });
});
process.send!('ready');
