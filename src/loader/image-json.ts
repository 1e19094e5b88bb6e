/**
 * The JSON form of a pagewalk image (docs/image-format.md): strict validation that names the
 * offending field (`image.writes[3].pa: not a hex string ...`), and a serializer that writes
 * one write or query per line so that images diff well.
 */
import { PagewalkError } from '../core/errors.js';
import type { AccessKind, ControlRegs, Vendor } from '../core/types.js';
import { describeJson, hex, parseCount, parseHex64 } from './hex.js';
import {
  IMAGE_FORMAT,
  MAX_RAM_BYTES,
  defaultModeRegs,
  isImageMode,
  modeOfControl,
  type ImageQuery,
  type ImageWrite,
  type PagewalkImage,
} from './image-types.js';

type Obj = Record<string, unknown>;

const TOP_KEYS = ['format', 'name', 'description', 'ramBytes', 'vendor', 'maxPhysAddrBits', 'pdpe1gb', 'pse36', 'mode', 'control', 'writes', 'queries'];
const CONTROL_KEYS = ['cr0', 'cr3', 'cr4', 'efer', 'pkru', 'pkrs'] as const;
const WRITE_KEYS = ['pa', 'value', 'size', 'note'];
const QUERY_KEYS = ['va', 'kind', 'cpl', 'ac', 'implicit', 'note', 'expect'];
const KINDS: AccessKind[] = ['read', 'write', 'exec'];
const EXPECT = /^(pa 0x[0-9a-f]+|#PF 0x[0-9a-f]+|#GP)$/i;

function bad(where: string, what: string): never {
  throw new PagewalkError('EBAD_INPUT', `${where}: ${what}`);
}

function object(v: unknown, where: string, keys: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(where, `expected an object, got ${describeJson(v)}`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) bad(`${where}.${k}`, `unknown field (known: ${keys.join(', ')})`);
  return v as Obj;
}

function optString(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') bad(where, `expected a string, got ${describeJson(v)}`);
  return v;
}

function optBool(v: unknown, where: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') bad(where, `expected true or false, got ${describeJson(v)}`);
  return v;
}

function parseControl(v: unknown, mode: unknown): ControlRegs {
  const o = object(v, 'image.control', CONTROL_KEYS);
  if (mode !== undefined && (typeof mode !== 'string' || !isImageMode(mode)))
    bad('image.mode', `expected one of 32bit, pae, 4level, 5level, got ${describeJson(mode)}`);
  const defaults = mode ? defaultModeRegs(mode as Parameters<typeof defaultModeRegs>[0]) : undefined;
  const reg = (k: (typeof CONTROL_KEYS)[number], dflt: bigint | undefined): bigint => {
    if (o[k] === undefined) {
      if (dflt === undefined) bad(`image.control.${k}`, mode ? 'missing' : 'missing (give it, or give image.mode to use the defaults for a mode)');
      return dflt;
    }
    return parseHex64(o[k], `image.control.${k}`);
  };
  const c: ControlRegs = {
    cr0: reg('cr0', defaults?.cr0),
    cr3: reg('cr3', undefined),
    cr4: reg('cr4', defaults?.cr4),
    efer: reg('efer', defaults?.efer ?? 0n),
    pkru: reg('pkru', 0n),
    pkrs: reg('pkrs', 0n),
  };
  if (mode !== undefined && modeOfControl(c) !== mode) bad('image.mode', `'${mode}' but image.control selects '${modeOfControl(c)}'`);
  return c;
}

function parseWrite(v: unknown, i: number, ramBytes: number): ImageWrite {
  const where = `image.writes[${i}]`;
  const o = object(v, where, WRITE_KEYS);
  const pa = parseHex64(o.pa, `${where}.pa`);
  const value = parseHex64(o.value, `${where}.value`);
  const size = o.size === undefined ? 8 : o.size;
  if (size !== 4 && size !== 8) bad(`${where}.size`, `expected 4 or 8, got ${describeJson(size)}`);
  if (pa % BigInt(size) !== 0n) bad(`${where}.pa`, `${hex(pa)} is not ${size}-byte aligned`);
  if (pa + BigInt(size) > BigInt(ramBytes)) bad(`${where}.pa`, `${hex(pa)} is beyond the end of RAM (image.ramBytes = ${hex(ramBytes)})`);
  if (size === 4 && value > 0xffffffffn) bad(`${where}.value`, `${hex(value)} does not fit in 4 bytes (size is 4)`);
  const note = optString(o.note, `${where}.note`);
  return note === undefined ? { pa, value, size } : { pa, value, size, note };
}

function parseQuery(v: unknown, i: number): ImageQuery {
  const where = `image.queries[${i}]`;
  const o = object(v, where, QUERY_KEYS);
  const va = parseHex64(o.va, `${where}.va`);
  const kind = o.kind === undefined ? 'read' : o.kind;
  if (typeof kind !== 'string' || !KINDS.includes(kind as AccessKind)) bad(`${where}.kind`, `expected read, write or exec, got ${describeJson(kind)}`);
  const cpl = o.cpl === undefined ? 0 : o.cpl;
  if (cpl !== 0 && cpl !== 1 && cpl !== 2 && cpl !== 3) bad(`${where}.cpl`, `expected 0, 1, 2 or 3, got ${describeJson(cpl)}`);
  const q: ImageQuery = {
    va,
    kind: kind as AccessKind,
    cpl,
    ac: optBool(o.ac, `${where}.ac`, false),
    implicit: optBool(o.implicit, `${where}.implicit`, false),
  };
  const note = optString(o.note, `${where}.note`);
  if (note !== undefined) q.note = note;
  const expect = optString(o.expect, `${where}.expect`);
  if (expect !== undefined) {
    if (!EXPECT.test(expect)) bad(`${where}.expect`, `expected "pa 0x...", "#PF 0x..." or "#GP", got ${describeJson(expect)}`);
    q.expect = expect;
  }
  return q;
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) bad(where, `expected an array, got ${describeJson(v)}`);
  return v;
}

