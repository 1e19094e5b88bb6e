/**
 * The Xen PV backend of pv_mmu_ops and of the context-switch hooks of pv_cpu_ops, after
 * arch/x86/xen/mmu.c and enlighten.c of Linux 3.8 (xen_mmu_ops, xen_set_pte/pmd/pud/pgd,
 * xen_batched_set_pte, xen_write_cr3, xen_flush_tlb*, xen_flush_tlb_others, xen_leave_lazy_mmu,
 * xen_end_context_switch) and arch/x86/kernel/paravirt.c (paravirt_start/end_context_switch,
 * paravirt_flush_lazy_mmu), with the 2.6.37 differences where seed 001 needs them (pin.ts).
 *
 * A write to a page-table page that is not pinned is a direct store. A write to a pinned one
 * is an mmu_update hypercall, queued in the CPU's multicall batch in lazy MMU mode: until the
 * batch is issued, RAM keeps the old entry. A direct store into a page Xen has typed as a page
 * table goes through Xen's writable-pagetable emulation (`XenHypervisor.ptwr_emulate`).
 *
 * Not modelled: the separate user pgd of 64-bit PV kernels (xen_get_user_pgd), IOMAP ptes,
 * 32-bit guests, highmem, the PARAVIRT_LAZY_CPU batching of other pv_cpu_ops.
 */
import type { KGen } from '../../scheduler/types.js';
import { _PAGE_GLOBAL } from '../constants.js';
import {
  MMUEXT_INVLPG_LOCAL,
  MMUEXT_INVLPG_MULTI,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_TLB_FLUSH_LOCAL,
  MMUEXT_TLB_FLUSH_MULTI,
  MMU_NORMAL_PT_UPDATE,
  MMU_PT_UPDATE_PRESERVE_AD,
} from '../../xen/hypercalls.js';
import type { Kernel } from '../kernel.js';
import { paravirt_enter_lazy_mmu, paravirt_get_lazy_mode, paravirt_leave_lazy_mmu, type PvOps } from '../paravirt.js';
import type { LinuxCpu } from '../percpu.js';
import { readEntry } from '../pgtable.js';
import { preempt_disable, preempt_enable } from '../preempt.js';
import type { MmStruct, TaskStruct } from '../structs.js';
import { leave_mm, TLB_FLUSH_ALL } from '../tlbflush.js';
import {
  PARAVIRT_LAZY_CPU,
  PARAVIRT_LAZY_MMU,
  __xen_mc_entry,
  xen_extend_mmu_update,
  xen_extend_mmuext_op,
  xen_mc_batch,
  xen_mc_flush,
  xen_mc_issue,
  takeBatch,
} from './multicalls.js';
import { xen_alloc_ptpage, xen_page_pinned, xen_pgd_pin, xen_pgd_unpin, xen_release_ptpage } from './pin.js';
import { pfn_to_mfn, xen_hypercall, xenPvState, xenState, type XenPvState } from './state.js';
import { xen_pagetable_init } from './setup.js';
import { disable_vmap_lazy_unmap } from '../vmap.js';
import { DONE, mustYield } from '../../scheduler/point.js';

/**
 * A direct store into a page-table entry (`*ptr = val`) through the direct map. If the page is
 * mapped read-only (a pinned page table), the store faults and Xen emulates it only for an L1
 * (ptwr); any other refused store is a fault the kernel cannot handle.
 */
function* directStore(k: Kernel, cpu: LinuxCpu, p: number, v: bigint, fn: string): KGen<void> {
  const xen = xenState(k).xen;
  const va = k.L.PAGE_OFFSET + BigInt(p);
  if (!xen.ptwr_emulate(cpu.index, va, v)) {
    k.oops(cpu, `BUG: unable to handle kernel paging request at ${va.toString(16).padStart(16, '0')}`, 3, fn, [
      `pagewalk: the store faulted and Xen did not emulate it (${xen.refusals.at(-1)?.request ?? 'no mapping'})`,
    ]);
  }
  k.ptEpoch++;
}

