// Campaigns that shard and merge, findings grouped by bug, the plot files, and interrupting a
// campaign: `pagewalk fuzz --shard i/N` in separate processes merged by `pagewalk merge` reports
// what one campaign over the same seeds reports; SIGINT/SIGTERM during `fuzz --json` print the
// summary marked interrupted.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { groupFindings, seedUnit, type CampaignPlan } from '../src/fuzz/campaign.js';
import { runSeed, type FoundFinding } from '../src/fuzz/engine.js';
import { Generator } from '../src/fuzz/generate.js';
import type { FuzzTarget } from '../src/fuzz/target.js';
import { Prng } from '../src/scheduler/prng.js';
import { parsePlotData, plotData, plotSvg, PLOT_DATA_HEADER } from '../src/fuzz/plot.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'cli.js');

function pw(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** Runs the CLI without waiting (shards run side by side, as a cluster would run them). */
function pwAsync(
  args: string[],
  onStart?: (child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code, signal) => resolve({ code, signal, out, err }));
    onStart?.(child);
  });
}

type Summary = {
  executions: number;
  interrupted: boolean;
  seeds: Array<{ seed: number }>;
  findings: Array<{ sanitizer: string; signature: string; count: number; first: object; last: { seed: number; execution: number }; file: string }>;
};

beforeAll(() => {
  if (!existsSync(cli) || !existsSync(join(root, 'dist', 'worker.js'))) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
});

describe('campaign plans', () => {
  it('shards split the units of a plan into disjoint sets whose union is the plan', () => {
    for (const base of [
      { firstSeed: 5, runsPerSeed: 100, totalRuns: 950 },
      { firstSeed: 1, runsPerSeed: 10, seeds: 7 },
    ] as CampaignPlan[]) {
      const all = [];
      for (let i = 0; ; i++) {
        const u = seedUnit(base, i);
        if (!u) break;
        all.push(u);
      }
      const sharded = [];
      for (let index = 0; index < 3; index++) {
        for (let i = 0; ; i++) {
          const u = seedUnit({ ...base, shard: { index, count: 3 } }, i);
          if (!u) break;
          sharded.push(u);
        }
      }
      expect(sharded.sort((a, b) => a.seed - b.seed)).toEqual(all);
    }
    // Open-ended plans shard too: shard 1 of 4 runs seeds 2, 6, 10, ...
    expect([0, 1, 2].map((i) => seedUnit({ firstSeed: 1, runsPerSeed: 10, shard: { index: 1, count: 4 } }, i)!.seed)).toEqual([2, 6, 10]);
  });

  it('groups findings by bug: counts added, first and last occurrence, shortest trace, whatever the input order', () => {
    const f = (seed: number, execution: number, ops: number, count: number, lastExec: number): FoundFinding => ({
      sanitizer: 'oops',
      signature: `BUG: unable to handle kernel paging request at ${0x1000 * seed}`,
      log: [`seed ${seed}`],
      seed,
      foundAtExecution: execution,
      foundAtMs: seed * 10,
      count,
      last: { seed, execution: lastExec, ms: seed * 20 },
      trace: {
        program: { cpus: 1, tasks: [{ cpu: 0, ops: Array.from({ length: ops }, () => ({ op: 'schedule' })) }], irqs: [] },
        choices: [0],
      } as unknown as FoundFinding['trace'],
    });
    const other: FoundFinding = { ...f(2, 1, 1, 1, 1), sanitizer: 'kernel-bug', signature: 'kernel BUG at mm/x.c:1' };
    const input = [f(3, 50, 2, 4, 90), other, f(1, 200, 5, 2, 300), f(2, 7, 3, 1, 7)];
    const a = groupFindings(input);
    const b = groupFindings([...input].reverse());
    expect(a).toEqual(b);
    expect(a.map((g) => [g.sanitizer, g.count, g.seed, g.foundAtExecution, g.last.seed, g.last.execution])).toEqual([
      ['oops', 7, 1, 200, 3, 90],
      ['kernel-bug', 1, 2, 1, 2, 1],
    ]);
    expect(a[0].log).toEqual(['seed 3']); // the shortest trace (2 operations) and its report
  });

  it('plot_data follows AFL: its header, one line per sample, read back', () => {
    const pts = [
      { ms: 0, seedsDone: 0, executions: 0, execPerSec: 0, corpus: 0, coverage: 0, crashes: 0, hangs: 0 },
      { ms: 2000, seedsDone: 1, executions: 900, execPerSec: 450, corpus: 40, coverage: 300, crashes: 1, hangs: 2 },
    ];
    const text = plotData(pts);
    expect(text.split('\n')[0]).toBe(PLOT_DATA_HEADER);
    expect(text.split('\n')[2]).toBe('2, 1, 0, 40, 0, 0, 0.46%, 1, 2, 0, 450.00, 900, 300');
    expect(parsePlotData(text)).toEqual(pts);
    const svg = plotSvg(pts, 'a <test>');
    expect(svg).toContain('<title>a &lt;test&gt;</title>');
    expect(svg.match(/data-series="(\w+)"/g)).toEqual(['data-series="executions"', 'data-series="coverage"', 'data-series="findings"']);
  });
});

