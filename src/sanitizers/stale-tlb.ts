/**
 * Stale-TLB sanitizer: a TLB entry must not be used after the kernel considers complete a flush
 * that was required to remove it. Linux relies on this for everything it frees after a flush:
 * `tlb_finish_mmu()` frees the unmapped pages once `flush_tlb_mm_range()` has returned, `vfree()`
 * frees the pages once `flush_tlb_kernel_range()` has returned (mm/memory.c, mm/vmalloc.c,
 * arch/x86/mm/tlb.c). A CPU that still translates through an entry the flush should have removed
 * (the classic lost flush: the CPU missing from `mm_cpumask`, a hypercall that flushed the wrong
 * vCPUs) reads or writes memory that is no longer its own.
 *
 * Two hooks:
 * - `flushBegin(spec)` / `flushEnd(token)` around a flush. At the beginning, every TLB entry the
 *   flush must remove (a page of [start, end) — all pages for FLUSH_ALL — of the flushed address
 *   space, on every CPU using it) is compared with a fresh walk of the tables; the stale ones (the
 *   frame differs, write is granted where the tables deny it, or the page is no longer mapped) are
 *   remembered. At the end, those still in some CPU's TLB, unchanged and still stale, are
 *   *poisoned* on that CPU. Only entries already stale when the flush began count: an entry that
 *   became stale during the flush belongs to another CPU's page-table change, whose own flush is not
 *   complete yet.
 * - the CPU's `accessHook`, installed only while the CPU has a poisoned page (zero cost otherwise):
 *   after a successful access to a poisoned page, a TLB hit (`lastWalkEntries()` empty) that gave
 *   the stale frame while the tables still disagree is the finding. A TLB miss (the page was walked
 *   again) or tables that agree again drop the poison.
 *
 * The report follows KASAN's layout (headline, access line, CPU header, call trace) with the
 * model's `pagewalk:` lines: the CPU, the address, the stale and the current translations, the
 * flush and the call chain where it completed.
 */
import type { TlbEntryInfo } from '../core/cpu.js';
import type { AccessKind, WalkExplanation } from '../core/types.js';
import { cover } from '../util/cover.js';
import type { ModelCpu } from '../modelcpu/cpu.js';
import { FindingStop, type Finding } from './finding.js';
import { hex } from '../loader/hex.js';

/** `end` of a flush of every page of its address space (TLB_FLUSH_ALL). */
export const FLUSH_ALL = -1n;

/** What one flush was required to remove. */
export interface FlushSpec {
  /** Model function that performs the flush, e.g. 'flush_tlb_mm_range'. */
  fn: string;
  /** CPU that runs it. */
  cpu: number;
  /** The user address space flushed (its pgd's physical address), or null for kernel addresses. */
  pgd: number | null;
  /** Name of that address space in reports (e.g. the mm's name); unused for kernel flushes. */
  space: string;
  start: bigint;
  /** End (exclusive), or FLUSH_ALL. */
  end: bigint;
}

/** A translation as the tables give it now. */
export interface Translation {
  pa: bigint;
  writable: boolean;
  /** Instruction fetches denied (NX on the leaf or an upper entry); absent: not known. */
  nx?: boolean;
}

/** What the sanitizer needs to know of the system it watches. */
export interface StaleTlbEnv {
  cpus: readonly ModelCpu[];
  /** First address above user space (TASK_SIZE): lower addresses belong to a user mm. */
  userLimit: bigint;
  /**
   * The kernel's own translation of kernel address `va` (null when unmapped), from the reference
   * kernel tables: a CPU's pgd may lack a kernel entry that the kernel syncs lazily, which does not
   * make the CPU's TLB entry stale. Without it, kernel entries are judged by the CPU's own walk.
   */
  kernelTranslation?(va: bigint): Translation | null;
  /** What frame `pfn` holds now, for the report (e.g. 'free', 'a page table'), if known. */
  frameState?(pfn: number): string;
  /** Report lines for the CPU making the access: task name, CPU header, call trace. */
  describe(cpu: ModelCpu): { task: string; header: string[]; trace: string[] };
  /** Where the report is printed (the kernel log), besides the finding. */
  printk?(lines: string[]): void;
}

/** A stale entry found when a flush began. */
interface StaleAtStart {
  cpu: number;
  entry: TlbEntryInfo;
  tables: string;
}

/** Handle of a flush in progress. */
export interface FlushToken {
  spec: FlushSpec;
  stale: StaleAtStart[];
}

/** A page a CPU may still reach through a TLB entry a completed flush should have removed. */
export interface Poison {
  cpu: number;
  entry: TlbEntryInfo;
  flush: FlushSpec;
  /** What the tables gave when the flush began. */
  tablesAtFlush: string;
  /** Call chain of the flushing CPU when the flush completed, innermost first. */
  chain: string[];
}

