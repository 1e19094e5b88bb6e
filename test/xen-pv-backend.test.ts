/**
 * The Xen PV backend of pv_mmu_ops (src/linux/xen): lazy MMU batching keeps RAM unchanged until
 * the batch is issued, unpinned tables take direct stores, lazy mode reads as none in interrupt
 * context, context switches park and resume a task's lazy mode, flush_tlb_others is a hypercall;
 * plus vm_map_ram/vm_unmap_ram lazy purge vs eager clear and the writable-alias sanitizer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { configFromPreset } from '../src/linux/config.js';
import type { Kernel } from '../src/linux/kernel.js';
import { bootLinuxSync } from '../src/linux/machine.js';
import { mm_alloc } from '../src/linux/mm.js';
import { pgd_offset, readEntry } from '../src/linux/pgtable.js';
import { lazy_max_pages, vm_map_ram, vm_unmap_ram, vmapStats } from '../src/linux/vmap.js';
import { xenOf, xenState, xen_pgd_pin, xen_page_pinned, lookup_pte_k, xen_mc_batch, xen_mc_issue } from '../src/linux/xen/index.js';
import { PARAVIRT_LAZY_MMU, xen_extend_mmu_update } from '../src/linux/xen/multicalls.js';
import { FindingStop } from '../src/sanitizers/finding.js';
import { findWritableAliases, writableAliasFinding } from '../src/sanitizers/pt-alias.js';
import { PGT_l4_page_table } from '../src/xen/index.js';
import '../src/presets/xen.js';
import { thrown } from './support/thrown.js';

const PFN_MASK = 0x000f_ffff_ffff_f000n;

beforeAll(async () => {
  await Machine.ready();
});

function boot(preset: string, overrides: Record<string, string | number | boolean> = {}): Kernel {
  return bootLinuxSync(configFromPreset(preset, overrides));
}

/** A process mm, pinned as xen_activate_mm() would. */
function pinnedMm(k: Kernel) {
  const cpu = k.cpus[0];
  const mm = k.runSync(mm_alloc(k, cpu, 'p'));
  k.runSync(xen_pgd_pin(k, cpu, mm));
  return mm;
}

