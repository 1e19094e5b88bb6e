/**
 * The lockup detector: a fault livelock is the same #PF (address, CPU) taken again and again
 * with no write to any paging-structure entry the faulting walk read and no CR3 load on that CPU
 * in between — nothing that could make the retried access succeed (a walk's outcome depends only
 * on CR3 and the entries it reads; the #PF itself drops the stale TLB and paging-structure-cache
 * entries, SDM vol. 3, 4.10.4.1). After `lockup_threshold` such repeats it reports what the
 * kernel's watchdog would (kernel/watchdog.c): a soft lockup when the loop runs with interrupts
 * enabled (the watchdog thread starves), a hard lockup when it runs with IRQs off or in an NMI
 * (the hrtimer interrupt count stops; the perf NMI notices). The report carries the faulting
 * address, the error code and the model call chain.
 */
import type { Kernel } from '../linux/kernel.js';
import type { LinuxCpu } from '../linux/percpu.js';
import { callTrace, cpuHeader, hardLockupLines, softLockupLine } from '../linux/report.js';
import { FindingStop } from './finding.js';

/** Watchdog sample period is watchdog_thresh*2/5 = 4 s; the first report comes after > 20 s. */
export const SOFTLOCKUP_REPORT_SECONDS = 22;

export class LockupDetector {
  private addr: bigint[] = [];
  private ec: number[] = [];
  private cr3: number[] = [];
  private count: number[] = [];
  /** Entry addresses read by the last faulting walk of each CPU. */
  private watched: number[][] = [];
  /** A watched entry was written since the last fault of that CPU. */
  private dirty: boolean[] = [];
  /** Total faults seen (for tests and statistics). */
  faults = 0;

  constructor(private readonly k: Kernel) {}

  /** Hook for CR3 loads (progress is read from cpu.cr3Epoch; kept for backends that batch). */
  progress(_cpu: LinuxCpu): void {}

  /** A page-table entry at physical address `pa` was written (by the model or a backend). */
  onWrite(pa: number): void {
    const w = this.watched;
    for (let i = 0; i < w.length; i++) {
      const list = w[i];
      if (!list || this.dirty[i]) continue;
      for (let j = 0; j < list.length; j++) {
        if (list[j] === pa) {
          this.dirty[i] = true;
          break;
        }
      }
    }
  }

  /** Called by do_page_fault() on entry. Throws FindingStop when a livelock is established. */
  onFault(cpu: LinuxCpu, address: bigint, errorCode: number, regsIF: boolean): void {
    this.faults++;
    const i = cpu.index;
    const k = this.k;
    const same = this.count[i] && this.addr[i] === address && this.ec[i] === errorCode && !this.dirty[i] && this.cr3[i] === cpu.cr3Epoch;
    const entries = cpu.hw.lastWalkEntries();
    const list = (this.watched[i] ??= []);
    list.length = entries.length;
    for (let j = 0; j < entries.length; j++) list[j] = Number(entries[j]);
    this.dirty[i] = false;
    if (same) {
      if (++this.count[i] >= k.config.lockup_threshold) this.report(cpu, address, errorCode, regsIF);
      return;
    }
    this.addr[i] = address;
    this.ec[i] = errorCode;
    this.cr3[i] = cpu.cr3Epoch;
    this.count[i] = 1;
  }

  private report(cpu: LinuxCpu, address: bigint, errorCode: number, regsIF: boolean): never {
    const k = this.k;
    const hard = !regsIF || cpu.nmiDepth > 0;
    const head = hard ? hardLockupLines(k.config, cpu) : [softLockupLine(k.config, cpu, SOFTLOCKUP_REPORT_SECONDS)];
    const trace = callTrace(cpu);
    const a = `0x${address.toString(16)}`;
    const notes = [
      `pagewalk: #PF at ${a} (error code 0x${errorCode.toString(16)}) on CPU#${cpu.index} repeated ${k.config.lockup_threshold} times with no write to the entries its walk read and no CR3 load in between`,
      `pagewalk: CR3 = 0x${cpu.hw.getControl().cr3.toString(16)}, current = ${cpu.curr.comm}[${cpu.curr.pid}], current->active_mm->pgd = ${cpu.curr.active_mm ? '0x' + cpu.curr.active_mm.pgd.toString(16) : 'NULL'}`,
    ];
    if (cpu.lastFaultNote) notes.push(`pagewalk: ${cpu.lastFaultNote}`);
    const earlier = context(k);
    const lines = [...head, ...cpuHeader(k.config, cpu), ...trace, ...notes];
    k.printk(...lines);
    lines.push(...earlier);
    const innermost = trace.filter((l) => !l.startsWith(' <') && l !== 'Call Trace:').slice(0, 3).map((s) => s.trim());
    throw new FindingStop({
      sanitizer: hard ? 'hard-lockup' : 'soft-lockup',
      signature: `${hard ? 'hard' : 'soft'} lockup: fault livelock in ${innermost.join(' <- ')}`,
      log: lines,
    });
  }
}

/** Lines of the kernel log and of other consoles before a hang: what led to it (a WARN, Xen's complaints). */
const CONTEXT_LINES = 40;

function context(k: Kernel): string[] {
  const out: string[] = [];
  const dmesg = k.log.slice(-CONTEXT_LINES);
  if (dmesg.length > 0) out.push('pagewalk: earlier in the kernel log:', ...dmesg.map((l) => `  ${l}`));
  for (const console of k.otherConsoles) {
    const lines = console().slice(-CONTEXT_LINES);
    if (lines.length > 0) out.push('pagewalk: on the hypervisor console:', ...lines.map((l) => `  ${l}`));
  }
  return out;
}
