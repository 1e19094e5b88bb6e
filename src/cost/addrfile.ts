/**
 * User address files for the `file` workload.
 * - text: one virtual address per line, hex with 0x or decimal; blank lines and `#` comments
 *   are skipped; anything else is an error naming the file and line.
 * - binary: consecutive little-endian u64 addresses (the file size must be a multiple of 8).
 */
import { PagewalkError } from '../core/errors.js';
import { readUserFile } from '../util/files.js';

/** Reads an address file; errors name the file (and line) and are PagewalkErrors (the CLI exits 2). */
export function readAddressFile(path: string, format: 'text' | 'binary', field: string): BigUint64Array {
  const data = readUserFile(path, `${field}: address file`, 2 ** 30);
  const out = format === 'binary' ? parseBinary(data, path, field) : parseText(data.toString('utf8'), path, field);
  if (out.length === 0) throw new PagewalkError('EINVAL_ARG', `${field}: address file ${path} holds no addresses`);
  return out;
}

function parseBinary(data: Buffer, path: string, field: string): BigUint64Array {
  if (data.length % 8 !== 0) throw new PagewalkError('EINVAL_ARG', `${field}: binary address file ${path} is ${data.length} bytes, not a multiple of 8`);
  const out = new BigUint64Array(data.length / 8);
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < out.length; i++) out[i] = view.getBigUint64(i * 8, true);
  return out;
}

function parseText(text: string, path: string, field: string): BigUint64Array {
  const vals: bigint[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*/, '').trim();
    if (line === '') continue;
    if (!/^(0x[0-9a-f][0-9a-f_]*|\d+)$/i.test(line))
      throw new PagewalkError('EINVAL_ARG', `${field}: ${path}:${i + 1}: expected an address (0x... or decimal), got ${JSON.stringify(line.slice(0, 40))}`);
    const v = BigInt(line.replace(/_/g, ''));
    if (v >= 1n << 64n) throw new PagewalkError('EINVAL_ARG', `${field}: ${path}:${i + 1}: address ${line} does not fit in 64 bits`);
    vals.push(v);
  }
  return BigUint64Array.from(vals);
}
