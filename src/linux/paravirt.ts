/**
 * The paravirt operations table, as in arch/x86/include/asm/paravirt_types.h (3.x): every
 * page-table write, CR3 access, TLB flush, and the lazy MMU mode hooks of the model go through
 * `k.pv.mmu` (struct pv_mmu_ops) and `k.pv.cpu` (the context-switch hooks of struct
 * pv_cpu_ops). The native backend (arch/x86/kernel/paravirt.c: native_set_pte, native_write_cr3,
 * native_flush_tlb..., paravirt_nop for lazy mode) lives in native.ts; another backend (Xen PV)
 * registers itself with `registerPvBackend` and is selected by the `paravirt` knob.
 *
 * Every op is a generator so that a backend may yield (a hypercall is an interleaving point);
 * the native ops mostly do not. `ptep`, `pmdp`... are physical addresses of entries.
 */
import { PagewalkError } from '../core/errors.js';
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import type { MmStruct } from './structs.js';

/** Lazy mode of a CPU (enum paravirt_lazy_mode). */
export type LazyMode = 'none' | 'mmu' | 'cpu';

/** struct pv_mmu_ops. */
export interface PvMmuOps {
  read_cr2(k: Kernel, cpu: LinuxCpu): bigint;
  read_cr3(k: Kernel, cpu: LinuxCpu): bigint;
  write_cr3(k: Kernel, cpu: LinuxCpu, cr3: bigint): KGen<void>;

  /** Flush this CPU's non-global TLB entries (__flush_tlb). */
  flush_tlb_user(k: Kernel, cpu: LinuxCpu): KGen<void>;
  /** Flush everything including global entries (__flush_tlb_global). */
  flush_tlb_kernel(k: Kernel, cpu: LinuxCpu): KGen<void>;
  /** Flush one page (__flush_tlb_single: INVLPG). */
  flush_tlb_single(k: Kernel, cpu: LinuxCpu, addr: bigint): KGen<void>;
  /** Flush other CPUs (bitmask `cpumask`) for `mm` in [start, end) (end 0n = all). */
  flush_tlb_others(k: Kernel, cpu: LinuxCpu, cpumask: number, mm: MmStruct | null, start: bigint, end: bigint): KGen<void>;

