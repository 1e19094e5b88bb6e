/**
 * Seed 003 (003_aca8942a7e55b707.txt): "x86/mm: disable preemption during CR3 read+write".
 *
 * UP, PREEMPT_RT. taskA exits: exit_mm() sets current->mm = NULL, then mmput() -> exit_mmap() ->
 * tlb_finish_mmu() -> tlb_flush_mmu() -> tlb_flush() -> flush_tlb_mm_range() -> __flush_tlb_up()
 * -> __flush_tlb() -> __native_flush_tlb(). The forced schedule, as in the seed:
 * 1. preempt taskA right after native_read_cr3() (the first preemption point from there on);
 *    taskB (own mm) runs: switch_mm() loads taskB's pgd;
 * 2. once taskB is in user mode (after a data write), preempt it back to taskA, which has no mm and borrows taskB's
 *    (active_mm = taskB's mm, CR3 unchanged); taskA writes its old CR3 value back;
 * 3. preempt taskA once more: switch_mm() does nothing (oldmm == mm) and taskB returns to user
 *    mode on taskA's dead pgd. Its next access faults; handle_mm_fault() finds the pte fine;
 *    the access faults again, forever: the lockup detector reports a soft lockup.
 * With the fix (preempt_disable() around the pair) the first preemption can only happen after
 * native_write_cr3(), and the run is clean.
 */
import type { Kernel } from '../linux/kernel.js';
import { VM_EXEC, VM_READ, VM_WRITE, type TaskStruct } from '../linux/structs.js';
import { spawnProcess, user_access } from '../linux/user.js';
import { LBL_FLUSH_AFTER_READ_CR3 } from '../linux/tlbflush.js';
import { LBL_SWITCH_TO } from '../linux/sched.js';
import { ScriptedStrategy, type SchedView } from '../scheduler/strategy.js';
import { actionCode, SLOT_PREEMPT } from '../scheduler/types.js';
import { registerScenario, type Scenario } from './registry.js';

const CODE = 0x0040_0000n;
const DATA = 0x0060_0000n;
const USER_VMAS = [
  { vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC },
  { vm_start: DATA, vm_end: DATA + 0x10000n, vm_flags: VM_READ | VM_WRITE },
];

/** taskA: touches some memory (so that exit has page tables to free), then exits. */
function taskA(k: Kernel) {
  return function* (t: TaskStruct) {
    const cpu = k.cpus[t.cpu];
    for (let i = 0; i < 4; i++) {
      yield* user_access(cpu, CODE, 'exec');
      yield* user_access(cpu, DATA + BigInt(i) * 4096n, 'write');
    }
  };
}

/** taskB: a loop fetching its code and writing its data, then exit. */
function taskB(k: Kernel, iterations: number) {
  return function* (t: TaskStruct) {
    const cpu = k.cpus[t.cpu];
    for (let i = 0; i < iterations; i++) {
      yield* user_access(cpu, CODE, 'exec');
      yield* user_access(cpu, DATA + BigInt(i % 4) * 4096n, 'write', LBL_B_AFTER_WRITE);
    }
  };
}

/** taskB's user-mode point after a data write (its next access is an instruction fetch). */
const LBL_B_AFTER_WRITE = 'user:taskB_after_write';

/** The seed's three preemptions as scheduler rules (see the file comment). */
function seedSchedule(k: Kernel, a: TaskStruct, b: TaskStruct): ScriptedStrategy {
  const cpu = k.cpus[0];
  const preempt = actionCode(0, SLOT_PREEMPT);
  let stage = 0;
  const rule = (_v: SchedView, acts: Int32Array, n: number): number | undefined => {
    const enabled = Array.prototype.includes.call(acts.subarray(0, n), preempt);
    if (stage === 0 && cpu.curr === a && a.lastLabel === LBL_FLUSH_AFTER_READ_CR3) stage = 1;
    if (stage === 1 && cpu.curr === a && enabled) {
      stage = 2;
      return preempt;
    }
    if (stage === 2 && cpu.curr === b && b.lastLabel === LBL_B_AFTER_WRITE && enabled) {
      stage = 3;
      return preempt;
    }
    if (stage === 3 && cpu.curr === a && a.lastLabel !== LBL_SWITCH_TO && a.lastLabel !== LBL_FLUSH_AFTER_READ_CR3 && enabled) {
      stage = 4;
      return preempt;
    }
    return undefined;
  };
  return new ScriptedStrategy([rule]);
}

export const scenario003: Scenario = {
  name: '003-flush-tlb-preempt',
  seed: '003_aca8942a7e55b707.txt',
  description:
    'UP PREEMPT_RT: an exiting task (current->mm == NULL, borrowed active_mm) is preempted between read_cr3 and write_cr3 in __native_flush_tlb; the stale CR3 survives a switch_mm() that does nothing and the other task faults forever (soft lockup). Fixed by preempt_disable() around the pair.',
  presets: { buggy: 'linux-3.2-rt-up', fixed: 'linux-3.2-rt-up-fixed' },
  // The stale CR3 points to the exited task's freed pgd: the fuzzer's frame-lifetime oracle sees the
  // first faulting walk read it, before the faults add up to a lockup.
  alsoReports: [{ sanitizer: 'frame-lifetime', signature: 'use-after-free: hardware walk through a free page table in user mode' }],
  setup(k: Kernel) {
    const a = spawnProcess(k, { comm: 'taskA', cpu: 0, vmas: USER_VMAS, body: taskA(k) });
    const b = spawnProcess(k, { comm: 'taskB', cpu: 0, vmas: USER_VMAS, body: taskB(k, 40) });
    return { strategy: seedSchedule(k, a, b), maxSteps: 20_000 };
  },
};

registerScenario(scenario003);
