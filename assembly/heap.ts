// Bump allocation of core structures (frame table, TLBs, PSCs) above guest RAM, growing memory.
import { RAM_BASE } from './layout';

let top: usize = 0;

export function heapReset(ram: u64): void {
  top = (RAM_BASE + usize(ram) + 0xFFFF) & ~usize(0xFFFF);
}

/** Zeroed, 64-byte-aligned storage; 0 when linear memory cannot grow that far. */
export function heapAlloc(bytes: usize): usize {
  const p = (top + 63) & ~usize(63);
  const end = p + bytes;
  if (end < p || end > 0xFFFF_0000) return 0;
  const have = usize(memory.size()) << 16;
  if (end > have) {
    if (memory.grow(i32((end - have + 0xFFFF) >> 16)) < 0) return 0;
  }
  memory.fill(p, 0, bytes);
  top = end;
  return p;
}

/** End of what the heap has handed out. */
export function heapTop(): usize {
  return top;
}
