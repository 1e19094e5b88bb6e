/**
 * The modelled CPU: what the kernel model sees of a processor besides its MMU. Registers, TLB
 * and walks live in the core `Cpu` (`hw`); this adds EFLAGS.IF, the preempt count, interrupt and
 * NMI nesting, the current thread, the stack of interrupt frames and the pending IPIs.
 *
 * Three CPU classes, one per layer (docs/architecture.md, "Which CPU is which"):
 * - `Cpu` (src/core/cpu.ts): the hardware of the paging core — control registers, TLB,
 *   paging-structure caches and the SDM walker, in WASM. No notion of tasks or interrupts.
 * - `ModelCpu` (this file): one `Cpu` (`hw`, seen through the `CoreCpu` contract) as an operating-
 *   system model runs on it — IF, interrupt/NMI/IPI frames, the running thread, trap handlers —
 *   and what the deterministic scheduler steps. Independent of any kernel.
 * - `LinuxCpu` (src/linux/percpu.ts): a `ModelCpu` with Linux's per-cpu state (cpu_tlbstate,
 *   the paravirt lazy mode, the idle task and runqueue, the preempt count of `current`).
 *
 * Nesting follows x86: an interrupt or exception gate clears IF on entry and IRET restores it
 * (SDM vol. 3, 6.8.1 and 6.12.1.3); an NMI blocks further NMIs until its handler returns
 * (SDM vol. 3, 6.7.1). IRQs and IPIs are maskable: blocked while IF = 0.
 */
import type { AccessKind } from '../core/types.js';
import type { ExecThread, KGen, YieldLabel } from '../scheduler/types.js';
import type { CoreCpu } from './contract.js';

/**
 * Exception handlers of the modelled OS. A hardware access that faults enters the handler
 * (as through an interrupt gate: IF cleared, restored on return) and is retried afterwards.
 */
export interface TrapHandlers {
  /**
   * #PF (vector 14): `address` is CR2, `errorCode` the hardware error code, `regsIF` the
   * EFLAGS.IF of the interrupted context (IF itself is clear while the handler starts).
   */
  pageFault(cpu: ModelCpu, address: bigint, errorCode: number, regsIF: boolean): KGen<void>;
  /** #GP (vector 13), e.g. a non-canonical address. Must not return normally unless fixed. */
  generalProtection(cpu: ModelCpu, va: bigint): KGen<void>;
}

/**
 * Called after a hardware access by modelled code succeeded (`hwAccess`), with the access and the
 * physical address it reached. A sanitizer installs it on a CPU only while it watches that CPU.
 */
export type AccessHook = (cpu: ModelCpu, va: bigint, kind: AccessKind, cpl: 0 | 3, pa: bigint) => void;

/** Kind of an interrupt frame. */
export type FrameKind = 'irq' | 'ipi' | 'nmi';

/** An interrupt handler running on a CPU, on top of whatever it interrupted. */
export interface IntrFrame extends ExecThread {
  kind: FrameKind;
  /** Name of the interrupt source, for reports. */
  name: string;
  /** EFLAGS.IF of the interrupted context, restored by IRET. */
  savedIF: boolean;
}

/** An inter-processor interrupt waiting to be delivered. */
export interface PendingIpi {
  name: string;
  handler: (cpu: ModelCpu) => KGen<void>;
}

/** The thread a modelled CPU runs when no interrupt frame is active: a task. */
export interface CpuTask extends ExecThread {
  readonly pid: number;
  readonly comm: string;
}

export class ModelCpu<T extends CpuTask = CpuTask> {
  /** EFLAGS.IF. */
  IF = true;
  /** preempt_count without the hardirq/NMI parts (kept in irqDepth/nmiDepth). */
  preemptCount = 0;
  /** Nesting of IRQ and IPI handlers. */
  irqDepth = 0;
  /** Nesting of NMI handlers (0 or 1: NMIs are blocked while one runs). */
  nmiDepth = 0;
  /** Active interrupt frames, innermost last. */
  readonly frames: IntrFrame[] = [];
  /** IPIs sent to this CPU and not yet delivered, oldest first. */
  readonly pendingIpis: PendingIpi[] = [];
  /** Bumped on every CR3 load by this CPU (a lockup can only be resolved by progress). */
  cr3Epoch = 0;
  /** The task this CPU runs (`current`). */
  curr: T;
  /** Exception handlers; set by the OS model at boot. */
  traps: TrapHandlers | null = null;
  /** Post-access hook of a sanitizer (null: one check per access, nothing else). */
  accessHook: AccessHook | null = null;
  /** Post-access observer of an outcome oracle (the fuzzer's frame-lifetime check), called before `accessHook`. */
  accessObserver: AccessHook | null = null;
  /** Called when a hardware access faults, before the OS handler runs (the frame-lifetime check of the walk that faulted). */
  faultObserver: ((cpu: ModelCpu, va: bigint, kind: AccessKind, cpl: 0 | 3) => void) | null = null;

  constructor(
    readonly index: number,
    /** The core CPU: registers, TLB, walker. */
    public hw: CoreCpu,
    idle: T,
  ) {
    this.curr = idle;
  }

  /** The thread that runs next on this CPU: the innermost interrupt frame, else the task. */
  thread(): ExecThread {
    const f = this.frames;
    return f.length > 0 ? f[f.length - 1] : this.curr;
  }

  /** True inside an IRQ, IPI or NMI handler (Linux `in_interrupt()` for hard interrupts). */
  inInterrupt(): boolean {
    return this.irqDepth > 0 || this.nmiDepth > 0;
  }

  /** Linux `in_atomic()`: preemption disabled or in interrupt context. */
  inAtomic(): boolean {
    return this.preemptCount > 0 || this.irqDepth > 0 || this.nmiDepth > 0;
  }

  /** Label of the last interleaving point of the thread that runs next. */
  label(): YieldLabel {
    return this.thread().lastLabel;
  }

  /**
   * Enters an interrupt handler: pushes a frame, clears IF (interrupt gate), counts nesting.
   * The frame is popped by `exitFrame` when its handler returns.
   */
  enterFrame(kind: FrameKind, name: string, handler: KGen<void>): void {
    this.frames.push({ kind, name, savedIF: this.IF, stack: [handler], fnStack: [], lastLabel: kind });
    this.IF = false;
    if (kind === 'nmi') this.nmiDepth++;
    else this.irqDepth++;
  }

  /** IRET from the innermost interrupt frame. */
  exitFrame(): void {
    const f = this.frames.pop();
    if (!f) throw new Error(`cpu${this.index}: IRET without an interrupt frame`);
    this.IF = f.savedIF;
    if (f.kind === 'nmi') this.nmiDepth--;
    else this.irqDepth--;
  }
}
