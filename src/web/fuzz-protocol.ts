/** Messages between the page's fuzzer panel and its Web Worker (src/web/fuzz-worker.ts). */

/** A preset as listed in the panel. */
export interface PresetInfo {
  name: string;
  description: string;
}

/** One event of a finding's shrunk trace, on one CPU's lane. */
export interface TimelineEvent {
  cpu: number;
  text: string;
  detail?: string;
  /** The event where the sanitizer fired. */
  bad?: boolean;
}

/** The page stops a campaign by terminating the worker (its loop is synchronous). */
export type ToWorker = { type: 'hello' } | { type: 'start'; preset: string; seed: number };

export interface FindingMessage {
  type: 'finding';
  /** The bug it is (deduplication key): the page shows one row per key. */
  key: string;
  sanitizer: string;
  signature: string;
  /** The report as the real system prints it. */
  log: string;
  /** Seed of the campaign unit that found it, and the execution within that seed. */
  seed: number;
  foundAtExecution: number;
  /** Milliseconds since the campaign started. */
  foundAtMs: number;
  /** Size of the shrunk trace: operations and scheduler steps (the page keeps the shortest). */
  ops: number;
  steps: number;
  cpus: number;
  /** The shrunk trace file (JSON text), replayable with `pagewalk replay`. */
  trace: string;
  /** File name the CLI would give the trace. */
  traceName: string;
  timeline: TimelineEvent[];
}

/** Executions that hit a known bug so far (all seeds), and the latest one. */
export interface HitUpdate {
  key: string;
  count: number;
  lastSeed: number;
  lastExecution: number;
  lastMs: number;
}

export type FromWorker =
  | { type: 'presets'; presets: PresetInfo[] }
  | {
      type: 'progress';
      executions: number;
      execPerSec: number;
      findings: number;
      elapsedMs: number;
      coverage: number;
      seedsDone: number;
      corpus: number;
      hits: HitUpdate[];
    }
  | FindingMessage
  | { type: 'stopped' }
  | { type: 'error'; message: string };