/** virt_to_machine(ptr).maddr | MMU_NORMAL_PT_UPDATE for an entry at physical address `p`. */
function machineAddr(st: XenPvState, p: number): bigint {
  const mfn = pfn_to_mfn(Math.floor(p / 4096));
  return (BigInt(mfn) << 12n) | BigInt(p % 4096) | BigInt(MMU_NORMAL_PT_UPDATE);
}

/** xen_set_pXd_hyper(): queue the update and issue it unless in lazy MMU mode. */
function* set_hyper(k: Kernel, cpu: LinuxCpu, p: number, v: bigint, caller: string): KGen<void> {
  const st = xenState(k);
  preempt_disable(cpu);
  xen_mc_batch(k, cpu);
  yield* xen_extend_mmu_update(k, cpu, { ptr: machineAddr(st, p), val: v }, caller);
  yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU);
  yield* preempt_enable(cpu);
  k.ptEpoch++;
}

/** xen_set_pmd/xen_set_pud/xen_set_pgd: direct store if the page is not pinned, else the hypercall. */
function* set_upper(k: Kernel, cpu: LinuxCpu, p: number, v: bigint, caller: string): KGen<void> {
  if (!xen_page_pinned(k, p)) {
    yield* directStore(k, cpu, p, v, caller);
    return;
  }
  yield* set_hyper(k, cpu, p, v, `${caller}_hyper`);
}

/**
 * __xen_set_pte() (3.8): xen_batched_set_pte() in lazy MMU mode, else a direct
 * HYPERVISOR_mmu_update (3.8 avoids the trap-and-emulate of native_set_pte()).
 */
function* __xen_set_pte(k: Kernel, cpu: LinuxCpu, ptep: number, v: bigint, caller: string): KGen<void> {
  const st = xenState(k);
  if (paravirt_get_lazy_mode(cpu) === 'mmu') {
    xen_mc_batch(k, cpu);
    yield* xen_extend_mmu_update(k, cpu, { ptr: machineAddr(st, ptep), val: v }, 'xen_batched_set_pte');
    yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU);
  } else {
    if (mustYield('xen:mmu_update')) yield 'xen:mmu_update';
    const r = yield* xen_hypercall(k, cpu, st.xen.mmu_update_g(cpu.index, [{ ptr: machineAddr(st, ptep), val: v }]));
    if (r.rc !== 0) {
      const line = `pagewalk: ${caller}: HYPERVISOR_mmu_update returned ${r.rc} (the kernel ignores it)`;
      k.printk(line);
      k.observers.xenRefused?.(cpu, `mmu_update by ${caller}`, 'return value ignored in __xen_set_pte', [line]);
    }
  }
  k.ptEpoch++;
}

/** xen_ptep_modify_prot_start(): "Just return the pte as-is.  We preserve the bits on commit" (3.8 mmu.c). */
function* xen_ptep_modify_prot_start(k: Kernel, _cpu: LinuxCpu, _mm: MmStruct, _addr: bigint, ptep: number): KGen<bigint> {
  return readEntry(k, ptep);
}

/**
 * xen_ptep_modify_prot_commit() (3.8 mmu.c): an mmu_update with MMU_PT_UPDATE_PRESERVE_AD (Xen
 * keeps the A/D bits hardware set meanwhile), queued by xen_extend_mmu_update() and issued
 * unless the CPU is in lazy MMU mode (mprotect's change_pte_range() is: one batch per table).
 */
