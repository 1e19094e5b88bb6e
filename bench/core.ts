/**
 * The benchmark's core routine: build the guest once, create every implementation over the same
 * memory and address sets, measure them in alternating rounds, check every run's result hash
 * against the WASM batched walk's, and compute the ratios against their targets (issue 2).
 */
import { hashResults, hex32, newResults } from './hash.js';
import { native, reference, wasmBatched, wasmInPlace, wasmPerCall, wasmTlbHit, type Impl } from './impls.js';
import { measureAll, type Clock, type Measurement } from './measure.js';
import { loadNativeWalker, type NativeLoad } from './native.js';
import { buildWorkload, randomAddresses, type AddressSet, type Region, type Workload } from './workload.js';

export type ImplKind = 'wasm-batched' | 'wasm-in-place' | 'wasm-tlb-hit' | 'reference' | 'wasm-per-call' | 'native-c';

/** A region and the implementations timed on it. */
export interface RegionSpec extends Region {
  impls: ImplKind[];
  /** Fraction of non-canonical addresses in its address set. */
  nonCanonical: number;
  /** Addresses in its random set (default: the config's `addresses`). */
  addresses?: number;
}

export interface BenchConfig {
  /** Which time walks are counted against (bench/measure.ts). */
  clock: Clock;
  ramBytes: number;
  seed: number;
  rounds: number;
  targetMs: number;
  /** Addresses per random set (and in the TLB hot set), unless a region says otherwise. */
  addresses: number;
  /** Pages of the main region in the TLB hot set. */
  hotPages: number;
  /** Addresses every implementation translates in the cross-check before timing. */
  crossCheckAddresses: number;
  /** The first region is the main one: the ratios are computed on it. */
  regions: RegionSpec[];
}

const ALL: ImplKind[] = ['wasm-batched', 'wasm-in-place', 'wasm-tlb-hit', 'reference', 'wasm-per-call', 'native-c'];
const GIB = 2 ** 30;

/** What `npm run bench` runs (about 30 seconds on a 2-vCPU machine). */
export const FULL_CONFIG: BenchConfig = {
  clock: 'cpu',
  ramBytes: 96 * 2 ** 20,
  seed: 2,
  rounds: 11,
  targetMs: 150,
  // 65536 = the core's batch size: every implementation on the main region (wasm-in-place too)
  // translates exactly the same addresses; they cover ~86 % of the 2 MiB of leaf-table lines.
  addresses: 1 << 16,
  hotPages: 32,
  crossCheckAddresses: 1 << 15,
  regions: [
    { name: '4k-1g', va: 0x0000_0010_0000_0000n, bytes: GIB, pageSize: '4k', faultPages: 8192, impls: ALL, nonCanonical: 1 / 512 },
    {
      name: '4k-16g',
      va: 0x0000_1000_0000_0000n,
      bytes: 16 * GIB,
      pageSize: '4k',
      faultPages: 0,
      impls: ['wasm-batched', 'native-c'],
      nonCanonical: 0,
      addresses: 1 << 20,
    },
    {
      name: '2m-16g',
      va: 0x0000_2000_0000_0000n,
      bytes: 16 * GIB,
      pageSize: '2m',
      faultPages: 0,
      impls: ['wasm-batched', 'native-c'],
      nonCanonical: 0,
      addresses: 1 << 20,
    },
  ],
};

/** A few seconds: small regions of every page size, every implementation, one short round. */
export const QUICK_CONFIG: BenchConfig = {
  clock: 'cpu',
  ramBytes: 16 * 2 ** 20,
  seed: 3,
  rounds: 1,
  targetMs: 5,
  addresses: 1 << 12,
  hotPages: 8,
  crossCheckAddresses: 1 << 12,
  regions: [
    { name: '4k-64m', va: 0x0000_0010_0000_0000n, bytes: 64 * 2 ** 20, pageSize: '4k', faultPages: 64, impls: ALL, nonCanonical: 1 / 64 },
    {
      name: '2m-1g',
      va: 0x0000_2000_0000_0000n,
      bytes: GIB,
      pageSize: '2m',
      faultPages: 64,
      impls: ['wasm-batched', 'reference', 'wasm-per-call', 'native-c'],
      nonCanonical: 1 / 64,
    },
    {
      name: '1g-16g',
      va: 0x0000_3000_0000_0000n,
      bytes: 16 * GIB,
      pageSize: '1g',
      faultPages: 8,
      impls: ['wasm-batched', 'reference', 'wasm-per-call', 'native-c'],
      nonCanonical: 1 / 64,
    },
  ],
};

