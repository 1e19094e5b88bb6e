/**
 * The compact binary form of a pagewalk image, for large images (docs/image-format.md):
 * a 96-byte little-endian header followed by `count` pairs of little-endian u64 (pa, value),
 * each an 8-byte write. Names, descriptions and queries exist only in the JSON form.
 */
import { PagewalkError } from '../core/errors.js';
import { hex } from './hex.js';
import { MAX_RAM_BYTES, type ImageWrite, type PagewalkImage } from './image-types.js';

/** The first 8 bytes of a binary image: ASCII "PWIMAGE1". */
export const BINARY_MAGIC = new Uint8Array([0x50, 0x57, 0x49, 0x4d, 0x41, 0x47, 0x45, 0x31]);
/** Header size of version 1. */
export const BINARY_HEADER_BYTES = 96;

const FLAG_AMD = 1;
const FLAG_PDPE1GB = 2;
const FLAG_PSE36 = 4;
const CONTROL_OFFSETS = { cr0: 32, cr3: 40, cr4: 48, efer: 56, pkru: 64, pkrs: 72 } as const;

function bad(where: string, what: string): never {
  throw new PagewalkError('EBAD_INPUT', `${where}: ${what}`);
}

/** True when `bytes` starts with the binary image magic. */
export function isBinaryImage(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && BINARY_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * The writes of an image as final 8-byte words, in ascending pa order: 4-byte writes are merged
 * into their aligned 8-byte word (starting from zero), later writes override earlier ones.
 */
export function finalWords(writes: ImageWrite[]): Array<[bigint, bigint]> {
  const words = new Map<bigint, bigint>();
  for (const w of writes) {
    if (w.size === 8) {
      words.set(w.pa, w.value);
      continue;
    }
    const base = w.pa & ~7n;
    const shift = (w.pa - base) * 8n;
    const old = words.get(base) ?? 0n;
    words.set(base, (old & ~(0xffffffffn << shift)) | (w.value << shift));
  }
  return [...words.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Encodes an image in the binary form (queries, name, description and notes are not kept). */
export function encodeBinaryImage(image: PagewalkImage): Uint8Array {
  const words = finalWords(image.writes);
  const out = new Uint8Array(BINARY_HEADER_BYTES + words.length * 16);
  const dv = new DataView(out.buffer);
  out.set(BINARY_MAGIC, 0);
  dv.setUint32(8, BINARY_HEADER_BYTES, true);
  dv.setUint32(12, (image.vendor === 'amd' ? FLAG_AMD : 0) | (image.pdpe1gb ? FLAG_PDPE1GB : 0) | (image.pse36 ? FLAG_PSE36 : 0), true);
  dv.setBigUint64(16, BigInt(image.ramBytes), true);
  dv.setUint32(24, image.maxPhysAddrBits, true);
  for (const [k, off] of Object.entries(CONTROL_OFFSETS)) dv.setBigUint64(off, image.control[k as keyof typeof CONTROL_OFFSETS], true);
  dv.setBigUint64(80, BigInt(words.length), true);
  words.forEach(([pa, value], i) => {
    dv.setBigUint64(BINARY_HEADER_BYTES + i * 16, pa, true);
    dv.setBigUint64(BINARY_HEADER_BYTES + i * 16 + 8, value, true);
  });
  return out;
}

function header(dv: DataView, length: number): { headerBytes: number; flags: number; ramBytes: number; maxPhysAddrBits: number; count: number } {
  if (length < BINARY_HEADER_BYTES) bad('image.header', `truncated: ${length} bytes, the header alone is ${BINARY_HEADER_BYTES}`);
  const headerBytes = dv.getUint32(8, true);
  if (headerBytes < BINARY_HEADER_BYTES || headerBytes % 8 !== 0 || headerBytes > length)
    bad('image.header.headerBytes', `${headerBytes} is invalid (at least ${BINARY_HEADER_BYTES}, a multiple of 8, within the file)`);
  const flags = dv.getUint32(12, true);
  if (flags & ~(FLAG_AMD | FLAG_PDPE1GB | FLAG_PSE36)) bad('image.header.flags', `unknown bits ${hex((flags & ~7) >>> 0)}`);
  const ram = dv.getBigUint64(16, true);
  if (ram < 4096n || ram > BigInt(MAX_RAM_BYTES) || ram % 4096n !== 0n)
    bad('image.header.ramBytes', `${ram} is not a multiple of 4096 in 4096..${MAX_RAM_BYTES}`);
  const maxPhysAddrBits = dv.getUint32(24, true);
  if (maxPhysAddrBits < 32 || maxPhysAddrBits > 52) bad('image.header.maxPhysAddrBits', `${maxPhysAddrBits} is out of range 32..52`);
  const count = dv.getBigUint64(80, true);
  const expected = BigInt(headerBytes) + count * 16n;
  if (expected !== BigInt(length)) bad('image.header.count', `${count} writes need ${expected} bytes, the file has ${length}`);
  return { headerBytes, flags, ramBytes: Number(ram), maxPhysAddrBits, count: Number(count) };
}

/** Decodes the binary form, validating the header and every write. */
export function decodeBinaryImage(bytes: Uint8Array): PagewalkImage {
  if (!isBinaryImage(bytes)) bad('image', 'not a binary pagewalk image (missing "PWIMAGE1" magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = header(dv, bytes.byteLength);
  const control = Object.fromEntries(Object.entries(CONTROL_OFFSETS).map(([k, off]) => [k, dv.getBigUint64(off, true)])) as unknown as PagewalkImage['control'];
  const writes: ImageWrite[] = new Array(h.count);
  const ram = BigInt(h.ramBytes);
  for (let i = 0; i < h.count; i++) {
    const pa = dv.getBigUint64(h.headerBytes + i * 16, true);
    if (pa % 8n !== 0n) bad(`image.writes[${i}].pa`, `${hex(pa)} is not 8-byte aligned`);
    if (pa + 8n > ram) bad(`image.writes[${i}].pa`, `${hex(pa)} is beyond the end of RAM (ramBytes = ${hex(ram)})`);
    writes[i] = { pa, value: dv.getBigUint64(h.headerBytes + i * 16 + 8, true), size: 8 };
  }
  return {
    ramBytes: h.ramBytes,
    vendor: h.flags & FLAG_AMD ? 'amd' : 'intel',
    maxPhysAddrBits: h.maxPhysAddrBits,
    pdpe1gb: (h.flags & FLAG_PDPE1GB) !== 0,
    pse36: (h.flags & FLAG_PSE36) !== 0,
    control,
    writes,
    queries: [],
  };
}
