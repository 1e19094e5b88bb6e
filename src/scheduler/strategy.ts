/**
 * Scheduling strategies: at each scheduler step, pick one of the enabled actions.
 *
 * - `RoundRobinStrategy`: steps the CPUs in turn and never injects an event (the baseline).
 * - `RandomStrategy`: a seeded random walk; events (interrupts, NMIs, IPIs, preemptions) are
 *   taken with a set probability when enabled.
 * - `PctStrategy`: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
 *   "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010):
 *   random CPU priorities, the highest-priority CPU runs; at d-1 random change points the
 *   running CPU is demoted, or an enabled event is injected. Depth bound d.
 * - `ReplayStrategy`: replays a recorded list of action codes.
 * - `ScriptedStrategy`: a scenario's rules, with a fallback strategy.
 */
import { Prng } from './prng.js';
import type { ModelCpu } from '../modelcpu/cpu.js';
import { actionCpu, actionSlot, describeAction, SLOT_IPI, SLOT_STEP, SPIN } from './types.js';
import type { InterruptSource } from './types.js';

/** What a strategy may look at. */
export interface SchedView {
  /** Steps taken so far in this run. */
  readonly steps: number;
  readonly cpus: readonly ModelCpu[];
  readonly sources: readonly InterruptSource[];
}

export interface Strategy {
  readonly name: string;
  /** Called at the start of each run. */
  begin?(view: SchedView): void;
  /** Index into `acts[0..n)` of the action to take (n >= 1). */
  choose(acts: Int32Array, n: number, view: SchedView): number;
}

/**
 * Steps CPUs in turn (0, 1, ..., 0, ...), skipping CPUs with nothing to step. Takes no
 * interrupt or preemption, except that a pending IPI is delivered as soon as its target can
 * take it (hardware delivers an unmasked IPI promptly; a sender may be waiting for it).
 */
export class RoundRobinStrategy implements Strategy {
  readonly name = 'round-robin';
  private next = 0;
  begin(): void {
    this.next = 0;
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    for (let i = 0; i < n; i++) if (actionSlot(acts[i]) === SLOT_IPI) return i;
    const ncpu = view.cpus.length;
    for (let k = 0; k < ncpu; k++) {
      const want = (this.next + k) % ncpu;
      for (let i = 0; i < n; i++) {
        if (actionSlot(acts[i]) === SLOT_STEP && actionCpu(acts[i]) === want) {
          this.next = (want + 1) % ncpu;
          return i;
        }
      }
    }
    return 0; // only events are enabled: take the first
  }
}

/** Options of the random walk. */
export interface RandomOptions {
  /** Probability of taking an event (IRQ, NMI, IPI, preemption) when one is enabled. Default 0.05. */
  eventProbability?: number;
}

/** Seeded random walk over the enabled actions. */
export class RandomStrategy implements Strategy {
  readonly name = 'random';
  private readonly rng: Prng;
  private readonly p: number;
  constructor(
    readonly seed: number,
    opts: RandomOptions = {},
  ) {
    this.rng = new Prng(seed);
    this.p = opts.eventProbability ?? 0.05;
  }
  begin(): void {
    this.rng.reseed(this.seed);
  }
  choose(acts: Int32Array, n: number): number {
    let steps = 0;
    for (let i = 0; i < n; i++) if (actionSlot(acts[i]) === SLOT_STEP) steps++;
    const events = n - steps;
    const takeEvent = events > 0 && (steps === 0 || this.rng.nextFloat() < this.p);
    let k = this.rng.below(takeEvent ? events : steps);
    for (let i = 0; i < n; i++) {
      if ((actionSlot(acts[i]) === SLOT_STEP) === !takeEvent && k-- === 0) return i;
    }
    return 0;
  }
}

/** Options of PCT. */
export interface PctOptions {
  /** Bug depth d: d-1 priority change points. Default 3. */
  depth?: number;
  /** Expected run length k: change points are drawn from [1, k]. Default 2000. */
  expectedSteps?: number;
  /**
   * What change points count: scheduler steps (default), or interleaving points — the arrivals of
   * the CPU about to run at a label other than the one it last stopped at (a spinning CPU's
   * repeated stops count once, and never as the label SPIN). Counted in points, a change point
   * lands on a place in the code rather than on a step of a busy-wait loop: on a saved seed-002
   * program, 19 of 1481 PCT schedules showed the race instead of 7.
   */
  clock?: 'steps' | 'points';
}

