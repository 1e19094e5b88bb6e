// The deterministic scheduler (src/scheduler): seeded PRNG, enabling rules (IF masks IRQs and
// IPIs but not NMIs; NMIs block NMIs; preemption per the kernel's preempt model and count),
// strategies, and exact replay of recorded runs (same choices, same final state hash).
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { configFromPreset } from '../src/linux/config.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { stateHash } from '../src/linux/hash.js';
import { spawnOrdinaryWorkload } from '../src/linux/workload.js';
import { LBL_COND_RESCHED } from '../src/linux/sched.js';
import type { Kernel } from '../src/linux/kernel.js';
import { ModelCpu, type CpuTask } from '../src/modelcpu/cpu.js';
import type { CoreCpu } from '../src/modelcpu/contract.js';
import { Prng } from '../src/scheduler/prng.js';
import { Scheduler, type InterruptSource, type SchedTarget } from '../src/scheduler/scheduler.js';
import { PctStrategy, RandomStrategy, ReplayDivergence, ReplayStrategy, RoundRobinStrategy, type Strategy } from '../src/scheduler/strategy.js';
import { mustYield } from '../src/scheduler/point.js';
import { FindingStop } from '../src/sanitizers/finding.js';
import { actionCpu, actionSlot, SLOT_IPI, SLOT_PREEMPT, SLOT_SOURCE0, SLOT_STEP, type ExecThread, type KGen } from '../src/scheduler/types.js';

beforeAll(async () => {
  await Machine.ready();
});

describe('Prng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Prng(7),
      b = new Prng(7),
      c = new Prng(8);
    const sa = Array.from({ length: 16 }, () => a.nextU32());
    expect(Array.from({ length: 16 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 16 }, () => c.nextU32())).not.toEqual(sa);
    a.reseed(7);
    expect(a.nextU32()).toBe(sa[0]);
  });
  it('below(n) stays in range and covers it', () => {
    const r = new Prng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = r.below(7);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(7);
      seen.add(v);
    }
    expect(seen.size).toBe(7);
  });
});

/** A minimal target: CPUs whose task runs a scripted generator; no MMU involved. */
function fakeTarget(ncpu: number, body: (cpu: ModelCpu) => KGen<void>, sources: InterruptSource[]): SchedTarget & { done: boolean[] } {
  const hw = {} as CoreCpu;
  const cpus: ModelCpu[] = [];
  const done: boolean[] = [];
  for (let i = 0; i < ncpu; i++) {
    const task: CpuTask = { pid: i + 1, comm: `t${i}`, stack: [], fnStack: [], lastLabel: '' };
    const cpu = new ModelCpu(i, hw, task);
    task.stack.push(body(cpu));
    cpus.push(cpu);
    done.push(false);
  }
  return {
    cpus,
    sources,
    done,
    canStep: (c) => c.frames.length > 0 || c.curr.stack.length > 0,
    canPreempt: () => false,
    preempt: () => {},
    taskReturned: (c: ModelCpu, _t: ExecThread) => {
      done[c.index] = true;
    },
    finished: () => done.every((d) => d),
  };
}

/** A strategy that records what was enabled, and picks events as often as possible. */
class Recorder implements Strategy {
  readonly name = 'recorder';
  log: { acts: number[]; IF: boolean[]; nmi: number[] }[] = [];
  constructor(
    private readonly t: SchedTarget,
    private readonly rng = new Prng(3),
  ) {}
  choose(acts: Int32Array, n: number): number {
    this.log.push({ acts: Array.from(acts.subarray(0, n)), IF: this.t.cpus.map((c) => c.IF), nmi: this.t.cpus.map((c) => c.nmiDepth) });
    return this.rng.below(n);
  }
}

