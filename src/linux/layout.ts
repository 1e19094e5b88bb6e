/**
 * Address-space layout and page-table geometry of each x86 paging mode, as Linux sets them up:
 * - 64-bit 4-level: Documentation/x86/x86_64/mm.txt (3.x): direct map at 0xffff880000000000,
 *   vmalloc 0xffffc90000000000-0xffffe8ffffffffff; KERNEL_PGD_BOUNDARY = pgd_index(PAGE_OFFSET).
 * - 32-bit (2-level, pgtable-2level_types.h) and PAE (3-level, pgtable-3level_types.h):
 *   PAGE_OFFSET 0xC0000000 (3G/1G split), VMALLOC_START = high_memory + VMALLOC_OFFSET (8 MiB)
 *   rounded to 8 MiB (pgtable_32_types.h), VMALLOC_END below the pkmap/fixmap area.
 * Folding follows include/asm-generic/pgtable-nopud.h and pgtable-nopmd.h: PAE folds the pud into
 * the pgd; 2-level folds pud and pmd into the pgd.
 */
import type { PagingMode } from '../core/types.js';

/** The paging modes the Linux model supports. */
export type LinuxPaging = Extract<PagingMode, '32bit' | 'pae' | '4level'>;

export interface Layout {
  readonly paging: LinuxPaging;
  /** Bytes per entry: 4 (2-level) or 8. */
  readonly entrySize: 4 | 8;
  readonly PGDIR_SHIFT: number;
  readonly PTRS_PER_PGD: number;
  readonly PUD_SHIFT: number;
  /** 1 when the pud is folded into the pgd. */
  readonly PTRS_PER_PUD: number;
  readonly PMD_SHIFT: number;
  /** 1 when the pmd is folded. */
  readonly PTRS_PER_PMD: number;
  readonly PTRS_PER_PTE: number;
  readonly pudFolded: boolean;
  readonly pmdFolded: boolean;
  readonly PAGE_OFFSET: bigint;
  /** First address above user space (TASK_SIZE_MAX on 64-bit). */
  readonly TASK_SIZE: bigint;
  readonly VMALLOC_START: bigint;
  readonly VMALLOC_END: bigint;
  /** Index of the first kernel pgd entry. */
  readonly KERNEL_PGD_BOUNDARY: number;
  /**
   * SHARED_KERNEL_PMD: true only for native PAE (the kernel pmd is shared by every pgd); when
   * false, pgd_ctor() puts every pgd on pgd_list. Xen PV PAE sets it false.
   */
  readonly SHARED_KERNEL_PMD: boolean;
  /** Mask of the table/page frame address in an entry (PTE_PFN_MASK). */
  readonly PTE_PFN_MASK: bigint;
  /** Mask of a linear address (32 bits except in 4-level mode). */
  readonly VA_MASK: bigint;
  /** Direct-map size of large pages: 2 MiB (PAE, 4-level) or 4 MiB (2-level with PSE). */
  readonly LARGE_PAGE: number;
}

const MiB = 1024 * 1024;

