/**
 * `pagewalk merge <dir>... [--out DIR] [--json]`: joins the results of campaign shards (each
 * directory holds the `campaign.json` a `pagewalk fuzz --shard i/N --out DIR` wrote) into one
 * report, one row per distinct bug (counts added, first and last occurrence, shortest trace), as
 * one campaign over the same seeds would report it. With --out, the merged traces and summary are
 * written there.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { groupFindings, type CampaignResult } from '../fuzz/campaign.js';
import { traceFileName } from '../fuzz/trace.js';
import { parseArgs, UsageError } from './args.js';
import { writeAtomic } from './atomic.js';
import { findingsTable, loadSummary, makeSummary, summaryFindings, SUMMARY_FILE, type CampaignSummary } from './summary.js';

const SPEC = {
  out: { type: 'string' as const, help: 'write the merged traces and campaign.json to DIR' },
  json: { type: 'bool' as const, help: 'print the merged summary as one JSON object' },
  help: { type: 'bool' as const },
};

const USAGE = `usage: pagewalk merge <dir>... [--out DIR] [--json]
  Each <dir> is the --out directory of a campaign (e.g. one per --shard i/N); it holds ${SUMMARY_FILE}.
  Findings are grouped by bug across the directories; seeds must not overlap.`;

const sortedJson = (o: Record<string, unknown>) =>
  JSON.stringify(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, SPEC, 'merge');
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (positional.length === 0) throw new UsageError('merge: give at least one campaign directory (pagewalk merge shard-0 shard-1 ...)');
  const parts = positional.map((dir) => ({ dir, s: loadSummary(dir) }));
  const first = parts[0].s;
  const seedOwner = new Map<number, string>();
  for (const { dir, s } of parts) {
    if (s.preset !== first.preset || sortedJson(s.overrides) !== sortedJson(first.overrides)) {
      throw new UsageError(
        `merge: ${dir} is a campaign on ${s.preset} ${JSON.stringify(s.overrides)}, ${parts[0].dir} on ${first.preset} ${JSON.stringify(first.overrides)}: only campaigns on the same preset and knobs merge`,
      );
    }
    if (s.plan.runsPerSeed !== first.plan.runsPerSeed)
      throw new UsageError(`merge: ${dir} ran ${s.plan.runsPerSeed} executions per seed, ${parts[0].dir} ${first.plan.runsPerSeed}`);
    for (const x of s.seeds) {
      const other = seedOwner.get(x.seed);
      if (other !== undefined) throw new UsageError(`merge: seed ${x.seed} was run by both ${other} and ${dir} (shards must have disjoint seeds)`);
      seedOwner.set(x.seed, dir);
    }
  }
  const result: CampaignResult = {
    executions: parts.reduce((n, p) => n + p.s.executions, 0),
    findings: groupFindings(parts.flatMap((p) => summaryFindings(p.s))),
    modelErrors: parts.flatMap((p) => p.s.modelErrors),
    seeds: parts.flatMap((p) => p.s.seeds).sort((a, b) => a.seed - b.seed),
  };
  const out = typeof flags.out === 'string' ? flags.out : undefined;
  const fileOf = new Map(parts.flatMap((p) => p.s.findings.map((g) => [g.trace, g.file] as const)));
  const files = result.findings.map((f) => {
    if (out === undefined) return fileOf.get(f.trace) ?? '';
    mkdirSync(out, { recursive: true });
    const path = join(out, traceFileName(f.trace.finding));
    writeAtomic(path, JSON.stringify(f.trace, null, 1) + '\n');
    return path;
  });
  const plan = { ...first.plan, firstSeed: Math.min(...parts.map((p) => p.s.plan.firstSeed)) };
  delete plan.shard;
  const merged: CampaignSummary = makeSummary({
    preset: first.preset,
    overrides: first.overrides,
    plan,
    workers: parts.reduce((n, p) => n + p.s.workers, 0),
    elapsedMs: Math.max(...parts.map((p) => p.s.elapsedMs)),
    interrupted: parts.some((p) => p.s.interrupted),
    result,
    files,
  });
  if (out !== undefined) writeAtomic(join(out, SUMMARY_FILE), JSON.stringify(merged) + '\n');
  if (flags.json) console.log(JSON.stringify(merged));
  else {
    const seeds = result.seeds.length;
    console.log(
      `${first.preset}: ${parts.length} campaign${parts.length > 1 ? 's' : ''}, ${seeds} seed${seeds === 1 ? '' : 's'}, ${result.executions} executions: ${result.findings.length} distinct finding${result.findings.length === 1 ? '' : 's'}${merged.interrupted ? ' (some campaigns were interrupted)' : ''}`,
    );
    for (const line of findingsTable(merged.findings)) console.log(line);
  }
  return 0;
}
