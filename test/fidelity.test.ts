// Source-audit fixes (docs/provenance.md): each test pins a behaviour to the tagged source it
// follows, and fails on the model as it was before the fix.
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { configFromPreset } from '../src/linux/config.js';
import type { Kernel } from '../src/linux/kernel.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import type { LinuxCpu } from '../src/linux/percpu.js';
import { LBL_AFTER_PREV_ACTIVE_MM, schedule_blocked, wake_up_process } from '../src/linux/sched.js';
import { VM_READ, VM_WRITE, type TaskStruct } from '../src/linux/structs.js';
import { spawnKthread, spawnProcess, this_cpu_inc, user_access } from '../src/linux/user.js';
import { alloc_percpu } from '../src/linux/vmalloc.js';
import { lazy_max_pages, vm_map_ram, vm_unmap_aliases, vm_unmap_ram } from '../src/linux/vmap.js';
import { lookup_address, readEntry } from '../src/linux/pgtable.js';
import '../src/presets/xen.js';
import { xenOf } from '../src/linux/xen/index.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { ScriptedStrategy } from '../src/scheduler/strategy.js';
import { actionCode, SLOT_SOURCE0, type KGen } from '../src/scheduler/types.js';

beforeAll(async () => {
  await Machine.ready();
});

const DATA = 0x0060_0000n;
const VMAS = [{ vm_start: DATA, vm_end: DATA + 0x10000n, vm_flags: VM_READ | VM_WRITE }];

describe('item 4: context_switch() stores prev->active_mm = NULL before switch_to()', () => {
  /**
   * A kernel thread on CPU 0 wakes a process whose pgd predates a per-cpu buffer in vmalloc
   * space and sleeps; an NMI lands after `prev->active_mm = NULL` (current is still the kernel
   * thread) and touches the buffer.
   */
  function nmiAfterActiveMmNull(preset: string) {
    const k = bootLinuxSync(configFromPreset(preset));
    const tasks: { user?: TaskStruct; kt?: TaskStruct } = {};
    tasks.user = spawnProcess(k, { comm: 'user', cpu: 0, vmas: VMAS, blocked: true, body: (t) => user_access(k.cpus[t.cpu], DATA, 'write') });
    const counter = k.runSync(alloc_percpu(k, k.cpus[0], 64));
    tasks.kt = spawnKthread(k, 'kworker/0:1', 0, function* (t) {
      const cpu = k.cpus[t.cpu];
      wake_up_process(tasks.user!);
      yield* schedule_blocked(k, cpu);
    });
    const src = k.addInterruptSource({
      name: 'perf-nmi',
      kind: 'nmi',
      cpus: [0],
      remaining: 1,
      handler: function* (c: unknown) {
        yield* this_cpu_inc(k, c as LinuxCpu, counter);
      },
    });
    const cpu0 = k.cpus[0];
    const nmi = actionCode(0, SLOT_SOURCE0 + src);
    const rule = () => (cpu0.curr === tasks.kt && cpu0.label() === LBL_AFTER_PREV_ACTIVE_MM && cpu0.frames.length === 0 ? nmi : undefined);
    const r = new Scheduler(k as Kernel, new ScriptedStrategy([rule])).run({ maxSteps: 20_000 });
    return { k, r };
  }

  it('3.18 (current->active_mm): the NMI dereferences NULL in vmalloc_fault()', () => {
    const { r } = nmiAfterActiveMmNull('linux-3.18-smp');
    expect(r.finding?.sanitizer).toBe('oops');
    expect(r.finding!.log[0]).toBe('BUG: unable to handle kernel NULL pointer dereference at 0000000000000040');
    expect(r.finding!.log).toContain('IP: vmalloc_fault');
  });

  it('4.8 (the pgd in CR3): the same NMI is handled', () => {
    const { r, k } = nmiAfterActiveMmNull('linux-4.8-smp');
    expect(r.finding).toBeUndefined();
    expect(r.trace.filter((c) => c === actionCode(0, SLOT_SOURCE0))).toHaveLength(1);
    expect(k.log.some((l) => l === 'WARNING: CPU: 0 PID: 2 at arch/x86/mm/fault.c:435 vmalloc_fault')).toBe(true);
  });
});

describe('item 6: xen_drop_mm_ref() on the exiting CPU (3.8 arch/x86/xen/mmu.c)', () => {
  it('current->active_mm == mm, current->mm == NULL: leave_mm() takes the CPU off mm_cpumask and loads swapper_pg_dir', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.8-xen-pv', { cpus: 1, smp: true }));
    const p = spawnProcess(k, { comm: 'exiter', cpu: 0, vmas: VMAS, body: (t) => user_access(k.cpus[t.cpu], DATA, 'write') });
    const mm = p.mm!;
    // What the zap of exit_mmap() (after arch_exit_mmap(), before tlb_finish_mmu()) runs on.
    const seen: { cpumask: number; cr3: bigint }[] = [];
    const cpu0 = k.cpus[0];
    const watch = () => {
      if (cpu0.curr === p && cpu0.label() === 'zap_pte_range') seen.push({ cpumask: mm.cpumask, cr3: cpu0.hw.getControl().cr3 });
      return undefined;
    };
    const r = new Scheduler(k as Kernel, new ScriptedStrategy([watch])).run({ maxSteps: 20_000 });
    expect(r.finding).toBeUndefined();
    expect(r.status).toBe('finished');
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s).toEqual({ cpumask: 0, cr3: BigInt(k.init_mm.pgd) });
  });
});

