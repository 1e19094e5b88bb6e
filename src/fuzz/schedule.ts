/**
 * Builds the scheduler strategy of one execution from its input: the schedule's own strategy
 * (seeded random walk or PCT, src/scheduler/strategy.ts), or a replay of recorded choices, all
 * wrapped in the observer that feeds coverage and explanations.
 */
import { Prng } from '../scheduler/prng.js';
import { PctStrategy, RandomStrategy, ReplayStrategy, type SchedView, type Strategy } from '../scheduler/strategy.js';
import { actionCode, actionCpu, actionSlot, SLOT_IPI, SLOT_PREEMPT, SLOT_STEP, SPIN } from '../scheduler/types.js';
import type { Coverage } from './coverage.js';
import { ObservingStrategy } from './observe.js';
import type { Schedule } from './program.js';
import type { ExecInput, ExplainEvent } from './target.js';

/** PCT's default expected run length (change points are drawn from 1..k) when a schedule does not say. */
export const PCT_EXPECTED_STEPS = 400;

/** The schedule's own strategy, with the interrupt windows of its CPUs stretched (`WindowStrategy`). */
export function scheduleStrategy(s: Schedule): Strategy {
  const own = new WindowStrategy(baseStrategy(s), s.seed);
  return s.prefix || s.hold ? new FocusStrategy(s.prefix ?? [], s.hold, own) : own;
}

/**
 * A focused schedule (Generator.focus): the recorded choices of an earlier run first, as long as
 * each is enabled (the same program replays them exactly), then the schedule's own strategy, with
 * one CPU stalled for `hold.steps` scheduler steps from where the prefix ends — as a vCPU the
 * hypervisor deschedules, or a CPU servicing a long interrupt, stalls whatever it was in the
 * middle of, interrupts enabled or not. While it is held, a step or an event the strategy gives it
 * goes to another CPU that can step and does not spin; when there is none, it runs.
 */
export class FocusStrategy implements Strategy {
  readonly name: string;
  private replaying = false;
  private holdEnd = -1;
  constructor(
    private readonly prefix: readonly number[],
    private readonly hold: { cpu: number; steps: number } | undefined,
    private readonly inner: Strategy,
  ) {
    this.name = inner.name;
  }
  begin(view: SchedView): void {
    this.replaying = this.prefix.length > 0;
    this.holdEnd = !this.replaying && this.hold ? this.hold.steps : -1;
    this.inner.begin?.(view);
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    if (this.replaying) {
      if (view.steps < this.prefix.length) {
        const want = this.prefix[view.steps];
        for (let i = 0; i < n; i++) if (acts[i] === want) return i;
      }
      this.replaying = false;
      if (this.hold) this.holdEnd = view.steps + this.hold.steps;
    }
    const i = this.inner.choose(acts, n, view);
    if (view.steps >= this.holdEnd || actionCpu(acts[i]) !== this.hold!.cpu) return i;
    for (let j = 0; j < n; j++) {
      if (actionSlot(acts[j]) !== SLOT_STEP) continue;
      const d = actionCpu(acts[j]);
      if (d !== this.hold!.cpu && view.cpus[d].label() !== SPIN) return j;
    }
    return i;
  }
}

function baseStrategy(s: Schedule): Strategy {
  if (s.strategy === 'random') return new RandomStrategy(s.seed, { eventProbability: s.eventProbability ?? 0.05 });
  if (s.strategy === 'sticky') return new StickyStrategy(s.seed, s.eventProbability ?? 0.05, s.stickiness ?? 0.9, s.release ?? 0);
  return new PctStrategy(s.seed, { depth: s.depth ?? 3, expectedSteps: s.steps ?? PCT_EXPECTED_STEPS, clock: 'points' });
}

/** An interleaving point where the CPU runs with interrupts enabled inside a longer path: its label ends in ':irq' (e.g. src/xen/mm.ts LBL_XEN_STAMP_IRQ). */
const isWindow = (label: string): boolean => label.endsWith(':irq');
/** Probability that a CPU arriving at an interrupt window is held there. */
const WINDOW_HOLD = 0.3;
/** Steps the other CPUs run, at most, while one is held (drawn up to this). */
const WINDOW_STEPS = 400;

