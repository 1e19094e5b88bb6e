// munmap, exit and GUP-fast on every paging mode the Linux model has (2-level 32-bit, PAE, 4-level), native
// and Xen PV where a preset exists: one unmap path (unmap_vmas -> zap_*_range, free_pgtables over
// the folding-aware accessors) serves them all.
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { FRAME_STATE } from '../src/core/types.js';
import { configFromPreset } from '../src/linux/config.js';
import type { Kernel } from '../src/linux/kernel.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { get_user_pages_fast } from '../src/linux/gup.js';
import { vm_munmap } from '../src/linux/mmap.js';
import { pgd_offset, pmd_offset, pud_offset, readEntry } from '../src/linux/pgtable.js';
import { VM_READ, VM_WRITE, type MmStruct } from '../src/linux/structs.js';
import { spawnProcess, user_access } from '../src/linux/user.js';
import { listPresets } from '../src/presets/index.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { RoundRobinStrategy } from '../src/scheduler/strategy.js';

beforeAll(async () => {
  await Machine.ready();
});

const DATA = 0x0060_0000n;
const PAGES = 4;
const OTHER = 0x0800_0000n; // a second vma, far away (its own page table)

const PRESETS = [
  ['linux-3.17-smp-32bit', '32bit'],
  ['linux-3.17-smp-pae', 'pae'],
  ['linux-3.17-smp', '4level'],
  ['linux-3.8-xen-pv', '4level'],
  ['linux-4.14-xen-pv', '4level'],
] as const;

it('the list covers every paging mode of the presets', () => {
  const modes = new Set(listPresets().map((p) => configFromPreset(p.name).paging));
  expect([...modes].sort()).toEqual([...new Set(PRESETS.map(([, m]) => m))].sort());
});

/** The pmd entry mapping `va` in `mm` (on 2-level paging: the pgd entry), 0n when none. */
function pmdEntry(k: Kernel, mm: MmStruct, va: bigint): bigint {
  const pgdp = pgd_offset(k, mm, va);
  if (!k.L.pudFolded && readEntry(k, pgdp) === 0n) return 0n;
  const pudp = pud_offset(k, pgdp, va);
  if (!k.L.pmdFolded && readEntry(k, pudp) === 0n) return 0n;
  return readEntry(k, pmd_offset(k, pudp, va));
}

