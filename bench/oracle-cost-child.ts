/**
 * One side of the outcome oracles' cost measurement (bench/fuzz-core.ts `runOracleCost`): a process
 * that fuzzes `preset` with the oracles on or off for its whole life (as a campaign does: its
 * compiled code sees one mode only), and on each message `{ seed, runs }` runs that campaign unit
 * and answers with the CPU time it took.
 *
 * Run by hand, for a CPU profile of the oracles' cost
 * (`node --cpu-prof --import tsx bench/oracle-cost-child.ts <preset> <on|off> [runs] [seeds]`), it
 * runs the units of seeds 1..seeds itself and prints the CPU time.
 */
import { runUnits } from '../src/fuzz/runner.js';
import { createTarget } from '../src/fuzz/targets.js';
import { setOutcomeCoverage, setOutcomeOracles } from '../src/fuzz/outcome.js';

const [preset = 'linux-4.14-smp', mode = 'on', runs = '300', seeds = '10'] = process.argv.slice(2);
// Without the oracles' coverage keys both sides execute the same programs.
setOutcomeCoverage(false);
setOutcomeOracles(mode === 'on');
const target = await createTarget(preset, {});

/** Runs the campaign unit of `seed`: its executions and the CPU time they took. */
function unit(seed: number, n: number): { ms: number; executions: number } {
  const t0 = process.cpuUsage();
  const executions = runUnits(target, { firstSeed: seed, runsPerSeed: n, seeds: 1 }).reduce((s, r) => s + r.executions, 0);
  const t = process.cpuUsage(t0);
  return { ms: (t.user + t.system) / 1000, executions };
}

if (process.send) {
  process.on('message', (m: { seed: number; runs: number } | 'exit') => {
    if (m === 'exit') process.exit(0);
    process.send!(unit(m.seed, m.runs));
  });
  process.send('ready');
} else {
  let ms = 0;
  let executions = 0;
  for (let s = 1; s <= Number(seeds); s++) {
    const r = unit(s, Number(runs));
    ms += r.ms;
    executions += r.executions;
  }
  console.log(`${preset} oracles ${mode}: ${executions} executions, ${ms.toFixed(0)} ms CPU`);
}
