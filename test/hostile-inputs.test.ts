// Hostile inputs, tried as a new user would: wrong types, out-of-range numbers, bigints past 64
// bits, addresses outside RAM, unknown names, unreadable and unwritable files, truncated and
// corrupted images, traces and cost configurations. Every case must be refused with a
// PagewalkError (API) or one line and exit code 2 (CLI) that names the problem, with no stack
// trace and no hang; afterwards the machine, and a fuzzing campaign, still work. The CLI runs
// in-process through its main() (one real process at the end checks the binary itself).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { Machine, PagewalkError, presets, scenarios } from '../src/index.js';
import { encodeBinaryImage, parseImage } from '../src/loader/image.js';
import { SANITIZERS } from '../src/sanitizers/finding.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pagewalk-hostile-'));
const example = (m: string) => join(root, 'examples', `${m}.json`);
const file = (name: string, body: string | Uint8Array | object): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body));
  return p;
};

// ---------------------------------------------------------------- API

type ApiCase = [what: string, call: (m: Machine) => unknown, message: RegExp];
const BIG = 1n << 70n;
const cpu = (m: Machine) => m.cpus[0];
const pt = (m: Machine) => m.pageTables;
/* eslint-disable @typescript-eslint/no-explicit-any -- hostile calls pass what the types forbid */
const any = (v: unknown) => v as any;

