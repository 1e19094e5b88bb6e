/** A sparse physical memory for the reference walker (pages allocated on first write). */
import type { RefMemory } from './types.js';

const PAGE = 4096;

/**
 * Guest physical memory with the core's unbacked-address rule: addresses ≥ `ramBytes` read as
 * all ones and writes to them are dropped (and counted). Backed memory starts zeroed.
 * Accesses must be naturally aligned (entries always are).
 */
export class SparseMemory implements RefMemory {
  readonly ramBytes: bigint;
  /** Writes dropped because they targeted an unbacked address. */
  droppedWrites = 0;
  private readonly pages = new Map<number, DataView>();

  constructor(ramBytes: number | bigint) {
    this.ramBytes = BigInt(ramBytes);
  }

  private page(pa: bigint, create: boolean): DataView | undefined {
    const pfn = Number(pa >> 12n);
    let p = this.pages.get(pfn);
    if (!p && create) {
      p = new DataView(new ArrayBuffer(PAGE));
      this.pages.set(pfn, p);
    }
    return p;
  }

  private check(pa: bigint, size: number): void {
    if (pa < 0n || pa % BigInt(size) !== 0n) throw new Error(`SparseMemory: unaligned or negative address 0x${pa.toString(16)} for a ${size}-byte access`);
  }

  read64(pa: bigint): bigint {
    this.check(pa, 8);
    if (pa >= this.ramBytes) return 0xffff_ffff_ffff_ffffn;
    const p = this.page(pa, false);
    return p ? p.getBigUint64(Number(pa & 0xfffn), true) : 0n;
  }

  write64(pa: bigint, v: bigint): void {
    this.check(pa, 8);
    if (pa >= this.ramBytes) {
      this.droppedWrites++;
      return;
    }
    this.page(pa, true)!.setBigUint64(Number(pa & 0xfffn), BigInt.asUintN(64, v), true);
  }

  read32(pa: bigint): number {
    this.check(pa, 4);
    if (pa >= this.ramBytes) return 0xffff_ffff;
    const p = this.page(pa, false);
    return p ? p.getUint32(Number(pa & 0xfffn), true) : 0;
  }

  write32(pa: bigint, v: number): void {
    this.check(pa, 4);
    if (pa >= this.ramBytes) {
      this.droppedWrites++;
      return;
    }
    this.page(pa, true)!.setUint32(Number(pa & 0xfffn), v >>> 0, true);
  }

  /** An independent copy (for dry runs). */
  clone(): SparseMemory {
    const c = new SparseMemory(this.ramBytes);
    c.droppedWrites = this.droppedWrites;
    for (const [pfn, p] of this.pages) c.pages.set(pfn, new DataView(p.buffer.slice(0)));
    return c;
  }

  /** Page frame numbers of the pages written so far. */
  touchedFrames(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  /** A copy of one 4 KiB frame (zeros when never written; the caller must pass a backed frame). */
  frameBytes(pfn: number): Uint8Array {
    const p = this.pages.get(pfn);
    return p ? new Uint8Array(p.buffer.slice(0)) : new Uint8Array(PAGE);
  }
}
