// Copy-on-write fork in the Linux model (src/linux/fork.ts, page.ts, memory.ts do_wp_page):
// copy_page_range() write-protects parent and child and raises the page's counts; a write copies
// the page (or reuses it once it is mapped once); flush_tlb_mm(oldmm) removes other CPUs'
// writable entries; exit or munmap of one side never frees a page the other still maps; Xen PV
// validates all of it without a refusal.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Cpu } from '../src/core/cpu.js';
import { Machine } from '../src/core/machine.js';
import { Coverage } from '../src/fuzz/coverage.js';
import { parseProgram } from '../src/fuzz/program.js';
import { createTarget } from '../src/fuzz/targets.js';
import { configFromPreset } from '../src/linux/config.js';
import { _PAGE_DIRTY, _PAGE_RW } from '../src/linux/constants.js';
import { dup_mmap } from '../src/linux/fork.js';
import type { Kernel } from '../src/linux/kernel.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { mm_alloc } from '../src/linux/mm.js';
import { pte_alloc_walk } from '../src/linux/memory.js';
import { spin_lock, spin_unlock } from '../src/linux/spinlock.js';
import { do_munmap } from '../src/linux/mmap.js';
import { page_count, page_mapcount } from '../src/linux/page.js';
import { pgd_offset, pmd_offset, pte_offset_kernel, pud_offset, readEntry } from '../src/linux/pgtable.js';
import { wake_up_process, schedule_blocked } from '../src/linux/sched.js';
import { VM_READ, VM_WRITE, type MmStruct, type TaskBody, type TaskStruct } from '../src/linux/structs.js';
import { LBL_USER, spawnProcess, user_access } from '../src/linux/user.js';
import { xenOf } from '../src/linux/xen/state.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import type { KGen } from '../src/scheduler/types.js';
import { RoundRobinStrategy } from '../src/scheduler/strategy.js';

beforeAll(async () => {
  await Machine.ready();
});

const DATA = 0x0060_0000n;
const VMAS = [{ vm_start: DATA, vm_end: DATA + 0x4000n, vm_flags: VM_READ | VM_WRITE }];
const MARK = 0x1234_5678n;

function pteOf(k: Kernel, mm: MmStruct, va: bigint): bigint {
  const pmdp = pmd_offset(k, pud_offset(k, pgd_offset(k, mm, va), va), va);
  return readEntry(k, pte_offset_kernel(k, pmdp, va));
}
const pfnOf = (pte: bigint) => Number((pte & 0x000f_ffff_ffff_f000n) >> 12n);

function run(k: Kernel): void {
  const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 50_000 });
  expect(r.finding).toBeUndefined();
  expect(r.status).toBe('finished');
}

/** fork() from inside a task body: mm_alloc + dup_mmap, the child started blocked on cpu `cpu`. */
function* fork(k: Kernel, parent: TaskStruct, comm: string, cpu: number, body: TaskBody): KGen<TaskStruct> {
  const mm = yield* mm_alloc(k, k.cpus[parent.cpu], comm);
  yield* dup_mmap(k, k.cpus[parent.cpu], mm, parent.mm!);
  const t = k.createTask(comm, cpu, mm, body);
  t.state = 'blocked';
  return t;
}

describe('copy_page_range', () => {
  it.each([['linux-3.18-smp'], ['linux-3.18-smp-pae'], ['linux-3.18-smp-32bit']])(
    '%s: both ptes read-only on the same page, page_count and page_mapcount 2; the child reads what the parent wrote',
    (preset) => {
      const k = bootLinuxSync(configFromPreset(preset));
      const s: { pfn?: number; ppte?: bigint; cpte?: bigint; counts?: number[]; childRead?: bigint } = {};
      spawnProcess(k, {
        comm: 'parent',
        cpu: 0,
        vmas: VMAS,
        body: function* (task) {
          const cpu = k.cpus[task.cpu];
          const pa = yield* user_access(cpu, DATA, 'write');
          k.m.phys.write64n(Number(pa), MARK);
          s.pfn = Number(pa >> 12n);
          const child = yield* fork(k, task, 'child', 0, function* (c) {
            s.childRead = k.m.phys.read64n(Number(yield* user_access(k.cpus[c.cpu], DATA, 'read')));
          });
          s.ppte = pteOf(k, task.mm!, DATA);
          s.cpte = pteOf(k, child.mm!, DATA);
          s.counts = [page_count(k, s.pfn), page_mapcount(k, s.pfn)];
          wake_up_process(child);
          yield* schedule_blocked(k, cpu); // never woken: the child runs, then the run ends
        },
      });
      const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 50_000 });
      expect(r.finding).toBeUndefined();
      expect(pfnOf(s.ppte!)).toBe(s.pfn);
      expect(pfnOf(s.cpte!)).toBe(s.pfn);
      expect(s.ppte! & _PAGE_RW).toBe(0n);
      expect(s.cpte! & _PAGE_RW).toBe(0n);
      expect(s.counts).toEqual([2, 2]);
      expect(s.childRead).toBe(MARK);
    },
  );
});

