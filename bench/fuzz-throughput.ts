/**
 * Fuzzer throughput on one core: executions per second of a fixed campaign (seed, budget, no
 * shrinking) on each preset — the same programs every time, since an execution is a function of
 * its seed and the executions before it. With `baseline` (another checkout of pagewalk, e.g. the
 * main branch before a change) the same campaign runs on that tree's engine too, interleaved
 * round by round in this process, so that before and after see the same machine load. Time is
 * the process's CPU time (less sensitive than elapsed time to other processes on a busy machine).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ThroughputConfig {
  presets: string[];
  /** Campaign seed of the measured executions. */
  seed: number;
  /** Executions per measurement. */
  runs: number;
  /** Measurements per preset (the median is reported). */
  rounds: number;
}

export interface ThroughputRow {
  preset: string;
  /** Median executions/s on this tree. */
  execPerSec: number;
  /** Median executions/s on the baseline tree (when given). */
  baselineExecPerSec?: number;
  /**
   * With a baseline: the median of the rounds' ratios (this tree / baseline, each round's pair
   * measured back to back) and their range — steadier under a varying machine load than the ratio
   * of the two medians.
   */
  pairedRatio?: { median: number; min: number; max: number };
}

export const THROUGHPUT_PRESETS = ['linux-3.8-xen-pv', 'linux-2.6.37-rc4-xen-pv', 'linux-4.13-xen-pv', 'linux-3.2-rt-up', 'linux-3.17-smp'];
export const THROUGHPUT_DEFAULTS: ThroughputConfig = { presets: THROUGHPUT_PRESETS, seed: 1, runs: 1500, rounds: 3 };

type Measure = (preset: string, seed: number, runs: number) => Promise<number>;

/** A measuring function over the engine of the checkout at `root` (this tree when undefined). */
async function engineAt(root: string | undefined): Promise<Measure> {
  const base = root === undefined ? new URL('../src/fuzz/', import.meta.url) : pathToFileURL(resolve(root, 'src/fuzz') + '/');
  const engine = await import(new URL('engine.ts', base).href);
  const targets = await import(new URL('targets.ts', base).href);
  const cache = new Map<string, unknown>();
  return async (preset, seed, runs) => {
    let target = cache.get(preset);
    if (!target) cache.set(preset, (target = await targets.createTarget(preset, {})));
    const t0 = process.cpuUsage();
    const r = engine.runSeed(target, seed, { runs, shrinkBudget: 0 });
    const d = process.cpuUsage(t0);
    const ms = (d.user + d.system) / 1000;
    return (r.executions / ms) * 1000;
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Measures every preset (after a warm-up execution batch), baseline and this tree alternating. */
export async function runThroughput(cfg: ThroughputConfig, baseline: string | undefined, log: (line: string) => void): Promise<ThroughputRow[]> {
  const mine = await engineAt(undefined);
  const theirs = baseline === undefined ? undefined : await engineAt(baseline);
  const rows: ThroughputRow[] = [];
  for (const preset of cfg.presets) {
    await mine(preset, cfg.seed, Math.min(200, cfg.runs)); // warm-up (JIT)
    if (theirs) await theirs(preset, cfg.seed, Math.min(200, cfg.runs));
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < cfg.rounds; r++) {
      if (theirs) b.push(await theirs(preset, cfg.seed, cfg.runs));
      a.push(await mine(preset, cfg.seed, cfg.runs));
    }
    const row: ThroughputRow = { preset, execPerSec: Math.round(median(a)) };
    if (theirs) {
      row.baselineExecPerSec = Math.round(median(b));
      const ratios = a.map((x, i) => x / b[i]);
      row.pairedRatio = { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
    }
    log(`  throughput ${preset}: ${row.execPerSec}/s${row.baselineExecPerSec !== undefined ? ` (baseline ${row.baselineExecPerSec}/s)` : ''}`);
    rows.push(row);
  }
  return rows;
}

/** The throughput table. */
export function formatThroughput(cfg: ThroughputConfig, rows: ThroughputRow[], baseline?: string): string {
  const out = [`fuzzer throughput: one core, seed ${cfg.seed}, ${cfg.runs} executions, median of ${cfg.rounds}${baseline ? `; before = ${baseline}` : ''}`];
  out.push(baseline ? 'preset                      before exec/s  after exec/s  speed-up  paired (range)' : 'preset                      exec/s/core');
  for (const r of rows) {
    if (r.baselineExecPerSec !== undefined) {
      const p = r.pairedRatio;
      out.push(
        `${r.preset.padEnd(27)} ${String(r.baselineExecPerSec).padStart(13)}  ${String(r.execPerSec).padStart(12)}  ${(r.execPerSec / r.baselineExecPerSec).toFixed(2).padStart(7)}×` +
          (p ? `  ${p.median.toFixed(2)}× (${p.min.toFixed(2)}–${p.max.toFixed(2)})` : ''),
      );
    } else out.push(`${r.preset.padEnd(27)} ${String(r.execPerSec).padStart(11)}`);
  }
  return out.join('\n');
}