/**
 * Interrupt windows stretched: a CPU at an interleaving point inside a path that runs with
 * interrupts enabled (`isWindow`) may be servicing interrupts there for a long time, as long as
 * its interrupt load lasts, while the other CPUs run on. At each arrival at such a point the CPU
 * is held with probability WINDOW_HOLD, for up to a drawn number of steps: while it is held and
 * another CPU can step (and does not spin), a step the schedule's strategy gives the held CPU goes
 * to another CPU instead. Schedules of a model without such points are the strategy's own,
 * choice for choice (the window's Prng is drawn only at a window).
 */
export class WindowStrategy implements Strategy {
  readonly name: string;
  private readonly rng: Prng;
  private held = -1;
  private budget = 0;
  /** Per CPU: the label at which the hold was last decided (one decision per arrival). */
  private decided: string[] = [];
  constructor(
    private readonly inner: Strategy,
    private readonly seed: number,
  ) {
    this.name = inner.name;
    this.rng = new Prng(seed ^ 0x5bd1e995);
  }
  begin(view: SchedView): void {
    this.rng.reseed(this.seed ^ 0x5bd1e995);
    this.held = -1;
    this.budget = 0;
    this.decided = view.cpus.map(() => '');
    this.inner.begin?.(view);
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    const i = this.inner.choose(acts, n, view);
    if (actionSlot(acts[i]) !== SLOT_STEP) return i;
    const c = actionCpu(acts[i]);
    const label = view.cpus[c].label();
    if (!isWindow(label)) {
      this.decided[c] = '';
      if (this.held === c) this.held = -1;
      return i;
    }
    if (this.held !== c && this.decided[c] !== label) {
      this.decided[c] = label;
      if (this.rng.nextFloat() < WINDOW_HOLD) {
        this.held = c;
        this.budget = 1 + this.rng.below(WINDOW_STEPS);
      }
    }
    if (this.held !== c || this.budget-- <= 0) {
      if (this.held === c) this.held = -1;
      return i;
    }
    // Another CPU that can step and does not spin, from the one after the held CPU on.
    let best = -1;
    for (let j = 0; j < n; j++) {
      if (actionSlot(acts[j]) !== SLOT_STEP) continue;
      const d = actionCpu(acts[j]);
      if (d === c || view.cpus[d].label() === SPIN) continue;
      if (best < 0 || (d - c + view.cpus.length) % view.cpus.length < (actionCpu(acts[best]) - c + view.cpus.length) % view.cpus.length) best = j;
    }
    return best >= 0 ? best : i;
  }
}

/** The strategy of one execution, and the replay strategy (to count divergences) when replaying. */
export function executionStrategy(
  input: ExecInput,
  cov: Coverage,
  events?: ExplainEvent[],
): { strategy: Strategy; replay: ReplayStrategy | null; divergences: () => number; anchors?: Map<string, number> } {
  let inner: Strategy;
  let replay: ReplayStrategy | null = null;
  let divergences: () => number = () => 0;
  if (input.replay && input.replayFallback) {
    const r = new SkippingReplayStrategy(input.replay);
    inner = r;
    divergences = () => r.divergences;
  } else if (input.replay) {
    replay = new ReplayStrategy(input.replay, { onDivergence: 'error' });
    inner = replay;
  } else if (input.anchors) inner = new AnchoredStrategy(input.anchors);
  else inner = scheduleStrategy(input.schedule);
  if (input.recordAnchors) {
    const rec = new AnchorRecorder(inner);
    return { strategy: new ObservingStrategy(rec, cov, events), replay, divergences, anchors: rec.anchors };
  }
  return { strategy: new ObservingStrategy(inner, cov, events), replay, divergences };
}

/**
 * The shrinker's fallback: the fewest deviations from sequential execution. Steps the CPUs in
 * turn, skipping one that spins (busy-waits) while another can step, and delivers a pending IPI
 * when every steppable CPU spins (a remote flush waits for it). Never injects IRQs, NMIs or
 * preemptions.
 */
export class MinimalStrategy implements Strategy {
  readonly name = 'minimal';
  private next = 0;
  begin(): void {
    this.next = 0;
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    const ncpu = view.cpus.length;
    let spinner = -1;
    for (let k = 0; k < ncpu; k++) {
      const want = (this.next + k) % ncpu;
      for (let i = 0; i < n; i++) {
        if (actionSlot(acts[i]) !== SLOT_STEP || actionCpu(acts[i]) !== want) continue;
        if (view.cpus[want].label() === SPIN) {
          if (spinner < 0) spinner = i;
          break;
        }
        this.next = (want + 1) % ncpu;
        return i;
      }
    }
    for (let i = 0; i < n; i++) if (actionSlot(acts[i]) === SLOT_IPI) return i;
    if (spinner >= 0) {
      this.next = (actionCpu(acts[spinner]) + 1) % ncpu;
      return spinner;
    }
    return 0;
  }
}

