/**
 * `pagewalk cost --calibrate`: the model beside the machine it runs on. A pointer chase (one
 * 64-byte node per line, linked in one random cycle by Sattolo's algorithm, every load depending
 * on the previous one) is timed over each footprint and page size — as native C compiled with
 * the system compiler when there is one (`cc`), else as a small WebAssembly loop — and the model
 * prices the same chase (workload `pointer-chase`, dependent) on the chosen preset: translation
 * plus the data load, converted to nanoseconds at the machine's clock. The difference is where
 * the model (or its preset) and this machine disagree.
 *
 * The timing here is the one place in `pagewalk cost` that reads a clock on purpose: it is the
 * measurement, not the model.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from './config.js';
import { runCell } from './run.js';
import { formatSize } from './sizes.js';

export type Runner = 'native' | 'wasm';

export interface CalibrationPoint {
  footprint: number;
  /** '4k', or '2m' (transparent huge pages asked for with madvise; native only). */
  pages: '4k' | '2m';
  measuredNs: number;
  /** Modelled cycles per load: translation, data, and their sum; and the sum in ns. */
  modelTranslation: number;
  modelData: number;
  modelNs: number;
}

export interface Calibration {
  runner: Runner;
  /** How the native benchmark was built, or why WASM was used. */
  how: string;
  core: string;
  ghz: number;
  ghzSource: string;
  loads: number;
  points: CalibrationPoint[];
}

const C_SOURCE = `#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <sys/mman.h>
int main(int argc, char **argv) {
  if (argc < 4) return 2;
  size_t bytes = strtoull(argv[1], 0, 10); long loads = atol(argv[2]); int huge = atoi(argv[3]);
  size_t nodes = bytes / 64;
  char *mem = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 1;
#ifdef MADV_HUGEPAGE
  madvise(mem, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
#endif
  uint32_t *next = malloc(nodes * sizeof *next);
  if (!next) return 1;
  for (size_t i = 0; i < nodes; i++) next[i] = (uint32_t)i;
  uint64_t x = 88172645463325252ull;
  for (size_t i = nodes - 1; i > 0; i--) { /* Sattolo: one cycle */
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    size_t j = x % i; uint32_t t = next[i]; next[i] = next[j]; next[j] = t;
  }
  for (size_t i = 0; i < nodes; i++) *(char **)(mem + i * 64) = mem + (size_t)next[i] * 64;
  free(next);
  char **p = (char **)mem;
  for (size_t i = 0; i < nodes && i < (size_t)loads; i++) p = (char **)*p;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < loads; i++) p = (char **)*p;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
  printf("%.4f %p\\n", ns / loads, (void *)p);
  return 0;
}
`;

/**
 * (module (import "e" "m" (memory 1))
 *   (func (export "chase") (param i32 i32) (result i32)
 *     (loop (local.set 0 (i32.load (local.get 0)))
 *           (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
 *           (br_if 0 (local.get 1)))
 *     (local.get 0)))
 */
const WASM_CHASE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x02, 0x08, 0x01, 0x01, 0x65, 0x01, 0x6d, 0x02, 0x00,
  0x01, 0x03, 0x02, 0x01, 0x00, 0x07, 0x09, 0x01, 0x05, 0x63, 0x68, 0x61, 0x73, 0x65, 0x00, 0x00, 0x0a, 0x1b, 0x01, 0x19, 0x00, 0x03, 0x40, 0x20, 0x00, 0x28,
  0x02, 0x00, 0x21, 0x00, 0x20, 0x01, 0x41, 0x01, 0x6b, 0x21, 0x01, 0x20, 0x01, 0x0d, 0x00, 0x0b, 0x20, 0x00, 0x0b,
]);

/** The system C compiler, or null. */
export function findCompiler(): string | null {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang']) {
    if (!cc) continue;
    const r = spawnSync(cc, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return cc;
  }
  return null;
}