/** Probabilistic concurrency testing over CPUs, with event injection at change points. */
export class PctStrategy implements Strategy {
  readonly name = 'pct';
  private readonly rng: Prng;
  private readonly depth: number;
  private readonly k: number;
  private prio: number[] = [];
  private changes: number[] = [];
  private lowest = 0;
  private readonly byPoints: boolean;
  private points = 0;
  private lastLabel: string[] = [];
  constructor(
    readonly seed: number,
    opts: PctOptions = {},
  ) {
    this.rng = new Prng(seed);
    this.depth = Math.max(1, opts.depth ?? 3);
    this.k = Math.max(1, opts.expectedSteps ?? 2000);
    this.byPoints = opts.clock === 'points';
  }
  begin(view: SchedView): void {
    this.rng.reseed(this.seed);
    const n = view.cpus.length;
    // Random distinct initial priorities >= depth (Fisher-Yates over n slots).
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.rng.below(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    this.prio = new Array(n);
    for (let i = 0; i < n; i++) this.prio[order[i]] = this.depth + i;
    this.changes = [];
    for (let i = 0; i < this.depth - 1; i++) this.changes.push(1 + this.rng.below(this.k));
    this.changes.sort((a, b) => a - b);
    this.lowest = this.depth - 1;
    this.points = 0;
    this.lastLabel = view.cpus.map(() => '');
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    let clock = view.steps;
    if (this.byPoints) {
      const top = this.topCpu(acts, n);
      if (top >= 0) {
        const l = view.cpus[top].label();
        if (l !== this.lastLabel[top] && l !== SPIN) this.points++;
        this.lastLabel[top] = l;
      }
      clock = this.points;
    }
    let atChange = false;
    while (this.changes.length > 0 && this.changes[0] <= clock) {
      this.changes.shift();
      atChange = true;
    }
    if (atChange) {
      const ev = this.pickEvent(acts, n);
      if (ev >= 0) return ev;
      const top = this.topCpu(acts, n);
      if (top >= 0) this.prio[top] = this.lowest > 0 ? this.lowest-- : 0;
    }
    let best = this.topStep(acts, n);
    if (best < 0) return 0;
    const cpu = actionCpu(acts[best]);
    if (view.cpus[cpu].label() === SPIN) {
      // A spinning CPU makes no progress until another one does: demote it.
      this.prio[cpu] = this.lowest > 0 ? this.lowest-- : 0;
      best = this.topStep(acts, n);
      if (view.cpus[actionCpu(acts[best])].label() === SPIN) {
        // Every CPU that can step spins: deliver a pending IPI (what csd_lock_wait() waits for).
        for (let i = 0; i < n; i++) if (actionSlot(acts[i]) === SLOT_IPI) return i;
      }
    }
    return best;
  }
  private pickEvent(acts: Int32Array, n: number): number {
    let events = 0;
    for (let i = 0; i < n; i++) if (actionSlot(acts[i]) !== SLOT_STEP) events++;
    if (events === 0) return -1;
    let k = this.rng.below(events);
    for (let i = 0; i < n; i++) if (actionSlot(acts[i]) !== SLOT_STEP && k-- === 0) return i;
    return -1;
  }
  private topStep(acts: Int32Array, n: number): number {
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (actionSlot(acts[i]) !== SLOT_STEP) continue;
      if (best < 0 || this.prio[actionCpu(acts[i])] > this.prio[actionCpu(acts[best])]) best = i;
    }
    return best;
  }
  private topCpu(acts: Int32Array, n: number): number {
    const i = this.topStep(acts, n);
    return i < 0 ? -1 : actionCpu(acts[i]);
  }
}

/** Raised when a replayed choice is not enabled at its step (the run diverged from the trace). */
export class ReplayDivergence extends Error {
  constructor(
    readonly step: number,
    readonly wanted: number,
    readonly enabled: number[],
  ) {
    super(
      `replay diverged at step ${step}: recorded action '${describeAction(wanted)}' (${wanted}) is not enabled; enabled: ${enabled.map((a) => describeAction(a)).join(', ')}`,
    );
    this.name = 'ReplayDivergence';
  }
}

/** Options of replay. */
export interface ReplayOptions {
  /**
   * What to do when a recorded action is not enabled, or the trace is exhausted: 'error' (throw
   * `ReplayDivergence`; the default, for exact replay) or 'fallback' (use `fallback`, for the
   * fuzzer's shrinker).
   */
  onDivergence?: 'error' | 'fallback';
  fallback?: Strategy;
}

/** Replays recorded action codes: step i takes `trace[i]`. */
export class ReplayStrategy implements Strategy {
  readonly name = 'replay';
  /** Number of steps where the fallback was used. */
  divergences = 0;
  private readonly fallback: Strategy;
  constructor(
    readonly trace: readonly number[],
    private readonly opts: ReplayOptions = {},
  ) {
    this.fallback = opts.fallback ?? new RoundRobinStrategy();
  }
  begin(view: SchedView): void {
    this.divergences = 0;
    this.fallback.begin?.(view);
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    // The trace holds every step: the recorded choice of this step is at index view.steps.
    if (view.steps < this.trace.length) {
      const want = this.trace[view.steps];
      for (let i = 0; i < n; i++) if (acts[i] === want) return i;
      if (this.opts.onDivergence !== 'fallback') throw new ReplayDivergence(view.steps, want, Array.from(acts.subarray(0, n)));
    } else if (this.opts.onDivergence !== 'fallback') {
      throw new ReplayDivergence(view.steps, -1, Array.from(acts.subarray(0, n)));
    }
    this.divergences++;
    return this.fallback.choose(acts, n, view);
  }
}

/**
 * A rule of a scripted schedule: returns the action code to take at this step, or `undefined`
 * to let the next rule or the fallback decide. A rule whose code is not enabled is ignored.
 */
export type ScheduleRule = (view: SchedView, acts: Int32Array, n: number) => number | undefined;

/** A scenario's forced schedule: rules first, then a fallback strategy. */
export class ScriptedStrategy implements Strategy {
  readonly name = 'scripted';
  private readonly fallback: Strategy;
  constructor(
    private readonly rules: readonly ScheduleRule[],
    fallback?: Strategy,
  ) {
    this.fallback = fallback ?? new RoundRobinStrategy();
  }
  begin(view: SchedView): void {
    this.fallback.begin?.(view);
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    for (const rule of this.rules) {
      const code = rule(view, acts, n);
      if (code === undefined) continue;
      for (let i = 0; i < n; i++) if (acts[i] === code) return i;
    }
    return this.fallback.choose(acts, n, view);
  }
}
