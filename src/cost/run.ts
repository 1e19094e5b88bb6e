/**
 * One cell of the matrix: a configuration × a workload × a footprint. Generates the streams (one
 * per address space), then
 * - runs the first address space's stream through the emulated MMU (`cpu.translateBatch` on the
 *   WASM core, tables built sparsely, context switches to an idle address space and flushes at
 *   their rates): every access must translate without a fault, and the core's own counters are
 *   reported as `stats`;
 * - runs every address space through the cost model (src/cost/sim.ts: two TLB levels, PSCs,
 *   data caches), which gives the priced figures.
 * It also checks that the cell is what its label says (footprint covered, page-size mix mapped)
 * and warns — or, with `strict`, refuses — when it is not.
 */
import type { BatchOutput, CpuStats } from '../core/types.js';
import { PagewalkError } from '../core/errors.js';
import type { CostConfig, MachineConfig, WorkloadSpec } from './config.js';
import { minWarmup, resolveMachine } from './latency.js';
import { LEVEL_NAME, PagePlan, touchedRegions } from './layout.js';
import { CR3_NOFLUSH, setUpMachine, type CellMachine } from './machine.js';
import { PSC_NAME, simulate, type SimStats, type SimStream } from './sim.js';
import { formatSize } from './sizes.js';
import { Prng } from '../util/prng.js';
import { lineInPage, type Stream } from './stream.js';
import { generateStream, hasOwnAddresses, workloadLabel } from './workloads.js';

/** What a cell is. */
export interface CellSpec {
  configIndex: number;
  workloadIndex: number;
  /** Footprint in bytes; null for address-file workloads (their own footprint). */
  footprint: number | null;
}

/** Per paging-structure cache: lookups and hits in the measured window (from the model). */
export interface PscLevelStat {
  cache: string;
  level: number;
  lookups: number;
  hits: number;
  hitRate: number | null;
}

/** Every number measured or modelled for one cell. */
export interface CellResult extends CellSpec {
  config: string;
  workload: string;
  /** Set when the cell could not run (e.g. the footprint exceeds a 32-bit address space). */
  skipped?: string;
  accesses: number;
  /** Warm-up run (the configured one, or `minWarmup` when automatic). */
  warmup: number;
  /** The cell is not what its label says (footprint not covered, page mix not mapped). */
  warnings: string[];
  /** Remarks that do not make the label false (e.g. a lengthened warm-up). */
  notes: string[];
  /** The WASM core's own counters over the measured accesses of address space 0 (idle partner). */
  stats: CpuStats;
  /** The cost model's counters (every address space, measured window). */
  model: SimStats;
  /** Share of accesses translated by the L1 DTLB, by the STLB, and by either. */
  l1HitRate: number;
  stlbHitRate: number;
  tlbHitRate: number;
  walksPer1000: number;
  memRefsPerWalk: number;
  pscHitRate: number;
  pscLevels: PscLevelStat[];
  /** Entry reads per level (PTE, PDE, ...) in the measured window. */
  memRefsByLevel: Record<string, number>;
  /** Share of walk entry reads served by each cache level and by memory. */
  refsServed: Record<string, number>;
  cycles: SimStats['cycles'];
  /** Shares of measured accesses (address space 0) translated by 4 KiB, 2 MiB and 1 GiB pages. */
  pageMix: { '4k': number; '2m': number; '1g': number };
  /** Emulator throughput over the measured batched accesses (wall clock; not deterministic). */
  emulatorAccessesPerSecond: number;
  mappedBytes: { '4k': number; '2m': number; '1g': number };
  tableFrames: number;
  ramBytes: number;
  /** 4 KiB pages distinct in address space 0's stream. */
  distinctPages: number;
  /** Nested configurations: guest and host entry reads per 2D walk (memRefsPerWalk is their sum), hit rates of the host-side caches. */
  nested?: { guestRefsPerWalk: number; hostRefsPerWalk: number; hostWalksPerWalk: number; gpaTlbHitRate: number; hostPscHitRate: number };
}

/** Hooks for tests and the CLI. */
export interface RunHooks {
  /** false: price the cell with the cost model only, without running the WASM core (faster; `stats` are zeros). */
  core?: boolean;
  /** Monotonic clock in ms for throughput only (default performance.now). */
  now?: () => number;
}

