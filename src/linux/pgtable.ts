/**
 * Page-table accessors with Linux's names and folding semantics: pgd_offset, pud_offset,
 * pmd_offset, pte_offset_kernel, pXd_none/present, and the setters set_pgd/set_pud/set_pmd/
 * set_pte, which reach `k.pv.mmu` as the kernel does. With PAE the pud is folded into the pgd
 * (include/asm-generic/pgtable-nopud.h: pgd_none() is 0, pud_offset() returns the pgd pointer);
 * 2-level paging folds the pmd too (pgtable-nopmd.h: set_pud -> set_pmd on the pgd entry).
 */
import type { KGen } from '../scheduler/types.js';
import { DONE } from '../scheduler/point.js';
import type { Kernel } from './kernel.js';
import type { Layout } from './layout.js';
import { pgd_index, tableIndex } from './layout.js';
import type { LinuxCpu } from './percpu.js';
import type { MmStruct } from './structs.js';
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL, _PAGE_NX, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW } from './constants.js';

/** _PAGE_PSE and _PAGE_PRESENT as numbers, for tests of an entry's low 32 bits. */
const PSE_LOW = Number(_PAGE_PSE);
const PRESENT_LOW = Number(_PAGE_PRESENT);

/** Reads the entry at physical address `p` (4 or 8 bytes by paging mode). */
export function readEntry(k: Kernel, p: number): bigint {
  return k.L.entrySize === 8 ? k.m.phys.read64n(p) : BigInt(k.m.phys.read32n(p));
}

/**
 * Writes the entry at `p` (the native store; backends call this) and records page-table progress
 * for the lockup detector.
 */
export function writeEntry(k: Kernel, p: number, v: bigint): void {
  k.observers.ptWrite?.(p);
  if (k.L.entrySize === 8) k.m.phys.write64n(p, v);
  else k.m.phys.write32(BigInt(p), Number(v & 0xffff_ffffn));
  k.notePtWrite(p);
}

/** Physical address of the table (or page) an entry points to. */
export function entryAddr(L: Layout, v: bigint): number {
  return Number(v & L.PTE_PFN_MASK);
}

/**
 * entryAddr(L, readEntry(k, p)) without a BigInt: the entry's frame bits read as 32-bit halves
 * (PTE_PFN_MASK is bits 12..51 of an 8-byte entry, bits 12..31 of a 4-byte one).
 */
export function entryAddrAt(k: Kernel, p: number): number {
  const phys = k.m.phys;
  const lo = (phys.read32n(p) & 0xffff_f000) >>> 0;
  return k.L.entrySize === 8 ? (phys.read32n(p + 4) & 0xf_ffff) * 0x1_0000_0000 + lo : lo;
}

/** pgd_offset(mm, address) for a pgd at physical address `pgd`. */
export function pgd_offset_pgd(k: Kernel, pgd: number, address: bigint): number {
  return pgd + pgd_index(k.L, address) * k.L.entrySize;
}
/** pgd_offset(mm, address). */
export function pgd_offset(k: Kernel, mm: MmStruct, address: bigint): number {
  return pgd_offset_pgd(k, mm.pgd, address);
}
/** pgd_offset_k(address): the entry in init_mm's pgd (swapper_pg_dir / init_level4_pgt). */
export function pgd_offset_k(k: Kernel, address: bigint): number {
  return pgd_offset_pgd(k, k.init_mm.pgd, address);
}
/** pud_offset(pgd, address). */
export function pud_offset(k: Kernel, pgdp: number, address: bigint): number {
  const L = k.L;
  if (L.pudFolded) return pgdp;
  return entryAddrAt(k, pgdp) + tableIndex(address, L.PUD_SHIFT, L.PTRS_PER_PUD) * L.entrySize;
}
/** pmd_offset(pud, address). */
export function pmd_offset(k: Kernel, pudp: number, address: bigint): number {
  const L = k.L;
  if (L.pmdFolded) return pudp;
  return entryAddrAt(k, pudp) + tableIndex(address, L.PMD_SHIFT, L.PTRS_PER_PMD) * L.entrySize;
}
/** pte_offset_kernel(pmd, address) (also pte_offset_map: no highmem page tables here). */
export function pte_offset_kernel(k: Kernel, pmdp: number, address: bigint): number {
  const L = k.L;
  return entryAddrAt(k, pmdp) + tableIndex(address, 12, L.PTRS_PER_PTE) * L.entrySize;
}