describe('enabling rules', () => {
  it('IRQs and IPIs need IF=1; NMIs ignore IF but do not nest', () => {
    const body = function* (cpu: ModelCpu): KGen<void> {
      for (let i = 0; i < 30; i++) {
        cpu.IF = i % 3 !== 0;
        if (i % 5 === 0)
          cpu.pendingIpis.push({
            name: 'ipi',
            handler: function* () {
              yield 'ipi';
            },
          });
        yield 'work';
      }
      cpu.IF = true;
    };
    const sources: InterruptSource[] = [
      {
        name: 'irq',
        kind: 'irq',
        remaining: 1000,
        handler: function* () {
          yield 'irq';
        },
      },
      {
        name: 'nmi',
        kind: 'nmi',
        remaining: 1000,
        handler: function* () {
          yield 'nmi1';
          yield 'nmi2';
        },
      },
    ];
    const t = fakeTarget(2, body, sources);
    const rec = new Recorder(t);
    const r = new Scheduler(t, rec).run({ maxSteps: 5000 });
    expect(r.status).toBe('finished');
    let sawNmiWithIfOff = false,
      sawIrq = false;
    for (const e of rec.log) {
      for (const code of e.acts) {
        const c = actionCpu(code),
          s = actionSlot(code);
        if (s === SLOT_IPI || s === SLOT_SOURCE0) {
          expect(e.IF[c]).toBe(true);
          expect(e.nmi[c]).toBe(0);
          sawIrq = true;
        }
        if (s === SLOT_SOURCE0 + 1) {
          expect(e.nmi[c]).toBe(0);
          if (!e.IF[c]) sawNmiWithIfOff = true;
        }
      }
    }
    expect(sawIrq).toBe(true);
    expect(sawNmiWithIfOff).toBe(true);
  });

  it('an interrupt frame clears IF and IRET restores it', () => {
    const t = fakeTarget(
      1,
      function* () {
        yield 'a';
        yield 'b';
      },
      [
        {
          name: 'irq',
          kind: 'irq',
          remaining: 1,
          handler: function* () {
            yield 'in-irq';
          },
        },
      ],
    );
    const cpu = t.cpus[0];
    // Force: deliver the IRQ first, then step.
    const s = new Scheduler(t, new ReplayStrategy([SLOT_SOURCE0, SLOT_STEP, SLOT_STEP, SLOT_STEP, SLOT_STEP, SLOT_STEP]));
    const r = s.run();
    expect(r.status).toBe('finished');
    expect(r.trace[0]).toBe(SLOT_SOURCE0);
    expect(cpu.IF).toBe(true);
    expect(cpu.irqDepth).toBe(0);
  });
});

function ordinary(preset: string, seed: number): Kernel {
  const k = bootLinuxSync(configFromPreset(preset));
  spawnOrdinaryWorkload(k, { seed, iterations: 60 });
  return k;
}

describe('Linux preemption rules', () => {
  it('PREEMPT_NONE never preempts kernel code except at cond_resched(); user mode stays preemptible', () => {
    const k = ordinary('linux-3.18-smp', 5);
    (k.config as { preempt: string }).preempt = 'none';
    const strat = new RandomStrategy(9, { eventProbability: 0.5 });
    let preemptsInKernel = 0,
      preemptsInUser = 0;
    const wrapped: Strategy = {
      name: 'wrap',
      begin: () => strat.begin(),
      choose: (acts, n) => {
        for (let i = 0; i < n; i++) {
          if (actionSlot(acts[i]) !== SLOT_PREEMPT) continue;
          const c = k.cpus[actionCpu(acts[i])];
          if (c.curr.userMode) preemptsInUser++;
          else if (c.thread().lastLabel !== LBL_COND_RESCHED) preemptsInKernel++;
        }
        return strat.choose(acts, n);
      },
    };
    new Scheduler(k, wrapped).run({ maxSteps: 4000 });
    expect(preemptsInKernel).toBe(0);
    expect(preemptsInUser).toBeGreaterThan(0);
  });

  it('PREEMPT offers preemption only with preempt_count == 0 and IRQs on', () => {
    const k = ordinary('linux-3.18-smp', 6);
    let offered = 0;
    const strat = new RandomStrategy(10, { eventProbability: 0.3 });
    const wrapped: Strategy = {
      name: 'wrap',
      choose: (acts, n) => {
        for (let i = 0; i < n; i++) {
          if (actionSlot(acts[i]) !== SLOT_PREEMPT) continue;
          const c = k.cpus[actionCpu(acts[i])];
          expect(c.preemptCount).toBe(0);
          expect(c.IF).toBe(true);
          expect(c.frames.length).toBe(0);
          offered++;
        }
        return strat.choose(acts, n);
      },
    };
    new Scheduler(k, wrapped).run({ maxSteps: 4000 });
    expect(offered).toBeGreaterThan(0);
  });
});

