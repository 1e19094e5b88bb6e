/**
 * The seed bugs as evaluation targets: for each seed document, its buggy and fixed presets and
 * the sanitizer (and signature) its scenario reports on the buggy preset. Used only to judge a
 * campaign's results (npm start, the benchmark, the tests) — never by the generator, which knows
 * nothing of any scenario.
 */
import { Machine } from '../core/machine.js';
import { listScenarios } from '../scenarios/index.js';
import { runScenarioSync } from '../scenarios/runner.js';

export interface SeedBug {
  /** Seed document, e.g. '003_aca8942a7e55b707.txt', or a historical bug's advisory, e.g. 'XSA-148'. */
  seed: string;
  scenario: string;
  buggy: string;
  fixed: string;
  /** What the scenario reports on the buggy preset. */
  sanitizer: string;
  signature: string;
  /** Other reports of the same bug (the scenario's `alsoReports`). */
  alsoReports: readonly { readonly sanitizer: string; readonly signature: string }[];
  /** Why a campaign is not expected to find it on its own (the scenario's `notBlind`). */
  notBlind?: string;
}

/** Whether a finding is the seed bug `b` (its scenario's report, or one of its other faces). */
export function isSeedBug(b: SeedBug, f: { sanitizer: string; signature: string }): boolean {
  return f.sanitizer === b.sanitizer || b.alsoReports.some((a) => a.sanitizer === f.sanitizer && a.signature === f.signature);
}

/** Short name of a bug for tables: a seed document's number ('003') or the advisory ('XSA-148'). */
export function bugId(seed: string): string {
  const m = /^(\d{3})_/.exec(seed);
  return m ? m[1] : seed;
}

/**
 * One entry per seed document (and per historical bug), in seed order: its first scenario whose buggy variant reports a
 * bug (variants that run clean on both presets, such as the native controls, are skipped).
 */
export async function seedBugs(): Promise<SeedBug[]> {
  await Machine.ready();
  const out = new Map<string, SeedBug>();
  for (const sc of listScenarios()) {
    if (out.has(sc.seed)) continue;
    const r = runScenarioSync(sc.name, 'buggy');
    const f = r.findings[0];
    if (!f) continue;
    out.set(sc.seed, {
      seed: sc.seed,
      scenario: sc.name,
      buggy: sc.presets.buggy,
      fixed: sc.presets.fixed,
      sanitizer: f.sanitizer,
      signature: f.signature,
      alsoReports: sc.alsoReports ?? [],
      ...(sc.notBlind ? { notBlind: sc.notBlind } : {}),
    });
  }
  return [...out.values()].sort((a, b) => a.seed.localeCompare(b.seed));
}
