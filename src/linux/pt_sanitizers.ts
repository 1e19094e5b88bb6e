/**
 * The page-table sanitizers of a kernel instance (src/sanitizers/pt-uaf.ts): one
 * PtUafSanitizer per kernel, created on first use, which model code notifies of page-table
 * frees and software walks; and the frame-lifetime check of every hardware access, shared by the
 * fuzzer's outcome oracles (src/fuzz/outcome.ts) and the scenarios.
 */
import { FRAME_STATE, type AccessKind } from '../core/types.js';
import type { CoreFrames } from '../modelcpu/contract.js';
import { PtUafSanitizer } from '../sanitizers/pt-uaf.js';
import { describeEntry } from '../sanitizers/stale-tlb.js';
import { defineKernelState } from './kstate.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import type { MmStruct } from './structs.js';
import { callTrace, cpuHeader } from './report.js';
import type { ModelCpu } from '../modelcpu/cpu.js';
import { FindingStop } from '../sanitizers/finding.js';
import { hex } from '../loader/hex.js';
import { xenState } from './xen/state.js';

/** The page-table use-after-free sanitizer of `k`. */
export const ptUafOf = defineKernelState((k) => new PtUafSanitizer(k.m));

/**
 * Checks every hardware walk of `k`'s CPUs, successful or faulting, with the page-table
 * use-after-free sanitizer: a walk that read an entry in a free frame stops the run. A scenario
 * whose bug is a walk through a freed table turns it on; the fuzzer's frame-lifetime oracle
 * (src/fuzz/outcome.ts) checks the same on every execution.
 */
export function watchHardwareWalks(k: Kernel): void {
  const san = ptUafOf(k);
  const check = (cpu: ModelCpu): void => {
    const entries = cpu.hw.lastWalkEntries();
    const f = san.checkHardwareWalk({ index: cpu.index, lastWalkEntries: () => entries });
    if (!f) return;
    const root = cpu.hw.getCr3() & ~0xfffn;
    if (entries.length > 0 && (entries[0] & ~0xfffn) !== root)
      f.log.splice(
        -1,
        0,
        `pagewalk: the walk began below CR3 (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} read, the first at pa 0x${entries[0].toString(16)}): a paging-structure-cache entry gave it the table`,
      );
    throw new FindingStop(f);
  };
  for (const c of k.cpus) {
    c.faultObserver = check;
    c.accessObserver = (cpu) => {
      if (cpu.hw.lastWalkCount() > 0) check(cpu);
    };
  }
}

/** Whether CPU `c`'s CR3 holds `mm`'s pgd (else a CR3 load is still to come: Xen PV lazy CPU mode). */
export function cr3HoldsPgd(c: LinuxCpu, mm: MmStruct): boolean {
  return c.hw.cr3Frame() === Math.floor(mm.pgd / 4096);
}

/** A TLB fill the frame-lifetime check saw (the access that walked and filled the entry). */
export interface Fill {
  pfn: number;
  gen: number;
  step: number;
  /** The check's epoch when it was recorded (an older one is forgotten: `reset()`). */
  epoch: number;
}

/** The last free of a frame (`epoch`: the check's when it was recorded; older records are forgotten). */
interface FreeRecord {
  epoch: number;
  step: number;
  cpu: number;
  /** The freeing CPU's kernel functions, innermost first: the first `depth` entries of `chain` (reused). */
  chain: string[];
  depth: number;
}

/** The per-CPU `reached` arrays of a machine, allocated once (a typed array costs microseconds) and cleared per check. */
const reachedOf = new WeakMap<CoreFrames, Uint32Array[]>();
function reachedArrays(k: Kernel): Uint32Array[] {
  let a = reachedOf.get(k.m.frames);
  if (!a || a.length < k.cpus.length) reachedOf.set(k.m.frames, (a = k.cpus.map(() => new Uint32Array(k.m.frames.count))));
  for (const x of a) x.fill(0);
  return a;
}

