/**
 * Kernel messages as Linux prints them: the oops header (arch/x86/kernel/dumpstack.c __die(),
 * show_regs()/dump_stack_print_info()), BUG()/WARN() (lib/bug.c report_bug(), kernel/panic.c
 * warn_slowpath_common()), and the lockup detector (kernel/watchdog.c). Symbol offsets
 * ("+0x11f/0x208") are omitted: the model has no binary, so a frame is printed as its function
 * name. Lines starting with "pagewalk:" are the model's own annotations.
 */
import type { LinuxConfig } from './config.js';
import { versionNumber } from './config.js';
import type { LinuxCpu } from './percpu.js';

/** "CPU: 1 PID: 10866 Comm: httpd Not tainted 3.17.0 #1" (3.10+) or the 3.x-before-3.10 pair. */
export function cpuHeader(config: LinuxConfig, cpu: LinuxCpu): string[] {
  const t = cpu.curr;
  if (versionNumber(config.version) >= 3010) return [`CPU: ${cpu.index} PID: ${t.pid} Comm: ${t.comm} Not tainted ${config.version} #1`];
  return [`CPU ${cpu.index}`, `Pid: ${t.pid}, comm: ${t.comm} Not tainted ${config.version} #1`];
}

/** __die(): "invalid opcode: 0000 [#1] PREEMPT SMP" and the CPU header. */
export function dieHeader(config: LinuxConfig, cpu: LinuxCpu, str: string, err: number, dieCounter: number): string[] {
  let line = `${str}: ${(err & 0xffff).toString(16).padStart(4, '0')} [#${dieCounter}] `;
  if (config.preempt === 'preempt' || config.preempt === 'rt') line += 'PREEMPT ';
  if (config.smp) line += 'SMP ';
  return [line.trimEnd(), ...cpuHeader(config, cpu)];
}

/** "Call Trace:" followed by the model call chain, innermost first, with interrupt markers. */
export function callTrace(cpu: LinuxCpu): string[] {
  const out = ['Call Trace:'];
  for (let i = cpu.frames.length - 1; i >= 0; i--) {
    const f = cpu.frames[i];
    const tag = f.kind === 'nmi' ? 'NMI' : 'IRQ';
    out.push(` <${tag}>`);
    for (let j = f.fnStack.length - 1; j >= 0; j--) out.push(` ${f.fnStack[j]}`);
    out.push(` <EOE>`);
  }
  const s = cpu.curr.fnStack;
  for (let j = s.length - 1; j >= 0; j--) out.push(` ${s[j]}`);
  return out;
}

/** The soft-lockup headline of kernel/watchdog.c watchdog_timer_fn() in the configured format. */
export function softLockupLine(config: LinuxConfig, cpu: LinuxCpu, seconds: number): string {
  const body = `BUG: soft lockup - CPU#${cpu.index} stuck for ${seconds}s! [${cpu.curr.comm}:${cpu.curr.pid}]`;
  if (config.watchdog_format === 'v4.15') return `watchdog: ${body}`;
  if (config.watchdog_format === 'v3.14') return `NMI watchdog: ${body}`;
  return body;
}

/** The hard-lockup lines of watchdog_overflow_callback() in the configured format. */
export function hardLockupLines(config: LinuxConfig, cpu: LinuxCpu): string[] {
  if (config.watchdog_format === 'v4.15') return [`NMI watchdog: Watchdog detected hard LOCKUP on cpu ${cpu.index}`];
  // 3.x: WARN(1, "Watchdog detected hard LOCKUP on cpu %d", this_cpu) (kernel/watchdog.c).
  return ['------------[ cut here ]------------', `Watchdog detected hard LOCKUP on cpu ${cpu.index}`];
}
