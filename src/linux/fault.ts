/**
 * The x86 page-fault handler, arch/x86/mm/fault.c: do_page_fault() -> __do_page_fault():
 * kernel-space faults try vmalloc_fault(), then spurious_fault(), else no_context() (oops);
 * user-space addresses go to find_vma()/access_error()/handle_mm_fault().
 *
 * vmalloc_fault() in every variant the real releases had (knob `vmalloc_fault`, paging mode); see
 * docs/provenance.md for the trees read:
 * - 64-bit, 'active_mm' (before 3.9): syncs the pgd of current->active_mm with init_mm's entry by
 *   set_pgd(), then BUG()s on any mismatch below (seed 000's oops).
 * - 64-bit, 'active_mm+flush' (3.9..4.7): the same plus arch_flush_lazy_mmu_mode() after set_pgd().
 *   3.18 shipped this form: Linus's rewrite in seed 004 (copy only the top-level entry from CR3,
 *   drop vmalloc_sync_all()) was not merged.
 * - 64-bit, 'read_cr3' (4.8 on): the same walk and checks on the pgd in CR3
 *   (`pgd = (pgd_t *)__va(read_cr3()) + pgd_index(address)`), the one line that differs between
 *   the 4.7.4 and 4.8.15 fault.c. Every 64-bit variant keeps WARN_ON_ONCE(in_nmi()).
 * - 32-bit: read_cr3() + vmalloc_sync_one() in every version ("Do _not_ use current here"), with
 *   the same WARN_ON_ONCE(in_nmi()); with native PAE the kernel pmd is shared, so it never runs.
 * BUG()/WARN lines are printed only for a release whose fault.c was read (FAULT_C_LINES) and for
 * the variant that release shipped; otherwise the report names the function and says the line is
 * unknown.
 */
import { hwAccess } from '../modelcpu/access.js';
import type { ModelCpu, TrapHandlers } from '../modelcpu/cpu.js';
import type { KGen } from '../scheduler/types.js';
import { _PAGE_NX, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, PF_INSTR, PF_PROT, PF_RSVD, PF_USER, PF_WRITE } from './constants.js';
import { versionNumber, type VmallocFaultVariant } from './config.js';
import { do_exit } from './exit.js';
import type { Kernel } from './kernel.js';
import { FAULT_FLAG_WRITE, find_vma, handle_mm_fault } from './memory.js';
import { VM_FAULT_SIGBUS } from './filemap.js';
import type { LinuxCpu } from './percpu.js';
import {
  entryAddr,
  pgd_none,
  pgd_offset_k,
  pgd_offset_pgd,
  pgd_present,
  pmd_offset,
  pmd_present,
  pte_offset_kernel,
  pud_none,
  pud_offset,
  pud_present,
  readEntry,
  set_pgd,
  set_pmd,
} from './pgtable.js';
import { local_irq_enable } from './preempt.js';
import { down_read, down_read_trylock, up_read } from './rwsem.js';
import { VM_EXEC, VM_READ, VM_WRITE } from './structs.js';
import { defineKernelState } from './kstate.js';
import { enterFn, traced } from '../scheduler/traced.js';
import { mustYield } from '../scheduler/point.js';

const FAULT_C = 'arch/x86/mm/fault.c';

/** Source lines of the 64-bit vmalloc_fault() sites in arch/x86/mm/fault.c. */
interface Fault64Lines {
  readonly warn_nmi: number;
  readonly pgd_bug_on: number;
  readonly pud_bug: number;
  readonly pmd_bug: number;
  readonly pte_bug: number;
}
/** The 32-bit sites: vmalloc_sync_one()'s BUG_ON and vmalloc_fault()'s WARN_ON_ONCE(in_nmi()). */
interface Fault32Lines {
  readonly sync_one_bug_on: number;
  readonly warn_nmi: number;
}
interface FaultCRelease {
  /** The 64-bit variant the release shipped (other variants set by knob print no line). */
  readonly variant: VmallocFaultVariant;
  readonly x86_64: Fault64Lines;
  readonly x86_32: Fault32Lines;
}