const API: ApiCase[] = [
  // PhysMem
  ['phys.write64 at a negative pa', (m) => m.phys.write64(-8n, 1n), /phys\.write64: pa -0x8 is outside 0\.\.2\^64-1/],
  ['phys.write64 of a 71-bit value', (m) => m.phys.write64(0x1000n, BIG), /phys\.write64: value 0x400000000000000000 is outside/],
  ['phys.write64 of a negative value', (m) => m.phys.write64(0x1000n, -1n), /phys\.write64: value -0x1/],
  ['phys.write64 with a number pa', (m) => m.phys.write64(any(0x1000), 1n), /phys\.write64: pa must be a bigint, got number 4096/],
  ['phys.write64 with a number value', (m) => m.phys.write64(0x1000n, any(1)), /phys\.write64: value must be a bigint/],
  ['phys.write64 past 2^64', (m) => m.phys.write64(1n << 64n, 0n), /pa 0x10000000000000000 is outside/],
  ['phys.read64 of a string', (m) => m.phys.read64(any('0x1000')), /phys\.read64: pa must be a bigint, got string "0x1000"/],
  ['phys.read64 of undefined', (m) => m.phys.read64(any(undefined)), /phys\.read64: pa must be a bigint, got undefined/],
  ['phys.read64 of null', (m) => m.phys.read64(any(null)), /phys\.read64: pa must be a bigint, got object null/],
  ['phys.read64 of a negative pa', (m) => m.phys.read64(-1n), /phys\.read64: pa -0x1 is outside/],
  ['phys.read32 of a huge pa', (m) => m.phys.read32(BIG), /phys\.read32: pa 0x4000+ is outside/],
  ['phys.read32 of a float', (m) => m.phys.read32(any(1.5)), /phys\.read32: pa must be a bigint, got number 1\.5/],
  ['phys.write32 of a 33-bit value', (m) => m.phys.write32(0n, 2 ** 32), /phys\.write32: value must be an integer/],
  ['phys.write32 of a fraction', (m) => m.phys.write32(0n, 0.5), /phys\.write32: value must be an integer/],
  ['phys.write32 of a bigint value', (m) => m.phys.write32(0n, any(1n)), /phys\.write32: value must be an integer/],
  ['phys.write32 of NaN', (m) => m.phys.write32(0n, NaN), /phys\.write32: value must be an integer .* got NaN/],
  ['phys.read64n of a negative number', (m) => m.phys.read64n(-8), /phys\.read64n: pa must be a non-negative safe integer/],
  ['phys.read64n of a fraction', (m) => m.phys.read64n(8.5), /phys\.read64n: pa must be/],
  ['phys.read64n of a bigint', (m) => m.phys.read64n(any(8n)), /phys\.read64n: pa must be/],
  ['phys.read64n of 2^60', (m) => m.phys.read64n(2 ** 60), /phys\.read64n: pa must be/],
  ['phys.write64n of a string', (m) => m.phys.write64n(any('8'), 0n), /phys\.write64n: pa must be/],
  ['phys.write64n of Infinity', (m) => m.phys.write64n(Infinity, 0n), /phys\.write64n: pa must be/],
  ['phys.write64n of a 65-bit value', (m) => m.phys.write64n(8, 1n << 64n), /phys\.write64n: value/],
  ['phys.readBytes with a negative length', (m) => m.phys.readBytes(0n, -1), /phys\.readBytes: len must be an integer/],
  ['phys.readBytes of 2^40 bytes', (m) => m.phys.readBytes(0n, 2 ** 40), /phys\.readBytes: len must be an integer 0\.\./],
  ['phys.readBytes at a negative pa', (m) => m.phys.readBytes(-4096n, 8), /phys\.readBytes: pa/],
  ['phys.writeBytes of an array', (m) => m.phys.writeBytes(0n, any([1, 2, 3])), /phys\.writeBytes: data must be a Uint8Array, got an array/],
  ['phys.writeBytes of a string', (m) => m.phys.writeBytes(0n, any('abc')), /phys\.writeBytes: data must be a Uint8Array/],
  ['phys.writeBytes at a huge pa', (m) => m.phys.writeBytes(BIG, new Uint8Array(8)), /phys\.writeBytes: pa/],
  ['phys.fill with byte 256', (m) => m.phys.fill(0n, 8, 256), /phys\.fill: byte must be an integer 0\.\.255/],
  ['phys.fill with a negative length', (m) => m.phys.fill(0n, -8, 0), /phys\.fill: len/],
  ['phys.fill at a string pa', (m) => m.phys.fill(any('0'), 8, 0), /phys\.fill: pa must be a bigint/],
  // FrameTable
  ['frames.free of a negative pfn', (m) => m.frames.free(-1), /frames\.free: frame number -1 is outside RAM/],
  ['frames.free of a pfn past RAM', (m) => m.frames.free(1 << 20), /frames\.free: frame number 1048576 is outside RAM/],
  ['frames.free of a fraction', (m) => m.frames.free(1.5), /frames\.free: frame number 1\.5/],
  ['frames.free of a free frame', (m) => m.frames.free(m.frames.count - 1), /freed twice/],
  ['frames.reserve of a string', (m) => m.frames.reserve(any('3')), /frames\.reserve: frame number "3"/],
  ['frames.state past RAM', (m) => m.frames.state(m.frames.count), /frames\.state: frame number \d+ is outside RAM/],
  ['frames.level of NaN', (m) => m.frames.level(NaN), /frames\.level: frame number NaN/],
  ['frames.generation of -0.5', (m) => m.frames.generation(-0.5), /frames\.generation: frame number -0\.5/],
  ['frames.setLevel to 9', (m) => m.frames.setLevel(0, 9), /frames\.setLevel: level must be an integer 0\.\.5, got 9/],
  ['frames.setOwner to 2^16', (m) => m.frames.setOwner(0, 65536), /frames\.setOwner: owner must be an integer 0\.\.65535/],
  ['frames.setRefCount to -1', (m) => m.frames.setRefCount(0, -1), /frames\.setRefCount: n must be an integer/],
  ['frames.setTypeCount to a bigint', (m) => m.frames.setTypeCount(0, any(1n)), /frames\.setTypeCount: n must be an integer/],
  ['frames.alloc with level 7', (m) => m.frames.alloc({ level: 7 }), /frames\.alloc: opts\.level must be an integer 0\.\.5, got 7/],
  ['frames.alloc with owner -1', (m) => m.frames.alloc({ owner: -1 }), /frames\.alloc: opts\.owner/],
  ['frames.alloc with zero "no"', (m) => m.frames.alloc({ zero: any('no') }), /frames\.alloc: opts\.zero must be true or false/],
  ['frames.alloc with null options', (m) => m.frames.alloc(any(null)), /frames\.alloc: opts must be an object, got null/],
  // PageTables
  ['pageTables.newRoot of an unknown mode', (m) => pt(m).newRoot(any('6level')), /pageTables\.newRoot: unknown paging mode "6level"/],
  ['pageTables.newRoot of "toString"', (m) => pt(m).newRoot(any('toString')), /unknown paging mode "toString"/],
  ['pageTables.map with a root past RAM', (m) => pt(m).map('4level', 1n << 40n, 0n, 0n, 4096), /pageTables\.map: root 0x10000000000 is not a table inside RAM/],
  ['pageTables.map with a negative root', (m) => pt(m).map('4level', -4096n, 0n, 0n, 4096), /pageTables\.map: root -0x1000 is outside/],
  ['pageTables.map with a number va', (m) => pt(m).map('4level', 0x1000n, any(0), 0n, 4096), /pageTables\.map: va must be a bigint/],
  ['pageTables.map with a 65-bit va', (m) => pt(m).map('4level', 0x1000n, 1n << 65n, 0n, 4096), /pageTables\.map: va 0x20000000000000000 is outside/],
  [
    'pageTables.map past 4 GiB in 32-bit paging',
    (m) => pt(m).map('32bit', 0x1000n, 0xffff_f000n, 0n, 0x2000),
    /runs past the 4 GiB linear address space of 32bit paging/,
  ],
  ['pageTables.map past 2^64', (m) => pt(m).map('4level', 0x1000n, 0xffff_ffff_ffff_f000n, 0n, 0x2000), /runs past the 2\^64 linear address space/],
  ['pageTables.map with a negative length', (m) => pt(m).map('4level', 0x1000n, 0n, 0n, -4096), /pageTables\.map: length must be an integer/],
  ['pageTables.map with a fractional length', (m) => pt(m).map('4level', 0x1000n, 0n, 0n, 4096.5), /pageTables\.map: length must be an integer/],
  ['pageTables.map with a string length', (m) => pt(m).map('4level', 0x1000n, 0n, 0n, any('4096')), /pageTables\.map: length must be an integer/],
  ['pageTables.map with a 71-bit pa', (m) => pt(m).map('4level', 0x1000n, 0n, BIG, 4096), /pageTables\.map: pa 0x4000+ is outside/],
  ['pageTables.map with a number flag', (m) => pt(m).map('4level', 0x1000n, 0n, 0n, 4096, { flags: any(7) }), /pageTables\.map: opts\.flags must be a bigint/],
  ['pageTables.map with negative table flags', (m) => pt(m).map('4level', 0x1000n, 0n, 0n, 4096, { tableFlags: -1n }), /opts\.tableFlags -0x1 is outside/],
  ['pageTables.map with a 3m page', (m) => pt(m).map('4level', 0x1000n, 0n, 0n, 4096, { pageSize: any('3m') }), /unknown page size "3m"/],
  [
    'pageTables.map with page size "constructor"',
    (m) => pt(m).map('4level', 0x1000n, 0n, 0n, 4096, { pageSize: any('constructor') }),
    /unknown page size "constructor"/,
  ],
  ['pageTables.map of 1g pages in PAE', (m) => pt(m).map('pae', 0x1000n, 0n, 0n, 1 << 30, { pageSize: '1g' }), /1g pages do not exist in pae paging/],
  ['pageTables.map misaligned', (m) => pt(m).map('4level', 0x1000n, 0x123n, 0n, 4096), /must be multiples of the 4k page size/],
  ['pageTables.map with string options', (m) => pt(m).map('4level', 0x1000n, 0n, 0n, 4096, any('rw')), /pageTables\.map: opts must be an object/],
  ['pageTables.mapPages of an array', (m) => pt(m).mapPages('4level', 0x1000n, 0n, any([0n])), /pageTables\.mapPages: pas must be a BigUint64Array/],
  ['pageTables.mapPages misaligned', (m) => pt(m).mapPages('4level', 0x1000n, 0x10n, new BigUint64Array(1)), /not 4 KiB aligned/],
  ['pageTables.unmap with a bigint overflow', (m) => pt(m).unmap('4level', 0x1000n, 0n, 1n << 65n), /pageTables\.unmap: length must be an integer/],
  ['pageTables.unmap misaligned', (m) => pt(m).unmap('4level', 0x1000n, 0n, 100), /must be 4 KiB aligned/],
  ['pageTables.protect without bits', (m) => pt(m).protect('4level', 0x1000n, 0n, 4096, any(undefined)), /pageTables\.protect: bits must be an object/],
  ['pageTables.protect with a 71-bit set', (m) => pt(m).protect('4level', 0x1000n, 0n, 4096, { set: BIG }), /bits\.set 0x4000+ is outside/],
  ['pageTables.protect with a number clear', (m) => pt(m).protect('4level', 0x1000n, 0n, 4096, { clear: any(2) }), /bits\.clear must be a bigint/],
  ['pageTables.lookup of a string va', (m) => pt(m).lookup('4level', 0x1000n, any('0x1000')), /pageTables\.lookup: va must be a bigint/],
  ['pageTables.lookup with a root past RAM', (m) => pt(m).lookup('pae', BigInt(m.ramBytes), 0n), /pageTables\.lookup: root .* is not a table inside RAM/],
  ['pageTables.lookup with no mode', (m) => pt(m).lookup(any(undefined), 0x1000n, 0n), /unknown paging mode undefined/],
  // Cpu
  ['cpu.access of a 66-bit va', (m) => cpu(m).access(1n << 65n, { kind: 'read', cpl: 0 }), /cpu\.access: va 0x20000000000000000 is outside 0\.\.2\^64-1/],
  ['cpu.access of a negative va', (m) => cpu(m).access(-1n, { kind: 'read', cpl: 0 }), /cpu\.access: va -0x1/],
  ['cpu.access of a number va', (m) => cpu(m).access(any(4096), { kind: 'read', cpl: 0 }), /cpu\.access: va must be a bigint, got number 4096/],
  ['cpu.access of kind fetch', (m) => cpu(m).access(0n, { kind: any('fetch'), cpl: 0 }), /cpu\.access: access kind "fetch" is not one of read, write, exec/],
  ['cpu.access of kind toString', (m) => cpu(m).access(0n, { kind: any('toString'), cpl: 0 }), /access kind "toString"/],
  ['cpu.access at CPL 4', (m) => cpu(m).access(0n, { kind: 'read', cpl: any(4) }), /cpu\.access: cpl 4 is not 0\.\.3/],
  ['cpu.access at CPL "3"', (m) => cpu(m).access(0n, { kind: 'read', cpl: any('3') }), /cpu\.access: cpl "3" is not 0\.\.3/],
  ['cpu.access with ac "yes"', (m) => cpu(m).access(0n, { kind: 'read', cpl: 0, ac: any('yes') }), /cpu\.access: opts\.ac must be true or false/],
  ['cpu.access with implicit 1', (m) => cpu(m).access(0n, { kind: 'read', cpl: 0, implicit: any(1) }), /opts\.implicit must be true or false/],
  ['cpu.access without options', (m) => cpu(m).access(0n, any(undefined)), /cpu\.access: opts must be an object, got undefined/],
  ['cpu.explain of a string va', (m) => cpu(m).explain(any('0x10'), { kind: 'read', cpl: 0 }), /cpu\.explain: va must be a bigint/],
  ['cpu.explain with dryRun "1"', (m) => cpu(m).explain(0n, { kind: 'read', cpl: 0, dryRun: any('1') }), /opts\.dryRun must be true or false/],
  ['cpu.walkStepper of 2^64', (m) => cpu(m).walkStepper(1n << 64n, { kind: 'read', cpl: 0 }), /cpu\.walkStepper: va 0x10000000000000000 is outside/],
  ['cpu.probe at CPL -1', (m) => cpu(m).probe(0n, { kind: 'read', cpl: any(-1) }), /cpu\.probe: cpl -1 is not 0\.\.3/],
  ['cpu.invlpg of a 65-bit va', (m) => cpu(m).invlpg(1n << 64n), /cpu\.invlpg: va 0x10000000000000000 is outside/],
  ['cpu.invlpg of a number', (m) => cpu(m).invlpg(any(0)), /cpu\.invlpg: va must be a bigint/],
  ['cpu.invpcid type 4', (m) => cpu(m).invpcid(any(4), 0), /INVPCID type 4 is invalid/],
  ['cpu.invpcid with a 13-bit PCID', (m) => cpu(m).invpcid(2, 0x1000), /INVPCID PCID 4096 does not fit in 12 bits/],
  ['cpu.invpcid with a 65-bit va', (m) => cpu(m).invpcid(0, 0, 1n << 64n), /cpu\.invpcid: va/],
  ['cpu.setControl of null', (m) => cpu(m).setControl(any(null)), /cpu\.setControl: regs must be an object, got null/],
  ['cpu.setControl of cr5', (m) => cpu(m).setControl(any({ cr5: 0n })), /unknown register 'cr5'/],
  ['cpu.setControl of a number cr3', (m) => cpu(m).setControl(any({ cr3: 4096 })), /cr3: expected a bigint, got number/],
  ['cpu.setControl of a 65-bit cr4', (m) => cpu(m).setControl({ cr4: 1n << 64n }), /cr4 = 0x10000000000000000 does not fit in 64 bits/],
  ['cpu.setControl of PG without PE', (m) => cpu(m).setControl({ cr0: 0x8000_0000n }), /CR0\.PG=1 requires CR0\.PE=1/],
  ['cpu.configure with tlb "off"', (m) => cpu(m).configure({ tlb: any('off') }), /cpu\.configure: opts\.tlb must be true or false/],
  ['cpu.configure of a number', (m) => cpu(m).configure(any(0)), /cpu\.configure: opts must be an object/],
  [
    'cpu.translateBatch of arrays',
    (m) => cpu(m).translateBatch(any([0n]), new Uint8Array(1), { pa: new BigUint64Array(1), fault: new Uint32Array(1) }, { cpl: 0 }),
    /cpu\.translateBatch: vas must be a BigUint64Array, got an array/,
  ],
  [
    'cpu.translateBatch with Int8Array kinds',
    (m) => cpu(m).translateBatch(new BigUint64Array(1), any(new Int8Array(1)), { pa: new BigUint64Array(1), fault: new Uint32Array(1) }, { cpl: 0 }),
    /kinds must be a Uint8Array, got Int8Array/,
  ],
  [
    'cpu.translateBatch with short outputs',
    (m) => cpu(m).translateBatch(new BigUint64Array(4), new Uint8Array(4), { pa: new BigUint64Array(1), fault: new Uint32Array(1) }, { cpl: 0 }),
    /must hold at least 4 entries/,
  ],
  [
    'cpu.translateBatch without out',
    (m) => cpu(m).translateBatch(new BigUint64Array(1), new Uint8Array(1), any(null), { cpl: 0 }),
    /cpu\.translateBatch: out must be an object/,
  ],
  [
    'cpu.translateBatch with a bad kind',
    (m) => cpu(m).translateBatch(new BigUint64Array(2), Uint8Array.of(0, 9), { pa: new BigUint64Array(2), fault: new Uint32Array(2) }, { cpl: 0 }),
    /kinds\[1\] = 9/,
  ],
  ['cpu.translateInPlace of too many', (m) => cpu(m).translateInPlace(m.batchMax + 1, { cpl: 0 }), /translateInPlace: n = \d+ must be 0\.\./],
  ['cpu.translateInPlace at CPL 7', (m) => cpu(m).translateInPlace(1, { cpl: any(7) }), /cpu\.translateInPlace: cpl 7/],
  // Machine
  ['Machine.createSync of a negative RAM', () => Machine.createSync({ ramBytes: -1 }), /ramBytes -1 must be a multiple of 4096/],
  ['Machine.createSync of 1e12 bytes', () => Machine.createSync({ ramBytes: 1e12 }), /ramBytes 1000000000000 must be/],
  ['Machine.createSync of 0 CPUs', () => Machine.createSync({ cpus: 0 }), /cpus 0 must be 1\.\.64/],
  ['Machine.createSync of vendor via', () => Machine.createSync({ vendor: any('via') }), /vendor 'via' must be 'intel' or 'amd'/],
  ['Machine.createSync of MAXPHYADDR 64', () => Machine.createSync({ maxPhysAddrBits: 64 }), /maxPhysAddrBits 64 must be 32\.\.52/],
  ['Machine.createSync of a misspelt option', () => Machine.createSync(any({ ramByte: 4096 })), /unknown option "ramByte"/],
  ['Machine.createSync of null', () => Machine.createSync(any(null)), /options must be an object, got null/],
  ['Machine.createSync with a 3-set TLB', () => Machine.createSync({ tlb: { '4k': { sets: 3, ways: 4 } } }), /tlb\.4k\.sets must be a power of two/],
  ['Machine.createSync with a TLB of 5', () => Machine.createSync({ tlb: any(5) }), /tlb must be false or an object/],
  ['Machine.createSync with pse36 "yes"', () => Machine.createSync({ pse36: any('yes') }), /pse36 must be true or false/],
  // The model namespaces' entry points and the image loader
  ['presets.resolvePreset of a number', () => presets.resolvePreset(any(123)), /unknown preset '123' \(known: /],
  ['presets.resolvePreset of "toString"', () => presets.resolvePreset('toString'), /unknown preset 'toString'/],
  ['presets.resolvePreset with an unknown knob', () => presets.resolvePreset('linux-3.18-smp', { nope: 1 }), /unknown knob 'nope'/],
  ['presets.parseKnobText of "constructor"', () => presets.parseKnobText('constructor', '1'), /unknown knob 'constructor'/],
  ['scenarios.getScenario of null', () => scenarios.getScenario(any(null)), /unknown scenario 'null'/],
  ['scenarios.getScenario of "__proto__"', () => scenarios.getScenario('__proto__'), /unknown scenario '__proto__'/],
  ['parseImage of undefined', () => parseImage(undefined), /image: expected an object, got nothing/],
  ['parseImage of a Uint8Array of zeros', () => parseImage(new Uint8Array(16)), /image: not valid JSON/],
];
/* eslint-enable @typescript-eslint/no-explicit-any */

describe('hostile API calls', () => {
  let m: Machine;
  beforeAll(async () => {
    m = await Machine.create({ ramBytes: 1 << 20 });
  });

  it.each(API)('%s: refused with a PagewalkError naming the problem', (_what, call, message) => {
    let err: unknown;
    try {
      call(m);
    } catch (e) {
      err = e;
    }
    expect(err, 'not refused').toBeInstanceOf(PagewalkError);
    expect((err as PagewalkError).code).toMatch(/^E[A-Z_]+$/);
    expect((err as PagewalkError).code).not.toBe('WASM_TRAP');
    expect((err as Error).message).toMatch(message);
  });

  it('leaves the machine usable: RAM, tables, walks and the dropped-write count are as expected', () => {
    // Nothing above reached memory: RAM is still all zero, and no write was counted as dropped.
    expect(m.phys.bytes.every((b) => b === 0)).toBe(true);
    expect(m.droppedWrites).toBe(0);
    m.phys.write64(BigInt(m.ramBytes), 1n); // past RAM: dropped and counted, not a trap
    m.phys.write64(0xffff_ffff_ffff_fff8n, 1n);
    expect(m.droppedWrites).toBe(2);
    expect(m.phys.read64(0xffff_ffff_ffff_fff8n)).toBe(0xffff_ffff_ffff_ffffn);
    const root = m.pageTables.newRoot('4level');
    m.pageTables.map('4level', root, 0x40_0000n, 0x2_0000n, 0x1000, { flags: 0x7n });
    const c = m.cpus[0];
    c.setControl({ cr0: 0x8001_0001n, cr4: 0x20n, efer: 0xd00n, cr3: root });
    expect(c.access(0x40_0123n, { kind: 'write', cpl: 3 })).toEqual({ ok: true, pa: 0x2_0123n });
    expect(c.access(0x40_1000n, { kind: 'read', cpl: 3 })).toMatchObject({ ok: false, vector: 14, errorCode: 4 });
    expect(c.access(0x8000_0000_0000n, { kind: 'read', cpl: 0 })).toEqual({ ok: false, vector: 13 });
  });
});

// ---------------------------------------------------------------- CLI

interface CliResult {
  code: number | 'threw';
  out: string;
  err: string;
}

/** Runs the CLI's main() in this process with stdout/stderr captured. */
async function cli(...argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const saved = { log: console.log, error: console.error, warn: console.warn, ow: process.stdout.write, ew: process.stderr.write };
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  console.error = console.warn = (...a: unknown[]) => void (err += a.join(' ') + '\n');
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), out, err };
  } catch (e) {
    return { code: 'threw', out, err: err + (e instanceof Error ? (e.stack ?? e.message) : String(e)) };
  } finally {
    Object.assign(console, { log: saved.log, error: saved.error, warn: saved.warn });
    process.stdout.write = saved.ow;
    process.stderr.write = saved.ew;
  }
}

