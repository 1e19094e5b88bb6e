/**
 * The part scripts/oracle-instructions.ts, scripts/instr-profile.ts and scripts/tree-instructions.ts
 * share: their common options, the exit on a usage error, and the oracles' cost child
 * (bench/oracle-cost-child.ts) bundled with esbuild into a temporary directory and run under a
 * Valgrind tool in a deterministic V8 (`--single-threaded --hash-seed=1 --random-seed=1`:
 * compilation and garbage collection on the main thread, at points that depend on the work done
 * only); and the Valgrind run and instruction count scripts/tlb-instructions.ts uses too.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { intFlag, parseArgs, UsageError, type FlagSpec, type Parsed } from '../src/cli/args.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Parses `argv` with `spec` plus the options every such script takes: the preset fuzzed
 * (`--preset`, default linux-4.14-smp) and the executions per campaign unit (`--runs`, default 300).
 */
export function parseChildArgs(argv: string[], spec: Record<string, FlagSpec>, script: string): { flags: Parsed['flags']; preset: string; runs: number } {
  const { flags } = parseArgs(
    argv,
    {
      preset: { type: 'string', help: 'the preset fuzzed (default linux-4.14-smp)' },
      runs: { type: 'string', help: 'executions per campaign unit (default 300)' },
      ...spec,
    },
    script,
  );
  return { flags, preset: typeof flags.preset === 'string' ? flags.preset : 'linux-4.14-smp', runs: intFlag(flags.runs, 'runs', 300, 1, 100_000) };
}

/**
 * Bundles the cost child of the checkout `tree` (default: this one) into a fresh temporary
 * directory, runs `fn` with both, then removes the directory.
 */
export async function withCostChild<T>(script: string, fn: (dir: string, bundle: string) => Promise<T>, tree = root): Promise<T> {
  const child = join(tree, 'bench/oracle-cost-child.ts');
  if (!existsSync(child)) throw new UsageError(`${script}: ${tree} is not a checkout of pagewalk (no bench/oracle-cost-child.ts)`);
  if (!existsSync(join(tree, 'src/core/wasm-binary.generated.ts'))) throw new UsageError(`${script}: ${tree} is not built (run npm run build there)`);
  const dir = mkdtempSync(join(tmpdir(), `pagewalk-${script}-`));
  try {
    const bundle = join(dir, 'child.mjs');
    await build({ entryPoints: [child], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'error' });
    return await fn(dir, bundle);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a script's `main` on the command line's arguments: a usage error exits 2 with its message, another error 1 with its stack. */
export function runScript(main: (argv: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${e instanceof UsageError ? e.message : (e as Error).stack}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}

/**
 * Runs `valgrind <args...>`; Valgrind's report (its stderr). `script` names the caller and `what`
 * the run in errors.
 */
export function valgrind(script: string, args: string[], what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new UsageError(`${script}: valgrind not found (Debian: apt-get install valgrind)`) : e),
    );
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`${script}: valgrind (${what}) exited with ${code}:\n${err.slice(-2000)}`));
      else resolve(err);
    });
  });
}

/** Valgrind's tool options that count instructions only (cachegrind without its cache simulation). */
export const COUNT_INSTRUCTIONS = ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null'];

/** The instruction count ("I refs") in a report of a COUNT_INSTRUCTIONS run. */
export function instructionCount(script: string, report: string): number {
  const m = /I\s+refs:\s+([\d,]+)/.exec(report);
  if (!m) throw new Error(`${script}: no instruction count in Valgrind's report:\n${report.slice(-2000)}`);
  return Number(m[1].replace(/,/g, ''));
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
  return valgrind(script, args, `${preset}, oracles ${mode}, ${seeds} x ${runs}`);
}

/** Instructions (Valgrind's "I refs") of one run of the bundled cost child (as `valgrindChild`). */
export async function instructions(script: string, bundle: string, preset: string, mode: 'on' | 'off', runs: number, seeds: number): Promise<number> {
  return instructionCount(script, await valgrindChild(script, COUNT_INSTRUCTIONS, [], bundle, preset, mode, runs, seeds));
}
