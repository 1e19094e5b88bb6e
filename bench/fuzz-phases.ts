/**
 * `npx tsx bench/fuzz-phases.ts [preset ...] [--seeds 1,2] [--runs N]`: where one fuzz execution's
 * time goes, by phase, on one core: program generation and mutation, the restore of the booted
 * kernel and machine, the interpreter's setup (boot tasks, interrupt sources, oracles), the
 * scheduler's run (and within it the scheduling decisions and the RCU sampling after each step),
 * the coverage commit; and how the time spreads over executions by their scheduler steps (the
 * steps-per-execution distribution and the runs cut at the step limit). Each phase is timed by
 * wrapping its method (performance.now() around every call: the decisions' share includes about
 * 0.1 µs of timer per step); the runs are the campaign's own, as a diagnosis rather than a
 * throughput figure (bench/fuzz.ts --throughput-only measures that).
 */
import { Coverage } from '../src/fuzz/coverage.js';
import { runSeed } from '../src/fuzz/engine.js';
import { Generator } from '../src/fuzz/generate.js';
import { Interpreter } from '../src/fuzz/interp.js';
import { OutcomeOracle } from '../src/fuzz/outcome.js';
import { createTarget } from '../src/fuzz/targets.js';
import type { ExecInput, ExecResult } from '../src/fuzz/target.js';
import { Kernel } from '../src/linux/kernel.js';
import { Scheduler } from '../src/scheduler/scheduler.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args.splice(i, 2)[1] : dflt;
};
const seeds = opt('seeds', '1,2').split(',').map(Number);
const runs = Number(opt('runs', '600'));
const presets = args.length ? args : ['linux-3.17-smp', 'linux-4.14-smp', 'linux-3.2-rt-up', 'linux-4.13-xen-pv'];

const spent = new Map<string, number>();
function time(proto: object, method: string, label: string): void {
  const p = proto as Record<string, (...a: unknown[]) => unknown>;
  const f = p[method];
  p[method] = function (this: unknown, ...a: unknown[]) {
    const t0 = performance.now();
    try {
      return f.apply(this, a);
    } finally {
      spent.set(label, (spent.get(label) ?? 0) + performance.now() - t0);
    }
  };
}
time(Generator.prototype, 'program', 'generate');
time(Generator.prototype, 'schedule', 'generate');
time(Generator.prototype, 'mutate', 'mutate');
time(Kernel.prototype, 'restore', 'restore');
time(Interpreter.prototype, 'setup', 'setup');
time(Scheduler.prototype, 'run', 'run');
time(Scheduler.prototype, 'decide', 'run: decisions');
time(OutcomeOracle.prototype, 'sampleRcu', 'run: RCU sampling');
time(Coverage.prototype, 'commit', 'coverage commit');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const preset of presets) {
  const t = await createTarget(preset, {});
  runSeed(t, 99, { runs: 100, shrinkBudget: 0 }); // warm-up (JIT)
  const rows: { steps: number; status: string; ms: number }[] = [];
  const run = t.run.bind(t);
  t.run = (input: ExecInput, cov: Coverage): ExecResult => {
    const t0 = performance.now();
    const r = run(input, cov);
    rows.push({ steps: r.steps, status: r.status, ms: performance.now() - t0 });
    return r;
  };
  spent.clear();
  const t0 = performance.now();
  let n = 0;
  for (const seed of seeds) n += runSeed(t, seed, { runs, shrinkBudget: 0 }).executions;
  const total = performance.now() - t0;
  const us = (ms: number) => `${((ms * 1000) / n).toFixed(0).padStart(6)} µs ${((100 * ms) / total).toFixed(1).padStart(5)} %`;
  console.log(`${preset}: ${n} executions, ${((total * 1000) / n).toFixed(0)} µs each (wall clock)`);
  for (const [k, v] of spent) console.log(`  ${k.padEnd(20)} ${us(v)}`);
  const steps = rows.map((r) => r.steps);
  const limit = rows.filter((r) => r.status === 'step-limit');
  const runMs = rows.reduce((s, r) => s + r.ms, 0);
  console.log(
    `  steps per execution: median ${median(steps)}, mean ${(steps.reduce((a, b) => a + b, 0) / n).toFixed(0)}; ${limit.length} cut at the step limit ` +
      `(${((100 * limit.reduce((s, r) => s + r.ms, 0)) / runMs).toFixed(0)} % of the time)`,
  );
  const fin = rows.filter((r) => r.status !== 'step-limit');
  console.log(
    `  µs per step: ${((1000 * fin.reduce((s, r) => s + r.ms, 0)) / fin.reduce((s, r) => s + r.steps, 0)).toFixed(1)} (other runs), ${limit.length ? ((1000 * limit.reduce((s, r) => s + r.ms, 0)) / limit.reduce((s, r) => s + r.steps, 0)).toFixed(1) : '-'} (cut at the limit)`,
  );
}
