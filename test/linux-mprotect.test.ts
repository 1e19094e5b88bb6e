// mprotect() in the Linux model (src/linux/mprotect.ts, mm/mprotect.c 3.8-3.17): vma flags and
// ptes change, a write to a now read-only range is a SIGSEGV with error code 7, other CPUs lose
// their TLB entries through flush_tlb_range(), Xen PV gets the pte updates as mmu_update
// hypercalls, R->RW makes a write succeed through do_wp_page(); and the fuzzer's mprotect op.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Cpu } from '../src/core/cpu.js';
import { Machine } from '../src/core/machine.js';
import { Coverage } from '../src/fuzz/coverage.js';
import { parseProgram, type Program } from '../src/fuzz/program.js';
import { createTarget } from '../src/fuzz/targets.js';
import { configFromPreset } from '../src/linux/config.js';
import { _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW } from '../src/linux/constants.js';
import type { Kernel } from '../src/linux/kernel.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { sys_mprotect } from '../src/linux/mprotect.js';
import type { LinuxCpu } from '../src/linux/percpu.js';
import { pgd_offset, pmd_offset, pte_offset_kernel, pud_offset, readEntry } from '../src/linux/pgtable.js';
import { VM_READ, VM_WRITE, type MmStruct, type TaskStruct } from '../src/linux/structs.js';
import { xenOf, xenState } from '../src/linux/xen/state.js';
import { LBL_USER, spawnProcess, user_access } from '../src/linux/user.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { RoundRobinStrategy } from '../src/scheduler/strategy.js';
import { PGT_writable_page } from '../src/xen/hypervisor.js';

beforeAll(async () => {
  await Machine.ready();
});

const DATA = 0x0060_0000n;
const PAGES = 4n;
const RW = VM_READ | VM_WRITE;
const vmas = (flags: number) => [{ vm_start: DATA, vm_end: DATA + PAGES * 4096n, vm_flags: flags }];

/** The pte of `va` in `mm` (the tables exist). */
function pteOf(k: Kernel, mm: MmStruct, va: bigint): bigint {
  const pmdp = pmd_offset(k, pud_offset(k, pgd_offset(k, mm, va), va), va);
  return readEntry(k, pte_offset_kernel(k, pmdp, va));
}

function run(k: Kernel): void {
  const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 20_000 });
  expect(r.finding).toBeUndefined();
  expect(r.status).toBe('finished');
}

