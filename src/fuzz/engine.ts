/**
 * The fuzzing loop of one seed. Execution i of a seed is a function of the seed and of the
 * executions before it only (the corpus they built), never of the clock: a time limit decides how
 * many executions run, not which. Each execution either generates a fresh (program, schedule) or
 * mutates a corpus entry; an execution that reaches new coverage joins the corpus; a finding with
 * a signature not seen before in this seed is reported at once (unshrunk), then shrunk and
 * reported again.
 */
import { Prng } from '../scheduler/prng.js';
import type { Finding } from '../sanitizers/finding.js';
import { Coverage, setActiveCoverage } from './coverage.js';
import { Generator } from './generate.js';
import { programSize, type Program, type Schedule } from './program.js';
import { shrink } from './shrink.js';
import type { ExecInput, ExecResult, FuzzTarget } from './target.js';
import { TRACE_FORMAT, TRACE_VERSION, type TraceFile } from './trace.js';

/** A finding as the campaign reports it. */
export interface FoundFinding {
  sanitizer: string;
  signature: string;
  log: string[];
  /** Seed of the campaign unit that found it. */
  seed: number;
  /** Execution index (0-based) within that seed. */
  foundAtExecution: number;
  /** Milliseconds since the campaign started (informative; depends on the machine). */
  foundAtMs: number;
  /** The shortest trace seen of this bug (the first occurrence's, shrunk, within one seed). */
  trace: TraceFile;
  /** Executions that hit this bug (same deduplication key), the first included. */
  count: number;
  /** The latest of them (in seed order, then execution order). */
  last: Occurrence;
}

/** Where a finding was hit: campaign seed, execution within the seed, ms since the campaign started. */
export interface Occurrence {
  seed: number;
  execution: number;
  ms: number;
}

/** A model error (an exception other than a finding): a bug in the model or the interpreter. */
export interface ModelError {
  message: string;
  seed: number;
  execution: number;
  program: Program;
  schedule: Schedule;
}

export interface SeedOptions {
  /** Executions to run (the seed's budget). */
  runs: number;
  /** Checked between executions; true stops the seed early (a time limit). */
  shouldStop?: () => boolean;
  /** Milliseconds since the campaign started (for `foundAtMs` only). */
  now?: () => number;
  /** Called as soon as a new finding is found (`shrunk` false), and again once shrunk. */
  onFinding?: (f: FoundFinding, shrunk: boolean) => void;
  /** Called for every execution that ends in a finding (new or already seen), after `onFinding`. */
  onHit?: (f: FoundFinding) => void;
  /** Called every `progressEvery` executions. */
  onProgress?: (p: SeedProgress) => void;
  progressEvery?: number;
  /** Executions the shrinker may spend per finding. Default 400. */
  shrinkBudget?: number;
  /** Stop the seed once it found a finding of this sanitizer ('*': any). */
  stopOn?: string;
  /**
   * Inputs from elsewhere (other shards' corpora): the seed's first executions run them, and those
   * that reach new coverage join its corpus, as any input would.
   */
  imports?: readonly CorpusInput[];
  /** How many of its most productive corpus entries the seed returns in `exported`. Default 0. */
  exportCorpus?: number;
}

/** A corpus input: a program and its schedule. */
export interface CorpusInput {
  program: Program;
  schedule: Schedule;
}

export interface SeedProgress {
  seed: number;
  executions: number;
  findings: number;
  corpus: number;
  coverage: number;
}

export interface SeedResult {
  seed: number;
  executions: number;
  /** Findings in the order found (deduplicated within the seed). */
  findings: FoundFinding[];
  modelErrors: ModelError[];
  corpus: number;
  coverage: number;
  /** True when the seed ran its whole budget. */
  complete: boolean;
  /** With `exportCorpus`: its most productive corpus entries. */
  exported?: CorpusInput[];
}

interface CorpusEntry {
  program: Program;
  schedule: Schedule;
  /** New coverage it brought (favours productive entries). */
  gain: number;
  /** Its run's scheduler choices (the prefix of a focused schedule). */
  choices: number[];
  /** Its run's moments: steps where it reached a pair of two CPUs' labels first (Coverage.hitPair). */
  moments: number[];
}

/** Largest corpus kept per seed (the least productive entries go first). */
const MAX_CORPUS = 256;
/** Probability of a fresh program instead of a mutation, once the corpus is not empty. */
const FRESH_PROBABILITY = 0.2;
/** Probability that a mutation of an entry with moments is a focused schedule of it instead (Generator.focus). */
const FOCUS_PROBABILITY = 0.25;

/** Runs one execution with coverage collection active. */
export function execute(target: FuzzTarget, input: ExecInput, cov: Coverage): ExecResult {
  setActiveCoverage(cov);
  try {
    return target.run(input, cov);
  } finally {
    setActiveCoverage(null);
  }
}

/** The trace file of a finding. */
export function makeTrace(
  target: FuzzTarget,
  program: Program,
  schedule: Schedule,
  choices: number[],
  finding: Finding,
  seed: number,
  execution: number,
  shrunk: boolean,
): TraceFile {
  return {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    preset: target.preset,
    overrides: { ...target.overrides },
    program,
    schedule,
    choices,
    finding,
    found: { seed, execution },
    shrunk,
  };
}

