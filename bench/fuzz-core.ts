/**
 * The fuzzer benchmark (issue 5): for each seed bug's buggy preset, executions per second on one
 * core and the time to the first finding of the seed's bug (same sanitizer as its scenario) for
 * each of `seeds` campaign seeds, each run capped at `capSeconds` of CPU time; the median over the
 * seeds is the figure of merit. One core: everything runs on the calling thread. Target: median < 10 s.
 * First, the throughput of the same fixed campaign on each preset (bench/fuzz-throughput.ts), also
 * on a baseline checkout when one is given (`baseline`, or PAGEWALK_FUZZ_BASELINE for
 * `npm run bench -- --only fuzz`): before and after in one run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RUNS_PER_SEED } from '../src/fuzz/campaign.js';
import { runUnits } from '../src/fuzz/runner.js';
import { bugId, isSeedBug, seedBugs } from '../src/fuzz/seeds.js';
import { createTarget } from '../src/fuzz/targets.js';
import { formatThroughput, runThroughput, THROUGHPUT_DEFAULTS, type ThroughputRow } from './fuzz-throughput.js';

export interface FuzzBenchConfig {
  /** Campaign seeds per bug (seed s runs campaign seed s * 1000). */
  seeds: number;
  /** Seconds at most per run. */
  capSeconds: number;
  /** Added to every campaign seed (campaign seed s runs `s * 1000 + seedBase`): fresh seeds. Default 0. */
  seedBase?: number;
  /** A checkout of pagewalk to measure the same throughput on (before/after). */
  baseline?: string;
  /** Skip the time-to-find part (throughput only). */
  throughputOnly?: boolean;
  /** Throughput measurements per preset (default THROUGHPUT_DEFAULTS.rounds). */
  throughputRounds?: number;
}

/** The throughput part's configuration. */
const throughputConfig = (cfg: FuzzBenchConfig) => ({ ...THROUGHPUT_DEFAULTS, rounds: cfg.throughputRounds ?? THROUGHPUT_DEFAULTS.rounds });

export interface FuzzBenchResult {
  throughput: ThroughputRow[];
  rows: FuzzBenchRow[];
}

export interface FuzzBenchRow {
  seed: string;
  preset: string;
  sanitizer: string;
  execPerSec: number;
  /** 'k/n': runs that found the seed's bug. */
  found: string;
  /** Median seconds to the first finding (Infinity when most runs did not find it). */
  medianSeconds: number;
  /** Seconds to the first finding per run (Infinity: not found within the cap). */
  times: number[];
  /** Executions before the first finding per run (Infinity: not found), independent of the machine. */
  executions: number[];
  /** Median of `executions`. */
  medianExecutions: number;
}

export const FUZZ_BENCH_DEFAULTS: FuzzBenchConfig = { seeds: 5, capSeconds: 60 };

/**
 * The process's CPU time in ms: the benchmark runs on one core, and on a shared machine CPU time
 * measures what one core of its own would take (wall time would count the other processes' turns).
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

/** The first and third quartiles of `xs` (nearest rank). */
function quartiles(xs: number[]): [number, number] {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor((s.length - 1) / 4)], s[Math.ceil((3 * (s.length - 1)) / 4)]];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs the fuzzer benchmark; `log` receives one progress line per run. */
export async function runFuzzBench(cfg: FuzzBenchConfig, log: (line: string) => void): Promise<FuzzBenchResult> {
  const baseline = cfg.baseline ?? process.env.PAGEWALK_FUZZ_BASELINE;
  const throughput = await runThroughput(throughputConfig(cfg), baseline || undefined, log);
  const rows: FuzzBenchRow[] = [];
  for (const bug of cfg.throughputOnly ? [] : (await seedBugs()).filter((b) => !b.notBlind)) {
    const target = await createTarget(bug.buggy, {});
    const times: number[] = [];
    const toFind: number[] = [];
    let execs = 0;
    let ms = 0;
    for (let seed = 1; seed <= cfg.seeds; seed++) {
      const start = cpuMs();
      let found = Infinity;
      let foundExec = Infinity;
      let before = 0;
      const campaignSeed = seed * 1000 + (cfg.seedBase ?? 0);
      const results = runUnits(
        target,
        { firstSeed: campaignSeed, runsPerSeed: DEFAULT_RUNS_PER_SEED },
        {
          // Until the bug is found (any of its faces: the scenario's report or one of its other
          // reports, as `pagewalk start` counts them) or the cap.
          shouldStop: () => found !== Infinity || cpuMs() - start >= cfg.capSeconds * 1000,
          now: () => cpuMs() - start,
          onSeedDone: (r) => {
            before += r.executions;
          },
          onFinding: (f, shrunk) => {
            if (shrunk || !isSeedBug(bug, f) || found !== Infinity) return;
            found = f.foundAtMs;
            foundExec = before + f.foundAtExecution;
          },
        },
      );
      ms += cpuMs() - start;
      execs += results.reduce((s, r) => s + r.executions, 0);
      times.push(found / 1000);
      toFind.push(foundExec);
      log(
        `  fuzz ${bug.buggy} campaign seed ${campaignSeed}: ${found === Infinity ? `not found in ${cfg.capSeconds}s` : `${(found / 1000).toFixed(2)}s, execution ${foundExec}`}`,
      );
    }
    const found = times.filter((t) => t !== Infinity).length;
    rows.push({
      seed: bugId(bug.seed),
      preset: bug.buggy,
      sanitizer: bug.sanitizer,
      execPerSec: Math.round((execs / ms) * 1000),
      found: `${found}/${cfg.seeds}`,
      medianSeconds: median(times),
      times,
      executions: toFind,
      medianExecutions: median(toFind),
    });
  }
  return { throughput, rows };
}