/** Builds the native benchmark; returns the binary's path. */
function buildNative(cc: string, dir: string): string {
  const src = join(dir, 'chase.c');
  const bin = join(dir, 'chase');
  writeFileSync(src, C_SOURCE);
  execFileSync(cc, ['-O2', '-o', bin, src], { stdio: 'pipe' });
  return bin;
}

function runNative(bin: string, bytes: number, loads: number, huge: boolean): number {
  const out = execFileSync(bin, [String(bytes), String(loads), huge ? '1' : '0'], { encoding: 'utf8' });
  const ns = Number(out.trim().split(/\s+/)[0]);
  if (!Number.isFinite(ns) || ns <= 0) throw new Error(`calibration: the native pointer chase printed ${JSON.stringify(out)}`);
  return ns;
}

/** The same chase in WebAssembly (the engine's loads, no page-size control). */
function runWasm(bytes: number, loads: number): number {
  const pages = Math.ceil(bytes / 65536) + 1;
  const memory = new WebAssembly.Memory({ initial: pages });
  const mod = new WebAssembly.Module(WASM_CHASE);
  const chase = (new WebAssembly.Instance(mod, { e: { m: memory } }).exports as { chase: (p: number, n: number) => number }).chase;
  const nodes = Math.floor(bytes / 64);
  const next = new Uint32Array(nodes);
  for (let i = 0; i < nodes; i++) next[i] = i;
  let x = 0x9e3779b9;
  for (let i = nodes - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % i;
    const t = next[i];
    next[i] = next[j];
    next[j] = t;
  }
  const view = new Uint32Array(memory.buffer);
  for (let i = 0; i < nodes; i++) view[i * 16] = next[i] * 64;
  let p = chase(0, Math.min(nodes, loads));
  const t0 = performance.now();
  p = chase(p, loads);
  const ns = ((performance.now() - t0) * 1e6) / loads;
  if (p < 0) throw new Error('unreachable');
  return ns;
}

/** The clock this machine runs at, from /proc/cpuinfo, or the fallback. */
export function machineGhz(fallback = 3): { ghz: number; source: string } {
  try {
    if (existsSync('/proc/cpuinfo')) {
      const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
      if (m && Number(m[1]) > 100) return { ghz: Number(m[1]) / 1000, source: '/proc/cpuinfo "cpu MHz" (current, not the turbo clock)' };
    }
  } catch {
    /* fall through */
  }
  return { ghz: fallback, source: `assumed ${fallback} GHz (no /proc/cpuinfo clock; pass --ghz)` };
}

export interface CalibrateOptions {
  footprints: number[];
  loads: number;
  core: string;
  ghz?: number;
  /** Force a runner; default native when a compiler exists. */
  runner?: Runner;
}

