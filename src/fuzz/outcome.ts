/**
 * Outcome oracles: they judge what a process and the hardware observe, whichever kernel functions
 * ran, so that a missing flush, lock or grace period is caught although no hook inside the
 * function that lost it ever runs (docs/fuzzing.md, "Outcome oracles").
 *
 * - frame-lifetime: every translation a CPU uses for an access (a TLB hit, or a hardware walk,
 *   paging-structure-cache hits included) must reach allocated frames not freed and reallocated
 *   since the translation was cached; a frame being freed must not be mapped by a user TLB entry
 *   some CPU can still use, nor a page table reached by another CPU's CR3 or paging-structure
 *   cache. The check is `FrameLifetime` (src/linux/pt_sanitizers.ts), shared with the scenarios.
 *   Software walkers (GUP-fast) are judged by the page-table use-after-free sanitizer.
 * - tlb-coherence: when any operation of a task returns to user mode, no CPU that can use the
 *   tables without a CR3 load may hold an entry granting more than the tables where its walk reads
 *   an entry the operation stored (`userReturn`: the stores are observed, no list of system
 *   calls); when a system call that changed an address space's tables returns (munmap,
 *   mprotect, fork for the parent, and exit_mmap() for exit), no CPU that can use those tables
 *   without a CR3 load may hold a user TLB entry or paging-structure-cache entry that grants more
 *   than the tables in memory or points elsewhere; when vfree()/vm_unmap_ram() (or the lazy purge
 *   inside them) returns, no CPU may hold such a kernel entry in vmalloc space, except where the
 *   kernel documents the flush as deferred (vmap_flush_pending: lazily freed vmap space) or another
 *   kernel unmap is still in progress; when vm_unmap_aliases() returns, the same holds without
 *   the lazy exemption for what was freed before it began (its documented guarantee), and when
 *   set_memory_nx()/set_memory_x() returns; when Xen gives a frame a page-table type, no vCPU may
 *   hold a writable TLB entry to it, and when Xen changes a frame's type at all, no vCPU may hold a
 *   paging-structure-cache entry pointing to it.
 * - rcu-grace-period: a call_rcu_sched() callback runs only after every CPU was seen quiescent
 *   between two scheduler steps since the call (sampled apart from the model's rcu_sched thread).
 * - process-view: the interpreter's shadow of each address space (interp.ts) says what every user
 *   access must do once the system call that last changed the page returned; `userAccess` is told
 *   the outcome in the very step the hardware decided it (or the kernel decided SIGSEGV).
 *
 * All are on by default; `setOutcomeOracles(false)` switches them off (benchmarks).
 */
import type { TlbEntryInfo } from '../core/cpu.js';
import type { AccessKind } from '../core/types.js';
import type { Kernel } from '../linux/kernel.js';
import type { LinuxCpu } from '../linux/percpu.js';
import { callTrace, cpuHeader } from '../linux/report.js';
import { lookup_translation } from '../linux/stale_tlb.js';
import { lookup_address, readEntry } from '../linux/pgtable.js';
import type { MmStruct, TaskStruct } from '../linux/structs.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { cr3HoldsPgd, FrameLifetime } from '../linux/pt_sanitizers.js';
import { vmap_dirty_off_list, vmap_flush_pending, vmap_flush_pending_snapshot, vmap_unmap_pending } from '../linux/vmap.js';
import { FindingStop } from '../sanitizers/finding.js';
import { xenState } from '../linux/xen/state.js';
import { lastRefusalWhy } from '../linux/xen/pin.js';
import { levelOfType, typeName } from '../xen/page-info.js';
import { describeEntry } from '../sanitizers/stale-tlb.js';
import { cover } from './coverage.js';
import { hex } from '../loader/hex.js';

let enabled = true;

/** Switches the outcome oracles on or off for executions that start afterwards (default on). */
export function setOutcomeOracles(on: boolean): void {
  enabled = on;
}

export function outcomeOraclesEnabled(): boolean {
  return enabled;
}

let coverageKeys = true;

/**
 * Whether the oracles report their preconditions as coverage (default on). Off only to measure
 * their cost: with the keys, a campaign with oracles on drifts to other programs than one without.
 */
export function setOutcomeCoverage(on: boolean): void {
  coverageKeys = on;
}

/** `cover(id)` for an oracle's precondition (the interpreter's process view uses it too). */
export function outcomeCover(id: string): void {
  if (coverageKeys) cover(id);
}

/** A user address range [start, end) that a system call or kernel unmap is changing right now. */
export interface Busy {
  start: bigint;
  end: bigint;
  /** The program changes these entries itself, without a flush (pt_set, pt_clear): never the kernel's to flush. */
  program?: boolean;
}

/** The fuzzer's oracle of each kernel, reused by the executions on it (`OutcomeOracle.of`). */
const perKernel = new WeakMap<Kernel, OutcomeOracle>();

export class OutcomeOracle {
  /**
   * The oracle for an execution on `k`: built once per kernel (its checks, maps and observers are
   * reused; `install()` forgets the previous execution), its step and current CPU read from
   * `sched` (none until the interpreter attaches the execution's scheduler).
   */
  static of(k: Kernel): OutcomeOracle {
    let o = perKernel.get(k);
    if (!o) {
      const x: OutcomeOracle = new OutcomeOracle(
        k,
        () => x.sched?.steps ?? 0,
        () => x.sched?.currentCpu ?? -1,
      );
      perKernel.set(k, (o = x));
    }
    o.sched = null;
    return o;
  }

