// Boundary scans for the fuzzer's TLB-coherence oracle (src/fuzz/outcome.ts): how many of a CPU's
// cached user translations grant more than the tables in memory now do, or point elsewhere. They
// run when an operation returns to user mode, for every CPU that can use the tables it changed;
// almost always the answer is 0 and the oracle is done with that CPU without decoding an entry.
// When it is not, the oracle runs its exact TypeScript check (which entry, which report), so
// these scans only have to count every entry that check could flag, never fewer: where the
// TypeScript walk would stop or read outside RAM, an entry counts.
import {
  C_TLB, C_TAGS, C_PSC, C_CR3, C_MODE, TLB_ENTRY, T_KEY, T_PA, T_PERMS, PSC_ENTRY, P_KEY, P_NEXT, P_PERMS,
  PERM_RW, PERM_US, PERM_XD, PERM_G, MODE_32, MODE_PAE, MODE_5L, FAULT_BIT,
} from './layout';
import { physRead32, ramSize } from './state';
import { probeWalk, probeRights } from './step';
import { permFault } from './perms';
import { acCx, acPkrU, acPkrS } from './context';
import { classEmpty, classShift, pscShift } from './caches';

const KIND_READ: u32 = 0;
const KIND_WRITE: u32 = 1;
const KIND_EXEC: u32 = 2;
const CPL3: u32 = 3;

/**
 * The linear address of a cache entry whose key holds `prefix` (the address >> shift): sign-
 * extended from bit 47 (bit 56 with 5-level paging) in IA-32e mode, 32 bits otherwise.
 */
@inline function linearOf(prefix: u64, shift: u32, mode: u32): u64 {
  const low = prefix << shift;
  if (mode == MODE_32 || mode == MODE_PAE) return low & 0xFFFF_FFFF;
  const sh: u64 = mode == MODE_5L ? 7 : 16;
  return u64(i64(low << sh) >> sh);
}

/**
 * CPU `cpu`'s valid TLB entries (every PCID, every page size) that are user, not global and serve
 * an address below `below`: their number times 65536, plus the number of them that a dry-run walk
 * of the tables under the current CR3 (the walk `Cpu.probe` makes, at CPL 3) contradicts — the
 * read faults or reaches another address, the entry allows writes and a write faults, or it allows
 * instruction fetches and a fetch faults. (Both counts stop at 65535; a TLB holds fewer entries.)
 */
export function tlbStaleUser(cpu: usize, below: u64): u32 {
  const mode = load<u32>(cpu + C_MODE);
  const tags = usize(load<u32>(cpu + C_TAGS));
  let held: u32 = 0;
  let n: u32 = 0;
  for (let c: u32 = 0; c < 3; c++) {
    const d = cpu + C_TLB + usize(c) * 16;
    const ways = usize(load<u32>(d, 8));
    if (ways == 0 || classEmpty(d, c)) continue; // none, or a large class never filled
    const shift = classShift(c, mode);
    const count = (usize(load<u32>(d, 4)) + 1) * ways;
    const base = usize(load<u32>(d));
    for (let i: usize = 0; i < count; i++) {
      // The 4 KiB class is large and mostly empty: its tag bytes (0: invalid) pass eight invalid
      // entries with one load (caches.ts; zero past the last entry).
      if (c == 0 && (i & 7) == 0 && load<u64>(tags + i) == 0) {
        i += 7;
        continue;
      }
      const e = base + i * TLB_ENTRY;
      const key = load<u64>(e, T_KEY);
      const perms = load<u32>(e, T_PERMS);
      if ((key & 1) == 0 || (perms & PERM_US) == 0 || (perms & PERM_G) != 0) continue;
      const va = linearOf(key >> 13, shift, mode);
      if (va >= below) continue;
      held++;
      if (contradicted(cpu, va, load<u64>(e, T_PA), perms)) n++;
    }
  }
  return (min(held, 0xffff) << 16) | min(n, 0xffff);
}

/**
 * Whether the tables contradict a user TLB entry for `va` (to `pa`, rights `perms`): one dry-run
 * walk at CPL 3 for a read, whose folded rights (what a fill from it would cache) then decide the
 * write and the fetch the entry allows, in the same context, as their own walks would.
 */
