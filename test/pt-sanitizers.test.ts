/**
 * The page-table use-after-free sanitizer on its own: a software walk that reads a table freed
 * after it obtained the pointer, a table freed and reused, and a hardware walk through a freed
 * table (entries from cpu.lastWalkEntries()).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Machine } from '../src/index.js';
import { PtUafSanitizer } from '../src/sanitizers/pt-uaf.js';
import type { CoreMachine } from '../src/modelcpu/contract.js';

let m: Machine;
let san: PtUafSanitizer;

beforeEach(async () => {
  m = await Machine.create({ ramBytes: 4 * 2 ** 20, cpus: 1 });
  san = new PtUafSanitizer(m as unknown as CoreMachine);
});

describe('page-table use-after-free sanitizer', () => {
  it('a software walk is clean while the table lives, and reports it once freed, with the free site', () => {
    const pt = m.frames.alloc({ level: 1 });
    const w = san.beginWalk('gup_pte_range', 0);
    w.link(pt * 4096);
    expect(w.check(pt * 4096 + 8, 'pte entry')).toBeNull();
    m.frames.free(pt);
    san.recordFree(pt, 1, ['sys_munmap', 'tlb_finish_mmu', 'free_pages_and_swap_cache']);
    const f = w.check(pt * 4096 + 8, 'pte entry')!;
    expect(f.sanitizer).toBe('pt-use-after-free');
    expect(f.signature).toBe('page-table use-after-free in gup_pte_range (freed in free_pages_and_swap_cache)');
    expect(f.log).toContain(
      `pagewalk: page-table use-after-free: gup_pte_range on CPU 0 read the pte entry at pa 0x${(pt * 4096 + 8).toString(16)} in frame 0x${pt.toString(16)}`,
    );
    expect(f.log).toContain('  free_pages_and_swap_cache');
  });

  it('reports a table freed and reused (generation changed, frame allocated again)', () => {
    const pt = m.frames.alloc({ level: 1 });
    const w = san.beginWalk('walker', 0);
    w.link(pt * 4096);
    m.frames.free(pt);
    expect(m.frames.alloc()).toBe(pt); // LIFO reuse
    const f = w.check(pt * 4096, 'pte entry')!;
    expect(f.log[3]).toBe('pagewalk: the frame had generation 0 when the walker reached it and has generation 1 now (reused (level 0))');
  });

  it('a lockless walk read without its guard (interrupts enabled) is reported at the read, with no free needed; with the guard held it is quiet', () => {
    const pt = m.frames.alloc({ level: 1 });
    let irqsOn = false;
    const w = san.beginWalk('gup_pmd_range', 1, () => (irqsOn ? 'interrupts enabled' : null));
    w.link(pt * 4096);
    expect(w.check(pt * 4096 + 16, 'pmd entry')).toBeNull();
    irqsOn = true;
    const f = w.check(pt * 4096 + 16, 'pmd entry')!;
    expect(f.sanitizer).toBe('pt-use-after-free');
    expect(f.signature).toBe('lockless page-table walk without its protection in gup_pmd_range');
    expect(f.log).toContain(
      `pagewalk: gup_pmd_range on CPU 1 reads the pmd entry at pa 0x${(pt * 4096 + 16).toString(16)} with interrupts enabled: nothing keeps the table from being freed under it`,
    );
  });

  it('checks the entries of a hardware walk: a walk through a freed table is reported', () => {
    const cpu = m.cpus[0];
    const [l4, l3, l2, l1, data] = [4, 3, 2, 1, 0].map((level) => m.frames.alloc({ level }));
    const set = (t: number, i: number, v: number) => m.phys.write64n(t * 4096 + i * 8, (BigInt(v) << 12n) | 3n);
    set(l4, 0, l3);
    set(l3, 0, l2);
    set(l2, 0, l1);
    set(l1, 0, data);
    cpu.setControl({ cr4: 0x20n, efer: 0x100n, cr3: BigInt(l4) << 12n, cr0: 0x80000001n });
    expect(cpu.access(0n, { kind: 'read', cpl: 0 }).ok).toBe(true);
    expect(san.checkHardwareWalk(cpu)).toBeNull();
    cpu.flushTlbAll();
    m.frames.free(l1); // freed while still linked from the pmd
    expect(cpu.access(0n, { kind: 'read', cpl: 0 }).ok).toBe(true);
    const f = san.checkHardwareWalk(cpu)!;
    expect(f.signature).toBe('page-table use-after-free in hardware page walk');
  });
});
