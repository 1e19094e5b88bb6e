/**
 * The deterministic scheduler. At each step it lists the enabled actions of every CPU — run one
 * step of its current thread, preempt its task, deliver a pending IPI, deliver an interrupt
 * source (IRQ or NMI) — lets the strategy pick one, records the choice, and applies it.
 *
 * Enabling rules (x86 and Linux):
 * - IRQs and IPIs need EFLAGS.IF = 1 and no NMI in progress (SDM vol. 3, 6.8.1: IF masks
 *   maskable interrupts; 6.7.1: an NMI handler runs with NMIs blocked and, entered through an
 *   interrupt gate, with IF = 0).
 * - NMIs are blocked only while an NMI handler runs (IF does not mask them).
 * - Preemption is decided by the OS model (`SchedTarget.canPreempt`): Linux allows it only when
 *   preempt_count == 0, IRQs are on, no interrupt frame is active and the kernel is
 *   preemptible (CONFIG_PREEMPT / PREEMPT_RT), as in kernel/sched/core.c preempt_schedule_irq().
 *
 * Every run records the chosen action codes (`trace`); replaying them with `ReplayStrategy`
 * reproduces the run exactly, because nothing else in the model is nondeterministic.
 *
 * Decisions are taken at the interleaving point itself when the model marks it with `mustYield`
 * (point.ts): when the decision is to step the same thread again, the thread runs on without
 * yielding. The steps, their order and every decision are the same as if it had yielded.
 */
import type { ModelCpu } from '../modelcpu/cpu.js';
import { FindingStop, type Finding } from '../sanitizers/finding.js';
import type { SchedView, Strategy } from './strategy.js';
import { setPointSink, type PointSink } from './point.js';
import {
  ACTION_SLOTS,
  actionCpu,
  actionSlot,
  type ExecThread,
  type InterruptSource,
  type KGen,
  type YieldLabel,
  SLOT_IPI,
  SLOT_PREEMPT,
  SLOT_SOURCE0,
  SLOT_STEP,
} from './types.js';

export type { InterruptSource } from './types.js';

/** What the scheduler drives: the OS model over the modelled CPUs. */
export interface SchedTarget {
  readonly cpus: readonly ModelCpu[];
  readonly sources: InterruptSource[];
  /** Whether stepping this CPU's current thread is useful (false for an idle CPU with no work). */
  canStep(cpu: ModelCpu): boolean;
  /** Whether the current task of this CPU may be preempted now. */
  canPreempt(cpu: ModelCpu): boolean;
  /** Injects the preemption (e.g. pushes preempt_schedule_irq onto the current task). */
  preempt(cpu: ModelCpu): void;
  /** The outermost generator of a task returned (the task ran off its end). */
  taskReturned(cpu: ModelCpu, task: ExecThread): void;
  /** True when the workload is complete. */
  finished(): boolean;
}

/** How a run ended. */
export type RunStatus = 'finished' | 'finding' | 'deadlock' | 'step-limit';

export interface RunResult {
  status: RunStatus;
  steps: number;
  /** Action codes chosen at each step. */
  trace: number[];
  finding?: Finding;
}

export interface RunOptions {
  /** Stop after this many steps. Default 100000. */
  maxSteps?: number;
}

/** `pending` when no decision was taken at the point that ended the last step. */
const NONE = -100;
/** Decisions that end the run. */
const END_FINISHED = -1;
const END_STEP_LIMIT = -2;
const END_DEADLOCK = -3;
const END_STATUS: Record<number, RunStatus> = { [END_FINISHED]: 'finished', [END_STEP_LIMIT]: 'step-limit', [END_DEADLOCK]: 'deadlock' };

/** The deterministic scheduler over one `SchedTarget`. Reusable across runs. */
export class Scheduler implements SchedView, PointSink {
  steps = 0;
  /** CPU of the action being applied (-1 before the first). */
  currentCpu = -1;
  /** Called after every step (an oracle that samples the CPUs' state between steps); null: none. */
  afterStep: (() => void) | null = null;
  private acts = new Int32Array(64);
  private trace: number[] = [];
  private maxSteps = 0;
  /** The thread being stepped and the generator resumed (points reached inside it come to `point`). */
  private thread: ExecThread | null = null;
  private gen: KGen<unknown> | null = null;
  /** The decision taken at the point that ended the last step (NONE: none). */
  private pending = NONE;
  /** `afterStep` already ran for the step that just ended (at its point). */
  private afterDone = false;
  /** An exception of the decision at a point, thrown once the thread has yielded (as without points). */
  private deferred: { error: unknown } | null = null;

  constructor(
    readonly target: SchedTarget,
    public strategy: Strategy,
  ) {}

  get cpus(): readonly ModelCpu[] {
    return this.target.cpus;
  }
  get sources(): readonly InterruptSource[] {
    return this.target.sources;
  }