  /** The scheduler of the execution being judged (`attach`). */
  private sched: Pick<Scheduler, 'steps' | 'currentCpu' | 'afterStep'> | null = null;
  /** The frame-lifetime check (src/linux/pt_sanitizers.ts), shared with the scenarios. */
  readonly life: FrameLifetime;
  /** Kernel ranges being unmapped by an operation in progress (their flush is not due yet). */
  readonly kernelBusy: Busy[] = [];
  /** RCU-sched callbacks queued and not invoked yet: where, when, and the number of samples taken before. */
  private readonly rcu = new Map<object, { step: number; cpu: number; at: number }>();
  /** Samples of the CPUs taken while callbacks waited (`sampleRcu`), and per CPU the last one that saw it quiescent. */
  private samples = 0;
  private readonly quiescentAt: number[];
  /** `samples` when the newest waiting callback was queued. */
  private newestAt = 0;
  /** Per task: the page-table entries (physical addresses) stored while its current operation runs. */
  private readonly ops = new Map<TaskStruct, OpWrites>();
  private readonly onPtWrite = (pa: number): void => this.ptWritten(pa);
  private readonly onPteStore = (cpu: LinuxCpu, mm: MmStruct, addr: bigint, what: string, deferred: boolean): void =>
    this.pteStored(cpu, mm, addr, what, deferred);
  private readonly onPteBatch = (cpu: LinuxCpu): void => this.pteBatchIssued(cpu);
  /** Per CPU: the user pte stores queued in its batch (Xen PV lazy MMU mode), with the task that queued each. */
  private readonly queuedPtes: { mm: MmStruct; addr: bigint; what: string; task: TaskStruct }[][];
  /** Per CPU: what the lazy vmap layer owed when that CPU's vm_unmap_aliases() began. */
  private readonly aliasesFrom: (((va: bigint) => boolean) | null)[];

  constructor(
    readonly k: Kernel,
    private readonly step: () => number,
    private readonly currentCpu: () => number,
  ) {
    this.life = new FrameLifetime(k, {
      step,
      currentCpu,
      // A kernel TLB entry to a frame being freed: the lazy vmap purge defers that flush (a
      // vm_unmap_ram() caller frees its pages at once), and entries the program changed are its own.
      kernelExempt: (va) => vmap_flush_pending(k, va) || this.kernelBusyAt(va, true),
    });
    this.aliasesFrom = k.cpus.map(() => null);
    this.queuedPtes = k.cpus.map(() => []);
    this.quiescentAt = k.cpus.map(() => 0);
  }

  /**
   * The page-table lock (`pte-lock`, `Kernel.observers.pteStore`): every store into a user pte
   * that names its mm — `set_pte_at()`, `pte_clear()`, `ptep_modify_prot_commit()` of
   * pv_mmu_ops, in every backend — is made by the task holding that mm's page-table lock (the
   * model's `mm->page_table_lock` stands for the split pte lock: `pte_offset_map_lock()`), as in
   * every path of mm/memory.c, mm/mprotect.c, mm/mremap.c and fork's copy_pte_range(). A store
   * without it races with the fault path's recheck under the lock, whether or not a race happens
   * in this run. init_mm's entries (vmalloc, cpa) have no such lock. A store queued in a Xen PV
   * batch (lazy MMU mode) takes effect when the batch is issued: the task that queued it must
   * still hold the lock then (arch_leave_lazy_mmu_mode() before pte_unmap_unlock(), in every one
   * of those paths); an interrupt on that CPU may issue the batch, the task still holding it.
   */
  private pteStored(cpu: LinuxCpu, mm: MmStruct, addr: bigint, what: string, deferred: boolean): void {
    if (mm === this.k.init_mm) return;
    const l = mm.page_table_lock;
    if (l.owner !== cpu.index || l.holder !== cpu.curr) this.pteLockFinding(cpu, mm, addr, what, cpu.curr);
    if (deferred) this.queuedPtes[cpu.index].push({ mm, addr, what, task: cpu.curr });
  }

  private pteBatchIssued(cpu: LinuxCpu): void {
    const queued = this.queuedPtes[cpu.index];
    if (queued.length === 0) return;
    for (const q of queued) {
      const l = q.mm.page_table_lock;
      if (l.owner !== cpu.index || l.holder !== q.task)
        this.pteLockFinding(cpu, q.mm, q.addr, `${q.what} (queued by ${q.task.comm}) issued by xen_mc_flush`, q.task);
    }
    queued.length = 0;
  }

  private pteLockFinding(cpu: LinuxCpu, mm: MmStruct, addr: bigint, what: string, task: TaskStruct): never {
    const l = mm.page_table_lock;
    const s = cpu.curr.fnStack;
    const fn = s.length > 0 ? s[s.length - 1] : what;
    const holder =
      l.owner < 0 ? 'nobody holds it' : `CPU${l.owner} holds it${l.holder === task ? '' : ` (task ${(l.holder as TaskStruct | null)?.comm ?? '?'})`}`;
    const lines = [
      '==================================================================',
      `BUG: pte of ${mm.name} at ${hex(addr)} changed without its page-table lock in ${fn}`,
      `pagewalk: CPU${cpu.index} ${what}() on ${mm.name} at step ${this.step()}; ${l.name}: ${holder}`,
      ...cpuHeader(this.k.config, cpu),
      ...callTrace(cpu),
      '==================================================================',
    ];
    this.k.printk(...lines);
    throw new FindingStop({ sanitizer: 'pte-lock', signature: `pte changed without the page-table lock in ${fn}`, log: lines });
  }

