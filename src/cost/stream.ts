/**
 * An address stream: the virtual addresses handed to `cpu.translateBatch`, with each address's
 * 4 KiB virtual page number kept as a number for the table builder and the working-set model.
 */
export interface Stream {
  /** Virtual addresses, in access order. */
  va: BigUint64Array;
  /** va / 4096 (exact: < 2^45 for 57-bit addresses). */
  vpn: Float64Array;
  /** Access kind per address for translateBatch: 0 = read, 1 = write (ACCESS_KIND_CODE). */
  write: Uint8Array;
}

/** The 64-byte line of each address within its 4 KiB page (0..63). */
export function lineInPage(s: Stream): Uint8Array {
  const words = new Uint32Array(s.va.buffer, s.va.byteOffset, s.va.length * 2);
  const out = new Uint8Array(s.va.length);
  for (let i = 0; i < out.length; i++) out[i] = (words[2 * i] >>> 6) & 63;
  return out;
}

const TWO32 = 0x1_0000_0000;

/** Allocates a stream of `n` addresses. */
export function newStream(n: number): Stream {
  return { va: new BigUint64Array(n), vpn: new Float64Array(n), write: new Uint8Array(n) };
}

/**
 * Fills entry i of `s` with `base + off` without going through bigint arithmetic per element:
 * writes the two 32-bit halves of the little-endian u64 directly (off < 2^53, base < 2^64).
 */
export function makeWriter(s: Stream, base: bigint): (i: number, off: number) => void {
  const words = new Uint32Array(s.va.buffer, s.va.byteOffset, s.va.length * 2);
  const baseHi = Number(base >> 32n);
  const baseLo = Number(base & 0xffff_ffffn);
  return (i: number, off: number): void => {
    const offHi = Math.floor(off / TWO32);
    let lo = baseLo + (off - offHi * TWO32);
    let hi = baseHi + offHi;
    if (lo >= TWO32) {
      lo -= TWO32;
      hi += 1;
    }
    words[2 * i] = lo;
    words[2 * i + 1] = hi;
    s.vpn[i] = hi * 1048576 + Math.floor(lo / 4096);
  };
}

/** Fills the vpn column from the addresses (for streams read from files). */
export function fillVpn(s: Stream): void {
  const words = new Uint32Array(s.va.buffer, s.va.byteOffset, s.va.length * 2);
  for (let i = 0; i < s.va.length; i++) s.vpn[i] = words[2 * i + 1] * 1048576 + Math.floor(words[2 * i] / 4096);
}
