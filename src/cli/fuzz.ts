/**
 * `pagewalk fuzz --preset <name> [--set knob=value ...] [--seed N] [--time S | --runs N]
 * [--workers K] [--out DIR] [--json]` — a fuzzing campaign (docs/fuzzing.md).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUNS_PER_SEED, type CampaignPlan, type CampaignResult } from '../fuzz/campaign.js';
import { dedupKey, traceSize, type FoundFinding } from '../fuzz/engine.js';
import { parseOverrides, presetCpus } from '../fuzz/targets.js';
import { traceFileName, type TraceFile } from '../fuzz/trace.js';
import { SANITIZERS } from '../sanitizers/finding.js';
import { checkWritable, intFlag, parseArgs, UsageError } from './args.js';
import { runCampaign } from './pool.js';

const SPEC = {
  preset: { type: 'string' as const, help: 'preset to fuzz (pagewalk presets)' },
  set: { type: 'multi' as const, help: 'override a knob: --set name=value' },
  seed: { type: 'string' as const, help: 'first seed of the campaign (default 1)' },
  seeds: { type: 'string' as const, help: 'number of seeds (default: as many as --runs needs, or unlimited with --time)' },
  time: { type: 'string' as const, help: 'stop after S seconds' },
  runs: { type: 'string' as const, help: 'stop after N executions in all' },
  'runs-per-seed': { type: 'string' as const, help: `executions per seed (default ${DEFAULT_RUNS_PER_SEED})` },
  workers: { type: 'string' as const, help: 'worker threads (default: number of cores)' },
  out: { type: 'string' as const, help: 'directory for finding traces (default ./pagewalk-findings)' },
  json: { type: 'bool' as const, help: 'print one JSON result object' },
  'stop-on': { type: 'string' as const, help: "stop the campaign at the first finding of this sanitizer ('any' for any)" },
  help: { type: 'bool' as const },
};

const USAGE = `usage: pagewalk fuzz --preset <name> [--set knob=value ...] [--seed N] [--time S | --runs N] [--workers K] [--out DIR] [--json]
  --seeds M            number of seeds (shard a campaign: machine A --seed 1 --seeds 100, machine B --seed 101 --seeds 100)
  --runs-per-seed R    executions per seed (default ${DEFAULT_RUNS_PER_SEED})
  --stop-on S          stop at the first finding of sanitizer S (e.g. kernel-bug, hard-lockup; 'any')
Without --time and --runs the campaign runs 60 seconds.`;

/** Writes `data` to `path` atomically (temp file, then rename). */
export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.floor(performance.now() * 1000)}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, SPEC, 'fuzz');
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`fuzz: unexpected argument '${positional[0]}'`);
  if (typeof flags.preset !== 'string') throw new UsageError('fuzz: --preset <name> is required (list them with: pagewalk presets)');
  const preset = flags.preset;
  const overrides = parseOverrides((flags.set as string[] | undefined) ?? []);
  presetCpus(preset, overrides); // unknown preset / bad knob combination -> exit 2 before any work
  const seed = intFlag(flags.seed, 'seed', 1, 0, 0xffff_ffff);
  const runsPerSeed = intFlag(flags['runs-per-seed'], 'runs-per-seed', DEFAULT_RUNS_PER_SEED, 1);
  const seeds = flags.seeds === undefined ? undefined : intFlag(flags.seeds, 'seeds', 1, 1);
  if (flags.time !== undefined && flags.runs !== undefined) throw new UsageError('fuzz: give --time or --runs, not both');
  const totalRuns = flags.runs === undefined ? undefined : intFlag(flags.runs, 'runs', 1, 1);
  const timeS = flags.time === undefined ? (totalRuns === undefined && seeds === undefined ? 60 : Infinity) : intFlag(flags.time, 'time', 60, 1);
  const workers = intFlag(flags.workers, 'workers', availableParallelism(), 1, 256);
  const out = typeof flags.out === 'string' ? flags.out : 'pagewalk-findings';
  checkWritable(out, '--out', 'dir'); // a finding is saved the moment it is found: fail now, not then
  const json = flags.json === true;
  const plan: CampaignPlan = { firstSeed: seed, runsPerSeed, totalRuns, seeds };
  const stopFlag = flags['stop-on'] as string | undefined;
  if (stopFlag !== undefined && stopFlag !== 'any' && !(SANITIZERS as readonly string[]).includes(stopFlag)) {
    throw new UsageError(`fuzz: --stop-on: unknown sanitizer ${JSON.stringify(stopFlag)} (known: any, ${SANITIZERS.join(', ')})`);
  }
  const stopOn = stopFlag === undefined ? undefined : stopFlag === 'any' ? '*' : stopFlag;

  const start = Date.now();
  const deadline = timeS === Infinity ? Infinity : start + timeS * 1000;
  const tty = !json && process.stderr.isTTY;
  const written = new Set<string>();
  const sigSeen = new Set<string>();
  let lastLine = 0;
  let shownFindings = 0;
  const progress = (execs: number, corpus: number): void => {
    if (!tty) return;
    const t = Date.now();
    if (t - lastLine < 250) return;
    lastLine = t;
    const secs = (t - start) / 1000;
    process.stderr.write(`\r\x1b[K${preset}: ${execs} executions (${Math.round(execs / Math.max(secs, 0.001))}/s) · ${shownFindings} finding${shownFindings === 1 ? '' : 's'} · corpus ${corpus} · ${secs.toFixed(0)}s`);
  };
  const save = (t: TraceFile): string => {
    mkdirSync(out, { recursive: true });
    const p = join(out, traceFileName(t.finding));
    writeAtomic(p, JSON.stringify(t, null, 1) + '\n');
    return p;
  };
  const onFinding = (f: FoundFinding, shrunk: boolean): void => {
    // Written as soon as found (unshrunk), then replaced by the shrunk trace.
    const name = traceFileName(f.trace.finding);
    if (!shrunk && written.has(name)) return;
    written.add(name);
    const path = save(f.trace);
    if (!shrunk || sigSeen.has(dedupKey(f))) return;
    sigSeen.add(dedupKey(f));
    shownFindings++;
    if (!json) {
      if (tty) process.stderr.write('\r\x1b[K');
      printFinding(f, path);
    }
  };

  let result: CampaignResult;
  try {
    result = await runCampaign({ preset, overrides, plan, workers, deadline, start, stopOn, onFinding, onProgress: progress });
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
  }
  const elapsedMs = Date.now() - start;
  // The canonical (seed-ordered, deduplicated) findings are the files left in --out.
  const paths = result.findings.map((f) => save(f.trace));
  if (json) {
    console.log(JSON.stringify({
      preset, overrides, seed, workers, executions: result.executions, elapsedMs,
      seedsRun: result.seeds.length,
      findings: result.findings.map((f, i) => ({ sanitizer: f.sanitizer, signature: f.signature, log: f.log, seed: f.seed, foundAtExecution: f.foundAtExecution, foundAtMs: f.foundAtMs, file: paths[i], trace: f.trace })),
      modelErrors: result.modelErrors.map((e) => ({ message: e.message, seed: e.seed, execution: e.execution, program: e.program, schedule: e.schedule })),
    }));
  } else {
    const secs = elapsedMs / 1000;
    console.log(`${preset}: ${result.executions} executions in ${secs.toFixed(1)}s (${Math.round(result.executions / Math.max(secs, 0.001))}/s on ${workers} worker${workers > 1 ? 's' : ''}), seeds ${seed}..${seed + Math.max(0, result.seeds.length - 1)}: ${result.findings.length} finding${result.findings.length === 1 ? '' : 's'}`);
    for (let i = 0; i < result.findings.length; i++) console.log(`  ${result.findings[i].sanitizer}: ${result.findings[i].signature} -> ${paths[i]}`);
    if (result.modelErrors.length > 0) {
      console.log(`${result.modelErrors.length} model error(s) (exceptions inside the model, not findings):`);
      for (const e of result.modelErrors.slice(0, 5)) console.log(`  seed ${e.seed} execution ${e.execution}: ${e.message}`);
    }
  }
  return 0;
}

/** Prints a finding the way the kernel / Xen print it, then where its trace is. */
function printFinding(f: FoundFinding, path: string): void {
  const s = traceSize(f.trace);
  console.log(f.log.join('\n'));
  console.log(`pagewalk: ${f.sanitizer} found by seed ${f.seed} at execution ${f.foundAtExecution} (${(f.foundAtMs / 1000).toFixed(1)}s); shrunk to ${s.ops} operations on ${s.cpus} CPU${s.cpus > 1 ? 's' : ''}, ${s.steps} scheduler steps`);
  console.log(`pagewalk: replay with: pagewalk replay ${path}\n`);
}