function expectRefused(r: CliResult, message: RegExp): void {
  expect(r.code, r.err).toBe(2);
  expect(r.err).not.toMatch(/^\s+at /m); // no stack trace
  const lines = r.err.trim().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^pagewalk( [a-z]+)?: /);
  expect(lines[0]).toMatch(message);
  expect(r.out).toBe('');
}

const valid = JSON.parse(readFileSync(example('4level'), 'utf8'));
const validBinary = encodeBinaryImage(parseImage(readFileSync(example('4level'))));
const imageCase = (name: string, body: string | Uint8Array | object, message: RegExp): [string, string[], RegExp] => [
  `walk of image ${name}`,
  ['walk', '--image', file(`img-${name.replace(/\W+/g, '-')}`, body), '--va', '0x10000'],
  message,
];
const mutated = (f: (o: typeof valid) => void) => {
  const o = structuredClone(valid);
  f(o);
  return o;
};

const TRACE = {
  format: 'pagewalk-trace',
  version: 1,
  preset: 'linux-3.18-smp',
  overrides: {},
  program: { cpus: 1, tasks: [{ cpu: 0, kthread: false, spawn: 'boot', ops: [{ op: 'mmap', slot: 0, pages: 1, prot: 'rw', populate: false }] }], irqs: [] },
  schedule: { strategy: 'random', seed: 1 },
  choices: [],
  finding: { sanitizer: 'kernel-bug', signature: 'x', log: ['x'] },
  found: { seed: 1, execution: 1 },
  shrunk: true,
};
const traceCase = (name: string, f: (t: Record<string, unknown>) => void, message: RegExp): [string, string[], RegExp] => {
  const t: Record<string, unknown> = structuredClone(TRACE);
  f(t);
  return [`replay of a trace with ${name}`, ['replay', file(`trace-${name.replace(/\W+/g, '-')}.json`, t)], message];
};
const costCase = (name: string, body: unknown, message: RegExp): [string, string[], RegExp] => [
  `cost with a config with ${name}`,
  ['cost', '--config', file(`cost-${name.replace(/\W+/g, '-')}.json`, typeof body === 'string' ? body : JSON.stringify(body))],
  message,
];
const COST_OK = { accesses: 1000, warmup: 100, footprints: ['1M'], workloads: [{ kind: 'uniform' }], configs: [{ name: 'a', paging: '4level' }] };

