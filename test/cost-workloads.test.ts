// Workload generators, address files, sizes and the latency model of `pagewalk cost` (src/cost/).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAddressFile } from '../src/cost/addrfile.js';
import { defaultConfig, resolveConfig } from '../src/cost/config.js';
import { cells, configToJson } from '../src/cost/matrix.js';
import { DEFAULT_LATENCY, minWarmup, resolveMachine } from '../src/cost/latency.js';
import { PagePlan } from '../src/cost/layout.js';
import { Prng } from '../src/util/prng.js';
import { runCell } from '../src/cost/run.js';
import { formatSize, parseSize } from '../src/cost/sizes.js';
import { generateStream } from '../src/cost/workloads.js';
import { makeScramble, ZipfSampler } from '../src/cost/zipf.js';

const dir = mkdtempSync(join(tmpdir(), 'pagewalk-cost-w-'));
const BASE = 0x10_0000_0000n;

describe('Prng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xs);
  });

  it('below(n) is uniform: chi-square over 16 buckets stays under the 0.999 quantile (37.7)', () => {
    const r = new Prng(7);
    const counts = new Array(16).fill(0);
    const N = 160_000;
    for (let i = 0; i < N; i++) counts[r.below(16)]++;
    const chi = counts.reduce((s, c) => s + (c - N / 16) ** 2 / (N / 16), 0);
    expect(chi).toBeLessThan(37.7);
    for (let i = 0; i < 1000; i++) expect(r.below(3 * 2 ** 40)).toBeLessThan(3 * 2 ** 40);
  });
});

