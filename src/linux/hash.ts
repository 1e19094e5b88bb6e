/**
 * A hash of the whole modelled state, to check that a replay reproduces a run bit for bit:
 * every allocated frame's contents and metadata, every CPU's registers and flags, every task's
 * state and mm, and the kernel log. FNV-1a, 32 bits.
 */
import { FRAME_STATE } from '../core/types.js';
import type { Kernel } from './kernel.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function mixBytes(h: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], FNV_PRIME);
  return h;
}

function mixString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return Math.imul(h ^ 0xff, FNV_PRIME);
}

/** The state hash of `k` (8 hex digits). */
export function stateHash(k: Kernel): string {
  let h = FNV_OFFSET;
  const f = k.m.frames;
  for (let pfn = 0; pfn < f.count; pfn++) {
    const st = f.state(pfn);
    if (st === FRAME_STATE.FREE) continue;
    h = mixString(h, `${pfn}:${st}:${f.level(pfn)}:${f.generation(pfn)}`);
    h = mixBytes(h, k.m.phys.readBytes(BigInt(pfn) * 4096n, 4096));
  }
  for (const c of k.cpus) {
    const r = c.hw.getControl();
    h = mixString(
      h,
      `cpu${c.index}:${r.cr0}:${r.cr3}:${r.cr4}:${r.efer}:${c.IF}:${c.preemptCount}:${c.irqDepth}:${c.nmiDepth}:${c.curr.pid}:${c.frames.length}:${c.tlbState}:${c.lazyMode}`,
    );
  }
  for (const t of k.tasks) h = mixString(h, `${t.pid}:${t.comm}:${t.state}:${t.mm?.id ?? -1}:${t.active_mm?.id ?? -1}:${t.lastLabel}`);
  for (const l of k.log) h = mixString(h, l);
  return (h >>> 0).toString(16).padStart(8, '0');
}
