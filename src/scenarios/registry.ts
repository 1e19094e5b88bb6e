/**
 * Scenarios: scripts over the public model API that reproduce a seed bug. Each names its seed
 * file, its buggy and fixed presets, and builds its workload on a booted kernel; it may force a
 * schedule (a `ScriptedStrategy` whose rules look at the public CPU/task state). Other models
 * (Xen PV: seeds 000-002) register their scenarios here too.
 */
import { PagewalkError } from '../core/errors.js';
import type { Kernel } from '../linux/kernel.js';
import type { Strategy } from '../scheduler/strategy.js';

export type Variant = 'buggy' | 'fixed';

/** What a scenario's setup returns. */
export interface ScenarioPlan {
  /** The schedule to run (usually scripted); replaced by a replay strategy when replaying. */
  strategy: Strategy;
  /** Step limit (default 20000). */
  maxSteps?: number;
}

export interface Scenario {
  /** Short unique name, e.g. '003-flush-tlb-preempt'. */
  readonly name: string;
  /** Seed file name under seeds/, e.g. '003_aca8942a7e55b707.txt'. */
  readonly seed: string;
  readonly description: string;
  readonly presets: { readonly buggy: string; readonly fixed: string };
  /**
   * Other reports of the same bug that a fuzzer may reach first on the buggy preset (sanitizer
   * and exact signature), e.g. seed 004's NULL `active_mm` oops beside its livelock.
   */
  readonly alsoReports?: readonly { readonly sanitizer: string; readonly signature: string }[];
  /**
   * Why a fuzzer campaign is not expected to find the bug on its own, when that is so (e.g. it
   * needs a long exact sequence of operations): `npm start` then reports its buggy row apart and
   * the fuzzer benchmark skips it; its fixed preset must still stay clean.
   */
  readonly notBlind?: string;
  /** Builds the workload on `k` (freshly booted with the variant's preset). */
  setup(k: Kernel, variant: Variant): ScenarioPlan;
}

const SCENARIOS = new Map<string, Scenario>();

/** Adds a scenario; throws if the name is taken. */
export function registerScenario(s: Scenario): void {
  if (SCENARIOS.has(s.name)) throw new Error(`scenario '${s.name}' is already registered`);
  SCENARIOS.set(s.name, s);
}

/** All scenarios, in registration order. */
export function listScenarios(): Scenario[] {
  return [...SCENARIOS.values()];
}

/** The scenario named `name`, or a user error listing the known ones. */
export function getScenario(name: string): Scenario {
  const s = SCENARIOS.get(name);
  if (!s) throw new PagewalkError('EINVAL_ARG', `unknown scenario '${name}' (known: ${[...SCENARIOS.keys()].join(', ')})`);
  return s;
}