  /** Runs until the workload finishes, a finding stops it, nothing is enabled, or the step limit. */
  run(opts: RunOptions = {}): RunResult {
    this.maxSteps = opts.maxSteps ?? 100_000;
    this.steps = 0;
    this.trace = [];
    this.pending = NONE;
    this.afterDone = false;
    this.deferred = null;
    this.strategy.begin?.(this);
    try {
      for (;;) {
        let code = this.pending;
        this.pending = NONE;
        if (code === NONE) code = this.decide();
        if (code < 0) return this.result(END_STATUS[code]);
        this.apply(code);
        const d = this.deferred as { error: unknown } | null; // set by point() during apply()
        if (d) {
          this.deferred = null;
          throw d.error;
        }
        if (this.afterDone) this.afterDone = false;
        else if (this.afterStep) this.afterStep();
      }
    } catch (e) {
      if (e instanceof FindingStop) return { ...this.result('finding'), finding: e.finding };
      throw e;
    }
  }

  /** The next action (recorded as a step), or END_* when the run ends here. */
  private decide(): number {
    if (this.target.finished()) return END_FINISHED;
    if (this.steps >= this.maxSteps) return END_STEP_LIMIT;
    const n = this.enabled();
    if (n === 0) return END_DEADLOCK;
    const i = this.strategy.choose(this.acts, n, this); // consulted even when n == 1: scripts observe every step
    if (i < 0 || i >= n) throw new Error(`strategy '${this.strategy.name}' chose index ${i} of ${n} actions`);
    const code = this.acts[i];
    this.trace.push(code);
    this.steps++;
    return code;
  }

  /**
   * The stepped thread reached the interleaving point `label`: what follows its yield (the label
   * recorded, `afterStep`, the next decision) happens here; false when that decision steps the same
   * thread again, which then runs on without yielding.
   */
  point(label: YieldLabel): boolean {
    const th = this.thread!;
    th.lastLabel = label;
    try {
      if (this.afterStep) this.afterStep();
      const code = this.decide();
      const cpu = this.target.cpus[this.currentCpu];
      if (code === this.currentCpu * ACTION_SLOTS + SLOT_STEP && cpu.thread() === th && th.stack[th.stack.length - 1] === this.gen) return false;
      this.pending = code;
    } catch (e) {
      this.deferred = { error: e };
    }
    this.afterDone = true;
    return true;
  }

  private result(status: RunStatus): RunResult {
    return { status, steps: this.steps, trace: this.trace };
  }

  /** Fills `acts` with the enabled action codes, CPU by CPU; returns their number. */
  private enabled(): number {
    const t = this.target;
    const cpus = t.cpus;
    const sources = t.sources;
    if (this.acts.length < cpus.length * (SLOT_SOURCE0 + sources.length)) this.acts = new Int32Array(cpus.length * (SLOT_SOURCE0 + sources.length) * 2);
    const acts = this.acts;
    let n = 0;
    for (let c = 0; c < cpus.length; c++) {
      const cpu = cpus[c];
      const base = c * ACTION_SLOTS;
      if (t.canStep(cpu)) acts[n++] = base + SLOT_STEP;
      if (cpu.frames.length === 0 && t.canPreempt(cpu)) acts[n++] = base + SLOT_PREEMPT;
      const maskable = cpu.IF && cpu.nmiDepth === 0;
      if (maskable && cpu.pendingIpis.length > 0) acts[n++] = base + SLOT_IPI;
      for (let s = 0; s < sources.length; s++) {
        const src = sources[s];
        if (src.remaining <= 0) continue;
        if (src.cpus && !src.cpus.includes(c)) continue;
        if (src.kind === 'nmi' ? cpu.nmiDepth === 0 : maskable) acts[n++] = base + SLOT_SOURCE0 + s;
      }
    }
    return n;
  }

  /** Applies one action code. */
  private apply(code: number): void {
    const cpu = this.target.cpus[actionCpu(code)];
    this.currentCpu = cpu.index;
    const slot = actionSlot(code);
    if (slot === SLOT_STEP) this.stepCpu(cpu);
    else if (slot === SLOT_PREEMPT) this.target.preempt(cpu);
    else if (slot === SLOT_IPI) {
      const ipi = cpu.pendingIpis.shift()!;
      cpu.enterFrame('ipi', ipi.name, ipi.handler(cpu));
    } else {
      const src = this.target.sources[slot - SLOT_SOURCE0];
      src.remaining--;
      cpu.enterFrame(src.kind, src.name, src.handler(cpu));
    }
  }

  /** Runs the CPU's current thread up to its next interleaving point. */
  private stepCpu(cpu: ModelCpu): void {
    const th = cpu.thread();
    const stack = th.stack;
    if (stack.length === 0) {
      if (cpu.frames.length > 0 && th === cpu.frames[cpu.frames.length - 1]) cpu.exitFrame();
      else this.target.taskReturned(cpu, th);
      return;
    }
    const gen = stack[stack.length - 1];
    this.thread = th;
    this.gen = gen;
    const prev = setPointSink(this);
    let r;
    try {
      r = gen.next();
    } finally {
      setPointSink(prev);
    }
    if (!r.done) {
      th.lastLabel = r.value;
      return;
    }
    stack.pop();
    if (stack.length > 0) return;
    if (cpu.frames.length > 0 && th === cpu.frames[cpu.frames.length - 1]) cpu.exitFrame();
    else this.target.taskReturned(cpu, th);
  }
}
