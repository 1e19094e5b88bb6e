/**
 * Per-kernel state of the Xen PV backend: the hypervisor the guest runs on, the per-CPU
 * multicall buffers (arch/x86/xen/multicalls.c `mc_buffer`), the PagePinned page flag, the
 * TIF_LAZY_MMU_UPDATES task flag, and the per-CPU `xen_cr3`.
 */
import { XenHypervisor } from '../../xen/hypervisor.js';
import type { P2mKind } from '../../xen/p2m.js';
import type { MulticallEntry } from '../../xen/hypercalls.js';
import { FindingStop } from '../../sanitizers/finding.js';
import type { Escalation } from '../../xen/audit.js';
import type { XenPanic } from '../../xen/stack.js';
import type { XenGen } from '../../xen/mm.js';
import type { KGen } from '../../scheduler/types.js';
import type { LinuxCpu } from '../percpu.js';
import { callTrace } from '../report.js';
import type { Kernel } from '../kernel.js';
import type { TaskStruct } from '../structs.js';
import { defineKernelState } from '../kstate.js';

/** One queued multicall with the model function that queued it (MC_DEBUG `caller`). */
export interface McSlot {
  entry: MulticallEntry;
  caller: string;
}

/** `struct mc_buffer` of one CPU. */
export class McBuffer {
  readonly slots: McSlot[] = [];
  /** `xen_mc_irq_flags`: EFLAGS.IF saved by xen_mc_batch(). */
  savedIF = true;
}

/** The backend's state for one kernel (created with the backend: `xenPvState(k)`). */
export class XenPvState {
  readonly xen: XenHypervisor;
  readonly mc: McBuffer[];
  /** PG_pinned, by pfn. */
  readonly pinned = new Set<number>();
  /** TIF_LAZY_MMU_UPDATES. */
  readonly lazyMmuTasks = new Set<TaskStruct>();
  /** this_cpu xen_cr3: the base pointer Linux asked for. */
  readonly xenCr3: bigint[];
  /** xen_pagetable_init() has run. */
  booted = false;
  /** Multicalls issued (batches), for tests and statistics. */
  batchesIssued = 0;

  constructor(k: Kernel) {
    const kn = k.config.knobs;
    const p2m: P2mKind = kn.xen_p2m === 'shuffled' ? { kind: 'shuffled', seed: (kn.xen_p2m_seed as number | undefined) ?? 1 } : { kind: 'identity' };
    this.xen = new XenHypervisor(k.m, {
      domid: (kn.xen_domid as number | undefined) ?? 1,
      p2m,
      foreignFrames: foreignFrames(k, (kn.xen_foreign_frames as number | undefined) ?? 0),
      fixes: {
        xsa148: kn.xen_xsa148 !== 'vulnerable',
        xsa182: kn.xen_xsa182 !== 'vulnerable',
        xsa240: kn.xen_xsa240 !== 'vulnerable',
        xsa241: kn.xen_xsa241 !== 'vulnerable',
      },
      onEscalation: (e) => escalationFound(k, e),
      onPanic: (p) => xenPanicked(k, p),
    });
    this.mc = k.m.cpus.map(() => new McBuffer());
    this.xenCr3 = k.m.cpus.map(() => 0n);
  }
}

/**
 * Another domain's frames (the `xen_foreign_frames` knob): the `n` highest free frames, taken out
 * of the guest's allocator before the kernel allocates from it. The model's frames are machine
 * frames already (pfn_to_mfn() is the identity: the p2m only names them in Xen's log).
 */
function foreignFrames(k: Kernel, n: number): number[] {
  const frames: number[] = [];
  for (let f = k.m.frames.count - 1; f >= 0 && frames.length < n; f--) {
    if (!k.m.frames.isFree(f)) continue;
    k.m.frames.reserve(f);
    frames.push(f);
  }
  return frames;
}

/** The Xen PV state of a kernel booted with paravirt=xen-pv. */
export function xenState(k: Kernel): XenPvState {
  if (k.config.paravirt !== 'xen-pv') throw new Error('this kernel does not run on the Xen PV backend (paravirt=xen-pv)');
  return xenPvState(k);
}

