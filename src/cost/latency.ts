/**
 * The latency model that turns measured counts into modelled cycles per access.
 *
 *   cycles/access = tlbHit                                   (every access looks the TLB up)
 *                 + walks/access  × walkStart                (TLB-miss detection, walker start)
 *                 + pscHits/access × pscHit                  (paging-structure-cache lookups that hit)
 *                 + Σ_level refs(level)/access × latency(level)
 *
 * A walk's memory references are cacheable loads (SDM vol. 3 §4.10: the processor may cache
 * paging-structure entries in the data caches; Intel's page-miss handler issues them through
 * the cache hierarchy). Where each level's entries live is estimated from their working set:
 * the distinct 64-byte lines of entries of that level touched by the measured stream. Upper
 * levels are few and hot, so they claim capacity first: level L sees, in a cache of capacity C,
 * the room left by the levels above it, avail = max(0, C × cacheShare − Σ_above ws), and a
 * fraction min(1, avail / ws_L) of its lines fits there (the hit ratio of uniformly reused lines
 * in a cache holding that many of them). Caches are nested, so the share served by cache i is
 * fits_i − fits_(i−1), and memory serves the rest; latency(L) is the resulting weighted mean.
 * Data accesses themselves are not modelled: this is the cost of translation only.
 *
 * Defaults describe a Skylake-class client core. Sources:
 * - L1D 32 KiB / 4 cycles, L2 256 KiB / 12 cycles, L3 / 44 cycles ("fastest latency"): Intel 64
 *   and IA-32 Architectures Optimization Reference Manual, table "Cache parameters of the Skylake
 *   client microarchitecture" (L3 up to 2 MiB per core; 8 MiB = a 4-core part).
 * - Memory ≈ 200 cycles: ~60 ns local DRAM (D. Levinthal, "Performance Analysis Guide for Intel
 *   Core i7 Processor and Intel Xeon 5500 processors", Intel, 2009) at ~3.3 GHz.
 * - walkStart 12 cycles: the second-level TLB (STLB) lookup that precedes every walk; its hit
 *   latency was measured at 11 cycles on Ivy Bridge and 12 on Haswell (PC Watch, Haswell
 *   microbenchmarks, 2013-06-21, "D-TLB Size").
 * - tlbHit 1 cycle: a nominal charge; an L1 DTLB hit is overlapped with the VIPT L1D lookup.
 * - pscHit 0 cycles: PSC lookups overlap the walk start (not documented by Intel; SDM §4.10.3
 *   describes only their function).
 * Every number is overridable in the config file (`latency`).
 */

export interface CacheLevel {
  name: string;
  bytes: number;
  cycles: number;
}

export interface LatencyModel {
  tlbHit: number;
  walkStart: number;
  pscHit: number;
  caches: CacheLevel[];
  memory: number;
  /** Fraction of each cache's capacity available to paging-structure entries (0 < share <= 1). */
  cacheShare: number;
}

export const DEFAULT_LATENCY: LatencyModel = {
  tlbHit: 1,
  walkStart: 12,
  pscHit: 0,
  caches: [
    { name: 'L1', bytes: 32 * 1024, cycles: 4 },
    { name: 'L2', bytes: 256 * 1024, cycles: 12 },
    { name: 'L3', bytes: 8 * 1024 * 1024, cycles: 44 },
  ],
  memory: 200,
  cacheShare: 1,
};

/** Where each paging level's entries are served from, top level first. */
export interface LevelPlacement {
  level: number;
  workingSetBytes: number;
  /** The cache (or 'memory') serving the largest share of this level's references. */
  servedBy: string;
  /** Share of references served by each cache and by 'memory'. */
  shares: Record<string, number>;
  /** Expected cycles per reference at this level. */
  cycles: number;
}

/** Places each level (working set in bytes, keyed by level number) in the cache hierarchy. */
export function placeLevels(workingSet: Map<number, number>, model: LatencyModel): LevelPlacement[] {
  const levels = [...workingSet.keys()].sort((a, b) => b - a);
  const out: LevelPlacement[] = [];
  let above = 0;
  for (const level of levels) {
    const ws = workingSet.get(level)!;
    const shares: Record<string, number> = {};
    let fitPrev = 0;
    let cycles = 0;
    for (const c of model.caches) {
      const fit = ws === 0 ? 1 : Math.min(1, Math.max(0, c.bytes * model.cacheShare - above) / ws);
      const share = Math.max(0, fit - fitPrev);
      shares[c.name] = share;
      cycles += share * c.cycles;
      fitPrev = Math.max(fitPrev, fit);
    }
    shares.memory = 1 - fitPrev;
    cycles += shares.memory * model.memory;
    const servedBy = Object.entries(shares).reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    out.push({ level, workingSetBytes: ws, servedBy, shares, cycles });
    above += ws;
  }
  return out;
}

export interface CostInputs {
  accesses: number;
  walks: number;
  pscHits: number;
  /** Memory references per paging level (1 = PTE ... 5 = PML5E). */
  refsByLevel: Map<number, number>;
}

export interface CycleBreakdown {
  total: number;
  tlb: number;
  walkStart: number;
  psc: number;
  refs: number;
}

/** Modelled translation cycles per access (see the formula at the top of this file). */
export function cyclesPerAccess(inp: CostInputs, placement: LevelPlacement[], model: LatencyModel): CycleBreakdown {
  if (inp.accesses === 0) return { total: 0, tlb: 0, walkStart: 0, psc: 0, refs: 0 };
  const lat = new Map(placement.map((p) => [p.level, p.cycles]));
  let refCycles = 0;
  for (const [level, refs] of inp.refsByLevel) refCycles += refs * (lat.get(level) ?? model.memory);
  const tlb = model.tlbHit;
  const walkStart = (inp.walks * model.walkStart) / inp.accesses;
  const psc = (inp.pscHits * model.pscHit) / inp.accesses;
  const refs = refCycles / inp.accesses;
  return { total: tlb + walkStart + psc + refs, tlb, walkStart, psc, refs };
}
