// The pagewalk image format (src/loader, docs/image-format.md): parsing, validation messages that
// name the field, JSON and binary round trips, and the examples' expected outcomes checked against
// the independent reference walker.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PagewalkError } from '../src/core/errors.js';
import { outcomeString } from '../src/explain/describe.js';
import {
  decodeBinaryImage,
  encodeBinaryImage,
  finalWords,
  imageToJsonText,
  modeOfControl,
  parseImage,
  withMode,
  type PagewalkImage,
} from '../src/loader/image.js';
import { SparseMemory } from '../src/reference/memory.js';
import { referenceLoadPdptes } from '../src/reference/pdpte.js';
import { referenceAccess } from '../src/reference/walker.js';

const MODES = ['32bit', 'pae', '4level', '5level'] as const;
// An image as the tests below mutate it: any JSON shape, wrong types included, is the point.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const example = (m: string) => readFileSync(new URL(`../examples/${m}.json`, import.meta.url));

function base(): Record<string, unknown> {
  return {
    format: 'pagewalk-image/1',
    ramBytes: '0x100000',
    control: { cr0: '0x80010001', cr3: '0x1000', cr4: '0x20', efer: '0xd00' },
    writes: [
      { pa: '0x1000', value: '0x2007' },
      { pa: '0x2000', value: '0x3007' },
      { pa: '0x3000', value: '0x4007' },
      { pa: '0x4000', value: '0x5007' },
    ],
  };
}

function errorOf(input: unknown): PagewalkError {
  try {
    parseImage(input);
  } catch (e) {
    expect(e).toBeInstanceOf(PagewalkError);
    return e as PagewalkError;
  }
  throw new Error('parseImage accepted a malformed image');
}