/** 1 << shift and ~((1 << shift) - 1) for every shift, computed once. */
const SPAN_SIZE: readonly bigint[] = Array.from({ length: 64 }, (_, i) => 1n << BigInt(i));
const SPAN_MASK: readonly bigint[] = SPAN_SIZE.map((size) => ~(size - 1n));

/**
 * p?d_addr_end(addr, end) (include/asm-generic/pgtable.h): the end of the entry's span that
 * contains `addr`, or `end` if that comes first. The kernel compares `boundary - 1 < end - 1`
 * so that a boundary wrapping to 0 at the top of the address space counts as the top.
 */
function addr_end(L: Layout, shift: number, addr: bigint, end: bigint): bigint {
  const size = SPAN_SIZE[shift];
  const boundary = (addr + size) & SPAN_MASK[shift] & L.VA_MASK;
  return ((boundary - 1n) & L.VA_MASK) < ((end - 1n) & L.VA_MASK) ? boundary : end;
}
/** pgd_addr_end(addr, end). */
export function pgd_addr_end(k: Kernel, addr: bigint, end: bigint): bigint {
  return addr_end(k.L, k.L.PGDIR_SHIFT, addr, end);
}
/** pud_addr_end(addr, end): `end` when the pud is folded (pgtable-nopud.h). */
export function pud_addr_end(k: Kernel, addr: bigint, end: bigint): bigint {
  return k.L.pudFolded ? end : addr_end(k.L, k.L.PUD_SHIFT, addr, end);
}
/** pmd_addr_end(addr, end): `end` when the pmd is folded (pgtable-nopmd.h). */
export function pmd_addr_end(k: Kernel, addr: bigint, end: bigint): bigint {
  return k.L.pmdFolded ? end : addr_end(k.L, k.L.PMD_SHIFT, addr, end);
}

/** pmd_pgtable(pmd) / pmd_page_vaddr(): physical address of the page table a pmd entry points to. */
export function pmd_pgtable(k: Kernel, pmdp: number): number {
  return entryAddrAt(k, pmdp);
}
/** PAGE_KERNEL (arch/x86/include/asm/pgtable_types.h): __PAGE_KERNEL, NX only where the paging mode has it. */
export function PAGE_KERNEL(k: Kernel): bigint {
  return (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL | (k.L.paging === '32bit' ? 0n : _PAGE_NX)) & k.__supported_pte_mask;
}

/** The entry at `p` is zero (pXd_none()), read as 32-bit numbers. */
export function entryNone(k: Kernel, p: number): boolean {
  const phys = k.m.phys;
  return k.L.entrySize === 8 ? (phys.read32n(p) | phys.read32n(p + 4)) === 0 : phys.read32n(p) === 0;
}
/** The entry at `p` has _PAGE_PRESENT (bit 0, in its low 32 bits). */
function entryPresent(k: Kernel, p: number): boolean {
  return (k.m.phys.read32n(p) & PRESENT_LOW) !== 0;
}

/** pgd_none(): always 0 when the pud is folded into the pgd. */
export function pgd_none(k: Kernel, pgdp: number): boolean {
  return k.L.pudFolded ? false : entryNone(k, pgdp);
}
/** pgd_present(): always 1 when folded. */
export function pgd_present(k: Kernel, pgdp: number): boolean {
  return k.L.pudFolded ? true : entryPresent(k, pgdp);
}
/** pud_none(): always 0 when the pmd is folded into the pud. */
export function pud_none(k: Kernel, pudp: number): boolean {
  return k.L.pmdFolded ? false : entryNone(k, pudp);
}
export function pud_present(k: Kernel, pudp: number): boolean {
  return k.L.pmdFolded ? true : entryPresent(k, pudp);
}
export function pmd_none(k: Kernel, pmdp: number): boolean {
  return entryNone(k, pmdp);
}
export function pmd_present(k: Kernel, pmdp: number): boolean {
  return entryPresent(k, pmdp);
}
export function pte_none(k: Kernel, ptep: number): boolean {
  return entryNone(k, ptep);
}
export function pte_present(k: Kernel, ptep: number): boolean {
  return entryPresent(k, ptep);
}