/** Counters, for tests and statistics. */
export interface StaleTlbStats {
  /** Flushes seen complete. */
  flushes: number;
  /** ... that had stale entries to remove when they began (the sanitizer's precondition). */
  flushesWithStale: number;
  /** Stale entries found at the beginning of flushes, on CPUs other than the flushing one. */
  remoteStale: number;
  /** Entries that survived a completed flush still stale. */
  poisoned: number;
}

function sameEntry(a: TlbEntryInfo, b: TlbEntryInfo): boolean {
  return (
    a.va === b.va && a.pa === b.pa && a.pageSize === b.pageSize && a.writable === b.writable && a.user === b.user && a.nx === b.nx && a.global === b.global
  );
}

/** "va 0x1000 -> pa 0x2000 (4K, user, writable)". */
export function describeEntry(e: TlbEntryInfo): string {
  const size = e.pageSize >= 2 ** 30 ? '1G' : e.pageSize >= 2 ** 21 ? `${e.pageSize >> 20}M` : '4K';
  return `va ${hex(e.va)} -> pa ${hex(e.pa)} (${size}, ${e.user ? 'user' : 'kernel'}, ${e.writable ? 'writable' : 'read-only'})`;
}

function describeFault(x: WalkExplanation): string {
  const s = x.steps.at(-1);
  if (!s) return 'no translation';
  return `no translation (${s.name} at pa ${hex(s.entryAddress)} = ${hex(s.value)}: ${s.decision})`;
}

/** The sanitizer: one per kernel instance. */
export class StaleTlbSanitizer {
  readonly stats: StaleTlbStats = { flushes: 0, flushesWithStale: 0, remoteStale: 0, poisoned: 0 };
  /** Poisoned pages by CPU index. */
  private readonly poisons: Poison[][] = [];
  private readonly hook = (cpu: ModelCpu, va: bigint, kind: AccessKind, cpl: 0 | 3, pa: bigint): void => this.onAccess(cpu, va, kind, cpl, pa);

  constructor(private readonly env: StaleTlbEnv) {}

  /** The pages poisoned on CPU `cpu` (for tests and reports). */
  poisonsOf(cpu: number): readonly Poison[] {
    return this.poisons[cpu] ?? [];
  }

  /** A flush starts: remembers the stale entries it must remove. */
  flushBegin(spec: FlushSpec): FlushToken {
    const stale: StaleAtStart[] = [];
    for (const cpu of this.env.cpus) {
      if (!this.usesSpace(cpu, spec)) continue;
      for (const e of cpu.hw.tlbEntries()) {
        if (!this.inScope(e, spec)) continue;
        const tables = this.staleness(cpu, e);
        if (tables !== null) stale.push({ cpu: cpu.index, entry: e, tables });
      }
    }
    return { spec, stale };
  }

  /**
   * The flush is complete (as far as the kernel knows): entries stale at its beginning that some
   * CPU still holds, unchanged and still stale, are poisoned. `chain` is the flushing CPU's call
   * chain, innermost first.
   */
  flushEnd(token: FlushToken, chain: readonly string[]): void {
    const { spec, stale } = token;
    this.stats.flushes++;
    if (stale.length === 0) return;
    this.stats.flushesWithStale++;
    cover(`stale-tlb:${spec.fn}:had-stale`);
    const remote = stale.filter((s) => s.cpu !== spec.cpu).length;
    this.stats.remoteStale += remote;
    if (remote > 0) cover(`stale-tlb:${spec.fn}:remote-stale`);
    const now = new Map<number, TlbEntryInfo[]>();
    for (const s of stale) {
      const cpu = this.env.cpus[s.cpu];
      if (!this.usesSpace(cpu, spec)) continue;
      let entries = now.get(s.cpu);
      if (!entries) now.set(s.cpu, (entries = cpu.hw.tlbEntries()));
      if (!entries.some((e) => sameEntry(e, s.entry))) continue;
      if (this.staleness(cpu, s.entry) === null) continue;
      this.poison({ cpu: s.cpu, entry: s.entry, flush: spec, tablesAtFlush: s.tables, chain: [spec.fn, ...chain] });
    }
  }

  /** True when `cpu` translates addresses of the flushed space (kernel space: every CPU). */
  private usesSpace(cpu: ModelCpu, spec: FlushSpec): boolean {
    return spec.pgd === null || (cpu.hw.getControl().cr3 & ~0xfffn) === BigInt(spec.pgd);
  }

  /** The flush must remove `e`: it covers a page of the range, in the flushed space. */
  private inScope(e: TlbEntryInfo, spec: FlushSpec): boolean {
    const user = e.va < this.env.userLimit;
    if (spec.pgd !== null ? !user || e.global : user) return false;
    return spec.end === FLUSH_ALL || (e.va < spec.end && e.va + BigInt(e.pageSize) > spec.start);
  }

