/**
 * The part scripts/oracle-instructions.ts and scripts/instr-profile.ts share: the oracles' cost
 * child (bench/oracle-cost-child.ts) bundled with esbuild, and run under a Valgrind tool in a
 * deterministic V8 (`--single-threaded --hash-seed=1 --random-seed=1`: compilation and garbage
 * collection on the main thread, at points that depend on the work done only).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { UsageError } from '../src/cli/args.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles the cost child into `dir`; the bundle's path. */
export async function bundleCostChild(dir: string): Promise<string> {
  const bundle = join(dir, 'child.mjs');
  await build({ entryPoints: [join(root, 'bench/oracle-cost-child.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'error' });
  return bundle;
}

/**
 * Runs the bundled child (`preset`, oracles `mode`, the campaign units of seeds 1..`seeds` of
 * `runs` executions each) under `valgrind <tool...>`, with `v8` flags added; Valgrind's report
 * (its stderr). `script` names the caller in errors.
 */
export function valgrindChild(
  script: string,
  tool: string[],
  v8: string[],
  bundle: string,
  preset: string,
  mode: 'on' | 'off',
  runs: number,
  seeds: number,
): Promise<string> {
  const args = [...tool, process.execPath, '--single-threaded', '--hash-seed=1', '--random-seed=1', ...v8, bundle, preset, mode, String(runs), String(seeds)];
  return new Promise((resolve, reject) => {
    const p = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new UsageError(`${script}: valgrind not found (Debian: apt-get install valgrind)`) : e),
    );
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`${script}: valgrind (${preset}, oracles ${mode}, ${seeds} x ${runs}) exited with ${code}:\n${err.slice(-2000)}`));
      else resolve(err);
    });
  });
}
