/**
 * The fuzzer panel: runs the fuzzer in a Web Worker (started from a Blob URL of the bundled
 * worker source, so that it works from file://), shows executions/s and findings live, and opens
 * a finding's shrunk trace as a timeline (./fuzz-timeline.ts). Messages exchanged with the worker
 * are defined in ./fuzz-protocol.ts.
 */
import { h, setChildren } from './dom.js';
import type { FromWorker, PresetInfo, ToWorker } from './fuzz-protocol.js';
import { FindingRow } from './fuzz-timeline.js';
import { plotSvg, PlotRecorder } from '../fuzz/plot.js';

/** Starts the worker from the embedded source; null when this build has no fuzzer. */
function spawnWorker(): Worker | null {
  if (!__PW_WORKER_SOURCE__) return null;
  const url = URL.createObjectURL(new Blob([__PW_WORKER_SOURCE__], { type: 'text/javascript' }));
  return new Worker(url);
}

class FuzzerPanel {
  private presets: PresetInfo[] = [];
  /** One row per distinct bug. */
  private rows = new Map<string, FindingRow>();
  private plot = new PlotRecorder(500);
  private lastChart = 0;
  private readonly preset = h('select', { 'data-testid': 'preset' });
  private readonly seed = h('input', { class: 'mono', value: '1', size: 6, 'data-testid': 'seed' });
  private readonly startBtn = h('button', { type: 'button', 'data-testid': 'fuzz-start' }, 'Start');
  private readonly stopBtn = h('button', { type: 'button', 'data-testid': 'fuzz-stop', disabled: true }, 'Stop');
  private readonly stats = h('div', { class: 'stats', 'data-testid': 'fuzz-stats' }, 'idle');
  private readonly desc = h('p', { class: 'muted' });
  private readonly findings = h('div', { class: 'findings', 'data-testid': 'findings' });
  private readonly chart = h('div', { class: 'fuzz-chart', 'data-testid': 'fuzz-chart' });
  private readonly status = h('div', { class: 'error', role: 'alert' });

  constructor(
    private readonly root: HTMLElement,
    private worker: Worker,
  ) {
    const bar = h('div', { class: 'bar' }, h('label', {}, 'Preset ', this.preset), h('label', {}, 'Seed ', this.seed), this.startBtn, this.stopBtn);
    setChildren(root, bar, this.desc, this.stats, this.status, this.findings, this.chart);
    this.preset.addEventListener('change', () => this.describe());
    this.startBtn.addEventListener('click', () => this.start());
    this.stopBtn.addEventListener('click', () => this.stop());
    this.attach(worker);
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private attach(w: Worker): void {
    w.onmessage = (ev: MessageEvent<FromWorker>) => this.onMessage(ev.data);
    w.onerror = (e) => {
      this.status.textContent = `fuzzer worker error: ${e.message}`;
      this.setRunning(false);
    };
    w.postMessage({ type: 'hello' } satisfies ToWorker);
  }

  private describe(): void {
    this.desc.textContent = this.presets.find((p) => p.name === this.preset.value)?.description ?? '';
  }

  private setRunning(on: boolean): void {
    this.startBtn.disabled = on;
    this.stopBtn.disabled = !on;
    this.root.dataset.running = on ? '1' : '';
  }

  private start(): void {
    const text = this.seed.value.trim();
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      this.status.textContent = `seed: ${JSON.stringify(this.seed.value)} is not a non-negative integer`;
      return;
    }
    this.status.textContent = '';
    this.rows = new Map();
    this.plot = new PlotRecorder(500);
    this.lastChart = 0;
    setChildren(this.findings);
    setChildren(this.chart);
    this.setRunning(true);
    this.post({ type: 'start', preset: this.preset.value, seed: Number(text) });
  }

  /** The campaign loop is synchronous inside the worker: stopping ends the worker and starts a fresh one. */
  private stop(): void {
    this.worker.terminate();
    const lastPoint = this.plot.points[this.plot.points.length - 1];
    if (lastPoint) this.drawChart(lastPoint.ms);
    this.setRunning(false);
    const w = spawnWorker();
    if (!w) return;
    this.worker = w;
    this.attach(w);
  }

  private showPresets(presets: PresetInfo[]): void {
    const keep = this.preset.value;
    this.presets = presets;
    setChildren(this.preset, ...presets.map((p) => h('option', { value: p.name, selected: p.name === keep }, p.name)));
    this.describe();
  }

  private showProgress(m: Extract<FromWorker, { type: 'progress' }>): void {
    const stat = (label: string, value: string | number, id?: string) => h('span', {}, `${label} `, h('b', id ? { 'data-testid': id } : {}, value));
    setChildren(
      this.stats,
      stat('executions', m.executions, 'executions'),
      stat('executions/s', Math.round(m.execPerSec)),
      stat('distinct findings', m.findings, 'finding-count'),
      stat('coverage', m.coverage),
      stat('time', `${(m.elapsedMs / 1000).toFixed(1)} s`),
    );
    for (const u of m.hits) this.rows.get(u.key)?.hits(u.count, { seed: u.lastSeed, execution: u.lastExecution, ms: u.lastMs });
    this.plot.sample({
      ms: m.elapsedMs,
      seedsDone: m.seedsDone,
      executions: m.executions,
      corpus: m.corpus,
      coverage: m.coverage,
      crashes: m.findings,
      hangs: 0,
    });
    if (m.elapsedMs - this.lastChart >= 1000 || this.lastChart === 0) this.drawChart(m.elapsedMs);
  }

  /** The chart of executions, coverage and distinct findings over time (the CLI's plot.svg). */
  private drawChart(ms: number): void {
    this.lastChart = ms;
    this.chart.innerHTML = plotSvg(this.plot.points, `${this.preset.value}: executions, coverage and distinct findings over time`);
  }

  private onFinding(m: Extract<FromWorker, { type: 'finding' }>): void {
    const row = this.rows.get(m.key);
    if (row) row.add(m);
    else {
      const r = new FindingRow(m, this.rows.size);
      this.rows.set(m.key, r);
      this.findings.append(r.el);
    }
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'presets') this.showPresets(m.presets);
    else if (m.type === 'progress') this.showProgress(m);
    else if (m.type === 'finding') this.onFinding(m);
    else if (m.type === 'stopped') this.setRunning(false);
    else {
      this.status.textContent = m.message;
      this.setRunning(false);
    }
  }
}

/** Wires the fuzzer panel into `root` (or says that this build has no fuzzer). */
export function startFuzzerPanel(root: HTMLElement): void {
  let worker: Worker | null;
  try {
    worker = spawnWorker();
  } catch (e) {
    setChildren(root, h('p', { class: 'error' }, `The fuzzer worker could not start: ${(e as Error).message}`));
    return;
  }
  if (!worker) setChildren(root, h('p', { class: 'muted', 'data-testid': 'fuzzer-missing' }, 'The fuzzer is not part of this build.'));
  else new FuzzerPanel(root, worker);
}
