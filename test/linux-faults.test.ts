// arch/x86/mm/fault.c in the model: vmalloc_fault() in each variant, the BUG()/BUG_ON() lines,
// the deferred-set_pgd mechanism of seed 000 through the pv_mmu_ops interface, and the lockup
// detector staying quiet on a long clean run.
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { configFromPreset } from '../src/linux/config.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { faultStats } from '../src/linux/fault.js';
import type { Kernel } from '../src/linux/kernel.js';
import { pgd_index } from '../src/linux/layout.js';
import { mmHooks } from '../src/linux/page.js';
import { nativePvOps } from '../src/linux/native.js';
import { paravirt_enter_lazy_mmu, paravirt_get_lazy_mode, paravirt_leave_lazy_mmu, registerPvBackend } from '../src/linux/paravirt.js';
import { readEntry, writeEntry } from '../src/linux/pgtable.js';
import { VM_READ, VM_WRITE } from '../src/linux/structs.js';
import { kernel_read64, spawnProcess, this_cpu_inc, user_access } from '../src/linux/user.js';
import { alloc_percpu, vmalloc } from '../src/linux/vmalloc.js';
import { spawnOrdinaryWorkload } from '../src/linux/workload.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { RandomStrategy, RoundRobinStrategy } from '../src/scheduler/strategy.js';
import type { KnobValue } from '../src/presets/index.js';
import { FindingStop } from '../src/sanitizers/finding.js';

beforeAll(async () => {
  await Machine.ready();
});

const DATA = 0x0060_0000n;
const VMAS = [{ vm_start: DATA, vm_end: DATA + 0x10000n, vm_flags: VM_READ | VM_WRITE }];

/** A process created before a vmalloc() reads the new area from kernel mode (a syscall). */
function lateVmallocRead(preset: string, overrides: Record<string, KnobValue> = {}, corrupt?: (k: Kernel, pgd: number, addr: bigint) => void) {
  const k = bootLinuxSync(configFromPreset(preset, overrides));
  const cpu = k.cpus[0];
  const h: { addr?: bigint; slot?: number; synced?: bigint } = {};
  const p = spawnProcess(k, {
    comm: 'reader',
    cpu: 0,
    vmas: VMAS,
    body: function* () {
      yield* user_access(cpu, DATA, 'write');
      yield* kernel_read64(k, cpu, h.addr!);
      h.synced = readEntry(k, h.slot!); // the reader's own pgd entry, while it is alive
    },
  });
  h.addr = k.runSync(vmalloc(k, cpu, 4096));
  corrupt?.(k, p.mm!.pgd, h.addr);
  h.slot = p.mm!.pgd + pgd_index(k.L, h.addr) * k.L.entrySize;
  const before = readEntry(k, h.slot);
  const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 5000 });
  return { k, r, before, synced: h.synced, ref: readEntry(k, k.init_mm.pgd + pgd_index(k.L, h.addr) * k.L.entrySize), stats: faultStats(k) };
}

