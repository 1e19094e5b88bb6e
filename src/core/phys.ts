import type { CoreExports } from './wasm.js';

const ALL_ONES = 0xffff_ffff_ffff_ffffn;

/**
 * Guest physical memory: physical address = offset into RAM. Reads of unbacked addresses
 * (at or above `ramBytes`) return all ones; writes to them are dropped and counted.
 */
export class PhysMem {
  /**
   * Byte view of guest RAM (index = physical address), for reading. Write through the methods:
   * `Machine.reset()` zeroes only what was written through them or by the core.
   */
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  /** @internal End of the highest byte written through these methods since the last reset. */
  writtenHigh = 0;

  /** @internal */
  constructor(private readonly core: CoreExports, readonly ramBytes: number) {
    const base = core.layoutRamBase();
    this.bytes = new Uint8Array(core.memory.buffer, base, ramBytes);
    this.view = new DataView(core.memory.buffer, base, ramBytes);
  }

  read64(pa: bigint): bigint {
    return pa >= 0n && pa + 8n <= BigInt(this.ramBytes) ? this.view.getBigUint64(Number(pa), true) : ALL_ONES;
  }

  write64(pa: bigint, value: bigint): void {
    if (pa >= 0n && pa + 8n <= BigInt(this.ramBytes)) {
      this.view.setBigUint64(Number(pa), BigInt.asUintN(64, value), true);
      this.wrote(Number(pa) + 8);
    } else this.core.physWrite64(BigInt.asUintN(64, pa), 0n);
  }

  read32(pa: bigint): number {
    return pa >= 0n && pa + 4n <= BigInt(this.ramBytes) ? this.view.getUint32(Number(pa), true) : 0xffff_ffff;
  }

  write32(pa: bigint, value: number): void {
    if (pa >= 0n && pa + 4n <= BigInt(this.ramBytes)) {
      this.view.setUint32(Number(pa), value >>> 0, true);
      this.wrote(Number(pa) + 4);
    } else this.core.physWrite32(BigInt.asUintN(64, pa), 0);
  }

  /** Number-address variants for model code on hot paths (pa must be a safe integer). */
  read64n(pa: number): bigint {
    if (!(pa >= 0 && pa + 8 <= this.ramBytes)) return ALL_ONES;
    const v = this.view;
    // Most page-table entries are zero: answer those without allocating a BigInt.
    return (v.getUint32(pa, true) | v.getUint32(pa + 4, true)) === 0 ? 0n : v.getBigUint64(pa, true);
  }

  write64n(pa: number, value: bigint): void {
    if (!(pa >= 0 && pa + 8 <= this.ramBytes)) {
      this.write64(BigInt(pa), value);
      return;
    }
    this.view.setBigUint64(pa, value, true); // stores the low 64 bits, as BigInt.asUintN(64) would
    if (pa + 8 > this.writtenHigh) this.writtenHigh = pa + 8;
  }

  /** A copy of `len` bytes; unbacked bytes read as 0xff. */
  readBytes(pa: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len).fill(0xff);
    const start = Number(pa);
    const end = Math.min(this.ramBytes, start + len);
    if (start < this.ramBytes) out.set(this.bytes.subarray(start, end));
    return out;
  }

  writeBytes(pa: bigint, data: Uint8Array): void {
    const start = Number(pa);
    const fit = Math.max(0, Math.min(data.length, this.ramBytes - start));
    this.bytes.set(data.subarray(0, fit), start);
    this.wrote(start + fit);
    // Bytes past RAM are dropped; count them in 8-byte units as the core does.
    for (let i = fit; i < data.length; i += 8) this.core.physWrite64(BigInt(this.ramBytes), 0n);
  }

  fill(pa: bigint, len: number, byte: number): void {
    const start = Number(pa);
    const end = Math.min(this.ramBytes, start + len);
    this.bytes.fill(byte, start, end);
    this.wrote(end);
  }

  private wrote(end: number): void {
    if (end > this.writtenHigh) this.writtenHigh = end;
  }

  /** Writes to unbacked physical addresses so far. */
  get droppedWrites(): number {
    return Number(this.core.getDroppedWrites());
  }
}