/** How far the shrinker's replay looks ahead for a recorded choice that is enabled. */
const SKIP_WINDOW = 8;

/**
 * Replay for the shrinker: a recorded choice that is no longer enabled (its operation or its
 * interrupt source was removed) is skipped, looking ahead a few choices for one that is; when
 * none is, or the choices run out, `MinimalStrategy` decides that step.
 */
export class SkippingReplayStrategy implements Strategy {
  readonly name = 'replay-skipping';
  private pos = 0;
  private lastStep = -1;
  divergences = 0;
  private readonly fallback = new MinimalStrategy();
  constructor(readonly trace: readonly number[]) {}
  begin(): void {
    this.pos = 0;
    this.lastStep = -1;
    this.divergences = 0;
    this.fallback.begin();
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    // Steps the scheduler took without asking (a single enabled action) consumed recorded choices.
    this.pos += view.steps - this.lastStep - 1;
    this.lastStep = view.steps;
    for (let ahead = 0; ahead < SKIP_WINDOW && this.pos + ahead < this.trace.length; ahead++) {
      const want = this.trace[this.pos + ahead];
      for (let i = 0; i < n; i++) {
        if (acts[i] !== want) continue;
        if (ahead > 0) this.divergences++;
        this.pos += ahead + 1;
        return i;
      }
    }
    this.divergences++;
    return this.fallback.choose(acts, n, view);
  }
}

/** Sticky walk: probability of delivering a pending IPI at once while the running CPU spins. */
const IPI_PROMPTNESS = 0.8;

/**
 * Interleaving points where a critical section has just ended or an object was just let go: a
 * lock dropped (spin_unlock()'s preempt_enable(), PREEMPT_RT's rt_spin_unlock()), an operation of
 * the program returned, a page table unhooked and handed to the free path (free_pgtables), pages
 * dropped from the page cache and freed (truncate_inode_pages_range). What a CPU changed or freed
 * is visible to the others from here on, and what it still owes (a deferred TLB flush, a free
 * after a grace period) is not done yet: the window of a race opens here.
 */
const RELEASE_POINTS: ReadonlySet<string> = new Set(['preempt_enable', 'rt_spin_unlock', 'fuzz:next_op', 'free_pgtables', 'truncate_inode_pages_range']);

/**
 * A random walk that keeps running the same CPU with probability `stickiness` (else switches to
 * another CPU that can step): long stretches of one CPU inside another CPU's critical window,
 * which a step-by-step coin toss almost never produces. With `release` > 0, a CPU standing at a
 * release point (RELEASE_POINTS) is left with that probability: its task is preempted (when a
 * preemption is pending) or another CPU runs a stretch, inside the window the release opened.
 * Events as in the random walk; a pending IPI is taken at once, mostly, while its sender spins.
 */
export class StickyStrategy implements Strategy {
  readonly name = 'sticky';
  private readonly rng: Prng;
  private cur = -1;
  constructor(
    readonly seed: number,
    private readonly p: number,
    private readonly stickiness: number,
    private readonly release = 0,
  ) {
    this.rng = new Prng(seed);
  }
  begin(): void {
    this.rng.reseed(this.seed);
    this.cur = -1;
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    let steps = 0;
    let mine = -1;
    for (let i = 0; i < n; i++) {
      if (actionSlot(acts[i]) !== SLOT_STEP) continue;
      steps++;
      if (actionCpu(acts[i]) === this.cur) mine = i;
    }
    const events = n - steps;
    // A CPU that spins waiting for its IPI to be taken: hardware delivers an IPI within
    // microseconds, so the walk rarely lets the other CPUs run a long stretch first.
    if (events > 0 && this.cur >= 0 && view.cpus[this.cur].label() === SPIN && this.rng.nextFloat() < IPI_PROMPTNESS)
      for (let i = 0; i < n; i++) if (actionSlot(acts[i]) === SLOT_IPI) return i;
    if (events > 0 && (steps === 0 || this.rng.nextFloat() < this.p)) {
      let k = this.rng.below(events);
      for (let i = 0; i < n; i++) if (actionSlot(acts[i]) !== SLOT_STEP && k-- === 0) return i;
    }
    // At a release point: leave the task (a preemption, when one is pending: another task of this
    // CPU runs, on the translations this CPU still caches) or the CPU (another CPU runs).
    const leave = mine >= 0 && this.release > 0 && RELEASE_POINTS.has(view.cpus[this.cur].label()) && this.rng.nextFloat() < this.release;
    if (leave && this.rng.nextFloat() < 0.5) for (let i = 0; i < n; i++) if (acts[i] === actionCode(this.cur, SLOT_PREEMPT)) return i;
    if (mine >= 0 && (steps === 1 || (!leave && this.rng.nextFloat() < this.stickiness))) return mine;
    let k = this.rng.below(mine >= 0 ? steps - 1 : steps);
    for (let i = 0; i < n; i++) {
      if (actionSlot(acts[i]) !== SLOT_STEP || i === mine) continue;
      if (k-- === 0) {
        this.cur = actionCpu(acts[i]);
        return i;
      }
    }
    return 0;
  }
}