const L64 = (warn_nmi: number, pgd_bug_on: number, pud_bug: number, pmd_bug: number, pte_bug: number): Fault64Lines => ({
  warn_nmi,
  pgd_bug_on,
  pud_bug,
  pmd_bug,
  pte_bug,
});
const L32 = (sync_one_bug_on: number, warn_nmi: number): Fault32Lines => ({ sync_one_bug_on, warn_nmi });

/**
 * fault.c lines per release, each read in that release's tree (docs/provenance.md names the tree
 * and how it was checked). 3.8 is the pre-fix file of seed 000's hunk (blob 2b97525: lines
 * 378-387) with the rest of the layout of 3.8.13 less the fix's two lines; 3.9 is the fix's
 * post-image (0e88336, identical to 3.9.6's fault.c). 4.13 and 4.14 also have a p4d BUG_ON
 * (483, 486) that 4-level paging never reaches.
 */
export const FAULT_C_LINES: Readonly<Record<string, FaultCRelease>> = {
  '2.6.37': { variant: 'active_mm', x86_64: L64(367, 382, 395, 403, 417), x86_32: L32(217, 269) },
  '3.2': { variant: 'active_mm', x86_64: L64(368, 383, 396, 404, 418), x86_32: L32(219, 270) },
  '3.8': { variant: 'active_mm', x86_64: L64(369, 384, 397, 405, 419), x86_32: L32(220, 271) },
  '3.9': { variant: 'active_mm+flush', x86_64: L64(369, 385, 399, 407, 421), x86_32: L32(220, 271) },
  '3.13': { variant: 'active_mm+flush', x86_64: L64(380, 396, 410, 418, 432), x86_32: L32(231, 282) },
  '3.18': { variant: 'active_mm+flush', x86_64: L64(373, 389, 403, 411, 425), x86_32: L32(223, 274) },
  '4.4': { variant: 'active_mm+flush', x86_64: L64(377, 393, 407, 415, 429), x86_32: L32(225, 276) },
  '4.6': { variant: 'active_mm+flush', x86_64: L64(435, 451, 465, 476, 493), x86_32: L32(282, 333) },
  '4.7': { variant: 'active_mm+flush', x86_64: L64(435, 451, 465, 476, 493), x86_32: L32(282, 333) },
  '4.8': { variant: 'read_cr3', x86_64: L64(435, 451, 465, 476, 493), x86_32: L32(282, 333) },
  '4.13': { variant: 'read_cr3', x86_64: L64(447, 470, 497, 508, 525), x86_32: L32(289, 340) },
  '4.14': { variant: 'read_cr3', x86_64: L64(450, 473, 500, 511, 528), x86_32: L32(288, 339) },
};

/**
 * The verified fault.c lines for a kernel version and 64-bit variant (null for the 32-bit sites,
 * which do not depend on it), or null: release candidates and -rt trees (not read), releases not
 * read, and a 64-bit variant the release did not ship.
 */
export function faultCLines(version: string, variant: VmallocFaultVariant | null): FaultCRelease | null {
  if (/-(rc|rt)/.test(version)) return null;
  const m = /^(2\.6\.\d+|\d+\.\d+)/.exec(version);
  const r = m ? FAULT_C_LINES[m[1]] : undefined;
  return r && (variant === null || r.variant === variant) ? r : null;
}

/** Counters of the fault paths taken (for tests and the fuzzer's coverage). */
export interface FaultStats {
  vmallocFaults: number;
  vmallocSyncs: number;
  userFaults: number;
}

export const faultStats = defineKernelState((): FaultStats => ({ vmallocFaults: 0, vmallocSyncs: 0, userFaults: 0 }));

