/**
 * Xen's PV memory-management core: type and reference counting of machine frames and the
 * validation of guest page tables. A faithful transcription, function by function, of
 * xen/arch/x86/mm.c at xen-unstable 6020fcb848 (2010-11-18, Xen 4.1 development; the same
 * code and line numbers as 4.1.0-rc1..rc6), for a 64-bit PV guest (x86_64 hypervisor,
 * CONFIG_PAGING_LEVELS 4, no shadow mode, no IOMMU, no superpages: opt_allow_superpage = 0).
 *
 * What is left out, on purpose: preemption of long validations (PGT_partial, -EAGAIN/-EINTR
 * continuations: every hypercall here runs to completion), grant tables, I/O memory, page
 * sharing/paging, 32-on-64 compat guests, and adjust_guest_lNe() (Xen sets _PAGE_USER on guest
 * entries because a 64-bit PV kernel runs in ring 3; the model runs the guest kernel at CPL 0,
 * so entries are stored as the guest wrote them). Xen's private L4 slots 256..271 are skipped
 * during validation, as is_guest_l4_slot() says, and alloc_l4_table() then overwrites them with
 * Xen's own entries (init of the Xen private mappings, RELEASE-4.1.0 mm.c 1534-1542): the linear
 * slot (258) maps the L4 itself, the per-domain slot (260) maps the domain's per-domain L3 (a
 * frame Xen owns, when the machine gives Xen one), and the slots copied from idle_pg_table
 * (read-only m2p, Xen's direct map and image) are written not present: Xen's own memory is not
 * modelled, and a guest access there faults as the ring-3 PV kernel's access to these
 * supervisor-only mappings would.
 */
import {
  PGC_allocated,
  PGC_count_mask,
  PGT_count_mask,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_l4_page_table,
  PGT_partial,
  PGT_pinned,
  PGT_pae_xen_l2,
  PGT_root_page_table,
  PGT_seg_desc_page,
  PGT_type_mask,
  PGT_validated,
  PGT_writable_page,
  PRtype_info,
  levelOfType,
  XenFrameTable,
} from './page-info.js';
import { MM_C_LINE, XenConsole, lx } from './log.js';
import { P2m } from './p2m.js';
import { XenPanic, XenStack, type XenFrameName } from './stack.js';
import { DONE, mustYield } from '../scheduler/point.js';
import type { YieldLabel } from '../scheduler/types.js';
import { ALL_FIXES, l1FastpathFlags, l2AllowsPse, lNFastpathFlags, lNeHasChanged, type XenFixes } from './fixes.js';

/**
 * Xen code that may be interrupted: a generator whose yields are interleaving points where the
 * CPU running it has interrupts enabled and other CPUs run on (XenMm.irq_window). Driven to the
 * end without interleaving by `XenMm.sync`, or by a guest vCPU's hypercall through
 * `XenMm.interruptible`.
 */
export type XenGen<T> = Generator<YieldLabel, T, undefined>;

/**
 * The interleaving point between the read of `tlbflush_clock` and the store of
 * `page->tlbflush_timestamp` when that store runs with interrupts enabled (before XSA-241).
 */
export const LBL_XEN_STAMP_IRQ = 'xen:page_set_tlbflush_timestamp:irq';

/** flushtlb.c (RELEASE-4.9.0 15-20): `WRAP_MASK` of a release build (NDEBUG). */
const WRAP_MASK = 0xffffffff;

/** errno values Xen returns (negated). */
export const EINVAL = 22;
export const EFAULT = 14;
export const ENOSYS = 38;
export const ESRCH = 3;

/** x86 PTE bits used by validation (SDM vol. 3 table 4-19). */
const _PAGE_PRESENT = 0x001;
const _PAGE_RW = 0x002;
const _PAGE_PSE = 0x080;
/** Bit 23 of a 24-bit flag mask = bit 62 of a PTE (x86_64/page.h). */
const _PAGE_GNTTAB = 1 << 22;
/**
 * x86_64/page.h: BASE_DISALLOW_MASK (0xFF800198U & ~_PAGE_NX): PWT, PCD, PSE, GLOBAL (NX
 * allowed: the machine has NX); L1_DISALLOW_MASK ((BASE | _PAGE_GNTTAB) & ~_PAGE_GLOBAL),
 * L2_DISALLOW_MASK (BASE & ~_PAGE_PSE), L3/L4_DISALLOW_MASK (BASE).
 */
const BASE_DISALLOW_MASK = (0xff800198 & ~(1 << 23)) >>> 0;
export const L1_DISALLOW_MASK = ((BASE_DISALLOW_MASK | _PAGE_GNTTAB) & ~0x100) >>> 0;
export const L2_DISALLOW_MASK = (BASE_DISALLOW_MASK & ~_PAGE_PSE) >>> 0;
export const L3_DISALLOW_MASK = BASE_DISALLOW_MASK;
export const L4_DISALLOW_MASK = BASE_DISALLOW_MASK;
/** config.h: ROOT_PAGETABLE_FIRST_XEN_SLOT 256, ROOT_PAGETABLE_LAST_XEN_SLOT 271. */
const ROOT_PAGETABLE_FIRST_XEN_SLOT = 256;
const ROOT_PAGETABLE_LAST_XEN_SLOT = 271;
/** config.h (x86_64): LINEAR_PT_VIRT_START = PML4_ADDR(258), PERDOMAIN_VIRT_START = PML4_ADDR(260). */
export const LINEAR_PT_L4_SLOT = 258;
export const PERDOMAIN_L4_SLOT = 260;
/** page.h: __PAGE_HYPERVISOR = _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED. */
export const __PAGE_HYPERVISOR = 0x63n;
const PADDR_PFN_MASK = (1n << 40n) - 1n;
const BIT52 = 1n << 52n;

/** `get_pte_flags(x)`: 24-bit flags = pte[63:52] << 12 | pte[11:0]. */
export function get_pte_flags(e: bigint): number {
  if (e === 0n) return 0;
  // Below bit 52 (no NX, no software bits 62:52) the entry is exact as a double: no BigInt ops.
  if (e > 0n && e < BIT52) return Number(e) % 4096;
  return (Number((e >> 40n) & 0xfff000n) | Number(e & 0xfffn)) >>> 0;
}