  /** Whether kernel address `va` lies in a range in `kernelBusy` (with `programOnly`, one the program itself changes). */
  private kernelBusyAt(va: bigint, programOnly = false): boolean {
    return this.kernelBusy.some((b) => (!programOnly || b.program === true) && va >= b.start && va < b.end);
  }

  /** Called after the frame-lifetime check of every successful user-mode access (process view). */
  set onUser(f: ((cpu: LinuxCpu, va: bigint, kind: AccessKind, pa: bigint) => void) | null) {
    this.life.onUser = f;
  }

  /** Judges the execution `s` runs (its steps, its current CPU; RCU samples between its steps). */
  attach(s: Pick<Scheduler, 'steps' | 'currentCpu' | 'afterStep'>): void {
    this.sched = s;
    s.afterStep = this.rcu.size > 0 ? this.sample : null;
  }

  private readonly onTypeChange = (mfn: number, type: bigint): void => this.xenTypeChange(mfn, type);
  private readonly sample = (): void => this.sampleRcu();

  /** Installs the frame-lifetime check on every CPU, the page-table store observers and the Xen type-change observer, with nothing remembered. */
  install(): void {
    this.life.reset();
    this.kernelBusy.length = 0;
    this.rcu.clear();
    this.samples = 0;
    this.newestAt = 0;
    this.quiescentAt.fill(0);
    this.aliasesFrom.fill(null);
    for (const q of this.queuedPtes) q.length = 0;
    this.life.install();
    this.ops.clear();
    this.k.observers.ptWrite = this.onPtWrite;
    this.k.observers.pteStore = this.onPteStore;
    this.k.observers.pteBatchIssued = this.onPteBatch;
    if (this.k.config.paravirt === 'xen-pv') {
      const xm = xenState(this.k).xen.mm;
      xm.onTypeChange = this.onTypeChange;
      xm.onEntryWrite = this.onPtWrite;
    }
  }

  /** Stops observing (the machine is reused by the next execution). */
  uninstall(): void {
    this.life.uninstall();
    this.k.observers.ptWrite = undefined;
    this.k.observers.pteStore = undefined;
    this.k.observers.pteBatchIssued = undefined;
    if (this.k.config.paravirt === 'xen-pv') {
      const xm = xenState(this.k).xen.mm;
      xm.onTypeChange = null;
      xm.onEntryWrite = null;
    }
  }

  /** "the page-table entry now in memory" lines for `va` as `cpu` would walk it. */
  pteNow(cpu: LinuxCpu, va: bigint, cpl: 0 | 3): string[] {
    return this.life.pteNow(cpu, va, cpl);
  }

  // ---- TLB coherence at the boundary ---------------------------------------------------------

  /**
   * A system call that changed `mm`'s page tables returned (`what`, e.g. 'munmap'): CPUs that may
   * use those tables without loading CR3 must hold no user entry granting more than the tables.
   * A lazy-TLB CPU that left mm_cpumask (leave_mm) is exempt: switch_mm() reloads CR3 before it
   * runs this mm again (arch/x86/include/asm/mmu_context.h).
   */
  checkUser(cpu: LinuxCpu, mm: MmStruct, what: string): void {
    const limit = this.k.L.TASK_SIZE;
    for (const c of this.k.cpus) {
      if (!this.usesTables(c, mm)) continue;
      // The core counts the user entries and the stale ones among them; only a CPU holding a stale
      // one is looked at entry by entry (the pages it filled: a TLB entry exists only where a walk
      // filled it), for the report.
      const scan = c.hw.userTlbScan(limit);
      if (scan & 0xffff) this.staleUserTlb(cpu, c, `${what}()`, mm.name);
      // The oracle's precondition as coverage: a CPU that could hold a stale entry holds entries.
      if (scan >= 0x1_0000) outcomeCover(`outcome:${what}:${c === cpu ? 'local' : 'remote'}-entries`);
      if (c.hw.staleUserPscCount(limit) === 0) continue;
      for (const p of c.hw.pscEntries({ below: limit })) {
        const why = this.pscStaleness(c, p.level, p.va, p.next, p.writable, p.user, p.nx);
        if (why)
          this.coherenceFinding(
            cpu,
            c,
            `${what}()`,
            mm.name,
            `paging-structure-cache entry (level ${p.level}) for va ${hex(p.va)} -> table ${hex(p.next)} (${p.writable ? 'writable' : 'read-only'}, ${p.user ? 'user' : 'supervisor'})`,
            why,
          );
      }
    }
  }

  /**
   * A user page fault of `mm` at `address` returns: the fault handler may have changed that page's
   * pte (do_wp_page() moves it to a copy), so no CPU that can use `mm`'s tables may hold an entry
   * for the page granting more than the pte or pointing elsewhere — unless a pte update is in
   * flight on another CPU (`mm->page_table_lock` held).
   */
  checkUserPage(cpu: LinuxCpu, mm: MmStruct, address: bigint): void {
    if (mm.page_table_lock.owner >= 0) return;
    const page = address & ~0xfffn;
    for (const c of this.k.cpus) {
      if (!this.usesTables(c, mm)) continue;
      for (const e of c.hw.tlbEntriesFor(page)) {
        if (e.va !== page || e.global || !e.user) continue;
        if (c !== cpu) outcomeCover('outcome:fault:remote-entry');
        const why = this.userStaleness(c, e);
        if (why) this.coherenceFinding(cpu, c, 'page fault()', mm.name, `TLB entry ${describeEntry(e)}${e.nx ? '' : ', executable'}`, why);
      }
    }
  }

