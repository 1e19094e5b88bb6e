/**
 * Shrinking a finding to a minimal trace. A candidate (a smaller program, or the recorded choices
 * with a scheduling event removed) is run by replaying the current choices with fallback: where a
 * recorded choice is no longer possible, or the choices run out, a round-robin strategy with no
 * events continues. The candidate is kept when it reproduces the same signature; its recorded
 * choices become the new trace, so the result always replays exactly.
 *
 * Passes, repeated until none makes progress or the budget is spent: drop interrupt sources,
 * drop tasks, drop operations, use fewer CPUs, deliver each interrupt source once, drop
 * scheduling events (preemptions, IRQs, NMIs) from the choices, then cut the choices after the
 * finding.
 */
import { Coverage } from './coverage.js';
import { cloneProgram, type Program } from './program.js';
import type { FuzzTarget } from './target.js';
import type { TraceFile } from './trace.js';
import { actionSlot, SLOT_STEP, SLOT_IPI } from '../scheduler/types.js';
import { setActiveCoverage } from './coverage.js';

interface Best {
  program: Program;
  choices: number[];
  log: string[];
}

/** Shrinks `t` spending at most `budget` executions; returns a trace that replays exactly. */
export function shrink(target: FuzzTarget, t: TraceFile, budget: number): TraceFile {
  const cov = new Coverage();
  const sig = t.finding.signature;
  let spent = 0;
  let best: Best = { program: t.program, choices: t.choices, log: t.finding.log };

  /** Where the best run deviated from running one CPU on (recomputed when `best` changes). */
  let anchors: Map<string, number> | null = null;
  const anchorsOfBest = (): Map<string, number> => {
    if (anchors) return anchors;
    spent++;
    try {
      anchors =
        target.run({ program: best.program, schedule: t.schedule, replay: best.choices, replayFallback: true, recordAnchors: true }, cov).anchors ?? new Map();
    } catch {
      anchors = new Map();
    }
    cov.discard();
    return anchors;
  };
  /** Runs one way of scheduling a candidate; true (and `best` updated) when it reproduces. */
  const attempt = (program: Program, replay: number[] | undefined, anchored = false): boolean => {
    if (spent >= budget) return false;
    const byAnchors = anchored ? anchorsOfBest() : undefined;
    spent++;
    setActiveCoverage(null);
    let res;
    try {
      res = target.run({ program, schedule: t.schedule, replay, replayFallback: true, anchors: byAnchors }, cov);
    } catch {
      cov.discard();
      return false;
    }
    cov.discard();
    if (!res.finding || res.finding.signature !== sig) return false;
    best = { program, choices: res.trace, log: res.finding.log };
    anchors = null;
    return true;
  };
  /**
   * A candidate reproduces when replaying the current choices (with the minimal fallback) does,
   * or, for a smaller program whose choices no longer line up, when the current run's deviations
   * replayed at the same interleaving points (anchors) or its own seeded schedule do.
   */
  const tryCandidate = (program: Program, choices: number[]): boolean =>
    attempt(program, choices) || (program !== best.program && (attempt(program, undefined, true) || attempt(program, undefined)));

  for (let round = 0; round < 8 && spent < budget; round++) {
    let progress = false;
    // The fewest deviations of all: no recorded choice, the minimal schedule throughout.
    if (best.choices.some((c) => actionSlot(c) !== SLOT_STEP) && attempt(best.program, [])) progress = true;
    // Drop interrupt sources.
    for (let i = best.program.irqs.length - 1; i >= 0; i--) {
      const p = cloneProgram(best.program);
      p.irqs.splice(i, 1);
      if (tryCandidate(p, best.choices)) progress = true;
    }
    // Drop tasks (fork ops naming them go too; later indices shift down).
    for (let i = best.program.tasks.length - 1; i >= 0 && best.program.tasks.length > 1; i--) {
      if (tryCandidate(withoutTask(best.program, i), best.choices)) progress = true;
    }
    // Drop operations: chunks of halving size (ddmin), last first.
    const seqCount = () => best.program.tasks.length + best.program.irqs.length;
    for (let s = seqCount() - 1; s >= 0; s--) {
      for (let size = Math.max(1, seqOps(best.program, s).length >> 1); size >= 1; size >>= 1) {
        for (let j = seqOps(best.program, s).length - size; j >= 0; j -= size) {
          if (s >= seqCount() || j + size > seqOps(best.program, s).length) continue;
          const p = cloneProgram(best.program);
          seqOps(p, s).splice(j, size);
          if (s >= p.tasks.length && seqOps(p, s).length === 0) continue;
          if (tryCandidate(p, best.choices)) progress = true;
        }
      }
    }
    // Fewer CPUs: move the highest CPU's tasks and interrupts to CPU 0.
    if (best.program.cpus > 1) {
      const p = cloneProgram(best.program);
      p.cpus--;
      for (const task of p.tasks) if (task.cpu >= p.cpus) task.cpu = 0;
      for (const q of p.irqs) if (q.cpu >= p.cpus) q.cpu = -1;
      if (tryCandidate(p, best.choices)) progress = true;
    }
    // Each interrupt source delivered at most once.
    for (let i = 0; i < best.program.irqs.length; i++) {
      if (best.program.irqs[i].count <= 1) continue;
      const p = cloneProgram(best.program);
      p.irqs[i].count = 1;
      if (tryCandidate(p, best.choices)) progress = true;
    }
    // Fewer scheduling events: remove one non-step choice at a time, last first.
    for (let i = best.choices.length - 1; i >= 0; i--) {
      if (i >= best.choices.length) continue;
      const slot = actionSlot(best.choices[i]);
      if (slot === SLOT_STEP || slot === SLOT_IPI) continue;
      const c = best.choices.slice(0, i).concat(best.choices.slice(i + 1));
      if (tryCandidate(best.program, c)) progress = true;
    }
    if (!progress) break;
  }
  return { ...t, program: best.program, choices: best.choices, finding: { ...t.finding, log: best.log }, shrunk: true };
}

function seqOps(p: Program, s: number) {
  return s < p.tasks.length ? p.tasks[s].ops : p.irqs[s - p.tasks.length].ops;
}

/** The program without task `i`; fork operations are renumbered, those naming `i` removed. */
function withoutTask(p0: Program, i: number): Program {
  const p = cloneProgram(p0);
  p.tasks.splice(i, 1);
  for (const t of p.tasks) {
    t.ops = t.ops.filter((o) => !((o.op === 'fork' || o.op === 'clone') && o.task === i));
    for (const o of t.ops) if ((o.op === 'fork' || o.op === 'clone') && o.task > i) o.task--;
  }
  if (!p.tasks.some((t) => t.spawn === 'boot')) p.tasks[0].spawn = 'boot';
  return p;
}