function streamSeed(seed: number, workloadIndex: number, footprint: number | null): number {
  let h = (seed ^ Math.imul(workloadIndex + 1, 0x9e3779b9)) >>> 0;
  const f = footprint ?? 0;
  h = Math.imul(h ^ ((f / 4096) >>> 0), 0x85ebca6b) >>> 0;
  return (h ^ Math.floor(f / 2 ** 44)) >>> 0;
}

/** Why a cell cannot run, or null. */
function skipReason(cfg: MachineConfig, w: WorkloadSpec, footprint: number | null): string | null {
  if (footprint === null || hasOwnAddresses(w)) return null;
  if ((cfg.paging === 'pae' || cfg.paging === '32bit') && Number(cfg.base) + footprint > 2 ** 32)
    return `footprint exceeds the 4 GiB linear address space of ${cfg.paging} paging`;
  return null;
}

/** Runs one cell. */
export async function runCell(conf: CostConfig, spec: CellSpec, hooks: RunHooks = {}): Promise<CellResult> {
  const cfg = conf.configs[spec.configIndex];
  const w = conf.workloads[spec.workloadIndex];
  const head = { ...spec, config: cfg.name, workload: workloadLabel(w) };
  const skip = skipReason(cfg, w, spec.footprint);
  if (skip) return emptyResult(head, skip);
  const machine = resolveMachine(cfg, conf.latency);
  const need = minWarmup(machine);
  const notes: string[] = [];
  const warmup = conf.warmup ?? need;
  if (warmup < need)
    notes.push(
      `warm-up of ${warmup} accesses is shorter than the ${need} that fill the largest cache (${formatSize(Math.max(0, ...machine.caches.map((c) => c.bytes)))}) and every TLB entry once: figures may not be steady-state`,
    );
  const total = warmup + conf.accesses;
  const plan = new PagePlan(cfg.paging, cfg.pages, conf.seed);
  const spaces = cfg.contextSwitchEvery > 0 ? cfg.addressSpaces : 1;
  const streams: Stream[] = [];
  const leaves: Uint8Array[] = [];
  for (let sp = 0; sp < spaces; sp++) {
    const rng = new Prng(streamSeed(conf.seed + sp * 0x3c6ef372, spec.workloadIndex, spec.footprint));
    // Space 0 also runs on the core for the whole cell; the others need only their turns.
    const length = sp === 0 ? total : Math.min(total, Math.ceil(total / spaces) + cfg.contextSwitchEvery);
    const st = generateStream(w, spec.footprint ?? 0, cfg.base, length, rng, `config.workloads[${spec.workloadIndex}]`);
    streams.push(st);
    leaves.push(plan.leafLevels(st));
  }
  const stream = streams[0];
  const leaf = leaves[0];
  const warnings = labelWarnings(cfg, w, spec.footprint, total, leaf, warmup, stream);
  if (conf.strict && warnings.length)
    throw new PagewalkError(
      'EINVAL_ARG',
      `${cfg.name} / ${head.workload}${spec.footprint === null ? '' : ` @ ${formatSize(spec.footprint)}`}: ${warnings.join('; ')}`,
    );

  // The emulated MMU: address space 0 through the WASM core.
  let stats = ZERO_STATS;
  let core: { exec: Executor; cm: CellMachine } | null = null;
  if (cfg.nested) notes.push('nested paging is priced by the cost model only: the WASM core does not run this cell (its counters are zeros)');
  if (hooks.core !== false && !cfg.nested) {
    const cm = await setUpMachine(cfg, plan, touchedRegions(stream, leaf, plan));
    const exec = new Executor(conf, cfg, cm, stream, hooks.now ?? (() => performance.now()));
    exec.run(0, warmup, false);
    cm.cpu.resetStats();
    exec.run(warmup, total, true);
    stats = cm.cpu.stats;
    if (stats.faults) throw new Error(`cost: ${stats.faults} accesses faulted in ${cfg.name} (the tables do not map the stream)`);
    core = { exec, cm };
  }

  // The cost model: every address space.
  const simStreams: SimStream[] = streams.map((st, i) => ({ vpn: st.vpn, lineInPage: lineInPage(st), leaf: leaves[i], write: st.write }));
  const sim = simulate(machine, plan.info, simStreams, {
    warmup,
    accesses: conf.accesses,
    switchEvery: cfg.contextSwitchEvery,
    pcid: cfg.pcid,
    asids: cfg.asids,
    flush: cfg.flush,
    dependent: w.dependent,
    seed: conf.seed,
  });
  const n = sim.accesses;
  const mix = { '4k': 0, '2m': 0, '1g': 0 };
  for (let i = warmup; i < total; i++) mix[leaf[i] === 1 ? '4k' : leaf[i] === 2 ? '2m' : '1g'] += 1 / conf.accesses;
  const cacheNames = [...machine.caches.map((c) => c.name), 'memory'];
  return {
    ...head,
    accesses: conf.accesses,
    warmup,
    warnings,
    notes,
    stats: { ...stats, pscHitsByLevel: { ...stats.pscHitsByLevel } },
    model: sim,
    l1HitRate: ratio(sim.l1Hits, n),
    stlbHitRate: ratio(sim.stlbHits, n),
    tlbHitRate: ratio(sim.l1Hits + sim.stlbHits, n),
    walksPer1000: (1000 * sim.walks) / Math.max(1, n),
    memRefsPerWalk: ratio(sim.memRefs, sim.walks),
    pscHitRate: ratio(sim.pscHits, sim.walks),
    pscLevels: plan.info.pscLevels.map((l) => {
      const lookups = sim.pscLookups[l];
      const hits = sim.pscHitsByLevel[PSC_NAME[l]];
      return { cache: LEVEL_NAME[l], level: l, lookups, hits, hitRate: lookups ? hits / lookups : null };
    }),
    memRefsByLevel: Object.fromEntries(sim.refsByLevel.map((r, l) => [LEVEL_NAME[l], r] as const).filter(([k, r]) => k && r > 0)),
    refsServed: Object.fromEntries(cacheNames.map((c, i) => [c, ratio(sim.refsServed[i], sim.memRefs)])),
    cycles: sim.cycles,
    pageMix: mix,
    emulatorAccessesPerSecond: core && core.exec.timedMs > 0 ? core.exec.timedAccesses / (core.exec.timedMs / 1000) : 0,
    mappedBytes: core ? core.cm.built.mappedBytes : { '4k': 0, '2m': 0, '1g': 0 },
    tableFrames: core ? core.cm.built.tableFrames : 0,
    ramBytes: core ? core.cm.ramBytes : 0,
    distinctPages: new Set(stream.vpn).size,
    ...(sim.nested
      ? {
          nested: {
            guestRefsPerWalk: ratio(sim.nested.guestRefs, sim.walks),
            hostRefsPerWalk: ratio(sim.nested.hostRefs, sim.walks),
            hostWalksPerWalk: ratio(sim.nested.hostWalks, sim.walks),
            gpaTlbHitRate: ratio(sim.nested.gpaTlbHits, sim.nested.gpaTlbHits + sim.nested.hostWalks),
            hostPscHitRate: ratio(sim.nested.hostPscHits, sim.nested.hostWalks),
          },
        }
      : {}),
  };
}

