/**
 * `node --cpu-prof --import tsx bench/oracle-profile.ts <preset> <on|off> [runs] [seeds]`: the
 * executions of `runOracleCost` (bench/fuzz-core.ts) in one process with the oracles on or off,
 * for a CPU profile of their cost; prints the CPU time.
 */
import { runUnits } from '../src/fuzz/runner.js';
import { createTarget } from '../src/fuzz/targets.js';
import { setOutcomeCoverage, setOutcomeOracles } from '../src/fuzz/outcome.js';

const [preset = 'linux-4.14-smp', mode = 'on', runs = '300', seeds = '10'] = process.argv.slice(2);
setOutcomeCoverage(false);
setOutcomeOracles(mode === 'on');
const target = await createTarget(preset, {});
const t0 = process.cpuUsage();
let executions = 0;
for (let s = 1; s <= Number(seeds); s++)
  executions += runUnits(target, { firstSeed: s, runsPerSeed: Number(runs), seeds: 1 }).reduce((n, r) => n + r.executions, 0);
const t = process.cpuUsage(t0);
console.log(`${preset} oracles ${mode}: ${executions} executions, ${((t.user + t.system) / 1000).toFixed(0)} ms CPU`);
