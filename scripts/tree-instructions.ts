/**
 * `npx tsx scripts/tree-instructions.ts --baseline DIR [--preset P] [--runs N] [--units U] [--oracles on|off]`:
 * a change's effect on the fuzzer's work in machine instructions, this checkout against another
 * (DIR, built: e.g. `git worktree add ../before main && (cd ../before && npm ci && npm run build)`).
 * Each tree's cost child (bench/oracle-cost-child.ts, bundled with esbuild) runs the campaign
 * units of seeds 1..U (`runs` executions each) of preset P under Valgrind's instruction counter in
 * a deterministic V8, both trees at once. Unlike timed before/after runs (`npm run bench:fuzz --
 * --baseline DIR`), whose single rounds differ by ±10 % on one tree, two runs of the same
 * executions count the same instructions to within 0.1 % — the optimizing compiler's work
 * included, which is most of a young campaign's (docs/fuzzing.md, "Profile and throughput",
 * seventh round). Instructions are not time; the count says whether the work shrank. The two
 * trees must generate the same programs for the comparison to mean that (compare their campaign
 * digests, scripts/campaign-digest.ts). Needs `valgrind`.
 */
import { resolve } from 'node:path';
import { intFlag, UsageError } from '../src/cli/args.js';
import { instructions, parseChildArgs, runScript, withCostChild } from './valgrind-child.js';

async function main(argv: string[]): Promise<void> {
  const { flags, preset, runs } = parseChildArgs(
    argv,
    {
      baseline: { type: 'string', help: 'another checkout of pagewalk, built (required)' },
      units: { type: 'string', help: 'campaign units run, seeds 1..U (default 12)' },
      oracles: { type: 'string', help: 'the outcome oracles on or off (default off)' },
    },
    'tree-instructions',
  );
  if (typeof flags.baseline !== 'string') throw new UsageError('tree-instructions: --baseline DIR is required (another checkout of pagewalk, built)');
  const mode = flags.oracles ?? 'off';
  if (mode !== 'on' && mode !== 'off') throw new UsageError(`tree-instructions: --oracles must be on or off, got ${JSON.stringify(mode)}`);
  const units = intFlag(flags.units, 'units', 12, 1, 1000);
  const baseline = resolve(flags.baseline);
  const count = (tree?: string): Promise<number> =>
    withCostChild('tree-instructions', (_dir, bundle) => instructions('tree-instructions', bundle, preset, mode, runs, units), tree);
  process.stderr.write(
    `tree-instructions: ${preset}, ${units} x ${runs} executions, oracles ${mode}, two Valgrind runs at once (each about 20-50 times a normal run)\n`,
  );
  const [before, after] = await Promise.all([count(baseline), count()]);
  const execs = units * runs;
  const per = (n: number): string => `${(n / execs / 1e6).toFixed(3)} M`;
  console.log(`${preset}, executions 1..${execs}, oracles ${mode}: instructions per execution (deterministic V8 under Valgrind)`);
  console.log(`  before (${baseline}): ${per(before)}`);
  console.log(`  after  (this tree): ${per(after)}  (${((after / before - 1) * 100).toFixed(1)} %)`);
}

runScript(main);
