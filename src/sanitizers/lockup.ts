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
 *
 * The detector knows no kernel: the OS model gives it the threshold and writes the report
 * (`LockupReporter`; the Linux model's is src/linux/watchdog.ts), as the stale-TLB sanitizer's
 * adapter does.
 */
import { FindingStop } from './finding.js';

/** What the detector reads of a CPU. */
export interface LockupCpu {
  readonly index: number;
  /** Bumped on every CR3 load. */
  readonly cr3Epoch: number;
  readonly nmiDepth: number;
  readonly hw: { lastWalkEntries(): bigint[] };
}

/** The OS model's side: the lockup report (printed to its log) and its call trace. */
export interface LockupReporter<C extends LockupCpu> {
  /** Repeats of the same fault that make a livelock. */
  threshold(): number;
  /** Prints the watchdog's report; returns the finding's log and the call trace lines. */
  report(cpu: C, hard: boolean, address: bigint, errorCode: number): { log: string[]; trace: string[] };
}

export class LockupDetector<C extends LockupCpu = LockupCpu> {
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

  constructor(private readonly reporter: LockupReporter<C>) {}

  /** Hook for CR3 loads (progress is read from cpu.cr3Epoch; kept for backends that batch). */
  progress(_cpu: C): void {}

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
  onFault(cpu: C, address: bigint, errorCode: number, regsIF: boolean): void {
    this.faults++;
    const i = cpu.index;
    const same = this.count[i] && this.addr[i] === address && this.ec[i] === errorCode && !this.dirty[i] && this.cr3[i] === cpu.cr3Epoch;
    const entries = cpu.hw.lastWalkEntries();
    const list = (this.watched[i] ??= []);
    list.length = entries.length;
    for (let j = 0; j < entries.length; j++) list[j] = Number(entries[j]);
    this.dirty[i] = false;
    if (same) {
      if (++this.count[i] >= this.reporter.threshold()) this.report(cpu, address, errorCode, regsIF);
      return;
    }
    this.addr[i] = address;
    this.ec[i] = errorCode;
    this.cr3[i] = cpu.cr3Epoch;
    this.count[i] = 1;
  }

  private report(cpu: C, address: bigint, errorCode: number, regsIF: boolean): never {
    const hard = !regsIF || cpu.nmiDepth > 0;
    const { log, trace } = this.reporter.report(cpu, hard, address, errorCode);
    const innermost = trace
      .filter((l) => !l.startsWith(' <') && l !== 'Call Trace:')
      .slice(0, 3)
      .map((s) => s.trim());
    throw new FindingStop({
      sanitizer: hard ? 'hard-lockup' : 'soft-lockup',
      signature: `${hard ? 'hard' : 'soft'} lockup: fault livelock in ${innermost.join(' <- ')}`,
      log,
    });
  }
}