describe('Xen PV pv_mmu_ops', () => {
  it('boots: swapper_pg_dir pinned as an L4, the direct map in 4 KiB pages, page tables read-only there', () => {
    const k = boot('linux-3.8-xen-pv');
    const mm = pinnedMm(k); // the first pv op boots the Xen side
    const xen = xenOf(k);
    expect(xen.typeOf(k.init_mm.pgd / 4096)).toMatchObject({ type: PGT_l4_page_table, pinned: true, validated: true });
    expect(xen.typeOf(mm.pgd / 4096)).toMatchObject({ type: PGT_l4_page_table, pinned: true });
    const p = lookup_pte_k(k, k.L.PAGE_OFFSET + BigInt(mm.pgd));
    expect(p).not.toBeNull();
    expect(k.m.phys.read64n(p!) & 2n).toBe(0n);
    expect(xen.console.text()).toEqual([]);
  });

  it('lazy MMU mode: set_pgd on a pinned pgd stays in the batch until flushed; flush keeps the CPU lazy', () => {
    const k = boot('linux-3.8-xen-pv');
    const mm = pinnedMm(k);
    const cpu = k.cpus[0];
    const pgdp = pgd_offset(k, mm, 0x7f00_0000_0000n);
    const kernelPud = readEntry(k, pgd_offset(k, k.init_mm, k.L.PAGE_OFFSET));
    k.runSync(k.pv.mmu.lazy_mode.enter(k, cpu));
    k.runSync(k.pv.mmu.set_pgd(k, cpu, pgdp, kernelPud & ~2n)); // a read-only linear-style entry is valid
    expect(readEntry(k, pgdp)).toBe(0n); // still queued
    expect(xenState(k).mc[0].slots).toHaveLength(1);
    k.runSync(k.pv.mmu.lazy_mode.flush(k, cpu)); // arch_flush_lazy_mmu_mode()
    expect(readEntry(k, pgdp)).toBe(kernelPud & ~2n);
    expect(cpu.lazyMode).toBe('mmu');
    k.runSync(k.pv.mmu.lazy_mode.leave(k, cpu));
    expect(cpu.lazyMode).toBe('none');
  });

  it('the multicall buffer holds MC_BATCH = 32 calls; consecutive mmu_updates share one call', () => {
    const k = boot('linux-3.8-xen-pv');
    const mm = pinnedMm(k);
    const cpu = k.cpus[0];
    const v = readEntry(k, pgd_offset(k, k.init_mm, k.L.PAGE_OFFSET)) & ~2n;
    k.runSync(k.pv.mmu.lazy_mode.enter(k, cpu));
    const slots = xenState(k).mc[0].slots;
    k.runSync(k.pv.mmu.set_pgd(k, cpu, mm.pgd + 8 * 10, v));
    k.runSync(k.pv.mmu.set_pgd(k, cpu, mm.pgd + 8 * 11, v));
    expect(slots).toHaveLength(1); // xen_extend_mmu_update() appended to the same multicall
    for (let i = 0; i < 32; i++) k.runSync(k.pv.mmu.flush_tlb_single(k, cpu, BigInt(i) << 12n));
    // 1 + 31 flushes filled the buffer; the 32nd flush forced it out first (FL_SLOTS).
    expect(slots).toHaveLength(1);
    expect(readEntry(k, mm.pgd + 8 * 11)).toBe(v);
    k.runSync(k.pv.mmu.lazy_mode.leave(k, cpu));
    expect(slots).toHaveLength(0);
  });

  it('a write to a table that is not pinned is a direct store, even in lazy mode', () => {
    const k = boot('linux-3.8-xen-pv');
    const cpu = k.cpus[0];
    const mm = k.runSync(mm_alloc(k, cpu, 'unpinned'));
    expect(xen_page_pinned(k, mm.pgd)).toBe(false);
    k.runSync(k.pv.mmu.lazy_mode.enter(k, cpu));
    const pgdp = pgd_offset(k, mm, 0n);
    k.runSync(k.pv.mmu.set_pgd(k, cpu, pgdp, 0x5000n | 1n));
    expect(readEntry(k, pgdp)).toBe(0x5001n);
    expect(xenState(k).mc[0].slots).toHaveLength(0);
  });

  it('lazy mode reads as none in interrupt context: the update is issued at once', () => {
    const k = boot('linux-3.8-xen-pv');
    const mm = pinnedMm(k);
    const cpu = k.cpus[0];
    const pgdp = pgd_offset(k, mm, 0x7f00_0000_0000n);
    const v = readEntry(k, pgd_offset(k, k.init_mm, k.L.PAGE_OFFSET)) & ~2n;
    k.runSync(k.pv.mmu.lazy_mode.enter(k, cpu));
    cpu.irqDepth++; // inside an interrupt handler
    k.runSync(k.pv.mmu.set_pgd(k, cpu, pgdp, v));
    cpu.irqDepth--;
    expect(readEntry(k, pgdp)).toBe(v);
  });

  it('a context switch parks the lazy MMU batch of prev and resumes lazy mode for it later', () => {
    const k = boot('linux-3.8-xen-pv');
    const mm = pinnedMm(k);
    const cpu = k.cpus[0];
    const prev = cpu.curr;
    const pgdp = pgd_offset(k, mm, 0x7f00_0000_0000n);
    const v = readEntry(k, pgd_offset(k, k.init_mm, k.L.PAGE_OFFSET)) & ~2n;
    k.runSync(k.pv.mmu.lazy_mode.enter(k, cpu));
    k.runSync(k.pv.mmu.set_pgd(k, cpu, pgdp, v));
    expect(readEntry(k, pgdp)).toBe(0n);
    cpu.preemptCount++;
    k.runSync(k.pv.cpu.start_context_switch(k, cpu, prev)); // arch_start_context_switch(prev)
    expect(readEntry(k, pgdp)).toBe(v); // xen_leave_lazy_mmu() issued the batch
    expect(cpu.lazyMode).toBe('cpu');
    k.runSync(k.pv.cpu.end_context_switch(k, cpu, prev)); // back to prev
    expect(cpu.lazyMode).toBe('mmu');
    cpu.preemptCount--;
  });

  it('flush_tlb_others is a hypercall: the remote TLB is flushed while the target has IRQs off, no IPI', () => {
    const k = boot('linux-3.8-xen-pv');
    pinnedMm(k);
    const [c0, c1] = k.cpus;
    const va = k.L.PAGE_OFFSET + 0x5000n;
    expect(c1.hw.access(va, { kind: 'read', cpl: 0 }).ok).toBe(true);
    const p = lookup_pte_k(k, va)!;
    k.m.phys.write64n(p, 0n); // behind Xen's back, only to observe the TLB
    expect(c1.hw.access(va, { kind: 'read', cpl: 0 }).ok).toBe(true); // stale TLB entry
    c1.IF = false;
    k.runSync(k.pv.mmu.flush_tlb_others(k, c0, 0b10, null, va, va + 4096n));
    expect(c1.pendingIpis).toHaveLength(0);
    expect(c1.hw.access(va, { kind: 'read', cpl: 0 }).ok).toBe(false);
  });
});

