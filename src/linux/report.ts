/**
 * Kernel messages as Linux prints them: the oops header (arch/x86/kernel/dumpstack.c __die(),
 * show_regs()/dump_stack_print_info()), BUG()/WARN() (lib/bug.c report_bug(), kernel/panic.c
 * warn_slowpath_common() / __warn()), and the lockup detector (kernel/watchdog.c). Symbol offsets
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

/**
 * The headline of a WARN (kernel/panic.c), by version: before 3.10 warn_slowpath_common() prints
 * "WARNING: at %s:%d %pS()" (read in 2.6.37, 3.2.0, 3.8.13, 3.9.6); from 3.10 it adds the CPU and
 * PID, "WARNING: CPU: %d PID: %d at %s:%d %pS()" (read in 3.13.11, 3.18.63, 4.4.1; the release
 * between 3.9 and 3.13 that changed it is not pinned); from 4.6 __warn() drops the "()" (read in
 * 4.6.2, 4.7.4, 4.8.15, 4.13.4, 4.14.5; 4.5 not read). `line` null: the model does not know the
 * line for this version, and prints the file alone (a "pagewalk:" note says so).
 */
export function warnLine(config: LinuxConfig, cpu: LinuxCpu, file: string, line: number | null, fn: string): string {
  const v = versionNumber(config.version);
  const site = line === null ? file : `${file}:${line}`;
  if (v < 3010) return `WARNING: at ${site} ${fn}()`;
  const head = `WARNING: CPU: ${cpu.index} PID: ${cpu.curr.pid} at ${site} ${fn}`;
  return v < 4006 ? `${head}()` : head;
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