function contradicted(cpu: usize, va: u64, pa: u64, perms: u32): bool {
  const r = probeWalk(cpu, va, KIND_READ, CPL3);
  if ((r & FAULT_BIT) != 0 || r != pa) return true;
  const now = probeRights(cpu);
  return (
    ((perms & PERM_RW) != 0 && permFault(now, KIND_WRITE, acCx, acPkrU, acPkrS) != 0) ||
    ((perms & PERM_XD) == 0 && permFault(now, KIND_EXEC, acCx, acPkrU, acPkrS) != 0)
  );
}

/**
 * The number of CPU `cpu`'s valid paging-structure-cache entries serving an address below `below`
 * that the tables in memory under the current CR3 contradict: the walk down to the cached entry's
 * level stops (not present, a large page above it, a table outside RAM), the entry there points
 * to another table, or the rights accumulated down to it (R/W, U/S, XD whatever EFER.NXE) grant
 * less than the cached ones. The walk is the oracle's software walk (src/fuzz/outcome.ts
 * walkTables), PAE's PDPTE read from memory as it does.
 */
export function pscStaleUser(cpu: usize, below: u64): u32 {
  const mode = load<u32>(cpu + C_MODE);
  const cr3 = load<u64>(cpu + C_CR3);
  let n: u32 = 0;
  for (let l: u32 = 2; l <= 5; l++) {
    const d = cpu + C_PSC + usize(l - 2) * 16;
    const ways = usize(load<u32>(d, 8));
    if (ways == 0) continue;
    const shift = pscShift(l, mode);
    const count = (usize(load<u32>(d, 4)) + 1) * ways;
    let e = usize(load<u32>(d));
    for (let i: usize = 0; i < count; i++, e += PSC_ENTRY) {
      const key = load<u64>(e, P_KEY);
      if ((key & 1) == 0) continue;
      const va = linearOf(key >> 13, shift, mode);
      if (va >= below) continue;
      if (pscContradicted(cr3, mode, va, l, load<u64>(e, P_NEXT), load<u32>(e, P_PERMS))) n++;
    }
  }
  return n;
}

/** Whether the walk of `va` from `cr3` down to level `level` contradicts a cached entry (`next`, `perms`). */
function pscContradicted(cr3: u64, mode: u32, va: u64, level: u32, next: u64, perms: u32): bool {
  const vpn = va >> 12;
  if (mode == MODE_32) {
    const at = (cr3 & 0xFFFF_F000) + ((vpn >> 10) & 1023) * 4;
    if (at + 4 > ramSize) return true;
    const e = physRead32(at);
    if ((e & 1) == 0 || (e & 0x80) != 0) return true;
    if (level != 2) return true; // 32-bit paging caches PDEs only
    return u64(e & 0xFFFF_F000) != next || ((perms & PERM_RW) != 0 && (e & 2) == 0) || ((perms & PERM_US) != 0 && (e & 4) == 0);
  }
  let table: u64;
  let top: u32;
  let rw = true;
  let us = true;
  let nx = false;
  if (mode == MODE_PAE) {
    const at = (cr3 & 0xFFFF_FFE0) + ((vpn >> 18) & 3) * 8;
    if (at + 8 > ramSize) return true;
    const lo = physRead32(at);
    if ((lo & 1) == 0) return true;
    table = (u64(physRead32(at + 4) & 0xF_FFFF) << 32) | u64(lo & 0xFFFF_F000);
    top = 2;
  } else {
    table = cr3 & 0x000F_FFFF_FFFF_F000;
    top = mode == MODE_5L ? 5 : 4;
  }
  for (let l = top; l >= level; l--) {
    if (table >= ramSize) return true;
    const at = table + ((vpn >> (9 * (u64(l) - 1))) & 511) * 8;
    const lo = physRead32(at);
    if ((lo & 1) == 0 || (l <= 3 && l > 1 && (lo & 0x80) != 0)) return true;
    const hi = physRead32(at + 4);
    rw = rw && (lo & 2) != 0;
    us = us && (lo & 4) != 0;
    nx = nx || hi >> 31 == 1;
    table = (u64(hi & 0xF_FFFF) << 32) | u64(lo & 0xFFFF_F000);
  }
  return table != next || ((perms & PERM_RW) != 0 && !rw) || ((perms & PERM_US) != 0 && !us) || ((perms & PERM_XD) == 0 && nx);
}
