/**
 * `pagewalk fuzz --preset <name> [--set knob=value ...] [--seed N] [--time S | --runs N]
 * [--shard i/N] [--workers K] [--out DIR] [--plot DIR] [--json]` — a fuzzing campaign
 * (docs/fuzzing.md). SIGINT or SIGTERM ends it with the summary of what ran (marked
 * interrupted); a second one quits at once.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUNS_PER_SEED, type CampaignPlan, type CampaignResult } from '../fuzz/campaign.js';
import { dedupKey, traceSize, type FoundFinding } from '../fuzz/engine.js';
import { isHang, plotData, plotSvg, PlotRecorder } from '../fuzz/plot.js';
import { parseOverrides, presetCpus } from '../fuzz/targets.js';
import { traceFileName, type TraceFile } from '../fuzz/trace.js';
import { SANITIZERS } from '../sanitizers/finding.js';
import { checkWritable, intFlag, parseArgs, UsageError } from './args.js';
import { writeAtomic } from './atomic.js';
import { runCampaign } from './pool.js';
import { findingsTable, makeSummary, SUMMARY_FILE } from './summary.js';

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
  shard: { type: 'string' as const, help: 'run shard i of N (0-based): seeds first+i, first+i+N, ... (merge the shards with pagewalk merge)' },
  plot: { type: 'string' as const, help: 'write DIR/plot_data (AFL plot_data CSV) and DIR/plot.svg' },
  'corpus-dir': { type: 'string' as const, help: 'shared corpus directory: each seed starts with the inputs there and leaves its best ones' },
  help: { type: 'bool' as const },
};

const USAGE = `usage: pagewalk fuzz --preset <name> [--set knob=value ...] [--seed N] [--time S | --runs N] [--shard i/N] [--workers K] [--out DIR] [--plot DIR] [--json]
  --seeds M            number of seeds
  --runs-per-seed R    executions per seed (default ${DEFAULT_RUNS_PER_SEED})
  --shard i/N          run shard i (0..N-1) of the campaign: disjoint seeds per shard; the summary goes to
                       --out DIR/${SUMMARY_FILE}, and pagewalk merge DIR... joins the shards
  --plot DIR           write DIR/plot_data (AFL's plot_data CSV) and DIR/plot.svg
  --corpus-dir DIR     a corpus shared by shards (a shared filesystem or mounted bucket): each seed starts
                       by running the inputs there and leaves its best ones (results then depend on timing)
  --stop-on S          stop at the first finding of sanitizer S (e.g. kernel-bug, hard-lockup; 'any')
Without --time and --runs the campaign runs 60 seconds. Ctrl-C (or SIGTERM) ends it with the summary of
what ran, marked interrupted; a second Ctrl-C quits at once.`;

/** Parses `--shard i/N`. */
export function parseShard(v: string | undefined): { index: number; count: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--shard: expected i/N (e.g. 0/4), got ${JSON.stringify(v)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 100_000) throw new UsageError(`--shard: N must be 1..100000, got ${count}`);
  if (index >= count) throw new UsageError(`--shard: i must be 0..${count - 1} (0-based), got ${index}`);
  return { index, count };
}

