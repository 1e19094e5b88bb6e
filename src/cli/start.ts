/**
 * `pagewalk start` (npm start): the default campaign. For each of the five seed bugs and each
 * historical bug with a scenario (docs/historical-bugs.md), fuzz its
 * buggy preset (until the fuzzer finds the seed's bug, at most a few seconds) and its fixed preset
 * (a few seconds, where nothing at all may be found), with a progress line, then a table a
 * newcomer can read: what was expected, what the fuzzer found on its own, how fast, and how small
 * the shrunk trace is. The fuzzer never sees the seed scenarios: they only say what to expect.
 */
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUNS_PER_SEED } from '../fuzz/campaign.js';
import { traceSize, type FoundFinding } from '../fuzz/engine.js';
import { bugId, isSeedBug, seedBugs, type SeedBug } from '../fuzz/seeds.js';
import { traceFileName } from '../fuzz/trace.js';
import { intFlag, parseArgs, UsageError } from './args.js';
import { writeAtomic } from './fuzz.js';
import { runCampaign } from './pool.js';

const SPEC = {
  'buggy-time': {
    type: 'string' as const,
    help: 'seconds at most per buggy preset (default 60, the historical-bug acceptance budget; a campaign stops when it finds the bug)',
  },
  'fixed-time': { type: 'string' as const, help: 'seconds per fixed preset (default 6)' },
  workers: { type: 'string' as const, help: 'worker threads (default: number of cores)' },
  seed: { type: 'string' as const, help: 'first campaign seed (default 1)' },
  help: { type: 'bool' as const },
};

interface Row {
  bug: SeedBug;
  preset: string;
  variant: 'buggy' | 'fixed';
  executions: number;
  seconds: number;
  hit: FoundFinding | null;
  others: FoundFinding[];
  file: string | null;
}

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, SPEC, 'start');
  if (flags.help) {
    console.log('usage: pagewalk start [--buggy-time S] [--fixed-time S] [--workers K] [--seed N]');
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`start: unexpected argument '${positional[0]}'`);
  const buggyS = intFlag(flags['buggy-time'], 'buggy-time', 60, 1, 3600);
  const fixedS = intFlag(flags['fixed-time'], 'fixed-time', 6, 1, 3600);
  const workers = intFlag(flags.workers, 'workers', availableParallelism(), 1, 256);
  const seed = intFlag(flags.seed, 'seed', 1, 0, 0xffff_ffff);
  const tty = process.stderr.isTTY;
  const out = mkdtempSync(join(tmpdir(), 'pagewalk-start-'));

  console.log('pagewalk: the fuzzer against the five seed bugs (docs/seeds.md) and the historical bugs (docs/historical-bugs.md).');
  console.log('For each bug it fuzzes the kernel or hypervisor before the fix (it should find the bug on its own) and after the fix (it should find nothing).');
  console.log(`Random programs of mmap/munmap/mprotect/fork/clone/exit, vmalloc, vm_map_ram, per-cpu memory, GUP-fast, TLB flushes, PV page-table updates,`);
  console.log(`interrupts and NMIs, on ${workers} worker thread${workers > 1 ? 's' : ''}; the generator knows nothing of the scenarios.\n`);

  const bugs = await seedBugs();
  const rows: Row[] = [];
  const jobs = bugs.flatMap((b) => [
    { b, preset: b.buggy, variant: 'buggy' as const },
    { b, preset: b.fixed, variant: 'fixed' as const },
  ]);
  for (let j = 0; j < jobs.length; j++) {
    const { b, preset, variant } = jobs[j];
    const start = Date.now();
    // A bug not expected blind: its buggy preset runs as briefly as a fixed one (other findings still show).
    const limit = variant === 'buggy' && !b.notBlind ? buggyS : fixedS;
    let execs = 0;
    let lastLine = 0;
    const line = (final: boolean) => {
      const t = Date.now();
      if (!tty || (!final && t - lastLine < 200)) return;
      lastLine = t;
      process.stderr.write(
        `\r\x1b[K[${j + 1}/${jobs.length}] ${preset} (${bugId(b.seed)}, ${variant}): ${execs} executions, ${((t - start) / 1000).toFixed(1)}s`,
      );
    };
    const res = await runCampaign({
      preset,
      overrides: {},
      plan: { firstSeed: seed, runsPerSeed: DEFAULT_RUNS_PER_SEED },
      workers,
      deadline: start + limit * 1000,
      start,
      stopOn: variant === 'buggy' ? [b.sanitizer, ...b.alsoReports.map((a) => a.sanitizer)].join(',') : undefined,
      onProgress: (p) => {
        execs = p.executions;
        line(false);
      },
    });
    const seconds = (Date.now() - start) / 1000;
    const hit = res.findings.find((f) => isSeedBug(b, f)) ?? null;
    let file: string | null = null;
    if (hit) {
      file = join(out, `${preset}-${traceFileName(hit.trace.finding)}`);
      writeAtomic(file, JSON.stringify(hit.trace, null, 1) + '\n');
    }
    rows.push({ bug: b, preset, variant, executions: res.executions, seconds, hit, others: res.findings.filter((f) => f !== hit), file });
    if (tty) process.stderr.write('\r\x1b[K');
  }
  printTable(rows);
  return 0;
}