/** Options of the frame-lifetime check. */
export interface FrameLifetimeOptions {
  /** The scheduler step, for reports (none: reports carry no step numbers). */
  step?: () => number;
  /** The CPU the scheduler runs now (-1: none), for frees made outside an access. */
  currentCpu?: () => number;
  /** Judge each free against the user TLB entries that still map the frame (default true). */
  atFree?: boolean;
  /**
   * With `atFree`, judge each free against the kernel TLB entries in vmalloc space that still map
   * the frame too, except at addresses where this returns true (a flush the kernel documents as
   * deferred, or entries the caller changed itself); absent: kernel entries are not judged.
   */
  kernelExempt?: (va: bigint) => boolean;
}

/**
 * The frame-lifetime check (page-level KASAN for the MMU; docs/fuzzing.md, "Frame lifetime"): every
 * successful hardware access (user or kernel) is checked against the core's frame table — after a
 * walk, every paging-structure entry it read and the page it reached must lie in allocated frames,
 * and the fill is remembered per CPU and page as (frame, generation, step); after a TLB hit, the
 * frame must be allocated and still have the generation it had when the entry was filled. With
 * `atFree`, a frame being freed must not be mapped by a user TLB entry that some CPU can use
 * without a CR3 load (the kernel flushes before it frees). The fuzzer's outcome oracles and the
 * scenarios use this one check; a finding is `frame-lifetime`.
 */
export class FrameLifetime {
  /** Per CPU: the last fill seen for each 4 KiB page (key: page address); those of an older `epoch` are forgotten (kept for reuse). */
  private readonly fills: Map<bigint, Fill>[];
  /** Per CPU: the user pages (below TASK_SIZE) among the keys of `fills`, and the vmalloc-space ones. */
  private readonly userPages: bigint[][];
  private readonly vmallocPages: bigint[][];
  /** Per frame: its last free (kept across `reset()`, which only moves `epoch`: no allocation per execution). */
  private readonly frees: (FreeRecord | undefined)[] = [];
  private epoch = 1;
  /** Per frame: the (CPU, page) pairs of fills that reached it (appended when a page's fill changes frame or generation), valid when `fillsOfEpoch` is `epoch`. */
  private readonly fillsOf: (number | bigint)[][];
  private readonly fillsOfEpoch: Uint32Array;
  /** Per CPU and frame: 1 + the frame's generation when a walk of that CPU last reached it as a table (0: never). */
  private readonly reached: Uint32Array[];
  private readonly frames: CoreFrames;
  private readonly step: () => number;
  private readonly currentCpu: () => number;
  private readonly steps: boolean;
  /** Called after the check of every successful user-mode access (the fuzzer's process view). */
  onUser: ((cpu: LinuxCpu, va: bigint, kind: AccessKind, pa: bigint) => void) | null = null;

  constructor(
    readonly k: Kernel,
    private readonly opts: FrameLifetimeOptions = {},
  ) {
    this.frames = k.m.frames;
    this.fills = k.cpus.map(() => new Map());
    this.userPages = k.cpus.map(() => []);
    this.vmallocPages = k.cpus.map(() => []);
    this.reached = reachedArrays(k);
    this.fillsOf = Array.from({ length: k.m.frames.count }, () => []);
    this.fillsOfEpoch = new Uint32Array(k.m.frames.count);
    this.steps = opts.step !== undefined;
    this.step = opts.step ?? (() => -1);
    this.currentCpu = opts.currentCpu ?? (() => -1);
  }

  /** The observers `install()` sets (built once: the fuzzer reinstalls them at every execution). */
  private readonly obs = (cpu: ModelCpu, va: bigint, kind: AccessKind, cpl: 0 | 3, pa: bigint): void => this.onAccess(cpu as LinuxCpu, va, kind, cpl, pa);
  private readonly onFault = (cpu: ModelCpu, va: bigint, kind: AccessKind, cpl: 0 | 3): void => this.walkedTables(cpu as LinuxCpu, va, kind, cpl);
  private readonly onFree = (pfn: number): void => {
    if (this.opts.atFree !== false) {
      if (this.frames.isFree(pfn)) this.doubleFree(pfn);
      this.checkFreed(pfn);
      if (this.frames.level(pfn) > 0) this.checkTableFreed(pfn);
    }
    this.recordFree(pfn);
  };