describe('vmalloc_fault variants', () => {
  it.each([['linux-3.8-smp'], ['linux-3.9-smp'], ['linux-3.17-smp'], ['linux-3.18-smp'], ['linux-3.17-smp-32bit'], ['linux-3.18-smp-32bit']])(
    '%s: a process older than the vmalloc area gets the entry synced on its first access',
    (preset) => {
      const { r, before, synced, ref, stats } = lateVmallocRead(preset);
      expect(r.finding).toBeUndefined();
      expect(r.status).toBe('finished');
      expect(stats.vmallocFaults).toBe(1);
      expect(stats.vmallocSyncs).toBe(1);
      expect(before).toBe(0n);
      expect(ref).not.toBe(0n);
      expect(synced).toBe(ref);
    },
  );

  it.each([['linux-3.17-smp-pae'], ['linux-3.18-smp-pae']])('%s: PAE never takes a vmalloc fault (shared kernel pmd)', (preset) => {
    const { r, stats } = lateVmallocRead(preset);
    expect(r.status).toBe('finished');
    expect(stats.vmallocFaults).toBe(0);
    expect(stats.vmallocSyncs).toBe(0);
  });

  it.each([
    ['linux-3.8-smp', 'arch/x86/mm/fault.c:384'],
    ['linux-3.9-smp', 'arch/x86/mm/fault.c:385'],
    ['linux-3.18-smp', 'arch/x86/mm/fault.c:389'],
    ['linux-4.8-smp', 'arch/x86/mm/fault.c:451'],
    ['linux-4.14-smp', 'arch/x86/mm/fault.c:473'],
    // 3.17's fault.c was not read: the function, and the line as unknown.
    ['linux-3.17-smp', 'arch/x86/mm/fault.c'],
  ])('%s: a pgd entry that disagrees with init_mm hits BUG_ON at %s', (preset, where) => {
    const { r } = lateVmallocRead(preset, {}, (k, pgd, addr) => {
      const bogus = k.allocPageTable(3); // an empty pud page instead of init_mm's
      writeEntry(k, pgd + pgd_index(k.L, addr) * 8, BigInt(bogus) | 0x67n);
    });
    expect(r.status).toBe('finding');
    expect(r.finding!.sanitizer).toBe('kernel-bug');
    expect(r.finding!.log[1]).toBe(`kernel BUG at ${where}!`);
    if (!/:\d+$/.test(where))
      expect(r.finding!.log[2]).toBe('pagewalk: vmalloc_fault(): the source line of this BUG is not verified for Linux 3.17.0 (line unknown)');
    expect(r.finding!.log.join('\n')).toMatch(/Call Trace:\n vmalloc_fault\n do_page_fault/);
  });

  /** A kernel read of the direct map by a process whose pgd lost its direct-map entry. */
  function directMapReadWithoutPgdEntry(version: string) {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp', { version }));
    const cpu = k.cpus[0];
    const addr = k.L.PAGE_OFFSET + 0x1000n;
    const p = spawnProcess(k, { comm: 'reader', cpu: 0, vmas: VMAS, body: () => kernel_read64(k, cpu, addr) });
    writeEntry(k, p.mm!.pgd + pgd_index(k.L, addr) * 8, 0n);
    return new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 5000 });
  }

  it('from 3.16 spurious_fault() rejects a not-present fault at once (commit 31668511): the kernel oopses', () => {
    const r = directMapReadWithoutPgdEntry('3.16.0');
    expect(r.finding!.sanitizer).toBe('oops');
    expect(r.finding!.log).toContain('BUG: unable to handle kernel paging request at ffff880000001000');
  });

  it('before 3.16 spurious_fault() walks init_mm for a not-present fault too, accepts it, and the access faults again: a lockup', () => {
    const r = directMapReadWithoutPgdEntry('3.15.0');
    expect(r.finding!.sanitizer).toBe('soft-lockup');
    expect(r.finding!.log[0]).toBe('NMI watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [reader:1]');
    expect(r.finding!.log).toContain('pagewalk: spurious_fault() accepted the fault at 0xffff880000001000');
  });
});

// A test-only backend whose set_pgd is deferred while the CPU is in lazy MMU mode and applied
// by lazy_mode.flush/leave: the mechanism of seed 000 (Xen PV multicall batching), natively.
registerPvBackend('test-lazy-set-pgd', () => {
  const base = nativePvOps();
  const queue: [number, bigint][] = [];
  const apply = (k: Kernel) => {
    for (const [p, v] of queue.splice(0)) writeEntry(k, p, v);
  };
  return {
    name: 'test-lazy-set-pgd',
    cpu: base.cpu,
    mmu: {
      ...base.mmu,
      set_pgd: function* (k, cpu, pgdp, v) {
        if (paravirt_get_lazy_mode(cpu) === 'mmu') queue.push([pgdp, v]);
        else writeEntry(k, pgdp, v);
      },
      lazy_mode: {
        enter: function* (_k, cpu) {
          paravirt_enter_lazy_mmu(cpu);
        },
        leave: function* (k, cpu) {
          apply(k);
          paravirt_leave_lazy_mmu(cpu);
        },
        flush: function* (k) {
          apply(k);
        },
      },
    },
  };
});

