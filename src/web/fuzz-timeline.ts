/**
 * A finding's shrunk trace as a step-by-step timeline: a grid with one lane (column) per CPU and a
 * row per step, with previous/next/last buttons and the current step's text.
 */
import { h, setChildren } from './dom.js';
import type { FindingMessage, TimelineEvent } from './fuzz-protocol.js';

/** Renders the timeline of one finding: a grid with a column per CPU, a row per step. */
export function timelineView(events: TimelineEvent[], cpus: number): HTMLElement {
  const grid = h('div', { class: 'timeline', 'data-testid': 'timeline', style: `grid-template-columns: 3rem repeat(${cpus}, minmax(12rem, 1fr))` });
  grid.append(h('div', { class: 'lane-head' }, 'step'), ...Array.from({ length: cpus }, (_, c) => h('div', { class: 'lane-head' }, `CPU ${c}`)));
  events.forEach((ev, i) => {
    grid.append(h('div', { class: 'step' }, i));
    for (let c = 0; c < cpus; c++)
      grid.append(c === ev.cpu ? h('div', { class: `ev${ev.bad ? ' bad' : ''}`, 'data-step': i, title: ev.detail ?? '' }, ev.text) : h('div', {}));
  });
  return grid;
}

export function stepper(events: TimelineEvent[], cpus: number): HTMLElement {
  const view = timelineView(events, cpus);
  const label = h('span', { class: 'mono' }, '');
  const detail = h('pre', { class: 'mono' }, '');
  let cur = -1;
  const show = (i: number) => {
    cur = Math.max(0, Math.min(events.length - 1, i));
    view.querySelectorAll('.ev.cur').forEach((e) => e.classList.remove('cur'));
    const el = view.querySelector(`.ev[data-step="${cur}"]`);
    el?.classList.add('cur');
    el?.scrollIntoView({ block: 'nearest' });
    label.textContent = `step ${cur + 1}/${events.length}`;
    detail.textContent = `CPU ${events[cur].cpu}: ${events[cur].text}${events[cur].detail ? '\n' + events[cur].detail : ''}`;
  };
  const bar = h(
    'div',
    { class: 'bar' },
    h('button', { type: 'button', onclick: () => show(cur - 1) }, '◀ previous'),
    h('button', { type: 'button', onclick: () => show(cur + 1) }, 'next ▶'),
    h('button', { type: 'button', onclick: () => show(events.length - 1) }, 'last'),
    label,
  );
  if (events.length) queueMicrotask(() => show(0));
  return h('div', {}, bar, detail, view);
}

/**
 * One distinct bug (all the findings with its deduplication key): how often it was hit, first and
 * last seen, and its shortest trace (report, timeline on demand, download). `add` takes another
 * seed's finding of the same bug (kept when its trace is shorter), `hits` the hit counts.
 */
export class FindingRow {
  readonly el: HTMLElement;
  private best: FindingMessage;
  private seeds = 1;
  private count = 1;
  private last: { seed: number; execution: number; ms: number };
  /** The first finding of the bug (seeds run in order, so the first reported). */
  private readonly first: { seed: number; execution: number; ms: number };
  private readonly head = h('span', {});
  private readonly body = h('div', {});
  private readonly link = h('a', { 'data-testid': 'trace-download' }, 'download trace');

  constructor(
    f: FindingMessage,
    private readonly index: number,
  ) {
    this.best = f;
    this.first = { seed: f.seed, execution: f.foundAtExecution, ms: f.foundAtMs };
    this.last = this.first;
    const open = () =>
      setChildren(
        this.body,
        h('pre', {}, this.best.log),
        this.best.timeline.length ? stepper(this.best.timeline, this.best.cpus) : h('p', { class: 'muted' }, 'no trace events'),
      );
    this.el = h(
      'div',
      { class: 'finding', 'data-testid': 'finding', 'data-key': f.key },
      this.head,
      ' ',
      h('button', { type: 'button', 'data-testid': 'open-finding', onclick: open }, 'open timeline'),
      ' ',
      this.link,
      this.body,
    );
    this.render();
  }

  /** Another seed found the same bug. */
  add(f: FindingMessage): void {
    this.seeds++;
    if (f.ops < this.best.ops || (f.ops === this.best.ops && f.steps < this.best.steps)) this.best = f;
    this.render();
  }

  /** Hits of this bug so far, and the latest. */
  hits(count: number, last: { seed: number; execution: number; ms: number }): void {
    this.count = count;
    this.last = last;
    this.render();
  }

  private render(): void {
    const f = this.best;
    const first = this.first;
    this.el.dataset.count = String(this.count);
    this.el.dataset.seeds = String(this.seeds);
    URL.revokeObjectURL(this.link.href);
    this.link.href = URL.createObjectURL(new Blob([f.trace], { type: 'application/json' }));
    this.link.download = f.traceName;
    this.link.title = 'replay it with: npx pagewalk replay ' + f.traceName;
    const at = (o: { seed: number; execution: number; ms: number }) => `seed ${o.seed}, execution ${o.execution} (${(o.ms / 1000).toFixed(1)} s)`;
    setChildren(
      this.head,
      h('strong', {}, `#${this.index + 1} ${f.sanitizer}`),
      ` · ${f.signature} · `,
      h('b', { 'data-testid': 'finding-hits' }, `×${this.count}`),
      ` (${this.seeds} seed${this.seeds > 1 ? 's' : ''}) · first seen ${at(first)} · last seen ${at(this.last)} · shortest trace: ${f.ops} operations, ${f.steps} steps on ${f.cpus} CPU${f.cpus > 1 ? 's' : ''}`,
    );
  }
}
