// Frame table: metadata per 4 KiB guest frame (struct of arrays above RAM) and the allocator.
// Freed frames are reused last-in first-out (like the kernel's per-cpu hot lists), so a freed
// page is likely to come back soon as something else: exactly what the seeds need.
import { RAM_BASE, FS_FREE, FS_ALLOCATED, FS_RESERVED } from './layout';
import { heapAlloc } from './heap';
import { noteWrite } from './state';

export let nFrames: u32 = 0;
export let ftState: usize = 0; // u8
export let ftLevel: usize = 0; // u8: page-table level (0 = not a table)
export let ftOwner: usize = 0; // u16
export let ftGen: usize = 0; // u32, bumped on every free
export let ftRef: usize = 0; // u32, model-defined
export let ftType: usize = 0; // u32, model-defined
let stack: usize = 0; // u32 free stack
let stacked: usize = 0; // u8: 1 while the frame's pfn is on the free stack
let stackTop: u32 = 0;
let fresh: u32 = 0;
export let freeFrames: u32 = 0;

export function framesInit(n: u32): bool {
  nFrames = n;
  ftState = heapAlloc(usize(n));
  ftLevel = heapAlloc(usize(n));
  ftOwner = heapAlloc(usize(n) * 2);
  ftGen = heapAlloc(usize(n) * 4);
  ftRef = heapAlloc(usize(n) * 4);
  ftType = heapAlloc(usize(n) * 4);
  stack = heapAlloc(usize(n) * 4);
  stacked = heapAlloc(usize(n));
  if (stacked == 0 || ftState == 0 || ftLevel == 0 || ftOwner == 0 || ftGen == 0 || ftRef == 0 || ftType == 0 || stack == 0) return false;
  framesReset();
  return true;
}

/** All frames free with generation 0, except frame 0, which stays reserved (a zero pfn is "none"). */
export function framesReset(): void {
  const n = usize(nFrames);
  memory.fill(ftState, FS_FREE, n);
  memory.fill(ftLevel, 0, n);
  memory.fill(ftOwner, 0, n * 2);
  memory.fill(ftGen, 0, n * 4);
  memory.fill(ftRef, 0, n * 4);
  memory.fill(ftType, 0, n * 4);
  memory.fill(stacked, 0, n);
  stackTop = 0;
  fresh = 0;
  freeFrames = nFrames;
  if (nFrames > 0) {
    store<u8>(ftState, FS_RESERVED);
    freeFrames--;
  }
}

/** Allocates a frame: the most recently freed one, else the lowest never-used one. -1 when none. */
export function frameAlloc(level: u32, owner: u32, zero: bool): i32 {
  let pfn: u32 = 0xFFFF_FFFF;
  while (stackTop > 0) {
    const p = load<u32>(stack + usize(--stackTop) * 4);
    store<u8>(stacked + usize(p), 0);
    if (load<u8>(ftState + usize(p)) == FS_FREE) {
      pfn = p;
      break;
    }
  }
  if (pfn == 0xFFFF_FFFF) {
    while (fresh < nFrames && load<u8>(ftState + usize(fresh)) != FS_FREE) fresh++;
    if (fresh >= nFrames) return -1;
    pfn = fresh++;
  }
  take(pfn, FS_ALLOCATED, level, owner);
  if (zero) memory.fill(RAM_BASE + usize(pfn) * 4096, 0, 4096);
  noteWrite((u64(pfn) + 1) << 12); // its user will write it
  return i32(pfn);
}

function take(pfn: u32, state: u8, level: u32, owner: u32): void {
  store<u8>(ftState + usize(pfn), state);
  store<u8>(ftLevel + usize(pfn), u8(level));
  store<u16>(ftOwner + usize(pfn) * 2, u16(owner));
  freeFrames--;
}

/** Frees an allocated or reserved frame; 0, or -1 if it was already free (double free). */
export function frameFree(pfn: u32): i32 {
  if (pfn >= nFrames || load<u8>(ftState + usize(pfn)) == FS_FREE) return -1;
  store<u8>(ftState + usize(pfn), FS_FREE);
  store<u8>(ftLevel + usize(pfn), 0);
  store<u32>(ftGen + usize(pfn) * 4, load<u32>(ftGen + usize(pfn) * 4) + 1);
  // A frame already on the stack (reserved from it, then freed) is not pushed twice.
  if (pfn < fresh && load<u8>(stacked + usize(pfn)) == 0) {
    store<u32>(stack + usize(stackTop++) * 4, pfn);
    store<u8>(stacked + usize(pfn), 1);
  }
  freeFrames++;
  return 0;
}

/** Takes a specific free frame out of the allocator. 0, or -1 if it is not free. */
export function frameReserve(pfn: u32): i32 {
  if (pfn >= nFrames || load<u8>(ftState + usize(pfn)) != FS_FREE) return -1;
  take(pfn, FS_RESERVED, 0, 0);
  return 0;
}

/** Saves the allocator's scalar state (free-stack top, first never-used frame, free count) at `p` (3 x u32). */
export function framesSaveScalars(p: usize): void {
  store<u32>(p, stackTop);
  store<u32>(p, fresh, 4);
  store<u32>(p, freeFrames, 8);
}

/** Restores what `framesSaveScalars` saved (the arrays are restored by copying linear memory). */
export function framesLoadScalars(p: usize): void {
  stackTop = load<u32>(p);
  fresh = load<u32>(p, 4);
  freeFrames = load<u32>(p, 8);
}
