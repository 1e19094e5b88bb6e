/**
 * RCU table freeing without invalidating the paging-structure caches (docs/historical-bugs.md):
 * tlb_remove_table()'s batch page allocation fails (fault injection), tlb_remove_table_one() frees
 * the pte page before any TLB flush (4.14-4.18), and another thread's walk starts at its CPU's
 * cached pmd entry and reads the freed page; 4.19's tlb_table_invalidate() flushes first.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { configFromPreset } from '../src/linux/config.js';
import { Kernel } from '../src/linux/kernel.js';
import { machineOptionsFor } from '../src/linux/machine.js';
import { __get_free_page, GFP_NOWAIT, proc_fail_nth_write } from '../src/linux/page_alloc.js';
import { runScenarioSync } from '../src/scenarios/runner.js';
import { parseOp } from '../src/fuzz/program.js';

beforeAll(async () => {
  await Machine.ready();
});

describe('rcu-table-free-no-invalidate', () => {
  it('buggy (4.17): the other CPU walks the pte page that tlb_remove_table_one() freed, through its paging-structure cache', () => {
    const r = runScenarioSync('rcu-table-free-no-invalidate', 'buggy');
    expect(r.outcome).toBe('bug');
    const f = r.findings[0];
    expect(f.sanitizer).toBe('pt-use-after-free');
    expect(f.signature).toBe('page-table use-after-free in hardware page walk (freed in __tlb_remove_table)');
    expect(f.log[1]).toBe('BUG: KASAN: use-after-free in hardware page walk');
    expect(f.log[2]).toMatch(/^pagewalk: page-table use-after-free: hardware page walk on CPU 1 read the entry at pa 0x[0-9a-f]+ in frame 0x[0-9a-f]+$/);
    const chain = f.log
      .slice(
        f.log.findIndex((l) => l.includes('was freed by CPU 0')) + 1,
        f.log.findIndex((l) => l.includes('began below CR3')),
      )
      .map((l) => l.trim());
    expect(chain).toEqual(['__tlb_remove_table', 'tlb_remove_table_one', 'free_pgtables', 'unmap_region', 'do_munmap', 'sys_munmap']);
    expect(f.log.some((l) => l.includes('a paging-structure-cache entry gave it the table'))).toBe(true);
  });

  it('fixed (4.19): tlb_table_invalidate() flushed first; the access faults on the cleared pmd and the thread gets SIGSEGV', () => {
    const r = runScenarioSync('rcu-table-free-no-invalidate', 'fixed');
    expect(r.outcome).toBe('clean');
    expect(r.status).toBe('finished');
    expect(r.dmesg).toContain('toucher[1]: segfault at 8000001000 error 4');
  });

  it('the 4.19 invalidate alone closes it on 4.17, and the 4.14 stable preset without its backport has the bug', () => {
    expect(runScenarioSync('rcu-table-free-no-invalidate', 'buggy', { overrides: { tlb_table_invalidate: true } }).outcome).toBe('clean');
    const old = runScenarioSync('rcu-table-free-no-invalidate', 'fixed', {
      overrides: { version: '4.14.0', tlb_table_invalidate: false, tlb_remove_table_single_user: true },
    });
    expect(old.findings[0]?.sanitizer).toBe('pt-use-after-free');
  });
});

describe('fault injection (fail-nth)', () => {
  it('fails the n-th non-sleeping allocation of the task, then none', () => {
    const config = configFromPreset('linux-4.17-hyperv');
    const m = Machine.createSync(machineOptionsFor(config));
    const k = Kernel.boot(m, config);
    const cpu = k.cpus[0];
    proc_fail_nth_write(cpu.curr, 2);
    const a = __get_free_page(k, cpu, GFP_NOWAIT);
    expect(a).not.toBeNull();
    expect(__get_free_page(k, cpu, GFP_NOWAIT)).toBeNull();
    expect(cpu.curr.fail_nth).toBe(0);
    expect(__get_free_page(k, cpu, GFP_NOWAIT)).not.toBeNull();
  });

  it('the fuzz operation validates its count', () => {
    expect(parseOp({ op: 'fail_nth', n: 2 }, 'op', 1)).toEqual({ op: 'fail_nth', n: 2 });
    expect(() => parseOp({ op: 'fail_nth', n: 0 }, 'op', 1)).toThrow(/op\.n: expected an integer in 1\.\.4/);
  });
});