/** The tables `npm run bench` prints. */
export function formatFuzzBench(cfg: FuzzBenchConfig, res: FuzzBenchResult): string {
  const baseline = cfg.baseline ?? process.env.PAGEWALK_FUZZ_BASELINE;
  const head = formatThroughput(throughputConfig(cfg), res.throughput, baseline || undefined);
  if (res.rows.length === 0) return head;
  const rows = res.rows;
  const out = [
    head,
    '',
    `fuzzer: one core, ${cfg.seeds} campaign seeds per bug, each run capped at ${cfg.capSeconds} s of CPU time; times are CPU time (target: median < 10 s)`,
    'seed  preset                     sanitizer           exec/s/core  found  median time to find  median executions to find',
  ];
  for (const r of rows) {
    const med = r.medianSeconds === Infinity ? `> ${cfg.capSeconds} s` : `${r.medianSeconds.toFixed(2)} s`;
    const medExec = r.medianExecutions === Infinity ? '—' : String(Math.round(r.medianExecutions));
    out.push(
      `${r.seed}   ${r.preset.padEnd(26)} ${r.sanitizer.padEnd(19)} ${String(r.execPerSec).padStart(11)}  ${r.found.padStart(5)}  ${med.padStart(19)}  ${medExec.padStart(25)}`,
    );
  }
  return out.join('\n');
}

/** Executions per second with the outcome oracles on and off, on the same executions. */
export interface OracleCostRow {
  preset: string;
  executions: number;
  onPerSec: number;
  offPerSec: number;
  /** The median over pairs of processes of (on - off) / on, CPU times summed over the pair's runs. */
  cost: number;
  /** The quartiles of the pairs' costs (how far one pair of processes can be trusted). */
  costQuartiles: [number, number];
}

/** Executions per run, pairs of runs per pair of processes, and pairs of processes per preset of `runOracleCost` (the benchmark's defaults). */
export const ORACLE_COST_RUNS = 300;
export const ORACLE_COST_ROUNDS = 4;
export const ORACLE_COST_PROCESSES = 11;

/** Presets whose campaigns stay clean (so that both runs execute the same programs). */
export const ORACLE_COST_PRESETS = ['linux-3.18-smp', 'linux-4.14-smp', 'linux-4.14-xen-pv', 'linux-4.14-hyperv', 'linux-3.2-rt-up-fixed'];

/** A child process running `bench/oracle-cost-child.ts` (one side of a pair). */
class CostChild {
  private readonly proc: ChildProcess;
  private waiting: ((m: unknown) => void) | null = null;
  readonly ready: Promise<unknown>;

  constructor(preset: string, on: boolean) {
    this.proc = fork(join(dirname(fileURLToPath(import.meta.url)), 'oracle-cost-child.ts'), [preset, on ? 'on' : 'off'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = this.next();
    this.proc.on('message', (m) => {
      const w = this.waiting;
      this.waiting = null;
      w?.(m);
    });
    this.proc.on('exit', (code) => this.waiting?.(new Error(`oracle-cost child (${preset}, oracles ${on ? 'on' : 'off'}) exited with ${code}`)));
  }

  private next(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting = (m) => (m instanceof Error ? reject(m) : resolve(m));
    });
  }