/** The trap handlers a Linux kernel installs on its CPUs. */
export function linuxTraps(k: Kernel): TrapHandlers {
  return {
    pageFault: (cpu: ModelCpu, address: bigint, errorCode: number, regsIF: boolean) => do_page_fault(k, cpu as LinuxCpu, address, errorCode, regsIF),
    generalProtection: function* (cpu: ModelCpu, va: bigint): KGen<void> {
      k.oops(cpu as LinuxCpu, `general protection fault: 0000 [#1]`, 0, cpu.thread().fnStack.at(-1) ?? '?', [
        `pagewalk: non-canonical address 0x${va.toString(16)}`,
      ]);
    },
  };
}

/** do_page_fault(regs, error_code); `regsIF` is EFLAGS.IF of the interrupted context. */
export function* do_page_fault(k: Kernel, cpu: LinuxCpu, address: bigint, error_code: number, regsIF: boolean): KGen<void> {
  const fns = enterFn(cpu, 'do_page_fault');
  try {
    k.lockup.onFault(cpu, address, error_code, regsIF);
    yield* __do_page_fault(k, cpu, address, error_code, regsIF);
  } finally {
    fns.pop();
  }
  k.observers.pageFaultReturn?.(cpu, address, error_code);
}

/** fault_in_kernel_space(): address >= TASK_SIZE_MAX. */
function fault_in_kernel_space(k: Kernel, address: bigint): boolean {
  return (address & k.L.VA_MASK) >= k.L.TASK_SIZE;
}

function* __do_page_fault(k: Kernel, cpu: LinuxCpu, address: bigint, error_code: number, regsIF: boolean): KGen<void> {
  const user = (error_code & PF_USER) !== 0;
  if (fault_in_kernel_space(k, address)) {
    if (!(error_code & (PF_RSVD | PF_USER | PF_PROT))) {
      if ((yield* vmalloc_fault(k, cpu, address)) >= 0) return;
    }
    if (spurious_fault(k, error_code, address)) {
      cpu.lastFaultNote = `spurious_fault() accepted the fault at 0x${address.toString(16)}`;
      return;
    }
    yield* bad_area_nosemaphore(k, cpu, address, error_code);
    return;
  }
  if (error_code & PF_RSVD) {
    k.oops(cpu, `${cpu.curr.comm}: Corrupted page table at address ${address.toString(16)}`, error_code, 'pgtable_bad');
  }
  if (user || regsIF) local_irq_enable(cpu);
  const mm = cpu.curr.mm;
  if (cpu.inAtomic() || !mm) {
    yield* bad_area_nosemaphore(k, cpu, address, error_code);
    return;
  }
  // down_read_trylock(&mm->mmap_sem), else a kernel-mode fault without an exception-table
  // fixup (the model has none) is a bug, and a user fault sleeps in down_read().
  if (!down_read_trylock(mm.mmap_sem, cpu.curr)) {
    if (!user) {
      yield* bad_area_nosemaphore(k, cpu, address, error_code);
      return;
    }
    yield* down_read(k, cpu, mm.mmap_sem);
  }
  if (mustYield('do_page_fault:down_read_mmap_sem')) yield 'do_page_fault:down_read_mmap_sem';
  const vma = find_vma(mm, address);
  if (!vma || vma.vm_start > address || access_error(error_code, vma.vm_flags)) {
    up_read(mm.mmap_sem, cpu.curr); // bad_area(): the semaphore is dropped before the signal
    yield* bad_area_nosemaphore(k, cpu, address, error_code);
    return;
  }
  faultStats(k).userFaults++;
  const flags = error_code & PF_WRITE ? FAULT_FLAG_WRITE : 0;
  const fault = yield* handle_mm_fault(k, cpu, mm, vma, address, flags);
  up_read(mm.mmap_sem, cpu.curr);
  if (fault & VM_FAULT_SIGBUS) yield* do_sigbus(k, cpu, address, error_code); // mm_fault_error()
}

/**
 * do_sigbus() (arch/x86/mm/fault.c, reached through mm_fault_error() after up_read(mmap_sem)): a
 * kernel-mode fault without a fixup goes to no_context() (oops); a user task gets SIGBUS
 * (force_sig_info_fault(SIGBUS, BUS_ADRERR)), which kills it. Nothing is printed.
 */