/** `lNe_get_pfn(e)`: the 40-bit frame number, pte[51:12]. */
export function pte_get_pfn(e: bigint): number {
  if (e >= 0n && e < BIT52) return Math.floor(Number(e) / 4096);
  return Number((e >> 12n) & PADDR_PFN_MASK);
}

/** x86_64 `is_guest_l4_slot(d, s)` for a 64-bit PV guest. */
export function is_guest_l4_slot(slot: number): boolean {
  return slot < ROOT_PAGETABLE_FIRST_XEN_SLOT || slot > ROOT_PAGETABLE_LAST_XEN_SLOT;
}

/** A saved copy of XenMm's state (see saveState). */
export interface XenMmState {
  typeInfo: BigUint64Array;
  countInfo: BigUint64Array;
  owner: Int32Array;
  tlbflushTimestamp: Float64Array;
  tlbClock: number;
  cpuFlushTime: Float64Array;
  typeChangeFlushes: number;
  linearPtCount: Int16Array;
}

/** What the hypervisor needs of the machine: RAM access and TLB flushes per CPU. */
export interface XenMachineView {
  phys: {
    read64n(pa: number): bigint;
    read32n(pa: number): number;
    write64n(pa: number, v: bigint): void;
  };
  frames: { count: number };
  cpus: ReadonlyArray<{ index: number; invlpg(va: bigint): void; flushTlbAll(): void }>;
}

/**
 * The per-machine memory-management state of the hypervisor and the mm.c functions that act
 * on it. Domain ids are small integers; `current` is the domain on whose behalf the running
 * hypercall executes (printed as `d<id>` in MEM_LOG lines).
 */
export class XenMm {
  readonly pages: XenFrameTable;
  /** Xen's TLB clock (`tlbflush_clock`), bumped by every full flush. */
  private tlbClock = 1;
  /** Per-CPU `tlbflush_time`. */
  private readonly cpuFlushTime: Float64Array;
  /** Domain whose hypercall is running (`current->domain->domain_id`). */
  current = 0;
  /** Full TLB flushes Xen performed because a frame changed type (`need_flush_tlb_flush`). */
  typeChangeFlushes = 0;
  /** Security fixes of later releases this hypervisor carries (src/xen/fixes.ts). */
  fixes: XenFixes = { ...ALL_FIXES };
  /**
   * Told when a rarely taken branch of an entry update ran (the L2–L4 fast paths, a linear page
   * table accepted), e.g. 'mod_l4_entry:fastpath': coverage for a fuzzer. L1 fast paths, which every
   * pte update of a guest takes, are not reported.
   */
  onPath: ((id: string) => void) | null = null;
  /** Told before every store into a validated page table (an outcome oracle's; null outside a campaign). */
  onEntryWrite: ((pa: number) => void) | null = null;
  /**
   * Told when a frame took a new type in __get_page_type() (after the flush that change owes the
   * TLBs): an outcome oracle checks that no vCPU still holds a writable translation of a frame
   * that became a page table.
   */
  onTypeChange: ((mfn: number, type: bigint) => void) | null = null;
  /** The same moment for the PV safety audit (src/xen/audit.ts: no stale writable translation). */
  auditTypeChange: ((mfn: number, type: bigint) => void) | null = null;
  /** A page-table frame just validated at `level` (alloc_page_type succeeded): the PV safety audit of its entries. */
  onValidated: ((mfn: number, level: number) => void) | null = null;
  /** `d->arch.mm_perdomain_l3`: a Xen-owned frame, or null when the machine gave Xen none. */
  perdomainL3: number | null = null;
  /** The primary stack of the CPU running the hypercall (src/xen/stack.ts). */
  readonly stack = new XenStack();
  /** The physical CPU running the current hypercall (for a panic's `CPU:` line). */
  currentCpu = 0;
  /** Told when Xen panics (default: throw the XenPanic). */
  onPanic: ((p: XenPanic) => never) | null = null;

  constructor(
    readonly m: XenMachineView,
    readonly console: XenConsole,
    readonly p2m: P2m,
  ) {
    this.pages = new XenFrameTable(m.frames.count);
    this.cpuFlushTime = new Float64Array(m.cpus.length);
  }

  /**
   * True while a guest vCPU's hypercall runs through `interruptible()`: only then are the interrupt
   * windows of Xen code interleaving points (nested code driven by `sync()` has none).
   */
  private windows = false;

  /** Copies the whole state (frame table, TLB clock, per-CPU flush times, counters). */
  saveState(): XenMmState {
    const p = this.pages;
    return {
      typeInfo: p.typeInfo.slice(),
      countInfo: p.countInfo.slice(),
      owner: p.owner.slice(),
      tlbflushTimestamp: p.tlbflushTimestamp.slice(),
      tlbClock: this.tlbClock,
      cpuFlushTime: this.cpuFlushTime.slice(),
      typeChangeFlushes: this.typeChangeFlushes,
      linearPtCount: p.linearPtCount.slice(),
    };
  }

  /** Restores a state saved from a hypervisor on a machine of the same size. */
  restoreState(st: XenMmState): void {
    const p = this.pages;
    p.typeInfo.set(st.typeInfo);
    p.countInfo.set(st.countInfo);
    p.owner.set(st.owner);
    p.tlbflushTimestamp.set(st.tlbflushTimestamp);
    this.tlbClock = st.tlbClock;
    this.cpuFlushTime.set(st.cpuFlushTime);
    this.typeChangeFlushes = st.typeChangeFlushes;
    p.linearPtCount.set(st.linearPtCount);
    this.stack.clear();
  }

  /**
   * Calls into Xen function `fn` on the primary stack. When its frame no longer fits, the write
   * below the stack hits the guard page and Xen dies of a double fault: the panic.
   */
  enterFrame(fn: XenFrameName): void {
    if (this.stack.push(fn)) return;
    const lines = this.stack.doubleFault(this.currentCpu);
    for (const l of lines) this.console.printk(this.current, l);
    const p = new XenPanic(
      lines.map((l) => `(XEN) ${l}`),
      this.stack.signature(),
    );
    if (this.onPanic) this.onPanic(p);
    throw p;
  }

  /** Returns from the innermost frame enterFrame() pushed. */
  leaveFrame(): void {
    this.stack.pop();
  }

  private log(line: number, msg: string): void {
    this.console.memLog(line, this.current, msg);
  }

  private entry(mfn: number, i: number): bigint {
    return this.m.phys.read64n(mfn * 4096 + i * 8);
  }

