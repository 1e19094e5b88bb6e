/**
 * Pieces of the scripted schedules that several scenarios share.
 */
import type { Kernel } from '../linux/kernel.js';
import type { TaskStruct } from '../linux/structs.js';
import { actionCode, SLOT_STEP, SPIN } from '../scheduler/types.js';

/**
 * The action that runs `t` one step on CPU 1, or undefined once it is done, waits (blocked), or
 * CPU 1 spins (an IPI's acknowledgement): a rule returns it to run a thread through another's window.
 */
export function stepOnCpu1(k: Kernel, t: TaskStruct): number | undefined {
  if (t.state === 'dead' || t.state === 'blocked' || k.cpus[1].label() === SPIN) return undefined;
  return actionCode(1, SLOT_STEP);
}
