/**
 * Runs a campaign on K worker threads (node:worker_threads, dist/worker.js built from
 * src/cli/worker.ts), or in this thread when the worker bundle is absent (running from source). Workers take seed units from a shared counter; per-seed results are merged in seed
 * order (campaign.ts), so the result of a `--runs` campaign does not depend on K.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { mergeResults, type CampaignPlan, type CampaignResult } from '../fuzz/campaign.js';
import { stopMatches, type FoundFinding, type SeedProgress, type SeedResult } from '../fuzz/engine.js';
import { runUnits } from '../fuzz/runner.js';
import { createTarget, type Overrides } from '../fuzz/targets.js';
import { corpusHooks } from './corpus.js';

export interface PoolOptions {
  preset: string;
  overrides: Overrides;
  plan: CampaignPlan;
  workers: number;
  /** Date.now() value at which to stop (Infinity: no time limit). */
  deadline: number;
  /** Date.now() at the start of the campaign. */
  start: number;
  /** Stop the whole campaign at the first finding of this sanitizer ('*': any). */
  stopOn?: string;
  onFinding?: (f: FoundFinding, shrunk: boolean) => void;
  onProgress?: (p: CampaignProgress) => void;
  /** Aborting it stops the campaign after the current executions (their seeds count in part). */
  signal?: AbortSignal;
  /** Shared corpus directory (read at each seed start, written at each seed end). */
  corpusDir?: string;
  /** Where each seed's best inputs are written too (a shard's `<out>/corpus`). */
  corpusOut?: string;
}

/** Where a running campaign is. */
export interface CampaignProgress {
  /** Executions so far, all seeds. */
  executions: number;
  /** Corpus of the newest seed reporting. */
  corpus: number;
  /** The largest coverage a seed reached so far. */
  coverage: number;
  /** Seeds completed. */
  seedsDone: number;
}

/** Messages from a worker. */
export type WorkerMessage =
  | { t: 'finding'; f: FoundFinding; shrunk: boolean }
  | { t: 'progress'; p: SeedProgress }
  | { t: 'seed'; r: SeedResult }
  | { t: 'done' }
  | { t: 'error'; message: string; user: boolean };

/** Data a worker starts with. */
export interface WorkerData {
  preset: string;
  overrides: Overrides;
  plan: CampaignPlan;
  deadline: number;
  start: number;
  stopOn?: string;
  /** Int32 [0] = next seed unit, [1] = 1 when the campaign must stop. */
  counter: SharedArrayBuffer;
  corpusDir?: string;
  corpusOut?: string;
}

/** Path of the worker bundle next to this bundle (dist/worker.js), or null. */
function workerPath(): string | null {
  try {
    const p = fileURLToPath(new URL('./worker.js', import.meta.url));
    return existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

/** Runs the campaign; resolves with the merged result. */
export async function runCampaign(o: PoolOptions): Promise<CampaignResult> {
  // Even one worker runs in a worker thread when the bundle exists: this thread stays free for
  // signals (an interrupted campaign still prints its summary).
  const wp = workerPath();
  if (!wp) return runInThread(o);
  return runOnWorkers(o, wp);
}

async function runInThread(o: PoolOptions): Promise<CampaignResult> {
  const target = await createTarget(o.preset, o.overrides);
  const corpus = corpusHooks(o);
  let done = 0;
  let seedsDone = 0;
  let coverage = 0;
  const results = runUnits(target, o.plan, {
    shouldStop: () => Date.now() >= o.deadline || o.signal?.aborted === true,
    now: () => Date.now() - o.start,
    onFinding: o.onFinding,
    onProgress: (p) => {
      coverage = Math.max(coverage, p.coverage);
      o.onProgress?.({ executions: done + p.executions, corpus: p.corpus, coverage, seedsDone });
    },
    onSeedDone: (r) => {
      corpus.saveSeed(r);
      done += r.executions;
      if (r.complete) seedsDone++;
      coverage = Math.max(coverage, r.coverage);
    },
    stopOn: o.stopOn,
    importCorpus: corpus.importCorpus,
    exportCorpus: corpus.exportCorpus,
  });
  return mergeResults(results);
}

function runOnWorkers(o: PoolOptions, path: string): Promise<CampaignResult> {
  const counter = new SharedArrayBuffer(8);
  const shared = new Int32Array(counter);
  const data: WorkerData = {
    preset: o.preset,
    overrides: o.overrides,
    plan: o.plan,
    deadline: o.deadline,
    start: o.start,
    stopOn: o.stopOn,
    counter,
    corpusDir: o.corpusDir,
    corpusOut: o.corpusOut,
  };
  const results: SeedResult[] = [];
  const live = new Map<number, number>(); // worker -> executions of its current seed
  let doneExec = 0;
  let lastCorpus = 0;
  let seedsDone = 0;
  let coverage = 0;
  const stop = () => Atomics.store(shared, 1, 1);
  if (o.signal?.aborted) stop();
  o.signal?.addEventListener('abort', stop, { once: true });
  const report = () => {
    let sum = doneExec;
    for (const v of live.values()) sum += v;
    o.onProgress?.({ executions: sum, corpus: lastCorpus, coverage, seedsDone });
  };
  return new Promise((resolve, reject) => {
    let running = o.workers;
    let failed: Error | null = null;
    const workers: Worker[] = [];
    for (let w = 0; w < o.workers; w++) {
      const worker = new Worker(path, { workerData: data });
      workers.push(worker);
      worker.on('message', (m: WorkerMessage) => {
        if (m.t === 'finding') {
          if (stopMatches(o.stopOn, m.f.sanitizer)) Atomics.store(shared, 1, 1);
          o.onFinding?.(m.f, m.shrunk);
        } else if (m.t === 'progress') {
          live.set(w, m.p.executions);
          lastCorpus = m.p.corpus;
          coverage = Math.max(coverage, m.p.coverage);
          report();
        } else if (m.t === 'seed') {
          results.push(m.r);
          doneExec += m.r.executions;
          if (m.r.complete) seedsDone++;
          coverage = Math.max(coverage, m.r.coverage);
          live.set(w, 0);
          report();
        } else if (m.t === 'error') {
          failed ??= Object.assign(new Error(m.message), { user: m.user });
        }
      });
      worker.on('error', (e) => {
        failed ??= e;
      });
      worker.on('exit', () => {
        if (--running > 0) return;
        o.signal?.removeEventListener('abort', stop);
        if (failed) reject(failed);
        else resolve(mergeResults(results));
      });
    }
  });
}
