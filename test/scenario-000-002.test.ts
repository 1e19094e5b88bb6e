/**
 * Seeds 000, 001 and 002 reproduced: every buggy variant reports the right sanitizer with the
 * seed's message, every fixed variant (and the native variants) runs clean, and replaying a
 * recorded trace gives the same run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { runScenarioSync } from '../src/scenarios/runner.js';
import { listScenarios } from '../src/scenarios/index.js';
import { xenOf } from '../src/linux/xen/index.js';
import { gupStats } from '../src/linux/gup.js';
import { rcu_completed, rcu_pending } from '../src/linux/rcupdate.js';
import { faultStats } from '../src/linux/fault.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { configFromPreset } from '../src/linux/config.js';
import { scenario000exit } from '../src/scenarios/s000.js';
import { RoundRobinStrategy, Scheduler } from '../src/scheduler/index.js';

beforeAll(async () => {
  await Machine.ready();
});

describe('seed 000: vmalloc_fault under lazy MMU mode (Xen PV)', () => {
  it("buggy (3.8 Xen PV): kernel BUG at fault.c:397 (3.8's line of the seed's 3.6.10 BUG at 396) with vmalloc_fault in the chain", () => {
    const r = runScenarioSync('000-vmalloc-fault-lazy-mmu', 'buggy');
    expect(r.outcome).toBe('bug');
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f.sanitizer).toBe('kernel-bug');
    expect(f.log).toContain('kernel BUG at arch/x86/mm/fault.c:397!');
    const trace = f.log.slice(f.log.indexOf('Call Trace:') + 1).map((l) => l.trim());
    expect(trace.slice(0, 6)).toEqual([
      'vmalloc_fault',
      'do_page_fault',
      'mem_cgroup_charge_statistics',
      '__mem_cgroup_uncharge_common',
      'mem_cgroup_uncharge_page',
      'page_remove_rmap',
    ]);
    expect(trace).toContain('zap_pte_range');
    // The set_pgd() was queued, not issued: the pgd entry in RAM is still empty.
    expect(xenOf(r.kernel).stats.multicalls).toBeGreaterThan(0);
  });

  it('fixed (3.9 Xen PV, arch_flush_lazy_mmu_mode after set_pgd): clean, the vmalloc fault was taken and handled', () => {
    const r = runScenarioSync('000-vmalloc-fault-lazy-mmu', 'fixed');
    expect(r.outcome).toBe('clean');
    expect(r.status).toBe('finished');
    expect(faultStats(r.kernel).vmallocSyncs).toBeGreaterThan(0);
    expect(xenOf(r.kernel).refusals).toEqual([]);
  });

  it('native with the buggy vmalloc_fault (3.8) and with the fix: clean', () => {
    for (const v of ['buggy', 'fixed'] as const) {
      const r = runScenarioSync('000-vmalloc-fault-lazy-mmu-native', v);
      expect(r.outcome).toBe('clean');
      expect(faultStats(r.kernel).vmallocSyncs).toBeGreaterThan(0);
    }
  });
});

describe("seed 000 on the seed's own path: exit, cond_resched() in unmap_vmas, a borrowed mm (Xen PV)", () => {
  const chain = [
    'vmalloc_fault',
    'do_page_fault',
    'mem_cgroup_charge_statistics',
    '__mem_cgroup_uncharge_common',
    'mem_cgroup_uncharge_page',
    'page_remove_rmap',
    'zap_pte_range',
    'unmap_single_vma',
    'unmap_vmas',
    'exit_mmap',
    'mmput',
    'exit_mm',
    'do_exit',
    'do_group_exit',
    'sys_exit_group',
    'system_call_fastpath',
  ];

  it("buggy (3.8 Xen PV): kernel BUG at fault.c:397 in the exiting task, with the seed's call chain, on the borrowed mm", () => {
    const r = runScenarioSync('000-vmalloc-fault-lazy-mmu-exit', 'buggy');
    expect(r.outcome).toBe('bug');
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f.sanitizer).toBe('kernel-bug');
    expect(f.log).toContain('kernel BUG at arch/x86/mm/fault.c:397!');
    expect(f.log).toContain('Pid: 1, comm: httpd Not tainted 3.8.0 #1');
    const trace = f.log.slice(f.log.indexOf('Call Trace:') + 1).map((l) => l.trim());
    expect(trace).toEqual(chain);
    // The exiting task has no mm and runs on the other process's mm, whose pgd is in CR3.
    const cpu = r.kernel.cpus[1];
    const t = cpu.curr;
    const other = cpu.tasks.find((x) => x !== t && !x.idle)!;
    expect(t.exiting).toBe(true);
    expect(t.mm).toBeNull();
    expect(t.active_mm).toBe(other.mm);
    expect(cpu.hw.getControl().cr3 & ~0xfffn).toBe(BigInt(other.mm!.pgd));
    expect(cpu.lazyMode).toBe('mmu');
  });

  it('the same exit without the reschedule is clean on 3.8 Xen PV: xen_exit_mmap() left the dying mm for swapper_pg_dir', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.8-xen-pv'));
    scenario000exit.setup(k, 'buggy');
    const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 20_000 });
    expect(r.finding).toBeUndefined();
    expect(r.status).toBe('finished');
    expect(faultStats(k).vmallocSyncs).toBe(0);
  });

  it('fixed (3.9 Xen PV): clean; the fault on the borrowed pgd was synced and issued', () => {
    const r = runScenarioSync('000-vmalloc-fault-lazy-mmu-exit', 'fixed');
    expect(r.outcome).toBe('clean');
    expect(r.status).toBe('finished');
    expect(faultStats(r.kernel).vmallocSyncs).toBe(1);
    expect(xenOf(r.kernel).refusals).toEqual([]);
  });

  it('native 3.8 and 3.9: clean', () => {
    for (const v of ['buggy', 'fixed'] as const) {
      const r = runScenarioSync('000-vmalloc-fault-lazy-mmu-exit-native', v);
      expect(r.outcome).toBe('clean');
      expect(r.status).toBe('finished');
      expect(faultStats(r.kernel).vmallocSyncs).toBeGreaterThan(0);
    }
  });
});

describe('seed 001: vm_unmap_ram aliases and Xen pinning', () => {
  it("buggy (2.6.37-rc4): Xen refuses the pud and the L1 pin with the seed's log lines; the guest BUG()s", () => {
    const r = runScenarioSync('001-vunmap-lazy-xen-pin', 'buggy');
    expect(r.outcome).toBe('bug');
    const f = r.findings[0];
    expect(f.sanitizer).toBe('xen-refusal');
    expect(f.signature).toBe('Xen refused MMUEXT_PIN_L1_TABLE: Bad type (writable != l1) -> kernel BUG at arch/x86/xen/mmu.c:1831');
    const xen = f.log.filter((l) => l.startsWith('(XEN)'));
    expect(xen).toHaveLength(4);
    expect(xen[0]).toMatch(/^\(XEN\) mm\.c:2389:d80 Bad type \(saw 7400000000000001 != exp 3000000000000000\) for mfn [0-9a-f]+ \(pfn [0-9a-f]+\)$/);
    expect(xen[1]).toBe('(XEN) mm.c:964:d80 Attempt to create linear p.t. with write perms');
    expect(xen[2]).toMatch(/^\(XEN\) mm\.c:2389:d80 Bad type \(saw 7400000000000010 != exp 1000000000000000\) for mfn ([0-9a-f]+) \(pfn [0-9a-f]+\)$/);
    const mfn = /for mfn ([0-9a-f]+)/.exec(xen[2])![1];
    expect(xen[3]).toBe(`(XEN) mm.c:2965:d80 Error while pinning mfn ${mfn}`);
    expect(f.log).toContain('kernel BUG at arch/x86/xen/mmu.c:1831!');
    expect(f.log.slice(f.log.indexOf('Call Trace:') + 1, f.log.indexOf('Call Trace:') + 3).map((l) => l.trim())).toEqual([
      'pin_pagetable_pfn',
      'xen_alloc_ptpage',
    ]);
    // The refused set_pgd() was reported by xen_mc_flush() and WARNed, as 2.6.37 does.
    expect(r.dmesg).toContain('1 multicall(s) failed: cpu 0');
    expect(r.dmesg).toContain('WARNING: at arch/x86/xen/multicalls.c:182 xen_mc_flush()');
  });

  it('fixed (2.6.37, eager pte clear): clean; Xen flushed the stale vmap TLB entries itself on the type changes', () => {
    const r = runScenarioSync('001-vunmap-lazy-xen-pin', 'fixed');
    expect(r.outcome).toBe('clean');
    const xen = xenOf(r.kernel);
    expect(xen.console.text()).toEqual([]);
    expect(xen.refusals).toEqual([]);
    expect(xen.stats.typeChangeFlushes).toBeGreaterThan(0);
  });

  it('with a shuffled p2m Xen prints the guest pfn of each machine frame', () => {
    const r = runScenarioSync('001-vunmap-lazy-xen-pin', 'buggy', { overrides: { xen_p2m: 'shuffled', xen_p2m_seed: 5 } });
    const xen = xenOf(r.kernel);
    const line = r.findings[0].log.find((l) => l.includes('exp 1000000000000000'))!;
    const [, mfn, pfn] = /for mfn ([0-9a-f]+) \(pfn ([0-9a-f]+)\)/.exec(line)!;
    expect(parseInt(pfn, 16)).toBe(xen.p2m.mfnToPfn(parseInt(mfn, 16)));
    expect(pfn).not.toBe(mfn);
  });

  it('the same program with the eager-clear knob off on 2.6.37 fails again (the knob is the fix)', () => {
    const r = runScenarioSync('001-vunmap-lazy-xen-pin', 'fixed', { overrides: { vunmap_clear_ptes: 'lazy-purge' } });
    expect(r.findings[0]?.sanitizer).toBe('xen-refusal');
  });
});

describe('seed 002: GUP-fast against page-table freeing', () => {
  it('native IPI flush with tlb_remove_page (4.13): clean, the unmapper waited for the walker', () => {
    const r = runScenarioSync('002-gup-fast-pt-free-native', 'buggy');
    expect(r.outcome).toBe('clean');
    // The ptes were already zapped when the walker read them (it falls back to the slow path),
    // but the pte page itself was still allocated: its free waited for the IPI.
    expect(gupStats(r.kernel)).toEqual({ pinned: 0, slowPath: 1 });
  });

  it('Xen PV hypercall flush with tlb_remove_page (4.13): page-table use-after-free in GUP-fast', () => {
    const r = runScenarioSync('002-gup-fast-pt-free', 'buggy');
    expect(r.outcome).toBe('bug');
    const f = r.findings[0];
    expect(f.sanitizer).toBe('pt-use-after-free');
    expect(f.signature).toBe('page-table use-after-free in gup_pte_range (freed in free_pages_and_swap_cache)');
    expect(f.log[1]).toBe('BUG: KASAN: use-after-free in gup_pte_range');
    expect(f.log.join('\n')).toMatch(
      /freed by CPU 1 while the walk was in progress:\n {2}free_pages_and_swap_cache\n {2}tlb_flush_mmu\n {2}tlb_finish_mmu\n {2}unmap_region/,
    );
  });

  it('Xen PV with HAVE_RCU_TABLE_FREE (4.14): clean, and the tables were freed after the grace period', () => {
    const r = runScenarioSync('002-gup-fast-pt-free', 'fixed');
    expect(r.outcome).toBe('clean');
    expect(gupStats(r.kernel)).toEqual({ pinned: 0, slowPath: 1 });
    expect(rcu_completed(r.kernel)).toBeGreaterThan(0);
    expect(rcu_pending(r.kernel)).toBe(0);
    // The whole life of the process (pins, updates, unpin at exit) was accepted by Xen.
    expect(xenOf(r.kernel).refusals).toEqual([]);
    expect(xenOf(r.kernel).stats.multicalls).toBeGreaterThan(0);
  });

  it('Hyper-V-like hypercall flush: use-after-free with tlb_remove_page, clean with RCU table free', () => {
    expect(runScenarioSync('002-gup-fast-pt-free-hyperv', 'buggy').findings[0]?.sanitizer).toBe('pt-use-after-free');
    expect(runScenarioSync('002-gup-fast-pt-free-hyperv', 'fixed').outcome).toBe('clean');
  });

  it('native with RCU table free (4.14): clean', () => {
    expect(runScenarioSync('002-gup-fast-pt-free-native', 'fixed').outcome).toBe('clean');
  });
});

describe('scenario registry and replay', () => {
  it('lists the seed 000-002 scenarios with their seed files and presets', () => {
    const byName = new Map(listScenarios().map((s) => [s.name, s]));
    expect(byName.get('000-vmalloc-fault-lazy-mmu')?.presets).toEqual({ buggy: 'linux-3.8-xen-pv', fixed: 'linux-3.9-xen-pv' });
    expect(byName.get('000-vmalloc-fault-lazy-mmu-exit')?.presets).toEqual({ buggy: 'linux-3.8-xen-pv', fixed: 'linux-3.9-xen-pv' });
    expect(byName.get('000-vmalloc-fault-lazy-mmu-exit')?.seed).toBe('000_e3947c68dc09f949.txt');
    expect(byName.get('001-vunmap-lazy-xen-pin')?.seed).toBe('001_e78b0d52e09d8215.txt');
    expect(byName.get('002-gup-fast-pt-free')?.presets).toEqual({ buggy: 'linux-4.13-xen-pv', fixed: 'linux-4.14-xen-pv' });
  });

  it('replaying the recorded trace of a buggy run reproduces it exactly', () => {
    for (const name of ['000-vmalloc-fault-lazy-mmu', '000-vmalloc-fault-lazy-mmu-exit', '001-vunmap-lazy-xen-pin', '002-gup-fast-pt-free']) {
      const a = runScenarioSync(name, 'buggy');
      const b = runScenarioSync(name, 'buggy', { trace: a.trace });
      expect(b.findings).toEqual(a.findings);
      expect(b.trace).toEqual(a.trace);
      expect(b.dmesg).toEqual(a.dmesg);
    }
  });
});