/** Fuzzes `target` with one seed. */
export function runSeed(target: FuzzTarget, seed: number, opts: SeedOptions): SeedResult {
  const rng = new Prng(seed);
  const gen = new Generator(rng, target.maxCpus, target.xenPv);
  const cov = new Coverage();
  const corpus: CorpusEntry[] = [];
  const seen = new Map<string, FoundFinding>();
  const findings: FoundFinding[] = [];
  const modelErrors: ModelError[] = [];
  const errorsSeen = new Set<string>();
  const now = opts.now ?? (() => 0);
  const every = opts.progressEvery ?? 50;
  let exec = 0;
  for (; exec < opts.runs; exec++) {
    if (opts.shouldStop?.()) break;
    if (opts.onProgress && exec % every === 0)
      opts.onProgress({ seed, executions: exec, findings: findings.length, corpus: corpus.length, coverage: cov.total });
    let program: Program;
    let schedule: Schedule;
    const imported = opts.imports?.[exec];
    if (imported) ({ program, schedule } = imported);
    else if (corpus.length === 0 || rng.nextFloat() < FRESH_PROBABILITY) {
      program = gen.program();
      schedule = gen.schedule();
    } else {
      const parent = pickEntry(rng, corpus);
      if (parent.moments.length > 0 && rng.nextFloat() < FOCUS_PROBABILITY) {
        // The same program, its run replayed up to a moment, one of the two CPUs stalled there.
        program = parent.program;
        schedule = gen.focus(parent.schedule, parent.choices, parent.moments);
      } else {
        const donor = corpus[rng.below(corpus.length)].program;
        ({ program, schedule } = gen.mutate(parent.program, parent.schedule, donor));
      }
    }
    let res: ExecResult;
    try {
      res = execute(target, { program, schedule }, cov);
    } catch (e) {
      cov.discard();
      const message = e instanceof Error ? e.message : String(e);
      const key = message.replace(/0x[0-9a-f]+|\d+/gi, '#');
      if (!errorsSeen.has(key)) {
        errorsSeen.add(key);
        modelErrors.push({ message, seed, execution: exec, program, schedule });
      }
      continue;
    }
    const moments = cov.moments();
    const gain = cov.commit();
    gen.feedback(program, gain > 0);
    if (gain > 0) addToCorpus(corpus, { program, schedule, gain, choices: res.trace, moments });
    const f = res.finding;
    if (!f) continue;
    const key = dedupKey(f);
    const known = seen.get(key);
    if (known) {
      known.count++;
      known.last = { seed, execution: exec, ms: now() };
      opts.onHit?.(known);
      continue;
    }
    const at = now();
    const found: FoundFinding = {
      sanitizer: f.sanitizer,
      signature: f.signature,
      log: f.log,
      seed,
      foundAtExecution: exec,
      foundAtMs: at,
      trace: makeTrace(target, program, schedule, res.trace, f, seed, exec, false),
      count: 1,
      last: { seed, execution: exec, ms: at },
    };
    seen.set(key, found);
    opts.onFinding?.(found, false);
    const small = shrink(target, found.trace, opts.shrinkBudget ?? 400);
    found.trace = small;
    found.log = small.finding.log;
    findings.push(found);
    opts.onFinding?.(found, true);
    opts.onHit?.(found);
    if (stopMatches(opts.stopOn, f.sanitizer)) {
      exec++;
      break;
    }
  }
  const result: SeedResult = { seed, executions: exec, findings, modelErrors, corpus: corpus.length, coverage: cov.total, complete: exec >= opts.runs };
  if (opts.exportCorpus)
    result.exported = [...corpus]
      .sort((a, b) => b.gain - a.gain)
      .slice(0, opts.exportCorpus)
      .map((e) => ({ program: e.program, schedule: e.schedule }));
  return result;
}

/** Picks a corpus entry, favouring recent and productive ones. */
function pickEntry(rng: Prng, corpus: CorpusEntry[]): CorpusEntry {
  const a = corpus[rng.below(corpus.length)];
  const b = corpus[corpus.length - 1 - rng.below(Math.min(corpus.length, 16))];
  return b.gain >= a.gain ? b : a;
}

function addToCorpus(corpus: CorpusEntry[], e: CorpusEntry): void {
  corpus.push(e);
  if (corpus.length <= MAX_CORPUS) return;
  let worst = 0;
  for (let i = 1; i < corpus.length - 1; i++) if (corpus[i].gain < corpus[worst].gain) worst = i;
  corpus.splice(worst, 1);
}

/** Size of a trace for reports: operations of the program and scheduler steps. */
export function traceSize(t: TraceFile): { ops: number; steps: number; cpus: number } {
  return { ops: programSize(t.program), steps: t.choices.length, cpus: t.program.cpus };
}

/** Whether a finding of `sanitizer` satisfies a stop condition ('*': any sanitizer; 'a,b': either). */
export function stopMatches(stopOn: string | undefined, sanitizer: string): boolean {
  return stopOn !== undefined && (stopOn === '*' || stopOn.split(',').includes(sanitizer));
}

/**
 * The deduplication key of a finding: its sanitizer and signature with numbers (addresses, type
 * words, frame numbers) blanked, so that one bug seen on different frames is one finding.
 */
export function dedupKey(f: { sanitizer: string; signature: string }): string {
  return `${f.sanitizer}|${f.signature.replace(/\b(0x)?[0-9a-f]*[0-9][0-9a-f]*\b/gi, '#')}`;
}