  /**
   * The entry's _PAGE_PRESENT bit, read as a number: get_page_from_lNe() and put_page_from_lNe()
   * do nothing else for a non-present entry, so the table loops skip those without a BigInt.
   */
  private present(mfn: number, i: number): boolean {
    return (this.m.phys.read32n(mfn * 4096 + i * 8) & 1) !== 0;
  }

  // ---- Interruptible Xen code --------------------------------------------------------------

  /** Runs Xen code `g` to its end with no interleaving (its interrupt windows stay closed). */
  sync<T>(g: XenGen<T>): T {
    const prev = this.windows;
    this.windows = false;
    try {
      for (;;) {
        const r = g.next();
        if (r.done) return r.value;
      }
    } finally {
      this.windows = prev;
    }
  }

  /**
   * Runs hypercall `g` for a guest vCPU, as a piece of the vCPU's thread: each interrupt window
   * Xen's code reaches is an interleaving point of that thread.
   */
  *interruptible<T>(g: XenGen<T>): XenGen<T> {
    for (;;) {
      const r = this.resumeInterruptible(g);
      if (r.done) return r.value;
      yield r.value;
    }
  }

  /** One resumption of hypercall `g` with its interrupt windows open (a step of `interruptible`). */
  resumeInterruptible<T>(g: XenGen<T>): IteratorResult<YieldLabel, T> {
    const prev = this.windows;
    this.windows = true;
    try {
      return g.next();
    } finally {
      this.windows = prev;
    }
  }

  /**
   * Xen runs on with interrupts enabled (`local_irq_is_enabled()`): an interrupt, a flush IPI of
   * another CPU among them, may be serviced here, and the other CPUs run on meanwhile. The
   * interrupted hypercall's frames, CPU and domain are put aside while others run Xen.
   */
  private *irq_window(label: YieldLabel): XenGen<void> {
    if (!this.windows || !mustYield(label)) return;
    const frames = this.stack.save();
    const cpu = this.currentCpu;
    const d = this.current;
    yield label;
    this.stack.restore(frames);
    this.currentCpu = cpu;
    this.current = d;
  }

  // ---- TLB flushing (xen/arch/x86/flushtlb.c, smp.c) ------------------------------------

  /** `tlbflush_current_time()` (asm-x86/flushtlb.h): the TLB clock, `tlbflush_clock`. */
  tlbflush_current_time(): number {
    return this.tlbClock;
  }

  /**
   * `pre_flush()` (flushtlb.c, RELEASE-4.9.0 33-52): ticks the clock before a flush and returns
   * the new time. The wrap (`WRAP_MASK`, then NEW_TLBFLUSH_CLOCK_PERIOD_SOFTIRQ and a global
   * flush) needs 2^32 flushes in a release build and is not modelled.
   */
  private pre_flush(): number {
    const t2 = ((this.tlbClock + 1) & WRAP_MASK) >>> 0;
    if (t2 === 0) throw new Error('Xen model: tlbflush_clock wrapped (new_tlbflush_clock_period() is not modelled)');
    this.tlbClock = t2;
    return t2;
  }

  /** `post_flush(t)`: `this_cpu(tlbflush_time) = t`, after the flush. */
  private post_flush(cpu: number, t: number): void {
    this.cpuFlushTime[cpu] = t;
  }

  /**
   * `NEED_FLUSH(cpu_stamp, lastuse_stamp)` (asm-x86/flushtlb.h, RELEASE-4.9.0 31-45): a CPU that
   * flushed at or before the frame's last use must flush; while the clock is 0 (a wrap) every CPU
   * must, and a stamp above the current time is from before a wrap, whose global flush covered it.
   */
  private NEED_FLUSH(cpu_stamp: number, lastuse_stamp: number): boolean {
    const curr_time = this.tlbflush_current_time();
    return curr_time === 0 || (cpu_stamp <= lastuse_stamp && lastuse_stamp <= curr_time);
  }

  /**
   * `page_set_tlbflush_timestamp(page)`: records the frame's last use for the flush filter. With the
   * XSA-241 fix (commit 23a183607a, asm-x86/flushtlb.h) the clock is read and stored with interrupts
   * disabled. Before it, `page->tlbflush_timestamp = tlbflush_current_time()` runs with interrupts
   * enabled: between the read and the store another CPU may tick the clock and flush (its flush IPI
   * serviced here), so the stamp stored is older than those flushes.
   */
  private *page_set_tlbflush_timestamp(mfn: number): XenGen<void> {
    if (this.fixes.xsa241) {
      // ASSERT(local_irq_is_enabled()); local_irq_disable(); ... local_irq_enable();
      this.pages.tlbflushTimestamp[mfn] = this.tlbflush_current_time();
      return;
    }
    const t = this.tlbflush_current_time();
    yield* this.irq_window(LBL_XEN_STAMP_IRQ);
    this.pages.tlbflushTimestamp[mfn] = t;
  }

  /** `flush_tlb_mask(mask)`: full flush (write_cr3 with CR4.PGE toggled) on each CPU in `cpus`. */
  flush_tlb_mask(cpus: Iterable<number>): void {
    const now = this.pre_flush();
    for (const c of cpus) {
      this.m.cpus[c].flushTlbAll();
      this.post_flush(c, now);
    }
  }

  /**
   * `write_cr3(cr3)` (xen/arch/x86/flushtlb.c, 4.1.0 lines 73-99) on CPU `cpu`: `load` moves to
   * CR3 with CR4.PGE cleared (USER_MAPPINGS_ARE_GLOBAL on x86_64), so every entry goes, global
   * ones included; pre_flush()/post_flush() tick the TLB clock and stamp the CPU's
   * tlbflush_time, which later type-change flushes filter on.
   */
  write_cr3(cpu: number, load: () => void): void {
    const now = this.pre_flush();
    load();
    this.m.cpus[cpu].flushTlbAll();
    this.post_flush(cpu, now);
  }

  /** `flush_tlb_one_mask(mask, va)`: INVLPG on each CPU in `cpus`. */
  flush_tlb_one_mask(cpus: Iterable<number>, va: bigint): void {
    for (const c of cpus) this.m.cpus[c].invlpg(va);
  }

  /** All CPUs the domain has run on (`d->domain_dirty_cpumask`): every CPU of the machine. */
  domain_dirty_cpumask(): number[] {
    return this.m.cpus.map((c) => c.index);
  }

