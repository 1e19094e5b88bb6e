/**
 * The process view of a write pin (src/fuzz/interp.ts, judgePinnedForWrite): every page
 * get_user_pages_fast() pins for writing must be one the process may write — in a read-write
 * mapping and, in private anonymous memory, its own frame. A GUP-fast that accepts a read-only pte
 * for a write pin (planted here by running the walk as a read) pins a copy-on-write page the child
 * still maps, or a page of a mapping made read-only: both reported; the real walk is quiet.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { Coverage } from '../src/fuzz/coverage.js';
import { LinuxFuzzTarget } from '../src/fuzz/linux-target.js';
import type { Op, Program } from '../src/fuzz/program.js';
import '../src/fuzz/boot.js';

const plant = vi.hoisted(() => ({ on: false }));
vi.mock('../src/linux/gup.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/linux/gup.js')>();
  return {
    ...real,
    // the planted bug: a write pin walks as a read (the pte's R/W bit is not required)
    get_user_pages_fast: (...a: Parameters<typeof real.get_user_pages_fast>) => {
      if (plant.on) a[5] = false;
      return real.get_user_pages_fast(...a);
    },
  };
});

beforeAll(async () => {
  await Machine.ready();
});

const task = (cpu: number, spawn: 'boot' | 'fork', ops: Op[]) => ({ cpu, kthread: false, spawn, ops });

/** The parent writes its page, forks (the page is now copy-on-write in both), and pins it for writing while the child reads it. */
const COW_PIN: Program = {
  cpus: 1,
  tasks: [
    task(0, 'boot', [
      { op: 'mmap', slot: 0, pages: 1, prot: 'rw', populate: false },
      { op: 'uaccess', slot: 0, page: 0, kind: 'write' },
      { op: 'fork', task: 1 },
      { op: 'gup_fast', slot: 0, pages: 1, write: true },
    ]),
    task(
      0,
      'fork',
      Array.from({ length: 6 }, () => ({ op: 'uaccess', slot: 0, page: 0, kind: 'read' }) as Op),
    ),
  ],
  irqs: [],
};

/** A page written, its mapping made read-only, then pinned for writing. */
const RO_PIN: Program = {
  cpus: 1,
  tasks: [
    task(0, 'boot', [
      { op: 'mmap', slot: 0, pages: 1, prot: 'rw', populate: false },
      { op: 'uaccess', slot: 0, page: 0, kind: 'write' },
      { op: 'mprotect', slot: 0, prot: 'r' },
      { op: 'gup_fast', slot: 0, pages: 1, write: true },
    ]),
  ],
  irqs: [],
};

function signatures(preset: string, program: Program, n: number): string[] {
  const t = new LinuxFuzzTarget(preset, {});
  const out: string[] = [];
  for (let seed = 1; seed <= n; seed++) {
    const r = t.run({ program, schedule: { strategy: 'random', seed } }, new Coverage());
    if (r.finding) out.push(`${r.finding.sanitizer}: ${r.finding.signature}`);
  }
  return out;
}

describe.each(['linux-4.14-smp', 'linux-4.8-smp-pae', 'linux-4.8-smp-32bit', 'linux-4.14-xen-pv'])('write pins on %s', (preset) => {
  it('a write pin of a copy-on-write page the child maps is reported; the real GUP-fast leaves it to the slow path', () => {
    plant.on = true;
    try {
      const bad = signatures(preset, COW_PIN, 8);
      expect(bad.length).toBeGreaterThan(0);
      expect(new Set(bad)).toEqual(new Set(['process-view: write pin of a frame another process maps']));
    } finally {
      plant.on = false;
    }
    expect(signatures(preset, COW_PIN, 8)).toEqual([]);
  });

  it('a write pin of a page of a read-only mapping is reported; the real GUP-fast refuses it', () => {
    plant.on = true;
    try {
      expect(signatures(preset, RO_PIN, 2)).toEqual(['process-view: write pin of a r page', 'process-view: write pin of a r page']);
    } finally {
      plant.on = false;
    }
    expect(signatures(preset, RO_PIN, 2)).toEqual([]);
  });
});