describe('do_wp_page after fork', () => {
  it('the child write copies the page (parent keeps its data, mapcount back to 1); the parent write then reuses its page', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp'));
    const s: { old?: number; childPte?: bigint; afterChild?: number[]; parentPte?: bigint; parentVal?: bigint; childVal?: bigint; copyVal?: bigint } = {};
    const h: { parent?: TaskStruct } = {};
    h.parent = spawnProcess(k, {
      comm: 'parent',
      cpu: 0,
      vmas: VMAS,
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        const pa = yield* user_access(cpu, DATA, 'write');
        k.m.phys.write64n(Number(pa), MARK);
        s.old = Number(pa >> 12n);
        const child = yield* fork(k, task, 'child', 0, function* (c) {
          const ccpu = k.cpus[c.cpu];
          const cpa = yield* user_access(ccpu, DATA, 'write');
          s.copyVal = k.m.phys.read64n(Number(cpa)); // cow_user_page() copied the parent's data
          k.m.phys.write64n(Number(cpa), 0xc0ffeen);
          s.childPte = pteOf(k, c.mm!, DATA);
          s.afterChild = [page_count(k, s.old!), page_mapcount(k, s.old!)];
          s.childVal = k.m.phys.read64n(Number(cpa));
          wake_up_process(h.parent!);
        });
        wake_up_process(child);
        yield* schedule_blocked(k, cpu);
        const ppa = yield* user_access(cpu, DATA, 'write');
        s.parentPte = pteOf(k, task.mm!, DATA);
        s.parentVal = k.m.phys.read64n(Number(ppa));
      },
    });
    run(k);
    expect(s.copyVal).toBe(MARK);
    expect(pfnOf(s.childPte!)).not.toBe(s.old);
    expect(s.childPte! & (_PAGE_RW | _PAGE_DIRTY)).toBe(_PAGE_RW | _PAGE_DIRTY);
    expect(s.childVal).toBe(0xc0ffeen);
    expect(s.afterChild).toEqual([1, 1]);
    // The parent's page is mapped once now: do_wp_page reuses it.
    expect(pfnOf(s.parentPte!)).toBe(s.old);
    expect(s.parentPte! & _PAGE_RW).toBe(_PAGE_RW);
    expect(s.parentVal).toBe(MARK);
  });
});

describe('PAE: a fault on a pte caught between the two halves of set_pte', () => {
  it('the fault handler re-reads it under the pte lock (pte_unmap_same), returns, and the retried access sees the whole pte', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp-pae'));
    const st = { torn: false, pfn: 0, pa: -1n };
    const p = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: VMAS,
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        const mm = task.mm!;
        const ptep = yield* pte_alloc_walk(k, cpu, mm, DATA);
        st.pfn = k.m.frames.alloc({ zero: true });
        const pte = (BigInt(st.pfn) * 4096n) | 0x67n | (1n << 63n); // P|RW|U|A|D, NX
        // native_set_pte() of PAE under the pte lock: the high half first, then the low half.
        yield* spin_lock(k, cpu, mm.page_table_lock);
        k.m.phys.write32(BigInt(ptep + 4), Number(pte >> 32n));
        st.torn = true;
        for (let i = 0; i < 300; i++) yield 'native_set_pte:between_halves';
        k.m.phys.write32(BigInt(ptep), Number(pte & 0xffff_ffffn));
        k.notePtWrite(ptep);
        yield* spin_unlock(k, cpu, mm.page_table_lock);
      },
    });
    p.mm!.mm_users++;
    k.createTask('t', 1, p.mm!, function* (task: TaskStruct) {
      while (!st.torn) yield 'wait';
      st.pa = yield* user_access(k.cpus[task.cpu], DATA, 'read');
    });
    run(k);
    expect(st.pa).toBe(BigInt(st.pfn) * 4096n);
  });
});

describe('freeing respects the raised counts', () => {
  it.each([['exit'], ['munmap']])('%s of the child leaves the page to the parent; the parent exit frees it', (how) => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp'));
    const s: { pfn?: number; freeAfterChild?: boolean; counts?: number[]; parentVal?: bigint } = {};
    const h: { parent?: TaskStruct } = {};
    h.parent = spawnProcess(k, {
      comm: 'parent',
      cpu: 0,
      vmas: VMAS,
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        const pa = yield* user_access(cpu, DATA, 'write');
        k.m.phys.write64n(Number(pa), MARK);
        s.pfn = Number(pa >> 12n);
        const child = yield* fork(k, task, 'child', 0, function* (c) {
          yield* user_access(k.cpus[c.cpu], DATA, 'read');
          if (how === 'munmap') yield* do_munmap(k, k.cpus[c.cpu], c.mm!, DATA, 0x4000n);
          wake_up_process(h.parent!);
        });
        wake_up_process(child);
        yield* schedule_blocked(k, cpu);
        s.freeAfterChild = k.m.frames.isFree(s.pfn);
        s.counts = [page_count(k, s.pfn), page_mapcount(k, s.pfn)];
        s.parentVal = k.m.phys.read64n(Number(yield* user_access(cpu, DATA, 'read')));
      },
    });
    run(k);
    expect(s.freeAfterChild).toBe(false);
    expect(s.counts).toEqual([1, 1]);
    expect(s.parentVal).toBe(MARK);
    expect(k.m.frames.isFree(s.pfn!)).toBe(true); // the parent exited: its last reference went
  });
});

