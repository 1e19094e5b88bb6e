import type { CoreExports } from './wasm.js';
import type { PageSize } from './types.js';
import { PagewalkError } from './errors.js';
import type { PhysMem } from './phys.js';
import { arrayArg, badArg, lengthArg, objArg, show, u64Arg } from './validate.js';

/** Paging modes that have page tables. */
export type TableMode = '32bit' | 'pae' | '4level' | '5level';
export const MODE_CODE: Record<TableMode, number> = { '32bit': 1, pae: 2, '4level': 3, '5level': 4 };

const PAGE_LEVEL: Record<PageSize, number> = { '4k': 1, '2m': 2, '4m': 2, '1g': 3 };
const PAGE_BYTES: Record<PageSize, bigint> = { '4k': 1n << 12n, '2m': 1n << 21n, '4m': 1n << 22n, '1g': 1n << 30n };

/** Default leaf flags (P|RW) and table flags (P|RW|US). */
export const DEFAULT_FLAGS = 0x3n;
export const DEFAULT_TABLE_FLAGS = 0x7n;

export interface MapOptions {
  pageSize?: PageSize;
  /** Leaf entry flags (low bits and XD/PK bits); PS is added for large pages. */
  flags?: bigint;
  /** Flags of tables created on the way (PAE PDPTEs only ever get P). */
  tableFlags?: bigint;
}

/**
 * PTE range operations, run in WASM: map, unmap and protect ranges of page tables of any mode
 * under a root, taking table frames from the machine's frame allocator.
 */
export class PageTables {
  /** @internal */
  constructor(
    private readonly core: CoreExports,
    private readonly ioPa: BigUint64Array,
    private readonly phys: PhysMem,
  ) {}

  /** Allocates a zeroed top-level table (PAE: a frame whose first 32 bytes are the PDPT). */
  newRoot(mode: TableMode): bigint {
    modeCode(mode, 'pageTables.newRoot');
    return this.check('newRoot', this.core.ptNewRoot(modeCode(mode)));
  }

  /** Maps [va, va+bytes) to [pa, pa+bytes) with pages of `pageSize` (default 4k). */
  map(mode: TableMode, root: bigint, va: bigint, pa: bigint, bytes: bigint | number, opts: MapOptions = {}): void {
    const n = this.range('pageTables.map', mode, root, va, bytes);
    u64Arg('pageTables.map', 'pa', pa);
    objArg('pageTables.map', 'opts', opts);
    const flags = opts.flags === undefined ? DEFAULT_FLAGS : u64Arg('pageTables.map', 'opts.flags', opts.flags);
    const tableFlags = opts.tableFlags === undefined ? DEFAULT_TABLE_FLAGS : u64Arg('pageTables.map', 'opts.tableFlags', opts.tableFlags);
    const size = opts.pageSize ?? '4k';
    const pageBytes = Object.hasOwn(PAGE_BYTES, size) ? PAGE_BYTES[size] : undefined;
    if (!pageBytes) throw new PagewalkError('EINVAL_ARG', `map: unknown page size ${show(size)} (4k, 2m, 4m, 1g)`);
    const exists =
      size === '4k' ||
      (size === '4m' && mode === '32bit') ||
      (size === '2m' && mode !== '32bit') ||
      (size === '1g' && (mode === '4level' || mode === '5level'));
    if (!exists) {
      throw new PagewalkError('EINVAL_ARG', `map: ${size} pages do not exist in ${mode} paging`);
    }
    if (va % pageBytes || pa % pageBytes || n % pageBytes || n <= 0n) {
      throw new PagewalkError(
        'EINVAL_ARG',
        `map: va 0x${va.toString(16)}, pa 0x${pa.toString(16)} and length 0x${n.toString(16)} must be multiples of the ${size} page size`,
      );
    }
    const count = n / pageBytes;
    if (count > 0xffff_ffffn) throw new PagewalkError('EINVAL_ARG', `map: ${count} pages is too many for one call`);
    if (pa + n > 1n << 64n) badArg('pageTables.map', `pa ${show(pa)} + length ${show(n)} runs past 2^64`);
    this.check('map', this.core.ptMap(modeCode(mode), root, va, pa, Number(count), PAGE_LEVEL[size], flags, tableFlags));
  }

  /** Maps consecutive 4 KiB pages from va to the given physical addresses (any order). */
  mapPages(mode: TableMode, root: bigint, va: bigint, pas: BigUint64Array, opts: Omit<MapOptions, 'pageSize'> = {}): void {
    arrayArg('pageTables.mapPages', 'pas', pas, BigUint64Array);
    this.range('pageTables.mapPages', mode, root, va, pas.length * 4096);
    objArg('pageTables.mapPages', 'opts', opts);
    const flags = opts.flags === undefined ? DEFAULT_FLAGS : u64Arg('pageTables.mapPages', 'opts.flags', opts.flags);
    const tableFlags = opts.tableFlags === undefined ? DEFAULT_TABLE_FLAGS : u64Arg('pageTables.mapPages', 'opts.tableFlags', opts.tableFlags);
    if (va % 4096n) throw new PagewalkError('EINVAL_ARG', `mapPages: va 0x${va.toString(16)} is not 4 KiB aligned`);
    const chunk = this.ioPa.length;
    for (let i = 0; i < pas.length; i += chunk) {
      const part = pas.subarray(i, Math.min(pas.length, i + chunk));
      this.ioPa.set(part);
      this.check('mapPages', this.core.ptMapPages(modeCode(mode), root, va + BigInt(i) * 4096n, part.length, flags, tableFlags));
    }
  }

