// Seeds 003 and 004 reproduced (src/scenarios): the buggy variant reports the right sanitizer
// and message, the fixed variant runs clean, and each run replays exactly from its trace.
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { stateHash } from '../src/linux/hash.js';
import { pgd_index } from '../src/linux/layout.js';
import { readEntry } from '../src/linux/pgtable.js';
import { listScenarios } from '../src/scenarios/index.js';
import { runScenarioSync } from '../src/scenarios/runner.js';
import { configFromPreset } from '../src/linux/config.js';
import { machineOptionsFor, rebootLinux } from '../src/linux/machine.js';
import { spawnOrdinaryWorkload } from '../src/linux/workload.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { RandomStrategy } from '../src/scheduler/strategy.js';
import { actionSlot, SLOT_PREEMPT, SLOT_SOURCE0 } from '../src/scheduler/types.js';

beforeAll(async () => {
  await Machine.ready();
});

describe('registry', () => {
  it('lists the seed scenarios with their seed files and presets', () => {
    const byName = Object.fromEntries(listScenarios().map((s) => [s.name, s]));
    expect(byName['003-flush-tlb-preempt']).toMatchObject({
      seed: '003_aca8942a7e55b707.txt',
      presets: { buggy: 'linux-3.2-rt-up', fixed: 'linux-3.2-rt-up-fixed' },
    });
    expect(byName['004-vmalloc-fault-nmi']).toMatchObject({ seed: '004_55101baa4c0a53b2.txt', presets: { buggy: 'linux-3.18-smp', fixed: 'linux-4.8-smp' } });
    expect(byName['004-vmalloc-fault-nmi-pae'].presets).toEqual({ buggy: 'linux-3.18-smp-pae', fixed: 'linux-4.8-smp-pae' });
    expect(byName['004-vmalloc-fault-nmi-32bit'].presets).toEqual({ buggy: 'linux-3.18-smp-32bit', fixed: 'linux-4.8-smp-32bit' });
  });
});

describe('seed 003: preemption between read_cr3 and write_cr3 (UP, PREEMPT_RT)', () => {
  it('buggy: taskB faults forever on the stale CR3; handle_mm_fault finds the pte fine: soft lockup', () => {
    const r = runScenarioSync('003-flush-tlb-preempt', 'buggy');
    expect(r.outcome).toBe('bug');
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f.sanitizer).toBe('soft-lockup');
    const pid = r.kernel.tasks.find((t) => t.comm === 'taskB')!.pid;
    expect(f.log[0]).toBe(`BUG: soft lockup - CPU#0 stuck for 22s! [taskB:${pid}]`);
    expect(f.log).toContain('Call Trace:');
    expect(f.log.join('\n')).toMatch(/pagewalk: #PF at 0x400000 \(error code 0x14\) on CPU#0 repeated 64 times/);
    expect(f.log.join('\n')).toMatch(/handle_mm_fault found the pte for 0x400000 present with proper rights .* and returned doing nothing/);
    // The three preemptions of the seed, and CR3 left pointing at taskA's pgd while taskB runs.
    expect(r.trace.filter((c) => actionSlot(c) === SLOT_PREEMPT)).toHaveLength(3);
    const k = r.kernel;
    const b = k.tasks.find((t) => t.comm === 'taskB')!;
    expect(k.cpus[0].curr).toBe(b);
    expect(k.cpus[0].hw.getControl().cr3).not.toBe(BigInt(b.mm!.pgd));
    expect(b.active_mm).toBe(b.mm);
  });

  it('fixed (preempt_disable around the pair): clean, both tasks finish', () => {
    const r = runScenarioSync('003-flush-tlb-preempt', 'fixed');
    expect(r.outcome).toBe('clean');
    expect(r.findings).toEqual([]);
    expect(r.status).toBe('finished');
    expect(r.trace.filter((c) => actionSlot(c) === SLOT_PREEMPT)).toHaveLength(3);
    expect(r.kernel.tasks.filter((t) => !t.idle).every((t) => t.state === 'dead')).toBe(true);
  });
});

