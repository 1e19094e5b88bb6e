/**
 * The native paravirt backend (arch/x86/kernel/paravirt.c `pv_mmu_ops` defaults): stores to the
 * page tables, MOV to/from CR3, INVLPG, IPI-based remote flushes, and paravirt_nop for the lazy
 * MMU hooks and the pgd/pte alloc/release hooks.
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import { type PvOps } from './paravirt.js';
import type { LinuxCpu } from './percpu.js';
import { readEntry, writeEntry } from './pgtable.js';
import { __native_flush_tlb, native_flush_tlb_others, native_read_cr3, native_write_cr3 } from './tlbflush.js';
import { DONE, mustYield } from '../scheduler/point.js';

// The native operations are plain functions returning DONE (nothing to interleave) or a generator
// for the rest of the operation after its interleaving point; callers delegate at once (`yield*`).

function nop(): KGen<void> {
  return DONE;
}

/** A native entry store (set_pmd, pte_clear, ...): writeEntry(), nothing to interleave. */
function store(k: Kernel, p: number, v: bigint): KGen<void> {
  writeEntry(k, p, v);
  return DONE;
}

/** native_set_pte(): PAE writes the high half, then the low half (pgtable-3level.h); else one store. */
function native_set_pte(k: Kernel, _cpu: LinuxCpu, ptep: number, pte: bigint): KGen<void> {
  return k.L.paging === 'pae' ? native_set_pte_pae(k, ptep, pte) : store(k, ptep, pte);
}

function* native_set_pte_pae(k: Kernel, ptep: number, pte: bigint): KGen<void> {
  k.observers.ptWrite?.(ptep);
  k.m.phys.write32(BigInt(ptep + 4), Number(pte >> 32n));
  k.notePtWrite(ptep);
  if (mustYield('native_set_pte:between_halves')) yield 'native_set_pte:between_halves'; // smp_wmb(): another CPU's walk may land here
  k.m.phys.write32(BigInt(ptep), Number(pte & 0xffff_ffffn));
  k.notePtWrite(ptep);
}

/**
 * __ptep_modify_prot_start() (include/asm-generic/pgtable.h): ptep_get_and_clear(), "to make it
 * non-present, preventing the hardware from asynchronously updating it" (native_ptep_get_and_clear:
 * an xchg with 0).
 */
function* __ptep_modify_prot_start(k: Kernel, _cpu: LinuxCpu, _mm: unknown, _addr: bigint, ptep: number): KGen<bigint> {
  const old = readEntry(k, ptep);
  writeEntry(k, ptep, 0n);
  return old;
}

/** __native_flush_tlb_global(): toggle CR4.PGE (flushes global entries too). */
function* native_flush_tlb_global(_k: Kernel, cpu: LinuxCpu): KGen<void> {
  cpu.hw.flushTlbAll();
}

function native_flush_tlb_single(_k: Kernel, cpu: LinuxCpu, addr: bigint): KGen<void> {
  cpu.hw.invlpg(addr);
  return DONE;
}

/** The native backend. */
export function nativePvOps(): PvOps {
  return {
    name: 'native',
    mmu: {
      read_cr2: (_k, cpu) => cpu.hw.cr2,
      read_cr3: (_k, cpu) => native_read_cr3(cpu),
      write_cr3: (k, cpu, cr3) => {
        native_write_cr3(k, cpu, cr3);
        return DONE;
      },
      flush_tlb_user: __native_flush_tlb,
      flush_tlb_kernel: native_flush_tlb_global,
      flush_tlb_single: native_flush_tlb_single,
      flush_tlb_others: native_flush_tlb_others,
      pgd_alloc: nop,
      pgd_free: nop,
      alloc_pte: nop,
      alloc_pmd: nop,
      alloc_pud: nop,
      release_pte: nop,
      release_pmd: nop,
      release_pud: nop,
      set_pte: native_set_pte,
      set_pte_at: (k, cpu, mm, addr, ptep, pte) => {
        k.observers.pteStore?.(cpu, mm, addr, 'set_pte_at', false);
        return native_set_pte(k, cpu, ptep, pte);
      },
      pte_clear: (k, cpu, mm, addr, ptep) => {
        k.observers.pteStore?.(cpu, mm, addr, 'pte_clear', false);
        return store(k, ptep, 0n);
      },
      ptep_modify_prot_start: __ptep_modify_prot_start,
      // __ptep_modify_prot_commit(): set_pte_at()
      ptep_modify_prot_commit: (k, cpu, mm, addr, ptep, pte) => {
        k.observers.pteStore?.(cpu, mm, addr, 'ptep_modify_prot_commit', false);
        return native_set_pte(k, cpu, ptep, pte);
      },
      set_pmd: (k, _cpu, pmdp, pmd) => store(k, pmdp, pmd),
      pmd_clear: (k, _cpu, pmdp) => store(k, pmdp, 0n),
      set_pud: (k, _cpu, pudp, pud) => store(k, pudp, pud),
      set_pgd: (k, _cpu, pgdp, pgd) => store(k, pgdp, pgd),
      dup_mmap: nop,
      exit_mmap: nop,
      activate_mm: nop,
      lazy_mode: { enter: nop, leave: nop, flush: nop },
    },
    cpu: { start_context_switch: nop, end_context_switch: nop },
  };
}
