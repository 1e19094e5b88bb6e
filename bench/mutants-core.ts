/**
 * The mutation benchmark (issue 13): each mutant of bench/mutants-list.ts is applied to a temporary
 * copy of the source tree, the copy is built (esbuild, as scripts/build.mjs builds the CLI) and
 * fuzzed with `pagewalk fuzz --workers 1 --stop-on any` on the mutant's preset for `seconds`; the
 * unmutated copy is fuzzed on every preset used, as a control that must stay clean. A mutant is
 * detected when the campaign reports any finding; the score is detected / mutants.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MUTANTS, type Mutant } from './mutants-list.js';

export interface MutantRow {
  name: string;
  preset: string;
  /** The sanitizer of the first finding, or null. */
  detectedBy: string | null;
  signature: string | null;
  seconds: number | null;
  executions: number | null;
  /** Executions the whole campaign ran. */
  campaignExecutions: number;
}

export interface MutantsResult {
  seconds: number;
  mutants: MutantRow[];
  controls: MutantRow[];
  score: number;
  medianSeconds: number;
}

/** Throws unless every mutant's snippet occurs exactly once in its file under `root`. */
export function checkMutants(root: string, list: readonly Mutant[] = MUTANTS): void {
  const bad: string[] = [];
  const names = new Set<string>();
  for (const m of list) {
    if (names.has(m.name)) bad.push(`${m.name}: duplicate name`);
    names.add(m.name);
    let text: string;
    try {
      text = readFileSync(join(root, m.file), 'utf8');
    } catch {
      bad.push(`${m.name}: file ${m.file} not found`);
      continue;
    }
    const n = text.split(m.find).length - 1;
    if (n !== 1) bad.push(`${m.name}: snippet found ${n} times in ${m.file} (must be exactly once): ${JSON.stringify(m.find.slice(0, 80))}`);
  }
  if (bad.length) throw new Error(`mutation benchmark: ${bad.length} mutant(s) do not apply:\n  ${bad.join('\n  ')}`);
}

/** Copies the sources to a temporary tree, applies `m` (if any) and builds the CLI there. */
async function buildTree(root: string, m: Mutant | null): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pagewalk-mutant-'));
  cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true });
  if (m) {
    const p = join(dir, m.file);
    const text = readFileSync(p, 'utf8');
    const parts = text.split(m.find);
    if (parts.length !== 2) throw new Error(`mutant ${m.name}: snippet found ${parts.length - 1} times in ${m.file}`);
    writeFileSync(p, parts.join(m.replace));
  }
  const common = { bundle: true, format: 'esm' as const, platform: 'node' as const, target: 'node20', logLevel: 'error' as const };
  await build({
    ...common,
    entryPoints: [join(dir, 'src/cli/main.ts')],
    outfile: join(dir, 'dist/cli.js'),
    banner: { js: 'import { createRequire as __pwCreateRequire } from "node:module"; const require = __pwCreateRequire(import.meta.url);' },
  });
  await build({ ...common, entryPoints: [join(dir, 'src/cli/worker.ts')], outfile: join(dir, 'dist/worker.js') });
  return dir;
}

interface CampaignJson {
  executions: number;
  findings: { sanitizer: string; signature: string; seed: number; foundAtExecution: number; foundAtMs: number }[];
}

