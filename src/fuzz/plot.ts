/**
 * A campaign over time: executions, coverage and distinct findings, sampled as the campaign runs.
 * Written as AFL's `plot_data` (the CSV that afl-plot and AFL++'s tools read: same header, one
 * line per sample) and drawn as a small SVG (three panels over a shared time axis) that the CLI
 * saves and the web page shows. No clock here: callers pass the time of each sample.
 */

/** One sample of a campaign. */
export interface PlotPoint {
  /** Milliseconds since the campaign started. */
  ms: number;
  /** Seeds completed (AFL's cycles_done). */
  seedsDone: number;
  /** Executions so far, all seeds. */
  executions: number;
  /** Executions per second since the previous sample. */
  execPerSec: number;
  /** Corpus entries of the seeds running. */
  corpus: number;
  /** Coverage: the largest number of (point, hit-count bucket) pairs any seed reached so far. */
  coverage: number;
  /** Distinct findings so far (deduplication keys), lockups excluded. */
  crashes: number;
  /** Distinct lockup findings so far (soft-lockup, hard-lockup): AFL's hangs. */
  hangs: number;
}

/** AFL++'s plot_data header (the columns pagewalk has no notion of are written as 0). */
export const PLOT_DATA_HEADER =
  '# relative_time, cycles_done, cur_item, corpus_count, pending_total, pending_favs, map_size, saved_crashes, saved_hangs, max_depth, execs_per_sec, total_execs, edges_found';

/** Coverage map size (points), for AFL's map_size percentage. */
const MAP_POINTS = 1 << 16;

/** The samples as AFL plot_data text (relative_time in whole seconds, as AFL writes it). */
export function plotData(points: readonly PlotPoint[]): string {
  const lines = [PLOT_DATA_HEADER];
  for (const p of points) {
    const map = `${Math.min(100, (100 * p.coverage) / MAP_POINTS).toFixed(2)}%`;
    lines.push(
      [Math.floor(p.ms / 1000), p.seedsDone, 0, p.corpus, 0, 0, map, p.crashes, p.hangs, 0, p.execPerSec.toFixed(2), p.executions, p.coverage].join(', '),
    );
  }
  return lines.join('\n') + '\n';
}

/** Parses plot_data text back into samples (for `pagewalk merge`); lines it cannot read are skipped. */
export function parsePlotData(text: string): PlotPoint[] {
  const out: PlotPoint[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const c = line.split(',').map((x) => x.trim());
    if (c.length < 13) continue;
    const n = (i: number) => Number.parseFloat(c[i]);
    out.push({ ms: n(0) * 1000, seedsDone: n(1), corpus: n(3), crashes: n(7), hangs: n(8), execPerSec: n(10), executions: n(11), coverage: n(12) });
  }
  return out;
}

/** Whether a sanitizer's finding is a hang (AFL's saved_hangs) rather than a crash. */
export function isHang(sanitizer: string): boolean {
  return sanitizer === 'soft-lockup' || sanitizer === 'hard-lockup';
}

/**
 * Samples a running campaign: `sample()` is cheap to call often; it records a point when
 * `intervalMs` passed since the last one (and always the first), and `finish()` records the last.
 */
export class PlotRecorder {
  readonly points: PlotPoint[] = [];
  private lastMs = -Infinity;
  private lastExec = 0;

  constructor(private readonly intervalMs = 1000) {}

  sample(p: Omit<PlotPoint, 'execPerSec'>, force = false): void {
    if (!force && p.ms - this.lastMs < this.intervalMs) return;
    const dt = this.lastMs === -Infinity ? p.ms : p.ms - this.lastMs;
    const execPerSec = dt > 0 ? ((p.executions - this.lastExec) * 1000) / dt : 0;
    const prev = this.points[this.points.length - 1];
    if (prev && prev.ms === p.ms) this.points.pop();
    this.points.push({ ...p, execPerSec });
    this.lastMs = p.ms;
    this.lastExec = p.executions;
  }
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A number for an axis label: 12, 1.2k, 3.4M. */
function short(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(v));
}

/**
 * The samples as an SVG document: executions, coverage and distinct findings (a step line) over
 * time, one panel each. Deterministic for given points (no clock, no randomness).
 */
export function plotSvg(points: readonly PlotPoint[], title = 'pagewalk fuzz'): string {
  const W = 640;
  const PH = 110;
  const L = 64;
  const R = 16;
  const T = 30;
  const GAP = 26;
  const series: Array<{ name: string; cls: string; value: (p: PlotPoint) => number; step?: boolean }> = [
    { name: 'executions', cls: 'executions', value: (p) => p.executions },
    { name: 'coverage (edges_found)', cls: 'coverage', value: (p) => p.coverage },
    { name: 'distinct findings', cls: 'findings', value: (p) => p.crashes + p.hangs, step: true },
  ];
  const H = T + series.length * (PH + GAP) + 10;
  const maxMs = Math.max(1000, ...points.map((p) => p.ms));
  const x = (ms: number) => L + ((W - L - R) * ms) / maxMs;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="pagewalk-plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${L}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  series.forEach((s, k) => {
    const top = T + k * (PH + GAP);
    const bottom = top + PH;
    const max = Math.max(1, ...points.map(s.value));
    const y = (v: number) => bottom - (PH * v) / max;
    parts.push(`<g class="panel ${s.cls}" data-series="${s.cls}">`);
    parts.push(`<rect x="${L}" y="${top}" width="${W - L - R}" height="${PH}" fill="none" stroke="#ccc"/>`);
    parts.push(`<text x="${L + 4}" y="${top + 13}" fill="#333">${esc(s.name)}</text>`);
    parts.push(`<text x="${L - 4}" y="${top + 10}" text-anchor="end" fill="#666">${short(max)}</text>`);
    parts.push(`<text x="${L - 4}" y="${bottom}" text-anchor="end" fill="#666">0</text>`);
    if (points.length > 0) {
      const pts: string[] = [`${x(0).toFixed(1)},${y(0).toFixed(1)}`];
      let prevY = y(0);
      for (const p of points) {
        const px = x(p.ms).toFixed(1);
        const py = y(s.value(p));
        if (s.step) pts.push(`${px},${prevY.toFixed(1)}`);
        pts.push(`${px},${py.toFixed(1)}`);
        prevY = py;
      }
      parts.push(`<polyline class="line" fill="none" stroke="${['#1f77b4', '#2ca02c', '#d62728'][k]}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
    }
    parts.push('</g>');
  });
  const axisY = T + series.length * (PH + GAP) - GAP + 14;
  parts.push(`<text x="${L}" y="${axisY}" fill="#666">0 s</text>`);
  parts.push(`<text x="${W - R}" y="${axisY}" text-anchor="end" fill="#666">${(maxMs / 1000).toFixed(maxMs < 10_000 ? 1 : 0)} s</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