// The setters are plain functions returning the pv op's generator, which the caller delegates to
// at once (`yield* set_pte(...)`): no frame of their own between the caller and the pv op.

/** set_pgd(): folded into set_pud() with PAE and 2-level paging. */
export function set_pgd(k: Kernel, cpu: LinuxCpu, pgdp: number, v: bigint): KGen<void> {
  return k.L.pudFolded ? set_pud(k, cpu, pgdp, v) : k.pv.mmu.set_pgd(k, cpu, pgdp, v);
}
/** set_pud(): folded into set_pmd() with 2-level paging. */
export function set_pud(k: Kernel, cpu: LinuxCpu, pudp: number, v: bigint): KGen<void> {
  return k.L.pmdFolded ? k.pv.mmu.set_pmd(k, cpu, pudp, v) : k.pv.mmu.set_pud(k, cpu, pudp, v);
}
export function set_pmd(k: Kernel, cpu: LinuxCpu, pmdp: number, v: bigint): KGen<void> {
  return k.pv.mmu.set_pmd(k, cpu, pmdp, v);
}
export function set_pte(k: Kernel, cpu: LinuxCpu, ptep: number, v: bigint): KGen<void> {
  return k.pv.mmu.set_pte(k, cpu, ptep, v);
}
export function set_pte_at(k: Kernel, cpu: LinuxCpu, mm: MmStruct, addr: bigint, ptep: number, v: bigint): KGen<void> {
  return k.pv.mmu.set_pte_at(k, cpu, mm, addr, ptep, v);
}
/** pgd_clear(): a no-op when folded (pgtable-nopud.h). */
export function pgd_clear(k: Kernel, cpu: LinuxCpu, pgdp: number): KGen<void> {
  return k.L.pudFolded ? DONE : k.pv.mmu.set_pgd(k, cpu, pgdp, 0n);
}
/** pud_clear(): a no-op when the pmd is folded. */
export function pud_clear(k: Kernel, cpu: LinuxCpu, pudp: number): KGen<void> {
  return k.L.pmdFolded ? DONE : k.pv.mmu.set_pud(k, cpu, pudp, 0n);
}
export function pmd_clear(k: Kernel, cpu: LinuxCpu, pmdp: number): KGen<void> {
  return k.pv.mmu.pmd_clear(k, cpu, pmdp);
}

/** `e & _PAGE_PSE || !(e & _PAGE_PRESENT)` of an entry's low 32 bits. */
function notTableEntry(low: number): boolean {
  return (low & PSE_LOW) !== 0 || (low & PRESENT_LOW) === 0;
}

/**
 * lookup_address(address, &level) (arch/x86/mm/pageattr.c, 3.x): the entry that maps a kernel
 * address in init_mm's tables, with its level (1 = 4K, 2 = 2M/4M, 3 = 1G), and the entries above it.
 */
export function lookup_address(k: Kernel, address: bigint): { ptr: number; level: number; upper: number[] } | null {
  const pgdp = pgd_offset_k(k, address);
  if (pgd_none(k, pgdp)) return null;
  const pudp = pud_offset(k, pgdp, address);
  if (pud_none(k, pudp)) return null;
  const upper = k.L.pudFolded ? [] : [pgdp];
  // pud_large() / pud_present(), pmd_large() / pmd_present(): _PAGE_PSE and _PAGE_PRESENT are in
  // the entry's low 32 bits, read as a number.
  if (!k.L.pmdFolded && notTableEntry(k.m.phys.read32n(pudp))) return { ptr: pudp, level: 3, upper };
  const pmdp = pmd_offset(k, pudp, address);
  if (pmd_none(k, pmdp)) return null;
  if (!k.L.pmdFolded && k.L.paging !== 'pae') upper.push(pudp);
  if (notTableEntry(k.m.phys.read32n(pmdp))) return { ptr: pmdp, level: 2, upper };
  upper.push(pmdp);
  return { ptr: pte_offset_kernel(k, pmdp, address), level: 1, upper };
}