/** The Xen PV state of `k`, created on first use (by xenPvOps() at boot). */
export const xenPvState = defineKernelState((k) => new XenPvState(k));

/** The hypervisor under a Xen PV kernel (for scenarios, sanitizers and tests). */
export function xenOf(k: Kernel): XenHypervisor {
  return xenState(k).xen;
}

/**
 * pfn_to_mfn() for the model's frame numbers. The Linux model allocates the core's frames (RAM
 * offset >> 12) and writes them into its page tables directly: they are machine frame numbers, as
 * the entries of a PV guest's page tables are once pte_pfn_to_mfn() has converted them. So the
 * guest-side conversion is the identity; the p2m (knob xen_p2m) gives every machine frame the guest
 * pfn that Xen prints in its log (get_gpfn_from_mfn).
 */
export function pfn_to_mfn(frame: number): number {
  return frame;
}

/**
 * Xen panicked (e.g. its stack overflowed in a recursion the guest drove): the whole machine
 * stops. The finding is Xen's console, and the guest call that entered the hypervisor.
 */
function xenPanicked(k: Kernel, p: XenPanic): never {
  const cpu = k.cpus[xenState(k).xen.mm.currentCpu];
  throw new FindingStop({
    sanitizer: 'xen-panic',
    signature: p.signature,
    log: [
      ...p.lines,
      `pagewalk:   the hypercall was issued by ${cpu.curr.comm}:${cpu.curr.pid} on CPU ${cpu.index}:`,
      ...callTrace(cpu).map((l) => `pagewalk: ${l}`),
    ],
  });
}

/**
 * The PV safety audit (src/xen/audit.ts) found an entry Xen accepted that it must not have. Real
 * Xen prints nothing (a silent privilege escalation): the finding says what the guest gained,
 * through which hypercall, issued from where in the guest.
 */
function escalationFound(k: Kernel, e: Escalation & { hypercall: string; vcpu: number }): never {
  const cpu = k.cpus[e.vcpu];
  const domid = (k.config.knobs.xen_domid as number | undefined) ?? 1;
  throw new FindingStop({
    sanitizer: 'xen-pv-escalation',
    signature: e.kind,
    log: [
      e.headline
        ? `pagewalk: xen-pv-escalation: ${e.headline}: d${domid} has a ${e.gained}`
        : `pagewalk: xen-pv-escalation: Xen accepted a page-table entry that gives d${domid} a ${e.gained}`,
      `pagewalk:   ${e.hypercall} (vCPU ${e.vcpu}) ${e.headline ? 'done' : 'accepted'}; Xen printed nothing`,
      ...e.detail.map((l) => `pagewalk:   ${l}`),
      `pagewalk:   issued by ${cpu.curr.comm}:${cpu.curr.pid} on CPU ${cpu.index}:`,
      ...callTrace(cpu).map((l) => `pagewalk: ${l}`),
    ],
  });
}

/**
 * A hypercall of the vCPU on `cpu`, run as Xen code that may be interrupted: the interrupt windows
 * Xen's code reaches (src/xen/mm.ts: irq_window) are interleaving points of the calling thread,
 * where other CPUs run on. The vCPU's own events (the guest's interrupts and IPIs) wait until the
 * hypercall returns, as Xen delivers them on the way back to the guest: EFLAGS.IF is off meanwhile.
 */
export function* xen_hypercall<T>(k: Kernel, cpu: LinuxCpu, g: XenGen<T>): KGen<T> {
  const IF = cpu.IF;
  cpu.IF = false;
  try {
    // XenMm.interruptible(g) in this frame (one generator fewer between the guest and Xen's code)
    const mm = xenState(k).xen.mm;
    for (;;) {
      const r = mm.resumeInterruptible(g);
      if (r.done) return r.value;
      yield r.value;
    }
  } finally {
    cpu.IF = IF;
  }
}

/**
 * The PV safety audit at every page-table type change of the kernel's hypervisor (a scenario's
 * sanitizer: XenHypervisor.auditTypeChanges; the fuzzer's outcome oracle makes the same check).
 */
export function watchXenTypeChanges(k: Kernel): void {
  xenState(k).xen.auditTypeChanges(true);
}