  /**
   * Null when the tables give what `e` says; else what they give instead (`detail`: with the walk
   * step that failed, for reports).
   */
  private staleness(cpu: ModelCpu, e: TlbEntryInfo, detail = false): string | null {
    const kt = this.env.kernelTranslation;
    if (kt && e.va >= this.env.userLimit) {
      const t = kt(e.va);
      if (!t) return 'no translation in the kernel page tables';
      if (t.pa !== e.pa || (e.writable && !t.writable)) return `va ${hex(e.va)} -> pa ${hex(t.pa)} (${t.writable ? 'writable' : 'read-only'})`;
      return null;
    }
    const cpl = e.user ? 3 : 0;
    const r = cpu.hw.probe(e.va, { kind: 'read', cpl });
    if (!r.ok) return detail ? describeFault(cpu.hw.explain(e.va, { kind: 'read', cpl, dryRun: true })) : 'no translation';
    const writable = !e.writable || cpu.hw.probe(e.va, { kind: 'write', cpl }).ok;
    if (r.pa === e.pa && writable) return null;
    const w = e.writable ? (writable ? 'writable' : 'read-only') : 'read';
    return `va ${hex(e.va)} -> pa ${hex(r.pa)} (${w})`;
  }

  private poison(p: Poison): void {
    this.stats.poisoned++;
    cover(`stale-tlb:${p.flush.fn}:poisoned`);
    const list = (this.poisons[p.cpu] ??= []);
    const i = list.findIndex((q) => q.entry.va === p.entry.va);
    if (i >= 0) list[i] = p;
    else list.push(p);
    this.env.cpus[p.cpu].accessHook = this.hook;
  }

  private drop(cpu: ModelCpu, list: Poison[], i: number): void {
    list.splice(i, 1);
    if (list.length === 0) cpu.accessHook = null;
  }

  /** After a successful access on a CPU with poisoned pages. */
  private onAccess(cpu: ModelCpu, va0: bigint, kind: AccessKind, cpl: 0 | 3, pa: bigint): void {
    const list = this.poisons[cpu.index];
    if (!list) return;
    const va = BigInt.asUintN(64, va0);
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      const e = p.entry;
      if (va < e.va || va >= e.va + BigInt(e.pageSize)) continue;
      // A walk (TLB miss) or another frame: the stale entry is gone.
      if (cpu.hw.lastWalkEntries().length > 0 || pa - (va - e.va) !== e.pa) return this.drop(cpu, list, i);
      const tables = this.staleness(cpu, e, true);
      if (tables === null) return this.drop(cpu, list, i);
      this.report(cpu, va, kind, cpl, pa, p, tables);
    }
  }

  private report(cpu: ModelCpu, va: bigint, kind: AccessKind, cpl: 0 | 3, pa: bigint, p: Poison, tables: string): never {
    const f = p.flush;
    const where = cpl === 3 ? 'user mode' : (cpu.thread().fnStack.at(-1) ?? 'kernel code');
    const who = this.env.describe(cpu);
    const range = f.end === FLUSH_ALL ? 'TLB_FLUSH_ALL' : `${hex(f.start)}, ${hex(f.end)}`;
    const call = `${f.fn}(${f.pgd === null ? '' : `${f.space}, `}${range})`;
    const lines = [
      '==================================================================',
      `BUG: stale TLB entry used in ${where}`,
      `${kind[0].toUpperCase()}${kind.slice(1)} at addr ${va.toString(16).padStart(16, '0')} by task ${who.task}`,
      ...who.header,
      ...who.trace,
      `pagewalk: CPU ${cpu.index} ${kind} at va ${hex(va)} (${cpl === 3 ? 'user' : 'kernel'}) hit a stale TLB entry and reached pa ${hex(pa)}`,
      `pagewalk:   TLB entry:   ${describeEntry(p.entry)}`,
      `pagewalk:   page tables: ${tables}`,
      ...(this.env.frameState
        ? [`pagewalk:   frame ${hex(p.entry.pa >> 12n)} of the stale entry is ${this.env.frameState(Number(p.entry.pa >> 12n))} now`]
        : []),
      `pagewalk: ${call} on CPU ${f.cpu} had to remove it (the tables gave ${p.tablesAtFlush} when it began); it completed at:`,
      ...p.chain.map((fn) => `  ${fn}`),
      '==================================================================',
    ];
    this.env.printk?.(lines);
    const finding: Finding = { sanitizer: 'stale-tlb', signature: `stale TLB entry used after ${f.fn}() in ${where}`, log: lines };
    throw new FindingStop(finding);
  }
}
