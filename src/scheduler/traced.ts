/**
 * Call traces without bookkeeping: model code that should appear in reports' "Call Trace:" and in
 * the fuzzer's explanations runs its body through `traced()`, which pushes the function name on
 * the running thread's `fnStack` and pops it however the body ends (return, or an exception
 * unwinding the generators).
 *
 *   export function* do_munmap(k: Kernel, cpu: LinuxCpu, ...): KGen<number> {
 *     return yield* traced(cpu, 'do_munmap', function* () { ... });
 *   }
 */
import type { ExecThread, KGen } from './types.js';

/** What a traced body runs on: a thread, or a CPU whose running thread (task or interrupt frame) it is. */
export type TraceTarget = ExecThread | { thread(): ExecThread };

/** Runs `body` with `name` on the call chain of `on` (`cpu.thread()` when given a CPU). */
export function* traced<T>(on: TraceTarget, name: string, body: () => KGen<T>): KGen<T> {
  const fns = 'fnStack' in on ? on.fnStack : on.thread().fnStack;
  fns.push(name);
  try {
    return yield* body();
  } finally {
    fns.pop();
  }
}
