// The Linux memory-management model (src/linux): boot in each paging mode, pgd_alloc/pgd_list,
// vmalloc visibility, vmalloc_sync_all, presets and knobs, context switches and lazy TLB.
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { PagewalkError } from '../src/core/errors.js';
import { configFromPreset } from '../src/linux/config.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { pgd_index } from '../src/linux/layout.js';
import { readEntry } from '../src/linux/pgtable.js';
import { spawnKthread, spawnProcess, user_access } from '../src/linux/user.js';
import { vmalloc, vmalloc_sync_all } from '../src/linux/vmalloc.js';
import { VM_READ, VM_WRITE, type TaskStruct } from '../src/linux/structs.js';
import { schedule_blocked, wake_up_process } from '../src/linux/sched.js';
import { hwAccess } from '../src/modelcpu/access.js';
import { getPreset, listPresets, registerKnob, resolvePreset } from '../src/presets/index.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { RoundRobinStrategy } from '../src/scheduler/strategy.js';
import { FRAME_STATE } from '../src/core/types.js';

beforeAll(async () => {
  await Machine.ready();
});

const DATA = 0x0060_0000n;
const VMAS = [{ vm_start: DATA, vm_end: DATA + 0x10000n, vm_flags: VM_READ | VM_WRITE }];
const MODES = [
  ['linux-3.17-smp', '4level', 0xffff_8800_0000_0000n],
  ['linux-3.17-smp-pae', 'pae', 0xc000_0000n],
  ['linux-3.17-smp-32bit', '32bit', 0xc000_0000n],
] as const;

describe('boot', () => {
  it.each(MODES)('%s: paging mode %s, the direct map at PAGE_OFFSET translates to physical 0..RAM', (preset, mode, pageOffset) => {
    const k = bootLinuxSync(configFromPreset(preset));
    for (const cpu of k.cpus) {
      expect(cpu.hw.mode).toBe(mode);
      const r = cpu.hw.access(pageOffset + 0x12345n, { kind: 'write', cpl: 0 });
      expect(r).toEqual({ ok: true, pa: 0x12345n });
      // Kernel memory is supervisor-only.
      const u = cpu.hw.access(pageOffset + 0x12345n, { kind: 'read', cpl: 3 });
      expect(u.ok).toBe(false);
    }
    expect(k.cpus.map((c) => c.curr.comm)).toEqual(['swapper/0', 'swapper/1']);
  });
});

describe('pgd_alloc and pgd_list', () => {
  it.each(MODES)('%s: a new pgd copies the kernel part of swapper_pg_dir', (preset, mode) => {
    const k = bootLinuxSync(configFromPreset(preset));
    const t = spawnProcess(k, { comm: 'p', cpu: 0, vmas: VMAS, body: function* () {} });
    const L = k.L;
    const idx = pgd_index(L, L.PAGE_OFFSET);
    expect(readEntry(k, t.mm!.pgd + idx * L.entrySize)).toBe(readEntry(k, k.init_mm.pgd + idx * L.entrySize));
    expect(readEntry(k, t.mm!.pgd + idx * L.entrySize)).not.toBe(0n);
    // pgd_list holds every pgd unless the kernel pmd is shared (native PAE).
    expect(k.pgd_list.includes(t.mm!)).toBe(mode !== 'pae');
    if (mode === 'pae') {
      // preallocated user pmds: the three user PDPTEs are present, P only.
      for (let i = 0; i < 3; i++) expect(readEntry(k, t.mm!.pgd + i * 8) & 0xfffn).toBe(1n);
    }
  });
});

