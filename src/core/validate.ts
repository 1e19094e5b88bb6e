/**
 * Argument checks of the public API: each throws PagewalkError('EINVAL_ARG') naming the method,
 * the argument and what was wrong, so that a bad argument is never coerced, truncated, or turned
 * into a WASM trap. One check per argument per call: none of them loops over a batch.
 */
import { PagewalkError } from './errors.js';

export const U64_MAX = (1n << 64n) - 1n;

/** A short, safe rendering of any value for a message. */
export function show(v: unknown): string {
  if (typeof v === 'bigint') return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
}

export function badArg(where: string, what: string): never {
  throw new PagewalkError('EINVAL_ARG', `${where}: ${what}`);
}

/** A bigint in 0..2^64-1 (an address or a 64-bit value). */
export function u64Arg(where: string, name: string, v: unknown): bigint {
  if (typeof v !== 'bigint') badArg(where, `${name} must be a bigint, got ${typeof v} ${show(v)}`);
  if (v < 0n || v > U64_MAX) badArg(where, `${name} ${show(v)} is outside 0..2^64-1`);
  return v;
}

/** An integer number in lo..hi. */
export function intArg(where: string, name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) badArg(where, `${name} must be an integer ${lo}..${hi}, got ${show(v)}`);
  return v;
}

/** A byte count: a non-negative integer number or bigint up to `max`. */
export function lengthArg(where: string, name: string, v: unknown, max: bigint): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && BigInt(v) <= max) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n && v <= max) return v;
  return badArg(where, `${name} must be an integer 0..${max}, got ${show(v)}`);
}

/** A plain options object (undefined allowed when `optional`). */
export function objArg<T>(where: string, name: string, v: T, optional = false): T {
  if (v === undefined && optional) return v;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) badArg(where, `${name} must be an object, got ${show(v)}`);
  return v;
}

export function boolOpt(where: string, name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean') badArg(where, `${name} must be true or false, got ${show(v)}`);
}

/** A typed array of the given class. */
export function arrayArg<T>(where: string, name: string, v: unknown, ctor: { new (n: number): T; name: string }): T {
  if (!(v instanceof ctor)) badArg(where, `${name} must be a ${ctor.name}, got ${show(v)}`);
  return v as T;
}

/**
 * The arrays of a batch call: `vas`, `kinds` and `out.pa`/`out.fault` of the right typed-array
 * types, the last three at least as long as `vas`. Returns the batch length.
 */
export function batchArgs(where: string, vas: BigUint64Array, kinds: Uint8Array, out: { pa: BigUint64Array; fault: Uint32Array }): number {
  arrayArg(where, 'vas', vas, BigUint64Array);
  arrayArg(where, 'kinds', kinds, Uint8Array);
  objArg(where, 'out', out);
  arrayArg(where, 'out.pa', out.pa, BigUint64Array);
  arrayArg(where, 'out.fault', out.fault, Uint32Array);
  const n = vas.length;
  if (kinds.length < n || out.pa.length < n || out.fault.length < n) {
    badArg(where, `kinds (${kinds.length}), out.pa (${out.pa.length}) and out.fault (${out.fault.length}) must hold at least ${n} entries`);
  }
  return n;
}