describe.each(PRESETS)('%s (%s)', (preset, mode) => {
  it('map four pages, vm_munmap() them, flush: a CPL 3 read faults; the pages and page table are freed', () => {
    const k = bootLinuxSync(configFromPreset(preset));
    expect(k.L.paging).toBe(mode);
    const cpu = k.cpus[0];
    const s = { pfns: [] as number[], ret: -1, tlbBefore: false, pmdBefore: 0n, pmdAfter: -1n, otherPmd: 0n, fault: null as unknown, vmas: [] as bigint[] };
    const t = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: [
        { vm_start: DATA, vm_end: DATA + BigInt(PAGES * 4096), vm_flags: VM_READ | VM_WRITE },
        { vm_start: OTHER, vm_end: OTHER + 0x1000n, vm_flags: VM_READ | VM_WRITE },
      ],
      body: function* () {
        for (let i = 0; i < PAGES; i++) s.pfns.push(Number((yield* user_access(cpu, DATA + BigInt(i * 4096), 'write')) >> 12n));
        yield* user_access(cpu, OTHER, 'write');
        s.tlbBefore = cpu.hw.access(DATA, { kind: 'read', cpl: 3 }).ok;
        s.pmdBefore = pmdEntry(k, t.mm!, DATA);
        s.ret = yield* vm_munmap(k, cpu, t.mm!, DATA, BigInt(PAGES * 4096));
        s.pmdAfter = pmdEntry(k, t.mm!, DATA);
        s.otherPmd = pmdEntry(k, t.mm!, OTHER);
        s.vmas = t.mm!.vmas.map((v) => v.vm_start);
        cpu.hw.flushTlbAll();
        s.fault = cpu.hw.access(DATA, { kind: 'read', cpl: 3 });
      },
    });
    const r = new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 50_000 });
    expect(r.status).toBe('finished');
    expect(s.tlbBefore).toBe(true);
    expect(s.ret).toBe(0);
    // #PF, not present (P = 0), read, user (error code bits: P=0, W/R=0, U/S=1).
    expect(s.fault).toMatchObject({ ok: false, vector: 14, cr2: DATA });
    expect((s.fault as { errorCode: number }).errorCode & 0b111).toBe(0b100);
    for (const pfn of s.pfns) expect(k.m.frames.state(pfn)).toBe(FRAME_STATE.FREE);
    // The page table of DATA was unhooked (no other vma within its span); OTHER's is still there.
    expect(s.pmdBefore).not.toBe(0n);
    expect(s.pmdAfter).toBe(0n);
    expect(s.otherPmd & 1n).toBe(1n);
    expect(s.vmas).toEqual([OTHER]);
  });

  it('munmap of the middle page splits the vma; the neighbours stay mapped and the page table stays', () => {
    const k = bootLinuxSync(configFromPreset(preset));
    const cpu = k.cpus[0];
    const s = { ok: [] as boolean[], pmd: 0n, vmas: [] as bigint[][] };
    const t = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: [{ vm_start: DATA, vm_end: DATA + 0x3000n, vm_flags: VM_READ | VM_WRITE }],
      body: function* () {
        for (let i = 0; i < 3; i++) yield* user_access(cpu, DATA + BigInt(i * 4096), 'write');
        yield* vm_munmap(k, cpu, t.mm!, DATA + 0x1000n, 0x1000n);
        cpu.hw.flushTlbAll();
        for (let i = 0; i < 3; i++) s.ok.push(cpu.hw.access(DATA + BigInt(i * 4096), { kind: 'read', cpl: 3 }).ok);
        s.pmd = pmdEntry(k, t.mm!, DATA);
        s.vmas = t.mm!.vmas.map((v) => [v.vm_start, v.vm_end]);
      },
    });
    expect(new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 50_000 }).status).toBe('finished');
    expect(s.ok).toEqual([true, false, true]);
    expect(s.pmd & 1n).toBe(1n);
    expect(s.vmas.sort((a, b) => Number(a[0] - b[0]))).toEqual([
      [DATA, DATA + 0x1000n],
      [DATA + 0x2000n, DATA + 0x3000n],
    ]);
  });

  it('GUP-fast walks the paging mode: it pins the mapped pages, and none once they are unmapped', () => {
    const k = bootLinuxSync(configFromPreset(preset));
    const cpu = k.cpus[0];
    const s = { before: -1, after: -1 };
    const t = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: [{ vm_start: DATA, vm_end: DATA + 0x2000n, vm_flags: VM_READ | VM_WRITE }],
      body: function* () {
        for (const va of [DATA, DATA + 0x1000n]) yield* user_access(cpu, va, 'write');
        s.before = yield* get_user_pages_fast(k, cpu, t.mm!, DATA, 2, true);
        yield* vm_munmap(k, cpu, t.mm!, DATA, 0x2000n);
        s.after = yield* get_user_pages_fast(k, cpu, t.mm!, DATA, 2, false);
      },
    });
    expect(new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 50_000 }).status).toBe('finished');
    expect(s).toEqual({ before: 2, after: 0 });
  });

  it('exit frees every page and every user page table (exit_mmap through the same path)', () => {
    const k = bootLinuxSync(configFromPreset(preset));
    const cpu = k.cpus[0];
    const frames: number[] = [];
    const t = spawnProcess(k, {
      comm: 'p',
      cpu: 0,
      vmas: [
        { vm_start: DATA, vm_end: DATA + 0x2000n, vm_flags: VM_READ | VM_WRITE },
        { vm_start: OTHER, vm_end: OTHER + 0x1000n, vm_flags: VM_READ | VM_WRITE },
      ],
      body: function* () {
        for (const va of [DATA, DATA + 0x1000n, OTHER]) frames.push(Number((yield* user_access(cpu, va, 'write')) >> 12n));
        for (const va of [DATA, OTHER]) frames.push(Number((pmdEntry(k, t.mm!, va) & k.L.PTE_PFN_MASK) >> 12n));
      },
    });
    expect(new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 50_000 }).status).toBe('finished');
    expect(frames).toHaveLength(5);
    for (const pfn of frames) expect(k.m.frames.state(pfn)).toBe(FRAME_STATE.FREE);
  });
});

it('PAE: a pmd freed by munmap and allocated again by a fault is a P-only PDPTE, and the CR3 reload of pud_populate() makes it usable', () => {
  const k = bootLinuxSync(configFromPreset('linux-4.8-smp-pae'));
  const cpu = k.cpus[0];
  const GB1 = 0x4000_0000n; // alone in its gigabyte: munmap frees its pmd (PDPTE 1)
  const s = { cleared: -1n, pdpte: 0n, pfn: -1n };
  const t = spawnProcess(k, {
    comm: 'p',
    cpu: 0,
    vmas: [
      { vm_start: DATA, vm_end: DATA + 0x1000n, vm_flags: VM_READ | VM_WRITE },
      { vm_start: GB1, vm_end: GB1 + 0x1000n, vm_flags: VM_READ | VM_WRITE },
    ],
    body: function* () {
      yield* user_access(cpu, GB1, 'write');
      yield* vm_munmap(k, cpu, t.mm!, GB1, 0x1000n);
      s.cleared = readEntry(k, pgd_offset(k, t.mm!, GB1));
      t.mm!.vmas.push({ vm_start: GB1, vm_end: GB1 + 0x1000n, vm_flags: VM_READ | VM_WRITE }); // mmap again
      s.pfn = (yield* user_access(cpu, GB1, 'write')) >> 12n;
      s.pdpte = readEntry(k, pgd_offset(k, t.mm!, GB1));
    },
  });
  expect(new Scheduler(k, new RoundRobinStrategy()).run({ maxSteps: 50_000 }).status).toBe('finished');
  expect(s.cleared).toBe(0n);
  expect(s.pdpte & 0xfffn).toBe(1n); // only P: the other low bits of a PDPTE are reserved
  expect(s.pfn).toBeGreaterThan(0n);
});
