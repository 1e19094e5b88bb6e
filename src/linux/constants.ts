/**
 * x86 page-table entry bits as Linux names them (arch/x86/include/asm/pgtable_types.h), which
 * are the hardware bits of SDM vol. 3, Tables 4-14..4-20.
 */
export const _PAGE_PRESENT = 0x001n;
export const _PAGE_RW = 0x002n;
export const _PAGE_USER = 0x004n;
export const _PAGE_PWT = 0x008n;
export const _PAGE_PCD = 0x010n;
export const _PAGE_ACCESSED = 0x020n;
export const _PAGE_DIRTY = 0x040n;
export const _PAGE_PSE = 0x080n;
export const _PAGE_GLOBAL = 0x100n;
/** _PAGE_SPECIAL (_PAGE_BIT_SOFTW1, bit 9): a pte without a struct page behind it (pte_mkspecial(), remap_pfn_range()). */
export const _PAGE_SPECIAL = 0x200n;
export const _PAGE_NX = 1n << 63n;

/** _PAGE_TABLE: user-accessible table (pgtable_types.h). */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
/** _KERNPG_TABLE: kernel-only table. */
export const _KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

/** Page-fault error code bits (arch/x86/mm/fault.c enum x86_pf_error_code). */
export const PF_PROT = 1 << 0;
export const PF_WRITE = 1 << 1;
export const PF_USER = 1 << 2;
export const PF_RSVD = 1 << 3;
export const PF_INSTR = 1 << 4;

/** CR0/CR4/EFER bits used at boot (SDM vol. 3, 2.5 and 2.2.1). */
export const X86_CR0_PE = 1n << 0n;
export const X86_CR0_WP = 1n << 16n;
export const X86_CR0_PG = 1n << 31n;
export const X86_CR4_PSE = 1n << 4n;
export const X86_CR4_PAE = 1n << 5n;
export const X86_CR4_PGE = 1n << 7n;
export const EFER_LME = 1n << 8n;
export const EFER_NX = 1n << 11n;
