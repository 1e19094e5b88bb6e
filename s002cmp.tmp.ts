import { Machine } from '/work/wt/oracles/src/core/machine.js';
import '/work/wt/oracles/src/fuzz/boot.js';
import { LinuxFuzzTarget } from '/work/wt/oracles/src/fuzz/linux-target.js';
import { runUnits } from '/work/wt/oracles/src/fuzz/runner.js';
import { setOutcomeOracles } from '/work/wt/oracles/src/fuzz/outcome.js';
await Machine.ready();
const on = process.argv[2] === 'on';
setOutcomeOracles(on);
const t = new LinuxFuzzTarget('linux-4.13-xen-pv', {});
for (const seed of [2000, 3000, 4000, 5000]) {
  const rs = runUnits(t, { firstSeed: seed, runsPerSeed: 2000, totalRuns: 8000 }, { stopOn: 'pt-use-after-free', shrinkBudget: 20 });
  let n = 0; let found = -1;
  for (const r of rs) { const f = r.findings.find((x) => x.sanitizer === 'pt-use-after-free'); if (f && found < 0) found = n + f.foundAtExecution; n += r.executions; }
  console.log(on ? 'on ' : 'off', seed, found < 0 ? `not found in ${n}` : `found at ${found}`, rs.flatMap((r) => r.findings).map((f) => f.sanitizer).join(','));
}
