/**
 * `npm run bench [-- --json] [--only walk|fuzz] [--quick] [--rounds N] [--target-ms N] [--clock cpu|wall]
 * [--fuzz-seeds N] [--fuzz-cap S]`:
 * 1. walks: times the WASM batched walk, the WASM TLB-hit path, the reference walker,
 *    one-call-per-address WASM and the native C walker on the same page tables, and prints
 *    walks/second and the ratios (issue 2);
 * 2. the fuzzer: executions per second per core and the median time to find each seed bug
 *    (issue 5, bench/fuzz-core.ts; a few minutes).
 * Progress goes to stderr; with --json stdout carries one JSON object only (the walk results, with
 * the fuzzer's under `fuzz`).
 * Exit status: 0 when all implementations agreed, 1 on any result mismatch, 2 on bad options.
 */
import { intFlag, parseArgs, UsageError } from '../src/cli/args.js';
import { FULL_CONFIG, QUICK_CONFIG, runBench } from './core.js';
import { formatFuzzBench, formatOracleCost, FUZZ_BENCH_DEFAULTS, runFuzzBench, runOracleCost, type FuzzBenchRow, type OracleCostRow } from './fuzz-core.js';
import { formatText } from './report.js';
import { mutantsMain } from './mutants.js';

async function main(argv: string[]): Promise<number> {
  // `--only mutants [mutant flags]`: the mutation benchmark (bench/mutants.ts) takes the rest.
  const at = argv.indexOf('--only');
  if (at >= 0 && argv[at + 1] === 'mutants') return mutantsMain([...argv.slice(0, at), ...argv.slice(at + 2)]);
  const { flags, positional } = parseArgs(argv, {
    json: { type: 'bool', help: 'print one JSON object on stdout' },
    quick: { type: 'bool', help: 'tiny regions, one round (a smoke run)' },
    rounds: { type: 'string', help: 'timed rounds (default 11)' },
    'target-ms': { type: 'string', help: 'length of one timed run in ms (default 150)' },
    clock: { type: 'string', help: "'cpu' (process CPU time, default) or 'wall' (elapsed time)" },
    only: { type: 'string', help: "'walk', 'fuzz' or 'mutants' (the mutation benchmark, bench/mutants.ts): run one part only" },
    'fuzz-seeds': { type: 'string', help: 'fuzzer: campaign seeds per bug (default 5)' },
    'fuzz-cap': { type: 'string', help: 'fuzzer: seconds at most per run (default 60)' },
  }, 'bench');
  if (positional.length) throw new UsageError(`bench: unexpected argument ${JSON.stringify(positional[0])}`);
  const base = flags.quick ? QUICK_CONFIG : FULL_CONFIG;
  const clock = flags.clock ?? base.clock;
  if (clock !== 'cpu' && clock !== 'wall') throw new UsageError(`bench: --clock must be 'cpu' or 'wall', got ${JSON.stringify(clock)}`);
  const cfg = {
    ...base,
    clock: clock as 'cpu' | 'wall',
    rounds: intFlag(flags.rounds, 'rounds', base.rounds, 1, 101),
    targetMs: intFlag(flags['target-ms'], 'target-ms', base.targetMs, 1, 10_000),
  };
  const only = flags.only;
  if (only !== undefined && only !== 'walk' && only !== 'fuzz') throw new UsageError(`bench: --only must be 'walk' or 'fuzz', got ${JSON.stringify(only)}`);
  const fuzzCfg = {
    seeds: intFlag(flags['fuzz-seeds'], 'fuzz-seeds', FUZZ_BENCH_DEFAULTS.seeds, 1, 100),
    capSeconds: intFlag(flags['fuzz-cap'], 'fuzz-cap', FUZZ_BENCH_DEFAULTS.capSeconds, 1, 3600),
  };
  const log = (line: string) => process.stderr.write(line + '\n');
  const result = only === 'fuzz' ? null : await runBench(cfg, log);
  if (result && !flags.json) process.stdout.write(formatText(result) + '\n');
  let fuzz: FuzzBenchRow[] | null = null;
  let oracleCost: OracleCostRow[] | null = null;
  if (only !== 'walk') {
    fuzz = await runFuzzBench(fuzzCfg, log);
    if (!flags.json) process.stdout.write('\n' + formatFuzzBench(fuzzCfg, fuzz) + '\n');
    oracleCost = await runOracleCost(flags.quick ? 100 : 800, flags.quick ? 1 : 5, log);
    if (!flags.json) process.stdout.write('\n' + formatOracleCost(oracleCost) + '\n');
  }
  if (flags.json) process.stdout.write(JSON.stringify({ ...result, ...(fuzz ? { fuzz: { ...fuzzCfg, rows: fuzz, oracleCost } } : {}) }) + '\n');
  if (result?.problems.length) {
    process.stderr.write(`bench: RESULT MISMATCH (${result.problems.length} problem(s)); see above\n`);
    for (const p of result.problems) process.stderr.write(`bench: ${p}\n`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message.startsWith('bench:') ? '' : 'bench: '}${e.message}\n`);
      process.exit(2);
    }
    throw e;
  },
);