  /** Observes every CPU's accesses and walks, and the frees of the frame table. */
  install(): this {
    for (const c of this.k.cpus) {
      c.accessObserver = this.obs;
      c.faultObserver = this.onFault;
    }
    this.frames.onFree = this.onFree;
    return this;
  }

  /**
   * Forgets every fill, free and table reached (as a new check would start: the fuzzer reuses one
   * per kernel). Fills, frees and the frames' fill lists stay allocated, forgotten by their epoch.
   */
  reset(): void {
    for (let i = 0; i < this.fills.length; i++) {
      this.userPages[i].length = 0;
      this.vmallocPages[i].length = 0;
      this.reached[i].fill(0);
    }
    this.epoch++;
  }

  /** Stops observing (the machine is reused). */
  uninstall(): void {
    if (this.frames.onFree) this.frames.onFree = null;
    for (const c of this.k.cpus) {
      c.accessObserver = null;
      c.faultObserver = null;
    }
  }

  private at(step: number): string {
    return this.steps ? ` at step ${step}` : '';
  }

  /**
   * Frame `pfn` is being freed: no CPU may still hold a user TLB entry to it that it can use
   * without a CR3 load (the kernel flushes before it frees: mmu_gather, ptep_clear_flush). A
   * lazy-TLB CPU that left mm_cpumask, or whose CR3 load is still queued, reloads CR3 first; the
   * entries of an mm whose last user is gone (exit_mmap() in progress) are never used again.
   */
  private checkFreed(pfn: number): void {
    const users = this.fillersOf(pfn);
    if (!users) return;
    const L = this.k.L;
    for (let i = 0; i < users.length; i += 2) {
      const c = this.k.cpus[users[i] as number];
      const page = users[i + 1] as bigint;
      const f = this.fillOf(c.index, page);
      if (!f || f.pfn !== pfn) continue;
      if (page >= L.TASK_SIZE) {
        if (page >= L.VMALLOC_START && page < L.VMALLOC_END) this.checkFreedKernel(pfn, c, page, f);
        continue;
      }
      const mm = c.tlbActiveMm;
      // exit_mmap(): the mm's last user is gone and no user code runs in it again ("fullmm is when
      // the last user of the mm goes away, there should not be any races on the address space").
      if (mm && mm.mm_users === 0) continue;
      if (this.k.config.smp) {
        if (!mm || !cr3HoldsPgd(c, mm)) continue;
        if (c.tlbState === 'lazy' && !(mm.cpumask & (1 << c.index))) continue;
      }
      for (const e of c.hw.tlbEntriesFor(page)) {
        if (!e.user || e.global || e.va !== page || e.pa >> 12n !== BigInt(pfn)) continue;
        const cur = this.k.cpus[Math.max(0, this.currentCpu())];
        this.freeFinding(
          [
            `BUG: use-after-free of pfn ${hex(pfn)}: CPU${cur.index} frees a frame that CPU${c.index} still maps through a user TLB entry filled${this.at(f.step)}`,
            `pagewalk: CPU${c.index} (${c.curr.comm}/${c.curr.pid}, CR3 ${hex(c.hw.getCr3())}, cpu_tlbstate ${c.tlbState}) holds TLB entry ${describeEntry(e)}`,
            ...this.pteNow(c, page, 3),
          ],
          `use-after-free: frame freed while a TLB entry ${c === cur ? 'of the freeing CPU' : 'of another CPU'} maps it`,
        );
      }
    }
  }

  /**
   * Frame `pfn` is being freed while CPU `c` filled a kernel TLB entry for vmalloc address `page`
   * that maps it. A kernel entry serves every address space, so the entry must be gone unless the
   * kernel documents its flush as deferred past the free (`kernelExempt`: the lazy vmap purge,
   * which is where the model's vmap layer defers flushes; its vfree() flushes at once).
   */
  private checkFreedKernel(pfn: number, c: LinuxCpu, page: bigint, f: Fill): void {
    const exempt = this.opts.kernelExempt;
    if (!exempt || exempt(page)) return;
    for (const e of c.hw.tlbEntriesFor(page)) {
      if ((e.va & this.k.L.VA_MASK) !== page || e.pa >> 12n !== BigInt(pfn)) continue;
      const cur = this.k.cpus[Math.max(0, this.currentCpu())];
      this.freeFinding(
        [
          `BUG: use-after-free of pfn ${hex(pfn)}: CPU${cur.index} frees a frame that CPU${c.index} still maps through a kernel TLB entry for ${hex(page)} filled${this.at(f.step)}`,
          `pagewalk: CPU${c.index} holds TLB entry ${describeEntry(e)}`,
          ...this.pteNow(c, page, 0),
        ],
        `use-after-free: frame freed while a kernel TLB entry ${c === cur ? 'of the freeing CPU' : 'of another CPU'} maps it`,
      );
    }
  }

