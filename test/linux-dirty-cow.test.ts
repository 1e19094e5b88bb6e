/**
 * CVE-2016-5195, Dirty COW (docs/historical-bugs.md): the scenario before and after 19be0eaffa3a
 * (4.8.3), and the paths it needs: private file mappings (do_cow_fault(), do_wp_page()'s copy of
 * a page-cache page), madvise(MADV_DONTNEED), the slow get_user_pages() and /proc/self/mem.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { configFromPreset } from '../src/linux/config.js';
import { mem_write } from '../src/linux/gup_slow.js';
import { sys_madvise_dontneed } from '../src/linux/madvise.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { mmap_region_file } from '../src/linux/mmap.js';
import { LinuxFile, VM_READ } from '../src/linux/structs.js';
import { spawnProcess, user_access } from '../src/linux/user.js';
import { DIRTY_COW_VALUE } from '../src/scenarios/dirty_cow.js';
import { runScenarioSync } from '../src/scenarios/runner.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { RoundRobinStrategy } from '../src/scheduler/strategy.js';

beforeAll(async () => {
  await Machine.ready();
});

const SC = 'cve-2016-5195-dirty-cow';
const ADDR = 0x1000_0000n;

describe('CVE-2016-5195 (Dirty COW): a FOLL_FORCE write racing madvise(MADV_DONTNEED)', () => {
  it('buggy (4.8.2): the retried lookup is a read; the write reaches the page-cache page of the read-only file', () => {
    const r = runScenarioSync(SC, 'buggy');
    expect(r.outcome).toBe('bug');
    const f = r.findings[0];
    expect(f.sanitizer).toBe('cow-violation');
    expect(f.signature).toBe('FOLL_FORCE write through a private mapping reached a page-cache page');
    expect(f.log[1]).toBe('BUG: cow-violation: a write through the private read-only mapping at 0x10000000 reached the page cache of file ro');
    expect(r.dmesg.slice(0, r.dmesg.indexOf(f.log[0]))).toEqual([]);
  });

  it('fixed (4.8.3): FOLL_COW keeps the retry a write lookup, which copies again; clean', () => {
    const r = runScenarioSync(SC, 'fixed');
    expect(r.outcome).toBe('clean');
    expect(r.status).toBe('finished');
    expect(r.dmesg).toEqual([]);
  });

  it('the knob alone makes the difference', () => {
    expect(runScenarioSync(SC, 'fixed', { overrides: { gup_foll_cow: false } }).findings[0]?.sanitizer).toBe('cow-violation');
    expect(runScenarioSync(SC, 'buggy', { overrides: { gup_foll_cow: true } }).outcome).toBe('clean');
  });

  it.each(['linux-4.8.2-smp', 'linux-4.8.3-smp'])(
    '%s without the race: the write goes to an anonymous copy, the file keeps its data, MADV_DONTNEED brings the file page back',
    (preset) => {
      const k = bootLinuxSync(configFromPreset(preset));
      const file = new LinuxFile('ro', 4096n);
      const seen: { cache?: number; copy?: bigint; readCopy?: bigint; afterDontneed?: bigint; ret?: number } = {};
      const t = spawnProcess(k, {
        comm: 'p',
        cpu: 0,
        vmas: [],
        body: function* (task) {
          const cpu = k.cpus[task.cpu];
          const mm = task.mm!;
          yield* mmap_region_file(k, cpu, mm, file, ADDR, 4096n, VM_READ, 0, false);
          seen.cache = Number((yield* user_access(cpu, ADDR, 'read')) >> 12n);
          k.m.phys.write64n(seen.cache * 4096, 7n); // the file's data
          seen.ret = yield* mem_write(k, cpu, mm, ADDR, DIRTY_COW_VALUE);
          const pa = yield* user_access(cpu, ADDR, 'read');
          seen.copy = pa >> 12n;
          seen.readCopy = k.m.phys.read64n(Number(pa));
          yield* sys_madvise_dontneed(k, cpu, mm, ADDR, 4096n);
          seen.afterDontneed = k.m.phys.read64n(Number(yield* user_access(cpu, ADDR, 'read')));
        },
      });
      const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 20_000 });
      expect(r.finding).toBeUndefined();
      expect(t.exitCode).toBe(0);
      expect(seen.ret).toBe(8);
      expect(seen.copy).not.toBe(BigInt(seen.cache!));
      expect(seen.readCopy).toBe(DIRTY_COW_VALUE);
      expect(k.m.phys.read64n(seen.cache! * 4096)).toBe(7n);
      expect(seen.afterDontneed).toBe(7n);
    },
  );
});
