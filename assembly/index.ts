// Exports of the WASM core. Everything Linux- or Xen-specific lives in TypeScript.
//
// Map of a translation, top to bottom (access.ts → caches.ts → walk.ts):
//   translateBatch / accessOne (access.ts): beginAccess (context.ts) fixes the access context —
//     CX_* bits, key registers, the context id that tags the TLB, the per-kind masks (KTAB).
//   TLB on: the fast tag — tlbLoop looks the 4 KiB page up in the front cache (caches.ts): one
//     compare of ((va >> 12) << 8 | context id) per access kind, present only for the kinds the
//     cached rights allow in that context (four addresses per iteration while all hit).
//   miss path: in IA-32e mode quickMiss first (the 4 KiB set ruled out by its tag bytes, a
//     PDE-cache hit or a PDPTE-cache hit and the PDE, else quickUpper's walk, the leaf checked
//     with folded rights and KT_OK, fill and front refill in one step);
//     anything else, before any change, goes to missPath, which re-checks every page-size
//     class's entry against the context (stale entries: Intel faults from them, AMD re-walks),
//     else walks (with the paging-structure caches when on) and fills the TLB (tlbFill, FIFO
//     victims; the 4 KiB victim is picked by the lookup's own pass, tlbFindOrVictim) and the
//     PSCs; hits and fills of 4 KiB entries refill the front cache (frontFill).
//   walkers: TLB off in IA-32e mode, access.ts walkInPlace decides a walk with one mask test per
//     level and folded rights; the batch loop (access.ts mlpLoop) interleaves 16 such walks so
//     that their leaf reads overlap; walkLong / walkPae / walk32 are the exact
//     walks every path can fall back to (PSC lookups and fills, AMD's deferred A bits, keys).
//     step.ts walks one level per call for the orchestrator and `explain`.
// Results travel as one u64 (layout.ts "result encoding"): no side channels between levels.
import {
  CPU_BASE, CPU_STRIDE, MAX_CPUS, IO_VA, IO_KIND, IO_PA, IO_FAULT, RAM_BASE, BATCH_MAX,
  C_TLB, C_PSC, C_FLAGS, C_RETENTION, C_LAST, C_LAST_N, TLB_ENTRY, PSC_ENTRY, C_FRONT, FRONT_BYTES, C_TAGS, C_FIFO,
} from './layout';
import { configureMachine, ramSize, droppedWrites, ramHigh, resetRamHigh, setRamState } from './state';
import { heapReset, heapAlloc } from './heap';
import { framesInit, framesReset, nFrames, ftState, ftLevel, ftOwner, ftGen, ftRef, ftType, freeFrames, framesSaveScalars, framesLoadScalars } from './frames';
import { heapTop } from './heap';
import { flushEverything } from './control';
import { nestedFlush, nestedTlbReserve, NF_COMBINED, NF_GP } from './nested-tlb';

export { accessOne, translateBatch, batchBadKind } from './access';
export { setControl, setPkeys, invlpg, invpcid, flushEverything } from './control';
export { frameAlloc, frameFree, frameReserve } from './frames';
export { ptNewRoot, ptMap, ptMapPages, ptUnmap, ptProtect } from './ptops';
export { stepBegin, stepNext, stepResult, stepRecordAddr, probeWalk } from './step';
export { physWrite64, physWrite32 } from './state';
export { tlbStaleUser, pscStaleUser } from './coherence';
export { nestedSet, nestedAccess, nestedBatch, nestedBadKind, nestedExitKind, nestedExitInfo, nestedExitGpa, nestedStat, nestedStatsReset, nestedRows, nestedRowWord, nestedLastSource, nestedExplainWalk, nestedFastPaths } from './nested';
export { nestedTlbConfig, nestedFlush, nestedEvictions } from './nested-tlb';

const retentionOf = new StaticArray<u32>(MAX_CPUS);

/** Sets up RAM and the frame table. Returns false when memory cannot grow enough. */
export function machineInit(ram: u64, amd: bool, mpa: u32, gb: bool, p36: bool, rewalk: bool, cpus: u32): bool {
  configureMachine(ram, amd, mpa, gb, p36, rewalk, cpus);
  heapReset(ram);
  if (heapAlloc(0) == 0) return false; // grows memory to cover RAM
  memory.fill(CPU_BASE, 0, usize(cpus) * CPU_STRIDE);
  return framesInit(u32(ram >> 12));
}

/**
 * Allocates CPU i's caches. Geometry per TLB class (4K, 2M, 1G) and PSC level (PDE, PDPTE,
 * PML4E, PML5E) as sets/ways pairs read from IO_PA (u32 pairs, 7 of them). Returns false on OOM.
 */
