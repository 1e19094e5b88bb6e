/**
 * The latency side of the cost model: the per-access charges that are not a property of a named
 * core, and the resolution of a configuration (preset + overrides) into the machine that
 * src/cost/sim.ts simulates.
 *
 *   cycles/access = tlbHit                                    (every access; 0 by default)
 *                 + (L1 DTLB misses)/access × stlbHit         (STLB lookup, hit or not)
 *                 + Σ walks (Σ entry reads × latency of the cache level that served each read
 *                            + pscHit if a PSC hit) / overlap / accesses
 *                 + dirty-bit updates/access × dirtyUpdate
 *
 * where each entry read is looked up in the simulated data caches (data lines of the workload
 * compete for the same caches) and `overlap` is the number of page walkers for an independent
 * stream (walks of different accesses overlap) and 1 for a dependent one (a pointer chase).
 * Defaults and their sources: docs/cost.md and docs/provenance.md ("Cost model").
 */
import type { MachineConfig } from './config.js';
import { PRESETS, type DataCache } from './presets.js';
import type { Policy } from './setassoc.js';
import type { SimMachine } from './sim.js';

export interface LatencyModel {
  /** Cycles of an L1 DTLB hit: 0, the lookup overlaps the VIPT L1D access. */
  tlbHit: number;
  /** Cycles of a paging-structure-cache hit (0: overlapped with the walk start). */
  pscHit: number;
  /** Cycles of the locked read-modify-write that sets a dirty bit in a PTE. */
  dirtyUpdate: number;
  cachePolicy: Policy;
  /** Overrides of every configuration's preset. */
  stlbHit?: number;
  caches?: DataCache[];
  memory?: number;
}

export const DEFAULT_LATENCY: LatencyModel = {
  tlbHit: 0,
  pscHit: 0,
  // A locked RMW on Skylake: ~18 cycles (A. Fog, "Instruction tables", LOCK XADD / CMPXCHG, Skylake) — not re-read.
  dirtyUpdate: 20,
  cachePolicy: 'lru',
};

/** The machine a configuration describes: its preset with the configuration's and the latency overrides. */
export function resolveMachine(cfg: MachineConfig, lat: LatencyModel): SimMachine {
  const p = PRESETS[cfg.core];
  return {
    l1: cfg.l1tlb ?? p.l1,
    l2: cfg.stlb ?? p.l2,
    l2Latency: lat.stlbHit ?? p.l2Latency,
    tlbPolicy: cfg.tlbPolicy ?? p.tlbPolicy,
    tlbOn: cfg.tlb !== false,
    psc: cfg.psc,
    pscPolicy: cfg.tlbPolicy ?? p.tlbPolicy,
    caches: lat.caches ?? p.caches,
    cachePolicy: lat.cachePolicy,
    memory: lat.memory ?? p.memory,
    walkers: cfg.walkers ?? p.walkers,
    tlbHit: lat.tlbHit,
    pscHit: lat.pscHit,
    dirtyUpdate: lat.dirtyUpdate,
    ...(cfg.nested
      ? {
          nested: {
            levels: cfg.nested.levels,
            hostLeaf: cfg.nested.hostPage === '4k' ? 1 : cfg.nested.hostPage === '2m' ? 2 : 3,
            gpaTlb: cfg.nested.gpaTlb,
            hostPsc: cfg.nested.hostPsc,
            guestPages: cfg.nested.guestRam / 4096,
          },
        }
      : {}),
  };
}

/** Accesses needed before the model is in steady state: fill the largest cache and every TLB entry once. */
export function minWarmup(m: SimMachine): number {
  const llc = m.caches.length ? Math.max(...m.caches.map((c) => c.bytes)) / 64 : 0;
  const tlb = [...m.l1, ...m.l2].reduce((n, a) => n + a.sets * a.ways, 0);
  return Math.ceil(llc + tlb);
}
