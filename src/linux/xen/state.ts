/**
 * Per-kernel state of the Xen PV backend: the hypervisor the guest runs on, the per-CPU
 * multicall buffers (arch/x86/xen/multicalls.c `mc_buffer`), the PagePinned page flag, the
 * TIF_LAZY_MMU_UPDATES task flag, and the per-CPU `xen_cr3`.
 */
import { XenHypervisor } from '../../xen/hypervisor.js';
import type { MulticallEntry } from '../../xen/hypercalls.js';
import { registerKnob } from '../../presets/knobs.js';
import type { Kernel } from '../kernel.js';
import type { TaskStruct } from '../structs.js';
import { defineKernelState } from '../kstate.js';

registerKnob({ name: 'xen_domid', type: 'int', min: 0, max: 0x7fef, default: 1, group: 'xen', description: 'Xen PV: domain id of the guest, printed as d<id> in the hypervisor log.' });
registerKnob({ name: 'xen_p2m', type: 'enum', values: ['identity', 'shuffled'], default: 'identity', group: 'xen', description: "Xen PV: guest pfn -> machine frame map; 'shuffled' permutes it (seeded by xen_p2m_seed) so mfn != pfn in logs." });
registerKnob({ name: 'xen_p2m_seed', type: 'int', min: 0, max: 0xffffffff, default: 1, group: 'xen', description: 'Xen PV: seed of the shuffled p2m.' });

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
  readonly lazyMmuTasks = new WeakSet<TaskStruct>();
  /** this_cpu xen_cr3: the base pointer Linux asked for. */
  readonly xenCr3: bigint[];
  /** xen_pagetable_init() has run. */
  booted = false;
  /** Multicalls issued (batches), for tests and statistics. */
  batchesIssued = 0;

  constructor(k: Kernel) {
    const kn = k.config.knobs;
    this.xen = new XenHypervisor(k.m, {
      domid: (kn.xen_domid as number | undefined) ?? 1,
      p2m: kn.xen_p2m === 'shuffled' ? { kind: 'shuffled', seed: (kn.xen_p2m_seed as number | undefined) ?? 1 } : { kind: 'identity' },
    });
    this.mc = k.m.cpus.map(() => new McBuffer());
    this.xenCr3 = k.m.cpus.map(() => 0n);
  }
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
