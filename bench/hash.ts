/**
 * Order-sensitive hash (FNV-1a over 32-bit words) of translation results, so that every
 * implementation's output can be compared exactly: for each address, the physical address when
 * it translated (0 otherwise) and the fault word ((vector << 16) | error code, 0 when none).
 */
export interface Results {
  pa: BigUint64Array;
  fault: Uint32Array;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Hash of the first `n` results. Also returns how many of them faulted. */
export function hashResults(r: Results, n: number): { hash: number; faults: number } {
  if (r.pa.length < n || r.fault.length < n) throw new Error(`hashResults: fewer than ${n} results`);
  const halves = new Uint32Array(r.pa.buffer, r.pa.byteOffset, 2 * n);
  let h = FNV_OFFSET;
  let faults = 0;
  for (let i = 0; i < n; i++) {
    const f = r.fault[i];
    const lo = f === 0 ? halves[2 * i] : 0;
    const hi = f === 0 ? halves[2 * i + 1] : 0;
    if (f !== 0) faults++;
    h = Math.imul(h ^ lo, FNV_PRIME);
    h = Math.imul(h ^ hi, FNV_PRIME);
    h = Math.imul(h ^ f, FNV_PRIME);
  }
  return { hash: h >>> 0, faults };
}

/** Allocates result arrays for `n` addresses. */
export function newResults(n: number): Results {
  return { pa: new BigUint64Array(n), fault: new Uint32Array(n) };
}

/** `0x`-prefixed 8-digit hex, for printing hashes. */
export function hex32(h: number): string {
  return '0x' + (h >>> 0).toString(16).padStart(8, '0');
}