export function cpuInit(i: u32, flags: u32, maximal: bool): bool {
  const cpu = CPU_BASE + usize(i) * CPU_STRIDE;
  memory.fill(cpu, 0, CPU_STRIDE);
  for (let k: usize = 0; k < 7; k++) {
    const sets = load<u32>(IO_PA + k * 8);
    const ways = load<u32>(IO_PA + k * 8 + 4);
    const size = k < 3 ? TLB_ENTRY : PSC_ENTRY;
    const d = k < 3 ? cpu + C_TLB + k * 16 : cpu + C_PSC + (k - 3) * 16;
    const base = heapAlloc(usize(sets) * usize(ways) * size);
    if (base == 0 && sets * ways != 0) return false;
    store<u32>(d, u32(base));
    store<u32>(d, sets == 0 ? 0 : sets - 1, 4);
    store<u32>(d, base == 0 ? 0 : ways, 8);
  }
  const front = heapAlloc(FRONT_BYTES);
  if (front == 0) return false;
  // the 4 KiB class's tag bytes, 16 more so that a 16-byte load at any set stays inside
  const tags = heapAlloc(usize(load<u32>(cpu + C_TLB, 4) + 1) * usize(load<u32>(cpu + C_TLB, 8)) + 16);
  if (tags == 0) return false;
  store<u32>(cpu + C_TAGS, u32(tags));
  // the 4 KiB sets' fill-order words (caches.ts fifoWord): sets of up to 15 ways
  const ways4k = load<u32>(cpu + C_TLB, 8);
  if (ways4k != 0 && ways4k <= 15) {
    const fifo = heapAlloc(usize(load<u32>(cpu + C_TLB, 4) + 1) * 8);
    if (fifo == 0) return false;
    store<u32>(cpu + C_FIFO, u32(fifo));
  }
  if (!nestedTlbReserve(i)) return false;
  store<u32>(cpu + C_FRONT, u32(front));
  store<u32>(cpu + C_FLAGS, flags);
  store<u32>(cpu + C_RETENTION, maximal ? 1 : 0);
  retentionOf[i] = maximal ? 1 : 0;
  return true;
}

export function cpuSetFlags(i: u32, flags: u32): void {
  const cpu = CPU_BASE + usize(i) * CPU_STRIDE;
  store<u32>(cpu + C_FLAGS, flags);
  flushEverything(cpu);
}

/**
 * Reset for reuse: RAM zeroed, frames freed (caches and registers: cpuReset). Only RAM below the
 * highest byte written — by the core, or by the host up to `hostHigh` — needs zeroing.
 */
export function machineReset(hostHigh: u64): void {
  let end = ramHigh > hostHigh ? ramHigh : hostHigh;
  if (end > ramSize) end = ramSize;
  memory.fill(RAM_BASE, 0, usize(end));
  resetRamHigh();
  framesReset();
}

/**
 * Machine snapshots (src/core/machine.ts): the core's scalar state outside linear memory — RAM
 * high-water mark, dropped writes, the frame allocator's scalars — saved at / loaded from `p`
 * (32 bytes). Linear memory itself (CPU blocks, RAM, frame table, caches) the host copies.
 */
export function coreSaveScalars(p: usize): void {
  store<u64>(p, ramHigh);
  store<u64>(p, droppedWrites, 8);
  framesSaveScalars(p + 16);
}
export function coreLoadScalars(p: usize): void {
  setRamState(load<u64>(p), load<u64>(p, 8));
  framesLoadScalars(p + 16);
}
/** End of the core's structures above RAM (frame table, caches). */
export function layoutHeapTop(): usize { return heapTop(); }
export function layoutCpuBase(): usize { return CPU_BASE; }
export function layoutCpuStride(): usize { return CPU_STRIDE; }
export function ramHighMark(): u64 { return ramHigh; }

export function cpuAddr(i: u32): usize { return CPU_BASE + usize(i) * CPU_STRIDE; }
export function layoutRamBase(): usize { return RAM_BASE; }
export function layoutIoVa(): usize { return IO_VA; }
export function layoutIoKind(): usize { return IO_KIND; }
export function layoutIoPa(): usize { return IO_PA; }
export function layoutIoFault(): usize { return IO_FAULT; }
export function layoutBatchMax(): u32 { return BATCH_MAX; }
export function layoutLastWalk(): usize { return C_LAST; }
export function layoutLastWalkN(): usize { return C_LAST_N; }
export function getDroppedWrites(): u64 { return droppedWrites; }
export function framesCount(): u32 { return nFrames; }
export function framesFree(): u32 { return freeFrames; }
export function ftStateAddr(): usize { return ftState; }
export function ftLevelAddr(): usize { return ftLevel; }
export function ftOwnerAddr(): usize { return ftOwner; }
export function ftGenAddr(): usize { return ftGen; }
export function ftRefAddr(): usize { return ftRef; }
export function ftTypeAddr(): usize { return ftType; }

/** Clears CPU i's registers, statistics and caches, keeping the cache geometry and switches. */
export function cpuReset(i: u32): void {
  const cpu = CPU_BASE + usize(i) * CPU_STRIDE;
  const flags = load<u32>(cpu + C_FLAGS);
  memory.fill(cpu, 0, C_TLB);
  memory.fill(cpu + C_PSC + 64, 0, CPU_STRIDE - C_PSC - 64);
  store<u32>(cpu + C_FLAGS, flags);
  store<u32>(cpu + C_RETENTION, retentionOf[i]);
  flushEverything(cpu);
  nestedFlush(i, NF_COMBINED | NF_GP, 0, 0, 0, 0);
}