  /**
   * Task `t` enters the kernel for an operation (a system call, or the user access whose page
   * faults it takes): from now until `userReturn`, every page-table store made on its CPU while it
   * is current (its interrupt handlers' included) is recorded.
   */
  opStart(t: TaskStruct): void {
    let r = this.ops.get(t);
    if (!r) this.ops.set(t, (r = { w: new Map(), live: true }));
    if (r.w.size > 0) r.w.clear(); // (clear() allocates a new table even when empty)
    r.live = true;
  }

  /**
   * A store to the page-table entry at `pa` is about to be made (the kernel's writeEntry() or
   * native_set_pte(), or Xen's update of a validated table). Only an entry present now can have
   * been cached: filling an empty one makes no translation stale (x86 caches no non-present entry).
   */
  private ptWritten(pa: number): void {
    const i = this.currentCpu();
    if (i < 0) return;
    const r = this.ops.get(this.k.cpus[i].curr);
    if (!r?.live) return;
    const gen = this.k.m.frames.generation(Math.floor(pa / 4096));
    if (r.w.get(pa) === gen) return;
    if (!(this.k.m.phys.read32n(pa) & 1)) return; // _PAGE_PRESENT: bit 0 of the entry's low word, whatever its width
    r.w.set(pa, gen);
  }

  /**
   * Whether `r` stored the entry at `pa` of the table frame as it is now: a store into an earlier
   * life of the frame (freed and reallocated since; a pgd torn down under the operation, its frame
   * now another mm's pte table) says nothing about the translations the new table gives.
   */
  private stored(r: OpWrites, pa: number): boolean {
    const gen = r.w.get(pa);
    return gen !== undefined && gen === this.k.m.frames.generation(Math.floor(pa / 4096));
  }

  /**
   * Task `t`'s operation `op` (named `name(op)` in a report) returns to user mode on `cpu`:
   * whatever it was, the page-table entries it stored are flushed wherever they are used. No CPU
   * that can use the tables without a CR3 load may hold a user TLB entry, or a
   * paging-structure-cache entry, that grants more than the tables or points elsewhere if the walk
   * of its address now reads an entry this operation stored — unless another operation still in
   * flight stored it too (its flush is not due yet). No list of system calls: madvise(), a
   * truncation or a device release zapping other processes' ptes, a /proc/self/mem write's
   * copy-on-write, a fault's, are judged alike. Work: nothing when the operation stored no entry;
   * else, for each CPU whose walks read one of the tables stored into (or whose CR3 is one), the
   * core's count of its stale user entries (assembly/coherence.ts), and entry by entry only where
   * that count is not zero (the paging-structure caches only when an upper-level entry was stored).
   */
  userReturn<Op extends string>(cpu: LinuxCpu, t: TaskStruct, op: Op, name: (op: Op) => string): void {
    const r = this.ops.get(t);
    if (!r?.live) return;
    r.live = false;
    if (r.w.size === 0) return;
    // The tables stored into, and whether one is above the pte level.
    const frames: number[] = [];
    let upper = false;
    for (const [pa, gen] of r.w) {
      const f = Math.floor(pa / 4096);
      if (frames.includes(f) || this.k.m.frames.generation(f) !== gen) continue;
      frames.push(f);
      upper ||= this.k.m.frames.level(f) > 1;
    }
    if (frames.length === 0) return;
    const limit = this.k.L.TASK_SIZE;
    for (const c of this.k.cpus) {
      const mm = c.tlbActiveMm ?? c.curr.active_mm;
      if (!mm || !this.usesTables(c, mm)) continue;
      // A cached translation derives from tables the CPU's walks read: its root, or one reached below it.
      const root = c.hw.cr3Frame();
      let reads = false;
      for (let i = 0; i < frames.length && !reads; i++) reads = frames[i] === root || this.life.reachedAsTable(c.index, frames[i]);
      if (!reads) continue;
      // Entry by entry only where the core counted a stale user entry (the usual answer is none).
      if (c.hw.userTlbScan(limit) & 0xffff) {
        const cr3 = c.hw.getCr3();
        this.staleUserTlb(cpu, c, name(op), mm.name, (page) => this.storedBy(r, cr3, c.hw.mode, page, 1));
      }
      if (!upper || c.hw.staleUserPscCount(limit) === 0) continue;
      const cr3 = c.hw.getCr3();
      for (const p of c.hw.pscEntries({ below: limit })) {
        if (!this.storedBy(r, cr3, c.hw.mode, p.va, p.level)) continue;
        const why = this.pscStaleness(c, p.level, p.va, p.next, p.writable, p.user, p.nx);
        if (why)
          this.coherenceFinding(cpu, c, name(op), mm.name, `paging-structure-cache entry (level ${p.level}) for va ${hex(p.va)} -> table ${hex(p.next)}`, why);
      }
    }
  }

  /**
   * Reports the first user TLB entry of CPU `c` (at a page it filled, a 4 KiB page or a large
   * page's first, and one `judged` accepts) that grants more than the tables or points elsewhere:
   * the entry-by-entry check behind the core's count (`Cpu.userTlbScan`), at `what`'s return.
   */
  private staleUserTlb(cpu: LinuxCpu, c: LinuxCpu, what: string, space: string, judged?: (page: bigint) => boolean): void {
    for (const page of this.life.filledPages(c.index, true)) {
      for (const e of c.hw.tlbEntriesFor(page)) {
        if (e.va !== page || e.global || !e.user || (judged && !judged(page))) continue;
        const why = this.userStaleness(c, e);
        if (why) this.coherenceFinding(cpu, c, what, space, `TLB entry ${describeEntry(e)}${e.nx ? '' : ', executable'}`, why);
      }
    }
  }

