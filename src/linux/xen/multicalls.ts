/**
 * Xen hypercall batching, after arch/x86/xen/multicalls.c and multicalls.h (Linux 3.8; the
 * 2.6.37 file differs only in the failure report): a per-CPU buffer of queued hypercalls.
 * `xen_mc_batch()` disables interrupts and starts a batch, `xen_mc_issue(mode)` flushes it
 * unless the CPU is in that lazy mode, `xen_mc_flush()` issues the batch as one multicall (or
 * one direct hypercall for a singleton) and reports failed entries:
 *   printk(KERN_ERR "%d multicall(s) failed: cpu %d\n", ...); dump_stack(); ... WARN_ON(ret);
 * The batch holds at most MC_BATCH = 32 calls; a full buffer is flushed before the next entry.
 * Until the batch is issued the page tables in RAM keep their old values.
 */
import { versionNumber } from '../config.js';
import type { Kernel } from '../kernel.js';
import { paravirt_get_lazy_mode } from '../paravirt.js';
import type { LinuxCpu } from '../percpu.js';
import { callTrace } from '../report.js';
import type { KGen } from '../../scheduler/types.js';
import {
  __HYPERVISOR_mmu_update,
  __HYPERVISOR_mmuext_op,
  __HYPERVISOR_update_va_mapping,
  type MmuUpdate,
  type MmuextOp,
  type MulticallEntry,
  mmuextName,
} from '../../xen/hypercalls.js';
import { xen_hypercall, xenState } from './state.js';
import { DONE, mustYield } from '../../scheduler/point.js';

/** MC_BATCH in multicalls.c. */
export const MC_BATCH = 32;

/** The lazy modes xen_mc_issue() tests (enum paravirt_lazy_mode as a bit mask). */
export const PARAVIRT_LAZY_NONE = 0;
export const PARAVIRT_LAZY_MMU = 1;
export const PARAVIRT_LAZY_CPU = 2;

function lazyBits(cpu: LinuxCpu): number {
  const m = paravirt_get_lazy_mode(cpu);
  return m === 'mmu' ? PARAVIRT_LAZY_MMU : m === 'cpu' ? PARAVIRT_LAZY_CPU : PARAVIRT_LAZY_NONE;
}

/** xen_mc_batch(): local_irq_save() into this_cpu xen_mc_irq_flags. */
export function xen_mc_batch(k: Kernel, cpu: LinuxCpu): void {
  const b = xenState(k).mc[cpu.index];
  b.savedIF = cpu.IF;
  cpu.IF = false;
}

/**
 * BUG_ON(preemptible()), first in __xen_mc_entry(), xen_mc_extend_args() and xen_mc_flush(): a
 * CPU's batch is built and issued with interrupts off (xen_mc_batch()) or preemption disabled, so
 * that neither an interrupt nor another task on the CPU finds it half built. preemptible() is
 * `preempt_count() == 0 && !irqs_disabled()` under CONFIG_PREEMPT_COUNT (a debugging kernel; 0,
 * and the check compiled out, otherwise): the model checks it always, as a sanitizer.
 */
function bugOnPreemptible(k: Kernel, cpu: LinuxCpu, fn: string): void {
  if (cpu.IF && cpu.preemptCount === 0) k.BUG(cpu, 'arch/x86/xen/multicalls.c', null, fn);
}

/**
 * __xen_mc_entry() + MULTI_*(): queues one hypercall; a full buffer is flushed first
 * (flush reason FL_SLOTS).
 */
export function __xen_mc_entry(k: Kernel, cpu: LinuxCpu, entry: MulticallEntry, caller: string): KGen<void> {
  bugOnPreemptible(k, cpu, '__xen_mc_entry');
  const b = xenState(k).mc[cpu.index];
  if (b.slots.length >= MC_BATCH) return entry_after_flush(k, cpu, b, entry, caller);
  b.slots.push({ entry, caller });
  return DONE;
}

function* entry_after_flush(k: Kernel, cpu: LinuxCpu, b: McBuffer, entry: MulticallEntry, caller: string): KGen<void> {
  yield* xen_mc_flush(k, cpu);
  b.slots.push({ entry, caller });
}

/**
 * xen_extend_mmu_update(): appends to the previous queued mmu_update when there is one
 * (xen_mc_extend_args), else queues a new MULTI_mmu_update.
 */
export function xen_extend_mmu_update(k: Kernel, cpu: LinuxCpu, u: MmuUpdate, caller: string): KGen<void> {
  bugOnPreemptible(k, cpu, 'xen_mc_extend_args');
  const b = xenState(k).mc[cpu.index];
  const last = b.slots[b.slots.length - 1];
  if (last && last.entry.op === 'mmu_update') {
    last.entry.reqs.push(u);
    return DONE;
  }
  return __xen_mc_entry(k, cpu, { op: 'mmu_update', reqs: [u] }, caller);
}

/** xen_extend_mmuext_op(): the same for mmuext_op. */
export function xen_extend_mmuext_op(k: Kernel, cpu: LinuxCpu, op: MmuextOp, caller: string): KGen<void> {
  bugOnPreemptible(k, cpu, 'xen_mc_extend_args');
  const b = xenState(k).mc[cpu.index];
  const last = b.slots[b.slots.length - 1];
  if (last && last.entry.op === 'mmuext_op') {
    last.entry.ops.push(op);
    return DONE;
  }
  return __xen_mc_entry(k, cpu, { op: 'mmuext_op', ops: [op] }, caller);
}