describe('image parsing', () => {
  it('parses every example with its mode, writes and queries', () => {
    for (const m of MODES) {
      const img = parseImage(example(m));
      expect(modeOfControl(img.control)).toBe(m);
      expect(img.writes.length).toBeGreaterThan(5);
      expect(img.queries.length).toBeGreaterThan(5);
      expect(img.queries.every((q) => q.expect)).toBe(true);
    }
    const img32 = parseImage(example('32bit'));
    expect(img32.writes.every((w) => w.size === 4)).toBe(true);
  });

  it('fills CR0/CR4/EFER from image.mode and defaults PKRU/PKRS to 0', () => {
    const o = base();
    o.mode = '5level';
    o.control = { cr3: '0x1000' };
    const img = parseImage(o);
    expect(img.control).toEqual({ cr0: 0x80010001n, cr3: 0x1000n, cr4: 0x1020n, efer: 0xd00n, pkru: 0n, pkrs: 0n });
  });

  it.each([
    ['a write pa that is not a hex string', (o: Json) => (o.writes[3].pa = 4096), 'image.writes[3].pa: not a hex string'],
    ['a value above 64 bits', (o: Json) => (o.writes[1].value = '0x10000000000000000'), 'image.writes[1].value: 0x10000000000000000 does not fit in 64 bits'],
    ['a misaligned write', (o: Json) => (o.writes[0].pa = '0x1004'), 'image.writes[0].pa: 0x1004 is not 8-byte aligned'],
    ['a write beyond RAM', (o: Json) => (o.writes[2].pa = '0x100000'), 'image.writes[2].pa: 0x100000 is beyond the end of RAM'],
    [
      'a 4-byte write of a 64-bit value',
      (o: Json) => (o.writes[0] = { pa: '0x1000', value: '0x100000000', size: 4 }),
      'image.writes[0].value: 0x100000000 does not fit in 4 bytes',
    ],
    ['a bad write size', (o: Json) => (o.writes[0].size = 2), 'image.writes[0].size: expected 4 or 8, got 2'],
    ['an unknown field', (o: Json) => (o.writes[2].vaule = '0x1'), 'image.writes[2].vaule: unknown field'],
    ['an unknown top-level field', (o: Json) => (o.cpus = 2), 'image.cpus: unknown field'],
    ['a wrong format tag', (o: Json) => (o.format = 'pagewalk-image/2'), 'image.format: expected "pagewalk-image/1"'],
    ['RAM not a multiple of 4096', (o: Json) => (o.ramBytes = 5000), 'image.ramBytes: 5000 is not a multiple of 4096'],
    ['RAM too large', (o: Json) => (o.ramBytes = '0x100000000'), 'image.ramBytes: 4294967296 is out of range'],
    ['a missing CR3', (o: Json) => delete o.control.cr3, 'image.control.cr3: missing'],
    ['a missing CR0 without mode', (o: Json) => delete o.control.cr0, 'image.control.cr0: missing (give it, or give image.mode'],
    ['a mode that disagrees with the registers', (o: Json) => (o.mode = 'pae'), "image.mode: 'pae' but image.control selects '4level'"],
    ['an unknown mode', (o: Json) => (o.mode = '6level'), 'image.mode: expected one of 32bit, pae, 4level, 5level'],
    ['a bad vendor', (o: Json) => (o.vendor = 'via'), 'image.vendor: expected "intel" or "amd", got "via"'],
    ['MAXPHYADDR out of range', (o: Json) => (o.maxPhysAddrBits = 60), 'image.maxPhysAddrBits: 60 is out of range 32..52'],
    ['writes not an array', (o: Json) => (o.writes = {}), 'image.writes: expected an array, got {}'],
    ['a bad query kind', (o: Json) => (o.queries = [{ va: '0x1000', kind: 'fetch' }]), 'image.queries[0].kind: expected read, write or exec, got "fetch"'],
    ['a bad query cpl', (o: Json) => (o.queries = [{ va: '0x1000', cpl: 4 }]), 'image.queries[0].cpl: expected 0, 1, 2 or 3, got 4'],
    ['a bad expectation', (o: Json) => (o.queries = [{ va: '0x1000', expect: 'fault' }]), 'image.queries[0].expect: expected "pa 0x...", "#PF 0x..." or "#GP"'],
  ])('rejects %s with a message naming the field', (_name, mutate, message) => {
    const o = base();
    mutate(o);
    const e = errorOf(o);
    expect(e.code).toBe('EBAD_INPUT');
    expect(e.userError).toBe(true);
    expect(e.message.startsWith(message)).toBe(true);
  });

  it('reports invalid JSON without a stack trace', () => {
    const e = errorOf('{"format": "pagewalk-image/1",');
    expect(e.message).toMatch(/^image: not valid JSON \(/);
  });

  it('rejects a non-object image', () => {
    expect(errorOf('[1,2]').message).toBe('image: expected an object, got [1,2]');
  });
});

describe('image serialisation', () => {
  it('round-trips every example through JSON text', () => {
    for (const m of MODES) {
      const img = parseImage(example(m));
      const text = imageToJsonText(img);
      expect(parseImage(text)).toEqual(img);
      // One write per line, so that images diff well.
      expect(text.split('\n').filter((l) => l.includes('"pa"')).length).toBe(img.writes.length);
    }
  });

  it('round-trips through the binary form (final 8-byte words, queries dropped)', () => {
    for (const m of MODES) {
      const img = parseImage(example(m));
      const bin = encodeBinaryImage(img);
      expect(bin.length).toBe(96 + finalWords(img.writes).length * 16);
      const back = parseImage(bin);
      expect(back.control).toEqual(img.control);
      expect([back.ramBytes, back.vendor, back.maxPhysAddrBits, back.pdpe1gb, back.pse36]).toEqual([
        img.ramBytes,
        img.vendor,
        img.maxPhysAddrBits,
        img.pdpe1gb,
        img.pse36,
      ]);
      expect(back.writes.map((w) => [w.pa, w.value])).toEqual(finalWords(img.writes));
      expect(back.queries).toEqual([]);
    }
  });

  it('merges 4-byte writes into their 8-byte word for the binary form', () => {
    const words = finalWords([
      { pa: 0x1004n, value: 0x400087n, size: 4 },
      { pa: 0x1000n, value: 0x2007n, size: 4 },
      { pa: 0x2000n, value: 0xffn, size: 8 },
      { pa: 0x2000n, value: 0x1n, size: 4 },
    ]);
    expect(words).toEqual([
      [0x1000n, 0x0040008700002007n],
      [0x2000n, 0x1n],
    ]);
  });

  it('lays out the binary header as documented', () => {
    const img = parseImage(example('4level'));
    const bin = encodeBinaryImage(img);
    const dv = new DataView(bin.buffer);
    expect(new TextDecoder().decode(bin.subarray(0, 8))).toBe('PWIMAGE1');
    expect(dv.getUint32(8, true)).toBe(96);
    expect(dv.getUint32(12, true)).toBe(2 | 4); // intel, pdpe1gb, pse36
    expect(dv.getBigUint64(16, true)).toBe(0x400000n);
    expect(dv.getUint32(24, true)).toBe(46);
    expect(dv.getBigUint64(40, true)).toBe(0x1000n); // cr3
    expect(dv.getBigUint64(48, true)).toBe(0x7000a0n); // cr4
    expect(dv.getBigUint64(80, true)).toBe(BigInt(img.writes.length));
    expect(dv.getBigUint64(96, true)).toBe(0x1000n);
    expect(dv.getBigUint64(104, true)).toBe(0x2007n);
  });

  it('rejects truncated or inconsistent binary images naming the field', () => {
    const bin = encodeBinaryImage(parseImage(example('pae')));
    expect(() => decodeBinaryImage(bin.subarray(0, 50))).toThrow(/^image\.header: truncated: 50 bytes/);
    expect(() => decodeBinaryImage(bin.subarray(0, bin.length - 8))).toThrow(/^image\.header\.count: 8 writes need 224 bytes, the file has 216/);
    const bad = bin.slice();
    new DataView(bad.buffer).setBigUint64(96 + 16, 0x1003n, true);
    expect(() => decodeBinaryImage(bad)).toThrow(/^image\.writes\[1\]\.pa: 0x1003 is not 8-byte aligned/);
    const far = bin.slice();
    new DataView(far.buffer).setBigUint64(96, 0x400000n, true);
    expect(() => decodeBinaryImage(far)).toThrow(/^image\.writes\[0\]\.pa: 0x400000 is beyond the end of RAM/);
  });
});

describe('mode override', () => {
  it('rewrites only the mode-selecting bits', () => {
    const img = parseImage(example('4level'));
    const c = withMode(img.control, '5level');
    expect(modeOfControl(c)).toBe('5level');
    expect(c.cr4).toBe(img.control.cr4 | 0x1000n);
    const p = withMode(img.control, 'pae');
    expect(modeOfControl(p)).toBe('pae');
    expect(p.efer).toBe(0x800n); // NXE kept, LME/LMA cleared
    expect(modeOfControl(withMode(img.control, '32bit'))).toBe('32bit');
  });
});

/** Runs an image's queries through the independent reference walker (src/reference). */
function referenceOutcomes(img: PagewalkImage): string[] {
  const mem = new SparseMemory(img.ramBytes);
  for (const w of img.writes)
    if (w.size === 8) mem.write64(w.pa, w.value);
    else mem.write32(w.pa, Number(w.value));
  const cpu: Parameters<typeof referenceAccess>[1] = { ...img.control };
  if (modeOfControl(img.control) === 'pae') {
    const load = referenceLoadPdptes(mem, img.control.cr3, img.maxPhysAddrBits);
    if (!load.ok) throw new Error('PDPTE load failed');
    cpu.pdptes = load.pdptes;
  }
  const cfg = { vendor: img.vendor, maxPhysAddrBits: img.maxPhysAddrBits, pse36: img.pse36, pdpe1gb: img.pdpe1gb, ramBytes: img.ramBytes };
  return img.queries.map((q) => outcomeString(referenceAccess(mem, cpu, q.va, { kind: q.kind, cpl: q.cpl, ac: q.ac, implicit: q.implicit }, cfg)));
}

describe('examples', () => {
  it.each(MODES)('%s: every query has the outcome its note promises (reference walker)', (m) => {
    const img = parseImage(example(m));
    expect(referenceOutcomes(img)).toEqual(img.queries.map((q) => q.expect));
  });
});
