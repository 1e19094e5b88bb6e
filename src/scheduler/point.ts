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
import type { YieldLabel } from './types.js';

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
