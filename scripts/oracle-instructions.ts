/**
 * `npx tsx scripts/oracle-instructions.ts [--preset P] [--runs N] [--horizons a,b,...] [--jobs J]`:
 * the outcome oracles' cost in machine instructions, which do not depend on the machine's load or
 * on the luck of one process's JIT (docs/fuzzing.md, "Twelfth session"). The oracles' cost child
 * (bench/oracle-cost-child.ts, bundled with esbuild into a temporary directory) runs under
 * Valgrind's instruction counter (cachegrind without cache simulation) in a deterministic V8
 * (`--single-threaded --hash-seed=1 --random-seed=1`: compilation and garbage collection on the
 * main thread, at points that depend on the work done only), with the oracles off and on, for the
 * campaign units of seeds 1..h (`runs` executions each) for every horizon h. Two processes that run
 * the same executions count the same instructions to within 0.1 %.
 *
 * Prints, per horizon, the instructions per execution off and on, and between two horizons the
 * marginal ones (the executions after the first horizon: start-up, boot and most of the JIT's
 * compiling left out) with the cost on / off - 1. Instructions are not time — a cache miss costs
 * more than an add — but they count the compiler's work and the oracles' work alike, every time.
 * Needs `valgrind` (Debian: `apt-get install valgrind`); about 50 times slower than a normal run.
 */
import { availableParallelism } from 'node:os';
import { intFlag, UsageError } from '../src/cli/args.js';
import { instructions, parseChildArgs, runScript, withCostChild } from './valgrind-child.js';

/** Runs `tasks` with at most `jobs` at a time. */
async function pool<T>(tasks: (() => Promise<T>)[], jobs: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  return out;
}

async function main(argv: string[]): Promise<void> {
  const { flags, preset, runs } = parseChildArgs(
    argv,
    {
      horizons: { type: 'string', help: 'numbers of campaign units run, comma-separated, increasing (default 2,6)' },
      jobs: { type: 'string', help: 'Valgrind processes at a time (default: the CPUs)' },
    },
    'oracle-instructions',
  );
  const horizons = (typeof flags.horizons === 'string' ? flags.horizons : '2,6').split(',').map((s, i) => intFlag(s, `horizons[${i}]`, 0, 1, 1000));
  if (horizons.some((h, i) => i > 0 && h <= horizons[i - 1])) throw new UsageError('oracle-instructions: --horizons must increase');
  const jobs = intFlag(flags.jobs, 'jobs', availableParallelism(), 1, 64);

  await withCostChild('oracle-instructions', async (_dir, bundle) => {
    const modes = ['off', 'on'] as const;
    const cells = horizons.flatMap((h) => modes.map((m) => ({ h, m })));
    process.stderr.write(`oracle-instructions: ${cells.length} Valgrind runs of ${preset}, ${jobs} at a time (each about 50 times a normal run)\n`);
    const counts = await pool(
      cells.map((c) => () => instructions('oracle-instructions', bundle, preset, c.m, runs, c.h)),
      jobs,
    );
    const at = (h: number, m: 'on' | 'off'): number => counts[cells.findIndex((c) => c.h === h && c.m === m)];
    const pct = (on: number, off: number): string => `${((on / off - 1) * 100).toFixed(1)} %`;
    const per = (n: number, execs: number): string => `${(n / execs / 1e6).toFixed(2)} M`;
    console.log(`${preset}: instructions per execution, oracles off / on (deterministic V8 under Valgrind)`);
    let prev = 0;
    for (const h of horizons) {
      const execs = h * runs;
      console.log(
        `  executions 1..${execs}: ${per(at(h, 'off'), execs)} / ${per(at(h, 'on'), execs)}  cost ${pct(at(h, 'on'), at(h, 'off'))}  (start-up and boot included)`,
      );
      if (prev) {
        const n = (h - prev) * runs;
        const off = at(h, 'off') - at(prev, 'off');
        const on = at(h, 'on') - at(prev, 'on');
        console.log(`  executions ${prev * runs + 1}..${execs}: ${per(off, n)} / ${per(on, n)}  cost ${pct(on, off)}`);
      }
      prev = h;
    }
  });
}

runScript(main);
