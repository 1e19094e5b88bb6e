// Focused schedules (Generator.focus, schedule.ts FocusStrategy): a corpus entry's run replayed
// up to a moment where two CPUs first stood on a new pair of labels (Coverage.hitPair), then one
// CPU stalled there. The prefix replays exactly, the stall holds the CPU while another can step,
// a focused schedule is deterministic and survives a trace file, and a pair is a moment only the
// first time any execution reaches it.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { Coverage } from '../src/fuzz/coverage.js';
import { Generator } from '../src/fuzz/generate.js';
import { parseSchedule, type Schedule } from '../src/fuzz/program.js';
import { createTarget } from '../src/fuzz/targets.js';
import { parseTraceText } from '../src/fuzz/trace.js';
import { Prng } from '../src/scheduler/prng.js';
import { actionCpu, actionSlot, SLOT_STEP } from '../src/scheduler/types.js';

beforeAll(async () => {
  await Machine.ready();
});

const FIXTURE = new URL('./fixtures/replay/002-linux-4.13-xen-pv-pt-use-after-free.json', import.meta.url);

describe('focused schedules', () => {
  it('replay the prefix of a recorded run exactly, then hold the CPU while the other runs', async () => {
    const t = parseTraceText(readFileSync(FIXTURE, 'utf8'), () => 2);
    const target = await createTarget(t.preset);
    const s: Schedule = { strategy: 'sticky', seed: 11, eventProbability: 0.05, stickiness: 0.9 };
    const first = target.run({ program: t.program, schedule: s }, new Coverage());
    // A step where the recorded run switched CPUs (both could step there).
    let k = 2;
    while (k < first.trace.length && actionCpu(first.trace[k]) === actionCpu(first.trace[k - 1])) k++;
    expect(k).toBeLessThan(first.trace.length);
    const held = actionCpu(first.trace[k]);
    const focused: Schedule = { ...s, prefix: first.trace.slice(0, k), hold: { cpu: held, steps: 20 } };
    expect(parseSchedule(JSON.parse(JSON.stringify(focused)), 'schedule')).toEqual(focused);
    const run = () => target.run({ program: t.program, schedule: focused }, new Coverage());
    const again = run();
    expect(again.trace.slice(0, k)).toEqual(first.trace.slice(0, k));
    expect(run().trace).toEqual(again.trace);
    // The CPU the recorded run stepped next is held: the next step goes to the other one.
    expect(actionSlot(again.trace[k])).toBe(SLOT_STEP);
    expect(actionCpu(again.trace[k])).not.toBe(held);
  });

  it('a pair of labels is a moment only the first time any execution reaches it', () => {
    const cov = new Coverage();
    cov.hitPair(123, 7, 0, 1);
    cov.hitPair(123, 9, 1, 0);
    cov.hitPair(456, 12, 1, 0);
    expect(cov.moments()).toEqual([7, 0, 1, 12, 1, 0]);
    expect(cov.commit()).toBe(2);
    cov.hitPair(123, 3, 0, 1);
    expect(cov.moments()).toEqual([]);
    cov.commit();
  });

  it('Generator.focus is deterministic and cuts the recorded choices at a moment', () => {
    const choices = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? 64 : 0));
    const moments = [10, 0, 1, 30, 1, 0];
    const parent: Schedule = { strategy: 'pct', seed: 3, depth: 3, steps: 40, prefix: [0], hold: { cpu: 1, steps: 2 } };
    const a = new Generator(new Prng(5), 2);
    const b = new Generator(new Prng(5), 2);
    for (let i = 0; i < 50; i++) {
      const f = a.focus(parent, choices, moments);
      expect(b.focus(parent, choices, moments)).toEqual(f);
      expect([10, 30]).toContain(f.prefix!.length);
      expect(f.prefix).toEqual(choices.slice(0, f.prefix!.length));
      expect([0, 1]).toContain(f.hold!.cpu);
      expect(f.hold!.steps).toBeGreaterThanOrEqual(1);
      expect(f.hold!.steps).toBeLessThanOrEqual(512);
      expect(parseSchedule(JSON.parse(JSON.stringify(f)), 'schedule')).toEqual(f);
    }
  });
});
