/**
 * The Linux view of a CPU: the modelled CPU plus the per-cpu variables the memory-management
 * code uses: cpu_tlbstate (arch/x86/include/asm/tlbflush.h, SMP lazy-TLB state), the paravirt
 * lazy mode (arch/x86/kernel/paravirt.c paravirt_lazy_mode), the idle task, and the tasks pinned
 * to this CPU (its runqueue).
 */
import type { CoreCpu } from '../modelcpu/contract.js';
import { ModelCpu } from '../modelcpu/cpu.js';
import type { LazyMode } from './paravirt.js';
import type { MmStruct, TaskStruct } from './structs.js';

/** TLBSTATE_OK / TLBSTATE_LAZY. */
export type TlbState = 'ok' | 'lazy';

export class LinuxCpu extends ModelCpu<TaskStruct> {
  /** this_cpu paravirt_lazy_mode. */
  lazyMode: LazyMode = 'none';
  /** cpu_tlbstate.state. */
  tlbState: TlbState = 'ok';
  /** cpu_tlbstate.active_mm. */
  tlbActiveMm: MmStruct | null = null;
  /** The task switch_to() switched away from, for finish_task_switch() ("last"). */
  lastPrev: TaskStruct | null = null;
  /** rq->prev_mm: the mm a lazy task dropped, mmdrop()ped in finish_task_switch(). */
  prevMm: MmStruct | null = null;
  /** Tasks pinned to this CPU, in creation order (the runqueue, idle excluded). */
  readonly tasks: TaskStruct[] = [];
  /** Round-robin position of pick_next_task. */
  rrNext = 0;
  /** The most recent fault handling outcome on this CPU, for lockup reports. */
  lastFaultNote = '';

  constructor(
    index: number,
    hw: CoreCpu,
    /** swapper/N. */
    readonly idle: TaskStruct,
  ) {
    super(index, hw, idle);
  }

  /** True when a task other than `except` is runnable here. */
  hasRunnable(except: TaskStruct | null = null): boolean {
    for (const t of this.tasks) if (t !== except && (t.state === 'runnable' || t.state === 'new')) return true;
    return false;
  }
}
