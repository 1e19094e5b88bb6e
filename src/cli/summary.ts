/**
 * The summary of a campaign as `pagewalk fuzz --json` prints it and as it is saved in a campaign
 * directory (`<out>/campaign.json`, which `pagewalk merge` reads), and the table of findings
 * grouped by bug that both commands print.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './args.js';
import type { CampaignPlan, CampaignResult } from '../fuzz/campaign.js';
import { traceSize, type FoundFinding, type ModelError, type Occurrence } from '../fuzz/engine.js';
import { parseTrace } from '../fuzz/trace.js';
import { presetCpus } from '../fuzz/targets.js';

export const SUMMARY_FORMAT = 'pagewalk-campaign';
export const SUMMARY_FILE = 'campaign.json';

/** One row of the summary: a distinct bug. */
export interface SummaryFinding {
  sanitizer: string;
  signature: string;
  /** Executions that hit it. */
  count: number;
  first: Occurrence;
  last: Occurrence;
  /** Same as `first` (kept for readers of the earlier format). */
  seed: number;
  foundAtExecution: number;
  foundAtMs: number;
  /** The report of the shortest trace. */
  log: string[];
  /** Where the shortest trace was saved. */
  file: string;
  trace: FoundFinding['trace'];
}

export interface CampaignSummary {
  format: typeof SUMMARY_FORMAT;
  preset: string;
  overrides: Record<string, string | number | boolean>;
  /** First seed of the campaign plan. */
  seed: number;
  plan: CampaignPlan;
  shard: { index: number; count: number } | null;
  workers: number;
  executions: number;
  elapsedMs: number;
  /** True when SIGINT or SIGTERM ended the campaign early (seeds run in part count as they ran). */
  interrupted: boolean;
  seedsRun: number;
  seeds: CampaignResult['seeds'];
  findings: SummaryFinding[];
  modelErrors: ModelError[];
}

/** The summary object of a finished (or interrupted) campaign. */
export function makeSummary(o: {
  preset: string;
  overrides: CampaignSummary['overrides'];
  plan: CampaignPlan;
  workers: number;
  elapsedMs: number;
  interrupted: boolean;
  result: CampaignResult;
  files: string[];
}): CampaignSummary {
  const r = o.result;
  return {
    format: SUMMARY_FORMAT,
    preset: o.preset,
    overrides: o.overrides,
    seed: o.plan.firstSeed,
    plan: o.plan,
    shard: o.plan.shard ?? null,
    workers: o.workers,
    executions: r.executions,
    elapsedMs: o.elapsedMs,
    interrupted: o.interrupted,
    seedsRun: r.seeds.length,
    seeds: r.seeds,
    findings: r.findings.map((f, i) => ({
      sanitizer: f.sanitizer,
      signature: f.signature,
      count: f.count,
      first: { seed: f.seed, execution: f.foundAtExecution, ms: f.foundAtMs },
      last: f.last,
      seed: f.seed,
      foundAtExecution: f.foundAtExecution,
      foundAtMs: f.foundAtMs,
      log: f.log,
      file: o.files[i],
      trace: f.trace,
    })),
    modelErrors: r.modelErrors,
  };
}

/** The summary's findings as the engine's (for grouping several summaries). */
export function summaryFindings(s: CampaignSummary): FoundFinding[] {
  return s.findings.map((f) => ({
    sanitizer: f.sanitizer,
    signature: f.signature,
    log: f.log,
    seed: f.first.seed,
    foundAtExecution: f.first.execution,
    foundAtMs: f.first.ms,
    trace: f.trace,
    count: f.count,
    last: f.last,
  }));
}

/** Reads `<dir>/campaign.json`, checking what `merge` relies on; user errors name the file. */
export function loadSummary(dir: string): CampaignSummary {
  const path = join(dir, SUMMARY_FILE);
  if (!existsSync(path)) throw new UsageError(`merge: ${path} does not exist (a campaign writes it to its --out directory when it ends)`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`merge: ${path} is not valid JSON (${(e as Error).message})`);
  }
  const s = v as CampaignSummary;
  const bad = (why: string): never => {
    throw new UsageError(`merge: ${path}: ${why}`);
  };
  if (typeof s !== 'object' || s === null || s.format !== SUMMARY_FORMAT) bad(`'format' must be '${SUMMARY_FORMAT}'`);
  if (typeof s.preset !== 'string') bad("'preset' must be a string");
  if (!Number.isInteger(s.executions) || !Array.isArray(s.seeds) || !Array.isArray(s.findings)) bad("'executions', 'seeds' and 'findings' are required");
  s.findings.forEach((f, i) => {
    const occ = (o: Occurrence | undefined) => o && Number.isInteger(o.seed) && Number.isInteger(o.execution) && typeof o.ms === 'number';
    if (!Number.isInteger(f.count) || f.count < 1 || !occ(f.first) || !occ(f.last)) bad(`findings[${i}]: 'count', 'first' and 'last' are required`);
    try {
      f.trace = parseTrace(f.trace, presetCpus);
    } catch (e) {
      bad(`findings[${i}].trace: ${(e as Error).message}`);
    }
  });
  return s;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** The findings as a table, one row per distinct bug. */
export function findingsTable(findings: readonly SummaryFinding[]): string[] {
  if (findings.length === 0) return [];
  const head = ['sanitizer', 'count', 'first seen (seed:execution, time)', 'last seen', 'shortest trace', 'signature'];
  const rows = findings.map((f) => {
    const s = traceSize(f.trace);
    return [
      f.sanitizer,
      String(f.count),
      `${f.first.seed}:${f.first.execution} ${secs(f.first.ms)}`,
      `${f.last.seed}:${f.last.execution} ${secs(f.last.ms)}`,
      `${s.ops} ops, ${s.cpus} CPU${s.cpus > 1 ? 's' : ''}, ${s.steps} steps`,
      `${f.signature} -> ${f.file}`,
    ];
  });
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : i === 1 ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ');
  return [fmt(head), ...rows.map(fmt)];
}
