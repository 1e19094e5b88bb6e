// PTE range operations: build, tear down and edit page tables of any mode under a given root,
// taking table frames from the frame allocator. Return codes: >= 0 success (a count),
// -1 out of frames, -2 conflict with an existing large page or table, -3 bad argument.
import { IO_PA, MODE_32, MODE_PAE, MODE_4L, MODE_5L, E_P, E_PS, RAM_BASE } from './layout';
import { ramSize, noteWrite } from './state';
import { frameAlloc } from './frames';

export const PT_ENOMEM: i32 = -1;
export const PT_ECONFLICT: i32 = -2;
export const PT_EINVAL: i32 = -3;

@inline function topLevel(mode: u32): u32 {
  return mode == MODE_5L ? 5 : mode == MODE_4L ? 4 : mode == MODE_PAE ? 3 : 2;
}

@inline function levelShift(mode: u32, level: u32): u32 {
  return mode == MODE_32 ? (level == 2 ? 22 : 12) : 12 + 9 * (level - 1);
}

@inline function indexOf(mode: u32, level: u32, va: u64): u64 {
  const mask: u64 = mode == MODE_32 ? 1023 : mode == MODE_PAE && level == 3 ? 3 : 511;
  return (va >> levelShift(mode, level)) & mask;
}

@inline function entrySize(mode: u32): u64 {
  return mode == MODE_32 ? 4 : 8;
}

@inline function rd(mode: u32, pa: u64): u64 {
  if (pa + entrySize(mode) > ramSize) return 0xFFFF_FFFF_FFFF_FFFF;
  return mode == MODE_32 ? u64(load<u32>(usize(pa), RAM_BASE)) : load<u64>(usize(pa), RAM_BASE);
}

@inline function wr(mode: u32, pa: u64, v: u64): void {
  if (pa + entrySize(mode) > ramSize) return;
  if (mode == MODE_32) store<u32>(usize(pa), u32(v), RAM_BASE);
  else store<u64>(usize(pa), v, RAM_BASE);
  noteWrite(pa + entrySize(mode));
}

@inline function tableOf(mode: u32, e: u64): u64 {
  return mode == MODE_32 ? e & 0xFFFF_F000 : e & 0x000F_FFFF_FFFF_F000;
}

/** Table address at `level`'s parent: where the entry for va at `level` lives. */
@inline function entryAddr(mode: u32, table: u64, level: u32, va: u64): u64 {
  return table + indexOf(mode, level, va) * entrySize(mode);
}

/** Leaf entry value for a page of `level` (1 = 4K, 2 = 2M/4M, 3 = 1G). */
function leafValue(mode: u32, level: u32, pa: u64, flags: u64): u64 {
  if (level == 1) return (pa & ~u64(0xFFF)) | flags;
  if (mode == MODE_32) return (pa & 0xFFC0_0000) | (((pa >> 32) & 0xFF) << 13) | flags | E_PS;
  const size = u64(1) << levelShift(mode, level);
  return (pa & ~(size - 1)) | flags | E_PS;
}

/** Allocates a top-level table for the mode (PAE: a frame holding the 32-byte PDPT). */
export function ptNewRoot(mode: u32): i64 {
  const pfn = frameAlloc(topLevel(mode), 0, true);
  return pfn < 0 ? i64(PT_ENOMEM) : i64(pfn) << 12;
}


/**
 * Finds the entry for va at `leafLevel` under root, creating missing tables with `tableFlags`.
 * Returns its physical address, or a negative error code.
 */
