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
  /** Executions measured per side after the warm-up (the steady state). */
  executions: number;
  /** Executions per second of CPU time after the warm-up, oracles on and off. */
  onPerSec: number;
  offPerSec: number;
  /**
   * The headline: how much fewer executions a campaign of `ORACLE_COST_CAMPAIGN_MS` of CPU time
   * (the default campaign, 60 s) runs with the oracles on, 1 - on / off — its first executions at
   * the warm-up's cost, the rest at the steady state's. The median over pairs of processes.
   */
  cost: number;
  /** The quartiles of the pairs' `cost` (how far one pair of processes can be trusted). */
  costQuartiles: [number, number];
  /** (on - off) / on over the warm-up's CPU times (fresh processes: the JIT compiling), median over pairs. */
  warmupCost: number;
  /** (on - off) / on over the CPU times after the warm-up, median over pairs. */
  steadyCost: number;
  /** Executions of the warm-up, per process. */
  warmupExecutions: number;
}

/**
 * Executions per run, pairs of runs after the warm-up, pairs of processes per preset, and runs of
 * warm-up of `runOracleCost` (the benchmark's defaults), and the campaign length its headline is for.
 */
export const ORACLE_COST_RUNS = 300;
export const ORACLE_COST_ROUNDS = 4;
export const ORACLE_COST_PROCESSES = 11;
export const ORACLE_COST_WARMUP = 10;
export const ORACLE_COST_CAMPAIGN_MS = 60_000;

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
 * Executions in a campaign of `campaignMs` of CPU time whose first `warmRuns` executions took
 * `warmMs` and which then ran `steadyRuns` executions per `steadyMs`.
 */
export function campaignExecutions(warmRuns: number, warmMs: number, steadyRuns: number, steadyMs: number, campaignMs: number): number {
  if (warmMs >= campaignMs) return (warmRuns * campaignMs) / warmMs;
  return warmRuns + ((campaignMs - warmMs) * steadyRuns) / steadyMs;
}

/**
 * The outcome oracles' cost (issue 13): on each preset, `processes` pairs of child processes, one
 * fuzzing with the oracles off and one with them on for its whole life (each one's compiled code
 * sees one mode, as in a campaign: alternating the modes in one process made the JIT's inline
 * caches serve both, which measured the switching, not the oracles). Identical processes differ
 * by up to 10-20 % in speed (their JIT and heap decisions), so one pair of processes is one draw of
 * that luck: the pairs of processes are fresh, one after the other, and many. In each, `warmup`
 * pairs of runs of `runs` executions, then `rounds` more (seed r of pair r), one in each child,
 * adjacent in time, the order alternating; each child's CPU time summed over the warm-up and over
 * the rounds after it. A fresh process spends its first few thousand executions compiling (the
 * model's long tail of kernel paths becomes hot late; executions per second grow by half again
 * after them), and a campaign spends most of its time after them, so the two phases are measured
 * apart (docs/fuzzing.md, "Eleventh session": the oracles' cost is not lower after the warm-up,
 * but a reading of the warm-up alone is not a campaign's). So a pair gives three numbers: the cost
 * over its warm-up, the cost after it (steady state), and the headline — how many fewer
 * executions a campaign of `campaignMs` of CPU time runs with the oracles on (the warm-up's
 * executions at the warm-up's CPU time, the rest at the steady state's rate). Each is the median
 * over the pairs. The oracles' coverage keys are off in both children, which then execute the
 * same programs.
 */
