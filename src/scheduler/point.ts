/**
 * Interleaving points without a yield when nothing interleaves. Model code marks each point as
 *
 *   if (mustYield(LBL_ZAP_PTE)) yield LBL_ZAP_PTE;
 *
 * `mustYield` hands the point to the scheduler stepping the thread: it records the label, makes
 * the next scheduling decision at once (the same decision, from the same state, that it would
 * make after the yield) and, when that decision is to run the same thread on, counts the step and
 * answers false, so the thread continues without the yield — and without resuming every
 * generator of its `yield*` chain, which costs time in proportion to the depth of the chain.
 * Otherwise (another thread runs, an event is delivered, the run ends) it answers true and the
 * thread yields as before. Outside a scheduler step (`Kernel.runSync`, a test driving a generator
 * by hand) it answers true: every point yields.
 */
import type { KGen, YieldLabel } from './types.js';

/** The scheduler stepping a thread right now. */
export interface PointSink {
  /** A point reached by the stepped thread: true when the thread must yield. */
  point(label: YieldLabel): boolean;
}

let stepping: PointSink | null = null;

/** Whether the running thread must yield at the interleaving point `label` (see the file comment). */
export function mustYield(label: YieldLabel): boolean {
  return stepping === null || stepping.point(label);
}

/** Sets the scheduler that receives points (null: none); returns the previous one. */
export function setPointSink(s: PointSink | null): PointSink | null {
  const prev = stepping;
  stepping = s;
  return prev;
}

const DONE_RESULT: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * A model generator that is already finished: `yield* DONE` yields nothing and gives undefined.
 * What a model function written as a plain function returns when it did its work without reaching
 * an interleaving point; it allocates nothing (a generator per call costs its frame and results).
 */
export const DONE: KGen<void> = Object.freeze({
  next: () => DONE_RESULT,
  return: () => DONE_RESULT,
  throw: (e: unknown): never => {
    throw e;
  },
  [Symbol.iterator](): KGen<void> {
    return DONE;
  },
}) as unknown as KGen<void>;

function* yieldLabel(label: YieldLabel): KGen<void> {
  yield label;
}

/**
 * The interleaving point `label` for a model function written as a plain function that returns
 * what its caller delegates to at once (`yield* f(...)`): DONE when the thread runs on, a
 * generator yielding `label` when it must yield — `if (mustYield(label)) yield label` without a
 * generator of its own in the common case.
 */
export function point(label: YieldLabel): KGen<void> {
  return mustYield(label) ? yieldLabel(label) : DONE;
}