  /** Whether the walk of `va` from `cr3` down to level `level` reads an entry `r` stored and no other operation in flight did. */
  private storedBy(r: OpWrites, cr3: bigint, mode: string, va: bigint, level: number): boolean {
    const path: number[] = [];
    walkTables(this.k, cr3, mode, va, level, path);
    if (!path.some((pa) => this.stored(r, pa))) return false;
    for (const o of this.ops.values()) if (o !== r && o.live && path.some((pa) => this.stored(o, pa))) return false;
    return true;
  }

  /**
   * True when CPU `c` can use `mm`'s tables without loading CR3: CR3 holds its pgd and the kernel
   * has it running on `mm` (cpu_tlbstate.active_mm; a CPU that switch_mm() moved to another mm
   * whose CR3 load is still queued, as a Xen PV vCPU in lazy CPU mode, will load CR3 first), and it
   * is not a lazy CPU that left mm_cpumask (switch_mm() reloads CR3 for it).
   */
  private usesTables(c: LinuxCpu, mm: MmStruct): boolean {
    // (the CR3 comparison, BigInt, last)
    if (this.k.config.smp && c.tlbActiveMm !== mm) return false;
    if (c.tlbState === 'lazy' && !(mm.cpumask & (1 << c.index))) return false;
    return cr3HoldsPgd(c, mm);
  }

  /** Why user TLB entry `e` of CPU `c` grants more than the tables (null: it does not). */
  private userStaleness(c: LinuxCpu, e: TlbEntryInfo): string | null {
    const r = c.hw.probe(e.va, { kind: 'read', cpl: 3 });
    if (!r.ok) return 'the page tables map nothing there';
    if (r.pa !== e.pa) return `the page tables map it to pa ${hex(r.pa)}`;
    if (e.writable && !c.hw.probe(e.va, { kind: 'write', cpl: 3 }).ok) return 'the page tables deny writes';
    if (!e.nx && !c.hw.probe(e.va, { kind: 'exec', cpl: 3 }).ok) return 'the page tables deny instruction fetches';
    return null;
  }

  /** Why a paging-structure-cache entry grants more than (or points elsewhere than) the tables. */
  private pscStaleness(c: LinuxCpu, level: number, va: bigint, next: bigint, w: boolean, u: boolean, nx: boolean): string | null {
    const t = walkToLevel(this.k, c, va, level);
    if (!t) return 'the page tables have no such entry now';
    if (t.next !== next) return `the entry in memory points to table ${hex(t.next)}`;
    if ((w && !t.rw) || (u && !t.us) || (!nx && t.nx)) return 'the entries in memory grant less';
    return null;
  }

  /**
   * A kernel unmap returned (`what`: vfree, vm_unmap_ram...): every CPU's kernel entries in vmalloc
   * space must agree with init_mm, except where the flush is documented as deferred (lazy vmap
   * purge) or another unmap is still in progress.
   */
  checkKernel(cpu: LinuxCpu, what: string, deferred: (va: bigint) => boolean = (va) => vmap_flush_pending(this.k, va)): void {
    const L = this.k.L;
    for (const c of this.k.cpus) {
      // Only pages this CPU filled can be in its TLB (vmalloc space is mapped with 4 KiB pages).
      for (const va of this.life.filledPages(c.index, false)) {
        for (const e of c.hw.tlbEntriesFor(va)) {
          if ((e.va & L.VA_MASK) !== va) continue;
          if (this.kernelBusyAt(va) || deferred(va)) continue;
          const t = lookup_translation(this.k, va);
          let why: string | null = null;
          if (!t) why = 'init_mm maps nothing there';
          else if (t.pa !== e.pa) why = `init_mm maps it to pa ${hex(t.pa)}`;
          else if (e.writable && !t.writable) why = 'init_mm denies writes';
          else if (!e.nx && t.nx) why = 'init_mm denies instruction fetches';
          if (why) this.coherenceFinding(cpu, c, `${what}()`, 'init_mm', `TLB entry ${describeEntry(e)}`, why);
        }
      }
    }
  }

  /**
   * A kernel unmap of [start, end) returned (`what`: vfree, vm_unmap_ram, percpu_free): init_mm
   * maps none of it any more. vunmap_page_range() clears the ptes before the call returns; only
   * the TLB flush may be deferred, except on kernels before the eager clearing (2.6.37), whose
   * lazy purge unmaps a lazily freed vmap region later (vmap_unmap_pending). Ranges another
   * operation is changing are not judged. A pte left behind maps, for every CPU, a frame the kernel
   * freed: a walk or a speculative fetch through it reaches the frame's next owner (and Linux's
   * vmap_pte_range() WARNs when it finds a present pte where it maps the address again).
   */
  checkKernelUnmapped(cpu: LinuxCpu, what: string, start: bigint, end: bigint): void {
    const k = this.k;
    const fr = k.m.frames;
    for (let va = start; va < end; va += 4096n) {
      const t = lookup_translation(k, va);
      if (!t || this.kernelBusyAt(va) || vmap_unmap_pending(k, va)) continue;
      const pfn = Number(t.pa >> 12n);
      const [state, sig] =
        pfn >= fr.count
          ? ['outside RAM', 'a frame outside RAM']
          : fr.isFree(pfn)
            ? ['free', 'a free frame']
            : this.life.freedSinceReset(pfn)
              ? ['allocated again', 'a reallocated frame']
              : ['allocated', 'an allocated frame'];
      const at = lookup_address(k, va);
      const lines = [
        '==================================================================',
        `BUG: kernel mapping left behind: ${what}() returned and init_mm still maps ${hex(va)} -> pa ${hex(t.pa)} (${t.writable ? 'writable' : 'read-only'}); pfn ${hex(pfn)} is ${state}`,
        ...(at ? [`pagewalk:   ${at.level === 1 ? 'pte' : `level-${at.level} entry`} at pa ${hex(at.ptr)} = ${hex(readEntry(k, at.ptr))}`] : []),
        ...(pfn < fr.count ? this.life.describeFree(pfn) : []),
        `pagewalk: ${what}() of [${hex(start)}, ${hex(end)}) returned on CPU${cpu.index} at step ${this.step()}:`,
        ...cpuHeader(k.config, cpu),
        ...callTrace(cpu),
        '==================================================================',
      ];
      k.printk(...lines);
      throw new FindingStop({ sanitizer: 'frame-lifetime', signature: `kernel pte left mapping ${sig} after ${what}()`, log: lines });
    }
  }

