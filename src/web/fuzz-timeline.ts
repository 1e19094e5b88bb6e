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
    for (let c = 0; c < cpus; c++) grid.append(c === ev.cpu ? h('div', { class: `ev${ev.bad ? ' bad' : ''}`, 'data-step': i, title: ev.detail ?? '' }, ev.text) : h('div', {}));
  });
  return grid;
}

function stepper(events: TimelineEvent[], cpus: number): HTMLElement {
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

/** One finding: its report, and its timeline on demand. */
export function findingView(f: FindingMessage, i: number): HTMLElement {
  const body = h('div', {});
  const open = () => setChildren(body, h('pre', {}, f.log), f.timeline.length ? stepper(f.timeline, f.cpus) : h('p', { class: 'muted' }, 'no trace events'));
  return h(
    'div',
    { class: 'finding', 'data-testid': 'finding' },
    h('strong', {}, `#${i + 1} ${f.sanitizer}`),
    ` · ${f.signature} · seed ${f.seed}, execution ${f.foundAtExecution} · shrunk trace: ${f.timeline.length} steps on ${f.cpus} CPU${f.cpus > 1 ? 's' : ''} `,
    h('button', { type: 'button', 'data-testid': 'open-finding', onclick: open }, 'open timeline'),
    ' ',
    h('a', { href: URL.createObjectURL(new Blob([f.trace], { type: 'application/json' })), download: f.traceName, 'data-testid': 'trace-download', title: 'replay it with: npx pagewalk replay ' + f.traceName }, 'download trace'),
    body,
  );
}
