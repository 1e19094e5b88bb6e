// `pagewalk cost` (src/cli/cost.ts) run as a user runs it: the built dist/cli.js in a child
// process (npm test builds first; a stale or missing bundle is rebuilt here).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'pagewalk-cost-'));

function cost(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, 'cost', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function configFile(name: string, body: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
}

const SMALL = {
  accesses: 4000,
  warmup: 1000,
  footprints: ['1M', '64M', '4G'],
  workloads: [{ kind: 'uniform' }],
  configs: [
    { name: '4K pages', paging: '4level' },
    { name: '2M pages', paging: '4level', pages: { '2m': 1 } },
  ],
};

beforeAll(() => {
  if (!existsSync(cli) || !readFileSync(cli, 'utf8').includes('walk-cost microbenchmarks'))
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
});

/** Minimal XML well-formedness check: every tag closed in order, one root <svg>, escaped text. */
function checkXml(text: string): string[] {
  const stack: string[] = [];
  const roots: string[] = [];
  const body = text.replace(/^<\?xml[^>]*\?>/, '');
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    if (m[6]) throw new Error(`stray '<' at ${m.index}`);
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[5])) throw new Error(`unescaped & in text at ${m.index}`);
      if (stack.length === 0 && m[5].trim()) throw new Error('text outside the root element');
      continue;
    }
    const [, close, name, , self] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong element at ${m.index}`);
    } else {
      if (stack.length === 0) roots.push(name);
      if (!self) stack.push(name);
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  return roots;
}

describe('pagewalk cost output', () => {
  it('--json prints every number of every cell as valid JSON', () => {
    const r = cost('--config', configFile('small.json', SMALL), '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.tool).toBe('pagewalk cost');
    expect(report.cells).toHaveLength(6);
    for (const c of report.cells) {
      for (const k of ['tlbHitRate', 'walksPer1000', 'memRefsPerWalk', 'pscHitRate', 'emulatorAccessesPerSecond']) expect(Number.isFinite(c[k]), k).toBe(true);
      expect(Number.isFinite(c.cycles.total)).toBe(true);
      expect(c.stats.tlbHits + c.stats.tlbMisses).toBe(4000);
      expect(Array.isArray(c.pscLevels)).toBe(true);
    }
    // 2 MiB pages over 1 MiB .. 64 MiB fit the TLB: no walk after warm-up; 4 KiB pages over 4 GiB walk.
    const byName = (n: string, fp: number) => report.cells.find((c: { config: string; footprint: number }) => c.config === n && c.footprint === fp);
    expect(byName('2M pages', 64 * 2 ** 20).stats.walks).toBe(0);
    expect(byName('4K pages', 4 * 2 ** 30).walksPer1000).toBeGreaterThan(990);
    expect(report.config.configs[0].base).toBe('0x1000000000');
  });

  it('--svg writes a self-contained chart with one line per configuration', () => {
    const out = join(dir, 'chart.svg');
    const r = cost('--config', configFile('small2.json', SMALL), '--svg', out);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`chart written to ${out}`);
    const svg = readFileSync(out, 'utf8');
    expect(checkXml(svg)).toEqual(['svg']);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).not.toMatch(/<script|href=|@import|url\(/);
    for (const label of ['1M', '64M', '4G', '4K pages', '2M pages', 'log scale']) expect(svg).toContain(label);
  });

  it('prints a readable table without a progress bar when stderr is not a terminal', () => {
    const r = cost('--config', configFile('small3.json', SMALL));
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain('4K pages — uniform random');
    expect(r.out).toMatch(/footprint\s+L1 hit\s+STLB hit\s+walks\/1k\s+refs\/walk\s+PSC hit/);
    expect(r.out).toMatch(/\n\s+64M\s+/);
    expect(r.out).toContain('6 cells in');
  });

  it('--calibrate prints the measured chase beside the model and draws both', () => {
    const out = join(dir, 'cal.svg');
    const r = cost(
      '--calibrate',
      '--config',
      configFile('cal.json', { footprints: ['64K', '1M'], configs: [{ core: 'skylake' }] }),
      '--loads',
      '20000',
      '--ghz',
      '3',
      '--svg',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Calibration: dependent pointer chase .* measured with (C, .* -O2|WebAssembly.*); model: preset skylake, 3\.00 GHz \(--ghz\)/);
    expect(r.out).toMatch(/\n\s+1M\s+4k\s+[\d.]+\s+[\d.]+\s+[\d.]+/);
    expect(checkXml(readFileSync(out, 'utf8'))).toEqual(['svg']);
    expect(cost('--calibrate', '--ghz', 'fast').err).toMatch(/--ghz: must be a number above 0 and at most 20, got "fast"/);
    expect(cost('--calibrate', '--loads', '1e12').err).toMatch(/--loads: must be a number above 0 and at most 1000000000/);
  });
});

describe('pagewalk cost rejects bad input with exit code 2 and the field named', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    [
      'sets not a power of two',
      { configs: [{}, {}, { tlb: { '4k': { sets: 3, ways: 4 } } }] },
      /^pagewalk cost: config\.configs\[2\]\.tlb\.4k\.sets: must be a power of two, got 3$/m,
    ],
    ['unknown field', { configs: [{ pagng: '4level' }] }, /config\.configs\[0\]\.pagng: unknown field/],
    ['1 GiB pages in PAE', { configs: [{ paging: 'pae', pages: { '1g': 1 } }] }, /config\.configs\[0\]\.pages\.1g: 1 GiB pages do not exist in pae paging/],
    ['PCID without IA-32e', { configs: [{ paging: '32bit', pcid: true }] }, /config\.configs\[0\]\.pcid: PCIDs need IA-32e paging/],
    ['page mix not adding up', { configs: [{ pages: { '4k': 0.5, '2m': 0.2 } }] }, /config\.configs\[0\]\.pages: fractions must add up to 1/],
    ['bad footprint', { footprints: ['1M', 'lots'] }, /config\.footprints\[1\]: must be a size/],
    ['bad workload kind', { workloads: [{ kind: 'random' }] }, /config\.workloads\[0\]\.kind: must be one of/],
    ['flush without a rate', { configs: [{ flush: { kind: 'invlpg' } }] }, /config\.configs\[0\]\.flush\.every: must be at least 1/],
    ['latency not a number', { latency: { memory: 'slow' } }, /config\.latency\.memory: must be a number/],
    ['not JSON', '{ "seed": ', /bad-9\.json: not valid JSON \(/],
  ];
  bad.forEach(([what, body, msg], i) => {
    it(what, () => {
      const r = cost('--config', configFile(`bad-${i}.json`, body));
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(msg);
    });
  });

  it('a missing config file and an unknown option', () => {
    const a = cost('--config', join(dir, 'nope.json'));
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--config: cannot read .*nope\.json: ENOENT/);
    const b = cost('--fast');
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/unknown option --fast/);
  });

  it('an address file with a bad line names the file and line', () => {
    const f = join(dir, 'addrs.txt');
    writeFileSync(f, '0x1000\n# comment\n\n0x2000\nzap\n');
    const r = cost('--config', configFile('addr.json', { accesses: 10, warmup: 0, workloads: [{ kind: 'file', path: f }], configs: [{}] }));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/config\.workloads\[0\]: .*addrs\.txt:5: expected an address/);
  });
});
