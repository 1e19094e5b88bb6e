// `pagewalk fuzz` and `pagewalk replay` as a user runs them (the built dist/cli.js and
// dist/worker.js in a child process): JSON result shape, the same findings with 1 and 2 worker
// threads for the same seeds, traces written to --out and replayed step by step, and bad input
// (unknown preset or knob, bad value, unreadable or corrupted trace) -> a clear message, exit 2.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'cli.js');

function pw(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  if (!existsSync(cli) || !existsSync(join(root, 'dist', 'worker.js'))) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
});

describe('pagewalk fuzz', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-fuzz-'));
  let one: {
    findings: Array<{ sanitizer: string; signature: string; seed: number; foundAtExecution: number; file: string; trace: { choices: number[] } }>;
    executions: number;
  };

  it('--json prints one result object; the same seeds give the same findings on 1 and 2 workers', () => {
    const args = ['fuzz', '--preset', 'linux-3.17-smp', '--runs', '2400', '--runs-per-seed', '1200', '--seed', '1', '--json'];
    const a = pw(...args, '--workers', '1', '--out', join(dir, 'a'));
    expect(a.code, a.err).toBe(0);
    one = JSON.parse(a.out);
    expect(one).toMatchObject({ preset: 'linux-3.17-smp', seed: 1, executions: 2400 });
    expect(one.findings.length).toBeGreaterThan(0);
    for (const f of one.findings)
      expect(Object.keys(f)).toEqual(expect.arrayContaining(['sanitizer', 'signature', 'log', 'foundAtExecution', 'foundAtMs', 'trace']));
    const b = pw(...args, '--workers', '2', '--out', join(dir, 'b'));
    expect(b.code, b.err).toBe(0);
    const two = JSON.parse(b.out);
    const key = (r: typeof one) => r.findings.map((f) => [f.sanitizer, f.signature, f.seed, f.foundAtExecution, f.trace.choices.length]);
    expect(key(two)).toEqual(key(one));
    expect(readdirSync(join(dir, 'a')).sort()).toEqual(readdirSync(join(dir, 'b')).sort());
  });

  it('replay re-runs a saved trace exactly and explains it step by step', () => {
    const file = one.findings[0].file;
    const r = pw('replay', file);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^program:/m);
    expect(r.out).toMatch(/CPU\d {2}\[/);
    expect(r.out).toContain(`pagewalk: reproduced: ${one.findings[0].signature}`);
    const j = JSON.parse(pw('replay', file, '--json').out);
    expect(j.reproduced).toBe(true);
    expect(j.finding.signature).toBe(one.findings[0].signature);
  });

  it('bad input: a clear message and exit 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['fuzz', '--preset', 'linux-9.9'], /unknown preset 'linux-9\.9'/],
      [['fuzz', '--preset', 'linux-3.17-smp', '--set', 'nosuchknob=1'], /unknown knob 'nosuchknob'/],
      [['fuzz', '--preset', 'linux-3.17-smp', '--set', 'cpus=lots'], /knob 'cpus': expected an integer/],
      [['fuzz', '--preset', 'linux-3.17-smp', '--runs', '-3'], /--runs/],
      [['fuzz'], /--preset <name> is required/],
      [['replay', join(dir, 'missing.json')], /cannot read/],
    ];
    for (const [args, msg] of cases) {
      const r = pw(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err).not.toMatch(/^\s+at /m);
    }
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format":"pagewalk-trace","version":1,');
    expect(pw('replay', bad)).toMatchObject({ code: 2, err: expect.stringMatching(/corrupted trace: not valid JSON/) });
    const t = JSON.parse(readFileSync(one.findings[0].file, 'utf8'));
    t.program.tasks[0].ops.push({ op: 'teleport' });
    writeFileSync(bad, JSON.stringify(t));
    expect(pw('replay', bad)).toMatchObject({ code: 2, err: expect.stringMatching(/program\.tasks\[0\]\.ops\[\d+\]\.op: expected one of/) });
    t.program.tasks[0].ops.pop();
    t.choices = t.choices.map(() => 1);
    writeFileSync(bad, JSON.stringify(t));
    expect(pw('replay', bad)).toMatchObject({ code: 2, err: expect.stringMatching(/does not replay/) });
  });
});
