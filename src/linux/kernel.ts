/**
 * The modelled Linux kernel on a core machine: boot (init_mm and the kernel page tables), the
 * per-CPU state, the task list, the kernel log, BUG()/WARN(), and the `SchedTarget` the
 * deterministic scheduler drives. Model functions take the kernel `k` and the CPU they run on.
 */
import type { CoreMachine } from '../modelcpu/contract.js';
import type { MachineSnapshot } from '../core/machine.js';
import { GraphSnapshot } from '../util/graph-snapshot.js';
import type { ModelCpu } from '../modelcpu/cpu.js';
import type { SchedTarget } from '../scheduler/scheduler.js';
import type { InterruptSource } from '../scheduler/types.js';
import type { ExecThread, KGen } from '../scheduler/types.js';
import { setPointSink } from '../scheduler/point.js';
import { FindingStop } from '../sanitizers/finding.js';
import { LockupDetector } from '../sanitizers/lockup.js';
import { watchdogReporter } from './watchdog.js';
import type { LinuxConfig } from './config.js';
import {
  EFER_LME,
  EFER_NX,
  X86_CR0_PE,
  X86_CR0_PG,
  X86_CR0_WP,
  X86_CR4_PAE,
  X86_CR4_PGE,
  X86_CR4_PSE,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_GLOBAL,
  _PAGE_NX,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _KERNPG_TABLE,
} from './constants.js';
import { makeLayout, pgd_index, type Layout } from './layout.js';
import { pvBackend, type PvOps } from './paravirt.js';
import { LinuxCpu } from './percpu.js';
import { callTrace, dieHeader, warnLine } from './report.js';
import { MmStruct, TaskStruct, type TaskBody } from './structs.js';
import { __cond_resched, cpu_idle, LBL_COND_RESCHED, LBL_IDLE, preempt_schedule_irq } from './sched.js';
import { task_entry } from './exit.js';
import { linuxTraps } from './fault.js';
import './backends.js';

/** Options of `Kernel.boot`. */
export interface BootOptions {
  /** Boot-time hook run after init_mm is built (e.g. a backend pinning swapper_pg_dir). */
  afterInitMm?: (k: Kernel) => void;
}

/**
 * Observers of what a process sees, for outcome oracles (the fuzzer's, src/fuzz/outcome.ts): they
 * judge results, never steer the model. Unset outside a campaign.
 */
export interface KernelObservers {
  /** A user-mode fault is about to be answered with SIGSEGV (bad_area: force_sig_info_fault). */
  sigsegv?(cpu: LinuxCpu, address: bigint, errorCode: number): void;
  /** A user-mode fault is about to be answered with SIGBUS (do_sigbus: e.g. beyond the end of a mapped file). */
  sigbus?(cpu: LinuxCpu, address: bigint, errorCode: number): void;
  /** do_page_fault() returns to the faulting context (`address` is CR2). */
  pageFaultReturn?(cpu: LinuxCpu, address: bigint, errorCode: number): void;
  /** exit_mmap() returned: the address space `mm` has no user mapping left. */
  exitMmap?(cpu: LinuxCpu, mm: MmStruct): void;
  /** vm_unmap_aliases() starts (`done` false) / returns (`done` true): no lazy vmap alias is left unflushed. */
  unmapAliases?(cpu: LinuxCpu, done: boolean): void;
  /** call_rcu_sched() queued callback `token` / the rcu_sched thread is about to invoke it (`name`). */
  rcuQueued?(cpu: LinuxCpu, token: object): void;
  rcuInvoke?(cpu: LinuxCpu, token: object, name: string): void;
  /** A store to the page-table entry at physical address `pa` is about to be made (the entry still holds its old value). */
  ptWrite?(pa: number): void;
  /**
   * A pv_mmu_ops store into a pte that names its mm (`what`: set_pte_at, pte_clear or
   * ptep_modify_prot_commit) is about to be made by `cpu`'s current task, for address `addr`;
   * `deferred`: queued in the CPU's batch (Xen PV's lazy MMU mode), it takes effect at
   * `pteBatchIssued`.
   */
  pteStore?(cpu: LinuxCpu, mm: MmStruct, addr: bigint, what: string, deferred: boolean): void;
  /** Xen PV: `cpu`'s multicall batch is about to be issued (its queued pte stores take effect). */
  pteBatchIssued?(cpu: LinuxCpu): void;
  /**
   * Xen PV: Xen refused an update the kernel issued, and the kernel went on (`what`: the call
   * and the function that issued it; `after`: what the kernel did about it — xen_mc_flush()'s
   * WARN for a batch, nothing for __xen_set_pte()'s direct update; `log`: its report, if any).
   */
  xenRefused?(cpu: LinuxCpu, what: string, after: string, log: string[]): void;
}