  /**
   * Page-table frame `pfn` is being freed: no other CPU that runs on its tables (not lazy, no CR3
   * load queued) may still reach it through CR3 or a paging-structure-cache entry — its next walk
   * would read a free (or reused) frame. The freeing CPU, and a CPU whose task is changing that
   * mm's tables (mmap_sem held for writing), are judged when their call returns (tlb-coherence), as
   * they run no user code before; a lazy CPU runs kernel code only.
   */
  private checkTableFreed(pfn: number): void {
    const cur = this.currentCpu();
    for (const c of this.k.cpus) {
      if (c.index === cur) continue;
      const mm = c.tlbActiveMm;
      if (c.tlbState === 'lazy') {
        // A lazy CPU still in mm_cpumask gets the flush IPI, and leaves the mm then (flush_tlb_func()
        // -> leave_mm()). One that left it gets no IPI: leave_mm() loaded swapper_pg_dir so that it
        // reaches none of the mm's tables, which the hardware may walk speculatively ("We must
        // reload CR3 to make sure to use no freed page tables", switch_mm()). Under Xen PV the
        // load may still be queued in the multicall batch (lazy CPU mode): it is issued first.
        if (!mm || mm.cpumask & (1 << c.index) || this.cr3LoadQueued(c)) continue;
      } else {
        // Running on its mm (its CR3 load done).
        if (!mm || !cr3HoldsPgd(c, mm)) continue;
        // A task changing its mm's tables (mmap_sem held for writing: munmap, mremap) is judged when
        // its call returns: it flushes its own caches before it runs user code again.
        if (mm.mmap_sem.writer === c.curr) continue;
      }
      let how: string | null = null;
      if (c.hw.cr3Frame() === pfn) how = `its CR3 (${hex(c.hw.getCr3())})`;
      // A cached entry can point to the table only if a walk of that CPU reached it as a table.
      else if (this.reached[c.index][pfn] !== 0) {
        const p = c.hw.pscEntries({ table: pfn })[0];
        if (p) how = `a paging-structure-cache entry (level ${p.level}) for va ${hex(p.va)}`;
      }
      if (!how) continue;
      this.freeFinding(
        [
          `BUG: use-after-free of pfn ${hex(pfn)}: CPU${Math.max(0, cur)} frees a page table that CPU${c.index} still reaches through ${how}`,
          c.tlbState === 'lazy'
            ? `pagewalk: CPU${c.index} runs ${c.curr.comm}/${c.curr.pid} with CR3 ${hex(c.hw.getCr3())} in lazy TLB mode, off ${mm!.name}'s mm_cpumask: no flush reaches it, and a speculative walk there reads the freed frame`
            : `pagewalk: CPU${c.index} runs ${c.curr.comm}/${c.curr.pid} with CR3 ${hex(c.hw.getCr3())} (cpu_tlbstate ${c.tlbState}); its next walk there reads the freed frame`,
        ],
        `use-after-free: page table freed while another CPU's ${how.startsWith('its CR3') ? 'CR3' : 'paging-structure cache'} reaches it`,
      );
    }
  }

  /**
   * Frame `pfn` is being freed and is free already (KASAN's double-free): a path dropped a page
   * reference or a table it did not hold — a mapcount or refcount taken once and dropped twice, a
   * page freed by two racing paths. The frame table would refuse the free as an error of the model;
   * it is the kernel's bug, reported here with where the frame was freed first. A second free after
   * the frame was reallocated frees its new owner's frame: that shows when the owner uses it.
   */
  private doubleFree(pfn: number): never {
    this.freeFinding(
      [`BUG: double-free of pfn ${hex(pfn)}: CPU${Math.max(0, this.currentCpu())} frees a frame that is free already`, ...this.describeFree(pfn)],
      'double-free: frame freed twice',
    );
  }