describe('replay', () => {
  for (const [name, mk] of [
    ['random', (s: number) => new RandomStrategy(s, { eventProbability: 0.1 })],
    ['pct', (s: number) => new PctStrategy(s, { depth: 4, expectedSteps: 3000 })],
  ] as const) {
    it(`${name}: replaying the recorded choices reproduces the run exactly`, () => {
      const k1 = ordinary('linux-3.18-smp', 11);
      const r1 = new Scheduler(k1, mk(1234)).run({ maxSteps: 6000 });
      const h1 = stateHash(k1);
      expect(r1.trace.some((c) => actionSlot(c) !== SLOT_STEP)).toBe(true); // events were taken
      const k2 = ordinary('linux-3.18-smp', 11);
      const r2 = new Scheduler(k2, new ReplayStrategy(r1.trace)).run({ maxSteps: 6000 });
      expect(r2.status).toBe(r1.status);
      expect(r2.trace).toEqual(r1.trace);
      expect(stateHash(k2)).toBe(h1);
      expect(k2.log).toEqual(k1.log);
      // A different seed gives a different run (the hash can fail).
      const k3 = ordinary('linux-3.18-smp', 11);
      const r3 = new Scheduler(k3, mk(999)).run({ maxSteps: 6000 });
      expect(r3.trace).not.toEqual(r1.trace);
    });
  }

  it('the same seed gives the same run; a changed trace diverges loudly', () => {
    const k1 = ordinary('linux-3.17-smp', 3);
    const r1 = new Scheduler(k1, new RandomStrategy(77, { eventProbability: 0.1 })).run({ maxSteps: 3000 });
    const k2 = ordinary('linux-3.17-smp', 3);
    const r2 = new Scheduler(k2, new RandomStrategy(77, { eventProbability: 0.1 })).run({ maxSteps: 3000 });
    expect(r2.trace).toEqual(r1.trace);
    expect(stateHash(k2)).toBe(stateHash(k1));
    const bad = r1.trace.slice();
    const i = bad.findIndex((c) => actionSlot(c) === SLOT_STEP && actionCpu(c) === 1);
    bad[i] = 63; // an action code that is never enabled
    const k3 = ordinary('linux-3.17-smp', 3);
    expect(() => new Scheduler(k3, new ReplayStrategy(bad)).run({ maxSteps: 3000 })).toThrow(ReplayDivergence);
  });

  it('round-robin runs the workload to completion, taking no event but prompt IPIs', () => {
    const k = ordinary('linux-3.18-smp', 4);
    const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 50_000 });
    expect(r.status).toBe('finished');
    expect(r.trace.every((c) => actionSlot(c) === SLOT_STEP || actionSlot(c) === SLOT_IPI)).toBe(true);
    expect(r.trace.some((c) => actionSlot(c) === SLOT_IPI)).toBe(true); // vm_unmap_aliases() flushed what vfree() left to the lazy purge, remotely
  });
});