/** What `Kernel.snapshot()` saved. */
export interface KernelSnapshot {
  readonly machine: MachineSnapshot;
  readonly graph: GraphSnapshot;
}

export class Kernel implements SchedTarget {
  readonly L: Layout;
  readonly cpus: LinuxCpu[] = [];
  readonly sources: InterruptSource[] = [];
  readonly pv: PvOps;
  init_mm!: MmStruct;
  /** pgd_list (arch/x86/mm/fault.c): every pgd but init_mm's, for vmalloc_sync_all(). */
  readonly pgd_list: MmStruct[] = [];
  /** All tasks ever created, idle tasks included. */
  readonly tasks: TaskStruct[] = [];
  /** Tasks whose completion ends the run. */
  readonly workload = new Set<TaskStruct>();
  /** The kernel log (dmesg), lines as printed. */
  readonly log: string[] = [];
  /** Bumped on every page-table write made by the model. */
  ptEpoch = 0;
  /** Context switches performed (rq->nr_switches, all CPUs). */
  nr_switches = 0;
  readonly lockup: LockupDetector<LinuxCpu>;
  /**
   * Outcome observers (see KernelObservers). Every key exists from the start, so that the snapshot
   * records it and a restore puts `undefined` back instead of deleting the keys an execution set
   * (a delete turns the object into a slow dictionary for the model's every later lookup).
   */
  readonly observers: KernelObservers = {
    sigsegv: undefined,
    sigbus: undefined,
    pageFaultReturn: undefined,
    exitMmap: undefined,
    unmapAliases: undefined,
    rcuQueued: undefined,
    rcuInvoke: undefined,
    ptWrite: undefined,
    pteStore: undefined,
    pteBatchIssued: undefined,
    xenRefused: undefined,
  };
  /** Other consoles a report quotes (a hypervisor's, e.g. Xen's `(XEN)` lines), registered by backends. */
  readonly otherConsoles: Array<() => readonly string[]> = [];
  /**
   * `__supported_pte_mask` (arch/x86/mm/init.c): bits a kernel pte may carry. A paravirt backend
   * may clear some before boot (Xen PV: _PAGE_GLOBAL, arch/x86/xen/enlighten.c).
   */
  __supported_pte_mask = ~0n;
  /** cpu_has_pge: CPUID reports PGE (Xen hides it from PV guests, xen/arch/x86/traps.c pv_cpuid). */
  cpu_has_pge = true;
  /** State of other modules, by kind (kstate.ts `defineKernelState`; undefined: not created yet). */
  readonly kstate: unknown[] = [];
  private nextPid = 1;
  private nextMmId = 1;
  private dieCounter = 0;
  private readonly warned = new Set<string>();

  private constructor(
    readonly m: CoreMachine,
    readonly config: LinuxConfig,
  ) {
    this.L = makeLayout(config.paging, m.ramBytes);
    this.pv = pvBackend(config.paravirt)(this);
    this.lockup = new LockupDetector(watchdogReporter(this));
  }

  /**
   * Registers an interrupt source; returns its index among the sources, or -1 for an NMI source
   * on a platform that delivers no NMIs to this kernel (knob `platform_nmi`).
   */
  addInterruptSource(src: InterruptSource): number {
    if (src.kind === 'nmi' && !this.config.platform_nmi) return -1;
    return this.sources.push(src) - 1;
  }

