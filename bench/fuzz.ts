/**
 * Fuzzer benchmark (npm run bench:fuzz): executions per second on one core for each seed bug's
 * buggy preset, and the time to first finding of the seed's bug (same sanitizer as its
 * scenario), median over 5 campaign seeds, one core (this thread), each run capped.
 *
 *   npx tsx bench/fuzz.ts [--seeds 5] [--cap 60] [--json]
 *
 * Target (issue 5): every seed bug found in under 10 s median on one core.
 */
import { DEFAULT_RUNS_PER_SEED } from '../src/fuzz/campaign.js';
import { runUnits } from '../src/fuzz/runner.js';
import { seedBugs } from '../src/fuzz/seeds.js';
import { createTarget } from '../src/fuzz/targets.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const SEEDS = arg('seeds', 5);
const CAP = arg('cap', 60);
const json = process.argv.includes('--json');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const rows = [];
for (const bug of await seedBugs()) {
  const target = await createTarget(bug.buggy, {});
  const times: number[] = [];
  let execs = 0;
  let ms = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const start = performance.now();
    let found = Infinity;
    const results = runUnits(target, { firstSeed: seed * 1000, runsPerSeed: DEFAULT_RUNS_PER_SEED }, {
      shouldStop: () => performance.now() - start >= CAP * 1000,
      now: () => performance.now() - start,
      stopOn: bug.sanitizer,
      onFinding: (f, shrunk) => { if (!shrunk && f.sanitizer === bug.sanitizer && found === Infinity) found = f.foundAtMs; },
    });
    ms += performance.now() - start;
    execs += results.reduce((s, r) => s + r.executions, 0);
    times.push(found / 1000);
    if (!json) process.stderr.write(`  ${bug.buggy} seed ${seed}: ${found === Infinity ? `not found in ${CAP}s` : `${(found / 1000).toFixed(1)}s`}\n`);
  }
  const found = times.filter((t) => t !== Infinity).length;
  rows.push({ seed: bug.seed.slice(0, 3), preset: bug.buggy, sanitizer: bug.sanitizer, execPerSec: Math.round((execs / ms) * 1000), found: `${found}/${SEEDS}`, medianSeconds: median(times), times });
}
if (json) console.log(JSON.stringify({ seeds: SEEDS, capSeconds: CAP, rows }));
else {
  console.log(`\nfuzzer benchmark: one core, ${SEEDS} campaign seeds per bug, each run capped at ${CAP}s (target: median < 10 s)`);
  console.log('seed  preset                     sanitizer           exec/s/core  found  median time to find');
  for (const r of rows) console.log(`${r.seed}   ${r.preset.padEnd(26)} ${r.sanitizer.padEnd(19)} ${String(r.execPerSec).padStart(11)}  ${r.found.padStart(5)}  ${r.medianSeconds === Infinity ? `> ${CAP} s` : `${r.medianSeconds.toFixed(1)} s`}`);
}