describe('interleaving points without a yield (mustYield)', () => {
  /** Two CPUs whose tasks pass points (yielding always, or through mustYield), an IRQ and an NMI source. */
  function pointsTarget(viaPoints: boolean) {
    const at = (l: string) => !viaPoints || mustYield(l);
    const body = function* (cpu: ModelCpu): KGen<void> {
      for (let i = 0; i < 40; i++) {
        cpu.IF = i % 4 !== 0;
        if (i % 7 === 0)
          cpu.pendingIpis.push({
            name: 'ipi',
            handler: function* () {
              if (at('ipi')) yield 'ipi';
            },
          });
        if (at(`work${i % 3}`)) yield `work${i % 3}`;
      }
      cpu.IF = true;
    };
    const sources: InterruptSource[] = [
      {
        name: 'irq',
        kind: 'irq',
        remaining: 20,
        handler: function* () {
          if (at('irq')) yield 'irq';
        },
      },
      {
        name: 'nmi',
        kind: 'nmi',
        remaining: 20,
        handler: function* () {
          if (at('nmi1')) yield 'nmi1';
          if (at('nmi2')) yield 'nmi2';
        },
      },
    ];
    const t = fakeTarget(2, body, sources);
    return t;
  }

  it('gives the same steps, choices and labels as yielding at every point, for every strategy', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const strategies = (): Strategy[] => [
        new RandomStrategy(seed, { eventProbability: 0.2 }),
        new PctStrategy(seed, { depth: 4, expectedSteps: 60, clock: 'points' }),
      ];
      for (let k = 0; k < 2; k++) {
        const runOf = (viaPoints: boolean) => {
          const t = pointsTarget(viaPoints);
          const labels: string[] = [];
          const s = new Scheduler(t, strategies()[k]);
          s.afterStep = () => labels.push(t.cpus.map((c) => c.label()).join(','));
          const r = s.run({ maxSteps: 5000 });
          return { status: r.status, steps: r.steps, trace: r.trace, labels };
        };
        expect(runOf(true)).toEqual(runOf(false));
      }
    }
  });

  it('skips the yield when the same thread runs on, and yields outside a scheduler step', () => {
    let yields = 0;
    const gen = function* (): KGen<void> {
      for (let i = 0; i < 10; i++)
        if (mustYield('p')) {
          yields++;
          yield 'p';
        }
    };
    const t = fakeTarget(1, gen, []);
    const r = new Scheduler(t, new RoundRobinStrategy()).run();
    expect(r.status).toBe('finished');
    expect(r.steps).toBe(11); // ten points and the return, as with a yield at each point
    expect(yields).toBe(0); // one CPU: the same thread always runs on
    const g = gen();
    let n = 0;
    while (!g.next().done) n++;
    expect(n).toBe(10); // no scheduler stepping: every point yields
  });

  it('an exception of the decision at a point (a finding of afterStep, a replay divergence) comes as after a yield', () => {
    const run = (viaPoints: boolean, strategy: Strategy) => {
      const t = pointsTarget(viaPoints);
      const s = new Scheduler(t, strategy);
      s.afterStep = () => {
        if (s.steps === 37) throw new FindingStop({ sanitizer: 'kernel-bug', signature: 'test', log: [`labels ${t.cpus.map((c) => c.label())}`] });
      };
      try {
        return s.run({ maxSteps: 5000 });
      } catch (e) {
        return { error: String(e) };
      }
    };
    expect(run(true, new RandomStrategy(5))).toEqual(run(false, new RandomStrategy(5)));
    const trace = (run(false, new RandomStrategy(6)) as { trace: number[] }).trace.slice(0, 20);
    trace[19] = trace[19] === 0 ? 64 : 0; // a choice that is not what ran
    expect(run(true, new ReplayStrategy(trace))).toEqual(run(false, new ReplayStrategy(trace)));
    expect(JSON.stringify(run(true, new ReplayStrategy(trace)))).toMatch(/replay diverged/);
  });
});