describe('pagewalk fuzz --shard and pagewalk merge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-shard-'));
  const common = ['fuzz', '--preset', 'linux-3.2-rt-up', '--seed', '1', '--runs', '1600', '--runs-per-seed', '400', '--workers', '1', '--json'];
  const rows = (s: Summary) => s.findings.map((f) => [f.sanitizer, f.signature, f.count, f.last.seed, f.last.execution]);

  it('N shards run as processes and merged report what one campaign over the same seeds reports', async () => {
    const shards = await Promise.all(
      [0, 1, 2].map((i) => pwAsync([...common, '--shard', `${i}/3`, '--out', join(dir, `shard-${i}`), ...(i === 0 ? ['--plot', join(dir, 'plot-0')] : [])])),
    );
    for (const s of shards) expect(s.code, s.err).toBe(0);
    const parts = shards.map((s) => JSON.parse(s.out) as Summary);
    expect(parts.map((p) => p.seeds.map((x) => x.seed))).toEqual([[1, 4], [2], [3]]);
    const whole = pw(...common, '--out', join(dir, 'whole'));
    expect(whole.code, whole.err).toBe(0);
    const one = JSON.parse(whole.out) as Summary;
    expect(one.findings.length).toBeGreaterThan(0);
    expect(one.findings.some((f) => f.count > 1)).toBe(true); // grouped: one row, several hits
    const m = pw('merge', ...[0, 1, 2].map((i) => join(dir, `shard-${i}`)), '--out', join(dir, 'merged'), '--json');
    expect(m.code, m.err).toBe(0);
    const merged = JSON.parse(m.out) as Summary;
    expect(merged.executions).toBe(one.executions);
    expect(rows(merged)).toEqual(rows(one));
    expect(JSON.parse(readFileSync(join(dir, 'merged', 'campaign.json'), 'utf8')).findings.length).toBe(one.findings.length);
    for (const f of merged.findings) expect(existsSync(f.file)).toBe(true);
    // The table shows one row per bug.
    const t = pw('merge', join(dir, 'shard-0'), join(dir, 'shard-1'), join(dir, 'shard-2'));
    expect(t.out).toMatch(/sanitizer +count +first seen/);
    expect(t.out.split('\n').filter((l) => l.includes(' -> ')).length).toBe(one.findings.length);
    // --plot: AFL plot_data and the SVG.
    expect(readFileSync(join(dir, 'plot-0', 'plot_data'), 'utf8').split('\n')[0]).toBe(PLOT_DATA_HEADER);
    expect(readFileSync(join(dir, 'plot-0', 'plot.svg'), 'utf8')).toMatch(/^<svg [^>]*class="pagewalk-plot"/);
  }, 120_000);

  it('merge refuses overlapping seeds and bad directories, exit 2', () => {
    const r = pw('merge', join(dir, 'shard-0'), join(dir, 'whole'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/seed 1 was run by both/);
    const none = pw('merge', join(dir, 'nowhere'));
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/campaign\.json does not exist/);
    expect(pw('fuzz', '--preset', 'linux-3.2-rt-up', '--shard', '3/3').err).toMatch(/--shard: i must be 0\.\.2/);
    expect(pw('fuzz', '--preset', 'linux-3.2-rt-up', '--shard', 'x').code).toBe(2);
  });
});