describe('Zipf and the rank scramble', () => {
  it('rank frequencies follow k^-s / H(n, s)', () => {
    const n = 1000;
    const s = 1.0;
    const z = new ZipfSampler(n, s);
    const r = new Prng(3);
    const N = 200_000;
    const counts = new Map<number, number>();
    let outOfRange = 0;
    for (let i = 0; i < N; i++) {
      const k = z.sample(r);
      if (!(k >= 1 && k <= n && Number.isInteger(k))) outOfRange++;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(outOfRange).toBe(0);
    let h = 0;
    for (let k = 1; k <= n; k++) h += k ** -s;
    for (const k of [1, 2, 10]) {
      const p = k ** -s / h;
      const sd = Math.sqrt(N * p * (1 - p));
      expect(Math.abs((counts.get(k) ?? 0) - N * p)).toBeLessThan(5 * sd);
    }
  });

  it('the scramble is a bijection of [0, n) for powers of two and others', () => {
    for (const n of [1, 7, 1024, 1000, 65537]) {
      const f = makeScramble(n, new Prng(n));
      const seen = new Uint8Array(n);
      let bad = 0;
      for (let x = 0; x < n; x++) {
        const y = f(x);
        if (y >= 0 && y < n) seen[y]++;
        else bad++;
      }
      expect(bad).toBe(0);
      expect(seen.every((v) => v === 1)).toBe(true);
    }
  });
});

/** Reads only, independent addresses: the workload fields these generator tests do not vary. */
const PLAIN = { writes: 0, dependent: false };

describe('generators', () => {
  it('sequential and strided wrap at the footprint', () => {
    const s = generateStream({ ...PLAIN, kind: 'strided', stride: 4096 }, 16384, BASE, 6, new Prng(1), 'w');
    expect([...s.va].map((v) => v - BASE)).toEqual([0n, 4096n, 8192n, 12288n, 0n, 4096n]);
    expect(s.vpn[1]).toBe(Number(BASE / 4096n) + 1);
  });

  it('uniform stays inside the footprint and respects the alignment', () => {
    const fp = 16 * 2 ** 30;
    const s = generateStream({ ...PLAIN, kind: 'uniform', align: 64 }, fp, BASE, 10_000, new Prng(5), 'w');
    for (const v of s.va) {
      expect(v >= BASE && v < BASE + BigInt(fp)).toBe(true);
      expect(v % 64n).toBe(0n);
    }
  });

  it('pointer chase visits every node exactly once per cycle', () => {
    const nodes = 1024;
    const s = generateStream({ ...PLAIN, kind: 'pointer-chase', nodeBytes: 64 }, nodes * 64, BASE, 2 * nodes, new Prng(9), 'w');
    const first = new Set([...s.va.subarray(0, nodes)]);
    expect(first.size).toBe(nodes);
    expect([...s.va.subarray(nodes)]).toEqual([...s.va.subarray(0, nodes)]);
  });

  it('the same seed gives the same stream', () => {
    const a = generateStream({ ...PLAIN, kind: 'zipf', exponent: 0.9 }, 2 ** 30, BASE, 1000, new Prng(11), 'w');
    const b = generateStream({ ...PLAIN, kind: 'zipf', exponent: 0.9 }, 2 ** 30, BASE, 1000, new Prng(11), 'w');
    expect([...a.va]).toEqual([...b.va]);
  });
});

describe('address files', () => {
  it('reads text (hex, decimal, comments) and binary little-endian u64', () => {
    const t = join(dir, 'a.txt');
    writeFileSync(t, '# trace\n0x7f0000001000\n\n4096 # page 1\n0xffff_8000_0000_0000\n');
    expect([...readAddressFile(t, 'text', 'f')]).toEqual([0x7f0000001000n, 4096n, 0xffff800000000000n]);
    const b = join(dir, 'a.bin');
    const buf = Buffer.alloc(16);
    buf.writeBigUInt64LE(0x1234000n, 0);
    buf.writeBigUInt64LE(0xdead000n, 8);
    writeFileSync(b, buf);
    expect([...readAddressFile(b, 'binary', 'f')]).toEqual([0x1234000n, 0xdead000n]);
    writeFileSync(join(dir, 'odd.bin'), Buffer.alloc(12));
    expect(() => readAddressFile(join(dir, 'odd.bin'), 'binary', 'config.workloads[0]')).toThrow(
      /config\.workloads\[0\]: binary address file .* is 12 bytes, not a multiple of 8/,
    );
  });

  it('an address-file workload maps exactly the touched pages and walks as predicted', async () => {
    // 8 pages, each read 64 times in a row: one walk per page, 8 in all (the stream repeats,
    // so the warm-up of one pass leaves the 8 pages in the TLB: 0 walks afterwards).
    const f = join(dir, 'pages.txt');
    const lines: string[] = [];
    for (let p = 0; p < 8; p++) for (let i = 0; i < 64; i++) lines.push(`0x${(0x5555_0000_0000 + p * 0x20_0000 + i * 8).toString(16)}`);
    writeFileSync(f, lines.join('\n'));
    const conf = resolveConfig({ accesses: 512, warmup: 0, workloads: [{ kind: 'file', path: f }], configs: [{ paging: '4level' }] });
    const r = await runCell(conf, { configIndex: 0, workloadIndex: 0, footprint: null });
    expect(r.stats.walks).toBe(8);
    expect(r.stats.faults).toBe(0);
    expect(r.distinctPages).toBe(8);
    expect(r.mappedBytes['4k']).toBe(8 * 2 * 2 ** 20); // each touched page maps its 2 MiB region
    const warm = await runCell(resolveConfig({ accesses: 512, warmup: 512, workloads: [{ kind: 'file', path: f }], configs: [{}] }), {
      configIndex: 0,
      workloadIndex: 0,
      footprint: null,
    });
    expect(warm.stats.walks).toBe(0);
  });
});

describe('page-size plan', () => {
  it('assigns sizes in the configured proportions, deterministically', () => {
    const plan = new PagePlan('4level', { '4k': 0.5, '2m': 0.5, '1g': 0 }, 1);
    let two = 0;
    const regions = 4096;
    for (let r = 0; r < regions; r++) if (plan.leafLevel(r * 512) === 2) two++;
    expect(Math.abs(two - regions / 2)).toBeLessThan(5 * Math.sqrt(regions / 4));
    expect(new PagePlan('4level', { '4k': 0.5, '2m': 0.5, '1g': 0 }, 1).leafLevel(512 * 77)).toBe(plan.leafLevel(512 * 77));
    expect(new PagePlan('32bit', { '4k': 0, '2m': 1, '1g': 0 }, 1).leafLevel(5)).toBe(2);
  });
});

describe('sizes and the latency model', () => {
  it('parses and formats sizes', () => {
    expect(parseSize('16G')).toBe(16 * 2 ** 30);
    expect(parseSize('4KiB')).toBe(4096);
    expect(parseSize(1536)).toBe(1536);
    expect(parseSize('lots')).toBeNull();
    expect(formatSize(2 ** 20)).toBe('1M');
    expect(formatSize(16 * 2 ** 30)).toBe('16G');
  });

  it('every latency default is overridable from the config, and a preset gives the rest', () => {
    const conf = resolveConfig({
      latency: { memory: 300, caches: [{ name: 'LLC', bytes: '1M', ways: 16, cycles: 30 }], stlbHit: 7 },
      configs: [{ core: 'zen2', walkers: 3 }],
    });
    expect(conf.latency.memory).toBe(300);
    expect(conf.latency.tlbHit).toBe(DEFAULT_LATENCY.tlbHit);
    const m = resolveMachine(conf.configs[0], conf.latency);
    expect(m.caches).toEqual([{ name: 'LLC', bytes: 2 ** 20, ways: 16, cycles: 30 }]);
    expect([m.memory, m.l2Latency, m.walkers]).toEqual([300, 7, 3]);
    expect(m.l1).toEqual([{ sizes: ['4k', '2m', '1g'], sets: 1, ways: 64 }]);
    // Steady state needs the LLC's lines and every TLB entry filled once.
    expect(minWarmup(m)).toBe(2 ** 20 / 64 + 64 + 2048);
    expect(() => resolveConfig({ configs: [{ core: 'pentium' }] })).toThrow(/config\.configs\[0\]\.core: must be one of skylake/);
    expect(() =>
      resolveConfig({
        configs: [
          {
            stlb: [
              { sizes: ['4k'], sets: 1, ways: 1 },
              { sizes: ['4k'], sets: 1, ways: 1 },
            ],
          },
        ],
      }),
    ).toThrow(/stlb\[1\]\.sizes: page size 4k is already held/);
  });
});

describe('the default matrix', () => {
  it('is what --json prints as its config, and loads back unchanged from it', () => {
    const d = defaultConfig();
    expect(resolveConfig(configToJson(d))).toEqual(d);
    // 7 configurations x 1 workload x 8 footprints (1 MiB .. 16 GiB, x4).
    expect(cells(d)).toHaveLength(56);
    expect(d.footprints[0]).toBe(2 ** 20);
    expect(d.footprints[d.footprints.length - 1]).toBe(16 * 2 ** 30);
  });
});