function* xen_ptep_modify_prot_commit(k: Kernel, cpu: LinuxCpu, mm: MmStruct, addr: bigint, ptep: number, pte: bigint): KGen<void> {
  k.observers.pteStore?.(cpu, mm, addr, 'ptep_modify_prot_commit', paravirt_get_lazy_mode(cpu) === 'mmu');
  const st = xenState(k);
  xen_mc_batch(k, cpu);
  const ptr = machineAddr(st, ptep) - BigInt(MMU_NORMAL_PT_UPDATE) + BigInt(MMU_PT_UPDATE_PRESERVE_AD);
  yield* xen_extend_mmu_update(k, cpu, { ptr, val: pte }, 'xen_ptep_modify_prot_commit');
  yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU);
  k.ptEpoch++;
}

/** xen_flush_tlb()/xen_flush_tlb_single(): an mmuext_op on this CPU, issued unless lazy. */
function* local_flush(k: Kernel, cpu: LinuxCpu, addr: bigint | null): KGen<void> {
  preempt_disable(cpu);
  xen_mc_batch(k, cpu);
  // xen_mc_entry() + MULTI_mmuext_op(): a call of its own.
  const op = addr === null ? { cmd: MMUEXT_TLB_FLUSH_LOCAL } : { cmd: MMUEXT_INVLPG_LOCAL, linearAddr: addr & ~0xfffn };
  yield* __xen_mc_entry(k, cpu, { op: 'mmuext_op', ops: [op] }, addr === null ? 'xen_flush_tlb' : 'xen_flush_tlb_single');
  yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU);
  yield* preempt_enable(cpu);
}

/**
 * xen_flush_tlb_others(cpus, mm, start, end): one MMUEXT_TLB_FLUSH_MULTI (or INVLPG_MULTI for a
 * single page) hypercall. Xen flushes the other vCPUs' TLBs itself: no IPI, so nothing waits
 * for the targets to enable interrupts.
 */
export function* xen_flush_tlb_others(k: Kernel, cpu: LinuxCpu, cpumask: number, _mm: MmStruct | null, start: bigint, end: bigint): KGen<void> {
  const targets: number[] = [];
  for (const c of k.cpus) if (c !== cpu && cpumask & (1 << c.index)) targets.push(c.index);
  if (targets.length === 0) return;
  xen_mc_batch(k, cpu);
  const single = end !== TLB_FLUSH_ALL && end - start <= 4096n;
  const op = single ? { cmd: MMUEXT_INVLPG_MULTI, linearAddr: start, vcpumask: targets } : { cmd: MMUEXT_TLB_FLUSH_MULTI, vcpumask: targets };
  yield* __xen_mc_entry(k, cpu, { op: 'mmuext_op', ops: [op] }, 'xen_flush_tlb_others');
  yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU);
}

/** xen_write_cr3(): this_cpu xen_cr3 = cr3; MMUEXT_NEW_BASEPTR queued, issued unless lazy CPU mode. */
function* xen_write_cr3(k: Kernel, cpu: LinuxCpu, cr3: bigint): KGen<void> {
  const st = xenState(k);
  // Model glue: processes made by spawnProcess() never exec, so xen_activate_mm() never pinned
  // their pgd; pin it the first time it becomes a base pointer, as exec would have.
  if (!xen_page_pinned(k, Number(cr3))) yield* xen_pgd_pin(k, cpu, { pgd: Number(cr3) });
  xen_mc_batch(k, cpu);
  st.xenCr3[cpu.index] = cr3;
  const mfn = pfn_to_mfn(Number(cr3 >> 12n));
  yield* xen_extend_mmuext_op(k, cpu, { cmd: MMUEXT_NEW_BASEPTR, mfn }, '__xen_write_cr3');
  yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_CPU);
  cpu.cr3Epoch++;
  k.lockup.progress(cpu);
}

/**
 * drop_other_mm_ref(mm) on CPU `c` (3.8 arch/x86/xen/mmu.c, the IPI handler): a lazy borrower of
 * `mm` leaves it (leave_mm(): off mm_cpumask, swapper_pg_dir), and a CPU whose base pointer is
 * still `mm`'s pgd loads swapper_pg_dir. The IPI is modelled as synchronous; the CPU takes it
 * only after issuing any batch it was building (a context switch in lazy CPU mode).
 */
