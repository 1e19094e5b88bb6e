import type { CoreExports } from './wasm.js';
import type { PageSize } from './types.js';
import { PagewalkError } from './errors.js';

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
  constructor(private readonly core: CoreExports, private readonly ioPa: BigUint64Array) {}

  /** Allocates a zeroed top-level table (PAE: a frame whose first 32 bytes are the PDPT). */
  newRoot(mode: TableMode): bigint {
    return this.check('newRoot', this.core.ptNewRoot(modeCode(mode)));
  }

  /** Maps [va, va+bytes) to [pa, pa+bytes) with pages of `pageSize` (default 4k). */
  map(mode: TableMode, root: bigint, va: bigint, pa: bigint, bytes: bigint | number, opts: MapOptions = {}): void {
    const size = opts.pageSize ?? '4k';
    const pageBytes = PAGE_BYTES[size];
    if (!pageBytes) throw new PagewalkError('EINVAL_ARG', `map: unknown page size '${size}' (4k, 2m, 4m, 1g)`);
    const exists = size === '4k' || (size === '4m' && mode === '32bit') || (size === '2m' && mode !== '32bit') || (size === '1g' && (mode === '4level' || mode === '5level'));
    if (!exists) {
      throw new PagewalkError('EINVAL_ARG', `map: ${size} pages do not exist in ${mode} paging`);
    }
    const n = BigInt(bytes);
    if (va % pageBytes || pa % pageBytes || n % pageBytes || n <= 0n) {
      throw new PagewalkError('EINVAL_ARG', `map: va 0x${va.toString(16)}, pa 0x${pa.toString(16)} and length 0x${n.toString(16)} must be multiples of the ${size} page size`);
    }
    const count = n / pageBytes;
    if (count > 0xffff_ffffn) throw new PagewalkError('EINVAL_ARG', `map: ${count} pages is too many for one call`);
    this.check('map', this.core.ptMap(modeCode(mode), root, u64(va), pa, Number(count), PAGE_LEVEL[size], opts.flags ?? DEFAULT_FLAGS, opts.tableFlags ?? DEFAULT_TABLE_FLAGS));
  }

  /** Maps consecutive 4 KiB pages from va to the given physical addresses (any order). */
  mapPages(mode: TableMode, root: bigint, va: bigint, pas: BigUint64Array, opts: Omit<MapOptions, 'pageSize'> = {}): void {
    if (va % 4096n) throw new PagewalkError('EINVAL_ARG', `mapPages: va 0x${va.toString(16)} is not 4 KiB aligned`);
    const chunk = this.ioPa.length;
    for (let i = 0; i < pas.length; i += chunk) {
      const part = pas.subarray(i, Math.min(pas.length, i + chunk));
      this.ioPa.set(part);
      this.check('mapPages', this.core.ptMapPages(modeCode(mode), root, u64(va + BigInt(i) * 4096n), part.length, opts.flags ?? DEFAULT_FLAGS, opts.tableFlags ?? DEFAULT_TABLE_FLAGS));
    }
  }

  /** Clears the leaf entries of [va, va+bytes); returns how many were present. Large pages must be covered whole. */
  unmap(mode: TableMode, root: bigint, va: bigint, bytes: bigint | number): number {
    return this.check('unmap', this.core.ptUnmap(modeCode(mode), root, u64(va), pages(va, bytes, 'unmap')));
  }

  /** Sets and clears bits in the leaf entries of [va, va+bytes); returns how many were changed. */
  protect(mode: TableMode, root: bigint, va: bigint, bytes: bigint | number, bits: { set?: bigint; clear?: bigint }): number {
    return this.check('protect', this.core.ptProtect(modeCode(mode), root, u64(va), pages(va, bytes, 'protect'), bits.set ?? 0n, bits.clear ?? 0n));
  }

  /**
   * Software walk without side effects, reading entries with `read` (a 64-bit read; 32-bit
   * entries are its low half): the leaf entry, or null when the walk stops at a non-present one.
   */
  lookup(mode: TableMode, root: bigint, va: bigint, read: (pa: bigint) => bigint): { entryAddress: bigint; value: bigint; level: number } | null {
    modeCode(mode);
    const is32 = mode === '32bit';
    const top = mode === '5level' ? 5 : mode === '4level' ? 4 : mode === 'pae' ? 3 : 2;
    let table = mode === 'pae' ? root & 0xffff_ffe0n : root & ~0xfffn;
    for (let level = top; ; level--) {
      const shift = BigInt(is32 ? (level === 2 ? 22 : 12) : 12 + 9 * (level - 1));
      const mask = is32 ? 1023n : mode === 'pae' && level === 3 ? 3n : 511n;
      const ea = table + ((u64(va) >> shift) & mask) * (is32 ? 4n : 8n);
      const raw = read(ea);
      const value = is32 ? raw & 0xffff_ffffn : raw;
      if ((value & 1n) === 0n) return null;
      const large = level <= 3 && (value & 0x80n) !== 0n && !(mode === 'pae' && level === 3);
      if (level === 1 || large) return { entryAddress: ea, value, level };
      table = is32 ? value & 0xffff_f000n : value & 0x000f_ffff_ffff_f000n;
    }
  }

  private check<T extends number | bigint>(op: string, r: T): T {
    const code = Number(r);
    if (code >= 0) return r;
    if (code === -1) throw new PagewalkError('ENOMEM_FRAMES', `${op}: out of guest frames for page tables`);
    if (code === -2) throw new PagewalkError('EMAP_CONFLICT', `${op}: the range overlaps a large page or a table in a way the operation cannot split`);
    throw new PagewalkError('EINVAL_ARG', `${op}: invalid arguments`);
  }
}

function modeCode(mode: TableMode): number {
  const c = MODE_CODE[mode];
  if (!c) throw new PagewalkError('EINVAL_ARG', `unknown paging mode '${mode}' (32bit, pae, 4level, 5level)`);
  return c;
}

function u64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

function pages(va: bigint, bytes: bigint | number, op: string): bigint {
  const n = BigInt(bytes);
  if (va % 4096n || n % 4096n || n < 0n) throw new PagewalkError('EINVAL_ARG', `${op}: va 0x${va.toString(16)} and length 0x${n.toString(16)} must be 4 KiB aligned`);
  return n / 4096n;
}