function do_sigbus(k: Kernel, cpu: LinuxCpu, address: bigint, error_code: number): KGen<void> {
  if (!(error_code & PF_USER)) {
    k.oops(cpu, `BUG: unable to handle kernel paging request at ${address.toString(16).padStart(k.L.entrySize * 2, '0')}`, error_code, 'do_sigbus');
  }
  k.observers.sigbus?.(cpu, address, error_code);
  return do_exit(k, cpu, 7); // SIGBUS
}

/** access_error(error_code, vma). */
function access_error(error_code: number, vm_flags: number): boolean {
  if (error_code & PF_WRITE) return !(vm_flags & VM_WRITE);
  if (error_code & PF_PROT) return true; // read, present
  return !(vm_flags & (VM_READ | VM_EXEC | VM_WRITE)); // read, not present
}

/**
 * spurious_fault() / spurious_fault_check(): init_mm's tables already allow the access. Before
 * 3.16 only user and reserved-bit faults are excluded up front; from 3.16 (commit 31668511424110ad,
 * "x86: skip check for spurious faults for non-present faults", from the Xen _PAGE_IOMAP removal
 * series) only a supervisor write or fetch protection fault can be spurious.
 */
function spurious_fault(k: Kernel, error_code: number, address: bigint): boolean {
  if (versionNumber(k.config.version) >= 3016) {
    if (error_code !== (PF_WRITE | PF_PROT) && error_code !== (PF_INSTR | PF_PROT)) return false;
  } else if (error_code & (PF_USER | PF_RSVD)) return false;
  const check = (v: bigint): boolean => !((error_code & PF_WRITE && !(v & _PAGE_RW)) || (error_code & PF_INSTR && v & _PAGE_NX));
  const pgdp = pgd_offset_k(k, address);
  if (!pgd_present(k, pgdp)) return false;
  const pudp = pud_offset(k, pgdp, address);
  if (!pud_present(k, pudp)) return false;
  if (!k.L.pmdFolded && readEntry(k, pudp) & _PAGE_PSE) return check(readEntry(k, pudp));
  const pmdp = pmd_offset(k, pudp, address);
  if (!pmd_present(k, pmdp)) return false;
  if (readEntry(k, pmdp) & _PAGE_PSE) return check(readEntry(k, pmdp));
  const ptep = pte_offset_kernel(k, pmdp, address);
  const pte = readEntry(k, ptep);
  if (!(pte & _PAGE_PRESENT)) return false;
  return check(pte) && check(readEntry(k, pmdp));
}

/** bad_area_nosemaphore(): SIGSEGV for user mode, no_context() (oops) for the kernel. */
function* bad_area_nosemaphore(k: Kernel, cpu: LinuxCpu, address: bigint, error_code: number): KGen<void> {
  if (error_code & PF_USER) {
    const t = cpu.curr;
    // show_signal_msg(); ip/sp are not modelled.
    k.printk(`${t.comm}[${t.pid}]: segfault at ${address.toString(16)} error ${error_code.toString(16)}`);
    k.observers.sigsegv?.(cpu, address, error_code);
    yield* do_exit(k, cpu, 11); // force_sig_info_fault(SIGSEGV) -> the task dies
    return;
  }
  const what = address < 4096n ? 'NULL pointer dereference' : 'paging request';
  k.oops(
    cpu,
    `BUG: unable to handle kernel ${what} at ${address.toString(16).padStart(k.L.entrySize * 2, '0')}`,
    error_code,
    cpu.thread().fnStack.at(-2) ?? 'do_page_fault',
  );
}

/** vmalloc_fault(address): 0 when handled, -1 when not a vmalloc fault. */
export function* vmalloc_fault(k: Kernel, cpu: LinuxCpu, address: bigint): KGen<number> {
  const r = yield* traced(cpu, 'vmalloc_fault', () => (k.L.paging === '4level' ? vmalloc_fault_64(k, cpu, address) : vmalloc_fault_32(k, cpu, address)));
  if (r === 0) faultStats(k).vmallocFaults++;
  return r;
}