function* drop_other_mm_ref(k: Kernel, c: LinuxCpu, mm: MmStruct): KGen<void> {
  const st = xenState(k);
  if (st.mc[c.index].slots.length > 0)
    st.xen.multicall(
      c.index,
      takeBatch(k, c).map((x) => x.entry),
    );
  if (c.tlbActiveMm === mm && c.tlbState !== 'ok' && mm.cpumask & (1 << c.index)) {
    mm.cpumask &= ~(1 << c.index); // leave_mm(): cpumask_clear_cpu(cpu, mm_cpumask(active_mm))
    st.xenCr3[c.index] = BigInt(k.init_mm.pgd); // ... load_cr3(swapper_pg_dir)
    st.xen.new_guest_cr3(c.index, pfn_to_mfn(k.init_mm.pgd / 4096));
    c.cr3Epoch++;
  }
  // this_cpu_read(xen_current_cr3) == __pa(mm->pgd): the base pointer Xen has installed.
  if (st.xen.guestTable[c.index] === pfn_to_mfn(mm.pgd / 4096)) {
    st.xenCr3[c.index] = BigInt(k.init_mm.pgd);
    st.xen.new_guest_cr3(c.index, pfn_to_mfn(k.init_mm.pgd / 4096));
    c.cr3Epoch++;
  }
}

/**
 * xen_drop_mm_ref(mm) (SMP, 3.8 arch/x86/xen/mmu.c): on this CPU, if current->active_mm is `mm`,
 * load_cr3(swapper_pg_dir) when current->mm is `mm` too, else leave_mm() (the exit path: exit_mm()
 * already cleared current->mm, so the CPU also leaves mm_cpumask). Then drop_other_mm_ref() on
 * every other CPU in mm_cpumask(mm) or whose xen_current_cr3 is `mm`'s pgd, so that the pgd can
 * be unpinned.
 */
function* xen_drop_mm_ref(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
  const st = xenState(k);
  if (cpu.curr.active_mm === mm) {
    if (cpu.curr.mm === mm) {
      yield* xen_write_cr3(k, cpu, BigInt(k.init_mm.pgd)); // load_cr3(swapper_pg_dir)
      yield* xen_mc_flush(k, cpu);
    } else yield* leave_mm(k, cpu);
  }
  const pgdMfn = pfn_to_mfn(mm.pgd / 4096);
  for (const c of k.cpus) {
    if (c === cpu) continue; // smp_call_function_many() skips the calling CPU
    if (!(mm.cpumask & (1 << c.index)) && st.xen.guestTable[c.index] !== pgdMfn) continue;
    yield* drop_other_mm_ref(k, c, mm);
  }
}

/** paravirt_start_context_switch(prev): park prev's lazy MMU mode (TIF_LAZY_MMU_UPDATES), enter lazy CPU mode. */
// A plain function when CPU is not in lazy MMU mode (the caller delegates at once): a generator
// only for a batch to flush.
function start_context_switch(k: Kernel, cpu: LinuxCpu, prev: unknown): KGen<void> {
  if (cpu.lazyMode === 'mmu') return start_context_switch_lazy_mmu(k, cpu, prev);
  enter_lazy_cpu(cpu);
  return DONE;
}

function* start_context_switch_lazy_mmu(k: Kernel, cpu: LinuxCpu, prev: unknown): KGen<void> {
  yield* xen_leave_lazy_mmu(k, cpu);
  xenState(k).lazyMmuTasks.add(prev as TaskStruct);
  enter_lazy_cpu(cpu);
}

function enter_lazy_cpu(cpu: LinuxCpu): void {
  if (cpu.lazyMode !== 'none') throw new Error(`cpu${cpu.index}: enter_lazy(PARAVIRT_LAZY_CPU) in lazy mode '${cpu.lazyMode}'`);
  cpu.lazyMode = 'cpu';
}