describe('item 2: 2.6.37-rc4 vmap under Xen (vmap_lazy_unmap, vm_unmap_aliases; 2.6.36.4 mm/vmalloc.c)', () => {
  const pteOf = (k: Kernel, va: bigint) => readEntry(k, lookup_address(k, va)!.ptr);
  /** Runs `body` in a kernel thread on CPU 0 under the scheduler (flushes wait for IPIs). */
  function inKthread(k: Kernel, body: (cpu: LinuxCpu) => KGen<void>) {
    spawnKthread(k, 'nfsiod', 0, (t) => body(k.cpus[t.cpu]));
    const r = new Scheduler(k, new ScriptedStrategy([])).run({ maxSteps: 50_000 });
    expect(r.finding).toBeUndefined();
    expect(r.status).toBe('finished');
  }
  /** vm_map_ram() of `n` pages then vm_unmap_ram(); the first pte after it, before and after vm_unmap_aliases(). */
  function mapUnmap(preset: string, n: number, overrides = {}) {
    const k = bootLinuxSync(configFromPreset(preset, overrides));
    const ptes: bigint[] = [];
    inKthread(k, function* (cpu) {
      const addr = yield* vm_map_ram(
        k,
        cpu,
        Array.from({ length: n }, () => k.m.frames.alloc()),
      );
      yield* vm_unmap_ram(k, cpu, addr, n);
      ptes.push(pteOf(k, addr));
      yield* vm_unmap_aliases(k, cpu);
      ptes.push(pteOf(k, addr), pteOf(k, addr + BigInt(n - 1) * 4096n));
    });
    return { k, ptes };
  }

  it('xen_init_mmu_ops() clears vmap_lazy_unmap: lazy_max_pages() is 0 and a large vm_map_ram is purged at vm_unmap_ram()', () => {
    const xen = mapUnmap('linux-2.6.37-rc4-xen-pv', 65); // > VMAP_MAX_ALLOC: its own vmap area
    expect(lazy_max_pages(xen.k)).toBe(0);
    expect(xen.ptes[0]).toBe(0n);
    const native = mapUnmap('linux-2.6.37-rc4-xen-pv', 65, { paravirt: 'native' });
    expect(lazy_max_pages(native.k)).toBe(2 * 8192);
    expect(native.ptes[0]).not.toBe(0n); // pending until lazy_max_pages() pages are freed
    // Commit 64141da5 removed the flag: the fixed Xen kernel has the usual lazy_max_pages().
    expect(lazy_max_pages(mapUnmap('linux-2.6.37-xen-pv', 1).k)).toBe(2 * 8192);
  });

  it('a small vm_unmap_ram() keeps its alias until vm_unmap_aliases() unmaps its dirty region', () => {
    const { ptes } = mapUnmap('linux-2.6.37-rc4-xen-pv', 2);
    expect(ptes[0]).not.toBe(0n); // vb_free(): the region is only marked dirty
    expect(ptes.slice(1)).toEqual([0n, 0n]);
  });
});

describe('item 3: zap_pte_range() holds the pte lock around its lazy MMU section', () => {
  /** The preempt count at every interleaving point inside zap_pte_range() of an exiting process. */
  function preemptCountsInZap(preset: string, overrides = {}) {
    const k = bootLinuxSync(configFromPreset(preset, overrides));
    const p = spawnProcess(k, {
      comm: 'exiter',
      cpu: 0,
      vmas: VMAS,
      body: function* (t) {
        for (let i = 0; i < 4; i++) yield* user_access(k.cpus[t.cpu], DATA + BigInt(i) * 4096n, 'write');
      },
    });
    const cpu0 = k.cpus[0];
    const counts: number[] = [];
    const watch = () => {
      if (cpu0.curr === p && cpu0.label() === 'zap_pte_range' && cpu0.frames.length === 0) counts.push(cpu0.preemptCount);
      return undefined;
    };
    const r = new Scheduler(k as Kernel, new ScriptedStrategy([watch])).run({ maxSteps: 20_000 });
    expect(r.status).toBe('finished');
    return counts;
  }

  it('PREEMPT: preemption is off at every point inside (pte_offset_map_lock() is a spinlock)', () => {
    const counts = preemptCountsInZap('linux-3.18-smp');
    expect(counts.length).toBe(4);
    expect(counts.every((c) => c > 0)).toBe(true);
  });

  it('PREEMPT_RT: the pte lock is a sleeping lock, preemption stays possible', () => {
    const counts = preemptCountsInZap('linux-3.2-rt-up');
    expect(counts.length).toBe(4);
    expect(counts.every((c) => c === 0)).toBe(true);
  });
});