/** Fuzzes `preset` with the CLI built in `dir` on one worker for `seconds`, stopping at the first finding. */
function campaign(dir: string, preset: string, seconds: number, runsPerSeed: number): CampaignJson {
  const out = execFileSync(
    process.execPath,
    [
      join(dir, 'dist/cli.js'),
      'fuzz',
      '--preset',
      preset,
      '--time',
      String(seconds),
      '--workers',
      '1',
      '--stop-on',
      'any',
      '--seed',
      '1',
      '--runs-per-seed',
      String(runsPerSeed),
      '--out',
      join(dir, 'findings'),
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  return JSON.parse(out) as CampaignJson;
}

function row(name: string, preset: string, j: CampaignJson, runsPerSeed: number): MutantRow {
  const f = j.findings[0];
  return {
    name,
    preset,
    detectedBy: f?.sanitizer ?? null,
    signature: f?.signature ?? null,
    seconds: f ? f.foundAtMs / 1000 : null,
    executions: f ? (f.seed - 1) * runsPerSeed + f.foundAtExecution + 1 : null,
    campaignExecutions: j.executions,
  };
}

function median(xs: number[]): number {
  if (xs.length === 0) return Infinity;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs the benchmark over `list` (default: every mutant), `seconds` per campaign. */
export async function runMutants(
  root: string,
  opts: { seconds: number; only?: string[]; controls?: boolean; list?: readonly Mutant[] },
  log: (line: string) => void,
): Promise<MutantsResult> {
  const all = opts.list ?? MUTANTS;
  const list = opts.only?.length ? all.filter((m) => opts.only!.some((o) => m.name.includes(o))) : all;
  checkMutants(root, list);
  const runsPerSeed = 2000;
  const mutants: MutantRow[] = [];
  for (const m of list) {
    const dir = await buildTree(root, m);
    try {
      const r = row(m.name, m.preset, campaign(dir, m.preset, opts.seconds, runsPerSeed), runsPerSeed);
      mutants.push(r);
      log(
        `  mutant ${m.name} on ${m.preset}: ${r.detectedBy ? `${r.detectedBy} after ${r.seconds!.toFixed(1)} s, ${r.executions} executions` : `NOT detected in ${opts.seconds} s (${r.campaignExecutions} executions)`}`,
      );
    } finally {
      if (process.env.PAGEWALK_MUTANT_KEEP) log(`  (kept ${dir})`);
      else rmSync(dir, { recursive: true, force: true });
    }
  }
  const controls: MutantRow[] = [];
  if (opts.controls !== false) {
    const dir = await buildTree(root, null);
    try {
      for (const preset of [...new Set(list.map((m) => m.preset))]) {
        const r = row('(unmutated)', preset, campaign(dir, preset, opts.seconds, runsPerSeed), runsPerSeed);
        controls.push(r);
        log(`  control ${preset}: ${r.detectedBy ? `FINDING ${r.detectedBy}: ${r.signature}` : `clean (${r.campaignExecutions} executions)`}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const found = mutants.filter((r) => r.detectedBy);
  return {
    seconds: opts.seconds,
    mutants,
    controls,
    score: mutants.length ? found.length / mutants.length : 0,
    medianSeconds: median(found.map((r) => r.seconds!).concat(mutants.filter((r) => !r.detectedBy).map(() => Infinity))),
  };
}

/** The result as a text table. */
export function formatMutants(r: MutantsResult): string {
  const lines = [`Mutation benchmark: ${r.mutants.length} mutants, ${r.seconds} s on one core each`, ''];
  const head = ['mutant', 'preset', 'detected by', 'time', 'executions'];
  const rows = r.mutants.map((m) => [
    m.name,
    m.preset,
    m.detectedBy ?? 'NOT DETECTED',
    m.seconds === null ? '-' : `${m.seconds.toFixed(1)} s`,
    m.executions === null ? `(${m.campaignExecutions})` : String(m.executions),
  ]);
  for (const c of r.controls)
    rows.push([
      'control (unmutated)',
      c.preset,
      c.detectedBy ? `FINDING: ${c.detectedBy}` : 'clean',
      c.seconds === null ? '-' : `${c.seconds.toFixed(1)} s`,
      String(c.campaignExecutions),
    ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  lines.push(head.map((h, i) => h.padEnd(w[i])).join('  '), w.map((n) => '-'.repeat(n)).join('  '));
  for (const x of rows) lines.push(x.map((c, i) => c.padEnd(w[i])).join('  '));
  const clean = r.controls.every((c) => !c.detectedBy);
  lines.push(
    '',
    `score: ${(r.score * 100).toFixed(0)} % (${r.mutants.filter((m) => m.detectedBy).length}/${r.mutants.length}); median time to detection ${Number.isFinite(r.medianSeconds) ? `${r.medianSeconds.toFixed(1)} s` : 'n/a (most not detected)'}; controls ${clean ? 'clean' : 'NOT CLEAN'}`,
  );
  return lines.join('\n');
}