/** xen_end_context_switch(next): xen_mc_flush(); paravirt_end_context_switch(next). */
function* end_context_switch(k: Kernel, cpu: LinuxCpu, next: unknown): KGen<void> {
  const st = xenState(k);
  yield* xen_mc_flush(k, cpu);
  if (cpu.lazyMode !== 'cpu') throw new Error(`cpu${cpu.index}: leave_lazy(PARAVIRT_LAZY_CPU) in lazy mode '${cpu.lazyMode}'`);
  cpu.lazyMode = 'none';
  if (st.lazyMmuTasks.delete(next as TaskStruct)) paravirt_enter_lazy_mmu(cpu);
}

/** xen_leave_lazy_mmu(): issue the batch, then leave lazy MMU mode. */
function* xen_leave_lazy_mmu(k: Kernel, cpu: LinuxCpu): KGen<void> {
  preempt_disable(cpu);
  yield* xen_mc_flush(k, cpu);
  paravirt_leave_lazy_mmu(cpu);
  yield* preempt_enable(cpu);
}

/**
 * Runs xen_pagetable_init() once, before the first paravirt operation after boot (the Kernel
 * builds init_mm after creating its backend, and the pv ops table has no boot hook).
 */
function ensureBooted(k: Kernel, st: XenPvState): void {
  if (st.booted) return;
  st.booted = true;
  xen_pagetable_init(k);
  disable_vmap_lazy_unmap(k); // xen_init_mmu_ops(): vmap_lazy_unmap = false (before 2.6.37-rc5)
}

/**
 * Runs the Xen side of the boot now if no paravirt operation has yet (what the first one would
 * do): the fuzzer calls it before snapshotting a booted kernel, so the snapshot includes it.
 */
export function xen_boot_now(k: Kernel): void {
  ensureBooted(k, xenPvState(k));
}

/** Wraps every op so that the first one boots the Xen side (see ensureBooted). */
function withBoot<T extends object>(k: Kernel, st: XenPvState, ops: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(ops)) {
    if (typeof f === 'function') {
      out[name] = (...args: unknown[]) => {
        ensureBooted(k, st);
        return (f as (...a: unknown[]) => unknown)(...args);
      };
    } else out[name] = f && typeof f === 'object' ? withBoot(k, st, f as object) : f;
  }
  return out as T;
}

/** The Xen PV backend for kernel `k`. */
export function xenPvOps(k: Kernel): PvOps {
  // Before the kernel builds its page tables: Xen's pv_cpuid() hides PGE (xen/arch/x86/traps.c,
  // 4.1.0 line 746), and xen_start_kernel() drops _PAGE_GLOBAL from __supported_pte_mask
  // (arch/x86/xen/enlighten.c, 3.8.13 line 1358): no global kernel mappings in a PV guest.
  k.cpu_has_pge = false;
  k.__supported_pte_mask &= ~_PAGE_GLOBAL;
  const st = xenPvState(k);
  k.otherConsoles.push(() => st.xen.console.text());
  const ops = xenOps(k, st);
  return { name: ops.name, mmu: withBoot(k, st, ops.mmu), cpu: withBoot(k, st, ops.cpu) };
}

