/**
 * Page-table use-after-free sanitizer. A walker — the hardware walk of an access (its entries
 * from `cpu.lastWalkEntries()`), a TLB fill, or a software walker such as GUP-fast — must never
 * read a page-table frame that was freed (or freed and reused) after it obtained the pointer to
 * that frame. The core's frame table bumps a frame's generation on every free
 * (`m.frames.generation(pfn)`), so a walker remembers the generation of each table when it reads
 * the entry pointing to it, and a later read of that table with another generation is a
 * use-after-free. Frees done by the model's page-table freeing paths are recorded with their
 * call chain, so that the report says where the frame was freed.
 *
 * The report is the model's own (lines prefixed `pagewalk:`); the headline follows KASAN's
 * `BUG: KASAN: use-after-free in <function>` so that it reads like a kernel report.
 */
import { FRAME_STATE } from '../core/types.js';
import type { CoreMachine } from '../modelcpu/contract.js';
import type { Finding } from './finding.js';

/** Where and by whom a frame was freed. */
export interface FreeRecord {
  pfn: number;
  /** Generation after the free. */
  generation: number;
  cpu: number;
  /** Call chain at the free, innermost first. */
  chain: string[];
  /** Monotonic event number of the free. */
  seq: number;
}

/** A software walk in progress. */
export class TrackedWalk {
  /** Generation of each table frame at the moment the walker obtained the pointer to it. */
  private readonly expect = new Map<number, number>();
  constructor(
    readonly san: PtUafSanitizer,
    /** Model function name of the walker, e.g. 'gup_pte_range'. */
    public walker: string,
    readonly cpu: number,
    readonly startSeq: number,
    /**
     * What keeps the walked tables from being freed under the walker (GUP-fast: interrupts off,
     * which holds off the flush IPI and the RCU-sched grace period that tlb_remove_table() waits
     * for): null while it holds, else why not. Checked at every entry the walker reads.
     */
    readonly guard: (() => string | null) | null = null,
  ) {}

  /** The walker read a pointer to the table at physical address `tablePa` (or holds the root). */
  link(tablePa: number): void {
    const pfn = Math.floor(tablePa / 4096);
    this.expect.set(pfn, this.san.m.frames.generation(pfn));
  }

  /**
   * The walker reads an entry at `entryPa` of a table it linked before. Returns a finding if
   * the table's frame was freed or reused since it was linked.
   */
  check(entryPa: number, what: string): Finding | null {
    if (this.guard) {
      const why = this.guard();
      if (why) return this.san.unguarded(this.walker, this.cpu, entryPa, what, why);
    }
    const pfn = Math.floor(entryPa / 4096);
    const want = this.expect.get(pfn);
    if (want === undefined) return null;
    const fr = this.san.m.frames;
    const now = fr.generation(pfn);
    if (now === want && fr.state(pfn) !== FRAME_STATE.FREE) return null;
    return this.san.report(this.walker, this.cpu, pfn, entryPa, what, want, now, this.startSeq);
  }
}

/** The sanitizer: one per machine run. */
export class PtUafSanitizer {
  private seq = 0;
  private readonly frees = new Map<number, FreeRecord[]>();
  /** Findings so far (the first stops a run when raised by the caller). */
  readonly findings: Finding[] = [];

  constructor(readonly m: CoreMachine) {}

  /** Records that the model freed page-table frame `pfn` (call right after the free). */
  recordFree(pfn: number, cpu: number, chain: readonly string[]): void {
    const r: FreeRecord = { pfn, generation: this.m.frames.generation(pfn), cpu, chain: [...chain].reverse(), seq: ++this.seq };
    const list = this.frees.get(pfn) ?? [];
    list.push(r);
    this.frees.set(pfn, list);
  }

  /** Starts tracking a software walk by `walker` on `cpu` (protected by `guard`, see TrackedWalk). */
  beginWalk(walker: string, cpu: number, guard: (() => string | null) | null = null): TrackedWalk {
    return new TrackedWalk(this, walker, cpu, ++this.seq, guard);
  }

  /**
   * A lockless walker read a table entry without the protection its walk relies on (lockdep's
   * "suspicious RCU usage", for page tables): the use-after-free may not have happened in this run,
   * the window for it is open.
   */
  unguarded(walker: string, cpu: number, entryPa: number, what: string, why: string): Finding {
    const finding: Finding = {
      sanitizer: 'pt-use-after-free',
      signature: `lockless page-table walk without its protection in ${walker}`,
      log: [
        '=============================',
        'WARNING: suspicious page-table walk usage',
        `pagewalk: ${walker} on CPU ${cpu} reads the ${what} at pa 0x${entryPa.toString(16)} with ${why}: nothing keeps the table from being freed under it`,
        '=============================',
      ],
    };
    this.findings.push(finding);
    return finding;
  }

  /**
   * Checks the entries the hardware walker of `cpu` just read (`lastWalkEntries()`): each must lie
   * in an allocated page-table frame. `linkedGen` optionally gives the generation each table had
   * when its pointer was cached (TLB fill from paging-structure caches).
   */
  checkHardwareWalk(cpu: { index: number; lastWalkEntries(): bigint[] }, walker = 'hardware page walk'): Finding | null {
    const fr = this.m.frames;
    for (const e of cpu.lastWalkEntries()) {
      const pa = Number(e);
      const pfn = Math.floor(pa / 4096);
      if (pfn >= fr.count) continue;
      if (fr.state(pfn) === FRAME_STATE.FREE) return this.report(walker, cpu.index, pfn, pa, 'entry', fr.generation(pfn) - 1, fr.generation(pfn), 0);
    }
    return null;
  }

  /** Builds (and keeps) the finding for a stale read. */
  report(walker: string, cpu: number, pfn: number, entryPa: number, what: string, want: number, now: number, startSeq: number): Finding {
    const fr = this.m.frames;
    const state = fr.state(pfn) === FRAME_STATE.FREE ? 'free' : `reused (level ${fr.level(pfn)})`;
    const free = (this.frees.get(pfn) ?? []).filter((r) => r.generation > want && r.seq > startSeq).at(0) ?? (this.frees.get(pfn) ?? []).at(-1);
    const log = [
      '==================================================================',
      `BUG: KASAN: use-after-free in ${walker}`,
      `pagewalk: page-table use-after-free: ${walker} on CPU ${cpu} read the ${what} at pa 0x${entryPa.toString(16)} in frame 0x${pfn.toString(16)}`,
      `pagewalk: the frame had generation ${want} when the walker reached it and has generation ${now} now (${state})`,
    ];
    if (free) {
      log.push(`pagewalk: frame 0x${pfn.toString(16)} was freed by CPU ${free.cpu} while the walk was in progress:`);
      for (const f of free.chain) log.push(`  ${f}`);
    } else {
      log.push(`pagewalk: frame 0x${pfn.toString(16)} was freed after the walk started (free site not recorded)`);
    }
    log.push('==================================================================');
    const finding: Finding = {
      sanitizer: 'pt-use-after-free',
      signature: `page-table use-after-free in ${walker}${free ? ` (freed in ${free.chain[0] ?? '?'})` : ''}`,
      log,
    };
    this.findings.push(finding);
    return finding;
  }
}
