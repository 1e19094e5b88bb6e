/**
 * Corpus files on disk, for sharded campaigns: each seed leaves its most productive inputs in a
 * directory (`<out>/corpus` of a shard, or the shared `--corpus-dir`), and with `--corpus-dir`
 * each seed starts by running the inputs found there, keeping those that reach new coverage in its
 * own corpus (syzkaller's hub idea over a shared filesystem or a mounted bucket). Files are named
 * by a hash of their content, so shards writing the same input write one file.
 *
 * A shared directory makes a seed depend on what other shards wrote before it started: the
 * campaign is then no longer a function of its seeds alone (without --corpus-dir it is).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CorpusInput, SeedResult } from '../fuzz/engine.js';
import { hashString } from '../fuzz/coverage.js';
import { parseProgram, parseSchedule } from '../fuzz/program.js';
import { presetCpus, type Overrides } from '../fuzz/targets.js';
import type { RunnerHooks } from '../fuzz/runner.js';
import { writeAtomic } from './atomic.js';

export const CORPUS_FORMAT = 'pagewalk-corpus';
/** Inputs a seed exports when it ends, and imports at most when it starts. */
export const CORPUS_EXPORT = 16;
export const CORPUS_IMPORT = 64;

export interface CorpusOptions {
  preset: string;
  overrides: Overrides;
  /** Shared directory read at every seed start and written at every seed end. */
  corpusDir?: string;
  /** Where else each seed's exported inputs go (a shard's `<out>/corpus`). */
  corpusOut?: string;
}

/** Reads up to `max` valid inputs of `preset` from `dir` (sorted by file name; other files ignored). */
export function readCorpusDir(dir: string, preset: string, overrides: Overrides, max = CORPUS_IMPORT): CorpusInput[] {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch {
    return [];
  }
  const cpus = presetCpus(preset, overrides);
  const out: CorpusInput[] = [];
  for (const n of names) {
    if (out.length >= max) break;
    try {
      const v = JSON.parse(readFileSync(join(dir, n), 'utf8'));
      if (v.format !== CORPUS_FORMAT || v.preset !== preset) continue;
      out.push({ program: parseProgram(v.program, 'program', cpus), schedule: parseSchedule(v.schedule, 'schedule') });
    } catch {
      // a file being written by another shard, or not ours: skip it
    }
  }
  return out;
}

/** Writes inputs to `dir`, one file each, named by a hash of the content. */
export function writeCorpus(dir: string, preset: string, inputs: readonly CorpusInput[]): void {
  if (inputs.length === 0) return;
  mkdirSync(dir, { recursive: true });
  for (const e of inputs) {
    const text = JSON.stringify({ format: CORPUS_FORMAT, preset, program: e.program, schedule: e.schedule });
    writeAtomic(join(dir, `input-${hashString(text).toString(16).padStart(8, '0')}.json`), text + '\n');
  }
}

/** Runner hooks that import from and export to the corpus directories (nothing without them). */
export function corpusHooks(o: CorpusOptions): Pick<RunnerHooks, 'importCorpus' | 'exportCorpus'> & { saveSeed(r: SeedResult): void } {
  const dirs = [o.corpusDir, o.corpusOut].filter((d): d is string => d !== undefined);
  return {
    importCorpus: o.corpusDir === undefined ? undefined : () => readCorpusDir(o.corpusDir!, o.preset, o.overrides),
    exportCorpus: dirs.length ? CORPUS_EXPORT : undefined,
    saveSeed(r) {
      for (const d of dirs) writeCorpus(d, o.preset, r.exported ?? []);
      delete r.exported;
    },
  };
}
