/**
 * The chart: modelled translation cycles per access against footprint (log2 axis), one line
 * per configuration (and workload), as a self-contained SVG (no scripts, fonts or links).
 */
import type { CostConfig } from './config.js';
import type { CellResult } from './run.js';
import { formatSize } from './sizes.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const W = 900;
const H = 500;
const M = { left: 70, right: 290, top: 40, bottom: 60 };
/** Dash patterns, so that lines lying on top of each other stay distinguishable. */
const DASHES = ['', '7 4', '2 3', '10 3 2 3'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" upper bound for the y axis and its tick step. */
function niceScale(max: number): { top: number; step: number } {
  if (max <= 0) return { top: 1, step: 0.2 };
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

/** Renders the chart; cells without a footprint (address files) or skipped are left out. */
export function renderSvg(conf: CostConfig, results: CellResult[], title = 'pagewalk cost: modelled translation cycles per access'): string {
  const series = new Map<string, CellResult[]>();
  const multiWorkload = conf.workloads.length > 1;
  for (const r of results) {
    if (r.footprint === null || r.skipped) continue;
    const name = multiWorkload ? `${r.config} — ${r.workload}` : r.config;
    if (!series.has(name)) series.set(name, []);
    series.get(name)!.push(r);
  }
  const all = [...series.values()].flat();
  const xs = all.map((r) => Math.log2(r.footprint!));
  const xMin = xs.length ? Math.min(...xs) : 20;
  const xMax = xs.length ? Math.max(...xs, xMin + 1) : 21;
  const { top, step } = niceScale(Math.max(0, ...all.map((r) => r.cycles.total)) * 1.05);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const px = (x: number): number => M.left + ((x - xMin) / (xMax - xMin)) * pw;
  const py = (y: number): number => M.top + ph - (y / top) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (let y = 0; y <= top + step / 2; y += step) {
    const yy = py(y).toFixed(1);
    out.push(`<line x1="${M.left}" y1="${yy}" x2="${M.left + pw}" y2="${yy}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${M.left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle">${Number(y.toPrecision(6))}</text>`);
  }
  for (let x = Math.ceil(xMin); x <= xMax; x++) {
    if ((x - Math.ceil(xMin)) % Math.max(1, Math.ceil((xMax - xMin) / 12)) !== 0) continue;
    const xx = px(x).toFixed(1);
    out.push(`<line x1="${xx}" y1="${M.top}" x2="${xx}" y2="${M.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${xx}" y="${M.top + ph + 18}" text-anchor="middle">${formatSize(2 ** x)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 18}" text-anchor="middle">footprint (bytes of virtual memory, log scale)</text>`);
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">cycles per access (translation only)</text>`);
  let i = 0;
  for (const [name, rs] of series) {
    const color = COLORS[i % COLORS.length];
    const dash = DASHES[i % DASHES.length] ? ` stroke-dasharray="${DASHES[i % DASHES.length]}"` : '';
    const pts = rs.map((r) => `${px(Math.log2(r.footprint!)).toFixed(1)},${py(r.cycles.total).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.join(' ')}"><title>${esc(name)}</title></polyline>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
    }
    const ly = M.top + 10 + i * 20;
    out.push(`<line x1="${M.left + pw + 15}" y1="${ly}" x2="${M.left + pw + 40}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${M.left + pw + 46}" y="${ly}" dominant-baseline="middle">${esc(name)}</text>`);
    i++;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
