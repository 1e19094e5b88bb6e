/**
 * What the fuzzing engine drives: a `FuzzTarget` runs one program under one schedule (or a
 * recorded list of scheduler choices) on a fresh (reset) machine and reports the finding, the
 * coverage it reached and the scheduler's choices. The engine (engine.ts, shrink.ts) knows nothing
 * else of the model; `LinuxFuzzTarget` (linux-target.ts) binds it to the Linux/Xen model.
 */
import type { Finding } from '../sanitizers/finding.js';
import type { Coverage } from './coverage.js';
import type { Program, Schedule } from './program.js';

/** One execution's input. */
export interface ExecInput {
  program: Program;
  schedule: Schedule;
  /**
   * Scheduler choices to replay. With `replayFallback` false (exact replay) a choice that is not
   * enabled is an error; with true (shrinking) the schedule's strategy decides from there on.
   */
  replay?: readonly number[];
  replayFallback?: boolean;
  /** Record a step-by-step explanation (replay command; slow). */
  explain?: boolean;
  /** Without `replay`: schedule by these anchors (shrinker; schedule.ts AnchoredStrategy). */
  anchors?: ReadonlyMap<string, number>;
  /** Record the run's anchors into `ExecResult.anchors` (shrinker). */
  recordAnchors?: boolean;
}

/** One event of an explained run. */
export interface ExplainEvent {
  /** Scheduler step (0-based) at which it happened. */
  step: number;
  cpu: number;
  /** What happened, e.g. `step: zap_pte_range <- unmap_vmas <- exit_mmap`, `NMI nmi0 delivered`. */
  text: string;
  /** The sanitizer fired here. */
  bad?: boolean;
}

/** One execution's outcome. */
export interface ExecResult {
  /** How the run ended: finished, finding, deadlock (nothing enabled) or step-limit. */
  status: 'finished' | 'finding' | 'deadlock' | 'step-limit';
  finding?: Finding;
  /** Scheduler steps taken. */
  steps: number;
  /** The scheduler's choices (action codes): replaying them reproduces the run exactly. */
  trace: number[];
  /** Steps where replay fell back to the strategy (0 for an exact replay). */
  divergences: number;
  /** With `explain`: the events of the run. */
  events?: ExplainEvent[];
  /** With `recordAnchors`: where the run deviated from running one CPU on. */
  anchors?: Map<string, number>;
}

/** A system under test. */
export interface FuzzTarget {
  /** Preset name (for reports and traces). */
  readonly preset: string;
  /** Knob overrides on top of the preset. */
  readonly overrides: Readonly<Record<string, string | number | boolean>>;
  /** CPUs of the machine (programs use at most this many). */
  readonly maxCpus: number;
  /** A Xen PV guest: the generator adds the vocabulary of a malicious guest kernel (generate.ts XEN_OP_WEIGHTS). */
  readonly xenPv?: boolean;
  /** Runs one execution; coverage ids reached are added to `cov`'s current execution. */
  run(input: ExecInput, cov: Coverage): ExecResult;
}
