/**
 * Attributing walks to paging-structure-cache levels (SDM §4.10.3.2: a walk that hits the cache
 * of level-c entries starts reading at level c − 1, skipping every level ≥ c).
 *
 * `cpu.stats.pscHitsByLevel` counts hits per cache exactly. Lookups per cache and memory
 * references per level follow exactly from those counts when every walk of the measured
 * stream ends at the same leaf level ℓ (one page size): a walk reads level L ≥ ℓ unless it hit
 * a cache c with ℓ < c ≤ L, and consults cache c unless it hit a cache c' with ℓ < c' < c
 * (`exactAttribution`). With a page-size mix the split by leaf is unknown, so a sample of
 * accesses is translated one at a time and each walk is decoded from its reference count r:
 * a walk with leaf ℓ that read r entries started at level ℓ + r − 1 (`LevelAttribution`).
 */
import type { CpuStats } from '../core/types.js';
import { LEVEL_NAME } from './layout.js';

const STAT_KEY: Record<number, keyof CpuStats['pscHitsByLevel']> = { 2: 'pde', 3: 'pdpte', 4: 'pml4e', 5: 'pml5e' };

/** Exact per-level results for a stream whose walks all end at leaf level `leaf`. */
export interface ExactAttribution {
  levels: PscLevelStat[];
  refs: Map<number, number>;
  /** True when the derived references add up to stats.memRefs (no re-walks, no faults). */
  consistent: boolean;
}

/** Derives per-level lookups and references from the core's per-level hit counters. */
export function exactAttribution(stats: CpuStats, leaf: number, topMemLevel: number, pscLevels: number[]): ExactAttribution {
  const hit = (c: number): number => stats.pscHitsByLevel[STAT_KEY[c]] ?? 0;
  const levels: PscLevelStat[] = pscLevels.map((c) => {
    let lookups = 0;
    if (c > leaf) {
      lookups = stats.walks;
      for (let c2 = leaf + 1; c2 < c; c2++) lookups -= hit(c2);
    }
    const hits = c > leaf ? hit(c) : 0;
    return { cache: LEVEL_NAME[c], level: c, lookups, hits, hitRate: lookups ? hits / lookups : null };
  });
  const refs = new Map<number, number>();
  let sum = 0;
  for (let l = leaf; l <= topMemLevel; l++) {
    let n = stats.walks;
    for (let c = leaf + 1; c <= l; c++) n -= hit(c);
    if (n > 0) refs.set(l, n);
    sum += n;
  }
  return { levels, refs, consistent: sum === stats.memRefs };
}

export interface PscLevelStat {
  /** Cached entry kind: 'PDE', 'PDPTE', 'PML4E', 'PML5E'. */
  cache: string;
  level: number;
  /** Sampled walks that could have used this cache (leaf below it, no hit in a longer one). */
  lookups: number;
  hits: number;
  /** hits / lookups, or null with no lookups. */
  hitRate: number | null;
}

/** Per-level counters over the sampled walks. */
export class LevelAttribution {
  readonly lookups = new Map<number, number>();
  readonly hits = new Map<number, number>();
  readonly refs = new Map<number, number>();
  walks = 0;
  /** Sampled walks whose counts could not be decoded (re-walks, faults). */
  anomalies = 0;

  constructor(private readonly topMemLevel: number, private readonly pscLevels: number[]) {
    for (const l of pscLevels) {
      this.lookups.set(l, 0);
      this.hits.set(l, 0);
    }
  }

  /** Records one sampled walk: leaf level, entries read, and whether stats counted a PSC hit. */
  record(leaf: number, refs: number, pscHit: boolean): void {
    const first = leaf + refs - 1;
    if (refs < 1 || first > this.topMemLevel) {
      this.anomalies++;
      return;
    }
    const hitLevel = first < this.topMemLevel ? first + 1 : 0;
    if ((hitLevel !== 0) !== pscHit) {
      this.anomalies++;
      return;
    }
    this.walks++;
    const lastLooked = hitLevel || this.topMemLevel;
    for (const c of this.pscLevels) if (c > leaf && c <= lastLooked) this.lookups.set(c, this.lookups.get(c)! + 1);
    if (hitLevel) this.hits.set(hitLevel, this.hits.get(hitLevel)! + 1);
    for (let l = leaf; l <= first; l++) this.refs.set(l, (this.refs.get(l) ?? 0) + 1);
  }

  /** Hit rate per cache level, lowest level (PDE) first. */
  levels(): PscLevelStat[] {
    return this.pscLevels.map((l) => {
      const lookups = this.lookups.get(l)!;
      const hits = this.hits.get(l)!;
      return { cache: LEVEL_NAME[l], level: l, lookups, hits, hitRate: lookups ? hits / lookups : null };
    });
  }

  /**
   * Memory references per level for the whole run: the sampled split scaled to `totalRefs`.
   * Without sampled walks every reference is charged to the leaf-most level (level 1), which
   * is what a walk with warm upper-level caches reads.
   */
  scaledRefs(totalRefs: number): Map<number, number> {
    const sampled = [...this.refs.values()].reduce((a, b) => a + b, 0);
    if (sampled === 0) return new Map(totalRefs ? [[1, totalRefs]] : []);
    return new Map([...this.refs].map(([l, n]) => [l, (n / sampled) * totalRefs]));
  }
}