  /** `tlbflush_filter(mask, page_timestamp)`: drops the CPUs that definitely flushed since the stamp. */
  private tlbflush_filter(cpus: number[], stamp: number): number[] {
    return cpus.filter((c) => this.NEED_FLUSH(this.cpuFlushTime[c], stamp));
  }

  // ---- General references (count_info) ----------------------------------------------------

  /** Gives every frame in `mfns` to domain `domid` (`assign_pages`: PGC_allocated, count 1). */
  assign_pages(domid: number, mfns: Iterable<number>): void {
    const count = PGC_allocated | 1n; // one BigInt for every frame (this runs at every boot)
    for (const mfn of mfns) {
      this.pages.owner[mfn] = domid;
      this.pages.countInfo[mfn] = count;
    }
  }

  /** `get_page(page, d)`: a general reference, only if the frame belongs to `d`. */
  get_page(mfn: number, d: number): boolean {
    if (this.pages.owner[mfn] !== d) return false;
    const c = this.pages.countInfo[mfn];
    if ((c & PGC_count_mask) === 0n || (c & PGC_count_mask) === PGC_count_mask) return false;
    this.pages.countInfo[mfn] = c + 1n;
    return true;
  }

  /** `put_page(page)`. */
  put_page(mfn: number): void {
    const c = this.pages.countInfo[mfn];
    if ((c & PGC_count_mask) === 0n) throw new Error(`Xen model: put_page underflow on mfn ${lx(mfn)}`);
    this.pages.countInfo[mfn] = c - 1n;
  }

  /** `get_page_from_pagenr(page_nr, d)`, mm.c:652. */
  get_page_from_pagenr(mfn: number, d: number): boolean {
    if (!this.pages.valid(mfn) || !this.get_page(mfn, d)) {
      this.log(MM_C_LINE.couldNotGetPageRef, `Could not get page ref for pfn ${lx(mfn)}`);
      return false;
    }
    return true;
  }

  // ---- Type references (type_info) ---------------------------------------------------------

  /**
   * `__get_page_type(page, type, preemptible)`, mm.c:2311. Returns 0 or -EINVAL. A frame
   * changes type only when its type count is zero; then Xen flushes the TLBs that may still
   * hold mappings from before, and validates page-table types (alloc_page_type).
   */
  get_page_type_rc(mfn: number, type: bigint): number {
    const pi = this.pages;
    const x = pi.typeInfo[mfn];
    let nx = x + 1n;
    if ((nx & PGT_count_mask) === 0n) {
      this.log(MM_C_LINE.typeCountOverflow, `Type count overflow on pfn ${lx(mfn)}`);
      return -EINVAL;
    } else if ((x & PGT_count_mask) === 0n) {
      if ((x & PGT_type_mask) !== type) {
        // "On type change we check to flush stale TLB entries."
        const mask = this.tlbflush_filter(this.domain_dirty_cpumask(), pi.tlbflushTimestamp[mfn]);
        if (mask.length > 0) {
          this.typeChangeFlushes++;
          this.flush_tlb_mask(mask);
        }
        nx &= ~(PGT_type_mask | PGT_validated);
        nx |= type;
        if (type === PGT_writable_page) nx |= PGT_validated;
        this.onTypeChange?.(mfn, type);
        this.auditTypeChange?.(mfn, type);
      }
    } else if ((x & (PGT_type_mask | PGT_pae_xen_l2)) !== type) {
      // "Don't log failure if it could be a recursive-mapping attempt."
      const t = x & PGT_type_mask;
      if (t === PGT_l2_page_table && type === PGT_l1_page_table) return -EINVAL;
      if (t === PGT_l3_page_table && type === PGT_l2_page_table) return -EINVAL;
      if (t === PGT_l4_page_table && type === PGT_l3_page_table) return -EINVAL;
      this.log(MM_C_LINE.badType, `Bad type (saw ${PRtype_info(x)} != exp ${PRtype_info(type)}) for mfn ${lx(mfn)} (pfn ${lx(this.p2m.mfnToPfn(mfn))})`);
      return -EINVAL;
    } else if ((x & PGT_validated) === 0n) {
      // Only reachable with a validation in progress on another CPU or PGT_partial; every
      // validation here completes within its hypercall.
      throw new Error(`Xen model: mfn ${lx(mfn)} typed but not validated (${PRtype_info(x)})`);
    }
    pi.typeInfo[mfn] = nx;
    if ((nx & PGT_validated) === 0n) {
      pi.linearPtCount[mfn] = 0; // XSA-240 fix: `page->linear_pt_count = 0` before alloc_page_type
      return this.alloc_page_type(mfn, type);
    }
    return 0;
  }

  /** `get_page_type(page, type)`: 1 on success, 0 on failure. */
  get_page_type(mfn: number, type: bigint): boolean {
    return this.get_page_type_rc(mfn, type) === 0;
  }

  /**
   * `__put_page_type(page, preemptible)`, mm.c:2254 (with the XSA-240 fix `_put_page_type(page,
   * preemptible, ptpg)`). When the count of a page-table type drops to zero the table is
   * unvalidated (free_page_type drops the references its entries held) and the frame is stamped
   * for the TLB flush filter. `ptpg`, with the fix, is the table whose entry held the reference:
   * when it is of the same type (a linear entry), both linear_pt_counts are undone.
   */
  put_page_type(mfn: number, ptpg = -1): void {
    this.sync(this.__put_page_type(mfn, ptpg));
  }