describe('vm_map_ram / vm_unmap_ram', () => {
  function aliasesAfterUnmap(preset: string, overrides = {}) {
    const k = boot(preset, overrides);
    const cpu = k.cpus[0];
    const page = k.m.frames.alloc();
    const addr = k.runSync(vm_map_ram(k, cpu, [page]));
    k.runSync(vm_unmap_ram(k, cpu, addr, 1));
    const ptep = lookup_pte_k(k, addr)!;
    return { k, page, addr, pte: readEntry(k, ptep) };
  }

  it('before the fix the pte stays after vm_unmap_ram (lazy purge); with the fix it is cleared at once', () => {
    const lazy = aliasesAfterUnmap('linux-3.8-smp', { vunmap_clear_ptes: 'lazy-purge' });
    expect((lazy.pte & PFN_MASK) >> 12n).toBe(BigInt(lazy.page));
    const eager = aliasesAfterUnmap('linux-3.8-smp', { vunmap_clear_ptes: 'eager' });
    expect(eager.pte).toBe(0n);
    expect(vmapStats(lazy.k).lazyPages).toBe(0); // the block is not fully dirty: nothing is pending yet
    expect(lazy_max_pages(lazy.k)).toBe(2 * 8192);
  });

  it('a freed region is not reused before its block is purged, so aliases accumulate', () => {
    const k = boot('linux-3.8-smp', { vunmap_clear_ptes: 'lazy-purge' });
    const cpu = k.cpus[0];
    const page = k.m.frames.alloc();
    const addrs = new Set<bigint>();
    for (let i = 0; i < 4; i++) {
      const a = k.runSync(vm_map_ram(k, cpu, [page]));
      addrs.add(a);
      k.runSync(vm_unmap_ram(k, cpu, a, 1));
    }
    expect(addrs.size).toBe(4);
    const mapped = [...addrs].filter((a) => (readEntry(k, lookup_pte_k(k, a)!) & PFN_MASK) >> 12n === BigInt(page));
    expect(mapped).toHaveLength(4);
  });

  it('native: the writable-alias sanitizer reports a lazily unmapped page reused as a page table', () => {
    const k = boot('linux-3.8-smp', { vunmap_clear_ptes: 'lazy-purge' });
    const cpu = k.cpus[0];
    const page = k.m.frames.alloc();
    const addr = k.runSync(vm_map_ram(k, cpu, [page]));
    k.runSync(vm_unmap_ram(k, cpu, addr, 1));
    expect(findWritableAliases(k.m, k.init_mm.pgd, k.L.VMALLOC_START, k.L.VMALLOC_END)).toEqual([]);
    k.m.frames.setLevel(page, 1); // reused as a pte page
    const aliases = findWritableAliases(k.m, k.init_mm.pgd, k.L.VMALLOC_START, k.L.VMALLOC_END);
    expect(aliases).toEqual([{ va: addr, pfn: page, level: 1 }]);
    const f = writableAliasFinding(aliases, 'vmalloc space')!;
    expect(f.sanitizer).toBe('pt-writable-alias');
    expect(f.log[1]).toBe(`pagewalk:   va 0x${addr.toString(16)} -> frame 0x${page.toString(16)} (a pte page) mapped RW`);
  });
});

describe("Xen PV multicalls: the kernel's BUG_ON(preemptible())", () => {
  /** Queues one mmu_update of `mm`'s pgd entry 0 (its old value) on CPU 0, with or without xen_mc_batch(). */
  const queue = (batch: boolean) => {
    const k = boot('linux-4.14-xen-pv');
    const mm = pinnedMm(k);
    const cpu = k.cpus[0];
    cpu.IF = true;
    const ptr = BigInt(pgd_offset(k, mm, 0n));
    if (batch) xen_mc_batch(k, cpu);
    k.runSync(xen_extend_mmu_update(k, cpu, { ptr, val: readEntry(k, Number(ptr)) }, 'test'));
    k.runSync(xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU));
    return { k, cpu };
  };

  it('an entry queued with interrupts on and preemption enabled is a kernel BUG; inside xen_mc_batch() (interrupts off) it is issued, and interrupts are on again', () => {
    const { cpu } = queue(true);
    expect(cpu.IF).toBe(true);
    const stop = thrown(() => queue(false));
    expect(stop).toBeInstanceOf(FindingStop);
    expect((stop as FindingStop).finding.signature).toBe('kernel BUG at arch/x86/xen/multicalls.c in xen_mc_extend_args');
    expect((stop as FindingStop).finding.log.join('\n')).toMatch(/line unknown/);
  });
});
