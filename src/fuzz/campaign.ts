/**
 * A campaign is a list of seeds: seeds `first, first+1, ...`, each fuzzed with its own budget of
 * `runsPerSeed` executions (engine.ts). Seeds are independent, so a campaign shards across worker
 * threads and machines by seed ranges, and its result is the same however it is split: findings
 * are merged in seed order, then in execution order, and deduplicated by signature (the first
 * occurrence wins).
 *
 * `--runs N` means N executions in all: seeds `first .. first + ceil(N / runsPerSeed) - 1`, the
 * last one with the remainder. With a time limit and no `--runs`, the list of seeds is open-ended
 * and each worker takes the next seed when it finishes one.
 */
import { dedupKey, type FoundFinding, type ModelError, type SeedResult } from './engine.js';

/** Executions per seed unless told otherwise. */
export const DEFAULT_RUNS_PER_SEED = 2000;

export interface CampaignPlan {
  firstSeed: number;
  runsPerSeed: number;
  /** Total executions (undefined: open-ended, limited by time). */
  totalRuns?: number;
  /** Number of seeds (undefined: as many as totalRuns needs, or open-ended). */
  seeds?: number;
}

/** Seed number and budget of unit `i` of the plan, or null when the plan has no unit `i`. */
export function seedUnit(plan: CampaignPlan, i: number): { seed: number; runs: number } | null {
  const per = plan.runsPerSeed;
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
  /** Deduplicated findings, in seed order then execution order. */
  findings: FoundFinding[];
  modelErrors: ModelError[];
  /** Seeds run (completely or in part), in order. */
  seeds: Array<{ seed: number; executions: number; complete: boolean; findings: number; corpus: number; coverage: number }>;
}

/** Merges per-seed results (in any order) into the campaign result. */
export function mergeResults(results: SeedResult[]): CampaignResult {
  const sorted = [...results].sort((a, b) => a.seed - b.seed);
  const seen = new Set<string>();
  const findings: FoundFinding[] = [];
  const modelErrors: ModelError[] = [];
  const errSeen = new Set<string>();
  let executions = 0;
  for (const r of sorted) {
    executions += r.executions;
    for (const f of r.findings) {
      if (seen.has(dedupKey(f))) continue;
      seen.add(dedupKey(f));
      findings.push(f);
    }
    for (const e of r.modelErrors) {
      const key = e.message.replace(/0x[0-9a-f]+|\d+/gi, '#');
      if (!errSeen.has(key)) {
        errSeen.add(key);
        modelErrors.push(e);
      }
    }
  }
  return {
    executions, findings, modelErrors,
    seeds: sorted.map((r) => ({ seed: r.seed, executions: r.executions, complete: r.complete, findings: r.findings.length, corpus: r.corpus, coverage: r.coverage })),
  };
}
