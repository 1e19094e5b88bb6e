/**
 * `npx tsx scripts/campaign-digest.ts [--runs N] [--seeds a,b] [--presets p,q] [--lines]`: runs
 * fuzz campaigns (runSeed with shrinking, as the CLI runs them) and prints one hash per preset and
 * seed over every execution the target ran (program CPUs, status, steps, every scheduler choice,
 * finding signature and log, coverage count after the run) and the seed's result (findings with
 * their shrunk traces, corpus and coverage size). A change that claims to keep runs bit for bit
 * must leave every hash unchanged; `--lines` prints the per-execution lines instead, to diff.
 */
import { createHash } from 'node:crypto';
import { Machine } from '../src/core/machine.js';
import type { Coverage } from '../src/fuzz/coverage.js';
import { runSeed } from '../src/fuzz/engine.js';
import { createTarget } from '../src/fuzz/targets.js';
import type { ExecInput, ExecResult } from '../src/fuzz/target.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt('runs', '300'));
const seeds = opt('seeds', '1,2').split(',').map(Number);
const presets = opt(
  'presets',
  'linux-3.8-xen-pv,linux-2.6.37-rc4-xen-pv,linux-4.13-xen-pv,linux-3.2-rt-up,linux-3.17-smp,linux-4.14-smp,linux-4.14-hyperv',
).split(',');
const printLines = args.includes('--lines');

await Machine.ready();
for (const preset of presets) {
  for (const seed of seeds) {
    const t = await createTarget(preset, {});
    const h = createHash('sha256');
    const run = t.run.bind(t);
    let n = 0;
    t.run = (input: ExecInput, cov: Coverage): ExecResult => {
      const r = run(input, cov);
      const line = `${input.program.cpus} ${r.status} ${r.steps} ${r.trace.join(',')} ${r.divergences} ${r.finding?.sanitizer ?? '-'} ${r.finding?.signature ?? '-'} ${r.finding?.log.join('|') ?? ''} ${cov.currentCount}`;
      if (printLines) console.log(`${preset} ${seed} ${n} ${line}`);
      h.update(line + '\n');
      n++;
      return r;
    };
    const res = runSeed(t, seed, { runs, shrinkBudget: 50 });
    h.update(
      JSON.stringify({
        e: res.executions,
        c: res.corpus,
        v: res.coverage,
        f: res.findings.map((f) => [f.signature, f.foundAtExecution, f.count, f.trace.choices.length, f.log]),
      }),
    );
    if (!printLines)
      console.log(`${preset} seed ${seed}: ${n} target runs, ${res.findings.length} findings, coverage ${res.coverage}: ${h.digest('hex').slice(0, 16)}`);
  }
}
