// The fuzzer (src/fuzz): generation is deterministic and valid, campaigns are deterministic, a
// shrunk trace replays exactly to the same finding, and for every seed bug a short campaign on
// its buggy preset finds the seed's bug (same sanitizer as its scenario) while one on its fixed
// preset does not. Campaign seeds and budgets are fixed, so every outcome is deterministic.
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { Coverage } from '../src/fuzz/coverage.js';
import { dedupKey } from '../src/fuzz/engine.js';
import { Generator } from '../src/fuzz/generate.js';
import { parseProgram, parseSchedule, programSize } from '../src/fuzz/program.js';
import { runUnits } from '../src/fuzz/runner.js';
import { isSeedBug, seedBugs, type SeedBug } from '../src/fuzz/seeds.js';
import { createTarget } from '../src/fuzz/targets.js';
import { parseTraceText } from '../src/fuzz/trace.js';
import { checkWalkAgreement } from '../src/fuzz/walk-oracle.js';
import { Prng } from '../src/scheduler/prng.js';

let bugs: SeedBug[] = [];
beforeAll(async () => {
  await Machine.ready();
  bugs = await seedBugs();
});

/**
 * A buggy-preset campaign: seeds 1, 2, ... with 2000 executions each, at most 16000 executions in
 * all, stopping at the first finding of the seed's sanitizer (deterministic: no clock involved).
 * The median seed bug takes a few hundred to a few thousand executions. Seed 002's race (a
 * GUP-fast walk overtaken by a munmap() on another CPU that frees the page table) needed its own
 * plan from seed 18 before the generator's race template (first found from seed 1 at execution
 * 34 223); with the template it is found from seed 1 at execution 1 076, and since the generator's
 * loops, attribute changes and adaptive weights at execution 334.
 */
const BUGGY_PLAN = { firstSeed: 1, runsPerSeed: 2000, totalRuns: 16_000 };
/** Executions of a fixed preset that must not show the seed's bug. */
const FIXED_RUNS = 800;

describe('generator', () => {
  it('is deterministic for a seed and produces programs the trace parser accepts', () => {
    const a = new Generator(new Prng(42), 2);
    const b = new Generator(new Prng(42), 2);
    const mutator = new Generator(new Prng(43), 2);
    for (let i = 0; i < 300; i++) {
      const p = a.program();
      const s = a.schedule();
      expect(b.program()).toEqual(p);
      expect(b.schedule()).toEqual(s);
      expect(parseProgram(JSON.parse(JSON.stringify(p)), 'program', 2)).toEqual(p);
      expect(parseSchedule(JSON.parse(JSON.stringify(s)), 'schedule')).toEqual(s);
      const m = mutator.mutate(p, s, p);
      expect(parseProgram(JSON.parse(JSON.stringify(m.program)), 'program', 2)).toEqual(m.program);
    }
  });

  it('rejects a corrupted program naming the bad field', () => {
    expect(() =>
      parseProgram(
        { cpus: 2, tasks: [{ cpu: 0, kthread: false, spawn: 'boot', ops: [{ op: 'mmap', slot: 9, pages: 1, prot: 'rw', populate: false }] }], irqs: [] },
        'program',
        2,
      ),
    ).toThrow(/program\.tasks\[0\]\.ops\[0\]\.slot/);
    expect(() => parseProgram({ cpus: 3, tasks: [], irqs: [] }, 'program', 2)).toThrow(/program\.cpus/);
    expect(() => parseTraceText('{"format":"pagewalk-trace"', () => 2)).toThrow(/corrupted trace: not valid JSON/);
  });
});