describe('sys_mprotect', () => {
  it('RW -> R: the ptes lose RW; a user write faults with error code 7 and the task gets SIGSEGV', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp'));
    const seen: { rc?: number; before?: bigint; after?: bigint } = {};
    const t = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: vmas(RW),
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        yield* user_access(cpu, DATA + 4096n, 'write');
        seen.before = pteOf(k, task.mm!, DATA + 4096n);
        seen.rc = yield* sys_mprotect(k, cpu, task.mm!, DATA, PAGES * 4096n, VM_READ);
        seen.after = pteOf(k, task.mm!, DATA + 4096n);
        yield* user_access(cpu, DATA + 4096n, 'read'); // still readable
        yield* user_access(cpu, DATA + 4096n, 'write'); // SIGSEGV
        seen.rc = 99; // never reached
      },
    });
    run(k);
    expect(seen.before! & _PAGE_RW).toBe(_PAGE_RW);
    expect(seen.rc).toBe(0);
    expect(seen.after! & (_PAGE_RW | _PAGE_PRESENT)).toBe(_PAGE_PRESENT);
    expect(seen.after! & ~0xfffn).toBe(seen.before! & ~0xfffn); // same page, dirty bit kept
    expect(seen.after! & _PAGE_DIRTY).toBe(_PAGE_DIRTY);
    expect(t.exitCode).toBe(11);
    expect(k.log).toContain(`p[${t.pid}]: segfault at ${(DATA + 4096n).toString(16)} error 7`);
  });

  it('R -> RW: a later write succeeds (do_wp_page reuses the page mapped once) on the page read before', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp'));
    const seen: { readPa?: bigint; writePa?: bigint; ro?: bigint; rw?: bigint } = {};
    const t = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: vmas(VM_READ),
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        seen.readPa = yield* user_access(cpu, DATA, 'read');
        expect(yield* sys_mprotect(k, cpu, task.mm!, DATA, PAGES * 4096n, RW)).toBe(0);
        seen.ro = pteOf(k, task.mm!, DATA);
        seen.writePa = yield* user_access(cpu, DATA, 'write');
        seen.rw = pteOf(k, task.mm!, DATA);
      },
    });
    run(k);
    expect(t.exitCode).toBe(0);
    expect(k.log.some((l) => l.includes('segfault'))).toBe(false);
    expect(seen.ro! & _PAGE_RW).toBe(0n); // PAGE_COPY: private mappings are never RW by vm_page_prot
    expect(seen.rw! & (_PAGE_RW | _PAGE_DIRTY)).toBe(_PAGE_RW | _PAGE_DIRTY);
    expect(seen.writePa).toBe(seen.readPa);
  });

  it('a range inside a vma splits it: only the middle pages change', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp'));
    let split: bigint[][] = [];
    const t = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: vmas(RW),
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        expect(yield* sys_mprotect(k, cpu, task.mm!, DATA + 4096n, 8192n, VM_READ)).toBe(0);
        split = task.mm!.vmas.map((v) => [v.vm_start - DATA, v.vm_end - DATA, BigInt(v.vm_flags)]);
        yield* user_access(cpu, DATA, 'write');
        yield* user_access(cpu, DATA + 3n * 4096n, 'write');
        yield* user_access(cpu, DATA + 2n * 4096n, 'write'); // SIGSEGV
      },
    });
    run(k);
    expect(split.sort((a, b) => Number(a[0] - b[0]))).toEqual([
      [0n, 0x1000n, BigInt(RW)],
      [0x1000n, 0x3000n, BigInt(VM_READ)],
      [0x3000n, 0x4000n, BigInt(RW)],
    ]);
    expect(t.exitCode).toBe(11);
    // The page was never faulted in: a write to a not-present pte of a read-only vma (error 6).
    expect(k.log).toContain(`p[${t.pid}]: segfault at ${(DATA + 0x2000n).toString(16)} error 6`);
  });

  it('returns -ENOMEM for an unmapped range and -EINVAL for an unaligned start', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp'));
    const rcs: number[] = [];
    spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: vmas(RW),
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        rcs.push(yield* sys_mprotect(k, cpu, task.mm!, DATA + PAGES * 4096n, 4096n, VM_READ));
        rcs.push(yield* sys_mprotect(k, cpu, task.mm!, DATA + 1n, 4096n, VM_READ));
      },
    });
    run(k);
    expect(rcs).toEqual([-12, -22]);
  });

  it('flush_tlb_range(): another CPU running the same mm loses its TLB entry of the page', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp'));
    const st = { touched: false, done: false, remoteBefore: false, remoteAfter: true };
    const remote = k.cpus[1].hw as unknown as Cpu;
    const cached = () => remote.tlbEntries().some((e) => e.va === DATA && e.writable);
    const a = spawnProcess(k, {
      comm: 'a',
      cpu: 0,
      vmas: vmas(RW),
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        while (!st.touched) yield 'wait';
        st.remoteBefore = cached();
        expect(yield* sys_mprotect(k, cpu, task.mm!, DATA, PAGES * 4096n, VM_READ)).toBe(0);
        st.remoteAfter = remote.tlbEntries().some((e) => e.va === DATA);
        st.done = true;
      },
    });
    // A thread of a's process on CPU 1 (clone(CLONE_VM)): it writes the page, then runs in user mode.
    a.mm!.mm_users++;
    k.createTask('b', 1, a.mm!, function* (task: TaskStruct) {
      const cpu: LinuxCpu = k.cpus[task.cpu];
      yield* user_access(cpu, DATA, 'write');
      st.touched = true;
      // User mode (interrupts on) without touching the page again until a's check is done.
      while (!st.done) {
        task.userMode = true;
        yield LBL_USER;
        task.userMode = false;
      }
    });
    run(k);
    expect(st.remoteBefore).toBe(true);
    expect(st.remoteAfter).toBe(false);
  });

  it('Xen PV: the pte updates are mmu_update hypercalls (PRESERVE_AD, batched in lazy MMU mode); Xen drops a writable type reference of each page', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.8-xen-pv'));
    const xen = xenOf(k);
    const seen: { pfns: number[]; updates?: number; batches?: number; countsBefore: number[]; after?: bigint } = { pfns: [], countsBefore: [] };
    spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: vmas(RW),
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        for (let i = 0n; i < 2n; i++) seen.pfns.push(Number((yield* user_access(cpu, DATA + i * 4096n, 'write')) >> 12n));
        for (const pfn of seen.pfns) {
          expect(xen.typeOf(pfn).type).toBe(PGT_writable_page);
          seen.countsBefore.push(xen.typeOf(pfn).count);
        }
        const u0 = xen.stats.mmuUpdates;
        const b0 = xenState(k).batchesIssued;
        expect(yield* sys_mprotect(k, cpu, task.mm!, DATA, PAGES * 4096n, VM_READ)).toBe(0);
        seen.updates = xen.stats.mmuUpdates - u0;
        seen.batches = xenState(k).batchesIssued - b0;
        seen.after = pteOf(k, task.mm!, DATA);
      },
    });
    run(k);
    expect(seen.updates).toBe(2);
    // One multicall for both ptes (arch_leave_lazy_mmu_mode), then one INVLPG per page of the range (flush_tlb_range).
    expect(seen.batches).toBe(1 + Number(PAGES));
    // Each user pte was one writable reference of its page (the kernel's direct map holds another).
    expect(seen.pfns.map((pfn) => xen.typeOf(pfn).count)).toEqual(seen.countsBefore.map((c) => c - 1));
    expect(seen.after! & _PAGE_RW).toBe(0n);
    expect(xen.refusals).toEqual([]);
  });
});