/** xen_mc_issue(mode): flush unless lazy in `mode`, then restore the saved IF. */
export function xen_mc_issue(k: Kernel, cpu: LinuxCpu, mode: number): KGen<void> {
  const b = xenState(k).mc[cpu.index];
  if ((lazyBits(cpu) & mode) === 0 && b.slots.length > 0) return issue_after_flush(k, cpu, b);
  cpu.IF = b.savedIF; // (xen_mc_flush() of an empty batch leaves IF as it was)
  return DONE;
}

function* issue_after_flush(k: Kernel, cpu: LinuxCpu, b: McBuffer): KGen<void> {
  yield* xen_mc_flush(k, cpu);
  cpu.IF = b.savedIF;
}

function hypercallNumber(e: MulticallEntry): number {
  return e.op === 'mmu_update' ? __HYPERVISOR_mmu_update : e.op === 'mmuext_op' ? __HYPERVISOR_mmuext_op : __HYPERVISOR_update_va_mapping;
}

function firstArg(e: MulticallEntry): string {
  if (e.op === 'update_va_mapping') return e.va.toString(16);
  return '0'; // a guest pointer to the request array: no meaningful value in the model
}

/**
 * xen_mc_flush(): issues the batch (a hypercall; an interleaving point at its return), IRQs off.
 * Failed entries are reported as MC_DEBUG does and, on 3.x, by WARN_ON(ret)
 * (multicalls.c:129 in 3.8); the run continues, as in the kernel.
 */
export function xen_mc_flush(k: Kernel, cpu: LinuxCpu): KGen<void> {
  bugOnPreemptible(k, cpu, 'xen_mc_flush');
  // An empty batch issues nothing and leaves IF as it was: no generator for it.
  return xenState(k).mc[cpu.index].slots.length > 0 ? mc_flush(k, cpu) : DONE;
}

function* mc_flush(k: Kernel, cpu: LinuxCpu): KGen<void> {
  const st = xenState(k);
  const b = st.mc[cpu.index];
  const savedIF = cpu.IF;
  cpu.IF = false;
  if (b.slots.length > 0) {
    const slots = takeBatch(k, cpu);
    st.batchesIssued++;
    const results = yield* xen_hypercall(
      k,
      cpu,
      st.xen.multicall_g(
        cpu.index,
        slots.map((s) => s.entry),
      ),
    );
    // The hypercall is atomic for the guest; other CPUs (and NMIs) interleave at its return.
    if (mustYield('xen_mc_flush:hypercall')) yield 'xen_mc_flush:hypercall';
    const failed = results.filter((r) => r < 0).length;
    if (failed > 0) reportFailure(k, cpu, slots, results, failed);
  }
  cpu.IF = savedIF;
}

/**
 * Empties CPU `cpu`'s batch for issuing, and tells the page-table-lock oracle that its queued pte
 * stores take effect now: every issuer of a batch (xen_mc_flush(), drop_other_mm_ref()'s IPI).
 */
export function takeBatch(k: Kernel, cpu: LinuxCpu): McSlot[] {
  k.observers.pteBatchIssued?.(cpu);
  return xenState(k).mc[cpu.index].slots.splice(0);
}

function reportFailure(k: Kernel, cpu: LinuxCpu, slots: McSlot[], results: number[], failed: number): void {
  const lines = [
    `${failed} multicall(s) failed: cpu ${cpu.index}`,
    `Pid: ${cpu.curr.pid}, comm: ${cpu.curr.comm} Not tainted ${k.config.version} #1`,
    ...callTrace(cpu),
    ...slots.map(
      (s, i) =>
        `  call ${String(i + 1).padStart(2)}/${slots.length}: op=${hypercallNumber(s.entry)} arg=[${firstArg(s.entry)}] result=${results[i]}\t${s.caller}`,
    ),
  ];
  // WARN_ON(ret): multicalls.c:129 in 3.8, :182 in 2.6.37; warn_slowpath_common() of 3.x before 3.10.
  const v = versionNumber(k.config.version);
  const site = `arch/x86/xen/multicalls.c:${v >= 3000 ? 129 : 182}`;
  const head = v >= 3010 ? `WARNING: CPU: ${cpu.index} PID: ${cpu.curr.pid} at ${site} xen_mc_flush()` : `WARNING: at ${site} xen_mc_flush()`;
  lines.push('------------[ cut here ]------------', head, ...callTrace(cpu), '---[ end trace ]---');
  k.printk(...lines);
  const bad = slots[results.findIndex((r) => r < 0)];
  k.observers.xenRefused?.(cpu, `${entryName(bad.entry)} queued by ${bad.caller}`, 'WARNING in xen_mc_flush', lines);
}

/** The call of a batch entry, for a signature ("mmuext_op MMUEXT_PIN_L1_TABLE"). */
function entryName(e: MulticallEntry): string {
  return e.op === 'mmuext_op' ? `mmuext_op ${e.ops.map((o) => mmuextName(o.cmd)).join(',')}` : e.op;
}

type McSlot = import('./state.js').McSlot;
type McBuffer = import('./state.js').McBuffer;