  /** Runs campaign seed `seed` (`runs` executions) in the child; its CPU time in ms. */
  async run(seed: number, runs: number): Promise<number> {
    const reply = this.next();
    this.proc.send({ seed, runs });
    return ((await reply) as { ms: number }).ms;
  }

  close(): void {
    this.proc.send('exit');
  }
}

/**
 * The outcome oracles' cost (issue 13): on each preset, `processes` pairs of child processes, one
 * fuzzing with the oracles off and one with them on for its whole life (each one's compiled code
 * sees one mode, as in a campaign: alternating the modes in one process made the JIT's inline
 * caches serve both, which measured the switching, not the oracles). Identical processes differ
 * by up to 10-20 % in speed (their JIT and heap decisions), so one pair of processes is one draw of
 * that luck: the pairs of processes are fresh, one after the other, and many. In each, after a
 * warm-up, `rounds` pairs of runs of the same `runs` executions (seed r of pair r), one in each
 * child, adjacent in time, the order alternating; each child's CPU time for its runs, summed. A
 * pair's cost is (on - off) / on over its sums; the preset's, the median over its pairs. The
 * oracles' coverage keys are off in both, which then execute the same programs.
 */
export async function runOracleCost(
  runs: number,
  rounds: number,
  log: (line: string) => void,
  presets: readonly string[] = ORACLE_COST_PRESETS,
  processes = ORACLE_COST_PROCESSES,
): Promise<OracleCostRow[]> {
  const rows: OracleCostRow[] = [];
  for (const preset of presets) {
    const tOn: number[] = [];
    const tOff: number[] = [];
    const costs: number[] = [];
    for (let p = 0; p < processes; p++) {
      const off = new CostChild(preset, false);
      const on = new CostChild(preset, true);
      try {
        await Promise.all([off.ready, on.ready]);
        for (let w = 0; w < 2; w++) {
          await off.run(1000 + w, runs); // warm-up: compile the hot paths
          await on.run(1000 + w, runs);
        }
        let sumOn = 0;
        let sumOff = 0;
        for (let r = 0; r < rounds; r++) {
          const [a, b] = r % 2 === 0 ? [on, off] : [off, on];
          const seed = p * rounds + r + 1;
          const ta = await a.run(seed, runs);
          const tb = await b.run(seed, runs);
          const [x, y] = a === on ? [ta, tb] : [tb, ta];
          tOn.push(x);
          tOff.push(y);
          sumOn += x;
          sumOff += y;
        }
        costs.push((sumOn - sumOff) / sumOn);
      } finally {
        off.close();
        on.close();
      }
    }
    const n = tOn.length;
    const onMs = tOn.reduce((x, y) => x + y, 0) / n;
    const offMs = tOff.reduce((x, y) => x + y, 0) / n;
    const row = {
      preset,
      executions: runs * n,
      onPerSec: Math.round((runs / onMs) * 1000),
      offPerSec: Math.round((runs / offMs) * 1000),
      cost: median(costs),
      costQuartiles: quartiles(costs),
    };
    rows.push(row);
    log(
      `  oracle cost ${preset}: ${row.offPerSec} exec/s off, ${row.onPerSec} on (${pct(row.cost)}, process pairs' quartiles ${pct(row.costQuartiles[0])} .. ${pct(row.costQuartiles[1])})`,
    );
  }
  return rows;
}

export function formatOracleCost(rows: OracleCostRow[]): string {
  const out = [
    "outcome oracles (process view, frame lifetime, TLB coherence, RCU): pairs of runs of the same executions in two processes, oracles off and on, one core each in turn, CPU time, in fresh pairs of processes; cost: the median over pairs of processes of (on - off) / on, CPU summed over the pair's runs",
    'preset                  executions  exec/s off  exec/s on  cost     pairs (quartiles)',
  ];
  for (const r of rows)
    out.push(
      `${r.preset.padEnd(23)} ${String(r.executions).padStart(10)}  ${String(r.offPerSec).padStart(10)}  ${String(r.onPerSec).padStart(9)}  ${pct(r.cost).padStart(7)}  ${pct(r.costQuartiles[0])} .. ${pct(r.costQuartiles[1])}`,
    );
  out.push(`median over presets: ${pct(median(rows.map((r) => r.cost)))}`);
  return out.join('\n');
}
