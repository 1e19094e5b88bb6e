/**
 * `npm run bench [-- --json] [--only <group>[,<group>...]] [--quick] [--rounds N] [--target-ms N]
 * [--clock cpu|wall] [--cells a,b] [--fuzz-seeds N] [--fuzz-cap S]`. Groups (all by default):
 *   walk    the WASM batched walk, TLB hits, the reference walker, one call per address and the
 *           native C walker on the same tables (issue 2; bench/core.ts)
 *   matrix  translateBatch against the same-semantics and the lean C walkers over page sizes,
 *           levels, region sizes, attribute and access mixes, and the TLB hit/miss paths
 *           (issue 14; bench/matrix.ts; --cells selects cells by name)
 *   fuzz    fuzzer executions per second and the median time to find each seed bug (issue 5;
 *           bench/fuzz-core.ts; a few minutes)
 * Progress goes to stderr; with --json stdout carries one JSON object only, keyed by group.
 * Exit status: 0 when all implementations agreed, 1 on any result mismatch, 2 on bad options.
 */
import { intFlag, parseArgs, UsageError } from '../src/cli/args.js';
import { FULL_CONFIG, QUICK_CONFIG, runBench } from './core.js';
import { formatFuzzBench, formatOracleCost, FUZZ_BENCH_DEFAULTS, ORACLE_COST_ROUNDS, ORACLE_COST_RUNS, runFuzzBench, runOracleCost } from './fuzz-core.js';
import { formatMatrix, runMatrix } from './matrix.js';
import { formatText } from './report.js';
import { mutantsMain } from './mutants.js';

type Flags = Record<string, string | boolean | undefined>;

/** What a group hands back: its report, its JSON, and the result mismatches it found. */
interface GroupResult {
  text: string;
  json: unknown;
  problems: string[];
}

interface BenchGroup {
  name: string;
  run(flags: Flags, log: (line: string) => void): Promise<GroupResult>;
}

function timing(flags: Flags, base: { rounds: number; targetMs: number }) {
  return {
    rounds: intFlag(flags.rounds as string | undefined, 'rounds', base.rounds, 1, 101),
    targetMs: intFlag(flags['target-ms'] as string | undefined, 'target-ms', base.targetMs, 1, 10_000),
  };
}

/** The registry: `--only` names one or more of these; without it all run, in this order. */
const GROUPS: BenchGroup[] = [
  {
    name: 'walk',
    async run(flags, log) {
      const base = flags.quick ? QUICK_CONFIG : FULL_CONFIG;
      const clock = (flags.clock as string | undefined) ?? base.clock;
      if (clock !== 'cpu' && clock !== 'wall') throw new UsageError(`bench: --clock must be 'cpu' or 'wall', got ${JSON.stringify(clock)}`);
      const r = await runBench({ ...base, clock, ...timing(flags, base) }, log);
      return { text: formatText(r), json: r, problems: r.problems };
    },
  },
  {
    name: 'matrix',
    async run(flags, log) {
      const quick = !!flags.quick;
      const t = timing(flags, quick ? { rounds: 1, targetMs: 3 } : { rounds: 15, targetMs: 30 });
      const filter = typeof flags.cells === 'string' ? flags.cells.split(',').filter(Boolean) : [];
      const r = await runMatrix({ quick, ...t, seed: 14, filter }, log);
      return { text: formatMatrix(r), json: r, problems: r.problems };
    },
  },
  {
    name: 'fuzz',
    async run(flags, log) {
      const cfg = {
        seeds: intFlag(flags['fuzz-seeds'] as string | undefined, 'fuzz-seeds', FUZZ_BENCH_DEFAULTS.seeds, 1, 100),
        capSeconds: intFlag(flags['fuzz-cap'] as string | undefined, 'fuzz-cap', FUZZ_BENCH_DEFAULTS.capSeconds, 1, 3600),
      };
      const res = await runFuzzBench(cfg, log);
      const oracleCost = await runOracleCost(ORACLE_COST_RUNS, ORACLE_COST_ROUNDS, log);
      return { text: formatFuzzBench(cfg, res) + '\n\n' + formatOracleCost(oracleCost), json: { ...cfg, ...res, oracleCost }, problems: [] };
    },
  },
];

async function main(argv: string[]): Promise<number> {
  // `--only mutants [mutant flags]`: the mutation benchmark (bench/mutants.ts) takes the rest.
  const at = argv.indexOf('--only');
  if (at >= 0 && argv[at + 1] === 'mutants') return mutantsMain([...argv.slice(0, at), ...argv.slice(at + 2)]);
  const { flags, positional } = parseArgs(
    argv,
    {
      json: { type: 'bool', help: 'print one JSON object on stdout' },
      quick: { type: 'bool', help: 'tiny regions, one round (a smoke run)' },
      rounds: { type: 'string', help: 'timed rounds (walk: 11, matrix: 15)' },
      'target-ms': { type: 'string', help: 'length of one timed run in ms (walk: 150, matrix: 30)' },
      clock: { type: 'string', help: "walk: 'cpu' (process CPU time, default) or 'wall' (elapsed time)" },
      only: {
        type: 'string',
        help: `run these groups only (comma-separated): ${GROUPS.map((g) => g.name).join(', ')}; or 'mutants' alone (the mutation benchmark, bench/mutants.ts)`,
      },
      cells: { type: 'string', help: 'matrix: only cells whose name contains one of these (comma-separated)' },
      'fuzz-seeds': { type: 'string', help: 'fuzzer: campaign seeds per bug (default 5)' },
      'fuzz-cap': { type: 'string', help: 'fuzzer: seconds at most per run (default 60)' },
    },
    'bench',
  );
  if (positional.length) throw new UsageError(`bench: unexpected argument ${JSON.stringify(positional[0])}`);
  const names = flags.only === undefined ? GROUPS.map((g) => g.name) : String(flags.only).split(',');
  for (const n of names) {
    if (!GROUPS.some((g) => g.name === n)) throw new UsageError(`bench: --only takes ${GROUPS.map((g) => `'${g.name}'`).join(', ')}, got ${JSON.stringify(n)}`);
  }
  const log = (line: string) => process.stderr.write(line + '\n');
  const json: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const g of GROUPS.filter((x) => names.includes(x.name))) {
    const r = await g.run(flags as Flags, log);
    json[g.name] = r.json;
    problems.push(...r.problems.map((p) => `${g.name}: ${p}`));
    if (!flags.json) process.stdout.write(r.text + '\n\n');
  }
  if (flags.json) process.stdout.write(JSON.stringify(json) + '\n');
  if (problems.length) {
    process.stderr.write(`bench: RESULT MISMATCH (${problems.length} problem(s))\n`);
    for (const p of problems) process.stderr.write(`bench: ${p}\n`);
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
