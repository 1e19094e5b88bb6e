/**
 * A strategy wrapper that watches the run without changing it: it feeds interleaving coverage to
 * a `Coverage` map and, on request, records a step-by-step explanation (which CPU ran which model
 * function, which event was delivered where). The wrapped strategy decides every choice.
 */
import { actionCpu, actionSlot, describeAction, SLOT_IPI, SLOT_PREEMPT, SLOT_SOURCE0, SLOT_STEP } from '../scheduler/types.js';
import type { SchedView, Strategy } from '../scheduler/strategy.js';
import { mix, type Coverage } from './coverage.js';
import type { ExplainEvent } from './target.js';

const EV_PREEMPT = 0x5e1;
const EV_IPI = 0x5e2;
const EV_IRQ = 0x5e3;
const EV_NMI = 0x5e4;

/** Wraps `inner`, reporting coverage to `cov` and (when `events` is given) explaining each step. */
export class ObservingStrategy implements Strategy {
  readonly name: string;
  private last: number[] = [];
  /** The label each CPU's `last` id was computed from (skips the id lookup while it stays). */
  private lastLabel: (string | null)[] = [];
  private lastText: string[] = [];

  constructor(
    readonly inner: Strategy,
    private readonly cov: Coverage,
    private readonly events?: ExplainEvent[],
  ) {
    this.name = inner.name;
  }

  begin(view: SchedView): void {
    this.last = view.cpus.map(() => 0);
    this.lastLabel = view.cpus.map(() => null);
    this.lastText = view.cpus.map(() => '');
    this.inner.begin?.(view);
  }

  choose(acts: Int32Array, n: number, view: SchedView): number {
    const cpus = view.cpus;
    const cov = this.cov;
    // Label edges of every CPU that moved since the last choice.
    for (let c = 0; c < cpus.length; c++) {
      const lab = cpus[c].label();
      if (lab === this.lastLabel[c]) continue;
      this.lastLabel[c] = lab;
      const id = cov.id(lab);
      if (id !== this.last[c]) {
        cov.hit(mix(this.last[c], id));
        for (let o = 0; o < cpus.length; o++) if (o !== c) cov.hitPair(mix(id ^ 0x7f4a7c15, this.last[o]), view.steps, o, c);
        this.last[c] = id;
        if (this.events) this.explainMove(c, view);
      }
    }
    const i = n === 1 ? 0 : this.inner.choose(acts, n, view);
    const code = acts[i];
    const slot = actionSlot(code);
    if (slot !== SLOT_STEP) {
      const c = actionCpu(code);
      let kind = EV_IRQ;
      if (slot === SLOT_PREEMPT) kind = EV_PREEMPT;
      else if (slot === SLOT_IPI) kind = EV_IPI;
      else if (view.sources[slot - SLOT_SOURCE0]?.kind === 'nmi') kind = EV_NMI;
      cov.hit(mix(kind, this.last[c]));
      if (this.events) this.events.push({ step: view.steps, cpu: c, text: `${eventText(slot, view, code)} (interrupting ${cpus[c].label()})` });
    }
    return i;
  }

  private explainMove(c: number, view: SchedView): void {
    const cpu = view.cpus[c];
    const th = cpu.thread();
    const where = th.fnStack.length > 0 ? [...th.fnStack].reverse().join(' <- ') : '';
    const who =
      cpu.frames.length > 0
        ? `[${cpu.frames[cpu.frames.length - 1].kind} ${cpu.frames[cpu.frames.length - 1].name}]`
        : `[${(cpu.curr as { comm?: string; pid?: number }).comm ?? 'task'}:${(cpu.curr as { pid?: number }).pid ?? '?'}]`;
    const text = `${who} at ${th.lastLabel}${where ? `  (in ${where})` : ''}`;
    if (text === this.lastText[c]) return;
    this.lastText[c] = text;
    this.events!.push({ step: view.steps, cpu: c, text });
  }
}

function eventText(slot: number, view: SchedView, code: number): string {
  if (slot === SLOT_PREEMPT) return 'preemption (timer interrupt, need_resched)';
  if (slot === SLOT_IPI) return `IPI ${view.cpus[actionCpu(code)].pendingIpis[0]?.name ?? ''} delivered`;
  const src = view.sources[slot - SLOT_SOURCE0];
  return src ? `${src.kind.toUpperCase()} ${src.name} delivered` : describeAction(code);
}
