/**
 * The Linux side of the lockup detector (src/sanitizers/lockup.ts): what kernel/watchdog.c prints
 * for a soft or hard lockup, with the CPU header, the call trace, the model's notes on the
 * repeated fault, and what led to it (the end of the kernel log and of other consoles).
 */
import type { LockupReporter } from '../sanitizers/lockup.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { callTrace, cpuHeader, hardLockupLines, softLockupLine } from './report.js';

/** Watchdog sample period is watchdog_thresh*2/5 = 4 s; the first report comes after > 20 s. */
export const SOFTLOCKUP_REPORT_SECONDS = 22;

/** Lines of the kernel log and of other consoles before a hang: what led to it (a WARN, Xen's complaints). */
const CONTEXT_LINES = 40;

/** The lockup reporter of kernel `k`. */
export function watchdogReporter(k: Kernel): LockupReporter<LinuxCpu> {
  return {
    threshold: () => k.config.lockup_threshold,
    report(cpu, hard, address, errorCode) {
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
      return { log: [...lines, ...earlier], trace };
    },
  };
}

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