describe('shared corpus', () => {
  it('a seed first runs the imported inputs, and exports its most productive entries', () => {
    const ran: unknown[] = [];
    const target: FuzzTarget = {
      preset: 'fake',
      overrides: {},
      maxCpus: 2,
      run(input, cov) {
        ran.push(input.program);
        cov.hit(ran.length); // every input is new coverage
        return { status: 'finished', steps: 0, trace: [], divergences: 0 };
      },
    };
    const gen = new Generator(new Prng(7), 2);
    const imports = [0, 1, 2].map(() => ({ program: gen.program(), schedule: gen.schedule() }));
    const r = runSeed(target, 1, { runs: 10, imports, exportCorpus: 4 });
    expect(ran.slice(0, 3)).toEqual(imports.map((i) => i.program));
    expect(r.exported).toHaveLength(4);
  });

  it('--corpus-dir: shards leave their best inputs there and start from them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-corpus-'));
    const shared = join(dir, 'shared');
    const a = pw(
      'fuzz',
      '--preset',
      'linux-3.17-smp',
      '--runs',
      '120',
      '--runs-per-seed',
      '60',
      '--shard',
      '0/2',
      '--out',
      join(dir, 's0'),
      '--corpus-dir',
      shared,
      '--workers',
      '1',
    );
    expect(a.code, a.err).toBe(0);
    const files = readdirSync(shared);
    expect(files.length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(shared, files[0]), 'utf8'))).toMatchObject({ format: 'pagewalk-corpus', preset: 'linux-3.17-smp' });
    expect(readdirSync(join(dir, 's0', 'corpus')).sort()).toEqual(files.sort());
    const b = pw(
      'fuzz',
      '--preset',
      'linux-3.17-smp',
      '--runs',
      '120',
      '--runs-per-seed',
      '60',
      '--shard',
      '1/2',
      '--out',
      join(dir, 's1'),
      '--corpus-dir',
      shared,
      '--workers',
      '1',
      '--json',
    );
    expect(b.code, b.err).toBe(0);
    expect(JSON.parse(b.out).executions).toBe(60);
  }, 60_000);
});

describe('cluster recipes (examples/cluster)', () => {
  /** The `pagewalk fuzz` command of a recipe as argv, for shard 0 of N, with a tiny budget and paths under `dir`. */
  const recipe = (file: string, dir: string): string[] => {
    const text = readFileSync(join(root, 'examples', 'cluster', file), 'utf8');
    const line = text.split('\n').find((l) => l.includes('pagewalk fuzz'))!;
    const words = [...line.slice(line.indexOf('fuzz')).matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
    const argv = words.map((w) =>
      w
        .replace(/\$JOB_COMPLETION_INDEX|\$SLURM_ARRAY_TASK_ID|\{\}/g, '0')
        .replace(/\$N\b/g, '2')
        .replace(/^(\/results|results)\//, `${dir}/`),
    );
    const t = argv.indexOf('--time');
    argv.splice(t, 2, '--runs', '40', '--runs-per-seed', '20');
    return argv;
  };

  it('the Kubernetes Indexed Job, Slurm array and GNU parallel recipes run a shard that merge reads', () => {
    for (const file of ['k8s-indexed-job.yaml', 'slurm-array.sh', 'gnu-parallel.sh']) {
      const dir = mkdtempSync(join(tmpdir(), 'pw-recipe-'));
      const argv = recipe(file, dir);
      expect(argv[argv.indexOf('--shard') + 1], file).toMatch(/^0\/\d+$/);
      const r = pw(...argv);
      expect(r.code, `${file}: ${argv.join(' ')}\n${r.err}`).toBe(0);
      const m = pw('merge', join(dir, 'shard-0'), '--json');
      expect(m.code, m.err).toBe(0);
      expect(JSON.parse(m.out).executions).toBe(20); // shard 0 of the two seeds of 20
      expect(existsSync(join(dir, 'shard-0', 'plot_data'))).toBe(true);
    }
  }, 60_000);
});

describe('interrupting a campaign', () => {
  const args = ['fuzz', '--preset', 'linux-3.17-smp', '--time', '120', '--workers', '1', '--json'];
  /** Starts a campaign, sends the first signal once it has run for a while, the next ones once it says it is stopping. */
  const interrupt = (signals: NodeJS.Signals[], out: string) =>
    pwAsync([...args, '--out', out], (child) => {
      setTimeout(() => child.kill(signals[0]), 2500);
      let sent = 1;
      child.stderr!.on('data', (d) => {
        if (sent < signals.length && String(d).includes('stopping')) child.kill(signals[sent++]);
      });
    });

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} during fuzz --json prints the summary of what ran, marked interrupted`, async () => {
      const t0 = Date.now();
      const r = await interrupt([sig], mkdtempSync(join(tmpdir(), 'pw-int-')));
      expect(Date.now() - t0).toBeLessThan(60_000);
      expect(r.code, r.err).toBe(sig === 'SIGINT' ? 130 : 143);
      const s = JSON.parse(r.out) as Summary;
      expect(s.interrupted).toBe(true);
      expect(s.executions).toBeGreaterThan(0);
      expect(s.seeds.length).toBeGreaterThan(0);
      expect(r.err).toContain(`pagewalk: ${sig}: stopping`);
    }, 90_000);
  }

  it('a second SIGINT quits at once', async () => {
    const r = await interrupt(['SIGINT', 'SIGINT'], mkdtempSync(join(tmpdir(), 'pw-int-')));
    expect(r.code).toBe(130);
  }, 90_000);
});