/** Largest gap allowed between a requested and a mapped page-size share. */
const MIX_TOLERANCE = 0.1;

/**
 * Where the cell is not what its label says: a sweep (sequential, strided) whose measured run
 * does not cover the footprint it is labelled with, or a page-size mix the touched regions do
 * not map.
 */
function labelWarnings(cfg: MachineConfig, w: WorkloadSpec, footprint: number | null, total: number, leaf: Uint8Array, warmup: number, s: Stream): string[] {
  const out: string[] = [];
  if (footprint !== null && (w.kind === 'sequential' || w.kind === 'strided')) {
    const step = w.kind === 'sequential' ? w.accessBytes : w.stride;
    const covered = Math.min(footprint, step * total);
    if (covered < footprint) {
      const pages = new Set(s.vpn).size;
      out.push(
        `labelled ${formatSize(footprint)} but ${total} accesses of ${step} B touch ${pages} 4 KiB pages (${formatSize(covered)}): one pass over the footprint needs ${Math.ceil(footprint / step)} accesses; raise "accesses" or lower the footprint`,
      );
    }
  }
  const want = cfg.pages;
  const got = { '4k': 0, '2m': 0, '1g': 0 };
  const regions = new Set<number>();
  for (let i = warmup; i < total; i++) {
    got[leaf[i] === 1 ? '4k' : leaf[i] === 2 ? '2m' : '1g']++;
    regions.add(Math.floor(s.vpn[i] / 512));
  }
  const n = total - warmup;
  const off = (['4k', '2m', '1g'] as const).filter((k) => Math.abs(got[k] / n - want[k]) > MIX_TOLERANCE);
  if (n > 0 && off.length) {
    const fmt = (m: { '4k': number; '2m': number; '1g': number }, d: number): string =>
      (['4k', '2m', '1g'] as const)
        .filter((k) => m[k] > 0)
        .map((k) => `${k} ${Math.round((100 * m[k]) / d)}%`)
        .join(', ');
    out.push(
      `pages ${fmt(want, 1)} requested, but the ${regions.size} touched 2 MiB region${regions.size === 1 ? '' : 's'} map ${fmt(got, n)} of the measured accesses`,
    );
  }
  return out;
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

const ZERO_STATS: CpuStats = {
  walks: 0,
  memRefs: 0,
  tlbHits: 0,
  tlbMisses: 0,
  pscHits: 0,
  faults: 0,
  forcedEvictions: 0,
  pscHitsByLevel: { pde: 0, pdpte: 0, pml4e: 0, pml5e: 0 },
};

function emptyResult(head: Pick<CellResult, 'configIndex' | 'workloadIndex' | 'footprint' | 'config' | 'workload'>, skipped: string): CellResult {
  const zero = ZERO_STATS;
  const cycles = { total: 0, tlbHit: 0, stlb: 0, walk: 0, dirty: 0, data: 0 };
  return {
    ...head,
    skipped,
    accesses: 0,
    warmup: 0,
    warnings: [],
    notes: [],
    stats: zero,
    model: {
      accesses: 0,
      l1Hits: 0,
      stlbHits: 0,
      walks: 0,
      dirtyWalks: 0,
      dirtyUpdates: 0,
      memRefs: 0,
      pscHits: 0,
      pscHitsByLevel: { ...zero.pscHitsByLevel },
      pscLookups: [],
      refsByLevel: [],
      refsServed: [],
      dataServed: [],
      contextSwitches: 0,
      asidFlushes: 0,
      cycles,
    },
    l1HitRate: 0,
    stlbHitRate: 0,
    tlbHitRate: 0,
    walksPer1000: 0,
    memRefsPerWalk: 0,
    pscHitRate: 0,
    pscLevels: [],
    memRefsByLevel: {},
    refsServed: {},
    cycles,
    pageMix: { '4k': 0, '2m': 0, '1g': 0 },
    emulatorAccessesPerSecond: 0,
    mappedBytes: { '4k': 0, '2m': 0, '1g': 0 },
    tableFrames: 0,
    ramBytes: 0,
    distinctPages: 0,
  };
}

/**
 * Drives address space 0's stream through the WASM core: batches cut at every event boundary
 * (context switch, flush), events applied between batches.
 */
class Executor {
  timedMs = 0;
  timedAccesses = 0;
  private readonly out: BatchOutput;
  private readonly flushRng: Prng;

  constructor(
    private readonly conf: CostConfig,
    private readonly cfg: MachineConfig,
    private readonly cm: CellMachine,
    private readonly stream: Stream,
    private readonly now: () => number,
  ) {
    this.out = { pa: new BigUint64Array(conf.batch), fault: new Uint32Array(conf.batch) };
    this.flushRng = new Prng(conf.seed ^ 0x5eed);
  }

  /** Runs accesses [from, to); `measured` enables timing. */
  run(from: number, to: number, measured: boolean): void {
    let i = from;
    while (i < to) {
      this.events(i);
      const end = Math.min(to, i + this.conf.batch, nextMultiple(i, this.cfg.contextSwitchEvery), nextMultiple(i, this.cfg.flush.every));
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
    this.cm.cpu.translateBatch(
      this.stream.va.subarray(from, to),
      this.stream.write.subarray(from, to),
      { pa: this.out.pa.subarray(0, n), fault: this.out.fault.subarray(0, n) },
      { cpl: 3 },
    );
    if (measured) {
      this.timedMs += this.now() - t0;
      this.timedAccesses += n;
    }
  }
}

/** The next multiple of `every` strictly after i (Infinity when every is 0). */
function nextMultiple(i: number, every: number): number {
  return every ? (Math.floor(i / every) + 1) * every : Infinity;
}
