// Machine-wide settings and guest physical memory access.
import { RAM_BASE } from './layout';

/** Bytes of guest RAM; physical addresses at or above it are unbacked. */
export let ramSize: u64 = 0;
/** Writes to unbacked physical addresses, dropped. */
export let droppedWrites: u64 = 0;
/**
 * End of the highest RAM byte the core has written (frame allocation, PTE operations, stores):
 * a reset zeroes RAM only below it. A/D updates need not count: they only touch present entries,
 * which some counted write put there.
 */
export let ramHigh: u64 = 0;

@inline export function noteWrite(end: u64): void {
  if (end > ramHigh) ramHigh = end;
}

export function resetRamHigh(): void {
  ramHigh = 0;
}
/** 0 = Intel, 1 = AMD. */
export let vendorAmd: bool = false;
/** MAXPHYADDR. */
export let maxPhys: u32 = 46;
/** Bits 51:MAXPHYADDR (reserved in IA-32e entries). */
export let rsvdHi: u64 = 0;
/** Bits 62:MAXPHYADDR (reserved in PAE PDEs/PTEs). */
export let rsvdHiPae: u64 = 0;
/** Bits (MAXPHYADDR-1):12 — a table or page frame address. */
export let addrMask: u64 = 0;
/** Reserved bits of a 32-bit 4 MiB PDE (bit 21 and PSE-36 bits beyond MAXPHYADDR). */
export let rsvd4M: u32 = 0;
export let pdpe1gb: bool = true;
export let pse36: bool = true;
/** 0 = a denied TLB hit faults (Intel), 1 = it re-walks (AMD). */
export let staleRewalk: bool = false;
export let cpuCount: u32 = 1;

export function configureMachine(ram: u64, amd: bool, mpa: u32, gb: bool, p36: bool, rewalk: bool, cpus: u32): void {
  ramSize = ram;
  droppedWrites = 0;
  vendorAmd = amd;
  maxPhys = mpa;
  addrMask = ((u64(1) << mpa) - 1) & ~u64(0xFFF);
  rsvdHi = ((u64(1) << 52) - 1) & ~((u64(1) << mpa) - 1);
  rsvdHiPae = ((u64(1) << 63) - 1) & ~((u64(1) << mpa) - 1);
  pdpe1gb = gb;
  pse36 = p36;
  // 4 MiB PDE: bits 20:13 carry PA bits 39:32; those at or above MAXPHYADDR are reserved.
  const m: u32 = p36 ? (mpa < 40 ? mpa : 40) : 32;
  rsvd4M = (u32(1) << 21) | (0x1FE000 & ~((u32(1) << (13 + m - 32)) - 1));
  staleRewalk = rewalk;
  cpuCount = cpus;
}

@inline export function physRead64(pa: u64): u64 {
  return pa < ramSize ? load<u64>(usize(pa), RAM_BASE) : 0xFFFF_FFFF_FFFF_FFFF;
}

@inline export function physRead32(pa: u64): u32 {
  return pa < ramSize ? load<u32>(usize(pa), RAM_BASE) : 0xFFFF_FFFF;
}

/**
 * Sets bits in a 64-bit entry as a locked read-modify-write would. Out of line on purpose: walks
 * call it only when an A or D bit is missing, and inlining it into every level bloats the loops.
 */
export function physOr64(pa: u64, bits: u64): void {
  if (pa < ramSize) store<u64>(usize(pa), load<u64>(usize(pa), RAM_BASE) | bits, RAM_BASE);
  else droppedWrites++;
}

export function physOr32(pa: u64, bits: u32): void {
  if (pa < ramSize) store<u32>(usize(pa), load<u32>(usize(pa), RAM_BASE) | bits, RAM_BASE);
  else droppedWrites++;
}

export function physWrite64(pa: u64, v: u64): void {
  if (pa + 8 <= ramSize) {
    store<u64>(usize(pa), v, RAM_BASE);
    noteWrite(pa + 8);
  } else droppedWrites++;
}

export function physWrite32(pa: u64, v: u32): void {
  if (pa + 4 <= ramSize) {
    store<u32>(usize(pa), v, RAM_BASE);
    noteWrite(pa + 4);
  } else droppedWrites++;
}

/** Restores `ramHigh` and `droppedWrites` (machine snapshots, index.ts coreLoadScalars). */
export function setRamState(high: u64, dropped: u64): void {
  ramHigh = high;
  droppedWrites = dropped;
}