describe('seed 004: NMI in context_switch touching vmalloc memory (x86_64 SMP)', () => {
  it('buggy (3.18 as released, current->active_mm): endless fault in the NMI: hard lockup', () => {
    const r = runScenarioSync('004-vmalloc-fault-nmi', 'buggy');
    expect(r.outcome).toBe('bug');
    const f = r.findings[0];
    expect(f.sanitizer).toBe('hard-lockup');
    expect(f.log.slice(0, 2)).toEqual(['------------[ cut here ]------------', 'Watchdog detected hard LOCKUP on cpu 0']);
    expect(f.log.join('\n')).toContain('Call Trace:\n <NMI>\n do_page_fault\n perf_event_nmi_handler\n <EOE>\n context_switch');
    expect(f.log.join('\n')).toMatch(/#PF at 0xffffc90000000000 \(error code 0x2\) on CPU#0/);
    expect(f.signature).toBe('hard lockup: fault livelock in do_page_fault <- perf_event_nmi_handler <- context_switch');
    // The WARN_ON_ONCE(in_nmi()) of 3.18's vmalloc_fault() fired first (fault.c:373).
    expect(r.dmesg).toContain('WARNING: CPU: 0 PID: 2 at arch/x86/mm/fault.c:373 vmalloc_fault()');
    expect(r.trace.filter((c) => actionSlot(c) === SLOT_SOURCE0)).toHaveLength(1);
    // CR3 holds next's pgd, current is still prev.
    const k = r.kernel;
    const next = k.tasks.find((t) => t.comm === 'next')!;
    expect(k.cpus[0].curr.comm).toBe('prev');
    expect(k.cpus[0].hw.getControl().cr3).toBe(BigInt(next.mm!.pgd));
  });

  it("fixed (4.8, the pgd in CR3): synced, clean; WARN_ON_ONCE(in_nmi()) still warns, in 4.8's format", () => {
    const r = runScenarioSync('004-vmalloc-fault-nmi', 'fixed');
    expect(r.outcome).toBe('clean');
    expect(r.status).toBe('finished');
    expect(r.stats).toMatchObject({ vmallocFaults: 1, vmallocSyncs: 1 });
    expect(r.trace.filter((c) => actionSlot(c) === SLOT_SOURCE0)).toHaveLength(1);
    // __warn() of 4.6+ prints no "()" after the symbol; the line is 4.8.15's fault.c:435.
    expect(r.dmesg.filter((l) => l.startsWith('WARNING'))).toEqual(['WARNING: CPU: 0 PID: 2 at arch/x86/mm/fault.c:435 vmalloc_fault']);
  });

  it('the WARN headline follows the version: "WARNING: at" before 3.10, "()" dropped from 4.6', () => {
    const warn = (overrides: Record<string, string>) => {
      const d = runScenarioSync('004-vmalloc-fault-nmi', 'buggy', { overrides }).dmesg;
      const i = d.findIndex((l) => l.startsWith('WARNING'));
      return d.slice(i, i + 2);
    };
    expect(warn({ version: '3.2.0', vmalloc_fault: 'active_mm' })[0]).toBe('WARNING: at arch/x86/mm/fault.c:368 vmalloc_fault()');
    expect(warn({ version: '4.4.0' })[0]).toBe('WARNING: CPU: 0 PID: 2 at arch/x86/mm/fault.c:377 vmalloc_fault()');
    expect(warn({ version: '4.6.0' })[0]).toBe('WARNING: CPU: 0 PID: 2 at arch/x86/mm/fault.c:435 vmalloc_fault');
    // A release whose fault.c was not read: the function, and the line as unknown.
    expect(warn({ version: '3.17.0' })).toEqual([
      'WARNING: CPU: 0 PID: 2 at arch/x86/mm/fault.c vmalloc_fault()',
      'pagewalk: vmalloc_fault(): the source line of this WARN_ON_ONCE is not verified for Linux 3.17.0 (line unknown)',
    ]);
  });

  it.each(['buggy', 'fixed'] as const)('PAE (%s preset): the same program never takes a vmalloc fault', (v) => {
    const r = runScenarioSync('004-vmalloc-fault-nmi-pae', v);
    expect(r.outcome).toBe('clean');
    expect(r.status).toBe('finished');
    expect(r.stats.vmallocFaults).toBe(0);
    expect(r.trace.filter((c) => actionSlot(c) === SLOT_SOURCE0)).toHaveLength(1); // the NMI did run
  });

  it.each(['buggy', 'fixed'] as const)('32-bit non-PAE (%s preset): vmalloc_fault() syncs the pgd in CR3 (next), not current->active_mm (prev)', (v) => {
    const r = runScenarioSync('004-vmalloc-fault-nmi-32bit', v);
    expect(r.outcome).toBe('clean');
    expect(r.status).toBe('finished');
    expect(r.stats).toMatchObject({ vmallocFaults: 1, vmallocSyncs: 1 });
    if (v === 'buggy') expect(r.dmesg).toContain('WARNING: CPU: 0 PID: 2 at arch/x86/mm/fault.c:274 vmalloc_fault()');
  });
});

describe('replay', () => {
  it.each([
    ['003-flush-tlb-preempt', 'buggy'],
    ['003-flush-tlb-preempt', 'fixed'],
    ['004-vmalloc-fault-nmi', 'buggy'],
    ['004-vmalloc-fault-nmi', 'fixed'],
  ] as const)('%s %s: replaying the trace gives the same run bit for bit', (name, v) => {
    const a = runScenarioSync(name, v);
    const b = runScenarioSync(name, v, { trace: a.trace });
    expect(b.trace).toEqual(a.trace);
    expect(b.findings).toEqual(a.findings);
    expect(b.dmesg).toEqual(a.dmesg);
    expect(stateHash(b.kernel)).toBe(stateHash(a.kernel));
  });
});

describe('without a script', () => {
  it('random schedules of an ordinary workload hit seed 004 on 3.18 and never on 4.8', () => {
    const count = (preset: string) => {
      const cfg = configFromPreset(preset);
      const m = Machine.createSync(machineOptionsFor(cfg)) as never;
      let hits = 0;
      for (let seed = 0; seed < 24; seed++) {
        const k = rebootLinux(m, cfg);
        spawnOrdinaryWorkload(k, { seed, perCpu: 2, iterations: 80, interrupts: 20 });
        const r = new Scheduler(k, new RandomStrategy(seed, { eventProbability: 0.2 })).run({ maxSteps: 30_000 });
        expect(r.status === 'finished' || r.status === 'finding').toBe(true);
        if (r.finding) {
          // The livelock on prev's pgd, or (a kernel thread as prev, after prev->active_mm = NULL)
          // the NULL dereference: both are current->active_mm in vmalloc_fault().
          expect([
            'hard lockup: fault livelock in do_page_fault <- perf_event_nmi_handler <- context_switch',
            'BUG: unable to handle kernel NULL pointer dereference in vmalloc_fault',
          ]).toContain(r.finding.signature);
          hits++;
        }
      }
      return hits;
    };
    expect(count('linux-3.18-smp')).toBeGreaterThan(0);
    expect(count('linux-4.8-smp')).toBe(0);
  });
});

describe('machine reuse', () => {
  it('runs on one reset machine give the same results as on fresh machines', () => {
    const m = Machine.createSync({ ramBytes: 16 * 2 ** 20, cpus: 2 });
    for (const [name, v] of [
      ['004-vmalloc-fault-nmi', 'buggy'],
      ['003-flush-tlb-preempt', 'buggy'],
      ['004-vmalloc-fault-nmi', 'fixed'],
    ] as const) {
      const fresh = runScenarioSync(name, v);
      const hashFresh = stateHash(fresh.kernel);
      const reused = runScenarioSync(name, v, { machine: m as never });
      expect(reused.trace).toEqual(fresh.trace);
      expect(reused.findings).toEqual(fresh.findings);
      expect(stateHash(reused.kernel)).toBe(hashFresh);
    }
  });
});

describe('the pgd that 32-bit vmalloc_fault() syncs', () => {
  it.each(['buggy', 'fixed'] as const)("%s: right after the NMI, next's pgd (the one in CR3) has init_mm's entry", (v) => {
    const r = runScenarioSync('004-vmalloc-fault-nmi-32bit', v);
    const nmiAt = r.trace.findIndex((c) => actionSlot(c) === SLOT_SOURCE0);
    // Replay up to a few steps after the NMI, while both processes are alive.
    const prefix = r.trace.slice(0, nmiAt + 12);
    const p = runScenarioSync('004-vmalloc-fault-nmi-32bit', v, { trace: prefix, maxSteps: prefix.length });
    const k = p.kernel;
    expect(k.cpus[0].nmiDepth).toBe(0); // the NMI handler has returned
    const next = k.tasks.find((t) => t.comm === 'next')!;
    const slot = pgd_index(k.L, k.L.VMALLOC_START) * 4;
    expect(readEntry(k, k.init_mm.pgd + slot)).not.toBe(0n);
    expect(readEntry(k, next.mm!.pgd + slot)).toBe(readEntry(k, k.init_mm.pgd + slot));
  });

  it("the 64-bit 3.18 variant leaves next's pgd without the entry (it synced prev's)", () => {
    const r = runScenarioSync('004-vmalloc-fault-nmi', 'buggy');
    const k = r.kernel;
    const next = k.tasks.find((t) => t.comm === 'next')!;
    const slot = pgd_index(k.L, k.L.VMALLOC_START) * 8;
    expect(readEntry(k, next.mm!.pgd + slot)).toBe(0n);
  });
});
