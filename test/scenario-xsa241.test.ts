/**
 * XSA-241 (docs/historical-bugs.md): the TLB-flush time stamp of a frame whose last writable type
 * reference goes is read, and before the fix stored with interrupts enabled; a flush of another CPU
 * in between leaves that CPU out of the next type change's flush. The scenario shows it through the
 * model's own mechanics (an interleaving point inside Xen's _put_page_type); the hand-built tests
 * pin the window itself, the cmpxchg over the whole type word, and NEED_FLUSH.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { runScenarioSync } from '../src/scenarios/runner.js';
import { xenOf } from '../src/linux/xen/index.js';
import { XenHypervisor } from '../src/xen/hypervisor.js';
import { LBL_XEN_STAMP_IRQ } from '../src/xen/mm.js';
import { MMUEXT_PIN_L1_TABLE, MMUEXT_TLB_FLUSH_LOCAL, MMU_NORMAL_PT_UPDATE } from '../src/xen/hypercalls.js';
import { createTarget } from '../src/fuzz/targets.js';
import { Coverage } from '../src/fuzz/coverage.js';
import { formatProgram, parseProgram } from '../src/fuzz/program.js';
import { runUnits } from '../src/fuzz/runner.js';

beforeAll(async () => {
  await Machine.ready();
});

const NAME = 'xsa241-stale-tlbflush-stamp';

describe('XSA-241: a stale TLB-flush time stamp', () => {
  it('buggy (Xen 4.9.0): the pin skips CPU 1, whose TLB still writes the new L1 table; Xen prints nothing', () => {
    const r = runScenarioSync(NAME, 'buggy');
    expect(r.outcome).toBe('bug');
    const f = r.findings[0];
    expect(f.sanitizer).toBe('xen-pv-escalation');
    expect(f.signature).toBe('stale-writable-tlb-L1');
    expect(f.log[0]).toMatch(
      /^pagewalk: xen-pv-escalation: Xen made mfn [0-9a-f]+ an L1 page table while CPU1 still holds a writable TLB entry for it: d1 has a writable mapping of an L1 page-table frame owned by d1 \(a stale TLB entry of CPU1\)$/,
    );
    expect(f.log[1]).toMatch(/__get_page_type\(mfn [0-9a-f]+, l1\) \(vCPU 0\) done; Xen printed nothing/);
    expect(f.log.some((l) => /CPU1 holds va ffffc90000000000 -> pa [0-9a-f]+ \(4 KiB, writable\)/.test(l))).toBe(true);
    expect(xenOf(r.kernel).console.text()).toEqual([]);
  });

  it('fixed (Xen 4.9.1): the stamp is current, the pin flushes CPU 1, the page is a pinned L1', () => {
    const r = runScenarioSync(NAME, 'fixed');
    expect(r.outcome).toBe('clean');
    expect(r.status).toBe('finished');
    const xen = xenOf(r.kernel);
    // One type-change flush more than before the fix (the boot's are the same): the pin's.
    expect(xen.stats.typeChangeFlushes).toBe(xenOf(runScenarioSync(NAME, 'buggy').kernel).stats.typeChangeFlushes + 1);
    const pinned = [...Array(r.kernel.m.frames.count).keys()].filter((f) => xen.typeOf(f).pinned && xen.typeOf(f).type === 1n << 60n);
    expect(pinned.length).toBeGreaterThan(0);
    for (const c of r.kernel.m.cpus) expect(c.tlbEntries().some((e) => e.writable && pinned.some((f) => e.pa === BigInt(f) * 4096n))).toBe(false);
  });

  it('the knob alone decides: 4.9.0 with the fix is clean, 4.9.1 without it shows the bug', () => {
    expect(runScenarioSync(NAME, 'buggy', { overrides: { xen_xsa241: 'fixed' } }).outcome).toBe('clean');
    expect(runScenarioSync(NAME, 'fixed', { overrides: { xen_xsa241: 'vulnerable' } }).findings[0]?.signature).toBe('stale-writable-tlb-L1');
  });
});

describe('the window, on a hand-built hypervisor', () => {
  /** An L1 table (pinned) whose entry 0 maps frame `page` writable: the page's only type reference. */
  async function setup(xsa241: boolean) {
    const m = await Machine.create({ ramBytes: 4 << 20, cpus: 2 });
    const l1 = m.frames.alloc({ level: 1, zero: true });
    const page = m.frames.alloc({ zero: true });
    m.phys.write64n(l1 * 4096, (BigInt(page) << 12n) | 0x63n);
    const xen = new XenHypervisor(m as never, { fixes: { xsa241 } });
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_PIN_L1_TABLE, mfn: l1 }]).rc).toBe(0);
    const ptr = BigInt(l1 * 4096) | BigInt(MMU_NORMAL_PT_UPDATE);
    return { xen, ptr, page, rw: (BigInt(page) << 12n) | 0x63n, ro: (BigInt(page) << 12n) | 0x61n };
  }

  it('before the fix, dropping the last writable reference stops between the clock read and the stamp', async () => {
    const { xen, ptr, page, rw, ro } = await setup(false);
    const g = xen.mm.interruptible(xen.mmu_update_g(0, [{ ptr, val: ro }]));
    const before = xen.mm.tlbflush_current_time();
    expect(g.next()).toEqual({ done: false, value: LBL_XEN_STAMP_IRQ });
    // Meanwhile CPU 1: a flush (the clock ticks), the page mapped writable and unmapped again.
    expect(xen.mmuext_op(1, [{ cmd: MMUEXT_TLB_FLUSH_LOCAL }]).rc).toBe(0);
    expect(xen.mmu_update(1, [{ ptr: ptr + 8n, val: rw }]).rc).toBe(0);
    expect(xen.typeOf(page).count).toBe(2);
    expect(xen.mmu_update(1, [{ ptr: ptr + 8n, val: 0n }]).rc).toBe(0);
    expect(g.next()).toEqual({ done: true, value: { rc: 0, done: 1 } });
    // The type word was the same again, so the cmpxchg dropped the count; the stamp is the old time.
    expect(xen.typeOf(page).count).toBe(0);
    expect(xen.mm.pages.tlbflushTimestamp[page]).toBe(before);
    expect(xen.mm.tlbflush_current_time()).toBeGreaterThan(before);
  });

  it('with the fix there is no window; driven synchronously neither variant stops', async () => {
    const fixed = await setup(true);
    const g = fixed.xen.mm.interruptible(fixed.xen.mmu_update_g(0, [{ ptr: fixed.ptr, val: fixed.ro }]));
    expect(g.next()).toEqual({ done: true, value: { rc: 0, done: 1 } });
    const buggy = await setup(false);
    expect(buggy.xen.mmu_update(0, [{ ptr: buggy.ptr, val: buggy.ro }]).rc).toBe(0);
    expect(buggy.xen.typeOf(buggy.page).count).toBe(0);
  });
});

