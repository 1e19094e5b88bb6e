/**
 * The fuzzer panel: runs the fuzzer in a Web Worker (started from a Blob URL of the bundled
 * worker source, so that it works from file://), shows executions/s and findings live, and opens
 * a finding's shrunk trace as a step-by-step timeline with one lane per CPU.
 * Messages exchanged with the worker are defined in ./fuzz-protocol.ts.
 */
import { h, setChildren } from './dom.js';
import type { FindingMessage, FromWorker, PresetInfo, TimelineEvent, ToWorker } from './fuzz-protocol.js';

interface PanelState {
  worker: Worker | null;
  running: boolean;
  findings: FindingMessage[];
}

/** Starts the worker from the embedded source; null when this build has no fuzzer. */
function spawnWorker(): Worker | null {
  if (!__PW_WORKER_SOURCE__) return null;
  const url = URL.createObjectURL(new Blob([__PW_WORKER_SOURCE__], { type: 'text/javascript' }));
  return new Worker(url);
}

function post(w: Worker, m: ToWorker): void {
  w.postMessage(m);
}

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

function findingView(f: FindingMessage, i: number): HTMLElement {
  const body = h('div', {});
  const open = () => setChildren(body, h('pre', {}, f.log), f.timeline.length ? stepper(f.timeline, f.cpus) : h('p', { class: 'muted' }, 'no trace events'));
  return h(
    'div',
    { class: 'finding', 'data-testid': 'finding' },
    h('strong', {}, `#${i + 1} ${f.sanitizer}`),
    ` · ${f.signature} · found at execution ${f.foundAtExecution} · shrunk trace: ${f.timeline.length} steps on ${f.cpus} CPUs `,
    h('button', { type: 'button', 'data-testid': 'open-finding', onclick: open }, 'open timeline'),
    body,
  );
}

/** Wires the fuzzer panel into `root`. */
export function startFuzzerPanel(root: HTMLElement): void {
  let worker: Worker | null;
  try {
    worker = spawnWorker();
  } catch (e) {
    setChildren(root, h('p', { class: 'error' }, `The fuzzer worker could not start: ${(e as Error).message}`));
    return;
  }
  if (!worker) {
    setChildren(root, h('p', { class: 'muted', 'data-testid': 'fuzzer-missing' }, 'The fuzzer is not part of this build.'));
    return;
  }
  const st: PanelState = { worker, running: false, findings: [] };
  const preset = h('select', { 'data-testid': 'preset' }) as HTMLSelectElement;
  const seed = h('input', { class: 'mono', value: '1', size: 6, 'data-testid': 'seed' }) as HTMLInputElement;
  const startBtn = h('button', { type: 'button', 'data-testid': 'fuzz-start' }, 'Start');
  const stopBtn = h('button', { type: 'button', 'data-testid': 'fuzz-stop', disabled: true }, 'Stop');
  const stats = h('div', { class: 'stats', 'data-testid': 'fuzz-stats' }, 'idle');
  const desc = h('p', { class: 'muted' });
  const findings = h('div', { class: 'findings', 'data-testid': 'findings' });
  const status = h('div', { class: 'error', role: 'alert' });
  setChildren(root, h('div', { class: 'bar' }, h('label', {}, 'Preset ', preset), h('label', {}, 'Seed ', seed), startBtn, stopBtn), desc, stats, status, findings);

  let presets: PresetInfo[] = [];
  const describe = () => (desc.textContent = presets.find((p) => p.name === preset.value)?.description ?? '');
  preset.addEventListener('change', describe);
  const setRunning = (on: boolean) => {
    st.running = on;
    (startBtn as HTMLButtonElement).disabled = on;
    (stopBtn as HTMLButtonElement).disabled = !on;
    root.dataset.running = on ? '1' : '';
  };
  const onMessage = (ev: MessageEvent<FromWorker>) => {
    const m = ev.data;
    if (m.type === 'presets') {
      const keep = preset.value;
      presets = m.presets;
      setChildren(preset, ...presets.map((p) => h('option', { value: p.name, selected: p.name === keep }, p.name)));
      describe();
    } else if (m.type === 'progress') {
      setChildren(stats, h('span', {}, 'executions ', h('b', { 'data-testid': 'executions' }, m.executions)), h('span', {}, 'executions/s ', h('b', {}, Math.round(m.execPerSec))), h('span', {}, 'findings ', h('b', { 'data-testid': 'finding-count' }, m.findings)), h('span', {}, 'time ', h('b', {}, `${(m.elapsedMs / 1000).toFixed(1)} s`)));
    } else if (m.type === 'finding') {
      st.findings.push(m);
      findings.append(findingView(m, st.findings.length - 1));
    } else if (m.type === 'stopped') setRunning(false);
    else if (m.type === 'error') {
      status.textContent = m.message;
      setRunning(false);
    }
  };
  const attach = (w: Worker) => {
    w.onmessage = onMessage;
    w.onerror = (e) => {
      status.textContent = `fuzzer worker error: ${e.message}`;
      setRunning(false);
    };
    post(w, { type: 'hello' });
  };
  startBtn.addEventListener('click', () => {
    const s = Number(seed.value);
    if (!/^\d+$/.test(seed.value.trim()) || !Number.isSafeInteger(s)) return void (status.textContent = `seed: ${JSON.stringify(seed.value)} is not a non-negative integer`);
    status.textContent = '';
    st.findings = [];
    setChildren(findings);
    setRunning(true);
    post(st.worker!, { type: 'start', preset: preset.value, seed: s });
  });
  // The campaign loop is synchronous inside the worker: stopping ends the worker and starts a fresh one.
  stopBtn.addEventListener('click', () => {
    st.worker?.terminate();
    setRunning(false);
    st.worker = spawnWorker();
    if (st.worker) attach(st.worker);
  });
  attach(worker);
}
