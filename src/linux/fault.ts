/**
 * The x86 page-fault handler, arch/x86/mm/fault.c: do_page_fault() -> __do_page_fault():
 * kernel-space faults try vmalloc_fault(), then spurious_fault(), else no_context() (oops);
 * user-space addresses go to find_vma()/access_error()/handle_mm_fault().
 *
 * vmalloc_fault() in every variant the seeds show (knob `vmalloc_fault`, paging mode):
 * - 64-bit, 'active_mm' (before 3.9): syncs the pgd of current->active_mm with init_mm's entry by
 *   set_pgd(), then BUG()s on any mismatch below (fault.c, seed 000's oops: line 396).
 * - 64-bit, 'active_mm+flush' (3.9..3.17): the same plus arch_flush_lazy_mmu_mode() after set_pgd().
 * - 64-bit, 'read_cr3' (3.18 on, seed 004's fix as merged): the same walk and checks, on the pgd in
 *   CR3 (`pgd = (pgd_t *)__va(read_cr3()) + pgd_index(address)`) instead of current->active_mm's,
 *   and no in_nmi() warning. Linus's patch in seed 004 (copy only the top-level entry, drop
 *   vmalloc_sync_all()) was not merged as posted: the 3.18-5.5 fault.c keeps the lower-level
 *   checks, and vmalloc_sync_all() lives on until 5.6.
 * - 32-bit: read_cr3() + vmalloc_sync_one() in every version ("Do _not_ use current here"); with
 *   native PAE the kernel pmd is shared, so it never runs.
 * Source lines of BUG()/WARN sites: 3.17 from seed 004's diff (fault.c d973e61e450d); before 3.9
 * as in seed 000's oops (3.6.10: the pud BUG() at line 396; the 3.8 tree 2b97525 has each of
 * these one line further down); from 3.18 on they are not modelled (the report says so).
 */
import { hwAccess } from '../modelcpu/access.js';
import type { ModelCpu, TrapHandlers } from '../modelcpu/cpu.js';
import type { KGen } from '../scheduler/types.js';
import { _PAGE_NX, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, PF_INSTR, PF_PROT, PF_RSVD, PF_USER, PF_WRITE } from './constants.js';
import { versionNumber } from './config.js';
import { do_exit } from './exit.js';
import type { Kernel } from './kernel.js';
import { FAULT_FLAG_WRITE, find_vma, handle_mm_fault } from './memory.js';
import type { LinuxCpu } from './percpu.js';
import { entryAddr, pgd_none, pgd_offset_k, pgd_offset_pgd, pgd_present, pmd_offset, pmd_present, pte_offset_kernel, pud_none, pud_offset, pud_present, readEntry, set_pgd, set_pmd } from './pgtable.js';
import { local_irq_enable } from './preempt.js';
import { down_read, down_read_trylock, up_read } from './rwsem.js';
import { VM_EXEC, VM_READ, VM_WRITE } from './structs.js';
import { defineKernelState } from './kstate.js';
import { traced } from '../scheduler/traced.js';

const FAULT_C = 'arch/x86/mm/fault.c';

/** fault.c line numbers of the BUG()/WARN sites per variant (see the file comment). */
export const FAULT_C_LINES = {
  'x86_64:active_mm': { warn_nmi: 368, pgd_bug_on: 383, pud_bug: 396, pmd_bug: 404, pte_bug: 418 },
  'x86_64:active_mm+flush': { warn_nmi: 373, pgd_bug_on: 389, pud_bug: 403, pmd_bug: 411, pte_bug: 425 },
  'x86_64:read_cr3': { warn_nmi: null, pgd_bug_on: null, pud_bug: null, pmd_bug: null, pte_bug: null },
  x86_32: { sync_one_bug_on: 223, warn_nmi: 274 },
} as const;

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
      k.oops(cpu as LinuxCpu, `general protection fault: 0000 [#1]`, 0, cpu.thread().fnStack.at(-1) ?? '?', [`pagewalk: non-canonical address 0x${va.toString(16)}`]);
    },
  };
}