function ensurePath(mode: u32, root: u64, va: u64, leafLevel: u32, tableFlags: u64): i64 {
  let table = mode == MODE_PAE ? root & 0xFFFF_FFE0 : root & ~u64(0xFFF);
  for (let level = topLevel(mode); level > leafLevel; level--) {
    const ea = entryAddr(mode, table, level, va);
    let e = rd(mode, ea);
    if ((e & E_P) == 0) {
      const pfn = frameAlloc(level - 1, 0, true);
      if (pfn < 0) return PT_ENOMEM;
      // PAE PDPTEs allow only P (and PWT/PCD): everything else is reserved.
      e = (u64(pfn) << 12) | (mode == MODE_PAE && level == 3 ? E_P : tableFlags | E_P);
      wr(mode, ea, e);
    } else if (level <= 3 && (e & E_PS) != 0 && !(mode == MODE_PAE && level == 3)) {
      return PT_ECONFLICT;
    }
    table = tableOf(mode, e);
  }
  return i64(entryAddr(mode, table, leafLevel, va));
}

function mapOne(mode: u32, root: u64, va: u64, pa: u64, level: u32, flags: u64, tableFlags: u64): i32 {
  const ea = ensurePath(mode, root, va, level, tableFlags);
  if (ea < 0) return i32(ea);
  if (level > 1) {
    const old = rd(mode, u64(ea));
    if ((old & E_P) != 0 && (old & E_PS) == 0) return PT_ECONFLICT; // a table is there
  }
  wr(mode, u64(ea), leafValue(mode, level, pa, flags));
  return 0;
}

@inline function validLeafLevel(mode: u32, level: u32): bool {
  if (level == 1) return true;
  if (level == 2) return true;
  return level == 3 && (mode == MODE_4L || mode == MODE_5L);
}

/** Maps `count` pages of `level` from va to pa (contiguous). Returns count or an error. */
export function ptMap(mode: u32, root: u64, va: u64, pa: u64, count: u32, level: u32, flags: u64, tableFlags: u64): i32 {
  if (!validLeafLevel(mode, level)) return PT_EINVAL;
  const size = u64(1) << levelShift(mode, level);
  for (let i: u32 = 0; i < count; i++) {
    const r = mapOne(mode, root, va + u64(i) * size, pa + u64(i) * size, level, flags, tableFlags);
    if (r < 0) return r;
  }
  return i32(count);
}

/** Maps n 4 KiB pages from va to the physical addresses in IO_PA[0..n). */
export function ptMapPages(mode: u32, root: u64, va: u64, n: u32, flags: u64, tableFlags: u64): i32 {
  for (let i: u32 = 0; i < n; i++) {
    const r = mapOne(mode, root, va + u64(i) * 4096, load<u64>(IO_PA + usize(i) * 8), 1, flags, tableFlags);
    if (r < 0) return r;
  }
  return i32(n);
}

/**
 * Visits the leaves covering [va, va + pages*4K): clears them (op 0) or sets/clears bits (op 1).
 * A large page must be covered whole. Returns how many present leaves were changed.
 */
function editRange(mode: u32, root: u64, va: u64, pages: u64, op: u32, set: u64, clear: u64): i32 {
  const end = va + pages * 4096;
  let changed: i32 = 0;
  while (va < end) {
    let table = mode == MODE_PAE ? root & 0xFFFF_FFE0 : root & ~u64(0xFFF);
    let level = topLevel(mode);
    let step: u64 = 4096;
    while (true) {
      const ea = entryAddr(mode, table, level, va);
      const e = rd(mode, ea);
      step = u64(1) << levelShift(mode, level);
      if ((e & E_P) == 0) break; // nothing mapped in this whole slot
      const leaf = level == 1 || (level <= 3 && (e & E_PS) != 0 && !(mode == MODE_PAE && level == 3));
      if (leaf) {
        if ((va & (step - 1)) != 0 || end - va < step) return PT_ECONFLICT;
        wr(mode, ea, op == 0 ? 0 : (e | set) & ~clear);
        changed++;
        break;
      }
      table = tableOf(mode, e);
      level--;
    }
    va = (va & ~(step - 1)) + step;
  }
  return changed;
}

export function ptUnmap(mode: u32, root: u64, va: u64, pages: u64): i32 {
  return editRange(mode, root, va, pages, 0, 0, 0);
}

export function ptProtect(mode: u32, root: u64, va: u64, pages: u64, set: u64, clear: u64): i32 {
  return editRange(mode, root, va, pages, 1, set, clear);
}
