/**
 * `pagewalk cost [--config file.json] [--json] [--svg out.svg]`: walk-cost microbenchmarks.
 * Runs the experiment matrix (src/cost/), prints a table (a progress bar on stderr when it is
 * a terminal), or every number as JSON, and optionally writes a chart of cost against footprint.
 */
import { writeFileSync } from 'node:fs';
import { checkWritable, parseArgs, readUserFile, UsageError } from './args.js';
import { defaultConfig, parseConfigText, type CostConfig } from '../cost/config.js';
import { configToJson, runMatrix, type CostReport } from '../cost/matrix.js';
import { renderSvg } from '../cost/svg.js';
import { formatTable } from '../cost/table.js';
import { calibrate, calibrationSvg, formatCalibration } from '../cost/calibrate.js';
import type { CellResult } from '../cost/run.js';

const SPEC = {
  config: { type: 'string', help: 'JSON file describing the matrix (see docs/cost.md)' },
  json: { type: 'bool', help: 'print every number as JSON on stdout' },
  svg: { type: 'string', help: 'write a chart of cost against footprint to this file' },
  calibrate: { type: 'bool', help: 'time a pointer chase on this machine and print it beside the model' },
  ghz: { type: 'string', help: 'clock of this machine for --calibrate (default: /proc/cpuinfo)' },
  loads: { type: 'string', help: 'timed loads per --calibrate point (default 2000000)' },
  help: { type: 'bool', help: 'show this help' },
} as const;

const HELP = `usage: pagewalk cost [--config file.json] [--json] [--svg out.svg]
       pagewalk cost --calibrate [--config file.json] [--ghz N] [--loads N] [--json] [--svg out.svg]

Measures what page walks cost on the emulated MMU: TLB hit rate, walks per 1000 accesses,
memory references per walk, paging-structure-cache hits, and modelled cycles per access,
for each configuration x workload x footprint, on a named core (Skylake by default: L1 DTLB,
shared STLB, page walkers, data caches). Without --config it runs a default matrix (uniform
random reads, 1 MiB .. 16 GiB, 4K/2M/1G pages, 4- and 5-level paging, context switches with
and without PCIDs). --calibrate times a pointer chase on this machine (native C when a
compiler exists, else WebAssembly) and prints it beside the model. See docs/cost.md.`;

function loadConfig(path: string | undefined): CostConfig {
  if (path === undefined) return defaultConfig();
  return parseConfigText(readUserFile(path, '--config').toString('utf8'), path);
}

function progressBar(done: number, total: number, last: CellResult): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const label = `${last.config}${last.footprint === null ? '' : ` @ ${last.footprint >= 2 ** 30 ? last.footprint / 2 ** 30 + 'G' : last.footprint / 2 ** 20 + 'M'}`}`;
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}`.slice(0, 100).padEnd(100);
}

/** Entry point for `pagewalk cost`; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, SPEC, 'cost');
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  if (positional.length) throw new UsageError(`cost: unexpected argument ${JSON.stringify(positional[0])}`);
  const conf = loadConfig(flags.config as string | undefined);
  const svgPath = flags.svg as string | undefined;
  if (svgPath !== undefined) checkWritable(svgPath, '--svg', 'file'); // before the run, not after it
  if (flags.calibrate) return runCalibration(conf, flags as Record<string, unknown>, svgPath);
  const tty = Boolean(process.stderr.isTTY);
  const t0 = performance.now();
  const results = await runMatrix(conf, tty ? (d, t, r) => process.stderr.write(progressBar(d, t, r)) : undefined);
  if (tty) process.stderr.write('\r' + ' '.repeat(100) + '\r');
  const elapsedSeconds = (performance.now() - t0) / 1000;
  if (svgPath) writeSvg(svgPath, renderSvg(conf, results));
  if (flags.json) {
    const report: CostReport = { tool: 'pagewalk cost', config: configToJson(conf), cells: results, elapsedSeconds };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    process.stdout.write(formatTable(conf, results) + '\n');
    process.stdout.write(`${results.length} cells in ${elapsedSeconds.toFixed(1)} s${svgPath ? `; chart written to ${svgPath}` : ''}\n`);
  }
  return 0;
}

/** Footprints of a calibration run unless the config names its own: 1 MiB .. 256 MiB (×4). */
const CALIBRATION_FOOTPRINTS = [1, 4, 16, 64, 256].map((m) => m * 2 ** 20);

function writeSvg(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new UsageError(`--svg: cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function positive(v: unknown, flag: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max)
    throw new UsageError(`${flag}: must be a number above 0 and at most ${max}, got ${JSON.stringify(v)}`);
  return n;
}

async function runCalibration(conf: CostConfig, flags: Record<string, unknown>, svgPath: string | undefined): Promise<number> {
  const footprints = flags.config === undefined ? CALIBRATION_FOOTPRINTS : conf.footprints;
  const max = Math.max(...footprints);
  if (max > 4 * 2 ** 30 - 2 ** 26)
    throw new UsageError(`--calibrate: footprint ${max} bytes is too large to allocate for the benchmark (at most 4 GiB − 64 MiB)`);
  const loads = Math.ceil(positive(flags.loads, '--loads', 1e9) ?? 2_000_000);
  const c = await calibrate({ footprints, loads, core: conf.configs[0].core, ghz: positive(flags.ghz, '--ghz', 20) });
  if (svgPath) writeSvg(svgPath, calibrationSvg(c));
  if (flags.json) process.stdout.write(JSON.stringify({ tool: 'pagewalk cost --calibrate', ...c }, null, 2) + '\n');
  else process.stdout.write(formatCalibration(c) + (svgPath ? `\nchart written to ${svgPath}` : '') + '\n');
  return 0;
}