const CLI: [string, string[], RegExp][] = [
  // main
  ['no command', [], /^pagewalk: no command given \(known: start, walk/],
  ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
  ['the command "constructor"', ['constructor'], /unknown command 'constructor'/],
  ['the command "__proto__"', ['__proto__'], /unknown command '__proto__'/],
  // walk
  ['walk with a 73-bit --va', ['walk', '--image', example('4level'), '--va', '0x1ffffffffffffffffff'], /--va: 0x1ffffffffffffffffff does not fit in 64 bits/],
  ['walk with --va 2^64', ['walk', '--image', example('4level'), '--va', '18446744073709551616'], /--va: 18446744073709551616 does not fit in 64 bits/],
  ['walk with --va 0x_', ['walk', '--image', example('4level'), '--va', '0x_'], /--va: expected an address like 0x7fff0000, got "0x_"/],
  ['walk with a negative --va', ['walk', '--image', example('4level'), '--va', '-1'], /--va: expected an address/],
  ['walk with --va given twice', ['walk', '--image', example('4level'), '--va', '0x1', '--va', '0x2'], /--va given twice/],
  ['walk with --va and no value', ['walk', '--image', example('4level'), '--va'], /--va needs a value/],
  ['walk with --kind fetch', ['walk', '--image', example('4level'), '--va', '0x1', '--kind', 'fetch'], /--kind: expected read, write or exec, got "fetch"/],
  ['walk with --cpl 4', ['walk', '--image', example('4level'), '--va', '0x1', '--cpl', '4'], /--cpl: 4 is out of range 0\.\.3/],
  ['walk with --cpl -1', ['walk', '--image', example('4level'), '--va', '0x1', '--cpl', '-1'], /--cpl: expected an integer, got "-1"/],
  ['walk with --mode 6level', ['walk', '--image', example('4level'), '--va', '0x1', '--mode', '6level'], /--mode: expected 32bit, pae, 4level or 5level/],
  ['walk with --query 99', ['walk', '--image', example('4level'), '--query', '99'], /--query: the image has \d+ queries/],
  ['walk with --query and --va', ['walk', '--image', example('4level'), '--query', '0', '--va', '0x1'], /give either --va or --query/],
  ['walk with --ac=1', ['walk', '--image', example('4level'), '--va', '0x1', '--ac=1'], /--ac takes no value/],
  ['walk with an unknown flag', ['walk', '--image', example('4level'), '--va', '0x1', '--verbose'], /unknown option --verbose/],
  ['walk with the flag --constructor', ['walk', '--constructor', 'x'], /unknown option --constructor/],
  ['walk with a stray argument', ['walk', 'image.json'], /unexpected argument "image\.json"/],
  ['walk without --image', ['walk', '--va', '0x1'], /--image is required/],
  ['walk without --va', ['walk', '--image', example('4level')], /--va is required/],
  ['walk of a missing image', ['walk', '--image', join(dir, 'nope.json'), '--va', '0x1'], /--image: cannot read .*nope\.json: ENOENT/],
  ['walk of a directory', ['walk', '--image', dir, '--va', '0x1'], /--image: .* is not a regular file/],
  ['walk of /dev/zero', ['walk', '--image', '/dev/zero', '--va', '0x1'], /--image: \/dev\/zero is not a regular file/],
  // images
  imageCase('empty', '', /image: not valid JSON/),
  imageCase('not JSON', '{"format":', /not valid JSON/),
  imageCase('a JSON array', '[]', /image: expected an object, got \[\]/),
  imageCase('a JSON number', '42', /image: expected an object, got 42/),
  imageCase('null', 'null', /image: expected an object, got null/),
  imageCase(
    'a wrong format tag',
    mutated((o) => (o.format = 'pagewalk-image/9')),
    /image\.format: expected "pagewalk-image\/1"/,
  ),
  imageCase(
    'RAM of 2^40',
    mutated((o) => (o.ramBytes = '0x10000000000')),
    /image\.ramBytes: .* out of range/,
  ),
  imageCase(
    'RAM of -4096',
    mutated((o) => (o.ramBytes = -4096)),
    /image\.ramBytes: -4096 is out of range/,
  ),
  imageCase(
    'a write past RAM',
    mutated((o) => (o.writes[0].pa = '0x100000000')),
    /image\.writes\[0\]\.pa: 0x100000000 is beyond the end of RAM/,
  ),
  imageCase(
    'a 65-bit value',
    mutated((o) => (o.writes[0].value = '0x1ffffffffffffffff')),
    /image\.writes\[0\]\.value: .* does not fit in 64 bits/,
  ),
  imageCase(
    'a number pa',
    mutated((o) => (o.writes[0].pa = 4096)),
    /image\.writes\[0\]\.pa: not a hex string/,
  ),
  imageCase(
    'a write of null',
    mutated((o) => (o.writes[0] = null)),
    /image\.writes\[0\]: expected an object, got null/,
  ),
  imageCase(
    'writes as a string',
    mutated((o) => (o.writes = 'none')),
    /image\.writes: expected an array/,
  ),
  imageCase(
    'a 73-bit CR3',
    mutated((o) => (o.control.cr3 = '0x1ffffffffffffffffff')),
    /image\.control\.cr3: .* does not fit in 64 bits/,
  ),
  imageCase(
    'a control of null',
    mutated((o) => (o.control = null)),
    /image\.control: expected an object, got null/,
  ),
  imageCase(
    'a query kind fetch',
    mutated((o) => (o.queries = [{ va: '0x1000', kind: 'fetch' }])),
    /image\.queries\[0\]\.kind/,
  ),
  imageCase(
    'a query va past 64 bits',
    mutated((o) => (o.queries = [{ va: '0x10000000000000000' }])),
    /image\.queries\[0\]\.va: .* does not fit in 64 bits/,
  ),
  imageCase(
    'MAXPHYADDR 99',
    mutated((o) => (o.maxPhysAddrBits = 99)),
    /image\.maxPhysAddrBits: 99 is out of range 32\.\.52/,
  ),
  imageCase('a __proto__ field', '{"__proto__": {"x": 1}, "format": "pagewalk-image/1"}', /image\.__proto__: unknown field/),
  imageCase(
    'binary garbage after the magic',
    new Uint8Array([...new TextEncoder().encode('PWIMAGE1'), 0xff, 0xff, 0xff]),
    /image\.header: truncated: 11 bytes, the header alone is 96/,
  ),
  ...[8, 9, 16, 31, 47, 64, 95].map((n) =>
    imageCase(`a binary image truncated to ${n} bytes`, validBinary.slice(0, n), /image\.header: truncated: \d+ bytes, the header alone is 96/),
  ),
  ...[96, 104, 200, validBinary.length - 1].map((n) =>
    imageCase(`a binary image cut after ${n} bytes`, validBinary.slice(0, n), /image\.header\.count: 11 writes need 272 bytes, the file has \d+/),
  ),
  ...(
    [
      [8, /image\.header\.headerBytes: 4294967295 is invalid/],
      [12, /image\.header\.flags: unknown bits 0xfffffff8/],
      [16, /image\.header\.ramBytes: 4294967295 is not a multiple of 4096/],
      [24, /image\.header\.maxPhysAddrBits: 4294967295 is out of range 32\.\.52/],
      [80, /image\.header\.count: 4294967295 writes need \d+ bytes, the file has 272/],
    ] as const
  ).map(([off, message]) => {
    const b = validBinary.slice();
    new DataView(b.buffer).setUint32(off, 0xffff_ffff, true);
    return imageCase(`a binary header with all ones at byte ${off}`, b, message);
  }),
  imageCase('the binary magic cut to 1 byte', validBinary.slice(0, 1), /image: not valid JSON/),
  imageCase('the binary magic in lower case', new Uint8Array([...new TextEncoder().encode('pwimage1'), ...validBinary.slice(8)]), /image: not valid JSON/),
  imageCase(
    'random bytes',
    Uint8Array.from({ length: 256 }, (_, i) => (i * 73 + 41) & 0xff),
    /image: not valid JSON/,
  ),
  // replay and traces
  ['replay without a file', ['replay'], /^pagewalk replay: expected one trace file \(usage: /],
  ['replay of two files', ['replay', 'a.json', 'b.json'], /^pagewalk replay: expected one trace file/],
  ['replay of a missing file', ['replay', join(dir, 'missing-trace.json')], /replay: cannot read .*missing-trace\.json: ENOENT/],
  ['replay of a directory', ['replay', dir], /replay: .* is not a regular file/],
  ['replay of /dev/zero', ['replay', '/dev/zero'], /replay: \/dev\/zero is not a regular file/],
  ['replay with an unknown flag', ['replay', 'x.json', '--fast'], /unknown option --fast/],
  ['replay of a non-JSON file', ['replay', file('trace-garbage.json', 'not json')], /corrupted trace: not valid JSON/],
  ['replay of a JSON array', ['replay', file('trace-array.json', '[]')], /corrupted trace: expected a JSON object/],
  traceCase('no format', (t) => delete t.format, /corrupted trace: 'format' must be 'pagewalk-trace'/),
  traceCase('version 2', (t) => (t.version = 2), /unsupported 'version' 2/),
  traceCase('an unknown preset', (t) => (t.preset = 'linux-9.9'), /: unknown preset 'linux-9\.9' \(known: /),
  traceCase('a numeric preset', (t) => (t.preset = 3), /'preset' must be a string/),
  traceCase('an unknown knob', (t) => (t.overrides = { no_such_knob: 1 }), /: unknown knob 'no_such_knob' \(known: /),
  traceCase('an object knob value', (t) => (t.overrides = { x: {} }), /overrides\.x: expected a string, number or boolean/),
  traceCase('overrides as an array', (t) => (t.overrides = []), /'overrides' must be an object/),
  traceCase('no program', (t) => delete t.program, /\.json: program: expected an object/),
  traceCase('9 CPUs', (t) => ((t.program as { cpus: number }).cpus = 9), /program\.cpus: expected an integer in 1\.\.2, got 9/),
  traceCase(
    'an unknown op',
    (t) => ((t.program as { tasks: { ops: unknown[] }[] }).tasks[0].ops = [{ op: 'format_c' }]),
    /program\.tasks\[0\]\.ops\[0\]\.op: expected one of mmap\|.* got "format_c"/,
  ),
  traceCase('a slot of 99', (t) => ((t.program as { tasks: { ops: { slot: number }[] }[] }).tasks[0].ops[0].slot = 99), /program\.tasks\[0\]\.ops\[0\]\.slot/),
  traceCase('an unknown strategy', (t) => ((t.schedule as { strategy: string }).strategy = 'chaos'), /schedule\.strategy/),
  traceCase('a schedule seed of -1', (t) => ((t.schedule as { seed: number }).seed = -1), /schedule\.seed/),
  traceCase(
    'an eventProbability of 2',
    (t) => ((t.schedule as { eventProbability: number }).eventProbability = 2),
    /schedule\.eventProbability: expected a number in 0\.\.1/,
  ),
  traceCase('choices of strings', (t) => (t.choices = ['a']), /'choices' must be an array of action codes/),
  traceCase('a choice of 5000', (t) => (t.choices = [5000]), /'choices' must be an array of action codes/),
  traceCase('no finding', (t) => delete t.finding, /'finding' must have a sanitizer/),
  traceCase('a finding log of numbers', (t) => ((t.finding as { log: unknown }).log = [1, 2]), /'finding' must have a sanitizer/),
  traceCase('found at seed 1.5', (t) => ((t.found as { seed: number }).seed = 1.5), /'found' must be \{ seed, execution \} integers/),
  traceCase(
    'choices the run cannot take',
    (t) => {
      const p = t.program as { cpus: number; tasks: unknown[] };
      p.cpus = 2;
      p.tasks.push({ cpu: 1, kthread: false, spawn: 'boot', ops: [{ op: 'mmap', slot: 1, pages: 1, prot: 'rw', populate: false }] });
      t.choices = [63 * 64 + 5];
    },
    /the trace does not replay on this model: replay diverged at step 0/,
  ),
  // fuzz
  [
    'fuzz with --stop-on an unknown sanitizer',
    ['fuzz', '--preset', 'linux-3.18-smp', '--stop-on', 'kernel-bugg'],
    /--stop-on: unknown sanitizer "kernel-bugg" \(known: any, kernel-bug/,
  ],
  ['fuzz with --stop-on __proto__', ['fuzz', '--preset', 'linux-3.18-smp', '--stop-on', '__proto__'], /--stop-on: unknown sanitizer "__proto__"/],
  ['fuzz without --preset', ['fuzz', '--runs', '1'], /--preset <name> is required/],
  ['fuzz of an unknown preset', ['fuzz', '--preset', 'linux-0.01'], /unknown preset 'linux-0\.01' \(known: /],
  ['fuzz of the preset "constructor"', ['fuzz', '--preset', 'constructor'], /unknown preset 'constructor'/],
  ['fuzz with an unknown knob', ['fuzz', '--preset', 'linux-3.18-smp', '--set', 'frobs=1'], /unknown knob 'frobs' \(known: /],
  ['fuzz with a knob out of range', ['fuzz', '--preset', 'linux-3.18-smp', '--set', 'cpus=999'], /knob 'cpus': 999 is out of range 1\.\.8/],
  [
    'fuzz with a knob value not among its values',
    ['fuzz', '--preset', 'linux-3.18-smp', '--set', 'preempt=sometimes'],
    /knob 'preempt': expected one of none\|voluntary\|preempt\|rt, got "sometimes"/,
  ],
  ['fuzz with a hex int knob', ['fuzz', '--preset', 'linux-3.18-smp', '--set', 'cpus=0x10'], /knob 'cpus': expected an integer, got "0x10"/],
  ['fuzz with --set without =', ['fuzz', '--preset', 'linux-3.18-smp', '--set', 'preempt'], /expected knob=value/],
  ['fuzz with --runs 0', ['fuzz', '--preset', 'linux-3.18-smp', '--runs', '0'], /--runs: 0 is out of range 1\.\./],
  ['fuzz with --runs 1e3', ['fuzz', '--preset', 'linux-3.18-smp', '--runs', '1e3'], /--runs: expected an integer, got "1e3"/],
  ['fuzz with --runs past 2^53', ['fuzz', '--preset', 'linux-3.18-smp', '--runs', '99999999999999999999'], /--runs: .* is out of range/],
  ['fuzz with --time and --runs', ['fuzz', '--preset', 'linux-3.18-smp', '--time', '1', '--runs', '1'], /give --time or --runs, not both/],
  ['fuzz with --workers 0', ['fuzz', '--preset', 'linux-3.18-smp', '--workers', '0'], /--workers: 0 is out of range 1\.\.256/],
  ['fuzz with --workers 100000', ['fuzz', '--preset', 'linux-3.18-smp', '--workers', '100000'], /--workers: 100000 is out of range/],
  ['fuzz with --seed 2^32', ['fuzz', '--preset', 'linux-3.18-smp', '--seed', '4294967296'], /--seed: 4294967296 is out of range 0\.\.4294967295/],
  ['fuzz with --seeds -3', ['fuzz', '--preset', 'linux-3.18-smp', '--seeds', '-3'], /--seeds: expected an integer/],
  ['fuzz with --runs-per-seed 0', ['fuzz', '--preset', 'linux-3.18-smp', '--runs-per-seed', '0'], /--runs-per-seed: 0 is out of range/],
  [
    'fuzz with --out in a missing directory tree under a file',
    ['fuzz', '--preset', 'linux-3.18-smp', '--runs', '1', '--out', join(example('4level'), 'sub')],
    /--out: cannot write .*: part of the path is a file, not a directory/,
  ],
  [
    'fuzz with --out an existing file',
    ['fuzz', '--preset', 'linux-3.18-smp', '--runs', '1', '--out', example('4level')],
    /--out: cannot write .* is not a directory/,
  ],
  ['fuzz with --json=yes', ['fuzz', '--preset', 'linux-3.18-smp', '--json=yes'], /--json takes no value/],
  ['fuzz with a stray argument', ['fuzz', 'linux-3.18-smp'], /unexpected argument 'linux-3\.18-smp'/],
  // start
  ['start with --buggy-time 0', ['start', '--buggy-time', '0'], /--buggy-time: 0 is out of range 1\.\.3600/],
  ['start with --fixed-time 1e9', ['start', '--fixed-time', '1000000000'], /--fixed-time: 1000000000 is out of range/],
  ['start with --workers abc', ['start', '--workers', 'abc'], /--workers: expected an integer, got "abc"/],
  ['start with --seed -1', ['start', '--seed', '-1'], /--seed: expected an integer/],
  ['start with an unknown flag', ['start', '--fast'], /unknown option --fast/],
  ['start with a stray argument', ['start', 'now'], /unexpected argument 'now'/],
  // scenario
  ['scenario without a subcommand', ['scenario'], /^pagewalk scenario: missing subcommand \(expected list or run/],
  ['scenario with an unknown subcommand', ['scenario', 'explode'], /unknown subcommand 'explode' \(expected list or run;/],
  ['scenario run without a name', ['scenario', 'run', '--variant', 'buggy'], /scenario run needs exactly one scenario name/],
  ['scenario run of an unknown scenario', ['scenario', 'run', 'no-such', '--variant', 'buggy'], /unknown scenario 'no-such' \(known: /],
  ['scenario run of "constructor"', ['scenario', 'run', 'constructor', '--variant', 'buggy'], /unknown scenario 'constructor'/],
  ['scenario run without --variant', ['scenario', 'run', '000-vmalloc-fault-lazy-mmu-exit'], /--variant: expected buggy or fixed, got null/],
  [
    'scenario run with --variant broken',
    ['scenario', 'run', '000-vmalloc-fault-lazy-mmu-exit', '--variant', 'broken'],
    /--variant: expected buggy or fixed, got "broken"/,
  ],
  ['scenario run with an unknown knob', ['scenario', 'run', '000-vmalloc-fault-lazy-mmu-exit', '--variant', 'buggy', '--set', 'zzz=1'], /unknown knob 'zzz'/],
  [
    'scenario run with a bool knob of 2',
    ['scenario', 'run', '000-vmalloc-fault-lazy-mmu-exit', '--variant', 'buggy', '--set', 'smp=2'],
    /knob 'smp': expected true or false, got "2"/,
  ],
  [
    'scenario run with a missing --replay file',
    ['scenario', 'run', '000-vmalloc-fault-lazy-mmu-exit', '--variant', 'buggy', '--replay', join(dir, 'nope.json')],
    /--replay: cannot read .*ENOENT/,
  ],
  [
    'scenario run with a --replay of strings',
    ['scenario', 'run', '000-vmalloc-fault-lazy-mmu-exit', '--variant', 'buggy', '--replay', file('sc-strings.json', { trace: ['a'] })],
    /--replay: .* has no 'trace' array of action codes/,
  ],
  [
    'scenario run with a --replay of null',
    ['scenario', 'run', '000-vmalloc-fault-lazy-mmu-exit', '--variant', 'buggy', '--replay', file('sc-null.json', 'null')],
    /--replay: .* has no 'trace' array/,
  ],
  [
    'scenario run with a --replay of /dev/zero',
    ['scenario', 'run', '000-vmalloc-fault-lazy-mmu-exit', '--variant', 'buggy', '--replay', '/dev/zero'],
    /--replay: \/dev\/zero is not a regular file/,
  ],
  ['scenario list with an argument', ['scenario', 'list', 'all'], /scenario list takes no arguments/],
  // presets
  ['presets with an argument', ['presets', 'linux'], /presets takes no arguments/],
  ['presets with an unknown flag', ['presets', '--all'], /unknown option --all/],
  // cost
  [
    'cost with an unwritable --svg',
    ['cost', '--svg', join(dir, 'no', 'such', 'dir', 'chart.svg')],
    /--svg: cannot write .*chart\.svg: directory .* does not exist/,
  ],
  ['cost with --svg a directory', ['cost', '--svg', dir], /--svg: cannot write .*: it is a directory/],
  [
    'cost with --svg under a file',
    ['cost', '--svg', join(example('4level'), 'chart.svg')],
    /--svg: cannot write .*: part of the path is a file, not a directory/,
  ],
  ['cost with a missing --config', ['cost', '--config', join(dir, 'nope.json')], /--config: cannot read .*nope\.json: ENOENT/],
  ['cost with --config /dev/zero', ['cost', '--config', '/dev/zero'], /--config: \/dev\/zero is not a regular file/],
  ['cost with a stray argument', ['cost', 'fast'], /unexpected argument "fast"/],
  costCase('no JSON', '{accesses: 1}', /not valid JSON/),
  costCase('a JSON array', '[]', /config: must be an object, got \[\]/),
  costCase('negative accesses', { ...COST_OK, accesses: -5 }, /config\.accesses: must be between 1 and \d+, got -5/),
  costCase('fractional accesses', { ...COST_OK, accesses: 10.5 }, /config\.accesses/),
  costCase('string accesses', { ...COST_OK, accesses: '1000' }, /config\.accesses/),
  costCase('a footprint of 1 EiB', { ...COST_OK, footprints: ['1E'] }, /config\.footprints\[0\]: must be a size in bytes or like "4K"/),
  costCase('a footprint of -1M', { ...COST_OK, footprints: ['-1M'] }, /config\.footprints\[0\]/),
  costCase('an unknown workload', { ...COST_OK, workloads: [{ kind: 'chaos' }] }, /config\.workloads\[0\]\.kind: must be one of/),
  costCase(
    'a workload file that is missing',
    { ...COST_OK, workloads: [{ kind: 'file', path: join(dir, 'none.txt') }] },
    /config\.workloads\[0\].*cannot read .*none\.txt: ENOENT/,
  ),
  costCase(
    'a workload file that is /dev/zero',
    { ...COST_OK, workloads: [{ kind: 'file', path: '/dev/zero' }] },
    /config\.workloads\[0\].*\/dev\/zero is not a regular file/,
  ),
  costCase(
    'an address file line 0x_',
    { ...COST_OK, workloads: [{ kind: 'file', path: file('addrs.txt', '0x1000\n0x_\n') }] },
    /addrs\.txt:2: expected an address/,
  ),
  costCase(
    'an address past 64 bits',
    { ...COST_OK, workloads: [{ kind: 'file', path: file('addrs2.txt', '0x1ffffffffffffffff\n') }] },
    /addrs2\.txt:1: address .* does not fit in 64 bits/,
  ),
  costCase('paging 6level', { ...COST_OK, configs: [{ name: 'x', paging: '6level' }] }, /config\.configs\[0\]\.paging/),
  costCase(
    'a TLB of 3 sets',
    { ...COST_OK, configs: [{ name: 'x', paging: '4level', tlb: { '4k': { sets: 3, ways: 4 } } }] },
    /config\.configs\[0\]\.tlb\.4k\.sets/,
  ),
  costCase('an unknown top-level field', { ...COST_OK, acesses: 5 }, /config\.acesses/),
];

describe('hostile command lines, images, traces and cost configurations', () => {
  it.each(CLI)(
    '%s: one line naming the problem, exit 2',
    async (_what, argv, message) => {
      expectRefused(await cli(...argv), message);
    },
    10_000,
  );

  it('every sanitizer name the model reports is one --stop-on accepts', () => {
    const used = new Set<string>();
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.ts'))
          for (const [, n] of readFileSync(join(d, e.name), 'utf8').matchAll(/sanitizer: (?:[^,;'\n]*\? )?'([a-z-]+)'(?: : '([a-z-]+)')?/g)) used.add(n);
      }
    };
    walk(join(root, 'src'));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((n) => !(SANITIZERS as readonly string[]).includes(n))).toEqual([]);
  });

  it('a campaign still runs after the refusals, and the binary itself refuses in one line', async () => {
    const out = join(dir, 'findings');
    const r = await cli('fuzz', '--preset', 'linux-3.18-smp', '--runs', '8', '--workers', '1', '--json', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).executions).toBe(8);
    const bin = join(root, 'dist', 'cli.js');
    if (existsSync(bin)) {
      // npm test builds dist/ first; a bare `vitest run` before any build checks main() only.
      const p = spawnSync(process.execPath, [bin, 'walk', '--image', example('4level'), '--va', '0x1ffffffffffffffffff'], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(p.status).toBe(2);
      expect(p.stderr).toBe('pagewalk walk: --va: 0x1ffffffffffffffffff does not fit in 64 bits\n');
    }
  }, 60_000);
});

afterAll(() => {
  expect(API.length + CLI.length).toBeGreaterThanOrEqual(150);
});