export interface RatioResult {
  value: number | null;
  /** The target, or null for an informational ratio. */
  target: number | null;
  /** null when not measured or informational. */
  met: boolean | null;
  /** Implementation names: value = walksPerSec(numerator) / walksPerSec(denominator). */
  numerator: string;
  denominator: string;
}

export interface BenchResult {
  implementations: Record<string, { walksPerSec: number; region: string; addressesPerRun: number; hash: string; faults: number }>;
  ratios: Record<string, RatioResult>;
  /** Implementations not run, with the reason. */
  skipped: Record<string, string>;
  /**
   * Cross-check before timing: per address set, the hash (and fault count) each implementation
   * produced over the same first `crossCheckAddresses` addresses.
   */
  agreement: Record<string, Record<string, { hash: string; faults: number }>>;
  /** Hash mismatches and broken invariants: any entry makes the benchmark fail. */
  problems: string[];
  config: { clock: Clock; rounds: number; targetMs: number; addresses: number; hotPages: number; ramBytes: number; regions: string[] };
}

function implName(kind: ImplKind, region: RegionSpec, main: RegionSpec): string {
  return region === main ? kind : `${kind}@${region.name}`;
}

function makeImpls(w: Workload, cfg: BenchConfig, sets: Map<string, AddressSet>, nat: NativeLoad): Impl[] {
  const [cpuWalk, cpuTlb] = w.m.cpus;
  const main = cfg.regions[0];
  const impls: Impl[] = [];
  for (const r of cfg.regions) {
    const set = sets.get(r.name)!;
    for (const kind of r.impls) {
      const name = implName(kind, r, main);
      if (kind === 'wasm-batched') impls.push(wasmBatched(cpuWalk, set, name));
      else if (kind === 'wasm-in-place') impls.push({ ...wasmInPlace(w, cpuWalk, set), name });
      else if (kind === 'wasm-tlb-hit') impls.push({ ...wasmTlbHit(cpuTlb, sets.get('hot')!), name });
      else if (kind === 'reference') impls.push({ ...reference(w, set), name });
      else if (kind === 'wasm-per-call') impls.push({ ...wasmPerCall(cpuWalk, set), name });
      else if (nat.ok) impls.push(native(w, nat.walker, set, name));
    }
  }
  return impls;
}

function ratio(ms: Map<string, Measurement>, numerator: string, denominator: string, target: number | null): RatioResult {
  const a = ms.get(numerator);
  const b = ms.get(denominator);
  const value = a && b ? a.walksPerSec / b.walksPerSec : null;
  return { value, target, met: value === null || target === null ? null : value >= target, numerator, denominator };
}

/** The ratios of issue 2 on the main region, plus the native ratio on every other region. */
function ratios(cfg: BenchConfig, ms: Map<string, Measurement>): Record<string, RatioResult> {
  const out: Record<string, RatioResult> = {
    batchedOverNative: ratio(ms, 'wasm-batched', 'native-c', 0.8),
    batchedOverReference: ratio(ms, 'wasm-batched', 'reference', 30),
    tlbHitOverWalk: ratio(ms, 'wasm-tlb-hit', 'wasm-batched', 2.5),
    batchedOverPerCall: ratio(ms, 'wasm-batched', 'wasm-per-call', 1.5),
    // Informational: the WASM walk loop without translateBatch's copies in and out.
    inPlaceOverNative: ratio(ms, 'wasm-in-place', 'native-c', null),
  };
  for (const r of cfg.regions.slice(1)) {
    if (r.impls.includes('wasm-batched') && r.impls.includes('native-c')) {
      out[`batchedOverNative@${r.name}`] = ratio(ms, `wasm-batched@${r.name}`, `native-c@${r.name}`, 0.8);
    }
  }
  return out;
}