/** Layout for `paging` with `ramBytes` of RAM. */
export function makeLayout(paging: LinuxPaging, ramBytes: number, sharedKernelPmd = true): Layout {
  if (paging === '4level') {
    const PAGE_OFFSET = 0xffff_8800_0000_0000n;
    return {
      paging,
      entrySize: 8,
      PGDIR_SHIFT: 39,
      PTRS_PER_PGD: 512,
      PUD_SHIFT: 30,
      PTRS_PER_PUD: 512,
      PMD_SHIFT: 21,
      PTRS_PER_PMD: 512,
      PTRS_PER_PTE: 512,
      pudFolded: false,
      pmdFolded: false,
      PAGE_OFFSET,
      TASK_SIZE: 0x0000_7fff_ffff_f000n,
      VMALLOC_START: 0xffff_c900_0000_0000n,
      VMALLOC_END: 0xffff_e8ff_ffff_ffffn,
      KERNEL_PGD_BOUNDARY: Number((PAGE_OFFSET >> 39n) & 511n),
      SHARED_KERNEL_PMD: false, // pgtable_64_types.h: every pgd is on pgd_list

      PTE_PFN_MASK: 0x000f_ffff_ffff_f000n,
      VA_MASK: (1n << 64n) - 1n,
      LARGE_PAGE: 2 * MiB,
    };
  }
  const PAGE_OFFSET = 0xc000_0000n;
  // pgtable_32_types.h: VMALLOC_OFFSET = 8 MiB; VMALLOC_START = (high_memory + 2*VMALLOC_OFFSET-1) & ~(VMALLOC_OFFSET-1).
  const highMemory = PAGE_OFFSET + BigInt(ramBytes);
  const VMALLOC_OFFSET = BigInt(8 * MiB);
  const VMALLOC_START = (highMemory + 2n * VMALLOC_OFFSET - 1n) & ~(VMALLOC_OFFSET - 1n);
  const VMALLOC_END = 0xff7f_e000n; // PKMAP_BASE - 2*PAGE_SIZE with the default fixmap (approximate).
  if (paging === 'pae') {
    return {
      paging,
      entrySize: 8,
      PGDIR_SHIFT: 30,
      PTRS_PER_PGD: 4,
      PUD_SHIFT: 30,
      PTRS_PER_PUD: 1,
      PMD_SHIFT: 21,
      PTRS_PER_PMD: 512,
      PTRS_PER_PTE: 512,
      pudFolded: true,
      pmdFolded: false,
      PAGE_OFFSET,
      TASK_SIZE: PAGE_OFFSET,
      VMALLOC_START,
      VMALLOC_END,
      KERNEL_PGD_BOUNDARY: 3,
      SHARED_KERNEL_PMD: sharedKernelPmd,
      PTE_PFN_MASK: 0x000f_ffff_ffff_f000n,
      VA_MASK: 0xffff_ffffn,
      LARGE_PAGE: 2 * MiB,
    };
  }
  return {
    paging,
    entrySize: 4,
    PGDIR_SHIFT: 22,
    PTRS_PER_PGD: 1024,
    PUD_SHIFT: 22,
    PTRS_PER_PUD: 1,
    PMD_SHIFT: 22,
    PTRS_PER_PMD: 1,
    PTRS_PER_PTE: 1024,
    pudFolded: true,
    pmdFolded: true,
    PAGE_OFFSET,
    TASK_SIZE: PAGE_OFFSET,
    VMALLOC_START,
    VMALLOC_END,
    KERNEL_PGD_BOUNDARY: 768,
    SHARED_KERNEL_PMD: false,
    PTE_PFN_MASK: 0xffff_f000n,
    VA_MASK: 0xffff_ffffn,
    LARGE_PAGE: 4 * MiB,
  };
}

/** BigInt(i) for the shifts and index masks of `tableIndex()` (no BigInt conversion per call). */
const SMALL_BIGINT: readonly bigint[] = Array.from({ length: 1024 }, (_, i) => BigInt(i));

/**
 * The index of `address` in a table of `ptrs` entries at `shift`: ((address & VA_MASK) >> shift)
 * & (ptrs - 1). VA_MASK keeps those bits in every paging mode, so the mask is not applied (the
 * same bits, also of a negative address).
 */
export function tableIndex(address: bigint, shift: number, ptrs: number): number {
  return Number((address >> SMALL_BIGINT[shift]) & SMALL_BIGINT[ptrs - 1]);
}

/** pgd_index(address). */
export function pgd_index(L: Layout, address: bigint): number {
  return tableIndex(address, L.PGDIR_SHIFT, L.PTRS_PER_PGD);
}

/** __pa() of a direct-mapped kernel virtual address. */
export function __pa(L: Layout, va: bigint): bigint {
  return va - L.PAGE_OFFSET;
}

/** __va() of a physical address (the direct map). */
export function __va(L: Layout, pa: bigint): bigint {
  return pa + L.PAGE_OFFSET;
}