export { writeAtomic };

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
  const shard = parseShard(flags.shard as string | undefined);
  const out = typeof flags.out === 'string' ? flags.out : shard ? `pagewalk-findings/shard-${shard.index}-of-${shard.count}` : 'pagewalk-findings';
  checkWritable(out, '--out', 'dir'); // a finding is saved the moment it is found: fail now, not then
  // The summary is saved with the traces when the directory was asked for (or is a shard's).
  const saveSummary = typeof flags.out === 'string' || shard !== undefined;
  const plotDir = typeof flags.plot === 'string' ? flags.plot : undefined;
  if (plotDir !== undefined) checkWritable(plotDir, '--plot', 'dir');
  const corpusDir = typeof flags['corpus-dir'] === 'string' ? flags['corpus-dir'] : undefined;
  if (corpusDir !== undefined) checkWritable(corpusDir, '--corpus-dir', 'dir');
  // A shard leaves its best inputs in its directory too (for a later campaign's --corpus-dir).
  const corpusOut = shard ? join(out, 'corpus') : undefined;
  const json = flags.json === true;
  const plan: CampaignPlan = { firstSeed: seed, runsPerSeed, totalRuns, seeds, ...(shard ? { shard } : {}) };
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
  const plot = new PlotRecorder(1000);
  const distinct = new Map<string, boolean>(); // dedup key -> is a hang
  const hangs = () => [...distinct.values()].filter((h) => h).length;
  let last = { executions: 0, corpus: 0, coverage: 0, seedsDone: 0 };
  const progress = (p: typeof last): void => {
    last = p;
    const t = Date.now();
    plot.sample({ ms: t - start, ...p, crashes: distinct.size - hangs(), hangs: hangs() });
    if (!tty) return;
    if (t - lastLine < 250) return;
    lastLine = t;
    const secs = (t - start) / 1000;
    process.stderr.write(
      `\r\x1b[K${preset}: ${p.executions} executions (${Math.round(p.executions / Math.max(secs, 0.001))}/s) · ${shownFindings} finding${shownFindings === 1 ? '' : 's'} · corpus ${p.corpus} · ${secs.toFixed(0)}s`,
    );
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
    if (!distinct.has(dedupKey(f))) {
      distinct.set(dedupKey(f), isHang(f.sanitizer));
      plot.sample({ ms: Date.now() - start, ...last, crashes: distinct.size - hangs(), hangs: hangs() }, true);
    }
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

  // First SIGINT/SIGTERM: stop the workers after their current execution and print the summary
  // of what ran; a second one: quit at once.
  const abort = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) process.exit(sig === 'SIGTERM' ? 143 : 130);
    signalled = sig;
    if (tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(`pagewalk: ${sig}: stopping after the current executions (again to quit at once)\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let result: CampaignResult;
  try {
    result = await runCampaign({
      preset,
      overrides,
      plan,
      workers,
      deadline,
      start,
      stopOn,
      onFinding,
      onProgress: progress,
      signal: abort.signal,
      corpusDir,
      corpusOut,
    });
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const elapsedMs = Date.now() - start;
  const interrupted = signalled !== null;
  // The canonical findings (one per bug, its shortest trace) are the files left in --out.
  const paths = result.findings.map((f) => save(f.trace));
  const summary = makeSummary({ preset, overrides, plan, workers, elapsedMs, interrupted, result, files: paths });
  plot.sample(
    {
      ms: elapsedMs,
      executions: result.executions,
      corpus: last.corpus,
      coverage: Math.max(last.coverage, ...result.seeds.map((x) => x.coverage)),
      seedsDone: result.seeds.filter((x) => x.complete).length,
      crashes: result.findings.filter((f) => !isHang(f.sanitizer)).length,
      hangs: result.findings.filter((f) => isHang(f.sanitizer)).length,
    },
    true,
  );
  if (saveSummary) {
    mkdirSync(out, { recursive: true });
    writeAtomic(join(out, SUMMARY_FILE), JSON.stringify(summary) + '\n');
  }
  if (plotDir !== undefined) writePlot(plotDir, plot.points, `${preset}${shard ? ` shard ${shard.index}/${shard.count}` : ''}, seed ${seed}`);
  if (json) console.log(JSON.stringify(summary));
  else {
    const secs = elapsedMs / 1000;
    const seedList =
      result.seeds.length === 0
        ? 'no seeds'
        : shard && shard.count > 1
          ? `seeds ${result.seeds
              .map((x) => x.seed)
              .slice(0, 4)
              .join(', ')}${result.seeds.length > 4 ? ', ...' : ''} (shard ${shard.index}/${shard.count})`
          : `seeds ${result.seeds[0].seed}..${result.seeds[result.seeds.length - 1].seed}`;
    console.log(
      `${preset}: ${result.executions} executions in ${secs.toFixed(1)}s (${Math.round(result.executions / Math.max(secs, 0.001))}/s on ${workers} worker${workers > 1 ? 's' : ''}), ${seedList}: ${result.findings.length} distinct finding${result.findings.length === 1 ? '' : 's'}${interrupted ? ` (interrupted by ${signalled})` : ''}`,
    );
    for (const line of findingsTable(summary.findings)) console.log(line);
    if (result.modelErrors.length > 0) {
      console.log(`${result.modelErrors.length} model error(s) (exceptions inside the model, not findings):`);
      for (const e of result.modelErrors.slice(0, 5)) console.log(`  seed ${e.seed} execution ${e.execution}: ${e.message}`);
    }
  }
  if (signalled) return signalled === 'SIGTERM' ? 143 : 130;
  return 0;
}

/** Writes `dir/plot_data` (AFL's CSV) and `dir/plot.svg`. */
export function writePlot(dir: string, points: Parameters<typeof plotData>[0], title: string): void {
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, 'plot_data'), plotData(points));
  writeAtomic(join(dir, 'plot.svg'), plotSvg(points, title));
}

/** Prints a finding the way the kernel / Xen print it, then where its trace is. */
function printFinding(f: FoundFinding, path: string): void {
  const s = traceSize(f.trace);
  console.log(f.log.join('\n'));
  console.log(
    `pagewalk: ${f.sanitizer} found by seed ${f.seed} at execution ${f.foundAtExecution} (${(f.foundAtMs / 1000).toFixed(1)}s); shrunk to ${s.ops} operations on ${s.cpus} CPU${s.cpus > 1 ? 's' : ''}, ${s.steps} scheduler steps`,
  );
  console.log(`pagewalk: replay with: pagewalk replay ${path}\n`);
}
