/**
 * One cell of the matrix: a configuration × a workload × a footprint. Generates the stream,
 * builds its tables sparsely, runs the warm-up, resets the counters, runs the measured accesses
 * through `cpu.translateBatch` (with context switches and flushes at their configured rates),
 * and turns `cpu.stats` into the per-cell results.
 */
import type { BatchOutput, CpuStats } from '../core/types.js';
import type { CostConfig, MachineConfig, WorkloadSpec } from './config.js';
import { exactAttribution, LevelAttribution, type PscLevelStat } from './attribution.js';
import { cyclesPerAccess, placeLevels, type CycleBreakdown, type LevelPlacement } from './latency.js';
import { entryWorkingSet, LEVEL_NAME, PagePlan, touchedRegions } from './layout.js';
import { CR3_NOFLUSH, setUpMachine, type CellMachine } from './machine.js';
import { Prng } from '../util/prng.js';
import type { Stream } from './stream.js';
import { generateStream, hasOwnAddresses, workloadLabel } from './workloads.js';

/** What a cell is. */
export interface CellSpec {
  configIndex: number;
  workloadIndex: number;
  /** Footprint in bytes; null for address-file workloads (their own footprint). */
  footprint: number | null;
}

/** Every number measured or modelled for one cell. */
export interface CellResult extends CellSpec {
  config: string;
  workload: string;
  /** Set when the cell could not run (e.g. the footprint exceeds a 32-bit address space). */
  skipped?: string;
  accesses: number;
  warmup: number;
  stats: CpuStats;
  tlbHitRate: number;
  walksPer1000: number;
  memRefsPerWalk: number;
  pscHitRate: number;
  pscLevels: PscLevelStat[];
  /**
   * 'exact': per-level figures derived from the core's per-level counters (one page size);
   * 'sampled': from walks decoded one at a time (page-size mix; see attribution.ts).
   */
  pscAttribution: 'exact' | 'sampled';
  /** 'exact' attribution only: whether the derived references add up to stats.memRefs. */
  refsConsistent: boolean;
  /** Walks decoded one at a time for the per-level split, and those that could not be decoded. */
  pscSampledWalks: number;
  pscSampleAnomalies: number;
  /** Estimated memory references per level (PTE, PDE, ...), scaled to stats.memRefs. */
  memRefsByLevel: Record<string, number>;
  placement: Array<LevelPlacement & { entry: string }>;
  cycles: CycleBreakdown;
  /** Emulator throughput over the measured batched accesses (wall clock; not deterministic). */
  emulatorAccessesPerSecond: number;
  mappedBytes: { '4k': number; '2m': number; '1g': number };
  tableFrames: number;
  ramBytes: number;
  /** 4 KiB pages distinct in the stream, and the bytes they span (for address files). */
  distinctPages: number;
}

/** Hooks for tests and the CLI. */
export interface RunHooks {
  /** Monotonic clock in ms for throughput only (default performance.now). */
  now?: () => number;
}

function streamSeed(seed: number, workloadIndex: number, footprint: number | null): number {
  let h = (seed ^ Math.imul(workloadIndex + 1, 0x9e3779b9)) >>> 0;
  const f = footprint ?? 0;
  h = Math.imul(h ^ (f / 4096 >>> 0), 0x85ebca6b) >>> 0;
  return (h ^ Math.floor(f / 2 ** 44)) >>> 0;
}

/** Why a cell cannot run, or null. */
function skipReason(cfg: MachineConfig, w: WorkloadSpec, footprint: number | null): string | null {
  if (footprint === null || hasOwnAddresses(w)) return null;
  if ((cfg.paging === 'pae' || cfg.paging === '32bit') && Number(cfg.base) + footprint > 2 ** 32) return `footprint exceeds the 4 GiB linear address space of ${cfg.paging} paging`;
  return null;
}