describe('pv_mmu_ops: a deferred set_pgd (seed 000 mechanism)', () => {
  function exitWithMemcgStats(preset: string) {
    const k = bootLinuxSync(configFromPreset(preset, { paravirt: 'test-lazy-set-pgd' }));
    const cpu = k.cpus[0];
    const p = spawnProcess(k, {
      comm: 'httpd',
      cpu: 0,
      vmas: VMAS,
      body: function* () {
        for (let i = 0n; i < 3n; i++) yield* user_access(cpu, DATA + i * 4096n, 'write');
      },
    });
    const stats = k.runSync(alloc_percpu(k, cpu, 64)); // mem_cgroup per-cpu stats, vmalloc'ed after p's pgd
    // page_remove_rmap() -> mem_cgroup_uncharge_page() -> mem_cgroup_charge_statistics(): this_cpu_add().
    mmHooks(k).page_remove_rmap = (k2, c) => this_cpu_inc(k2, c, stats);
    const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 5000 });
    return { k, r, p };
  }

  it('before 3.9 (no arch_flush_lazy_mmu_mode() after set_pgd): kernel BUG at arch/x86/mm/fault.c:397! (3.8; 3.2 has it at 396)', () => {
    const { r } = exitWithMemcgStats('linux-3.8-smp');
    expect(r.finding?.sanitizer).toBe('kernel-bug');
    expect(r.finding!.log.slice(0, 3)).toEqual([
      '------------[ cut here ]------------',
      'kernel BUG at arch/x86/mm/fault.c:397!',
      'invalid opcode: 0000 [#1] PREEMPT SMP',
    ]);
    const trace = r.finding!.log.slice(r.finding!.log.indexOf('Call Trace:') + 1).map((s) => s.trim());
    expect(trace.slice(0, 8)).toEqual(['vmalloc_fault', 'do_page_fault', 'zap_pte_range', 'unmap_single_vma', 'unmap_vmas', 'exit_mmap', 'mmput', 'exit_mm']);
  });

  it('3.9 (arch_flush_lazy_mmu_mode() after set_pgd): clean', () => {
    const { r, k } = exitWithMemcgStats('linux-3.9-smp');
    expect(r.finding).toBeUndefined();
    expect(r.status).toBe('finished');
    expect(faultStats(k).vmallocSyncs).toBe(1);
  });
});

describe('lockup detector: what counts as progress', () => {
  function faultingCpu() {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp', { lockup_threshold: 8 }));
    const cpu = k.cpus[0];
    const va = 0x0060_0000n; // user address: nothing mapped in swapper_pg_dir
    const r = cpu.hw.access(va, { kind: 'read', cpl: 0 });
    expect(r.ok).toBe(false);
    const walked = cpu.hw.lastWalkEntries().map(Number);
    expect(walked.length).toBeGreaterThan(0);
    const fault = () => k.lockup.onFault(cpu, va, 0, true);
    return { k, cpu, walked, fault };
  }

  it('reports at the threshold when nothing changes', () => {
    const { fault } = faultingCpu();
    for (let i = 0; i < 7; i++) fault();
    expect(fault).toThrow(FindingStop);
  });

  it('a write to an entry the faulting walk read is progress; a write elsewhere is not', () => {
    const { k, walked, fault } = faultingCpu();
    for (let i = 0; i < 30; i++) {
      fault();
      k.notePtWrite(walked[walked.length - 1]);
    }
    // The first fault after the last progress starts a new count: 7 more, then the 8th reports.
    for (let i = 0; i < 7; i++) {
      fault();
      k.notePtWrite(walked[0] + 4096 * 7); // not on the walk
    }
    expect(fault).toThrow(FindingStop);
  });

  it('a CR3 load on the faulting CPU is progress', () => {
    const { cpu, fault } = faultingCpu();
    for (let i = 0; i < 30; i++) {
      fault();
      cpu.cr3Epoch++;
    }
    expect(() => {
      for (let i = 0; i < 7; i++) fault();
    }).not.toThrow();
  });
});

describe('lockup detector', () => {
  // Kernels without the seed 004 bug (an NMI in context_switch() would find it before 4.8 on
  // 64-bit: the random schedule may well deliver one there).
  it.each([
    ['linux-4.8-smp', {}],
    ['linux-3.18-smp-32bit', {}],
    ['linux-3.18-smp-pae', {}],
    ['linux-4.8-smp', { smp: false, cpus: 1, preempt: 'rt' }],
  ] as const)('%s %j: 10,000 scheduled steps of ordinary faults, context switches, IRQs and NMIs: no finding', (preset, overrides) => {
    const k = bootLinuxSync(configFromPreset(preset, overrides));
    spawnOrdinaryWorkload(k, { seed: 2024, perCpu: 3, iterations: 3000, interrupts: 200 });
    const r = new Scheduler(k, new RandomStrategy(7, { eventProbability: 0.05 })).run({ maxSteps: 10_000 });
    expect(r.finding).toBeUndefined();
    expect(r.status).toBe('step-limit');
    expect(r.steps).toBe(10_000);
    expect(k.lockup.faults).toBeGreaterThan(20);
    expect(k.nr_switches).toBeGreaterThan(20);
    expect(r.trace.filter((c) => c % 64 === 1).length).toBeGreaterThan(5); // preemptions
  });
});