  /**
   * The body of put_page_type(): the loop of RELEASE-4.9.0 mm.c 2449-2503. The last reference of a
   * type that is not a page table stamps the frame, then drops the count with
   * `cmpxchg(&page->u.inuse.type_info, x, nx)`, which retries when the word changed meanwhile
   * (possible only across the stamp's interrupt window: page_set_tlbflush_timestamp()).
   */
  *__put_page_type(mfn: number, ptpg = -1): XenGen<void> {
    const pi = this.pages;
    this.enterFrame('__put_page_type');
    for (;;) {
      const x = pi.typeInfo[mfn];
      if ((x & PGT_count_mask) === 0n) throw new Error(`Xen model: put_page_type underflow on mfn ${lx(mfn)}`);
      const nx = x - 1n;
      if ((nx & PGT_count_mask) === 0n) {
        if ((nx & PGT_type_mask) <= PGT_l4_page_table && (nx & (PGT_validated | PGT_partial)) !== 0n) {
          pi.typeInfo[mfn] = x & ~(PGT_validated | PGT_partial);
          this.free_page_type(mfn, x);
          // _put_final_page_type (XSA-240 fix): a linear use undone.
          if (ptpg >= 0 && this.PGT_type_equal(x, pi.typeInfo[ptpg])) this.dec_linear(mfn, ptpg);
          // __put_final_page_type: stamp, then drop the last type reference. The frame is
          // unvalidated meanwhile, and a get_page_type() on it would wait in real Xen (the model has
          // no such wait): this stamp opens no interrupt window.
          pi.tlbflushTimestamp[mfn] = this.tlbflush_current_time();
          pi.typeInfo[mfn] -= 1n;
          this.leaveFrame();
          return;
        }
        // An unvalidated page table: only while a domain dies (the fix ASSERTs so; not modelled).
        if (ptpg >= 0 && this.PGT_type_equal(x, pi.typeInfo[ptpg])) ptpg = -1;
        yield* this.page_set_tlbflush_timestamp(mfn);
      }
      if (pi.typeInfo[mfn] !== x) continue; // cmpxchg() failed: y != x
      pi.typeInfo[mfn] = nx;
      if (ptpg >= 0 && this.PGT_type_equal(x, pi.typeInfo[ptpg])) this.dec_linear(mfn, ptpg);
      this.leaveFrame();
      return;
    }
  }

  /** `PGT_type_equal(x, y)`. */
  private PGT_type_equal(x: bigint, y: bigint): boolean {
    return ((x ^ y) & PGT_type_mask) === 0n;
  }

  /** `dec_linear_uses(page); dec_linear_entries(ptpg);` (XSA-240 fix). */
  private dec_linear(page: number, ptpg: number): void {
    const c = this.pages.linearPtCount;
    if (c[page] >= 0 || c[ptpg] <= 0) throw new Error(`Xen model: linear_pt_count underflow (mfn ${lx(page)}: ${c[page]}, table ${lx(ptpg)}: ${c[ptpg]})`);
    c[page]++;
    c[ptpg]--;
  }

  /**
   * `inc_linear_entries(ptpg)` then `inc_linear_uses(page)` (XSA-240 fix): false, changing
   * nothing, when `ptpg` is itself used as a linear table elsewhere or `page` has linear entries
   * (or a count would overflow its 16 bits).
   */
  private inc_linear(page: number, ptpg: number): boolean {
    const c = this.pages.linearPtCount;
    if (c[ptpg] < 0 || c[ptpg] === 0x7fff) return false;
    if (c[page] > 0 || c[page] === -0x8000) return false;
    c[ptpg]++;
    c[page]--;
    return true;
  }

  /**
   * The put_page_and_type() of a page-table entry `put_page_from_lNe()` dropping the reference of
   * an entry of table `pfn` (`via`: the name of the call in RELEASE-4.9.0, for Xen's stack). With
   * the XSA-240 fix it is `_put_page_type(pg, preemptible, mfn_to_page(pfn))` and `put_page(pg)`.
   */
  private put_entry_ref(mfn: number, pfn: number, via: XenFrameName): void {
    this.enterFrame(via);
    this.put_page_type(mfn, this.fixes.xsa240 ? pfn : -1);
    this.leaveFrame();
    this.put_page(mfn);
  }

  /** `put_page_and_type(page)`. */
  put_page_and_type(mfn: number): void {
    this.sync(this.put_page_and_type_g(mfn));
  }

  /** put_page_and_type() as interruptible code. */
  *put_page_and_type_g(mfn: number): XenGen<void> {
    yield* this.__put_page_type(mfn);
    this.put_page(mfn);
  }

  /** `get_page_and_type_from_pagenr(page_nr, type, d, partial, preemptible)`, mm.c:666. */
  get_page_and_type_from_pagenr(mfn: number, type: bigint, d: number): number {
    if (!this.get_page_from_pagenr(mfn, d)) return -EINVAL;
    const rc = this.get_page_type_rc(mfn, type);
    if (rc) this.put_page(mfn);
    return rc;
  }

  /** `alloc_page_type(page, type, preemptible)`, mm.c:2088. */
  private alloc_page_type(mfn: number, type: bigint): number {
    let rc: number;
    switch (type & PGT_type_mask) {
      case PGT_l1_page_table:
        rc = this.alloc_l1_table(mfn);
        break;
      case PGT_l2_page_table:
        rc = this.alloc_l2_table(mfn);
        break;
      case PGT_l3_page_table:
        rc = this.alloc_l3_table(mfn);
        break;
      case PGT_l4_page_table:
        rc = this.alloc_l4_table(mfn);
        break;
      case PGT_seg_desc_page:
        rc = 0; // alloc_segdesc_page: descriptors are not modelled
        break;
      default:
        throw new Error(`Xen model: Bad type in alloc_page_type ${PRtype_info(type)}`);
    }
    const pi = this.pages;
    if (rc) {
      this.log(
        MM_C_LINE.errorValidating,
        `Error while validating mfn ${lx(mfn)} (pfn ${lx(this.p2m.mfnToPfn(mfn))}) for type ${PRtype_info(type)}: caf=${pi.countInfo[mfn].toString(16).padStart(8, '0')} taf=${PRtype_info(pi.typeInfo[mfn])}`,
      );
      pi.typeInfo[mfn] = 0n;
    } else {
      pi.typeInfo[mfn] |= PGT_validated;
      const level = levelOfType(type);
      if (level >= 1 && level <= 4) this.onValidated?.(mfn, level);
    }
    return rc;
  }

  /** `free_page_type(page, type, preemptible)`, mm.c:2154. */
  private free_page_type(mfn: number, type: bigint): void {
    this.enterFrame('free_page_type');
    switch (type & PGT_type_mask) {
      case PGT_l1_page_table:
        for (let i = 0; i < 512; i++) if (this.present(mfn, i)) this.put_page_from_l1e(this.entry(mfn, i));
        break;
      case PGT_l2_page_table:
        for (let i = 511; i >= 0; i--) if (this.present(mfn, i)) this.put_page_from_l2e(this.entry(mfn, i), mfn);
        break;
      case PGT_l3_page_table:
        for (let i = 511; i >= 0; i--) if (this.present(mfn, i)) this.put_page_from_l3e(this.entry(mfn, i), mfn);
        break;
      case PGT_l4_page_table:
        for (let i = 511; i >= 0; i--) if (is_guest_l4_slot(i) && this.present(mfn, i)) this.put_page_from_l4e(this.entry(mfn, i), mfn);
        break;
      default:
        throw new Error(`Xen model: free_page_type of type ${PRtype_info(type)} pfn ${lx(mfn)}`);
    }
    this.leaveFrame();
  }

