/**
 * Findings: what a sanitizer reports. `log` holds the lines as the real system prints them
 * (lines starting with `pagewalk:` are the model's own annotations); `signature` is a stable
 * string for deduplication (no addresses that vary between runs of the same bug).
 */
export interface Finding {
  /** Which sanitizer fired: 'kernel-bug', 'oops', 'soft-lockup', 'hard-lockup', ... */
  sanitizer: string;
  signature: string;
  log: string[];
}

/** The outcome oracles' names (src/fuzz/outcome.ts and the process view in src/fuzz/interp.ts). */
export const OUTCOME_ORACLES = ['process-view', 'frame-lifetime', 'tlb-coherence', 'rcu-grace-period', 'pte-lock'] as const;

/**
 * Every sanitizer name a Finding can carry (what `fuzz --stop-on` accepts). A new sanitizer adds
 * its name here; test/hostile-inputs.test.ts checks that every name used in src/ is listed.
 */
export const SANITIZERS = [
  'kernel-bug',
  'oops',
  'soft-lockup',
  'hard-lockup',
  'pt-use-after-free',
  'pt-writable-alias',
  'stale-tlb',
  'walker-mismatch',
  'xen-pv-escalation',
  'xen-refusal',
  'xen-panic',
  // a write through a private (copy-on-write) mapping reached the file's page-cache page (src/linux/gup_slow.ts)
  'cow-violation',
  ...OUTCOME_ORACLES,
] as const;

/**
 * Thrown from model code to stop the run with a finding (kernel `BUG()`, a lockup, a Xen domain
 * crash). The scheduler catches it and ends the run.
 */
export class FindingStop extends Error {
  constructor(readonly finding: Finding) {
    super(`${finding.sanitizer}: ${finding.signature}`);
    this.name = 'FindingStop';
  }
}
