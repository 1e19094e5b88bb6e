/**
 * CVE-2022-39188 (docs/historical-bugs.md): the scenario before and after "mm: Force TLB flush
 * for PFNMAP mappings before unlink_file_vma()" (4.14.292), and the paths it needs:
 * remap_pfn_range() mappings of the model driver (src/linux/pfnmap.ts), their zap, and the
 * nested-gather flush of tlb_finish_mmu() (4.13+; knob tlb_flush_nested, which every preset carries
 * as a backport) that keeps the fixed kernel clean when the driver's unmap_mapping_range() runs
 * before munmap() unlinks the vma.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { FRAME_STATE } from '../src/core/types.js';
import { configFromPreset } from '../src/linux/config.js';
import type { Kernel } from '../src/linux/kernel.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { unmap_page_range } from '../src/linux/memory.js';
import { vm_munmap } from '../src/linux/mmap.js';
import { tlb_finish_mmu, tlb_gather_mmu } from '../src/linux/mmu_gather.js';
import { PfnmapDevice, pfnmap_dev_free_buffer, pfnmap_dev_mmap } from '../src/linux/pfnmap.js';
import { VM_PFNMAP, VM_READ, VM_WRITE } from '../src/linux/structs.js';
import { spawnProcess, user_access } from '../src/linux/user.js';
import { runScenarioSync } from '../src/scenarios/runner.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { RoundRobinStrategy } from '../src/scheduler/strategy.js';

beforeAll(async () => {
  await Machine.ready();
});

const SC = 'cve-2022-39188-pfnmap-munmap';
const ADDR = 0x1000_0000n;

describe('CVE-2022-39188: munmap() of a VM_PFNMAP mapping versus the driver\u2019s unmap_mapping_range()', () => {
  it('buggy (4.14.291): the driver frees its frame and the other CPU writes it through its stale TLB entry; Linux prints nothing', () => {
    const r = runScenarioSync(SC, 'buggy');
    expect(r.outcome).toBe('bug');
    const f = r.findings[0];
    expect(f.sanitizer).toBe('frame-lifetime');
    expect(f.signature).toBe('use-after-free: write through a TLB entry to a free frame in user mode');
    expect(f.log[1]).toMatch(/^BUG: use-after-free of pfn 0x[0-9a-f]+: CPU1 wrote through a TLB entry to a free frame$/);
    expect(f.log[2]).toBe('Write at addr 0000000010000000 (user mode) by task user/2');
    expect(r.dmesg.slice(0, r.dmesg.indexOf(f.log[0]))).toEqual([]);
  });

  it('fixed (4.14.292): unmap_region() flushed before free_pgtables(); the write faults and gets SIGSEGV', () => {
    const r = runScenarioSync(SC, 'fixed');
    expect(r.outcome).toBe('clean');
    expect(r.status).toBe('finished');
    expect(r.dmesg).toEqual(['user[2]: segfault at 10000000 error 6']);
  });

  it('the knob alone makes the difference', () => {
    expect(runScenarioSync(SC, 'fixed', { overrides: { pfnmap_flush_before_unlink: false } }).findings[0]?.sanitizer).toBe('frame-lifetime');
    expect(runScenarioSync(SC, 'buggy', { overrides: { pfnmap_flush_before_unlink: true } }).outcome).toBe('clean');
  });
});

function run(k: Kernel): void {
  const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 20_000 });
  expect(r.finding).toBeUndefined();
  expect(r.status).toBe('finished');
}

describe('remap_pfn_range() mappings of the model driver', () => {
  it('munmap() leaves the driver\u2019s frames allocated (special ptes: no page references); the release frees them; a zapped pte faults with SIGBUS', () => {
    const k = bootLinuxSync(configFromPreset('linux-4.14.292-smp'));
    const dev = new PfnmapDevice('d', 2);
    const seen: { pa?: bigint; flags?: number; afterMunmap?: number; value?: bigint; buf?: number[] } = {};
    const t = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: [],
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        const mm = task.mm!;
        const vma = yield* pfnmap_dev_mmap(k, cpu, mm, dev, ADDR, 2, VM_READ | VM_WRITE);
        seen.flags = vma.vm_flags;
        seen.buf = [...dev.buffer!];
        seen.pa = yield* user_access(cpu, ADDR + 4096n, 'write');
        k.m.phys.write64n(Number(seen.pa), 9n);
        yield* vm_munmap(k, cpu, mm, ADDR, 2n * 4096n);
        seen.afterMunmap = k.m.frames.state(Number(seen.pa >> 12n));
        yield* pfnmap_dev_mmap(k, cpu, mm, dev, ADDR, 2, VM_READ | VM_WRITE); // the same buffer again
        seen.value = k.m.phys.read64n(Number(yield* user_access(cpu, ADDR + 4096n, 'read')));
        yield* pfnmap_dev_free_buffer(k, cpu, dev); // zaps the mapping through i_mmap
        yield* user_access(cpu, ADDR, 'read'); // no ->fault: SIGBUS
      },
    });
    run(k);
    expect(seen.flags! & VM_PFNMAP).toBe(VM_PFNMAP);
    expect(Number(seen.pa! >> 12n)).toBe(seen.buf![1]);
    expect(seen.afterMunmap).toBe(FRAME_STATE.ALLOCATED);
    expect(seen.value).toBe(9n);
    expect(dev.buffer).toBeNull();
    expect(k.m.frames.state(Number(seen.pa! >> 12n))).toBe(FRAME_STATE.FREE);
    expect(t.exitCode).toBe(7);
  });

  it.each([
    ['linux-4.14.292-smp', {}, false],
    ['linux-4.8-smp', {}, false],
    ['linux-4.8-smp', { tlb_flush_nested: false }, true],
  ] as const)(
    '%s %o: a zap that finds the ptes already cleared by another open gather of the mm flushes anyway (4.13+, knob tlb_flush_nested, a backport by default): stale entry left = %s',
    (preset, overrides, stale) => {
      const k = bootLinuxSync(configFromPreset(preset, overrides));
      const dev = new PfnmapDevice('d', 1);
      const seen: { stale?: boolean } = {};
      const p = spawnProcess(k, {
        comm: 'p',
        cpu: 0,
        vmas: [],
        body: function* (task) {
          const cpu = k.cpus[task.cpu];
          const mm = task.mm!;
          yield* pfnmap_dev_mmap(k, cpu, mm, dev, ADDR, 1, VM_READ | VM_WRITE);
          yield* user_access(cpu, ADDR, 'write'); // CPU 0 caches ADDR
          // munmap()'s gather, open: the pte is cleared but not flushed
          const tlb = tlb_gather_mmu(mm, ADDR, ADDR + 4096n);
          yield* unmap_page_range(k, cpu, tlb, ADDR, ADDR + 4096n);
          // the driver's release meanwhile: its zap_page_range_single() finds a none pte
          yield* pfnmap_dev_free_buffer(k, cpu, dev);
          seen.stale = k.cpus[0].hw.tlbEntriesFor(ADDR).some((e) => e.va === ADDR);
          yield* tlb_finish_mmu(k, cpu, tlb);
          mm.vmas.length = 0;
        },
      });
      run(k);
      expect(p.exitCode).toBe(0);
      expect(seen.stale).toBe(stale);
    },
  );
});