function inVmalloc(k: Kernel, address: bigint): boolean {
  const a = address & k.L.VA_MASK;
  return a >= k.L.VMALLOC_START && a < k.L.VMALLOC_END;
}

/**
 * 64-bit vmalloc_fault(): syncs current->active_mm's pgd before 4.8, the pgd in CR3 from 4.8 on,
 * with init_mm's entry; BUG()s on any mismatch below.
 */
function* vmalloc_fault_64(k: Kernel, cpu: LinuxCpu, address: bigint): KGen<number> {
  const variant = k.config.vmalloc_fault;
  const lines = faultCLines(k.config.version, variant)?.x86_64 ?? null;
  if (!inVmalloc(k, address)) return -1;
  if (cpu.nmiDepth > 0) k.WARN_ON_ONCE(cpu, FAULT_C, lines?.warn_nmi ?? null, 'vmalloc_fault'); // WARN_ON_ONCE(in_nmi())
  // Copy kernel mappings over when needed. This can also happen within a race in page table
  // update. In the later case just flush:
  let pgd: number;
  if (variant === 'read_cr3') pgd = Number(k.pv.mmu.read_cr3(k, cpu) & k.L.PTE_PFN_MASK);
  else {
    const active = cpu.curr.active_mm;
    if (!active) {
      // pgd_offset(NULL, address) reads NULL->pgd: offsetof(struct mm_struct, pgd) is 0x40 in
      // 3.18's mm_types.h (read); other releases' layout was not read.
      const at = versionNumber(k.config.version) === 3018 ? '0000000000000040' : '0000000000000000';
      const note = at === '0000000000000040' ? [] : ['pagewalk: offsetof(struct mm_struct, pgd) not verified for this version; printed as 0'];
      k.oops(cpu, `BUG: unable to handle kernel NULL pointer dereference at ${at}`, 0, 'vmalloc_fault', [
        'pagewalk: current->active_mm is NULL (a kernel thread in context_switch() after prev->active_mm = NULL)',
        ...note,
      ]);
    }
    pgd = active.pgd;
  }
  const pgdp = pgd_offset_pgd(k, pgd, address);
  const pgd_ref = pgd_offset_k(k, address);
  if (pgd_none(k, pgd_ref)) return -1;
  if (pgd_none(k, pgdp)) {
    yield* set_pgd(k, cpu, pgdp, readEntry(k, pgd_ref));
    faultStats(k).vmallocSyncs++;
    if (mustYield('vmalloc_fault:after_set_pgd')) yield 'vmalloc_fault:after_set_pgd';
    if (variant !== 'active_mm') yield* k.pv.mmu.lazy_mode.flush(k, cpu); // arch_flush_lazy_mmu_mode()
  } else if (entryAddr(k.L, readEntry(k, pgdp)) !== entryAddr(k.L, readEntry(k, pgd_ref))) {
    k.BUG(cpu, FAULT_C, lines?.pgd_bug_on ?? null, 'vmalloc_fault');
  }
  // Below here mismatches are bugs because these lower tables are shared:
  const pudp = pud_offset(k, pgdp, address);
  const pud_ref = pud_offset(k, pgd_ref, address);
  if (pud_none(k, pud_ref)) return -1;
  if (pud_none(k, pudp) || entryAddr(k.L, readEntry(k, pudp)) !== entryAddr(k.L, readEntry(k, pud_ref)))
    k.BUG(cpu, FAULT_C, lines?.pud_bug ?? null, 'vmalloc_fault');
  const pmdp = pmd_offset(k, pudp, address);
  const pmd_ref = pmd_offset(k, pud_ref, address);
  if (readEntry(k, pmd_ref) === 0n) return -1;
  if (readEntry(k, pmdp) === 0n || entryAddr(k.L, readEntry(k, pmdp)) !== entryAddr(k.L, readEntry(k, pmd_ref)))
    k.BUG(cpu, FAULT_C, lines?.pmd_bug ?? null, 'vmalloc_fault');
  const pte_ref = pte_offset_kernel(k, pmd_ref, address);
  if (!(readEntry(k, pte_ref) & _PAGE_PRESENT)) return -1;
  const ptep = pte_offset_kernel(k, pmdp, address);
  if (!(readEntry(k, ptep) & _PAGE_PRESENT) || entryAddr(k.L, readEntry(k, ptep)) !== entryAddr(k.L, readEntry(k, pte_ref)))
    k.BUG(cpu, FAULT_C, lines?.pte_bug ?? null, 'vmalloc_fault');
  const whose = variant === 'read_cr3' ? 'the pgd in CR3' : "current->active_mm's pgd";
  cpu.lastFaultNote = `vmalloc_fault() found ${whose} (0x${pgd.toString(16)}) in sync with init_mm for 0x${address.toString(16)} and returned 0`;
  return 0;
}