/** The expected hashes: the WASM batched walk (TLB and PSC off) over the same addresses. */
function oracle(w: Workload, sets: Map<string, AddressSet>) {
  const cache = new Map<string, number>();
  return (setName: string, n: number): number => {
    const key = `${setName}:${n}`;
    let h = cache.get(key);
    if (h === undefined) {
      const set = sets.get(setName)!;
      const out = newResults(n);
      w.m.cpus[0].translateBatch(set.vas.subarray(0, n), set.kinds.subarray(0, n), out, { cpl: 3 });
      h = hashResults(out, n).hash;
      cache.set(key, h);
    }
    return h;
  };
}

/**
 * Every implementation translates the same first `n` addresses of its set once; each hash must
 * equal the WASM batched walk's. Returns the hashes per set and the disagreements.
 */
export function crossCheck(
  impls: Impl[],
  n: number,
  expected: (set: string, n: number) => number,
): { agreement: BenchResult['agreement']; problems: string[] } {
  const agreement: BenchResult['agreement'] = {};
  const problems: string[] = [];
  for (const impl of impls) {
    const k = Math.min(n, impl.set.vas.length);
    impl.run(k, 1);
    const h = hashResults(impl.out, k);
    const want = expected(impl.set.name, k);
    (agreement[impl.set.name] ??= {})[impl.name] = { hash: hex32(h.hash), faults: h.faults };
    if (h.hash !== want)
      problems.push(`${impl.name}: cross-check hash ${hex32(h.hash)} over ${k} addresses of '${impl.set.name}' differs from wasm-batched's ${hex32(want)}`);
  }
  return { agreement, problems };
}

/** Runs the whole benchmark for a configuration. `log` receives progress lines (stderr). */
export async function runBench(cfg: BenchConfig, log: (line: string) => void = () => {}): Promise<BenchResult> {
  const nat = loadNativeWalker();
  log(nat.ok ? `native baseline: bench/native/walker.c built with ${nat.compiler}` : `native baseline skipped: ${nat.reason}`);
  log(`building page tables (${cfg.regions.map((r) => r.name).join(', ')})...`);
  const w = await buildWorkload({ regions: cfg.regions, ramBytes: cfg.ramBytes, seed: cfg.seed });
  w.m.cpus[0].configure({ tlb: false, psc: false });
  w.m.cpus[1].configure({ tlb: true, psc: true });
  const sets = new Map<string, AddressSet>();
  cfg.regions.forEach((r, i) =>
    sets.set(r.name, randomAddresses(r, { count: r.addresses ?? cfg.addresses, seed: cfg.seed * 1000 + i, nonCanonical: r.nonCanonical })),
  );
  const main = cfg.regions[0];
  sets.set('hot', { ...randomAddresses(main, { count: cfg.addresses, seed: cfg.seed * 1000 + 999, pages: cfg.hotPages }), name: 'hot' });
  const impls = makeImpls(w, cfg, sets, nat);
  const expected = oracle(w, sets);
  const check = crossCheck(impls, cfg.crossCheckAddresses, expected);
  log(`timing ${impls.length} implementations, ${cfg.rounds} rounds of about ${cfg.targetMs} ms each...`);
  const measured = measureAll(impls, { clock: cfg.clock, rounds: cfg.rounds, targetMs: cfg.targetMs, expected });
  const byName = new Map(measured.map((m) => [m.name, m]));
  const result: BenchResult = {
    implementations: {},
    ratios: ratios(cfg, byName),
    skipped: {},
    agreement: check.agreement,
    problems: check.problems.concat(measured.flatMap((m) => m.problems.map((p) => `${m.name}: ${p}`))),
    config: {
      clock: cfg.clock,
      rounds: cfg.rounds,
      targetMs: cfg.targetMs,
      addresses: cfg.addresses,
      hotPages: cfg.hotPages,
      ramBytes: cfg.ramBytes,
      regions: cfg.regions.map((r) => r.name),
    },
  };
  for (const m of measured) {
    result.implementations[m.name] = { walksPerSec: m.walksPerSec, region: m.set, addressesPerRun: m.n * m.passes, hash: hex32(m.hash), faults: m.faults };
  }
  if (!nat.ok) for (const r of cfg.regions) if (r.impls.includes('native-c')) result.skipped[implName('native-c', r, main)] = nat.reason;
  return result;
}
