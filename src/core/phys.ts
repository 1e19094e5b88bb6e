import type { CoreExports } from './wasm.js';
import { arrayArg, badArg, intArg, lengthArg, show, u64Arg } from './validate.js';

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
  /** Guest RAM as little-endian 32-bit words (index = pa / 4): read32n()'s aligned reads. */
  private readonly words: Uint32Array;
  private readonly view: DataView;
  /** @internal End of the highest byte written through these methods since the last reset. */
  writtenHigh = 0;

  /** @internal */
  constructor(
    private readonly core: CoreExports,
    readonly ramBytes: number,
  ) {
    const base = core.layoutRamBase();
    this.bytes = new Uint8Array(core.memory.buffer, base, ramBytes);
    this.view = new DataView(core.memory.buffer, base, ramBytes);
    this.words = new Uint32Array(core.memory.buffer, base, ramBytes >>> 2);
  }

  read64(pa: bigint): bigint {
    u64Arg('phys.read64', 'pa', pa);
    return pa + 8n <= BigInt(this.ramBytes) ? this.view.getBigUint64(Number(pa), true) : ALL_ONES;
  }

  write64(pa: bigint, value: bigint): void {
    u64Arg('phys.write64', 'pa', pa);
    u64Arg('phys.write64', 'value', value);
    if (pa + 8n <= BigInt(this.ramBytes)) {
      this.view.setBigUint64(Number(pa), value, true);
      this.wrote(Number(pa) + 8);
    } else this.dropped();
  }

  read32(pa: bigint): number {
    u64Arg('phys.read32', 'pa', pa);
    return pa + 4n <= BigInt(this.ramBytes) ? this.view.getUint32(Number(pa), true) : 0xffff_ffff;
  }

  write32(pa: bigint, value: number): void {
    u64Arg('phys.write32', 'pa', pa);
    intArg('phys.write32', 'value', value, -0x8000_0000, 0xffff_ffff); // an int32 is its 32 bits
    if (pa + 4n <= BigInt(this.ramBytes)) {
      this.view.setUint32(Number(pa), value >>> 0, true);
      this.wrote(Number(pa) + 4);
    } else this.dropped();
  }

  /** Number-address variants for model code on hot paths (pa must be a safe integer). */
  read64n(pa: number): bigint {
    if (!(Number.isInteger(pa) && pa >= 0 && pa + 8 <= this.ramBytes)) return this.unbacked64n(pa);
    const v = this.view;
    // Most page-table entries are zero: answer those without allocating a BigInt.
    return (v.getUint32(pa, true) | v.getUint32(pa + 4, true)) === 0 ? 0n : v.getBigUint64(pa, true);
  }

  /**
   * The 32-bit word at `pa` (a number address; unbacked reads as all ones), for hot model paths
   * (page-table scans): an aligned word is one load from the word view.
   */
  read32n(pa: number): number {
    if (!(Number.isInteger(pa) && pa >= 0 && pa + 4 <= this.ramBytes)) {
      if (!Number.isSafeInteger(pa) || pa < 0) badArg('phys.read32n', `pa must be a non-negative safe integer number, got ${show(pa)}`);
      return 0xffff_ffff;
    }
    return (pa & 3) === 0 ? this.words[pa >>> 2] : this.view.getUint32(pa, true);
  }

  write64n(pa: number, value: bigint): void {
    if (!Number.isSafeInteger(pa) || pa < 0) badArg('phys.write64n', `pa must be a non-negative safe integer number, got ${show(pa)}`);
    if (pa + 8 > this.ramBytes) {
      this.write64(BigInt(pa), value); // counted as dropped
      return;
    }
    u64Arg('phys.write64n', 'value', value);
    this.view.setBigUint64(pa, value, true); // no BigInt address on this hot path
    if (pa + 8 > this.writtenHigh) this.writtenHigh = pa + 8;
  }

  private unbacked64n(pa: number): bigint {
    if (!Number.isSafeInteger(pa) || pa < 0) badArg('phys.read64n', `pa must be a non-negative safe integer number, got ${show(pa)}`);
    return ALL_ONES;
  }

  /** A copy of `len` bytes; unbacked bytes read as 0xff. */
  readBytes(pa: bigint, len: number): Uint8Array {
    u64Arg('phys.readBytes', 'pa', pa);
    lengthArg('phys.readBytes', 'len', len, BigInt(this.ramBytes));
    const out = new Uint8Array(len).fill(0xff);
    if (pa < BigInt(this.ramBytes)) {
      const start = Number(pa);
      out.set(this.bytes.subarray(start, Math.min(this.ramBytes, start + len)));
    }
    return out;
  }

  writeBytes(pa: bigint, data: Uint8Array): void {
    u64Arg('phys.writeBytes', 'pa', pa);
    arrayArg('phys.writeBytes', 'data', data, Uint8Array);
    const start = pa < BigInt(this.ramBytes) ? Number(pa) : this.ramBytes;
    const fit = Math.max(0, Math.min(data.length, this.ramBytes - start));
    this.bytes.set(data.subarray(0, fit), start);
    this.wrote(start + fit);
    // Bytes past RAM are dropped; count them in 8-byte units as the core does.
    for (let i = fit; i < data.length; i += 8) this.dropped();
  }

  fill(pa: bigint, len: number, byte: number): void {
    u64Arg('phys.fill', 'pa', pa);
    lengthArg('phys.fill', 'len', len, 1n << 53n);
    intArg('phys.fill', 'byte', byte, 0, 255);
    const start = pa < BigInt(this.ramBytes) ? Number(pa) : this.ramBytes;
    const end = Math.min(this.ramBytes, start + len);
    this.bytes.fill(byte, start, end);
    this.wrote(end);
  }

  /** Counts a write to an unbacked address, as the core does (one past RAM: never a trap). */
  private dropped(): void {
    this.core.physWrite64(BigInt(this.ramBytes), 0n);
  }

  private wrote(end: number): void {
    if (end > this.writtenHigh) this.writtenHigh = end;
  }

  /** Writes to unbacked physical addresses so far. */
  get droppedWrites(): number {
    return Number(this.core.getDroppedWrites());
  }
}