  /**
   * Xen PV: Xen refused an update the guest kernel issued itself (`what`) and the kernel went on
   * (`after`: xen_mc_flush()'s WARN for a batch, nothing for a direct update whose return value it
   * ignores). A correct guest never issues an update Xen refuses — a pin of a frame it still maps
   * writable, an unpin of a table in use, an entry Xen's validation rejects — so the kernel's
   * page-table protocol broke before it (the interpreter does not ask when the program itself
   * changed entries or frames behind the kernel's back).
   */
  xenRefusedUpdate(cpu: LinuxCpu, what: string, after: string, log: string[]): never {
    const refusal = xenState(this.k).xen.refusals.at(-1);
    const why = lastRefusalWhy(this.k);
    const head = [
      '==================================================================',
      `BUG: Xen refused ${what} on CPU${cpu.index} at step ${this.step()}, and the kernel went on (${after})`,
      ...(refusal ? refusal.log : []),
    ];
    this.k.printk(...head, '==================================================================');
    throw new FindingStop({
      sanitizer: 'xen-refusal',
      signature: `Xen refused ${what}${why ? `: ${why}` : ''} -> ${after}`,
      log: [...head, ...log, '=================================================================='],
    });
  }

  /**
   * vm_unmap_aliases() starts (`done` false) or returns: "After it returns, we can be sure that
   * none of the pages we have control over will have any aliases from the vmap layer"
   * (mm/vmalloc.c), so every flush the lazy vmap layer deferred before the call is due. Exempt:
   * what was freed during the call (another CPU's vm_unmap_ram() after the loop passed), and the
   * dirty regions of blocks off the per-CPU free lists, which the function's loop never visits.
   */
  unmapAliases(cpu: LinuxCpu, done: boolean): void {
    if (!done) {
      this.aliasesFrom[cpu.index] = vmap_flush_pending_snapshot(this.k);
      return;
    }
    const before = this.aliasesFrom[cpu.index];
    this.aliasesFrom[cpu.index] = null;
    this.checkKernel(cpu, 'vm_unmap_aliases', (va) => vmap_dirty_off_list(this.k, va) || (vmap_flush_pending(this.k, va) && !before?.(va)));
  }

  /**
   * Xen gave frame `mfn` a new type (__get_page_type(): "On type change we check to flush stale
   * TLB entries"). Once it is a page table, no vCPU may hold a writable translation of it: the
   * guest could write a validated table behind Xen's back — the PV safety property, for TLBs
   * (xen-pv-escalation checks it for the entries in memory). A correct guest drops its writable
   * mappings first (type count 0), but may still cache them: a lazily flushed vmap alias of a page
   * freed and reused as a page table, whose flush Xen owes on the type change.
   */
  xenTypeChange(mfn: number, type: bigint): void {
    this.xenRetypedTable(mfn, type);
    const level = levelOfType(type);
    if (level < 1 || level > 4) return;
    const base = BigInt(mfn) << 12n;
    // The TLB entries that can map the frame are those of pages whose fill reached it (a PV guest
    // maps its memory with 4 KiB pages).
    const users = this.life.fillersOf(mfn);
    if (!users) return;
    for (let i = 0; i < users.length; i += 2) {
      const c = this.k.cpus[users[i] as number];
      const page = users[i + 1] as bigint;
      if (this.life.fillOf(c.index, page)?.pfn !== mfn) continue;
      for (const e of c.hw.tlbEntriesFor(page)) {
        if (!e.writable || base < e.pa || base >= e.pa + BigInt(e.pageSize)) continue;
        const cpu = this.k.cpus[Math.max(0, this.currentCpu())];
        this.coherenceFinding(
          cpu,
          c,
          "Xen's page-table type change",
          'the domain',
          `TLB entry ${describeEntry(e)}`,
          `the frame is a validated L${level} page table now: the entry lets the guest write it`,
          `Xen gave mfn ${hex(mfn)} the type of an L${level} page table`,
        );
      }
    }
  }