describe('walker oracle', () => {
  it('agrees with the reference walker on a real walk, and reports a disagreement', async () => {
    const m = await Machine.create({ ramBytes: 4 << 20, cpus: 1 });
    const cpu = m.cpus[0];
    const root = m.pageTables.newRoot('4level');
    m.pageTables.map('4level', root, 0x40_0000n, 0x20_0000n, 0x1000, { flags: 0x7n });
    cpu.setControl({ cr4: 0x20n, efer: 0x900n, cr3: root, cr0: 0x8001_0001n });
    const cfg = { vendor: m.vendor, maxPhysAddrBits: m.maxPhysAddrBits, pse36: true, pdpe1gb: true, ramBytes: m.ramBytes };
    expect(checkWalkAgreement(cpu, m.phys, cfg, 0x40_0010n, { kind: 'write', cpl: 3 })).toBeNull();
    expect(checkWalkAgreement(cpu, m.phys, cfg, 0x80_0000n, { kind: 'read', cpl: 3 })).toBeNull();
    // A walker that returns another frame than the page tables say must be reported.
    const liar = Object.create(cpu, {
      explain: { value: (va: bigint, o: never) => ({ ...cpu.explain(va, o), result: { ok: true, pa: 0x12_3000n } }) },
      probe: { value: () => ({ ok: true, pa: 0x12_3000n }) },
    });
    const f = checkWalkAgreement(liar, m.phys, cfg, 0x40_0010n, { kind: 'read', cpl: 3 });
    expect(f?.sanitizer).toBe('walker-mismatch');
    expect(f?.log.join('\n')).toMatch(/WASM walker: +ok pa=0x123000\n.*reference walker: +ok pa=0x200010/);
  });
});

describe('campaigns', () => {
  it('two campaigns with the same seed give the same findings in the same order', async () => {
    const target = await createTarget('linux-3.17-smp');
    const run = () =>
      // seeds 3 and 4 both find seed 004's bug with the generator of this commit (seeds 1 and 2 did before its shapes)
      runUnits(target, { firstSeed: 3, runsPerSeed: 1200, totalRuns: 2400 }).flatMap((r) =>
        r.findings.map((f) => ({ key: dedupKey(f), seed: f.seed, at: f.foundAtExecution, choices: f.trace.choices, program: f.trace.program })),
      );
    const a = run();
    const b = run();
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  it('a shrunk trace replays exactly to the same finding, and is no larger than the original', async () => {
    const target = await createTarget('linux-3.17-smp');
    const unshrunk: number[] = [];
    const rs = runUnits(target, BUGGY_PLAN, {
      stopOn: 'hard-lockup',
      onFinding: (f, shrunk) => {
        if (!shrunk) unshrunk.push(programSize(f.trace.program));
      },
    });
    const f = rs.flatMap((r) => r.findings).find((x) => x.sanitizer === 'hard-lockup')!;
    expect(f).toBeDefined();
    expect(f.trace.shrunk).toBe(true);
    expect(programSize(f.trace.program)).toBeLessThanOrEqual(unshrunk[0]);
    const t = parseTraceText(JSON.stringify(f.trace), () => target.maxCpus);
    const again = target.run({ program: t.program, schedule: t.schedule, replay: t.choices, replayFallback: false }, new Coverage());
    expect(again.divergences).toBe(0);
    expect(again.finding?.signature).toBe(f.signature);
    expect(again.finding?.log).toEqual(f.log);
    expect(again.trace).toEqual(t.choices);
  });
});

describe('the seed bugs, found by the fuzzer on its own', () => {
  for (const id of ['000', '001', '002', '003', '004']) {
    it(`seed ${id}: the buggy preset shows the seed's bug, the fixed preset does not`, { timeout: 240_000 }, async () => {
      const bug = bugs.find((b) => b.seed.startsWith(id));
      expect(bug, `scenario of seed ${id}`).toBeDefined();
      const buggy = await createTarget(bug!.buggy);
      const stopOn = [bug!.sanitizer, ...bug!.alsoReports.map((a) => a.sanitizer)].join(',');
      const found = runUnits(buggy, BUGGY_PLAN, { stopOn }).flatMap((r) => r.findings);
      const hit = found.find((f) => isSeedBug(bug!, f));
      expect(hit, `${bug!.sanitizer} on ${bug!.buggy}`).toBeDefined();
      expect(hit!.log.length).toBeGreaterThan(0);
      const fixed = await createTarget(bug!.fixed);
      const clean = runUnits(fixed, { firstSeed: 1, runsPerSeed: FIXED_RUNS, totalRuns: FIXED_RUNS }).flatMap((r) => r.findings);
      expect(clean.filter((f) => isSeedBug(bug!, f)).map((f) => f.signature)).toEqual([]);
    });
  }
});
