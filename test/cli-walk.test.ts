// `pagewalk walk` (src/cli/walk.ts), run as a user runs it: the built dist/cli.js in a child
// process (npm test builds first). Also checks every example query against the WASM core and the
// load/save of images on a real machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { FRAME_STATE } from '../src/core/types.js';
import { describeWalk } from '../src/explain/describe.js';
import { buildImage } from '../src/loader/build-image.js';
import { encodeBinaryImage, loadImage, modeOfControl, parseImage, saveImage } from '../src/loader/image.js';
import { machineFromImage } from '../src/loader/machine-from-image.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'cli.js');
const MODES = ['32bit', 'pae', '4level', '5level'] as const;
const examplePath = (m: string) => join(root, 'examples', `${m}.json`);

function walk(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, 'walk', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  if (!existsSync(cli)) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
});

describe('example images on the WASM core', () => {
  it.each(MODES)('%s: every query gives the outcome the image expects', async (m) => {
    const img = parseImage(readFileSync(examplePath(m)));
    const machine = await machineFromImage(img);
    expect(machine.cpus[0].mode).toBe(m);
    const got = img.queries.map(
      (q) => describeWalk(machine.cpus[0].explain(q.va, { kind: q.kind, cpl: q.cpl, ac: q.ac, implicit: q.implicit, dryRun: true })).outcome,
    );
    expect(got).toEqual(img.queries.map((q) => q.expect));
  });

  it('reserves the frames an image writes and saves it back', async () => {
    const img = parseImage(readFileSync(examplePath('4level')));
    const m = await machineFromImage(img);
    for (const w of img.writes) expect(m.frames.state(Number(w.pa >> 12n))).toBe(FRAME_STATE.RESERVED);
    const pfn = m.frames.alloc();
    expect(img.writes.some((w) => Number(w.pa >> 12n) === pfn)).toBe(false);
    m.frames.free(pfn);
    const saved = saveImage(m);
    expect(saved.control).toEqual(img.control);
    expect(saved.writes.map((w) => [w.pa, w.value])).toEqual(img.writes.map((w) => [w.pa, w.value]).sort((a, b) => Number(a[0] - b[0])));
  });

  it('names image.control when the CPU refuses the registers', async () => {
    const img = parseImage(readFileSync(examplePath('4level')));
    img.control.cr4 &= ~0x20n; // LME without PAE
    const m = await Machine.create({ ramBytes: img.ramBytes });
    expect(() => loadImage(m, img)).toThrow(/^image\.control: /);
  });

  it('builds an image from mappings with the PTE range operations', async () => {
    const img = await buildImage({
      mode: '4level',
      mappings: [
        { va: 0x400000n, pa: 0x200000n, pageSize: '4k', flags: 0x6n },
        { va: 0x40000000n, pa: 0x40000000n, pageSize: '1g', flags: 0x2n },
      ],
    });
    expect(modeOfControl(img.control)).toBe('4level');
    const m = await machineFromImage(img);
    expect(m.cpus[0].access(0x400123n, { kind: 'write', cpl: 3 })).toEqual({ ok: true, pa: 0x200123n });
    expect(m.cpus[0].access(0x40000123n, { kind: 'read', cpl: 3 })).toMatchObject({ ok: false, vector: 14, errorCode: 0x5 });
    await expect(buildImage({ mode: 'pae', mappings: [{ va: 0n, pa: 0n, pageSize: '1g', flags: 0n }] })).rejects.toThrow(
      /mappings\[0\]\.pageSize: 1g pages do not exist in pae paging/,
    );
  });
});

