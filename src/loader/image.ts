/**
 * Loading and saving pagewalk images (docs/image-format.md): `parseImage` accepts the JSON
 * text, a decoded JSON value, or the bytes of either form; `loadImage` applies an image to a
 * machine; `saveImage` captures a machine's memory and one CPU's control registers.
 */
import { PagewalkError } from '../core/errors.js';
import { FRAME_STATE, type ControlRegs } from '../core/types.js';
import type { Machine } from '../core/machine.js';
import { hex } from './hex.js';
import { decodeBinaryImage, isBinaryImage } from './image-binary.js';
import { imageFromJson, imageFromJsonText } from './image-json.js';
import type { ImageQuery, ImageWrite, PagewalkImage } from './image-types.js';

export * from './image-types.js';
export { encodeBinaryImage, decodeBinaryImage, isBinaryImage, finalWords } from './image-binary.js';
export { imageFromJson, imageFromJsonText, imageToJson, imageToJsonText } from './image-json.js';

/**
 * Parses an image from JSON text, a decoded JSON value, or file bytes (binary form recognised by
 * its "PWIMAGE1" magic, otherwise UTF-8 JSON). Throws PagewalkError `EBAD_INPUT` naming the field.
 */
export function parseImage(input: string | Uint8Array | unknown): PagewalkImage {
  if (typeof input === 'string') return imageFromJsonText(input);
  if (input instanceof Uint8Array) {
    if (isBinaryImage(input)) return decodeBinaryImage(input);
    return imageFromJsonText(new TextDecoder('utf-8', { fatal: false }).decode(input));
  }
  return imageFromJson(input);
}

/** Options of {@link loadImage}. */
export interface LoadImageOptions {
  /** CPUs whose control registers are set from the image. Default: all. */
  cpus?: number[];
}

function writeOne(m: Machine, w: ImageWrite, i: number): void {
  if (w.pa + BigInt(w.size) > BigInt(m.ramBytes)) {
    throw new PagewalkError('EBAD_INPUT', `image.writes[${i}].pa: ${hex(w.pa)} is beyond the machine's RAM (${hex(m.ramBytes)} bytes)`);
  }
  if (w.size === 8) m.phys.write64(w.pa, w.value);
  else m.phys.write32(w.pa, Number(w.value));
  const pfn = Number(w.pa >> 12n);
  if (m.frames.state(pfn) === FRAME_STATE.FREE) m.frames.reserve(pfn);
}

/**
 * Applies an image to a machine: performs its physical writes in order, reserves every frame
 * written (so the frame allocator never hands out a page-table frame of the image), then sets
 * the control registers of the chosen CPUs in one `setControl` each (a register combination
 * the CPU refuses becomes an error naming `image.control`).
 */
export function loadImage(m: Machine, image: PagewalkImage, opts: LoadImageOptions = {}): void {
  image.writes.forEach((w, i) => writeOne(m, w, i));
  const cpus = opts.cpus ?? m.cpus.map((_, i) => i);
  for (const i of cpus) setImageControl(m, i, image.control);
}

/** Sets one CPU's control registers, prefixing a refusal with `image.control`. */
export function setImageControl(m: Machine, cpu: number, control: ControlRegs): void {
  const c = m.cpus[cpu];
  if (!c) throw new PagewalkError('EINVAL_ARG', `cpu ${cpu} does not exist (the machine has ${m.cpus.length})`);
  try {
    c.setControl({ ...control });
  } catch (e) {
    if (e instanceof PagewalkError) throw new PagewalkError(e.code === 'WASM_TRAP' ? e.code : 'EBAD_INPUT', `image.control: ${e.message}`);
    throw e;
  }
}

/** Options of {@link saveImage}. */
export interface SaveImageOptions {
  /** CPU whose control registers are saved. Default 0. */
  cpu?: number;
  /** `all` (default) scans every frame of RAM; `used` only frames not free in `m.frames`. */
  frames?: 'all' | 'used';
  name?: string;
  description?: string;
  queries?: ImageQuery[];
}

/** Nonzero 8-byte words of one 4 KiB frame, appended to `out`. */
function frameWords(m: Machine, pfn: number, out: ImageWrite[]): void {
  const base = pfn * 4096;
  const bytes = m.phys.readBytes(BigInt(base), 4096);
  const w32 = new Uint32Array(bytes.buffer, bytes.byteOffset, 1024);
  for (let i = 0; i < 1024; i += 2) {
    if (w32[i] === 0 && w32[i + 1] === 0) continue;
    const value = (BigInt(w32[i + 1]) << 32n) | BigInt(w32[i]);
    out.push({ pa: BigInt(base + i * 4), value, size: 8 });
  }
}

/**
 * Captures a machine as an image: every nonzero 8-byte word of RAM (or of the frames in use)
 * as a write in ascending address order, and the control registers of one CPU.
 */
export function saveImage(m: Machine, opts: SaveImageOptions = {}): PagewalkImage {
  const cpu = m.cpus[opts.cpu ?? 0];
  if (!cpu) throw new PagewalkError('EINVAL_ARG', `cpu ${opts.cpu} does not exist (the machine has ${m.cpus.length})`);
  const writes: ImageWrite[] = [];
  const frames = m.ramBytes / 4096;
  for (let pfn = 0; pfn < frames; pfn++) {
    if (opts.frames === 'used' && m.frames.state(pfn) === FRAME_STATE.FREE) continue;
    frameWords(m, pfn, writes);
  }
  const o = m.options as { pdpe1gb?: boolean; pse36?: boolean };
  const image: PagewalkImage = {
    ramBytes: m.ramBytes,
    vendor: m.vendor,
    maxPhysAddrBits: m.maxPhysAddrBits,
    pdpe1gb: o.pdpe1gb ?? true,
    pse36: o.pse36 ?? true,
    control: cpu.getControl(),
    writes,
    queries: opts.queries ?? [],
  };
  if (opts.name !== undefined) image.name = opts.name;
  if (opts.description !== undefined) image.description = opts.description;
  return image;
}
