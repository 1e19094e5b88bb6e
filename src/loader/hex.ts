/**
 * Hex helpers for the image format and explanations: 64-bit values travel as strings
 * ("0x1000") because JSON numbers lose precision above 2^53.
 */
import { PagewalkError } from '../core/errors.js';

const HEX = /^0x[0-9a-f](?:_?[0-9a-f])*$/i;
const MAX64 = (1n << 64n) - 1n;

/**
 * Parses a hex string such as `"0x8000000000012005"` (underscores allowed between digits)
 * into a bigint below 2^64. `where` names the field in the error, e.g. `image.writes[3].pa`.
 */
export function parseHex64(v: unknown, where: string): bigint {
  if (typeof v !== 'string' || !HEX.test(v)) {
    throw new PagewalkError('EBAD_INPUT', `${where}: not a hex string (expected like "0x1000", got ${describeJson(v)})`);
  }
  const n = BigInt(v.replace(/_/g, ''));
  if (n > MAX64) throw new PagewalkError('EBAD_INPUT', `${where}: ${v} does not fit in 64 bits`);
  return n;
}

/**
 * Parses a byte count or small integer given as a JSON number or a hex string, naming the
 * field on error and checking the range.
 */
export function parseCount(v: unknown, where: string, min: number, max: number): number {
  let n: number;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = v;
  else if (typeof v === 'string' && HEX.test(v)) n = Number(BigInt(v.replace(/_/g, '')));
  else throw new PagewalkError('EBAD_INPUT', `${where}: expected an integer or a hex string, got ${describeJson(v)}`);
  if (n < min || n > max) throw new PagewalkError('EBAD_INPUT', `${where}: ${n} is out of range ${min}..${max}`);
  return n;
}

/** `0x` + lowercase hex, zero-padded to `digits` (default: no padding). */
export function hex(v: bigint | number, digits = 0): string {
  return '0x' + v.toString(16).padStart(digits, '0');
}

/** A short JSON-ish rendering of a bad value for error messages (never the whole input). */
export function describeJson(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}
