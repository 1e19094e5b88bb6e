// `pagewalk scenario list|run` and `pagewalk presets` (src/cli/scenario.ts, src/cli/presets.ts),
// run in-process through the CLI dispatcher with stdout/stderr captured.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';

let out: string[] = [];
let err: string[] = [];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const code = await main(args);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('pagewalk scenario list', () => {
  it('--json lists every scenario with its seed file, description and presets', async () => {
    const r = await cli('scenario', 'list', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout);
    const s003 = rows.find((x: { name: string }) => x.name === '003-flush-tlb-preempt');
    expect(s003).toMatchObject({ seed: '003_aca8942a7e55b707.txt', presets: { buggy: 'linux-3.2-rt-up', fixed: 'linux-3.2-rt-up-fixed' } });
    expect(s003.description).toMatch(/__native_flush_tlb/);
    expect(rows.map((x: { name: string }) => x.name)).toEqual(
      expect.arrayContaining(['004-vmalloc-fault-nmi', '004-vmalloc-fault-nmi-pae', '004-vmalloc-fault-nmi-32bit']),
    );
  });
  it('readable list names seeds and presets', async () => {
    const r = await cli('scenario', 'list');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('004-vmalloc-fault-nmi  (seed 004_55101baa4c0a53b2.txt)');
    expect(r.stdout).toContain('buggy: linux-3.18-smp   fixed: linux-4.8-smp');
  });
});

describe('pagewalk scenario run', () => {
  it('--json: the buggy variant of 004 reports a hard lockup with the kernel lines and the trace', async () => {
    const r = await cli('scenario', 'run', '004-vmalloc-fault-nmi', '--variant', 'buggy', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ scenario: '004-vmalloc-fault-nmi', variant: 'buggy', preset: 'linux-3.18-smp', outcome: 'bug' });
    expect(j.findings).toHaveLength(1);
    expect(j.findings[0].sanitizer).toBe('hard-lockup');
    expect(j.findings[0].log).toContain('Watchdog detected hard LOCKUP on cpu 0');
    expect(Array.isArray(j.trace) && j.trace.every((c: unknown) => Number.isInteger(c))).toBe(true);
    expect(j.trace.length).toBe(j.steps);
  });

  it('--json: the fixed variant is clean; --replay of its output reproduces it', async () => {
    const r = await cli('scenario', 'run', '003-flush-tlb-preempt', '--variant', 'fixed', '--json');
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ outcome: 'clean', findings: [], preset: 'linux-3.2-rt-up-fixed', status: 'finished' });
    const dir = mkdtempSync(join(tmpdir(), 'pw-'));
    writeFileSync(join(dir, 'r.json'), r.stdout);
    out = [];
    const r2 = await cli('scenario', 'run', '003-flush-tlb-preempt', '--variant', 'fixed', '--json', '--replay', join(dir, 'r.json'));
    expect(JSON.parse(r2.stdout).trace).toEqual(j.trace);
  });

  it('readable report of the buggy 003 run shows the soft lockup line', async () => {
    const r = await cli('scenario', 'run', '003-flush-tlb-preempt', '--variant', 'buggy');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^scenario 003-flush-tlb-preempt \(seed 003_aca8942a7e55b707.txt\), variant buggy, preset linux-3.2-rt-up/);
    expect(r.stdout).toMatch(/outcome: BUG \(soft-lockup\)/);
    expect(r.stdout).toMatch(/ {2}BUG: soft lockup - CPU#0 stuck for 22s! \[taskB:\d+\]/);
  });

  it('--set overrides a knob: the 003 bug disappears with flush_tlb_preempt_disable=true', async () => {
    const r = await cli('scenario', 'run', '003-flush-tlb-preempt', '--variant', 'buggy', '--json', '--set', 'flush_tlb_preempt_disable=true');
    expect(JSON.parse(r.stdout).outcome).toBe('clean');
  });

  it.each([
    [['scenario', 'run', 'nope', '--variant', 'buggy'], /unknown scenario 'nope'/],
    [['scenario', 'run', '003-flush-tlb-preempt'], /--variant: expected buggy or fixed/],
    [['scenario', 'run', '003-flush-tlb-preempt', '--variant', 'worse'], /--variant: expected buggy or fixed, got "worse"/],
    [['scenario', 'run', '003-flush-tlb-preempt', '--variant', 'buggy', '--bogus'], /unknown option --bogus/],
    [['scenario', 'run', '--variant', 'buggy'], /needs exactly one scenario name/],
    [['scenario', 'run', '003-flush-tlb-preempt', '--variant', 'buggy', '--set', 'nosuch=1'], /unknown knob 'nosuch'/],
    [['scenario', 'run', '003-flush-tlb-preempt', '--variant', 'buggy', '--set', 'cpus=two'], /knob 'cpus': expected an integer/],
    [['scenario', 'run', '003-flush-tlb-preempt', '--variant', 'buggy', '--replay', '/nonexistent.json'], /--replay: cannot read/],
    [['scenario', 'frobnicate'], /unknown subcommand 'frobnicate'/],
    [['scenario', 'list', 'extra'], /takes no arguments/],
    [['presets', '--yaml'], /unknown option --yaml/],
  ])('%j -> exit 2 with a clear message', async (args, msg) => {
    const r = await cli(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });
});

describe('pagewalk presets', () => {
  it('--json lists presets (with resolved knobs) and knobs', async () => {
    const r = await cli('presets', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const p = j.presets.find((x: { name: string }) => x.name === 'linux-3.18-smp-pae');
    expect(p).toMatchObject({ base: 'linux-3.18-smp', knobs: { paging: 'pae' } });
    expect(p.resolved).toMatchObject({ paging: 'pae', vmalloc_fault: 'active_mm+flush', version: '3.18.0' });
    const knob = j.knobs.find((k: { name: string }) => k.name === 'preempt');
    expect(knob).toMatchObject({ type: 'enum', values: ['none', 'voluntary', 'preempt', 'rt'] });
    expect(j.paravirtBackends).toContain('native');
  });
  it('readable listing', async () => {
    const r = await cli('presets');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('linux-3.2-rt-up-fixed (from linux-3.2-rt-up)');
    expect(r.stdout).toMatch(/vmalloc_fault \(active_mm\|active_mm\+flush\|read_cr3, default active_mm\+flush\)/);
  });
});
