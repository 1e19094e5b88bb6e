/**
 * `npx tsx scripts/race-rate.ts TRACE [ROOT] [--n 10000]`: how often the program of a finding's
 * trace (e.g. test/fixtures/replay/002-*.json) shows the finding's sanitizer again under N fresh
 * schedules drawn by the generator (fixed Prng seed), per scheduling strategy, with the engine at
 * ROOT (default: this checkout); also the mean number of scheduling choices per run. It separates
 * "the race got harder to hit once the program has the right shape" (a model change: interleaving
 * points, lock order) from "the fuzzer reaches the shape less often" (generator, feedback).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { n: { type: 'string' } } });
if (!positionals[0]) throw new Error('usage: race-rate.ts TRACE [ROOT] [--n N]');
const trace = JSON.parse(readFileSync(positionals[0], 'utf8'));
const root = resolve(positionals[1] ?? fileURLToPath(new URL('..', import.meta.url)));
const at = (p: string) => pathToFileURL(resolve(root, 'src', p)).href;
const { Machine } = await import(at('core/machine.ts'));
const { Coverage } = await import(at('fuzz/coverage.ts'));
const { Generator } = await import(at('fuzz/generate.ts'));
const { createTarget } = await import(at('fuzz/targets.ts'));
const { Prng } = await import(at('scheduler/prng.ts'));
await Machine.ready();
const target = await createTarget(trace.preset, trace.overrides ?? {});
const g = new Generator(new Prng(7), target.maxCpus);
const n = Number(values.n ?? 10000);
const hits: Record<string, [number, number]> = {};
let choices = 0;
for (let i = 0; i < n; i++) {
  const schedule = g.schedule();
  const r = target.run({ program: trace.program, schedule }, new Coverage());
  choices += r.trace?.length ?? 0;
  const h = (hits[schedule.strategy] ??= [0, 0]);
  h[1]++;
  if (r.finding?.sanitizer === trace.finding?.sanitizer) h[0]++;
}
const total = Object.values(hits).reduce((s, [a]) => s + a, 0);
console.log(
  `${trace.preset} ${trace.finding?.sanitizer}: ${total}/${n} runs (${Object.entries(hits)
    .map(([k, [a, b]]) => `${k} ${a}/${b}`)
    .join(', ')}), ${(choices / n).toFixed(1)} choices per run`,
);
