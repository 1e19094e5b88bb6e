/**
 * Runs a campaign plan in this thread: takes seed units one after another (campaign.ts) until the
 * plan is exhausted or the time is up. Worker threads (src/cli/pool.ts) run this same loop over
 * the units handed to them; the browser's Web Worker runs it too.
 */
import { seedUnit, type CampaignPlan } from './campaign.js';
import { runSeed, stopMatches, type CorpusInput, type FoundFinding, type SeedProgress, type SeedResult } from './engine.js';
import type { FuzzTarget } from './target.js';

export interface RunnerHooks {
  /** Next unit index to run (a shared counter across workers); default: 0, 1, 2... in this thread. */
  nextUnit?: () => number;
  /** True when the campaign must stop (time limit, user stop). */
  shouldStop?: () => boolean;
  now?: () => number;
  onFinding?: (f: FoundFinding, shrunk: boolean) => void;
  onProgress?: (p: SeedProgress) => void;
  onHit?: (f: FoundFinding) => void;
  onSeedDone?: (r: SeedResult) => void;
  shrinkBudget?: number;
  /** Stop at the first finding of this sanitizer ('*': any). */
  stopOn?: string;
  /** Inputs each seed starts with (a shared corpus, read when the seed starts). */
  importCorpus?: (seed: number) => readonly CorpusInput[];
  /** Corpus entries each seed returns in its result (`SeedResult.exported`). */
  exportCorpus?: number;
}

/** Runs units of `plan` on `target` until none is left or `shouldStop`; returns the per-seed results. */
export function runUnits(target: FuzzTarget, plan: CampaignPlan, hooks: RunnerHooks = {}): SeedResult[] {
  let local = 0;
  const next = hooks.nextUnit ?? (() => local++);
  const out: SeedResult[] = [];
  for (;;) {
    if (hooks.shouldStop?.()) break;
    const unit = seedUnit(plan, next());
    if (!unit) break;
    const r = runSeed(target, unit.seed, {
      runs: unit.runs,
      shouldStop: hooks.shouldStop,
      now: hooks.now,
      onFinding: hooks.onFinding,
      onHit: hooks.onHit,
      onProgress: hooks.onProgress,
      shrinkBudget: hooks.shrinkBudget,
      stopOn: hooks.stopOn,
      imports: hooks.importCorpus?.(unit.seed),
      exportCorpus: hooks.exportCorpus,
    });
    out.push(r);
    hooks.onSeedDone?.(r);
    if (r.findings.some((f) => stopMatches(hooks.stopOn, f.sanitizer))) break;
  }
  return out;
}
