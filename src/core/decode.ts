/** Decoding of entries and error codes for explanations (the CLI, the web page, tests). */
import { PF } from './types.js';
import type { PagingMode } from './types.js';

/** Names of the set flag bits of a paging-structure entry at `level` (1 = PTE). */
export function entryFlags(value: bigint, level: number, mode: PagingMode): string[] {
  const f: string[] = [];
  const bit = (n: number) => (value >> BigInt(n)) & 1n;
  if (bit(0)) f.push('P');
  if (mode === 'pae' && level === 3) {
    if (bit(3)) f.push('PWT');
    if (bit(4)) f.push('PCD');
    return f;
  }
  if (bit(1)) f.push('RW');
  if (bit(2)) f.push('US');
  if (bit(3)) f.push('PWT');
  if (bit(4)) f.push('PCD');
  if (bit(5)) f.push('A');
  const leafLike = level === 1 || bit(7) === 1n;
  if (leafLike && bit(6)) f.push('D');
  if (level === 1) {
    if (bit(7)) f.push('PAT');
  } else if (bit(7)) f.push('PS');
  if (leafLike && bit(8)) f.push('G');
  if (level > 1 && bit(7) && bit(12)) f.push('PAT');
  if (mode !== '32bit') {
    if (bit(63)) f.push('XD');
    const key = Number((value >> 59n) & 15n);
    if (leafLike && (mode === '4level' || mode === '5level') && key) f.push(`PK=${key}`);
  }
  return f;
}

/** The #PF error code bit by bit, e.g. ['P: protection violation', 'W/R: write', ...]. */
export function errorCodeBits(code: number): string[] {
  return [
    code & PF.P ? 'P=1: page-level protection violation (or reserved bit)' : 'P=0: page not present',
    code & PF.W ? 'W/R=1: write' : 'W/R=0: read or fetch',
    code & PF.U ? 'U/S=1: user-mode access' : 'U/S=0: supervisor-mode access',
    ...(code & PF.RSVD ? ['RSVD=1: reserved bit set in a paging-structure entry'] : []),
    ...(code & PF.ID ? ['I/D=1: instruction fetch'] : []),
    ...(code & PF.PK ? ['PK=1: protection-key violation'] : []),
  ];
}

export const LEVEL_NAMES: Record<string, string[]> = {
  // index = level
  '32bit': ['', 'PTE', 'PDE'],
  pae: ['', 'PTE', 'PDE', 'PDPTE'],
  '4level': ['', 'PTE', 'PDE', 'PDPTE', 'PML4E'],
  '5level': ['', 'PTE', 'PDE', 'PDPTE', 'PML4E', 'PML5E'],
};

/** Splits a linear address into the index fields of the mode. */
export function addressFields(va: bigint, mode: PagingMode): Record<string, number> {
  const f = (shift: number, bits: number) => Number((va >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
  switch (mode) {
    case '32bit':
      return { pd: f(22, 10), pt: f(12, 10), offset: f(0, 12) };
    case 'pae':
      return { pdpt: f(30, 2), pd: f(21, 9), pt: f(12, 9), offset: f(0, 12) };
    case '4level':
      return { pml4: f(39, 9), pdpt: f(30, 9), pd: f(21, 9), pt: f(12, 9), offset: f(0, 12) };
    case '5level':
      return { pml5: f(48, 9), pml4: f(39, 9), pdpt: f(30, 9), pd: f(21, 9), pt: f(12, 9), offset: f(0, 12) };
    default:
      return { offset: Number(va & 0xffff_ffffn) };
  }
}
