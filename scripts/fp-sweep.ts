/**
 * The false-positive sweep of issue 13 (docs/fuzzing.md, "Mutation benchmark"): every fixed preset
 * of the scenarios (`pagewalk scenario list`) fuzzed for `--runs` executions (default 200,000), one
 * `pagewalk fuzz --json` campaign each (dist/cli.js: run `npm run build` first), then one table:
 * preset, executions, seeds, findings by sanitizer, and whether any is an outcome oracle's. Heavy:
 * at a few hundred executions per second per core, 200,000 executions take 10-30 minutes per preset.
 *
 *   npx tsx scripts/fp-sweep.ts [--runs N] [--seed S] [--runs-per-seed R] [--workers K]
 *                               [--only preset,...] [--out DIR] [--json]
 *
 * Exit 0 when no preset has an outcome-oracle finding or a model error, 1 otherwise. Other
 * findings are listed (a fixed preset may have a true bug of a later fix it does not carry, e.g.
 * linux-3.9-smp's seed-004 NMI livelock).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFlag, parseArgs, UsageError } from '../src/cli/args.js';
import { listScenarios } from '../src/scenarios/index.js';
import { OUTCOME_ORACLES } from '../src/sanitizers/finding.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUTCOME: ReadonlySet<string> = new Set(OUTCOME_ORACLES);

interface Row {
  preset: string;
  executions: number;
  seeds: string;
  findings: { sanitizer: string; signature: string; count: number }[];
  modelErrors: number;
  outcome: boolean;
}

function main(argv: string[]): number {
  const { flags, positional } = parseArgs(
    argv,
    {
      runs: { type: 'string', help: 'executions per preset (default 200000)' },
      seed: { type: 'string', help: 'first campaign seed (default 1)' },
      'runs-per-seed': { type: 'string', help: 'executions per seed (default 2000)' },
      workers: { type: 'string', help: 'worker threads per campaign (default: the CLI default, one per core)' },
      only: { type: 'string', help: 'comma-separated presets (default: every fixed preset of the scenarios)' },
      out: { type: 'string', help: "directory for each campaign's findings (default: none kept)" },
      json: { type: 'bool', help: 'print the rows as JSON' },
    },
    'fp-sweep',
  );
  if (positional.length) throw new UsageError(`fp-sweep: unexpected argument ${JSON.stringify(positional[0])}`);
  const cli = join(ROOT, 'dist/cli.js');
  if (!existsSync(cli)) throw new UsageError('fp-sweep: dist/cli.js is missing: run `npm run build` first');
  const runs = intFlag(flags.runs, 'runs', 200_000, 1, 100_000_000);
  const seed = intFlag(flags.seed, 'seed', 1, 0, 2 ** 31);
  const perSeed = intFlag(flags['runs-per-seed'], 'runs-per-seed', 2000, 1, 1_000_000);
  const presets = flags.only ? String(flags.only).split(',').filter(Boolean) : [...new Set(listScenarios().map((s) => s.presets.fixed))].sort();
  const rows: Row[] = [];
  for (const preset of presets) {
    const args = [cli, 'fuzz', '--preset', preset, '--runs', String(runs), '--runs-per-seed', String(perSeed), '--seed', String(seed), '--json'];
    if (flags.workers) args.push('--workers', String(flags.workers));
    if (flags.out) {
      const dir = join(String(flags.out), preset);
      mkdirSync(dir, { recursive: true });
      args.push('--out', dir);
    } else args.push('--out', join(tmpdir(), 'pagewalk-fp-sweep', preset));
    process.stderr.write(`fp-sweep: ${preset}: ${runs} executions from seed ${seed} ...\n`);
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
    const text = r.stdout.trim().split('\n').pop() ?? '';
    let s: {
      executions: number;
      seeds: { seed: number }[];
      findings: { sanitizer: string; signature: string; count: number }[];
      modelErrors: unknown[];
    };
    try {
      s = JSON.parse(text);
    } catch {
      throw new Error(`fp-sweep: ${preset}: the campaign printed no summary (exit ${r.status}): ${r.stderr.slice(-2000)}`);
    }
    const ran = s.seeds.map((x) => x.seed);
    const seeds = ran.length ? `${Math.min(...ran)}–${Math.max(...ran)}` : '';
    const findings = s.findings.map((f) => ({ sanitizer: f.sanitizer, signature: f.signature, count: f.count }));
    const row = {
      preset,
      executions: s.executions,
      seeds,
      findings,
      modelErrors: s.modelErrors.length,
      outcome: findings.some((f) => OUTCOME.has(f.sanitizer)),
    };
    rows.push(row);
    process.stderr.write(
      `fp-sweep: ${preset}: ${row.executions} executions, ${findings.length ? findings.map((f) => `${f.sanitizer} x${f.count}: ${f.signature}`).join('; ') : 'no finding'}${row.modelErrors ? `, ${row.modelErrors} model errors` : ''}\n`,
    );
  }
  if (flags.json) process.stdout.write(JSON.stringify(rows) + '\n');
  else {
    process.stdout.write('| fixed preset | executions | seeds | findings |\n|---|---|---|---|\n');
    for (const r of rows) {
      const f = r.findings.length ? r.findings.map((x) => `${x.sanitizer} ×${x.count} (${x.signature})`).join('; ') : 'none';
      process.stdout.write(`| \`${r.preset}\` | ${r.executions} | ${r.seeds} | ${f}${r.modelErrors ? `; ${r.modelErrors} model errors` : ''} |\n`);
    }
  }
  return rows.some((r) => r.outcome || r.modelErrors > 0) ? 1 : 0;
}

try {
  process.exit(main(process.argv.slice(2)));
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