/** A buggy preset must show the seed's bug; a fixed one must show nothing at all. */
function rowOk(r: Row): boolean {
  return r.variant === 'buggy' ? !!r.hit : !r.hit && r.others.length === 0;
}

/** The buggy row of a bug the fuzzer is not expected to find on its own (and did not): reported apart. */
function notBlindRow(r: Row): boolean {
  return r.variant === 'buggy' && !!r.bug.notBlind && !r.hit && r.others.length === 0;
}

function printTable(rows: Row[]): void {
  const head = ['bug', 'preset', 'kernel', 'bug expected', 'found by the fuzzer', 'time to find', 'shrunk trace', 'executions'];
  const body = rows.map((r) => {
    const s = r.hit ? traceSize(r.hit.trace) : null;
    const ok = rowOk(r);
    const shown = r.hit ?? r.others[0] ?? null;
    return [
      bugId(r.bug.seed),
      r.preset,
      r.variant === 'buggy' ? 'before the fix' : 'after the fix',
      r.variant === 'buggy' ? r.bug.sanitizer + (r.bug.notBlind ? ' (not blind)' : '') : 'nothing',
      `${ok ? 'ok ' : notBlindRow(r) ? '-- ' : 'NO '} ${shown ? shown.sanitizer : 'nothing'}`,
      r.hit ? `${(r.hit.foundAtMs / 1000).toFixed(1)} s` : `- (${r.seconds.toFixed(0)} s run)`,
      s ? `${s.ops} ops, ${s.cpus} CPU${s.cpus > 1 ? 's' : ''}, ${s.steps} steps` : '-',
      String(r.executions),
    ];
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(w[i]))
      .join('  ')
      .trimEnd();
  console.log(fmt(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const b of body) console.log(fmt(b));
  const good = rows.filter(rowOk).length;
  const apart = rows.filter(notBlindRow);
  console.log(
    `\n${good}/${rows.length - apart.length} as expected. "ok" = the bug was found before the fix, and nothing at all after it.` +
      (apart.length ? ` "--" = not expected to be found blind, and not found (${apart.length}):` : ''),
  );
  for (const r of apart) console.log(`  ${bugId(r.bug.seed)}: ${r.bug.notBlind}`);
  console.log(
    `A fixed preset also carries the later fixes of the other bugs where its kernel or hypervisor predates them ('npx pagewalk presets' says which).`,
  );
  const others = rows.filter((r) => r.others.length > 0);
  if (others.length > 0) {
    console.log('\nOther findings:');
    for (const r of others) for (const f of r.others) console.log(`  ${r.preset}: ${f.sanitizer}: ${f.signature}`);
  }
  const files = rows.filter((r) => r.file);
  if (files.length > 0) {
    console.log('\nShrunk traces of the bugs (replay one step by step with: npx pagewalk replay <file>):');
    for (const r of files) console.log(`  ${r.file}`);
  }
}