  // ---- Validation of tables ---------------------------------------------------------------

  /** `alloc_l1_table(page)`, mm.c:1176. */
  private alloc_l1_table(mfn: number): number {
    for (let i = 0; i < 512; i++) {
      if (!this.present(mfn, i)) continue;
      const e = this.entry(mfn, i);
      const r = this.get_page_from_l1e(e, this.pages.owner[mfn]);
      if (r === 0) {
        this.log(MM_C_LINE.failureAllocL1, `Failure in alloc_l1_table: entry ${i}`);
        while (i-- > 0) this.put_page_from_l1e(this.entry(mfn, i));
        return -EINVAL;
      }
    }
    return 0;
  }

  /** `alloc_l2_table(page, type, preemptible)`, mm.c:1322. */
  private alloc_l2_table(mfn: number): number {
    for (let i = 0; i < 512; i++) {
      if (!this.present(mfn, i)) continue;
      const rc = this.get_page_from_l2e(this.entry(mfn, i), mfn, this.pages.owner[mfn]);
      if (rc > 0) continue;
      if (rc < 0) {
        this.log(MM_C_LINE.failureAllocL2, `Failure in alloc_l2_table: entry ${i}`);
        while (i-- > 0) this.put_page_from_l2e(this.entry(mfn, i), mfn);
        return rc;
      }
    }
    return 0;
  }

  /** `alloc_l3_table(page, preemptible)`, mm.c:1383 (x86_64 path). */
  private alloc_l3_table(mfn: number): number {
    for (let i = 0; i < 512; i++) {
      if (!this.present(mfn, i)) continue;
      const rc = this.get_page_from_l3e(this.entry(mfn, i), mfn, this.pages.owner[mfn]);
      if (rc > 0) continue;
      if (rc < 0) {
        this.log(MM_C_LINE.failureAllocL3, `Failure in alloc_l3_table: entry ${i}`);
        while (i-- > 0) this.put_page_from_l3e(this.entry(mfn, i), mfn);
        return rc;
      }
    }
    return 0;
  }

  /** `alloc_l4_table(page, preemptible)`, mm.c:1473 (RELEASE-4.1.0: 1491-1545). */
  private alloc_l4_table(mfn: number): number {
    for (let i = 0; i < 512; i++) {
      if (!is_guest_l4_slot(i) || !this.present(mfn, i)) continue;
      const rc = this.get_page_from_l4e(this.entry(mfn, i), mfn, this.pages.owner[mfn]);
      if (rc > 0) continue;
      if (rc < 0) {
        this.log(MM_C_LINE.failureAllocL4, `Failure in alloc_l4_table: entry ${i}`);
        while (i-- > 0) if (is_guest_l4_slot(i)) this.put_page_from_l4e(this.entry(mfn, i), mfn);
        return rc;
      }
    }
    // "Xen private mappings.": idle_pg_table's slots (not modelled: not present), then the
    // linear slot (the L4 itself) and the per-domain slot.
    const base = mfn * 4096;
    for (let i = ROOT_PAGETABLE_FIRST_XEN_SLOT; i <= ROOT_PAGETABLE_LAST_XEN_SLOT; i++) this.m.phys.write64n(base + i * 8, 0n);
    this.m.phys.write64n(base + LINEAR_PT_L4_SLOT * 8, (BigInt(mfn) << 12n) | __PAGE_HYPERVISOR);
    if (this.perdomainL3 !== null) this.m.phys.write64n(base + PERDOMAIN_L4_SLOT * 8, (BigInt(this.perdomainL3) << 12n) | __PAGE_HYPERVISOR);
    return 0;
  }

  // ---- References held by entries ----------------------------------------------------------

  /**
   * `get_page_from_l1e(l1e, l1e_owner, pg_owner)`, mm.c:788: 1 = ok (also for a non-present
   * entry), 0 = refused. A writable mapping takes a PGT_writable_page type reference: this is
   * what Xen refuses for a frame that is a page table.
   */
  get_page_from_l1e(l1e: bigint, d: number): number {
    const f = get_pte_flags(l1e);
    if (!(f & _PAGE_PRESENT)) return 1;
    if (f & L1_DISALLOW_MASK) {
      this.log(MM_C_LINE.badL1Flags, `Bad L1 flags ${lx(f & L1_DISALLOW_MASK)}`);
      return 0;
    }
    const mfn = pte_get_pfn(l1e);
    if (!this.pages.valid(mfn) || !this.get_page(mfn, d)) {
      // No I/O memory is modelled: a frame outside RAM or not owned is refused.
      return this.couldNotPin(mfn, l1e, d, false);
    }
    if (f & _PAGE_RW && !this.get_page_type(mfn, PGT_writable_page)) return this.couldNotPin(mfn, l1e, d, true);
    return 1;
  }

  private couldNotPin(mfn: number, l1e: bigint, d: number, haveRef: boolean): number {
    this.log(
      MM_C_LINE.errorGettingMfnFromL1,
      `Error getting mfn ${lx(mfn)} (pfn ${lx(this.p2m.mfnToPfn(mfn))}) from L1 entry ${PRtype_info(l1e)} for l1e_owner=${d}, pg_owner=${d}`,
    );
    if (haveRef) this.put_page(mfn);
    return 0;
  }

  /** `put_page_from_l1e(l1e, l1e_owner)`, mm.c:1063. */
  put_page_from_l1e(l1e: bigint): void {
    this.sync(this.put_page_from_l1e_g(l1e));
  }

  /** put_page_from_l1e() as interruptible code. */
  put_page_from_l1e_g(l1e: bigint): XenGen<void> {
    // A plain function (its caller delegates at once): a generator only for a writable mapping's type reference.
    const f = get_pte_flags(l1e);
    if (!(f & _PAGE_PRESENT)) return DONE;
    const mfn = pte_get_pfn(l1e);
    if (!this.pages.valid(mfn)) return DONE;
    if (f & _PAGE_RW) return this.put_page_and_type_g(mfn);
    this.put_page(mfn);
    return DONE;
  }