/** Runs the benchmark and the model over the footprints. */
export async function calibrate(o: CalibrateOptions): Promise<Calibration> {
  const cc = o.runner === 'wasm' ? null : findCompiler();
  if (o.runner === 'native' && !cc) throw new Error('calibration: no C compiler found (cc, gcc, clang); use the WASM runner');
  const clock = o.ghz ? { ghz: o.ghz, source: '--ghz' } : machineGhz();
  const dir = mkdtempSync(join(tmpdir(), 'pagewalk-calibrate-'));
  try {
    const bin = cc ? buildNative(cc, dir) : null;
    const sizes: Array<'4k' | '2m'> = bin ? ['4k', '2m'] : ['4k'];
    const points: CalibrationPoint[] = [];
    for (const fp of o.footprints) {
      for (const pages of sizes) {
        const measuredNs = bin ? runNative(bin, fp, o.loads, pages === '2m') : runWasm(fp, o.loads);
        const conf = resolveConfig({
          accesses: Math.min(o.loads, 200_000),
          footprints: [fp],
          workloads: [{ kind: 'pointer-chase' }],
          configs: [{ core: o.core, pages: { [pages]: 1 } }],
        });
        const r = await runCell(conf, { configIndex: 0, workloadIndex: 0, footprint: fp }, { core: false });
        points.push({
          footprint: fp,
          pages,
          measuredNs,
          modelTranslation: r.cycles.total,
          modelData: r.cycles.data,
          modelNs: (r.cycles.total + r.cycles.data) / clock.ghz,
        });
      }
    }
    return {
      runner: bin ? 'native' : 'wasm',
      how: bin ? `C, ${cc} -O2` : cc === null && o.runner !== 'wasm' ? 'WebAssembly (no C compiler found)' : 'WebAssembly',
      core: o.core,
      ghz: clock.ghz,
      ghzSource: clock.source,
      loads: o.loads,
      points,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The calibration as a table. */
export function formatCalibration(c: Calibration): string {
  const head = ['footprint', 'pages', 'measured ns', 'model ns', 'model/measured', 'model cycles: translation + data'];
  const rows = c.points.map((p) => [
    formatSize(p.footprint),
    p.pages,
    p.measuredNs.toFixed(2),
    p.modelNs.toFixed(2),
    (p.modelNs / p.measuredNs).toFixed(2),
    `${p.modelTranslation.toFixed(1)} + ${p.modelData.toFixed(1)}`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]): string => '  ' + r.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  return [
    `Calibration: dependent pointer chase (64 B nodes, one random cycle), ${c.loads} timed loads per point, measured with ${c.how}; model: preset ${c.core}, ${c.ghz.toFixed(2)} GHz (${c.ghzSource}).`,
    fmt(head),
    ...rows.map(fmt),
    "measured = this machine (translation and data load together); model = the cost model's translation + data-load cycles for the same chase, in ns.",
    c.runner === 'native'
      ? '2m rows ask for transparent huge pages (madvise); the kernel may still give 4 KiB pages.'
      : "WebAssembly: the engine's own loads and page sizes; no 2 MiB rows.",
  ].join('\n');
}

/** Measured and modelled ns against footprint, one pair of lines per page size (self-contained SVG). */
export function calibrationSvg(c: Calibration): string {
  const W = 760;
  const H = 420;
  const L = 70;
  const R = 200;
  const T = 40;
  const B = 50;
  const fps = [...new Set(c.points.map((p) => p.footprint))].sort((a, b) => a - b);
  const maxY = Math.max(1, ...c.points.flatMap((p) => [p.measuredNs, p.modelNs])) * 1.1;
  const x = (fp: number): number =>
    L + (fps.length < 2 ? 0 : ((Math.log2(fp) - Math.log2(fps[0])) / (Math.log2(fps[fps.length - 1]) - Math.log2(fps[0]))) * (W - L - R));
  const y = (v: number): number => H - B - (v / maxY) * (H - T - B);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  out.push(`<text x="${L}" y="20" font-size="14">pagewalk cost --calibrate: ns per dependent load (${c.how}; model ${c.core})</text>`);
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`);
  for (const fp of fps) out.push(`<text x="${x(fp).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${formatSize(fp)}</text>`);
  for (let k = 0; k <= 4; k++) out.push(`<text x="${L - 6}" y="${y((maxY * k) / 4).toFixed(1)}" text-anchor="end">${((maxY * k) / 4).toFixed(0)}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">footprint (log scale)</text>`);
  const series: Array<[string, string, string, (p: CalibrationPoint) => number, '4k' | '2m']> = [];
  for (const pg of ['4k', '2m'] as const) {
    if (!c.points.some((p) => p.pages === pg)) continue;
    const color = pg === '4k' ? '#1f77b4' : '#d62728';
    series.push([`measured ${pg}`, color, '', (p) => p.measuredNs, pg], [`model ${pg}`, color, '6 4', (p) => p.modelNs, pg]);
  }
  series.forEach(([label, color, dash, get, pg], i) => {
    const pts = c.points
      .filter((p) => p.pages === pg)
      .map((p) => `${x(p.footprint).toFixed(1)},${y(get(p)).toFixed(1)}`)
      .join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    out.push(
      `<line x1="${W - R + 15}" y1="${T + 10 + i * 20}" x2="${W - R + 45}" y2="${T + 10 + i * 20}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/><text x="${W - R + 52}" y="${T + 14 + i * 20}">${label}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
