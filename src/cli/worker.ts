/**
 * Entry of a fuzzing worker thread (bundled to dist/worker.js by scripts/build.mjs). Runs seed
 * units taken from the shared counter until the plan is exhausted or the deadline passes, and
 * posts findings (as soon as found, and again once shrunk), progress and per-seed results.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PagewalkError } from '../core/errors.js';
import { runUnits } from '../fuzz/runner.js';
import { createTarget } from '../fuzz/targets.js';
import { corpusHooks } from './corpus.js';
import type { WorkerData, WorkerMessage } from './pool.js';

const data = workerData as WorkerData;
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

async function main(): Promise<void> {
  const target = await createTarget(data.preset, data.overrides);
  const counter = new Int32Array(data.counter);
  const corpus = corpusHooks(data);
  let lastPost = 0;
  runUnits(target, data.plan, {
    nextUnit: () => Atomics.add(counter, 0, 1),
    shouldStop: () => Date.now() >= data.deadline || Atomics.load(counter, 1) !== 0,
    now: () => Date.now() - data.start,
    onFinding: (f, shrunk) => post({ t: 'finding', f, shrunk }),
    onProgress: (p) => {
      const t = Date.now();
      if (t - lastPost < 200) return;
      lastPost = t;
      post({ t: 'progress', p });
    },
    onSeedDone: (r) => {
      corpus.saveSeed(r);
      post({ t: 'seed', r });
    },
    stopOn: data.stopOn,
    importCorpus: corpus.importCorpus,
    exportCorpus: corpus.exportCorpus,
  });
  post({ t: 'done' });
}

main().catch((e) => {
  post({ t: 'error', message: e instanceof Error ? e.message : String(e), user: e instanceof PagewalkError && e.userError });
});
