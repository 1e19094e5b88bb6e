/**
 * A campaign is a list of seeds: seeds `first, first+1, ...`, each fuzzed with its own budget of
 * `runsPerSeed` executions (engine.ts). Seeds are independent, so a campaign shards across worker
 * threads and machines by seed ranges, and its result is the same however it is split: findings
 * are grouped by bug (`groupFindings`: counts added, first and last occurrence in seed order, then
 * execution order, the shortest trace).
 *
 * `--runs N` means N executions in all: seeds `first .. first + ceil(N / runsPerSeed) - 1`, the
 * last one with the remainder. With a time limit and no `--runs`, the list of seeds is open-ended
 * and each worker takes the next seed when it finishes one.
 *
 * Shard `i` of `N` (`--shard i/N`) runs the units `i, i + N, i + 2N, ...` of the same plan: the
 * shards' seeds are disjoint, together they are the plan's, and an open-ended plan shards too.
 */
import { dedupKey, traceSize, type FoundFinding, type ModelError, type SeedResult } from './engine.js';

/** Executions per seed unless told otherwise. */
export const DEFAULT_RUNS_PER_SEED = 2000;

export interface CampaignPlan {
  firstSeed: number;
  runsPerSeed: number;
  /** Total executions (undefined: open-ended, limited by time). */
  totalRuns?: number;
  /** Number of seeds (undefined: as many as totalRuns needs, or open-ended). */
  seeds?: number;
  /** Run only this shard's units (index 0..count-1). */
  shard?: { index: number; count: number };
}

/** Seed number and budget of unit `i` of the plan (of its shard), or null when there is no unit `i`. */
export function seedUnit(plan: CampaignPlan, local: number): { seed: number; runs: number } | null {
  const per = plan.runsPerSeed;
  const i = plan.shard ? local * plan.shard.count + plan.shard.index : local;
  if (plan.seeds !== undefined && i >= plan.seeds) return null;
  if (plan.totalRuns !== undefined) {
    const start = i * per;
    if (start >= plan.totalRuns) return null;
    return { seed: (plan.firstSeed + i) >>> 0, runs: Math.min(per, plan.totalRuns - start) };
  }
  return { seed: (plan.firstSeed + i) >>> 0, runs: per };
}

export interface CampaignResult {
  executions: number;
  /** One per distinct bug (deduplication key), in order of first occurrence (seed, then execution). */
  findings: FoundFinding[];
  modelErrors: ModelError[];
  /** Seeds run (completely or in part), in order. */
  seeds: Array<{ seed: number; executions: number; complete: boolean; findings: number; corpus: number; coverage: number }>;
}

/** Merges per-seed results (in any order) into the campaign result. */
export function mergeResults(results: SeedResult[]): CampaignResult {
  const sorted = [...results].sort((a, b) => a.seed - b.seed);
  const modelErrors: ModelError[] = [];
  const errSeen = new Set<string>();
  let executions = 0;
  for (const r of sorted) {
    executions += r.executions;
    for (const e of r.modelErrors) {
      const key = e.message.replace(/0x[0-9a-f]+|\d+/gi, '#');
      if (!errSeen.has(key)) {
        errSeen.add(key);
        modelErrors.push(e);
      }
    }
  }
  return {
    executions,
    findings: groupFindings(sorted.flatMap((r) => r.findings)),
    modelErrors,
    seeds: sorted.map((r) => ({
      seed: r.seed,
      executions: r.executions,
      complete: r.complete,
      findings: r.findings.length,
      corpus: r.corpus,
      coverage: r.coverage,
    })),
  };
}

/** Orders occurrences: seed, then execution. */
function before(a: { seed: number; execution: number }, b: { seed: number; execution: number }): boolean {
  return a.seed !== b.seed ? a.seed < b.seed : a.execution < b.execution;
}

/** Whether trace `a` is shorter than `b`: fewer operations, then fewer scheduler steps. */
function shorter(a: FoundFinding, b: FoundFinding): boolean {
  const x = traceSize(a.trace);
  const y = traceSize(b.trace);
  return x.ops !== y.ops ? x.ops < y.ops : x.steps < y.steps;
}

/**
 * Groups findings (of any seeds, each seed's already deduplicated) into one row per distinct bug
 * (deduplication key): counts added up, the first occurrence (seed, execution, time) and the last
 * one kept, and the shortest trace (with its signature and log; ties go to the earliest). Rows
 * are ordered by first occurrence. Independent of the order of the input: a campaign split into
 * shards and merged gives the same rows as the campaign run at once.
 */
export function groupFindings(list: readonly FoundFinding[]): FoundFinding[] {
  const groups = new Map<string, FoundFinding>();
  const ordered = [...list].sort((a, b) => a.seed - b.seed || a.foundAtExecution - b.foundAtExecution);
  for (const f of ordered) {
    const key = dedupKey(f);
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { ...f, last: { ...f.last } });
      continue;
    }
    g.count += f.count;
    if (before(g.last, f.last)) g.last = { ...f.last };
    if (shorter(f, g)) {
      g.trace = f.trace;
      g.signature = f.signature;
      g.log = f.log;
    }
  }
  return [...groups.values()];
}