describe('vmalloc', () => {
  it.each(MODES)('%s: a new vmalloc area reaches other pgds only when the mode shares the kernel pmd', (preset, mode) => {
    const k = bootLinuxSync(configFromPreset(preset));
    const early = spawnProcess(k, { comm: 'early', cpu: 0, vmas: VMAS, body: function* () {} });
    const addr = k.runSync(vmalloc(k, k.cpus[0], 4096));
    expect(addr).toBe(k.L.VMALLOC_START);
    const late = spawnProcess(k, { comm: 'late', cpu: 0, vmas: VMAS, body: function* () {} });
    const cpu = k.cpus[0];
    const tryIn = (pgd: number) => {
      cpu.hw.flushTlbAll(); // vmalloc ptes are global: drop what an earlier try cached
      cpu.hw.setControl({ cr3: BigInt(pgd) });
      return cpu.hw.access(addr, { kind: 'read', cpl: 0 }).ok;
    };
    expect(tryIn(k.init_mm.pgd)).toBe(true);
    expect(tryIn(late.mm!.pgd)).toBe(true);
    expect(tryIn(early.mm!.pgd)).toBe(mode === 'pae');
  });

  it.each([['linux-3.17-smp'], ['linux-3.17-smp-32bit']])(
    '%s: vmalloc_sync_all() copies the new entries into every pgd; with vmalloc_sync_all=false it does nothing',
    (preset) => {
      const k = bootLinuxSync(configFromPreset(preset));
      const early = spawnProcess(k, { comm: 'early', cpu: 0, vmas: VMAS, body: function* () {} });
      const addr = k.runSync(vmalloc(k, k.cpus[0], 4096));
      const idx = pgd_index(k.L, addr) * k.L.entrySize;
      expect(readEntry(k, early.mm!.pgd + idx)).toBe(0n);
      k.runSync(vmalloc_sync_all(k, k.cpus[0]));
      expect(readEntry(k, early.mm!.pgd + idx)).toBe(readEntry(k, k.init_mm.pgd + idx));
      const k2 = bootLinuxSync(configFromPreset(preset, { vmalloc_sync_all: false }));
      const early2 = spawnProcess(k2, { comm: 'early', cpu: 0, vmas: VMAS, body: function* () {} });
      k2.runSync(vmalloc(k2, k2.cpus[0], 4096));
      k2.runSync(vmalloc_sync_all(k2, k2.cpus[0]));
      expect(readEntry(k2, early2.mm!.pgd + idx)).toBe(0n);
    },
  );
});

describe('tasks, context switches, lazy TLB', () => {
  it.each([[false], [true]])('smp=%s: a kernel thread borrows active_mm without a CR3 load; switching back to the same mm loads nothing', (smp) => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp', { cpus: 1, smp }));
    const cpu = k.cpus[0];
    const seen: Record<string, { cr3: bigint; epoch: number; active?: string; lazy: string }> = {};
    const note = (tag: string) => (seen[tag] = { cr3: cpu.hw.getControl().cr3, epoch: cpu.cr3Epoch, active: cpu.curr.active_mm?.name, lazy: cpu.tlbState });
    const h: { kt?: TaskStruct; a?: TaskStruct } = {};
    h.a = spawnProcess(k, {
      comm: 'a',
      cpu: 0,
      vmas: VMAS,
      body: function* () {
        yield* user_access(cpu, DATA, 'write');
        note('a1');
        wake_up_process(h.kt!);
        yield* schedule_blocked(k, cpu);
        note('a2');
        yield* user_access(cpu, DATA, 'read');
      },
    });
    h.kt = spawnKthread(k, 'kt', 0, function* () {
      note('kt');
      wake_up_process(h.a!);
      yield 'kt';
    });
    h.kt.state = 'blocked';
    const apgd = BigInt(h.a.mm!.pgd);
    const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 5000 });
    expect(r.status).toBe('finished');
    expect(seen.a1.cr3).toBe(apgd);
    expect(seen.kt).toMatchObject({ cr3: seen.a1.cr3, epoch: seen.a1.epoch, active: 'a', lazy: smp ? 'lazy' : 'ok' });
    expect(seen.a2).toMatchObject({ cr3: seen.a1.cr3, epoch: seen.a1.epoch, active: 'a', lazy: 'ok' });
    expect(h.kt.mm).toBeNull();
    expect(k.nr_switches).toBeGreaterThanOrEqual(4);
  });

  it.each(MODES)('%s: exit_mmap frees every user page and table; the pgd lives while idle borrows it, then mmdrop frees it', (preset) => {
    const k = bootLinuxSync(configFromPreset(preset));
    const before = new Set<number>();
    for (let i = 0; i < k.m.frames.count; i++) if (k.m.frames.state(i) !== FRAME_STATE.FREE) before.add(i);
    const cpu = k.cpus[0];
    const holder: { q?: TaskStruct } = {};
    const p = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: VMAS,
      body: function* () {
        for (let i = 0n; i < 8n; i++) yield* user_access(cpu, DATA + i * 4096n, 'write');
        wake_up_process(holder.q!);
      },
    });
    holder.q = spawnProcess(k, {
      comm: 'q',
      cpu: 0,
      vmas: VMAS,
      blocked: true,
      body: function* () {
        yield* user_access(cpu, DATA, 'read');
      },
    });
    const pmm = p.mm!,
      qmm = holder.q.mm!;
    const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 5000 });
    expect(r.status).toBe('finished');
    expect(p.state).toBe('dead');
    // p's mm was dropped when q switched in; q's mm is now borrowed by swapper/0 (lazy TLB).
    expect(pmm.freed).toBe(true);
    expect(k.m.frames.state(pmm.pgd / 4096)).toBe(FRAME_STATE.FREE);
    expect(qmm.freed).toBe(false);
    expect(cpu.curr.idle && cpu.curr.active_mm).toBe(qmm);
    expect(qmm.mm_count).toBe(1);
    // What is still allocated is exactly q's pgd (and, with PAE, its preallocated user pmds but the
    // one free_pgtables() freed: no vma was left in its gigabyte, so pud_clear() cleared the PDPTE).
    const left: number[] = [];
    for (let i = 0; i < k.m.frames.count; i++) if (k.m.frames.state(i) !== FRAME_STATE.FREE && !before.has(i)) left.push(i);
    const expected = [qmm.pgd / 4096];
    if (k.L.paging === 'pae') {
      expect(readEntry(k, qmm.pgd + Number(DATA >> 30n) * 8)).toBe(0n);
      for (let i = 1; i < 3; i++) expected.push(Number(readEntry(k, qmm.pgd + i * 8) & ~0xfffn) / 4096);
    }
    expect(left.sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
  });

  it('a kernel thread touching an unmapped user address oopses (no mm)', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp'));
    spawnKthread(k, 'kt', 0, function* (t) {
      yield* hwAccess(k.cpus[t.cpu], 0x1000n, 'read', 0);
    });
    const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 1000 });
    expect(r.finding?.sanitizer).toBe('oops');
    expect(r.finding?.log[0]).toBe('BUG: unable to handle kernel paging request at 0000000000001000');
  });

  it('a user access outside every vma kills the task with SIGSEGV', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp'));
    const t = spawnProcess(k, {
      comm: 'bad',
      cpu: 0,
      vmas: VMAS,
      body: function* (s) {
        yield* user_access(k.cpus[s.cpu], 0x1000n, 'read');
      },
    });
    const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 1000 });
    expect(r.status).toBe('finished');
    expect(t.exitCode).toBe(11);
    expect(k.log).toContain(`bad[${t.pid}]: segfault at 1000 error 4`);
  });
});