describe('flush_tlb_mm(oldmm) at the end of dup_mmap', () => {
  it("a parent's thread on another CPU loses its writable TLB entry; its next write copies the page", () => {
    const k = bootLinuxSync(configFromPreset('linux-3.18-smp'));
    const st = { touched: false, forked: false, done: false, before: false, after: true, wrote: 0n, pfn: 0 };
    const remote = k.cpus[1].hw as unknown as Cpu;
    const writable = () => remote.tlbEntries().some((e) => e.va === DATA && e.writable);
    const p = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: VMAS,
      body: function* (task) {
        while (!st.touched) yield 'wait';
        st.before = writable();
        wake_up_process(yield* fork(k, task, 'child', 0, function* () {}));
        st.after = writable();
        st.forked = true;
        while (!st.done) yield 'wait';
      },
    });
    p.mm!.mm_users++;
    k.createTask('t', 1, p.mm!, function* (task: TaskStruct) {
      const cpu = k.cpus[task.cpu];
      st.pfn = Number((yield* user_access(cpu, DATA, 'write')) >> 12n);
      st.touched = true;
      while (!st.forked) {
        task.userMode = true;
        yield LBL_USER;
        task.userMode = false;
      }
      st.wrote = (yield* user_access(cpu, DATA, 'write')) >> 12n;
      st.done = true;
    });
    run(k);
    expect(st.before).toBe(true);
    expect(st.after).toBe(false);
    expect(Number(st.wrote)).not.toBe(st.pfn); // do_wp_page copied: the child still maps the old page
  });
});

describe('Xen PV', () => {
  it('fork, COW writes on both sides and both exits: Xen validates every update, refuses nothing, and the child pgd is pinned', () => {
    const k = bootLinuxSync(configFromPreset('linux-3.8-xen-pv'));
    const xen = xenOf(k);
    const s: { pinned?: boolean; typeBefore?: number; typeAfterFork?: number; pfn?: number } = {};
    const h: { parent?: TaskStruct } = {};
    h.parent = spawnProcess(k, {
      comm: 'parent',
      cpu: 0,
      vmas: VMAS,
      body: function* (task) {
        const cpu = k.cpus[task.cpu];
        const pa = yield* user_access(cpu, DATA, 'write');
        s.pfn = Number(pa >> 12n);
        s.typeBefore = xen.typeOf(s.pfn).count;
        const child = yield* fork(k, task, 'child', 0, function* (c) {
          yield* user_access(k.cpus[c.cpu], DATA, 'write');
          wake_up_process(h.parent!);
        });
        s.pinned = xen.typeOf(child.mm!.pgd / 4096).pinned;
        s.typeAfterFork = xen.typeOf(s.pfn).count;
        wake_up_process(child);
        yield* schedule_blocked(k, cpu);
        yield* user_access(cpu, DATA, 'write');
      },
    });
    run(k);
    expect(s.pinned).toBe(true);
    // The parent's pte lost RW: one writable type reference less on the page.
    expect(s.typeAfterFork).toBe(s.typeBefore! - 1);
    expect(xen.refusals).toEqual([]);
    expect(k.log.filter((l) => l.includes('multicall(s) failed'))).toEqual([]);
  });
});

describe('the fuzzer: fork shares the parent ranges copy-on-write', () => {
  it('a forked child writes and unmaps a range it inherited; the parent keeps using it: no finding', async () => {
    const program = parseProgram(
      {
        cpus: 2,
        irqs: [],
        tasks: [
          {
            cpu: 0,
            kthread: false,
            spawn: 'boot',
            ops: [
              { op: 'mmap', slot: 0, pages: 2, prot: 'rw', populate: true },
              { op: 'fork', task: 1 },
              { op: 'uaccess', slot: 0, page: 1, kind: 'write' },
              { op: 'schedule' },
              { op: 'uaccess', slot: 0, page: 0, kind: 'read' },
            ],
          },
          {
            cpu: 1,
            kthread: false,
            spawn: 'fork',
            ops: [
              { op: 'uaccess', slot: 0, page: 1, kind: 'write' },
              { op: 'munmap', slot: 0 },
            ],
          },
        ],
      },
      'program',
      2,
    );
    const target = await createTarget('linux-3.8-xen-pv');
    const r = target.run({ program, schedule: { strategy: 'random', seed: 7 }, explain: true }, new Coverage());
    expect(r.finding).toBeUndefined();
    expect(r.status).toBe('finished');
    // The child (CPU 1)'s write reached its inherited range (slot 0 at the parent's address).
    const child = r.events!.filter((e) => e.cpu === 1).map((e) => e.text);
    expect(child.filter((t) => /^user write 0x10001000 /.test(t)).length).toBe(1);
    expect(child.some((t) => t.endsWith('munmap slot=0'))).toBe(true);
  });
});