function xenOps(k: Kernel, st: XenPvState): PvOps {
  return {
    name: 'xen-pv',
    mmu: {
      read_cr2: (_k, cpu) => cpu.hw.cr2,
      read_cr3: (_k, cpu) => st.xenCr3[cpu.index],
      write_cr3: xen_write_cr3,
      flush_tlb_user: (k2, cpu) => local_flush(k2, cpu, null),
      flush_tlb_kernel: (k2, cpu) => local_flush(k2, cpu, null),
      flush_tlb_single: (k2, cpu, addr) => local_flush(k2, cpu, addr),
      flush_tlb_others: xen_flush_tlb_others,
      pgd_alloc: function* () {},
      pgd_free: function* () {},
      alloc_pte: (k2, cpu, mm, pfn) => xen_alloc_ptpage(k2, cpu, mm, pfn, 'pte'),
      alloc_pmd: (k2, cpu, mm, pfn) => xen_alloc_ptpage(k2, cpu, mm, pfn, 'pmd'),
      alloc_pud: (k2, cpu, mm, pfn) => xen_alloc_ptpage(k2, cpu, mm, pfn, 'pud'),
      release_pte: (k2, cpu, pfn) => xen_release_ptpage(k2, cpu, pfn, 'pte'),
      release_pmd: (k2, cpu, pfn) => xen_release_ptpage(k2, cpu, pfn, 'pmd'),
      release_pud: (k2, cpu, pfn) => xen_release_ptpage(k2, cpu, pfn, 'pud'),
      set_pte: (k2, cpu, ptep, pte) => __xen_set_pte(k2, cpu, ptep, pte, 'xen_set_pte'),
      set_pte_at: (k2, cpu, mm, addr, ptep, pte) => {
        k2.observers.pteStore?.(cpu, mm, addr, 'set_pte_at', paravirt_get_lazy_mode(cpu) === 'mmu');
        return __xen_set_pte(k2, cpu, ptep, pte, 'xen_set_pte_at');
      },
      // xen_pte_clear(): xen_batched_set_pte(ptep, 0) or native_pte_clear() (trapped and emulated).
      pte_clear: function* (k2, cpu, mm, addr, ptep) {
        const lazy = paravirt_get_lazy_mode(cpu) === 'mmu';
        k2.observers.pteStore?.(cpu, mm, addr, 'pte_clear', lazy);
        if (lazy) yield* __xen_set_pte(k2, cpu, ptep, 0n, 'xen_pte_clear');
        else yield* directStore(k2, cpu, ptep, 0n, 'xen_pte_clear');
      },
      ptep_modify_prot_start: xen_ptep_modify_prot_start,
      ptep_modify_prot_commit: xen_ptep_modify_prot_commit,
      set_pmd: (k2, cpu, p, v) => set_upper(k2, cpu, p, v, 'xen_set_pmd'),
      pmd_clear: (k2, cpu, p) => set_upper(k2, cpu, p, 0n, 'xen_set_pmd'),
      set_pud: (k2, cpu, p, v) => set_upper(k2, cpu, p, v, 'xen_set_pud'),
      set_pgd: (k2, cpu, p, v) => set_upper(k2, cpu, p, v, 'xen_set_pgd'),
      // xen_dup_mmap() / xen_activate_mm(): pin the new pgd; xen_exit_mmap(): drop refs, unpin.
      dup_mmap: (k2, cpu, _old, mm) => xen_pgd_pin(k2, cpu, mm),
      activate_mm: function* (k2, cpu, _prev, next) {
        if (!xen_page_pinned(k2, next.pgd)) yield* xen_pgd_pin(k2, cpu, next);
      },
      exit_mmap: function* (k2, cpu, mm) {
        yield* xen_drop_mm_ref(k2, cpu, mm);
        yield* xen_pgd_unpin(k2, cpu, mm);
      },
      lazy_mode: {
        enter: function* (_k2, cpu) {
          paravirt_enter_lazy_mmu(cpu);
        },
        leave: xen_leave_lazy_mmu,
        // paravirt_flush_lazy_mmu(): leave and re-enter, so the batch is issued and the CPU stays lazy.
        flush: function* (k2, cpu) {
          preempt_disable(cpu);
          if (paravirt_get_lazy_mode(cpu) === 'mmu') {
            yield* xen_leave_lazy_mmu(k2, cpu);
            paravirt_enter_lazy_mmu(cpu);
          }
          yield* preempt_enable(cpu);
        },
      },
    },
    cpu: { start_context_switch, end_context_switch },
  };
}
