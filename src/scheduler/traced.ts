/**
 * Call traces without bookkeeping: model code that should appear in reports' "Call Trace:" and in
 * the fuzzer's explanations runs its body through `traced()`, which pushes the function name on
 * the running thread's `fnStack` and pops it however the body ends (return, or an exception
 * unwinding the generators).
 *
 *   export function* do_munmap(k: Kernel, cpu: LinuxCpu, ...): KGen<number> {
 *     return yield* traced(cpu, 'do_munmap', function* () { ... });
 *   }
 *
 * Hot model functions do the same in their own frame with `enterFn` (one generator frame and one
 * closure fewer per call, and one frame fewer for every resume to pass through):
 *
 *   const fns = enterFn(cpu, 'do_munmap');
 *   try { ... } finally { fns.pop(); }
 *
 * Code the fuzzer runs often passes `traced` an arrow that calls a generator function defined once
 * (`() => change_page_attr(k, cpu, ...)`), not a generator function written in place: V8 gives
 * every generator function object its own hidden class and prototype when it first makes a
 * generator, so a `function* () { ... }` made per call costs about 4 µs at its first call (Node
 * 20; a generator function defined once: 0.06 µs). The same holds for task bodies, interrupt and
 * IPI handlers, and tables of generator methods built per execution.
 */
import type { ExecThread, KGen } from './types.js';

/** What a traced body runs on: a thread, or a CPU whose running thread (task or interrupt frame) it is. */
export type TraceTarget = ExecThread | { thread(): ExecThread };

/** Pushes `name` on the call chain of `on` and returns the chain; the caller pops it in a `finally`. */
export function enterFn(on: TraceTarget, name: string): string[] {
  const fns = 'fnStack' in on ? on.fnStack : on.thread().fnStack;
  fns.push(name);
  return fns;
}

/** Runs `body` with `name` on the call chain of `on` (`cpu.thread()` when given a CPU). */
export function* traced<T>(on: TraceTarget, name: string, body: () => KGen<T>): KGen<T> {
  const fns = enterFn(on, name);
  try {
    return yield* body();
  } finally {
    fns.pop();
  }
}