  /** Xen PV: CPU `c` has a CR3 load queued (its xen_cr3 differs from the base pointer in use). */
  private cr3LoadQueued(c: LinuxCpu): boolean {
    return this.k.config.paravirt === 'xen-pv' && xenState(this.k).xenCr3[c.index] !== (c.hw.getCr3() & ~0xfffn);
  }

  /** A frame-lifetime finding at a free: `head`, then the freeing CPU and its call chain. */
  private freeFinding(head: string[], signature: string): never {
    const by = this.k.cpus[Math.max(0, this.currentCpu())];
    const lines = [
      '==================================================================',
      ...head,
      `pagewalk: the frame is freed${this.at(this.step())} by:`,
      ...cpuHeader(this.k.config, by),
      ...callTrace(by),
      '==================================================================',
    ];
    this.k.printk(...lines);
    throw new FindingStop({ sanitizer: 'frame-lifetime', signature: `${signature} in ${by.thread().fnStack.at(-1) ?? 'kernel code'}`, log: lines });
  }

  /**
   * The (CPU, page) pairs whose fills reached frame `pfn` (flat: CPU index, page, ...); a pair's
   * TLB entry maps the frame only while that CPU's last fill of the page did (`fillOf`).
   */
  fillersOf(pfn: number): readonly (number | bigint)[] | undefined {
    return pfn < this.fillsOfEpoch.length && this.fillsOfEpoch[pfn] === this.epoch ? this.fillsOf[pfn] : undefined;
  }

  /** Whether a hardware walk of `cpu` read frame `pfn` as a table since the frame was last allocated (a paging-structure-cache entry can point to it only then). */
  reachedAsTable(cpu: number, pfn: number): boolean {
    return pfn < this.frames.count && this.reached[cpu][pfn] === this.frames.generation(pfn) + 1;
  }

  /**
   * The 4 KiB pages `cpu` filled TLB entries for (a TLB entry exists only where a walk filled it):
   * user ones (below TASK_SIZE), or those in vmalloc space (the kernel mappings that change).
   */
  filledPages(cpu: number, user: boolean): readonly bigint[] {
    return user ? this.userPages[cpu] : this.vmallocPages[cpu];
  }

  private recordFree(pfn: number): void {
    const c = this.currentCpu();
    // One record per frame, reused by its later frees (no allocation on the hot path).
    let r = this.frees[pfn];
    if (!r) this.frees[pfn] = r = { epoch: 0, step: 0, cpu: c, chain: [], depth: 0 };
    r.epoch = this.epoch;
    r.step = this.step();
    r.cpu = c;
    r.depth = 0;
    if (c >= 0) {
      const s = this.k.cpus[c].thread().fnStack;
      for (let i = s.length - 1; i >= 0; i--) r.chain[r.depth++] = s[i];
    }
  }

  /** Whether frame `pfn` was freed since the last `reset()` (it may be allocated again). */
  freedSinceReset(pfn: number): boolean {
    return this.freeOf(pfn) !== undefined;
  }

  /** Where frame `pfn` was last freed, for reports. */
  describeFree(pfn: number): string[] {
    const f = this.freeOf(pfn);
    if (!f) return [`pagewalk:   frame ${hex(pfn)} was not freed while watched`];
    return [
      `pagewalk:   the frame was freed${f.cpu >= 0 ? ` by CPU${f.cpu}` : ''}${this.at(f.step)} in:`,
      ...(f.depth ? f.chain.slice(0, f.depth) : ['(no kernel function)']).map((x) => `  ${x}`),
    ];
  }

  /** The fill the check saw for `va` on `cpu` (undefined if none). */
  fillOf(cpu: number, va: bigint): Fill | undefined {
    return this.live(this.fills[cpu].get(BigInt.asUintN(64, va) & ~0xfffn));
  }

