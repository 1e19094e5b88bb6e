/**
 * `npm run bench:fuzz [-- --seeds N] [--cap S] [--seed-base B] [--baseline DIR] [--throughput-only] [--rounds N] [--json]`:
 * the fuzzer benchmark alone (it is also
 * the second part of `npm run bench`); see bench/fuzz-core.ts.
 */
import { intFlag, parseArgs, UsageError } from '../src/cli/args.js';
import { formatFuzzBench, formatOracleCost, FUZZ_BENCH_DEFAULTS, ORACLE_COST_ROUNDS, ORACLE_COST_RUNS, runFuzzBench, runOracleCost } from './fuzz-core.js';
import { THROUGHPUT_DEFAULTS } from './fuzz-throughput.js';

async function main(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(
    argv,
    {
      json: { type: 'bool', help: 'print one JSON object on stdout' },
      seeds: { type: 'string', help: 'campaign seeds per bug (default 5)' },
      cap: { type: 'string', help: 'seconds at most per run (default 60)' },
      'seed-base': { type: 'string', help: 'added to every campaign seed (fresh seeds; default 0)' },
      baseline: { type: 'string', help: 'a checkout of pagewalk (e.g. main) to measure the throughput on too' },
      'throughput-only': { type: 'bool', help: 'only the throughput table' },
      rounds: { type: 'string', help: 'throughput measurements per preset (default 3; with --baseline, each a pair run back to back)' },
      'oracle-cost': { type: 'bool', help: "only measure the outcome oracles' cost (exec/s off vs on)" },
    },
    'bench:fuzz',
  );
  if (positional.length) throw new UsageError(`bench:fuzz: unexpected argument ${JSON.stringify(positional[0])}`);
  const cfg = {
    seeds: intFlag(flags.seeds, 'seeds', FUZZ_BENCH_DEFAULTS.seeds, 1, 100),
    capSeconds: intFlag(flags.cap, 'cap', FUZZ_BENCH_DEFAULTS.capSeconds, 1, 3600),
    seedBase: intFlag(flags['seed-base'], 'seed-base', 0, 0, 2 ** 31),
    baseline: typeof flags.baseline === 'string' ? flags.baseline : undefined,
    throughputOnly: flags['throughput-only'] === true,
    throughputRounds: intFlag(flags.rounds, 'rounds', THROUGHPUT_DEFAULTS.rounds, 1, 101),
  };
  const logLine = (line: string) => {
    if (!flags.json) process.stderr.write(line + '\n');
  };
  if (flags['oracle-cost']) {
    const cost = await runOracleCost(ORACLE_COST_RUNS, ORACLE_COST_ROUNDS, logLine);
    console.log(flags.json ? JSON.stringify({ oracleCost: cost }) : formatOracleCost(cost));
    return 0;
  }
  const res = await runFuzzBench(cfg, logLine);
  if (flags.json) console.log(JSON.stringify({ ...cfg, ...res }));
  else console.log('\n' + formatFuzzBench(cfg, res));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  },
);