describe('pagewalk walk', () => {
  it('explains a user write to a read-only page: levels, #PF error code bit by bit, A bits set', () => {
    const r = walk('--image', examplePath('4level'), '--va', '0x11000', '--kind', 'write', '--cpl', '3');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('PML4[47:39]=0x000');
    expect(r.out).toContain('PT[20:12]=0x011');
    expect(r.out).toMatch(/^PTE\s+0x011\s+0x4088\s+0x8000000000011005\s+\[P\] US XD \[!RW\]\s+denied$/m);
    expect(r.out).toContain('result: #PF 0x7');
    expect(r.out).toMatch(/bit 0 {2}P {5}1 {2}page-level protection violation/);
    expect(r.out).toMatch(/bit 1 {2}W\/R {3}1 {2}the access was a write/);
    expect(r.out).toMatch(/bit 2 {2}U\/S {3}1 {2}user-mode access/);
    expect(r.out).toMatch(/bit 3 {2}RSVD {2}0/);
    expect(r.out).toContain('CR2 = 0x11000');
    expect(r.out).toContain('PML4E at 0x1000: A  (0x2007 -> 0x2027)');
    expect(r.out).toContain('legend: [X] decisive bit');
  });

  it('shows the translation and the dirty bit of a successful write; --dry-run writes nothing', () => {
    const r = walk('--image', examplePath('5level'), '--va', '0x10123', '--kind', 'write', '--cpl', '3');
    expect(r.out).toContain('result: pa 0x10123');
    expect(r.out).toMatch(/^PML5E\s/m);
    expect(r.out).toContain('PTE   at 0x5080: A+D  (0x10007 -> 0x10067)');
    const d = walk('--image', examplePath('5level'), '--va', '0x10123', '--kind', 'write', '--cpl', '3', '--dry-run');
    expect(d.out).toContain('A/D bits set by this walk: none');
  });

  it("--query N runs one of the image's queries; --json prints one object", () => {
    const r = walk('--image', examplePath('32bit'), '--query', '6', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.query.va).toBe('0x800000');
    expect(j.description.outcome).toBe('#PF 0x9');
    expect(j.explanation.result).toMatchObject({ ok: false, vector: 14, errorCode: 9 });
    expect(j.description.rows.map((x: { name: string }) => x.name)).toEqual(['PDE']);
    // Bit 21 of a 4 MiB PDE is reserved (SDM Table 4-4): named as the decisive bit.
    expect(j.description.rows[0].flags.filter((f: { decisive: boolean }) => f.decisive).map((f: { name: string }) => f.name)).toEqual(['RSVD:21']);
    expect(j.description.errorBits.filter((b: { set: boolean }) => b.set).map((b: { name: string }) => b.name)).toEqual(['P', 'RSVD']);
  });

  it('runs through a bin symlink named pagewalk, as npx starts it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-bin-'));
    const bin = join(dir, 'pagewalk');
    symlinkSync(cli, bin);
    const r = spawnSync(process.execPath, [bin, 'walk', '--image', examplePath('4level'), '--va', '0x12000', '--cpl', '3'], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('result: #PF 0x4');
  });

  it('colours decisive and set bits with FORCE_COLOR, plain markers otherwise', () => {
    const r = spawnSync(process.execPath, [cli, 'walk', '--image', examplePath('4level'), '--va', '0x11000', '--kind', 'write', '--cpl', '3'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '1' },
    });
    expect(r.stdout).toContain('\x1b[1;7;31m!RW\x1b[0m');
    expect(r.stdout).toContain('\x1b[32m+A\x1b[0m');
    expect(r.stdout).not.toContain('legend:');
    expect(walk('--image', examplePath('4level'), '--va', '0x11000', '--kind', 'write', '--cpl', '3').out).not.toContain('\x1b[');
  });

  it('reports #GP for a non-canonical address', () => {
    const r = walk('--image', examplePath('4level'), '--va', '0x800000000000');
    expect(r.out).toContain('result: #GP');
    expect(r.out).toContain('(no levels walked)');
  });

  it('--mode reinterprets the same tables in another mode', () => {
    // 0x800000001234 is canonical only with LA57; in 4-level paging it is a #GP.
    expect(walk('--image', examplePath('5level'), '--va', '0x800000001234').out).toContain('result: pa 0x1234');
    expect(walk('--image', examplePath('5level'), '--va', '0x800000001234', '--mode', '4level').out).toContain('result: #GP');
  });

  it('reads the binary image form', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-walk-'));
    const bin = join(dir, 'pae.pwimg');
    writeFileSync(bin, encodeBinaryImage(parseImage(readFileSync(examplePath('pae')))));
    const r = walk('--image', bin, '--va', '0xc0001234', '--cpl', '3');
    expect(r.code).toBe(0);
    expect(r.out).toContain('result: #PF 0x5');
    expect(r.out).toMatch(/^PDPTE\s+0x003\s+0x1018\s.*pdpte-register \(cached\)$/m);
  });

  it.each([
    [['--va', '0x1000'], '--image is required'],
    [['--image', 'examples/4level.json'], '--va is required'],
    [['--image', 'examples/4level.json', '--va', 'zz'], '--va: expected an address'],
    [['--image', 'examples/4level.json', '--va', '0x1000', '--kind', 'fetch'], '--kind: expected read, write or exec, got "fetch"'],
    [['--image', 'examples/4level.json', '--va', '0x1000', '--cpl', '5'], '--cpl: 5 is out of range 0..3'],
    [['--image', 'examples/4level.json', '--va', '0x1000', '--mode', '6level'], '--mode: expected 32bit, pae, 4level or 5level'],
    [['--image', 'examples/4level.json', '--query', '99'], '--query: the image has 13 queries (0..12), no number 99'],
    [['--image', 'examples/4level.json', '--va', '0x1000', '--bogus'], 'unknown option --bogus'],
    [['--image', 'examples/nope.json', '--va', '0x1000'], '--image: cannot read examples/nope.json: ENOENT'],
  ])('bad arguments %j exit 2 with one clear line', (args, message) => {
    const r = walk(...args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('a malformed image exits 2 naming the field, never a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-walk-'));
    const img = JSON.parse(readFileSync(examplePath('4level'), 'utf8'));
    img.writes[3].pa = 12288;
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(img));
    const r = walk('--image', file, '--va', '0x1000');
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe(`pagewalk walk: ${file}: image.writes[3].pa: not a hex string (expected like "0x1000", got 12288)`);
    writeFileSync(file, '{"format": "pagewalk-image/1", ');
    const j = walk('--image', file, '--va', '0x1000');
    expect(j.code).toBe(2);
    expect(j.err).toMatch(/image: not valid JSON/);
    img.writes[3].pa = '0x3000';
    img.control.cr4 = '0x0'; // LME without PAE: the CPU refuses it
    delete img.mode;
    writeFileSync(file, JSON.stringify(img));
    const c = walk('--image', file, '--va', '0x1000');
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/image\.control: /);
    expect(c.err).not.toMatch(/\n\s+at /);
  });
});