  /** Boots the kernel on `m` (which must be freshly created or `reset()`). */
  static boot(m: CoreMachine, config: LinuxConfig, opts: BootOptions = {}): Kernel {
    if (m.cpus.length < config.cpus) throw new Error(`the machine has ${m.cpus.length} CPUs, the kernel config wants ${config.cpus}`);
    const k = new Kernel(m, config);
    k.init_mm = new MmStruct(0, k.buildSwapperPgDir(), 'init_mm');
    k.init_mm.mm_users = 2;
    opts.afterInitMm?.(k);
    for (let i = 0; i < config.cpus; i++) k.bootCpu(i);
    return k;
  }

  /**
   * Snapshots this freshly booted kernel and its machine, for `restore()`: the fuzzer boots once
   * and restores before each execution instead of booting again (as a fork server would). The
   * snapshot covers the machine (`CoreMachine.snapshot`: CPUs, caches, RAM, frame table) and every
   * object reachable from the kernel — its fields, the CPUs and tasks, the backends' state and all
   * state registered with `defineKernelState` — except the machine's own objects. The idle tasks'
   * loops are the only generators a booted kernel holds; a restore starts them anew.
   */
  snapshot(): KernelSnapshot {
    const m = this.m;
    const idle = new Set<unknown>(this.cpus.map((c) => c.idle.stack[0]));
    if (this.cpus.some((c) => c.idle.stack.length !== 1 || c.idle.lastLabel !== 'new' || c.curr !== c.idle))
      throw new Error('Kernel.snapshot: only a freshly booted kernel can be snapshotted');
    const skip = new Set<object>([m, m.phys, m.frames, ...m.cpus]);
    return {
      machine: m.snapshot(),
      graph: GraphSnapshot.capture(this, { skip, allowGenerator: (g) => idle.has(g) }),
    };
  }

  /** Puts this kernel and its machine back in the state `s` (taken by `snapshot()` of this kernel) recorded. */
  restore(s: KernelSnapshot): void {
    this.m.restore(s.machine);
    s.graph.restore();
    for (const cpu of this.cpus) cpu.idle.stack[0] = cpu_idle(this, cpu);
  }

  /** Builds swapper_pg_dir / init_level4_pgt with the direct map of all RAM in large pages. */
  private buildSwapperPgDir(): number {
    const L = this.L;
    const pgd = this.allocPageTable(L.paging === '4level' ? 4 : L.paging === 'pae' ? 3 : 2);
    const nx = L.paging === '32bit' ? 0n : _PAGE_NX;
    const large = (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_PSE | _PAGE_GLOBAL | nx) & this.__supported_pte_mask;
    const lowmem = Math.min(this.m.ramBytes, L.paging === '4level' ? 512 * 1024 * 1024 : 768 * 1024 * 1024);
    const write = (p: number, v: bigint) => (L.entrySize === 8 ? this.m.phys.write64n(p, v) : this.m.phys.write32(BigInt(p), Number(v)));
    let pmd = 0;
    if (L.paging === '4level') {
      const pud = this.allocPageTable(3);
      pmd = this.allocPageTable(2);
      write(pgd + pgd_index(L, L.PAGE_OFFSET) * 8, BigInt(pud) | _KERNPG_TABLE);
      write(pud + Number((L.PAGE_OFFSET >> 30n) & 511n) * 8, BigInt(pmd) | _KERNPG_TABLE);
    } else if (L.paging === 'pae') {
      // The kernel pmd (PDPT entry 3), shared by every pgd (SHARED_KERNEL_PMD); PDPTEs hold only P.
      pmd = this.allocPageTable(2);
      write(pgd + 3 * 8, BigInt(pmd) | _PAGE_PRESENT);
    }
    for (let pa = 0; pa < lowmem; pa += L.LARGE_PAGE) {
      const va = L.PAGE_OFFSET + BigInt(pa);
      if (L.paging === '32bit') write(pgd + pgd_index(L, va) * 4, BigInt(pa) | large);
      else write(pmd + Number((va >> 21n) & 511n) * 8, BigInt(pa) | large);
    }
    return pgd;
  }