/** Validates a decoded JSON value as an image; every error names the field. */
export function imageFromJson(v: unknown): PagewalkImage {
  const o = object(v, 'image', TOP_KEYS);
  if (o.format !== IMAGE_FORMAT) bad('image.format', `expected "${IMAGE_FORMAT}", got ${describeJson(o.format)}`);
  const ramBytes = parseCount(o.ramBytes, 'image.ramBytes', 4096, MAX_RAM_BYTES);
  if (ramBytes % 4096 !== 0) bad('image.ramBytes', `${ramBytes} is not a multiple of 4096`);
  const vendor = o.vendor === undefined ? 'intel' : o.vendor;
  if (vendor !== 'intel' && vendor !== 'amd') bad('image.vendor', `expected "intel" or "amd", got ${describeJson(vendor)}`);
  const maxPhysAddrBits = o.maxPhysAddrBits === undefined ? 46 : parseCount(o.maxPhysAddrBits, 'image.maxPhysAddrBits', 32, 52);
  if (o.control === undefined) bad('image.control', 'missing');
  const image: PagewalkImage = {
    ramBytes,
    vendor: vendor as Vendor,
    maxPhysAddrBits,
    pdpe1gb: optBool(o.pdpe1gb, 'image.pdpe1gb', true),
    pse36: optBool(o.pse36, 'image.pse36', true),
    control: parseControl(o.control, o.mode),
    writes: list(o.writes, 'image.writes').map((w, i) => parseWrite(w, i, ramBytes)),
    queries: list(o.queries, 'image.queries').map(parseQuery),
  };
  const name = optString(o.name, 'image.name');
  const description = optString(o.description, 'image.description');
  if (name !== undefined) image.name = name;
  if (description !== undefined) image.description = description;
  return image;
}

/** Parses JSON text as an image (a syntax error names the position, never a stack trace). */
export function imageFromJsonText(text: string): PagewalkImage {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    bad('image', `not valid JSON (${(e as Error).message})`);
  }
  return imageFromJson(v);
}

/** The JSON value of an image (hex strings for 64-bit values). */
export function imageToJson(image: PagewalkImage): Obj {
  const mode = modeOfControl(image.control);
  const o: Obj = { format: IMAGE_FORMAT };
  if (image.name !== undefined) o.name = image.name;
  if (image.description !== undefined) o.description = image.description;
  Object.assign(o, { ramBytes: hex(image.ramBytes), vendor: image.vendor, maxPhysAddrBits: image.maxPhysAddrBits });
  if (!image.pdpe1gb) o.pdpe1gb = false;
  if (!image.pse36) o.pse36 = false;
  if (mode !== 'none') o.mode = mode;
  o.control = Object.fromEntries(CONTROL_KEYS.map((k) => [k, hex(image.control[k])]));
  o.writes = image.writes.map((w) => ({ pa: hex(w.pa), value: hex(w.value), ...(w.size === 4 ? { size: 4 } : {}), ...(w.note ? { note: w.note } : {}) }));
  o.queries = image.queries.map((q) => ({
    va: hex(q.va),
    kind: q.kind,
    cpl: q.cpl,
    ...(q.ac ? { ac: true } : {}),
    ...(q.implicit ? { implicit: true } : {}),
    ...(q.note ? { note: q.note } : {}),
    ...(q.expect ? { expect: q.expect } : {}),
  }));
  return o;
}

/** JSON text of an image, one write/query per line. */
export function imageToJsonText(image: PagewalkImage): string {
  const o = imageToJson(image);
  const lines: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (Array.isArray(v)) {
      const items = v.map((x) => '    ' + JSON.stringify(x));
      lines.push(`  ${JSON.stringify(k)}: [` + (items.length ? '\n' + items.join(',\n') + '\n  ]' : ']'));
    } else lines.push(`  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  }
  return '{\n' + lines.join(',\n') + '\n}\n';
}