describe("the fuzzer's operations", () => {
  // Two guest kernel threads: one takes a vmalloc'ed page's writable mappings away and pins it as an
  // L1 table, the other flushes its TLB, maps the page writable, writes it and unmaps it again.
  const program = parseProgram(
    {
      cpus: 2,
      irqs: [],
      tasks: [
        {
          cpu: 0,
          kthread: true,
          spawn: 'boot',
          ops: [
            { op: 'vmalloc', slot: 0, pages: 1 },
            { op: 'pt_clear', obj: 'vmalloc', slot: 0, level: 1, linear: false, bit: 'rw' },
            { op: 'lowmem_rw', obj: 'vmalloc', slot: 0, page: 0, writable: false },
            { op: 'pt_pin', obj: 'vmalloc', slot: 0, page: 0, level: 1 },
          ],
        },
        {
          cpu: 1,
          kthread: true,
          spawn: 'boot',
          ops: [
            { op: 'flush_tlb', scope: 'local' },
            { op: 'pt_set', obj: 'vmalloc', slot: 0, level: 1, linear: false, bit: 'rw' },
            { op: 'kaccess', obj: 'vmalloc', slot: 0, page: 0, kind: 'write' },
            { op: 'pt_clear', obj: 'vmalloc', slot: 0, level: 1, linear: false, bit: 'rw' },
          ],
        },
      ],
    },
    'program',
    2,
  );
  // A schedule (the 65th the generator draws from Prng(7)) that runs thread 1 inside the window:
  // thread 0 is held at it (src/fuzz/schedule.ts WindowStrategy).
  const schedule = { strategy: 'sticky' as const, seed: 1213266989, eventProbability: 0.1, stickiness: 0.97 };

  it('parse and print', () => {
    expect(formatProgram(program)).toContain('  lowmem_rw obj=vmalloc slot=0 page=0 writable=false');
    expect(() =>
      parseProgram(
        { cpus: 1, irqs: [], tasks: [{ cpu: 0, kthread: true, spawn: 'boot', ops: [{ op: 'pt_pin', obj: 'vmalloc', slot: 0, page: 0, level: 5 }] }] },
        'p',
        2,
      ),
    ).toThrow(/p\.tasks\[0\]\.ops\[0\]\.level/);
  });

  it('xen-4.9.0-pv: the outcome oracle reports the stale writable entry at the type change; xen-4.9.1-pv is clean', async () => {
    const buggy = (await createTarget('xen-4.9.0-pv', {})).run({ program, schedule }, new Coverage());
    expect(buggy.finding?.sanitizer).toBe('tlb-coherence');
    expect(buggy.finding?.log[1]).toBe(
      'BUG: TLB incoherent after Xen gave mfn 0x6 the type of an L1 page table: CPU1 holds a translation of the domain that grants more than the page tables',
    );
    const fixed = (await createTarget('xen-4.9.1-pv', {})).run({ program, schedule }, new Coverage());
    expect(fixed.finding).toBeUndefined();
  });
});

describe('found blind by the fuzzer', () => {
  it('xen-4.9.0-pv: one vCPU retypes a page while another maps, writes and unmaps it in a loop; xen-4.9.1-pv stays clean', { timeout: 120_000 }, async () => {
    const buggy = await createTarget('xen-4.9.0-pv');
    // Campaign seed 28 (found at its execution 181 since the focused schedules of the twentieth
    // session; of seeds 1 to 40, 28 and 40 find it within 300 executions; seed 5 with the generator
    // and model of the seventeenth session; seed 50 did before it, and 15, 64, 67, 94).
    const found = runUnits(buggy, { firstSeed: 28, runsPerSeed: 300, totalRuns: 300 }, { stopOn: 'tlb-coherence,xen-pv-escalation', shrinkBudget: 60 }).flatMap(
      (r) => r.findings,
    );
    expect(found.map((f) => f.signature)).toEqual(["stale TLB entry on another CPU after Xen's page-table type change"]);
    const ops = found[0].trace.program.tasks.flatMap((t) => t.ops.map((o) => o.op));
    expect(ops).toEqual(expect.arrayContaining(['lowmem_rw', 'pt_pin', 'pt_set', 'kaccess']));
    const fixed = await createTarget('xen-4.9.1-pv');
    expect(runUnits(fixed, { firstSeed: 28, runsPerSeed: 300, totalRuns: 300 }).flatMap((r) => r.findings)).toEqual([]);
  });
});