/** Runs one cell. */
export async function runCell(conf: CostConfig, spec: CellSpec, hooks: RunHooks = {}): Promise<CellResult> {
  const cfg = conf.configs[spec.configIndex];
  const w = conf.workloads[spec.workloadIndex];
  const head = { ...spec, config: cfg.name, workload: workloadLabel(w) };
  const skip = skipReason(cfg, w, spec.footprint);
  if (skip) return emptyResult(head, conf, skip);
  const total = conf.warmup + conf.accesses;
  const rng = new Prng(streamSeed(conf.seed, spec.workloadIndex, spec.footprint));
  const stream = generateStream(w, spec.footprint ?? 0, cfg.base, total, rng, `config.workloads[${spec.workloadIndex}]`);
  const plan = new PagePlan(cfg.paging, cfg.pages, conf.seed);
  const leaf = plan.leafLevels(stream);
  const regions = touchedRegions(stream, leaf, plan);
  const cm = await setUpMachine(cfg, plan, regions);
  const singleLeaf = uniformLeaf(leaf, conf.warmup, total);
  const attribution = new LevelAttribution(plan.info.topMemLevel, plan.info.pscLevels);
  const samplePeriod = singleLeaf === 0 && conf.pscSample > 0 ? Math.max(SAMPLE_WINDOW, Math.round(SAMPLE_WINDOW / conf.pscSample)) : 0;
  const exec = new Executor(conf, cfg, cm, stream, leaf, attribution, samplePeriod, hooks.now ?? (() => performance.now()));
  exec.run(0, conf.warmup, false);
  cm.cpu.resetStats();
  exec.run(conf.warmup, total, true);
  const stats = cm.cpu.stats;
  const ws = entryWorkingSet(stream, leaf, conf.warmup, total, plan);
  const placement = placeLevels(ws, conf.latency);
  const exact = singleLeaf ? exactAttribution(stats, singleLeaf, plan.info.topMemLevel, plan.info.pscLevels) : null;
  const refs = exact ? exact.refs : attribution.scaledRefs(stats.memRefs);
  const cycles = cyclesPerAccess({ accesses: conf.accesses, walks: stats.walks, pscHits: stats.pscHits, refsByLevel: refs }, placement, conf.latency);
  return {
    ...head,
    accesses: conf.accesses,
    warmup: conf.warmup,
    stats: { ...stats, pscHitsByLevel: { ...stats.pscHitsByLevel } },
    tlbHitRate: ratio(stats.tlbHits, stats.tlbHits + stats.tlbMisses),
    walksPer1000: (1000 * stats.walks) / conf.accesses,
    memRefsPerWalk: ratio(stats.memRefs, stats.walks),
    pscHitRate: ratio(stats.pscHits, stats.walks),
    pscLevels: exact ? exact.levels : attribution.levels(),
    pscAttribution: exact ? 'exact' : 'sampled',
    refsConsistent: exact ? exact.consistent : false,
    pscSampledWalks: attribution.walks,
    pscSampleAnomalies: attribution.anomalies,
    memRefsByLevel: Object.fromEntries([...refs].sort((a, b) => a[0] - b[0]).map(([l, n]) => [LEVEL_NAME[l], n])),
    placement: placement.map((p) => ({ ...p, entry: LEVEL_NAME[p.level] })),
    cycles,
    emulatorAccessesPerSecond: exec.timedMs > 0 ? exec.timedAccesses / (exec.timedMs / 1000) : 0,
    mappedBytes: cm.built.mappedBytes,
    tableFrames: cm.built.tableFrames,
    ramBytes: cm.ramBytes,
    distinctPages: new Set(stream.vpn).size,
  };
}