  /** Brings up CPU `i`: paging on with swapper_pg_dir, the idle task swapper/i running. */
  private bootCpu(i: number): void {
    const hw = this.m.cpus[i];
    const L = this.L;
    const pge = this.cpu_has_pge ? X86_CR4_PGE : 0n; // probe_page_size_mask(): set_in_cr4(X86_CR4_PGE) if cpu_has_pge
    if (L.paging === '4level') {
      hw.setControl({ cr4: X86_CR4_PAE | pge });
      hw.setControl({ efer: EFER_LME | EFER_NX });
    } else if (L.paging === 'pae') {
      hw.setControl({ cr4: X86_CR4_PAE | pge });
      hw.setControl({ efer: EFER_NX });
    } else {
      hw.setControl({ cr4: X86_CR4_PSE | pge });
    }
    hw.setControl({ cr3: BigInt(this.init_mm.pgd) });
    hw.setControl({ cr0: X86_CR0_PE | X86_CR0_PG | X86_CR0_WP });
    const idle = new TaskStruct(0, `swapper/${i}`, i, true, null, true);
    idle.active_mm = this.init_mm;
    idle.state = 'running';
    idle.savedPreemptCount = 0;
    this.init_mm.mm_count++;
    const cpu = new LinuxCpu(i, hw, idle);
    cpu.tlbActiveMm = this.init_mm;
    cpu.traps = linuxTraps(this);
    idle.stack.push(cpu_idle(this, cpu));
    this.tasks.push(idle);
    this.cpus.push(cpu);
  }

  /** Allocates a zeroed page-table page at `level` (frame-table level: 1 = PT .. 4 = PML4). */
  allocPageTable(level: number): number {
    const pfn = this.m.frames.alloc({ level, zero: true });
    return pfn * 4096;
  }

  /** A new mm id. */
  newMmId(): number {
    return this.nextMmId++;
  }

  /**
   * Creates a task pinned to `cpu` that runs `body` once scheduled (kernel_thread()/a forked
   * process). `mm` null makes a kernel thread. The task joins the workload unless `daemon`.
   */
  createTask(comm: string, cpu: number, mm: MmStruct | null, body: TaskBody, daemon = false): TaskStruct {
    if (cpu < 0 || cpu >= this.cpus.length) throw new Error(`task '${comm}': no CPU ${cpu} (the kernel has ${this.cpus.length})`);
    const t = new TaskStruct(this.nextPid++, comm, cpu, mm === null, body);
    t.mm = mm;
    t.active_mm = mm;
    t.state = 'runnable';
    t.stack.push(task_entry(this, this.cpus[cpu], t));
    this.tasks.push(t);
    this.cpus[cpu].tasks.push(t);
    if (!daemon) this.workload.add(t);
    return t;
  }

  /**
   * Records a store to the page-table entry at physical address `pa` (every model and backend
   * store to a paging structure must call this, or use `writeEntry`).
   */
  notePtWrite(pa: number): void {
    this.ptEpoch++;
    this.lockup.onWrite(pa);
  }

  /** printk(): appends lines to the kernel log. */
  printk(...lines: string[]): void {
    for (const l of lines) this.log.push(l);
  }

  /**
   * BUG() / BUG_ON(cond) true: prints the report as lib/bug.c and __die() do and stops the run
   * with a 'kernel-bug' finding. `line` is the kernel's source line (null where the model does not
   * know it; the report then says so instead of inventing one).
   */
  BUG(cpu: LinuxCpu, file: string, line: number | null, fn: string): never {
    const where = line === null ? file : `${file}:${line}`;
    const note = line === null ? [`pagewalk: ${fn}(): the source line of this BUG is not verified for Linux ${this.config.version} (line unknown)`] : [];
    const lines = [
      '------------[ cut here ]------------',
      `kernel BUG at ${where}!`,
      ...note,
      ...dieHeader(this.config, cpu, 'invalid opcode', 0, ++this.dieCounter),
      `RIP: ${fn}`,
      ...callTrace(cpu),
    ];
    this.printk(...lines);
    throw new FindingStop({ sanitizer: 'kernel-bug', signature: `kernel BUG at ${where} in ${fn}`, log: lines });
  }