describe('item 5: exit_mmap() frees page tables through the same ___pte_free_tlb() as munmap', () => {
  /** At the first interleaving point after free_pgtables() unhooked a table: is DATA's pte page free? */
  function tableFreedAtUnhook(preset: string, overrides: Record<string, boolean> = {}) {
    const k = bootLinuxSync(configFromPreset(preset, overrides));
    let pte = -1;
    const p = spawnProcess(k, {
      comm: 'exiter',
      cpu: 0,
      vmas: VMAS,
      body: function* (t) {
        yield* user_access(k.cpus[t.cpu], DATA, 'write');
        let table = t.mm!.pgd;
        for (const shift of [39n, 30n, 21n]) table = Number(readEntry(k, table + Number((DATA >> shift) & 511n) * 8) & 0x000f_ffff_ffff_f000n);
        pte = table / 4096;
      },
    });
    const cpu0 = k.cpus[0];
    const seen: boolean[] = [];
    const watch = () => {
      if (cpu0.curr === p && cpu0.label() === 'free_pgtables' && cpu0.frames.length === 0 && seen.length === 0) seen.push(k.m.frames.isFree(pte));
      return undefined;
    };
    const r = new Scheduler(k as Kernel, new ScriptedStrategy([watch])).run({ maxSteps: 20_000 });
    expect(r.status).toBe('finished');
    expect(k.m.frames.isFree(pte)).toBe(true);
    return seen;
  }

  it('4.13 (tlb_remove_page): the pte page waits for tlb_finish_mmu()', () => {
    expect(tableFreedAtUnhook('linux-4.13-smp')).toEqual([false]);
  });

  it('4.14 (HAVE_RCU_TABLE_FREE): tlb_remove_table() with mm_users < 2 frees it at once', () => {
    expect(tableFreedAtUnhook('linux-4.14-smp', { tlb_remove_table_single_user: true })).toEqual([true]);
  });

  it("4.19's removal of that shortcut (linux-4.14-smp's backport): the table waits for the batch", () => {
    expect(tableFreedAtUnhook('linux-4.14-smp')).toEqual([false]);
  });
});

describe('item 8: MMUEXT_NEW_BASEPTR -> new_guest_cr3() -> write_ptbase() -> write_cr3() (Xen 4.1.0)', () => {
  it("a full flush that ticks the TLB clock and stamps the vCPU's flush time", () => {
    const k = bootLinuxSync(configFromPreset('linux-3.9-xen-pv'));
    k.pv.mmu.read_cr3(k, k.cpus[0]); // the first paravirt op boots the Xen side
    const xen = xenOf(k);
    const before = xen.mm.saveState();
    const pgdMfn = xen.guestTable[0]; // swapper_pg_dir, installed at boot
    expect(pgdMfn).not.toBe(0);
    expect(xen.new_guest_cr3(0, pgdMfn)).toBe(true);
    const after = xen.mm.saveState();
    expect(after.tlbClock).toBe(before.tlbClock + 1);
    expect(after.cpuFlushTime[0]).toBe(after.tlbClock);
    expect(after.cpuFlushTime[1]).toBe(before.cpuFlushTime[1]);
  });
});

describe('item 9: no global kernel mappings in a Xen PV guest (Xen 4.1 pv_cpuid, Linux 3.8 xen_start_kernel)', () => {
  /** Maps a page with vm_map_ram, reads it on CPU 0, clears the pte behind the TLB's back, reloads CR3, reads again. */
  function survivesCr3Reload(preset: string) {
    const k = bootLinuxSync(configFromPreset(preset));
    const cpu = k.cpus[0];
    let va = 0n;
    spawnKthread(k, 'mapper', 0, function* () {
      va = yield* vm_map_ram(k, cpu, [k.m.frames.alloc()]);
    });
    const r = new Scheduler(k, new ScriptedStrategy([])).run({ maxSteps: 20_000 });
    expect(r.status).toBe('finished');
    const ptep = lookup_address(k, va)!.ptr;
    const pte = readEntry(k, ptep);
    expect(cpu.hw.access(va, { kind: 'read', cpl: 0 }).ok).toBe(true);
    k.m.phys.write64n(ptep, 0n);
    cpu.hw.setControl({ cr3: cpu.hw.getControl().cr3 });
    return { pte, cr4: cpu.hw.getControl().cr4, stillReadable: cpu.hw.access(va, { kind: 'read', cpl: 0 }).ok };
  }

  it('native: G on PAGE_KERNEL ptes, CR4.PGE set, the TLB entry survives a CR3 reload', () => {
    const r = survivesCr3Reload('linux-3.9-smp');
    expect(r.pte & 0x100n).toBe(0x100n);
    expect(r.cr4 & (1n << 7n)).toBe(1n << 7n);
    expect(r.stillReadable).toBe(true);
  });

  it('Xen PV: no G, no CR4.PGE, a CR3 reload drops the entry', () => {
    const r = survivesCr3Reload('linux-3.9-xen-pv');
    expect(r.pte & 0x100n).toBe(0n);
    expect(r.cr4 & (1n << 7n)).toBe(0n);
    expect(r.stillReadable).toBe(false);
  });
});