/** The leaf level shared by every access of stream[from, to), or 0 when they differ. */
function uniformLeaf(leaf: Uint8Array, from: number, to: number): number {
  const l = leaf[from] ?? 0;
  for (let i = from + 1; i < to; i++) if (leaf[i] !== l) return 0;
  return l;
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function emptyResult(head: Pick<CellResult, 'configIndex' | 'workloadIndex' | 'footprint' | 'config' | 'workload'>, conf: CostConfig, skipped: string): CellResult {
  const zero: CpuStats = { walks: 0, memRefs: 0, tlbHits: 0, tlbMisses: 0, pscHits: 0, faults: 0, forcedEvictions: 0, pscHitsByLevel: { pde: 0, pdpte: 0, pml4e: 0, pml5e: 0 } };
  return {
    ...head,
    skipped,
    accesses: 0,
    warmup: conf.warmup,
    stats: zero,
    tlbHitRate: 0,
    walksPer1000: 0,
    memRefsPerWalk: 0,
    pscHitRate: 0,
    pscLevels: [],
    pscAttribution: 'exact',
    refsConsistent: true,
    pscSampledWalks: 0,
    pscSampleAnomalies: 0,
    memRefsByLevel: {},
    placement: [],
    cycles: { total: 0, tlb: 0, walkStart: 0, psc: 0, refs: 0 },
    emulatorAccessesPerSecond: 0,
    mappedBytes: { '4k': 0, '2m': 0, '1g': 0 },
    tableFrames: 0,
    ramBytes: 0,
    distinctPages: 0,
  };
}

/** Length of one sampling window (accesses translated one at a time). */
const SAMPLE_WINDOW = 256;

/**
 * Drives the stream through the CPU: batches cut at every event boundary (context switch,
 * flush, sampling window), events applied between batches.
 */
class Executor {
  timedMs = 0;
  timedAccesses = 0;
  private readonly kinds: Uint8Array;
  private readonly out: BatchOutput;
  private readonly flushRng: Prng;

  constructor(
    private readonly conf: CostConfig,
    private readonly cfg: MachineConfig,
    private readonly cm: CellMachine,
    private readonly stream: Stream,
    private readonly leaf: Uint8Array,
    private readonly attribution: LevelAttribution,
    /** Accesses between the starts of two sampling windows; 0 = no sampling. */
    private readonly samplePeriod: number,
    private readonly now: () => number,
  ) {
    this.kinds = new Uint8Array(conf.batch); // all reads (ACCESS_KIND_CODE.read = 0)
    this.out = { pa: new BigUint64Array(conf.batch), fault: new Uint32Array(conf.batch) };
    this.flushRng = new Prng(conf.seed ^ 0x5eed);
  }

  /** Runs accesses [from, to); `measured` enables timing and PSC sampling. */
  run(from: number, to: number, measured: boolean): void {
    let i = from;
    while (i < to) {
      this.events(i);
      let end = Math.min(to, i + this.conf.batch, nextMultiple(i, this.cfg.contextSwitchEvery), nextMultiple(i, this.cfg.flush.every));
      if (measured && this.samplePeriod) {
        const rel = i - this.conf.warmup;
        const phase = rel % this.samplePeriod;
        if (phase < SAMPLE_WINDOW) {
          end = Math.min(end, i + (SAMPLE_WINDOW - phase));
          this.sampled(i, end);
          i = end;
          continue;
        }
        end = Math.min(end, i + (this.samplePeriod - phase));
      }
      this.batch(i, end, measured);
      i = end;
    }
  }

  /** Context switch and flush events due before access i. */
  private events(i: number): void {
    const { cpu, cr3A, cr3B } = this.cm;
    if (i === 0) return;
    const cs = this.cfg.contextSwitchEvery;
    if (cs && i % cs === 0) {
      // switch_mm to another mm and back; with PCIDs Linux writes CR3 with the no-flush bit
      // when the ASID's TLB is up to date (arch/x86/mm/tlb.c, build_cr3_noflush).
      const nf = this.cfg.pcid ? CR3_NOFLUSH : 0n;
      cpu.setControl({ cr3: cr3B | nf });
      cpu.setControl({ cr3: cr3A | nf });
    }
    const fe = this.cfg.flush.every;
    if (fe && i % fe === 0) {
      if (this.cfg.flush.kind === 'invlpg') cpu.invlpg(this.stream.va[this.flushRng.below(i)]);
      // flush_tlb_local -> native_flush_tlb_local: a CR3 reload without the no-flush bit.
      else if (this.cfg.flush.kind === 'full') cpu.setControl({ cr3: cr3A });
    }
  }

  private batch(from: number, to: number, measured: boolean): void {
    const n = to - from;
    const t0 = measured ? this.now() : 0;
    this.cm.cpu.translateBatch(this.stream.va.subarray(from, to), this.kinds.subarray(0, n), { pa: this.out.pa.subarray(0, n), fault: this.out.fault.subarray(0, n) }, { cpl: 3 });
    if (measured) {
      this.timedMs += this.now() - t0;
      this.timedAccesses += n;
    }
  }

  /** One access at a time, decoding each walk's counts into the level attribution. */
  private sampled(from: number, to: number): void {
    const cpu = this.cm.cpu;
    const kinds = this.kinds.subarray(0, 1);
    const out = { pa: this.out.pa.subarray(0, 1), fault: this.out.fault.subarray(0, 1) };
    let prev = cpu.stats;
    for (let i = from; i < to; i++) {
      cpu.translateBatch(this.stream.va.subarray(i, i + 1), kinds, out, { cpl: 3 });
      const s = cpu.stats;
      const dw = s.walks - prev.walks;
      if (dw === 1 && s.faults === prev.faults) this.attribution.record(this.leaf[i], s.memRefs - prev.memRefs, s.pscHits > prev.pscHits);
      else if (dw > 1 || s.faults !== prev.faults) this.attribution.anomalies++;
      prev = s;
    }
  }
}

/** The next multiple of `every` strictly after i (Infinity when every is 0). */
function nextMultiple(i: number, every: number): number {
  return every ? (Math.floor(i / every) + 1) * every : Infinity;
}