describe('the fuzzer: mprotect op', () => {
  const program = (prot: 'r' | 'rw'): Program =>
    parseProgram(
      {
        cpus: 1,
        irqs: [],
        tasks: [
          {
            cpu: 0,
            kthread: false,
            spawn: 'boot',
            ops: [
              { op: 'mmap', slot: 0, pages: 2, prot: 'rw', populate: true },
              { op: 'mprotect', slot: 0, prot },
              { op: 'uaccess', slot: 0, page: 1, kind: 'write' },
              { op: 'uaccess', slot: 0, page: 0, kind: 'read' },
            ],
          },
        ],
      },
      'program',
      2,
    );

  it.each([
    ['r', 2],
    ['rw', 4],
  ] as const)('mprotect to %s: the later accesses that run: %i (a write to a read-only range kills the task)', async (prot, accesses) => {
    const target = await createTarget('linux-3.18-smp');
    const r = target.run({ program: program(prot), schedule: { strategy: 'random', seed: 1 }, explain: true }, new Coverage());
    expect(r.finding).toBeUndefined();
    expect(r.status).toBe('finished');
    const texts = r.events!.map((e) => e.text);
    expect(texts.some((s) => s.endsWith(`mprotect slot=0 prot=${prot}`))).toBe(true);
    expect(texts.filter((s) => s.startsWith('user ')).length).toBe(accesses);
  });

  it('rejects a bad prot in a trace', () => {
    expect(() =>
      parseProgram({ cpus: 1, irqs: [], tasks: [{ cpu: 0, kthread: false, spawn: 'boot', ops: [{ op: 'mprotect', slot: 0, prot: 'w' }] }] }, 'program', 2),
    ).toThrow(/program\.tasks\[0\]\.ops\[0\]\.prot/);
  });
});