  /**
   * `define_get_linear_pagetable(level)`, mm.c:712: an entry of a level-N table may map another
   * (already validated) level-N table, read-only: Xen's linear page-table rule.
   */
  private get_linear_pagetable(level: 2 | 3 | 4, pde: bigint, pdePfn: number, d: number): boolean {
    if (get_pte_flags(pde) & _PAGE_RW) {
      const line = level === 2 ? MM_C_LINE.linearL2 : level === 3 ? MM_C_LINE.linearL3 : MM_C_LINE.linearL4;
      this.log(line, 'Attempt to create linear p.t. with write perms');
      return false;
    }
    const pfn = pte_get_pfn(pde);
    if (pfn !== pdePfn) {
      const xsa240 = this.fixes.xsa240;
      // XSA-240 fix: "Make sure the page table belongs to the correct domain."
      if (xsa240 && this.pages.owner[pdePfn] !== d) return false;
      if (!this.get_page_from_pagenr(pfn, d)) return false;
      // XSA-240 fix: the mapped table has no linear entries, the containing one no linear uses.
      if (xsa240 && !this.inc_linear(pfn, pdePfn)) {
        this.put_page(pfn);
        return false;
      }
      const x = this.pages.typeInfo[pfn];
      const want = (BigInt(level) << 60n) | PGT_validated;
      if ((x & PGT_count_mask) === PGT_count_mask || (x & (PGT_type_mask | PGT_validated)) !== want) {
        if (xsa240) this.dec_linear(pfn, pdePfn);
        this.put_page(pfn);
        return false;
      }
      this.pages.typeInfo[pfn] = x + 1n;
    }
    this.onPath?.(`get_l${level}_linear_pagetable`);
    return true;
  }

  /** `get_page_from_l2e(l2e, pfn, d)`, mm.c:899: 1 = not present, 0 = ok, <0 = refused. */
  get_page_from_l2e(l2e: bigint, pfn: number, d: number): number {
    const f = get_pte_flags(l2e);
    if (!(f & _PAGE_PRESENT)) return 1;
    const disallow = this.l2DisallowMask();
    if (f & disallow) {
      this.log(MM_C_LINE.badL2Flags, `Bad L2 flags ${lx(f & disallow)}`);
      return -EINVAL;
    }
    if (!(f & _PAGE_PSE)) {
      let rc = this.get_page_and_type_from_pagenr(pte_get_pfn(l2e), PGT_l1_page_table, d);
      if (rc === -EINVAL && this.get_linear_pagetable(2, l2e, pfn, d)) rc = 0;
      return rc;
    }
    // opt_allow_superpage is 0 by default in this Xen.
    this.log(MM_C_LINE.superpageDisallowed, 'Attempt to map superpage without allowsuperpage flag in hypervisor');
    return -EINVAL;
  }

  /** `get_page_from_l3e(l3e, pfn, d, partial, preemptible)`, mm.c:941. */
  get_page_from_l3e(l3e: bigint, pfn: number, d: number): number {
    const f = get_pte_flags(l3e);
    if (!(f & _PAGE_PRESENT)) return 1;
    if (f & L3_DISALLOW_MASK) {
      this.log(MM_C_LINE.badL3Flags, `Bad L3 flags ${lx(f & L3_DISALLOW_MASK)}`);
      return -EINVAL;
    }
    let rc = this.get_page_and_type_from_pagenr(pte_get_pfn(l3e), PGT_l2_page_table, d);
    if (rc === -EINVAL && this.get_linear_pagetable(3, l3e, pfn, d)) rc = 0;
    return rc;
  }

  /** `get_page_from_l4e(l4e, pfn, d, partial, preemptible)`, mm.c:966. */
  get_page_from_l4e(l4e: bigint, pfn: number, d: number): number {
    const f = get_pte_flags(l4e);
    if (!(f & _PAGE_PRESENT)) return 1;
    if (f & L4_DISALLOW_MASK) {
      this.log(MM_C_LINE.badL4Flags, `Bad L4 flags ${lx(f & L4_DISALLOW_MASK)}`);
      return -EINVAL;
    }
    let rc = this.get_page_and_type_from_pagenr(pte_get_pfn(l4e), PGT_l3_page_table, d);
    if (rc === -EINVAL && this.get_linear_pagetable(4, l4e, pfn, d)) rc = 0;
    return rc;
  }

  /** `put_page_from_l2e(l2e, pfn)`, mm.c:1119 (also undoes linear mappings). */
  put_page_from_l2e(l2e: bigint, pfn: number): void {
    if (!(get_pte_flags(l2e) & _PAGE_PRESENT) || pte_get_pfn(l2e) === pfn) return;
    this.enterFrame('put_page_from_l2e');
    this.put_entry_ref(pte_get_pfn(l2e), pfn, 'put_page_type');
    this.leaveFrame();
  }

  /** `put_page_from_l3e(l3e, pfn, partial, preemptible)`, mm.c:1134. */
  put_page_from_l3e(l3e: bigint, pfn: number): void {
    if (!(get_pte_flags(l3e) & _PAGE_PRESENT) || pte_get_pfn(l3e) === pfn) return;
    this.enterFrame('put_page_from_l3e');
    this.put_entry_ref(pte_get_pfn(l3e), pfn, 'put_page_type_preemptible');
    this.leaveFrame();
  }

  /** `put_page_from_l4e(l4e, pfn, partial, preemptible)`, mm.c:1162. */
  put_page_from_l4e(l4e: bigint, pfn: number): void {
    if (!(get_pte_flags(l4e) & _PAGE_PRESENT) || pte_get_pfn(l4e) === pfn) return;
    this.enterFrame('put_page_from_l4e');
    this.put_entry_ref(pte_get_pfn(l4e), pfn, 'put_page_type_preemptible');
    this.leaveFrame();
  }

  // ---- Entry updates (mod_lN_entry) --------------------------------------------------------

  /** `L2_DISALLOW_MASK`: without `allowsuperpage`, PSE is refused only once XSA-148 is fixed. */
  private l2DisallowMask(): number {
    return l2AllowsPse(this.fixes) ? L2_DISALLOW_MASK : BASE_DISALLOW_MASK;
  }

  /** `UPDATE_ENTRY` / `update_intpte`: the store into the validated table (preserve_ad ORs A|D); mod_lN_entry() and ptwr_emulated_update() store through it. */
  update_entry(pa: number, nval: bigint, preserveAd: boolean): void {
    let v = nval;
    if (preserveAd) v |= this.m.phys.read64n(pa) & 0x60n;
    this.onEntryWrite?.(pa);
    this.m.phys.write64n(pa, v);
  }