  /** `f` if it was recorded since the last `reset()` (older records are kept for reuse, forgotten). */
  private live(f: Fill | undefined): Fill | undefined {
    return f?.epoch === this.epoch ? f : undefined;
  }

  private onAccess(cpu: LinuxCpu, va: bigint, kind: AccessKind, cpl: 0 | 3, pa: bigint): void {
    const fr = this.frames;
    const pfn = Number(pa >> 12n);
    if (pfn >= fr.count) return;
    const page = BigInt.asUintN(64, va) & ~0xfffn;
    const fills = this.fills[cpu.index];
    if (cpu.hw.lastWalkCount() > 0) {
      this.walkedTables(cpu, va, kind, cpl);
      if (fr.state(pfn) === FRAME_STATE.FREE)
        this.frameFinding(cpu, va, kind, cpl, pfn, `the page tables in memory map the free frame (walk)`, `${kind} through page tables mapping a free frame`);
      const gen = fr.generation(pfn);
      const epoch = this.epoch;
      let prev = fills.get(page);
      if (prev && prev.epoch === epoch && prev.pfn === pfn && prev.gen === gen) prev.step = this.step();
      else {
        if (!prev || prev.epoch !== epoch) {
          // the page's first fill in this check (its record, if any, is reused)
          if (prev) prev.epoch = epoch;
          else fills.set(page, (prev = { pfn, gen, step: 0, epoch }));
          const L = this.k.L;
          if (page < L.TASK_SIZE) this.userPages[cpu.index].push(page);
          else if (page >= L.VMALLOC_START && page < L.VMALLOC_END) this.vmallocPages[cpu.index].push(page);
        }
        prev.pfn = pfn;
        prev.gen = gen;
        prev.step = this.step();
        // the frame's users (once per CPU and page while it stays allocated)
        const u = this.fillsOf[pfn];
        if (this.fillsOfEpoch[pfn] !== epoch) {
          this.fillsOfEpoch[pfn] = epoch;
          u.length = 0;
        }
        u.push(cpu.index, page);
      }
      if (cpl === 3 && this.onUser) this.onUser(cpu, va, kind, pa);
      return;
    }
    const f = this.live(fills.get(page));
    if (fr.state(pfn) === FRAME_STATE.FREE) {
      this.frameFinding(
        cpu,
        va,
        kind,
        cpl,
        pfn,
        `through a TLB entry${f && this.steps ? ` filled at step ${f.step}` : ''} to a free frame`,
        `${kind} through a TLB entry to a free frame`,
      );
    }
    if (f && f.pfn === pfn && f.gen !== fr.generation(pfn)) {
      this.frameFinding(
        cpu,
        va,
        kind,
        cpl,
        pfn,
        `through a TLB entry filled${this.at(f.step)}; the frame was freed and reallocated since`,
        `${kind} through a TLB entry to a reallocated frame`,
      );
    }
    if (cpl === 3 && this.onUser) this.onUser(cpu, va, kind, pa);
  }

  /**
   * Every table the last hardware walk of `cpu` read (from CR3 or from a paging-structure-cache
   * entry) must be allocated, whether the access then succeeded or faulted: the hardware read
   * whatever a freed frame now holds. A walk that resumed below CR3 did so through a
   * paging-structure-cache entry, which an earlier walk of this CPU filled when it reached that
   * table: the table must not have been freed and reallocated since (its generation then is kept
   * per CPU; not in PAE paging, whose walks always begin below CR3, at a PDPTE register).
   */
  private walkedTables(cpu: LinuxCpu, va: bigint, kind: AccessKind, cpl: 0 | 3): void {
    const n = cpu.hw.lastWalkCount();
    if (n === 0) return;
    const fr = this.frames;
    const reached = this.reached[cpu.index];
    for (let i = 0; i < n; i++) {
      const tp = cpu.hw.lastWalkFrame(i);
      if (tp >= fr.count) continue;
      if (fr.state(tp) === FRAME_STATE.FREE)
        this.frameFinding(
          cpu,
          va,
          kind,
          cpl,
          tp,
          `the hardware walk read a paging-structure entry at pa ${hex(cpu.hw.lastWalkEntries()[i])} in a free frame`,
          'hardware walk through a free page table',
        );
      const g = fr.generation(tp) + 1;
      if (i > 0) reached[tp] = g;
      else if (reached[tp] !== 0 && reached[tp] !== g && cpu.hw.mode !== 'pae' && tp !== cpu.hw.cr3Frame())
        this.frameFinding(
          cpu,
          va,
          kind,
          cpl,
          tp,
          `the hardware walk resumed through a paging-structure-cache entry in table pfn ${hex(tp)}, which was freed and reallocated since the entry was cached`,
          'hardware walk through a paging-structure-cache entry to a reallocated table',
        );
    }
  }