/** vmalloc_sync_one(pgd, address) (32-bit): returns pmd_k or 0 (NULL). */
export function* vmalloc_sync_one(k: Kernel, cpu: LinuxCpu, pgd: number, address: bigint): KGen<number> {
  const pgdp = pgd_offset_pgd(k, pgd, address);
  const pgd_k = pgd_offset_k(k, address);
  if (!pgd_present(k, pgd_k)) return 0;
  // set_pgd(pgd, *pgd_k); here would be useless on PAE and redundant with the set_pmd() on non-PAE.
  const pudp = pud_offset(k, pgdp, address);
  const pud_k = pud_offset(k, pgd_k, address);
  if (!pud_present(k, pud_k)) return 0;
  const pmdp = pmd_offset(k, pudp, address);
  const pmd_k = pmd_offset(k, pud_k, address);
  if (!pmd_present(k, pmd_k)) return 0;
  if (!pmd_present(k, pmdp)) {
    yield* set_pmd(k, cpu, pmdp, readEntry(k, pmd_k));
    faultStats(k).vmallocSyncs++;
  } else if (entryAddr(k.L, readEntry(k, pmdp)) !== entryAddr(k.L, readEntry(k, pmd_k))) {
    k.BUG(cpu, FAULT_C, faultCLines(k.config.version, null)?.x86_32.sync_one_bug_on ?? null, 'vmalloc_sync_one');
  }
  return pmd_k;
}

/** 32-bit vmalloc_fault(): "Do _not_ use current here" — read_cr3(). */
function* vmalloc_fault_32(k: Kernel, cpu: LinuxCpu, address: bigint): KGen<number> {
  if (!inVmalloc(k, address)) return -1;
  if (cpu.nmiDepth > 0) k.WARN_ON_ONCE(cpu, FAULT_C, faultCLines(k.config.version, null)?.x86_32.warn_nmi ?? null, 'vmalloc_fault');
  const pgd_paddr = k.pv.mmu.read_cr3(k, cpu);
  const pmd_k = yield* vmalloc_sync_one(k, cpu, Number(pgd_paddr & ~0xfffn), address);
  if (!pmd_k) return -1;
  if (readEntry(k, pmd_k) & _PAGE_PSE) return 0; // pmd_huge
  const pte_k = pte_offset_kernel(k, pmd_k, address);
  if (!(readEntry(k, pte_k) & _PAGE_PRESENT)) return -1;
  cpu.lastFaultNote = `vmalloc_fault() synced the pgd in CR3 (0x${pgd_paddr.toString(16)}) for 0x${address.toString(16)}`;
  return 0;
}

/** A kernel-mode hardware access by code running on `cpu` (goes through its TLB and CR3). */
export function kaccess(cpu: LinuxCpu, va: bigint, kind: 'read' | 'write' | 'exec'): KGen<bigint> {
  return hwAccess(cpu, va, kind, 0);
}