  /**
   * The other half of the PV safety property for TLBs: Xen changed frame `mfn`'s type, so it is no
   * longer the table it was (its type count was zero: no entry in memory links it as one). No vCPU
   * may still hold a paging-structure-cache entry pointing to it: the next walk through that entry
   * would read the frame as its old table while the guest may write it (the new type is writable)
   * or Xen validated it as another level. Xen's type-change flush owes exactly this
   * (`tlbflush_filter()` on the time the frame was last used as a table,
   * `__put_final_page_type()`'s stamp); a correct guest also flushes, but only after it released
   * the table (`pte_free_tlb()` makes it writable before the gather's flush).
   */
  private xenRetypedTable(mfn: number, type: bigint): void {
    for (const c of this.k.cpus) {
      // A cached entry can point to the frame only if a walk of that CPU read it as a table.
      if (!this.life.reachedAsTable(c.index, mfn)) continue;
      for (const p of c.hw.pscEntries({ table: mfn })) {
        const cpu = this.k.cpus[Math.max(0, this.currentCpu())];
        this.coherenceFinding(
          cpu,
          c,
          "Xen's type change",
          'the domain',
          `paging-structure-cache entry (level ${p.level}) for va ${hex(p.va)} -> table ${hex(p.next)}`,
          `the frame is no longer that table: its type is ${typeName(type)} now, and the next walk through the entry reads what the guest may write there`,
          `Xen gave mfn ${hex(mfn)} the type ${typeName(type)}`,
        );
      }
    }
  }

  /**
   * Reports CPU `holder`'s stale `entry` found at a boundary: `what` names it in the signature
   * ('munmap()'), `when` in the report ('munmap() returned').
   */
  private coherenceFinding(cpu: LinuxCpu, holder: LinuxCpu, what: string, space: string, entry: string, why: string, when = `${what} returned`): never {
    const lines = [
      '==================================================================',
      `BUG: TLB incoherent after ${when}: CPU${holder.index} holds a translation of ${space} that ${why.startsWith('the page tables map it') || why.startsWith('init_mm maps it') || why.startsWith('the entry in memory points') ? 'points elsewhere' : 'grants more than the page tables'}`,
      `pagewalk: ${entry}`,
      `pagewalk:   ${why}`,
      `pagewalk: CPU${holder.index} runs ${holder.curr.comm}/${holder.curr.pid} with CR3 ${hex(holder.hw.getControl().cr3)} (cpu_tlbstate ${holder.tlbState}); ${when} on CPU${cpu.index} at step ${this.step()}:`,
      ...cpuHeader(this.k.config, cpu),
      ...callTrace(cpu),
      '==================================================================',
    ];
    this.k.printk(...lines);
    const kind = entry.startsWith('paging') ? 'paging-structure-cache entry' : 'TLB entry';
    throw new FindingStop({
      sanitizer: 'tlb-coherence',
      signature: `stale ${kind} ${holder === cpu ? 'on the calling CPU' : 'on another CPU'} after ${what}`,
      log: lines,
    });
  }

  // ---- RCU grace periods -------------------------------------------------------------------

  /**
   * call_rcu_sched() queued callback `token` on `cpu`: every CPU owes a quiescent state before it
   * may run (Documentation/RCU/whatisRCU.txt). Judged independently of the model's own grace-period
   * detection: the CPUs are sampled between every two scheduler steps (`sampleRcu`).
   */
  rcuQueued(cpu: LinuxCpu, token: object): void {
    this.rcu.set(token, { step: this.step(), cpu: cpu.index, at: this.samples }); // owed: every CPU not seen quiescent by a later sample
    this.newestAt = this.samples;
    // Sampled between steps while a callback waits for a CPU not seen quiescent since it was queued.
    if (this.sched) this.sched.afterStep = this.sample;
  }

  /**
   * Between steps: a CPU with IRQs on, preempt_count 0 and no interrupt frame is quiescent for
   * RCU-sched. Once every CPU was seen so after the newest callback was queued, later samples can
   * change no verdict: sampling stops until the next call_rcu_sched().
   */
  sampleRcu(): void {
    if (this.rcu.size === 0) return;
    const n = ++this.samples;
    const cpus = this.k.cpus;
    let owing = false;
    for (let i = 0; i < cpus.length; i++) {
      if (cpus[i].IF && cpus[i].preemptCount === 0 && cpus[i].frames.length === 0) this.quiescentAt[i] = n;
      else if (this.quiescentAt[i] <= this.newestAt) owing = true;
    }
    if (!owing && this.sched) this.sched.afterStep = null;
  }

  /** The rcu_sched thread on `cpu` is about to invoke callback `token` (`name`): its grace period must be over. */
  rcuInvoke(cpu: LinuxCpu, token: object, name: string): void {
    this.sampleRcu();
    const g = this.rcu.get(token);
    this.rcu.delete(token);
    if (this.rcu.size === 0 && this.sched) this.sched.afterStep = null;
    if (!g) return;
    const late = this.k.cpus.find((_, i) => this.quiescentAt[i] <= g.at); // the lowest CPU still owing
    if (!late) return;
    const lines = [
      '==================================================================',
      `BUG: RCU-sched callback ${name}() invoked before CPU${late.index} passed a quiescent state`,
      `pagewalk: call_rcu_sched() on CPU${g.cpu} at step ${g.step}; since then CPU${late.index} was never seen with IRQs on, preempt_count 0 and no interrupt frame (now: IRQs ${late.IF ? 'on' : 'off'}, preempt_count ${late.preemptCount}, ${late.frames.length} interrupt frame(s), running ${late.curr.comm}/${late.curr.pid})`,
      ...callTrace(late).map((l) => `pagewalk:   ${l}`),
      `pagewalk: invoked by the rcu_sched thread at step ${this.step()}:`,
      ...cpuHeader(this.k.config, cpu),
      ...callTrace(cpu),
      '==================================================================',
    ];
    this.k.printk(...lines);
    throw new FindingStop({ sanitizer: 'rcu-grace-period', signature: `RCU-sched callback ${name} invoked before a grace period`, log: lines });
  }