/**
 * Anchors of a recorded run for the shrinker: each deviation from "keep running the same CPU" (a
 * switch to another CPU, an interrupt, an NMI, a preemption) keyed by where the CPU that was
 * running stood: `cpu|label|n`, the n-th arrival of that CPU at that interleaving point. Removing
 * an operation shifts step numbers but rarely these keys, so `AnchoredStrategy` replays the
 * deviations of a run on a smaller program where a step-indexed replay would drift.
 */
export class AnchorRecorder implements Strategy {
  readonly name: string;
  readonly anchors = new Map<string, number>();
  private readonly arrivals = new ArrivalCounter();
  private last = -1;
  constructor(private readonly inner: Strategy) {
    this.name = inner.name;
  }
  begin(view: SchedView): void {
    this.arrivals.reset(view);
    this.last = -1;
    this.inner.begin?.(view);
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    this.arrivals.update(view);
    const i = this.inner.choose(acts, n, view);
    const code = acts[i];
    const deviation = actionSlot(code) !== SLOT_STEP || (this.last >= 0 && actionCpu(code) !== this.last);
    if (deviation && this.last >= 0) {
      const key = this.arrivals.key(this.last, view);
      if (!this.anchors.has(key)) this.anchors.set(key, code);
    }
    if (actionSlot(code) === SLOT_STEP) this.last = actionCpu(code);
    return i;
  }
}

/** Replays anchors (see `AnchorRecorder`); elsewhere keeps running the same CPU (minimal fallback). */
export class AnchoredStrategy implements Strategy {
  readonly name = 'anchored';
  private readonly arrivals = new ArrivalCounter();
  private readonly used = new Set<string>();
  private readonly fallback = new MinimalStrategy();
  private last = -1;
  constructor(private readonly anchors: ReadonlyMap<string, number>) {}
  begin(view: SchedView): void {
    this.arrivals.reset(view);
    this.used.clear();
    this.fallback.begin();
    this.last = -1;
  }
  choose(acts: Int32Array, n: number, view: SchedView): number {
    this.arrivals.update(view);
    let pick = -1;
    if (this.last >= 0) {
      const key = this.arrivals.key(this.last, view);
      const want = this.used.has(key) ? undefined : this.anchors.get(key);
      if (want !== undefined) {
        for (let i = 0; i < n; i++) if (acts[i] === want) pick = i;
        if (pick >= 0) this.used.add(key);
      }
      if (pick < 0 && view.cpus[this.last].label() !== SPIN) {
        for (let i = 0; i < n; i++) if (actionSlot(acts[i]) === SLOT_STEP && actionCpu(acts[i]) === this.last) pick = i;
      }
    }
    if (pick < 0) pick = this.fallback.choose(acts, n, view);
    if (actionSlot(acts[pick]) === SLOT_STEP) this.last = actionCpu(acts[pick]);
    return pick;
  }
}

/** Counts, per CPU, arrivals at each interleaving point (a change of the CPU's current label). */
class ArrivalCounter {
  private lastLabel: string[] = [];
  private counts: Array<Map<string, number>> = [];
  reset(view: SchedView): void {
    this.lastLabel = view.cpus.map(() => '');
    this.counts = view.cpus.map(() => new Map());
  }
  update(view: SchedView): void {
    for (let c = 0; c < view.cpus.length; c++) {
      const l = view.cpus[c].label();
      if (l === this.lastLabel[c]) continue;
      this.lastLabel[c] = l;
      const m = this.counts[c];
      m.set(l, (m.get(l) ?? 0) + 1);
    }
  }
  key(cpu: number, view: SchedView): string {
    const l = view.cpus[cpu].label();
    return `${cpu}|${l}|${this.counts[cpu].get(l) ?? 0}`;
  }
}