describe('presets and knobs', () => {
  it('resolves bases and overrides knob by knob', () => {
    const c = configFromPreset('linux-3.18-smp-pae');
    expect(c).toMatchObject({ paging: 'pae', version: '3.18.0', vmalloc_fault: 'active_mm+flush', vmalloc_sync_all: true, cpus: 2, smp: true });
    expect(configFromPreset('linux-3.18-smp-pae', { cpus: 4 }).cpus).toBe(4);
    expect(configFromPreset('linux-3.2-rt-up-fixed').flush_tlb_preempt_disable).toBe(true);
    expect(configFromPreset('linux-3.2-rt-up').watchdog_format).toBe('v3.2');
    expect(configFromPreset('linux-3.17-smp').watchdog_format).toBe('v3.14');
    expect(listPresets().length).toBeGreaterThanOrEqual(10);
  });
  it('rejects unknown presets, unknown knobs, bad values and contradictions with clear errors', () => {
    expect(() => getPreset('linux-9.9')).toThrow(/unknown preset 'linux-9.9'/);
    expect(() => resolvePreset('linux-3.17-smp', { nosuch: 1 })).toThrow(/unknown knob 'nosuch'/);
    expect(() => resolvePreset('linux-3.17-smp', { paging: '5level' })).toThrow(/knob 'paging': expected one of 32bit\|pae\|4level/);
    expect(() => resolvePreset('linux-3.17-smp', { cpus: 0 })).toThrow(/knob 'cpus': 0 is out of range 1..8/);
    expect(() => configFromPreset('linux-3.2-rt-up', { cpus: 2 })).toThrow(/UP kernel/);
    expect(() => bootLinuxSync(configFromPreset('linux-3.17-smp', { paravirt: 'nosuch' }))).toThrow(/unknown backend 'nosuch'/);
    try {
      resolvePreset('linux-3.17-smp', { smp: 'yes' });
    } catch (e) {
      expect(e).toBeInstanceOf(PagewalkError);
      expect((e as PagewalkError).userError).toBe(true);
    }
  });
  it('other models can register knobs', () => {
    registerKnob({ name: 'test_only_knob', type: 'int', min: 0, max: 3, default: 1, group: 'test', description: 'test' });
    expect(resolvePreset('linux-3.17-smp').test_only_knob).toBe(1);
    expect(configFromPreset('linux-3.17-smp', { test_only_knob: 3 }).knobs.test_only_knob).toBe(3);
    expect(() => registerKnob({ name: 'test_only_knob', type: 'bool', default: true, group: 'test', description: '' })).toThrow(/already registered/);
  });
});