  // ---- process view ------------------------------------------------------------------------

  /**
   * Copy-on-write isolation at a write: the frame `pfn` written by `writer` must not be mapped by
   * another live address space's page tables at an address where that process last saw it
   * (`seen`): that process would read the writer's data. Returns the first such (mm, va).
   */
  sharedWith(writer: MmStruct, pfn: number, seen: readonly { mm: MmStruct; va: bigint }[], cover = true): { mm: MmStruct; va: bigint } | null {
    for (const x of seen) {
      if (x.mm === writer || x.mm.mm_users <= 0 || x.mm.freed) continue;
      if (cover) outcomeCover('outcome:cow:frame-seen-by-live-process');
      const t = walkTables(this.k, BigInt(x.mm.pgd), this.k.L.paging, x.va, 1);
      if (t && Number(t.next >> 12n) === pfn) return x;
    }
    return null;
  }

  /** Reports a user access whose outcome differs from the promise. */
  processFinding(cpu: LinuxCpu, va: bigint, kind: AccessKind, expected: string, observed: string, sig: string, extra: string[], observedOk: boolean): never {
    const lines = [
      '==================================================================',
      `BUG: ${sig}`,
      `pagewalk: CPU${cpu.index} task ${cpu.curr.comm}/${cpu.curr.pid} user ${kind} at va ${hex(va)} at step ${this.step()}`,
      `pagewalk:   expected: ${expected}`,
      `pagewalk:   observed: ${observed}`,
      ...(observedOk ? [`pagewalk:   translation used: ${this.life.translationUsed(cpu, va)}`] : []),
      ...this.pteNow(cpu, va, 3),
      ...extra,
      ...cpuHeader(this.k.config, cpu),
      ...callTrace(cpu),
      '==================================================================',
    ];
    this.k.printk(...lines);
    throw new FindingStop({ sanitizer: 'process-view', signature: sig, log: lines });
  }
}

/** An operation's page-table stores (`OutcomeOracle.opStart`); `live`: it has not returned. */
interface OpWrites {
  /** The physical address of each entry stored, with its table frame's generation at the store. */
  w: Map<number, number>;
  live: boolean;
}

/**
 * The level-`level` entry the tables in memory give for `va` under CPU `c`'s CR3 (a non-leaf entry:
 * the table it points to and the rights accumulated down to it), or null when the walk stops above.
 */
function walkToLevel(k: Kernel, c: LinuxCpu, va: bigint, level: number): { next: bigint; rw: boolean; us: boolean; nx: boolean } | null {
  return walkTables(k, c.hw.getCr3(), c.hw.mode, va, level);
}

/**
 * A software walk of the tables in memory from `cr3` down to the level-`level` entry for `va`
 * (level 1: the pte; `next` is then the page), or null when it stops above (not present, or a
 * large page above `level`). `path` receives the physical address of every entry read. In
 * numbers (entries read as two 32-bit words; addresses below 2^52 are exact): it runs at every
 * boundary check, one BigInt at the end.
 */
export function walkTables(
  k: Kernel,
  cr3: bigint,
  mode: string,
  va: bigint,
  level: number,
  path?: number[],
): { next: bigint; rw: boolean; us: boolean; nx: boolean } | null {
  const phys = k.m.phys;
  const ram = k.m.ramBytes;
  const vpn = Number(BigInt.asUintN(64, va) >> 12n); // below 2^52: exact
  if (mode === '32bit') {
    const pde = Number(cr3 & 0xffff_f000n) + (Math.floor(vpn / 1024) % 1024) * 4;
    path?.push(pde);
    const e = phys.read32n(pde);
    if (!(e & 1) || e & 0x80) return null;
    const t = (e & 0xffff_f000) >>> 0;
    if (level === 2) return { next: BigInt(t), rw: !!(e & 2), us: !!(e & 4), nx: false };
    if (t >= ram) return null;
    const pte = t + (vpn % 1024) * 4;
    path?.push(pte);
    const p = phys.read32n(pte);
    if (!(p & 1)) return null;
    return { next: BigInt((p & 0xffff_f000) >>> 0), rw: !!(e & 2) && !!(p & 2), us: !!(e & 4) && !!(p & 4), nx: false };
  }
  let table: number;
  let top: number;
  let rw = true,
    us = true,
    nx = false;
  if (mode === 'pae') {
    const at = Number(cr3 & 0xffff_ffe0n) + (Math.floor(vpn / 2 ** 18) % 4) * 8;
    path?.push(at);
    const lo = phys.read32n(at);
    if (!(lo & 1)) return null;
    table = (phys.read32n(at + 4) & 0xf_ffff) * 2 ** 32 + ((lo & 0xffff_f000) >>> 0);
    top = 2;
  } else {
    table = Number(cr3 & 0x000f_ffff_ffff_f000n);
    top = mode === '5level' ? 5 : 4;
  }
  for (let l = top; l >= level; l--) {
    if (table >= ram) return null;
    const at = table + (Math.floor(vpn / 2 ** (9 * (l - 1))) % 512) * 8;
    path?.push(at);
    const lo = phys.read32n(at);
    if (!(lo & 1) || (l <= 3 && l > 1 && lo & 0x80)) return null;
    const hi = phys.read32n(at + 4);
    rw &&= !!(lo & 2);
    us &&= !!(lo & 4);
    nx ||= hi >>> 31 === 1;
    table = (hi & 0xf_ffff) * 2 ** 32 + ((lo & 0xffff_f000) >>> 0);
  }
  return { next: BigInt(table), rw, us, nx };
}