  /** paravirt_pgd_alloc/free: after the pgd is built, before it is freed. */
  pgd_alloc(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void>;
  pgd_free(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void>;
  /** paravirt_alloc_pte/pmd/pud: a new page-table page `pfn` is about to be hooked in. */
  alloc_pte(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pfn: number): KGen<void>;
  alloc_pmd(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pfn: number): KGen<void>;
  alloc_pud(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pfn: number): KGen<void>;
  /** paravirt_release_pte/pmd/pud: a page-table page is being freed. */
  release_pte(k: Kernel, cpu: LinuxCpu, pfn: number): KGen<void>;
  release_pmd(k: Kernel, cpu: LinuxCpu, pfn: number): KGen<void>;
  release_pud(k: Kernel, cpu: LinuxCpu, pfn: number): KGen<void>;

  set_pte(k: Kernel, cpu: LinuxCpu, ptep: number, pte: bigint): KGen<void>;
  set_pte_at(k: Kernel, cpu: LinuxCpu, mm: MmStruct, addr: bigint, ptep: number, pte: bigint): KGen<void>;
  pte_clear(k: Kernel, cpu: LinuxCpu, mm: MmStruct, addr: bigint, ptep: number): KGen<void>;
  /**
   * ptep_modify_prot_start(mm, addr, ptep): the pte's value at the start of a protection change
   * (mprotect's change_pte_range). Native clears the pte (ptep_get_and_clear) so that hardware
   * cannot update A/D behind the kernel's back; Xen returns it as is.
   */
  ptep_modify_prot_start(k: Kernel, cpu: LinuxCpu, mm: MmStruct, addr: bigint, ptep: number): KGen<bigint>;
  /** ptep_modify_prot_commit(mm, addr, ptep, pte): store the modified pte (native set_pte_at; Xen mmu_update PRESERVE_AD). */
  ptep_modify_prot_commit(k: Kernel, cpu: LinuxCpu, mm: MmStruct, addr: bigint, ptep: number, pte: bigint): KGen<void>;
  set_pmd(k: Kernel, cpu: LinuxCpu, pmdp: number, pmd: bigint): KGen<void>;
  pmd_clear(k: Kernel, cpu: LinuxCpu, pmdp: number): KGen<void>;
  set_pud(k: Kernel, cpu: LinuxCpu, pudp: number, pud: bigint): KGen<void>;
  set_pgd(k: Kernel, cpu: LinuxCpu, pgdp: number, pgd: bigint): KGen<void>;

  /** arch_dup_mmap / arch_exit_mmap / activate_mm hooks (Xen pins and unpins here). */
  dup_mmap(k: Kernel, cpu: LinuxCpu, oldmm: MmStruct, mm: MmStruct): KGen<void>;
  exit_mmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void>;
  activate_mm(k: Kernel, cpu: LinuxCpu, prev: MmStruct | null, next: MmStruct): KGen<void>;

  /** struct pv_lazy_ops: arch_enter/leave/flush_lazy_mmu_mode(). */
  lazy_mode: {
    enter(k: Kernel, cpu: LinuxCpu): KGen<void>;
    leave(k: Kernel, cpu: LinuxCpu): KGen<void>;
    flush(k: Kernel, cpu: LinuxCpu): KGen<void>;
  };
}

/** The context-switch hooks of struct pv_cpu_ops (arch_start/end_context_switch). */
export interface PvCpuOps {
  start_context_switch(k: Kernel, cpu: LinuxCpu, prev: unknown): KGen<void>;
  end_context_switch(k: Kernel, cpu: LinuxCpu, next: unknown): KGen<void>;
}

/** A complete backend. */
export interface PvOps {
  readonly name: string;
  readonly mmu: PvMmuOps;
  readonly cpu: PvCpuOps;
}

/** Builds a backend for one kernel instance (a backend may keep per-machine state). */
export type PvBackendFactory = (k: Kernel) => PvOps;

const BACKENDS = new Map<string, PvBackendFactory>();

/** Registers a paravirt backend under the name the `paravirt` knob selects it by. */
export function registerPvBackend(name: string, factory: PvBackendFactory): void {
  if (BACKENDS.has(name)) throw new Error(`paravirt backend '${name}' is already registered`);
  BACKENDS.set(name, factory);
}

/** The backend factory for `name`, or a user error listing the registered ones. */
export function pvBackend(name: string): PvBackendFactory {
  const f = BACKENDS.get(name);
  if (!f) throw new PagewalkError('EINVAL_ARG', `knob 'paravirt': unknown backend '${name}' (registered: ${[...BACKENDS.keys()].join(', ')})`);
  return f;
}

/** Names of the registered backends. */
export function listPvBackends(): string[] {
  return [...BACKENDS.keys()];
}

/**
 * paravirt_enter_lazy_mmu() (arch/x86/kernel/paravirt.c): the generic lazy-mode bookkeeping a
 * backend calls from its lazy_mode.enter; BUG_ON(this_cpu_read(paravirt_lazy_mode) != NONE).
 */
export function paravirt_enter_lazy_mmu(cpu: LinuxCpu): void {
  if (cpu.lazyMode !== 'none') throw new Error(`cpu${cpu.index}: paravirt_enter_lazy_mmu in lazy mode '${cpu.lazyMode}'`);
  cpu.lazyMode = 'mmu';
}

/** paravirt_leave_lazy_mmu(). */
export function paravirt_leave_lazy_mmu(cpu: LinuxCpu): void {
  if (cpu.lazyMode !== 'mmu') throw new Error(`cpu${cpu.index}: paravirt_leave_lazy_mmu in lazy mode '${cpu.lazyMode}'`);
  cpu.lazyMode = 'none';
}

/** paravirt_get_lazy_mode(): NONE while in interrupt context (as the kernel does). */
export function paravirt_get_lazy_mode(cpu: LinuxCpu): LazyMode {
  return cpu.inInterrupt() ? 'none' : cpu.lazyMode;
}