  /** Frame `pfn`'s last free since `reset()`, if any. */
  private freeOf(pfn: number): FreeRecord | undefined {
    const r = this.frees[pfn];
    return r?.epoch === this.epoch ? r : undefined;
  }

  private frameFinding(cpu: LinuxCpu, va: bigint, kind: AccessKind, cpl: 0 | 3, pfn: number, how: string, sig: string): never {
    const f = this.freeOf(pfn);
    const lines = [
      '==================================================================',
      `BUG: use-after-free of pfn ${hex(pfn)}: CPU${cpu.index} ${kind === 'write' ? 'wrote' : kind === 'read' ? 'read' : 'fetched'} ${how}${f && this.steps ? `; the frame was freed at step ${f.step}` : ''}`,
      `${kind[0].toUpperCase()}${kind.slice(1)} at addr ${BigInt.asUintN(64, va).toString(16).padStart(16, '0')} (${cpl === 3 ? 'user' : 'kernel'} mode) by task ${cpu.curr.comm}/${cpu.curr.pid}${this.at(this.step())}`,
      ...cpuHeader(this.k.config, cpu),
      ...callTrace(cpu),
      ...this.describeFree(pfn),
      `pagewalk:   frame ${hex(pfn)} is ${this.frames.state(pfn) === FRAME_STATE.FREE ? 'free' : `allocated again (generation ${this.frames.generation(pfn)})`} now`,
      ...this.pteNow(cpu, va, cpl),
      '==================================================================',
    ];
    this.k.printk(...lines);
    throw new FindingStop({
      sanitizer: 'frame-lifetime',
      signature: `use-after-free: ${sig} in ${cpl === 3 ? 'user mode' : (cpu.thread().fnStack.at(-1) ?? 'kernel code')}`,
      log: lines,
    });
  }

  /** "the page-table entry now in memory" lines for `va` as `cpu` would walk it. */
  pteNow(cpu: LinuxCpu, va: bigint, cpl: 0 | 3): string[] {
    const x = cpu.hw.explain(va, { kind: 'read', cpl, dryRun: true });
    const s = x.steps.at(-1);
    if (!s) return ['pagewalk:   page tables now: no walk'];
    return [
      `pagewalk:   page tables now: ${s.name} at pa ${hex(s.entryAddress)} = ${hex(s.value)} (${s.decision})${x.result.ok ? ` -> pa ${hex(x.result.pa)}` : ''}`,
    ];
  }

  /** The translation `cpu` used for its last access of `va`: the TLB entry or the walk. */
  translationUsed(cpu: LinuxCpu, va: bigint): string {
    if (cpu.hw.lastWalkCount() > 0)
      return `page walk (${cpu.hw
        .lastWalkEntries()
        .map((e) => hex(e))
        .join(', ')})`;
    const page = BigInt.asUintN(64, va) & ~0xfffn;
    const e = cpu.hw.tlbEntriesFor(page).find((t) => page >= t.va && page < t.va + BigInt(t.pageSize));
    const f = this.fillOf(cpu.index, page);
    return `TLB entry ${e ? describeEntry(e) : '(not found)'}${f && this.steps ? ` filled at step ${f.step}` : ''}`;
  }
}

/** Turns the frame-lifetime check on for `k`'s CPUs (a scenario; the fuzzer's oracles install their own). */
export function watchFrameLifetime(k: Kernel, opts: FrameLifetimeOptions = {}): FrameLifetime {
  return new FrameLifetime(k, opts).install();
}