interface DocWalk {
  line: string;
  args: string[];
  /** Outcome named in the line's comment. */
  expect?: string;
  /** The error line printed below the command in the document. */
  error?: string;
}

/** `npx pagewalk walk ...` command lines of a document (usage lines with <placeholders> skipped). */
function documentedWalks(file: string): DocWalk[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: DocWalk[] = [];
  lines.forEach((raw, i) => {
    const m = /^\s*(?:\$\s*)?npx pagewalk walk\s+([^#]*?)\s*(?:#\s*(.*))?$/.exec(raw);
    if (!m || /[<[]/.test(m[1])) return;
    const outcome = m[2] ? /^(pa 0x[0-9a-f]+|#PF 0x[0-9a-f]+|#GP)\b/.exec(m[2]) : null;
    const next = lines[i + 1]?.trim() ?? '';
    out.push({
      line: raw.trim(),
      args: m[1].split(/\s+/),
      ...(outcome ? { expect: outcome[1] } : {}),
      ...(next.startsWith('pagewalk walk:') ? { error: next } : {}),
    });
  });
  return out;
}

describe('documented walk commands', () => {
  const docs = ['docs/cli-walk.md', 'README.md'].flatMap((f) => documentedWalks(join(root, f)).map((c) => ({ ...c, file: f })));

  it('docs/cli-walk.md has examples to check', () => {
    expect(docs.filter((d) => d.file === 'docs/cli-walk.md' && !d.error).length).toBeGreaterThanOrEqual(10);
  });

  it.each(docs.map((d) => [`${d.file}: ${d.line}`, d] as const))('%s', (_name, d) => {
    const r = walk(...d.args);
    if (d.error) {
      // A documented error: exit 2 with the documented line (when the image it names exists here).
      expect(r.code).toBe(2);
      const image = d.args[d.args.indexOf('--image') + 1];
      if (existsSync(join(root, image))) expect(r.err.trim()).toBe(d.error);
      return;
    }
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    if (d.args.includes('--json')) expect(() => JSON.parse(r.out)).not.toThrow();
    else expect(r.out).toMatch(/^result: /m);
    if (d.expect) expect(r.out).toContain(`result: ${d.expect}`);
  });
});