  /** `mod_l1_entry(pl1e, nl1e, gl1mfn, preserve_ad, pt_vcpu, pg_dom)`, mm.c:1734: 1 = ok, 0 = refused. */
  mod_l1_entry(pa: number, nl1e: bigint, preserveAd: boolean, d: number): number {
    return this.sync(this.mod_l1_entry_g(pa, nl1e, preserveAd, d));
  }

  /** mod_l1_entry() as interruptible code. */
  *mod_l1_entry_g(pa: number, nl1e: bigint, preserveAd: boolean, d: number): XenGen<number> {
    const ol1e = this.m.phys.read64n(pa);
    const nf = get_pte_flags(nl1e);
    if (nf & _PAGE_PRESENT) {
      if (nf & L1_DISALLOW_MASK) {
        this.log(MM_C_LINE.modL1BadFlags, `Bad L1 flags ${lx(nf & L1_DISALLOW_MASK)}`);
        return 0;
      }
      // Fast path for identical mapping, r/w and presence (l1e_has_changed; fixes.ts: XSA-182).
      if (!lNeHasChanged(ol1e, nl1e, l1FastpathFlags(this.fixes))) {
        this.update_entry(pa, nl1e, preserveAd);
        return 1;
      }
      if (this.get_page_from_l1e(nl1e, d) === 0) return 0;
    }
    this.update_entry(pa, nl1e, preserveAd);
    yield* this.put_page_from_l1e_g(ol1e);
    return 1;
  }

  /** `mod_l2_entry(pl2e, nl2e, pfn, preserve_ad, vcpu)`, mm.c:1808: 1 = ok, 0 = refused. */
  mod_l2_entry(pa: number, nl2e: bigint, preserveAd: boolean, d: number): number {
    const pfn = Math.floor(pa / 4096);
    const ol2e = this.m.phys.read64n(pa);
    const nf = get_pte_flags(nl2e);
    if (nf & _PAGE_PRESENT) {
      const disallow = this.l2DisallowMask();
      if (nf & disallow) {
        this.log(MM_C_LINE.modL2BadFlags, `Bad L2 flags ${lx(nf & disallow)}`);
        return 0;
      }
      // Fast path for identical mapping and presence (fixes.ts: XSA-148, XSA-182).
      if (!lNeHasChanged(ol2e, nl2e, lNFastpathFlags(this.fixes))) {
        this.onPath?.('mod_l2_entry:fastpath');
        this.update_entry(pa, nl2e, preserveAd);
        return 1;
      }
      if (this.get_page_from_l2e(nl2e, pfn, d) < 0) return 0;
    }
    this.update_entry(pa, nl2e, preserveAd);
    this.put_page_from_l2e(ol2e, pfn);
    return 1;
  }

  /** `mod_l3_entry(pl3e, nl3e, pfn, preserve_ad, preemptible, vcpu)`, mm.c:1868: 0 or -errno. */
  mod_l3_entry(pa: number, nl3e: bigint, preserveAd: boolean, d: number): number {
    const pfn = Math.floor(pa / 4096);
    const ol3e = this.m.phys.read64n(pa);
    const nf = get_pte_flags(nl3e);
    if (nf & _PAGE_PRESENT) {
      if (nf & L3_DISALLOW_MASK) {
        this.log(MM_C_LINE.modL3BadFlags, `Bad L3 flags ${lx(nf & L3_DISALLOW_MASK)}`);
        return -EINVAL;
      }
      if (!lNeHasChanged(ol3e, nl3e, lNFastpathFlags(this.fixes))) {
        this.onPath?.('mod_l3_entry:fastpath');
        this.update_entry(pa, nl3e, preserveAd);
        return 0;
      }
      const rc = this.get_page_from_l3e(nl3e, pfn, d);
      if (rc < 0) return rc;
    }
    this.update_entry(pa, nl3e, preserveAd);
    this.put_page_from_l3e(ol3e, pfn);
    return 0;
  }

  /** `mod_l4_entry(pl4e, nl4e, pfn, preserve_ad, preemptible, vcpu)`, mm.c:1946: 0 or -errno. */
  mod_l4_entry(pa: number, nl4e: bigint, preserveAd: boolean, d: number): number {
    const pfn = Math.floor(pa / 4096);
    const slot = (pa % 4096) / 8;
    if (!is_guest_l4_slot(slot)) {
      this.log(MM_C_LINE.illegalL4Update, `Illegal L4 update attempt in Xen-private area ${lx(pa)}`);
      return -EINVAL;
    }
    const ol4e = this.m.phys.read64n(pa);
    const nf = get_pte_flags(nl4e);
    if (nf & _PAGE_PRESENT) {
      if (nf & L4_DISALLOW_MASK) {
        this.log(MM_C_LINE.modL4BadFlags, `Bad L4 flags ${lx(nf & L4_DISALLOW_MASK)}`);
        return -EINVAL;
      }
      if (!lNeHasChanged(ol4e, nl4e, lNFastpathFlags(this.fixes))) {
        this.onPath?.('mod_l4_entry:fastpath');
        this.update_entry(pa, nl4e, preserveAd);
        return 0;
      }
      const rc = this.get_page_from_l4e(nl4e, pfn, d);
      if (rc < 0) return rc;
    }
    this.update_entry(pa, nl4e, preserveAd);
    this.put_page_from_l4e(ol4e, pfn);
    return 0;
  }

  // ---- Pinning -----------------------------------------------------------------------------

  /** Sets PGT_pinned; false if it was already set (`test_and_set_bit(_PGT_pinned, ...)`). */
  test_and_set_pinned(mfn: number): boolean {
    const was = (this.pages.typeInfo[mfn] & PGT_pinned) !== 0n;
    this.pages.typeInfo[mfn] |= PGT_pinned;
    return !was;
  }

  /** Clears PGT_pinned; false if it was not set. */
  test_and_clear_pinned(mfn: number): boolean {
    const was = (this.pages.typeInfo[mfn] & PGT_pinned) !== 0n;
    this.pages.typeInfo[mfn] &= ~PGT_pinned;
    return was;
  }

  /** The type used by MMUEXT_NEW_BASEPTR (`PGT_root_page_table`). */
  static readonly rootType = PGT_root_page_table;
}
