// `pagewalk walk --ept/--npt` (src/cli/walk.ts, src/explain/nested.ts) run as a user runs it: the built
// dist/cli.js in a child process on examples/nested-ept.json, and the example's queries checked
// against the reference 2D walker.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseImage } from '../src/loader/image.js';
import { referenceNestedAccess, SparseMemory } from '../src/reference/index.js';
import { nestedOutcomeText } from '../src/explain/nested.js';
import { machineFromImage } from '../src/loader/machine-from-image.js';
import { apiShape } from './support/nested-shape.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'cli.js');
const image = join(root, 'examples', 'nested-ept.json');

function walk(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, 'walk', '--image', image, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  if (!existsSync(cli)) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
});

describe('pagewalk walk --ept', () => {
  it('prints the grid: a row per guest access, a column per EPT level, the result and the counts', () => {
    const r = walk('--query', '0', '--ept', '0x1001e');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[2]).toMatch(/^guest access\s+gpa\s+EPT PML4E\s+EPT PDPTE\s+EPT PDE\s+EPT PTE\s+hpa\s+guest entry read$/);
    expect(lines.slice(3, 8).map((l) => l.split(/\s+/)[0])).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE', 'GPA']);
    expect(lines[7]).toMatch(/^GPA\s+0x9123\s+0x11007 RWX\s+0x12007 RWX\s+0x13007 RWX\s+0x209037 RWX\s+0x209123$/);
    expect(lines[6]).toMatch(/^PTE\s+0x4000\s.*\s0x204000\s+0x9067 P RW US A D$/);
    expect(r.out).toContain('result: pa 0x209123 (guest-physical 0x9123)');
    expect(r.out).toContain('references: 4 guest + 20 host = 24');
  });

  it('shows the exit that ends the walk (EPT A/D: a read-only guest table page)', () => {
    const r = walk('--query', '0', '--ept', '0x1005e');
    expect(r.out).toContain(
      'result: EPT violation at guest-physical 0x3000, guest-linear 0x123; qualification 0x0ab: read, write, readable, executable, GLA valid',
    );
    const rows = r.out.split('\n').filter((l) => /^(PML4E|PDPTE|PDE|PTE|GPA) /.test(l));
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['PML4E', 'PDPTE', 'PDE']);
    // the ending cell: the EPT PTE of the guest PDE's page, read-execute only under EPT A/D
    expect(rows[2]).toMatch(/0x203035 R-X \*\s+exit$/);
    expect(r.out).toContain('ended at: PDE, EPT PTE (*): the EPT rights (AND of bits 2:0) deny the access');
  });

  it('--svg writes the grid as a picture (with --json and --dry-run); --svg alone is refused', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pw-')), 'grid.svg');
    const r = walk('--query', '3', '--ept', '0x1001e', '--svg', out, '--json', '--dry-run');
    expect(r.code).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/fill="#f99"/g)).toHaveLength(1); // one ending cell
    expect(svg).toContain('EPT entry not present (bits 2:0 = 000b)');
    const j = JSON.parse(r.out) as { explanation: { end: unknown; rows: unknown[] } };
    expect(j.explanation.end).toEqual({ row: 4, cell: 3 });
    expect(walk('--query', '0', '--svg', out).code).toBe(2);
  });

  it('--no-execute-only and --mbec change the fetch from the execute-only page; both need --ept', () => {
    expect(walk('--query', '1', '--ept', '0x1001e').out).toContain('result: pa 0x20a123 (guest-physical 0xa123)');
    expect(walk('--query', '1', '--ept', '0x1001e', '--no-execute-only').out).toContain('result: EPT misconfiguration at guest-physical 0xa123');
    // bits 2:0 = 100b grant supervisor-mode execute only: a CPL 3 fetch needs bit 10 under MBEC
    expect(walk('--query', '1', '--ept', '0x1001e', '--mbec').out).toContain('result: EPT violation at guest-physical 0xa123, guest-linear 0x1123');
    for (const bad of [['--npt', '0x1000', '--mbec'], ['--mbec'], ['--no-execute-only']]) {
      const r = walk('--query', '1', ...bad);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });

  it('refuses a bad EPTP with exit code 2 and one line', () => {
    const r = walk('--query', '0', '--ept', '0x1001f');
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/EPTP 0x1001f fails the VM-entry checks: memory type 7/);
  });

  it("every example query's outcome agrees with the reference 2D walker", async () => {
    const img = parseImage(readFileSync(image));
    const m = await machineFromImage(img);
    const mem = new SparseMemory(img.ramBytes);
    for (const w of img.writes) mem.write64(w.pa, w.value);
    const cpu = m.cpus[0]!;
    cpu.setNested({ kind: 'ept', eptp: 0x1001en });
    const seen = new Set<string>();
    for (const q of img.queries) {
      const want = referenceNestedAccess(
        mem,
        { ...img.control },
        q.va,
        { kind: q.kind, cpl: q.cpl },
        { vendor: 'intel', maxPhysAddrBits: 46, pse36: true, pdpe1gb: true, ramBytes: img.ramBytes },
        { kind: 'ept', eptp: 0x1001en, executeOnly: true },
      );
      const got = cpu.nestedAccess(q.va, { kind: q.kind, cpl: q.cpl });
      expect(got, q.note).toEqual(apiShape(want));
      seen.add(nestedOutcomeText(got).split(' ')[0]!);
    }
    expect([...seen].sort()).toEqual(['#PF', 'EPT', 'pa']);
  });
});
