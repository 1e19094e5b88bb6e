/**
 * The page's fuzzer Web Worker (bundled by src/web/build.mjs into a classic script and started
 * from a Blob URL, so that it works from file://). It runs the same campaign loop as the CLI's
 * worker threads (src/fuzz/runner.ts) on one preset, seeds `seed, seed+1, ...`, posting progress
 * and each finding once shrunk (the first of its bug in each seed), with the shrunk trace replayed
 * step by step for the timeline, and how often each bug was hit; the page groups them by bug.
 * The loop is synchronous: the page stops a campaign by terminating the worker.
 */
import { listPresets } from '../presets/index.js';
import { Coverage } from '../fuzz/coverage.js';
import { dedupKey, execute, traceSize, type FoundFinding } from '../fuzz/engine.js';
import { runUnits } from '../fuzz/runner.js';
import { DEFAULT_RUNS_PER_SEED } from '../fuzz/campaign.js';
import { createTarget } from '../fuzz/targets.js';
import { traceFileName } from '../fuzz/trace.js';
import type { FuzzTarget } from '../fuzz/target.js';
import type { FromWorker, HitUpdate, PresetInfo, TimelineEvent, ToWorker } from './fuzz-protocol.js';

const scope = self as unknown as { postMessage(m: FromWorker): void; onmessage: ((ev: MessageEvent<ToWorker>) => void) | null };
const post = (m: FromWorker) => scope.postMessage(m);

/** Presets for the panel, in registration order. */
function presets(): PresetInfo[] {
  return listPresets().map((p) => ({ name: p.name, description: p.description }));
}

/** Replays a finding's shrunk trace with explanation on: the timeline events. */
function timeline(target: FuzzTarget, f: FoundFinding): TimelineEvent[] {
  const t = f.trace;
  const r = execute(target, { program: t.program, schedule: t.schedule, replay: t.choices, explain: true }, new Coverage());
  return (r.events ?? []).map((e) => ({ cpu: e.cpu, text: e.text, ...(e.bad ? { bad: true } : {}) }));
}

async function campaign(preset: string, seed: number): Promise<void> {
  const target = await createTarget(preset);
  const start = performance.now();
  let done = 0;
  let current = 0;
  let seedsDone = 0;
  let coverage = 0;
  let corpus = 0;
  const found = new Set<string>();
  // Hits per bug over all seeds (earlier seeds' totals plus the running seed's), sent when changed.
  const totals = new Map<string, HitUpdate>();
  const changed = new Set<string>();
  const progress = () => {
    const ms = performance.now() - start;
    const executions = done + current;
    const hits = [...changed].map((k) => totals.get(k)!);
    changed.clear();
    post({
      type: 'progress',
      executions,
      execPerSec: ms > 0 ? (executions * 1000) / ms : 0,
      findings: found.size,
      elapsedMs: ms,
      coverage,
      seedsDone,
      corpus,
      hits,
    });
  };
  runUnits(
    target,
    { firstSeed: seed, runsPerSeed: DEFAULT_RUNS_PER_SEED },
    {
      now: () => performance.now() - start,
      onProgress: (p) => {
        current = p.executions;
        coverage = Math.max(coverage, p.coverage);
        corpus = p.corpus;
        progress();
      },
      onSeedDone: (r) => {
        done += r.executions;
        current = 0;
        seedsDone++;
      },
      onHit: (f) => {
        const key = dedupKey(f);
        const t = totals.get(key) ?? { key, count: 0, lastSeed: 0, lastExecution: 0, lastMs: 0 };
        t.count++;
        t.lastSeed = f.last.seed;
        t.lastExecution = f.last.execution;
        t.lastMs = f.last.ms;
        totals.set(key, t);
        changed.add(key);
      },
      onFinding: (f, shrunk) => {
        if (!shrunk) return;
        const key = dedupKey(f);
        found.add(key);
        const events = timeline(target, f);
        const size = traceSize(f.trace);
        post({
          type: 'finding',
          key,
          sanitizer: f.sanitizer,
          signature: f.signature,
          log: f.log.join('\n'),
          seed: f.seed,
          foundAtExecution: f.foundAtExecution,
          foundAtMs: f.foundAtMs,
          ops: size.ops,
          steps: size.steps,
          cpus: Math.max(target.maxCpus, ...events.map((e) => e.cpu + 1)),
          timeline: events,
          trace: JSON.stringify(f.trace, null, 2),
          traceName: traceFileName(f.trace.finding),
        });
      },
    },
  );
  progress();
  post({ type: 'stopped' });
}

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'hello') post({ type: 'presets', presets: presets() });
  else if (m.type === 'start') campaign(m.preset, m.seed).catch((e) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
};