  /** An oops (no_context(): "BUG: unable to handle kernel paging request at ..."). */
  oops(cpu: LinuxCpu, headline: string, err: number, fn: string, extra: string[] = []): never {
    const lines = [headline, `IP: ${fn}`, ...extra, ...dieHeader(this.config, cpu, 'Oops', err, ++this.dieCounter), ...callTrace(cpu)];
    this.printk(...lines);
    throw new FindingStop({ sanitizer: 'oops', signature: `${headline.replace(/ at [0-9a-fx]+$/i, '')} in ${fn}`, log: lines });
  }

  /**
   * WARN_ON_ONCE(cond) true: prints the warning once per site (warn_slowpath_common()); the run
   * continues. Returns true the first time.
   */
  WARN_ON_ONCE(cpu: LinuxCpu, file: string, line: number | null, fn: string): boolean {
    const site = `${file}:${line ?? fn}`;
    if (this.warned.has(site)) return false;
    this.warned.add(site);
    const note =
      line === null ? [`pagewalk: ${fn}(): the source line of this WARN_ON_ONCE is not verified for Linux ${this.config.version} (line unknown)`] : [];
    this.printk('------------[ cut here ]------------', warnLine(this.config, cpu, file, line, fn), ...note, ...callTrace(cpu));
    return true;
  }

  /** Runs a generator to completion without interleaving (boot-time and setup code). */
  runSync<T>(gen: KGen<T>): T {
    const sink = setPointSink(null); // every point yields to this loop, whoever is stepping
    try {
      for (;;) {
        const r = gen.next();
        if (r.done) return r.value;
      }
    } finally {
      setPointSink(sink);
    }
  }

  // ---- SchedTarget -------------------------------------------------------------------------

  canStep(cpu0: ModelCpu): boolean {
    const cpu = cpu0 as LinuxCpu;
    if (cpu.frames.length > 0) return true;
    const t = cpu.curr;
    if (t.idle) return cpu.hasRunnable() || t.lastLabel !== LBL_IDLE;
    return t.stack.length > 0;
  }

  canPreempt(cpu0: ModelCpu): boolean {
    const cpu = cpu0 as LinuxCpu;
    const p = this.config.preempt;
    const t = cpu.curr;
    // Return to user mode and cond_resched() reschedule under every model; other kernel code
    // only with PREEMPT/PREEMPT_RT.
    if (!t.userMode && t.lastLabel !== LBL_COND_RESCHED && p !== 'preempt' && p !== 'rt') return false;
    return !t.idle && t.state === 'running' && cpu.preemptCount === 0 && cpu.IF && cpu.hasRunnable(t);
  }

  preempt(cpu0: ModelCpu): void {
    const cpu = cpu0 as LinuxCpu;
    const t = cpu.curr;
    if (t.lastLabel === LBL_COND_RESCHED) {
      // need_resched seen by cond_resched(): the voluntary path. Relabel so that the same point
      // is not taken twice before the task steps.
      t.lastLabel = '_cond_resched';
      t.stack.push(__cond_resched(this, cpu));
      return;
    }
    t.stack.push(preempt_schedule_irq(this, cpu));
  }

  taskReturned(cpu0: ModelCpu, task: ExecThread): void {
    const cpu = cpu0 as LinuxCpu;
    throw new Error(`cpu${cpu.index}: task '${(task as TaskStruct).comm}' returned from its outermost frame without do_exit()`);
  }

  /**
   * The workload is complete: every workload task is dead, no interrupt is in progress, and each
   * CPU has finished switching away from them (its idle task back in its loop, or a daemon).
   */
  finished(): boolean {
    for (const t of this.workload) if (t.state !== 'dead') return false;
    for (const c of this.cpus) {
      const t = c.curr;
      if (c.frames.length > 0 || t.state === 'dead' || this.workload.has(t)) return false;
      if (t.idle && t.lastLabel !== LBL_IDLE) return false;
    }
    return true;
  }
}
