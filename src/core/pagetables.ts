import type { CoreExports } from './wasm.js';
import type { PageSize } from './types.js';
import { PagewalkError } from './errors.js';
import type { PhysMem } from './phys.js';

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
   * Software walk without side effects (no A/D bit, no TLB): the leaf entry that maps `va` — its
   * physical address, its value and its level (1 = PTE, 2 = PDE of a large page, 3 = PDPTE of a
   * 1 GiB page) — or null when the walk stops at a non-present entry. Only P and PS are looked at.
   */
  lookup(mode: TableMode, root: bigint, va: bigint): { entryAddress: bigint; value: bigint; level: number } | null {
    const ea = BigInt.asUintN(64, this.core.ptLookup(modeCode(mode), root, u64(va)));
    const level = this.core.ptLookupLevel();
    const value = mode === '32bit' ? BigInt(this.phys.read32(ea)) : this.phys.read64(ea);
    return value & 1n ? { entryAddress: ea, value, level } : null;
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