/** do_page_fault(regs, error_code); `regsIF` is EFLAGS.IF of the interrupted context. */
export function* do_page_fault(k: Kernel, cpu: LinuxCpu, address: bigint, error_code: number, regsIF: boolean): KGen<void> {
  yield* traced(cpu, 'do_page_fault', function* () {
    k.lockup.onFault(cpu, address, error_code, regsIF);
    yield* __do_page_fault(k, cpu, address, error_code, regsIF);
  });
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
  yield 'do_page_fault:down_read_mmap_sem';
  const vma = find_vma(mm, address);
  if (!vma || vma.vm_start > address || access_error(error_code, vma.vm_flags)) {
    up_read(mm.mmap_sem, cpu.curr); // bad_area(): the semaphore is dropped before the signal
    yield* bad_area_nosemaphore(k, cpu, address, error_code);
    return;
  }
  faultStats(k).userFaults++;
  const flags = error_code & PF_WRITE ? FAULT_FLAG_WRITE : 0;
  yield* handle_mm_fault(k, cpu, mm, vma, address, flags);
  up_read(mm.mmap_sem, cpu.curr);
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
  k.oops(cpu, `BUG: unable to handle kernel ${what} at ${address.toString(16).padStart(k.L.entrySize * 2, '0')}`, error_code, cpu.thread().fnStack.at(-2) ?? 'do_page_fault');
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
 * 64-bit vmalloc_fault(): syncs current->active_mm's pgd before 3.18, the pgd in CR3 from 3.18 on,
 * with init_mm's entry; BUG()s on any mismatch below.
 */
function* vmalloc_fault_64(k: Kernel, cpu: LinuxCpu, address: bigint): KGen<number> {
  const variant = k.config.vmalloc_fault;
  const lines = FAULT_C_LINES[`x86_64:${variant}`];
  if (!inVmalloc(k, address)) return -1;
  if (cpu.nmiDepth > 0 && lines.warn_nmi !== null) k.WARN_ON_ONCE(cpu, FAULT_C, lines.warn_nmi, 'vmalloc_fault');
  // Copy kernel mappings over when needed. This can also happen within a race in page table
  // update. In the later case just flush:
  let pgd: number;
  if (variant === 'read_cr3') pgd = Number(k.pv.mmu.read_cr3(k, cpu) & k.L.PTE_PFN_MASK);
  else {
    const active = cpu.curr.active_mm;
    if (!active) k.oops(cpu, 'BUG: unable to handle kernel NULL pointer dereference at 0000000000000000', 0, 'vmalloc_fault', ['pagewalk: current->active_mm is NULL']);
    pgd = active.pgd;
  }
  const pgdp = pgd_offset_pgd(k, pgd, address);
  const pgd_ref = pgd_offset_k(k, address);
  if (pgd_none(k, pgd_ref)) return -1;
  if (pgd_none(k, pgdp)) {
    yield* set_pgd(k, cpu, pgdp, readEntry(k, pgd_ref));
    faultStats(k).vmallocSyncs++;
    yield 'vmalloc_fault:after_set_pgd';
    if (variant !== 'active_mm') yield* k.pv.mmu.lazy_mode.flush(k, cpu); // arch_flush_lazy_mmu_mode()
  } else if (entryAddr(k.L, readEntry(k, pgdp)) !== entryAddr(k.L, readEntry(k, pgd_ref))) {
    k.BUG(cpu, FAULT_C, lines.pgd_bug_on, 'vmalloc_fault');
  }
  // Below here mismatches are bugs because these lower tables are shared:
  const pudp = pud_offset(k, pgdp, address);
  const pud_ref = pud_offset(k, pgd_ref, address);
  if (pud_none(k, pud_ref)) return -1;
  if (pud_none(k, pudp) || entryAddr(k.L, readEntry(k, pudp)) !== entryAddr(k.L, readEntry(k, pud_ref))) k.BUG(cpu, FAULT_C, lines.pud_bug, 'vmalloc_fault');
  const pmdp = pmd_offset(k, pudp, address);
  const pmd_ref = pmd_offset(k, pud_ref, address);
  if (readEntry(k, pmd_ref) === 0n) return -1;
  if (readEntry(k, pmdp) === 0n || entryAddr(k.L, readEntry(k, pmdp)) !== entryAddr(k.L, readEntry(k, pmd_ref))) k.BUG(cpu, FAULT_C, lines.pmd_bug, 'vmalloc_fault');
  const pte_ref = pte_offset_kernel(k, pmd_ref, address);
  if (!(readEntry(k, pte_ref) & _PAGE_PRESENT)) return -1;
  const ptep = pte_offset_kernel(k, pmdp, address);
  if (!(readEntry(k, ptep) & _PAGE_PRESENT) || entryAddr(k.L, readEntry(k, ptep)) !== entryAddr(k.L, readEntry(k, pte_ref))) k.BUG(cpu, FAULT_C, lines.pte_bug, 'vmalloc_fault');
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
    k.BUG(cpu, FAULT_C, FAULT_C_LINES.x86_32.sync_one_bug_on, 'vmalloc_sync_one');
  }
  return pmd_k;
}

/** 32-bit vmalloc_fault(): "Do _not_ use current here" — read_cr3(). */
function* vmalloc_fault_32(k: Kernel, cpu: LinuxCpu, address: bigint): KGen<number> {
  if (!inVmalloc(k, address)) return -1;
  if (cpu.nmiDepth > 0) k.WARN_ON_ONCE(cpu, FAULT_C, FAULT_C_LINES.x86_32.warn_nmi, 'vmalloc_fault');
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