  /** Clears the leaf entries of [va, va+bytes); returns how many were present. Large pages must be covered whole. */
  unmap(mode: TableMode, root: bigint, va: bigint, bytes: bigint | number): number {
    const n = this.range('pageTables.unmap', mode, root, va, bytes);
    return this.check('unmap', this.core.ptUnmap(modeCode(mode), root, va, pages(va, n, 'unmap')));
  }

  /** Sets and clears bits in the leaf entries of [va, va+bytes); returns how many were changed. */
  protect(mode: TableMode, root: bigint, va: bigint, bytes: bigint | number, bits: { set?: bigint; clear?: bigint }): number {
    const n = this.range('pageTables.protect', mode, root, va, bytes);
    objArg('pageTables.protect', 'bits', bits);
    const set = bits.set === undefined ? 0n : u64Arg('pageTables.protect', 'bits.set', bits.set);
    const clear = bits.clear === undefined ? 0n : u64Arg('pageTables.protect', 'bits.clear', bits.clear);
    return this.check('protect', this.core.ptProtect(modeCode(mode), root, va, pages(va, n, 'protect'), set, clear));
  }

  /**
   * Software walk without side effects (no A/D bit, no TLB): the leaf entry that maps `va` — its
   * physical address, its value and its level (1 = PTE, 2 = PDE of a large page, 3 = PDPTE of a
   * 1 GiB page) — or null when the walk stops at a non-present entry. Only P and PS are looked at.
   */
  lookup(mode: TableMode, root: bigint, va: bigint): { entryAddress: bigint; value: bigint; level: number } | null {
    this.range('pageTables.lookup', mode, root, va, 0);
    const is32 = mode === '32bit';
    const top = mode === '5level' ? 5 : mode === '4level' ? 4 : mode === 'pae' ? 3 : 2;
    let table = mode === 'pae' ? root & 0xffff_ffe0n : root & ~0xfffn;
    for (let level = top; ; level--) {
      const shift = BigInt(is32 ? (level === 2 ? 22 : 12) : 12 + 9 * (level - 1));
      const mask = is32 ? 1023n : mode === 'pae' && level === 3 ? 3n : 511n;
      const ea = table + ((va >> shift) & mask) * (is32 ? 4n : 8n);
      const value = is32 ? BigInt(this.phys.read32(ea)) : this.phys.read64(ea);
      if ((value & 1n) === 0n) return null;
      const large = level <= 3 && (value & 0x80n) !== 0n && !(mode === 'pae' && level === 3);
      if (level === 1 || large) return { entryAddress: ea, value, level };
      table = is32 ? value & 0xffff_f000n : value & 0x000f_ffff_ffff_f000n;
    }
  }

  /**
   * Checks the arguments every operation shares: a paging mode, a root table inside RAM, and a
   * range [va, va+bytes) inside the mode's linear address space. Returns the length as a bigint.
   */
  private range(where: string, mode: TableMode, root: bigint, va: bigint, bytes: bigint | number): bigint {
    modeCode(mode, where);
    u64Arg(where, 'root', root);
    const top = (mode === 'pae' ? root & ~0x1fn : root & ~0xfffn) + (mode === 'pae' ? 32n : 4096n);
    if (top > BigInt(this.phys.ramBytes)) badArg(where, `root ${show(root)} is not a table inside RAM (${this.phys.ramBytes} bytes)`);
    u64Arg(where, 'va', va);
    const n = lengthArg(where, 'length', bytes, 1n << 64n);
    const space = mode === '32bit' || mode === 'pae' ? 1n << 32n : 1n << 64n;
    if (va + n > space)
      badArg(
        where,
        `va ${show(va)} + length ${show(n)} runs past the ${mode === '32bit' || mode === 'pae' ? '4 GiB' : '2^64'} linear address space of ${mode} paging`,
      );
    return n;
  }

  private check<T extends number | bigint>(op: string, r: T): T {
    const code = Number(r);
    if (code >= 0) return r;
    if (code === -1) throw new PagewalkError('ENOMEM_FRAMES', `${op}: out of guest frames for page tables`);
    if (code === -2) throw new PagewalkError('EMAP_CONFLICT', `${op}: the range overlaps a large page or a table in a way the operation cannot split`);
    throw new PagewalkError('EINVAL_ARG', `${op}: invalid arguments`);
  }
}

function modeCode(mode: TableMode, where = 'pageTables'): number {
  const c = Object.hasOwn(MODE_CODE, mode) ? MODE_CODE[mode] : undefined;
  if (!c) throw new PagewalkError('EINVAL_ARG', `${where}: unknown paging mode ${show(mode)} (32bit, pae, 4level, 5level)`);
  return c;
}

function pages(va: bigint, n: bigint, op: string): bigint {
  if (va % 4096n || n % 4096n) throw new PagewalkError('EINVAL_ARG', `${op}: va 0x${va.toString(16)} and length 0x${n.toString(16)} must be 4 KiB aligned`);
  return n / 4096n;
}