export async function runOracleCost(
  runs: number,
  rounds: number,
  log: (line: string) => void,
  presets: readonly string[] = ORACLE_COST_PRESETS,
  processes = ORACLE_COST_PROCESSES,
  warmup = ORACLE_COST_WARMUP,
  campaignMs = ORACLE_COST_CAMPAIGN_MS,
): Promise<OracleCostRow[]> {
  const rows: OracleCostRow[] = [];
  for (const preset of presets) {
    const tOn: number[] = [];
    const tOff: number[] = [];
    const costs: number[] = [];
    const warmCosts: number[] = [];
    const steadyCosts: number[] = [];
    for (let p = 0; p < processes; p++) {
      const off = new CostChild(preset, false);
      const on = new CostChild(preset, true);
      try {
        await Promise.all([off.ready, on.ready]);
        /** Runs seed `seed` in both children, the order alternating with `i`: their CPU times [on, off]. */
        const both = async (seed: number, i: number): Promise<[number, number]> => {
          const [a, b] = i % 2 === 0 ? [on, off] : [off, on];
          const ta = await a.run(seed, runs);
          const tb = await b.run(seed, runs);
          return a === on ? [ta, tb] : [tb, ta];
        };
        let warmOn = 0;
        let warmOff = 0;
        for (let w = 0; w < warmup; w++) {
          const [x, y] = await both(1000 + w, w);
          warmOn += x;
          warmOff += y;
        }
        let sumOn = 0;
        let sumOff = 0;
        for (let r = 0; r < rounds; r++) {
          const [x, y] = await both(p * rounds + r + 1, r);
          tOn.push(x);
          tOff.push(y);
          sumOn += x;
          sumOff += y;
        }
        const campaign = (warmMs: number, steadyMs: number): number => campaignExecutions(warmup * runs, warmMs, rounds * runs, steadyMs, campaignMs);
        costs.push(1 - campaign(warmOn, sumOn) / campaign(warmOff, sumOff));
        warmCosts.push(warmup > 0 ? (warmOn - warmOff) / warmOn : 0);
        steadyCosts.push((sumOn - sumOff) / sumOn);
      } finally {
        off.close();
        on.close();
      }
    }
    const n = tOn.length;
    const onMs = tOn.reduce((x, y) => x + y, 0) / n;
    const offMs = tOff.reduce((x, y) => x + y, 0) / n;
    const row: OracleCostRow = {
      preset,
      executions: runs * n,
      onPerSec: Math.round((runs / onMs) * 1000),
      offPerSec: Math.round((runs / offMs) * 1000),
      cost: median(costs),
      costQuartiles: quartiles(costs),
      warmupCost: median(warmCosts),
      steadyCost: median(steadyCosts),
      warmupExecutions: warmup * runs,
    };
    rows.push(row);
    log(
      `  oracle cost ${preset}: ${pct(row.cost)} fewer executions in a ${campaignMs / 1000}-s campaign (process pairs' quartiles ${pct(row.costQuartiles[0])} .. ${pct(row.costQuartiles[1])}); first ${row.warmupExecutions} executions ${pct(row.warmupCost)}, after them ${pct(row.steadyCost)} (${row.offPerSec} exec/s off, ${row.onPerSec} on)`,
    );
  }
  return rows;
}

export function formatOracleCost(rows: OracleCostRow[], campaignMs = ORACLE_COST_CAMPAIGN_MS): string {
  const warm = rows[0]?.warmupExecutions ?? 0;
  const out = [
    `outcome oracles (process view, frame lifetime, TLB coherence, RCU): the same executions in pairs of fresh processes, oracles off and on, one core each in turn, CPU time. cost: how many fewer executions a ${campaignMs / 1000}-s campaign runs with them on (its first ${warm} executions at the warm-up's cost, the rest at the steady state's), the median over pairs of processes; then the cost over the first ${warm} executions (the JIT compiling) and after them, and the executions per second after them`,
    `preset                  cost     pairs (quartiles)   first ${String(warm).padEnd(5)}  after   exec/s off  exec/s on  executions`,
  ];
  for (const r of rows)
    out.push(
      `${r.preset.padEnd(23)} ${pct(r.cost).padStart(7)}  ${`${pct(r.costQuartiles[0])} .. ${pct(r.costQuartiles[1])}`.padEnd(18)}  ${pct(r.warmupCost).padStart(10)}  ${pct(r.steadyCost).padStart(6)}  ${String(r.offPerSec).padStart(10)}  ${String(r.onPerSec).padStart(9)}  ${String(r.executions).padStart(10)}`,
    );
  out.push(`median over presets: ${pct(median(rows.map((r) => r.cost)))}`);
  return out.join('\n');
}
