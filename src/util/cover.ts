/**
 * The coverage hook: model code (sanitizers, kernel models) reports that a named branch or
 * sanitizer precondition was reached with `cover('vmalloc_fault:pgd_none')`; the fuzzer
 * (src/fuzz/coverage.ts) makes its coverage map the receiver around each execution. A no-op
 * outside a fuzz run. Here, below both, so that neither imports the other.
 */

/** What receives `cover()` calls. */
export interface CoverSink {
  hitString(id: string): void;
}

let active: CoverSink | null = null;

/** Makes `c` receive `cover()` calls (the fuzz engine sets it around each execution). */
export function setActiveCoverage(c: CoverSink | null): void {
  active = c;
}

/** Reports that a named branch or sanitizer precondition was reached. Costs one null check when no fuzzer runs. */
export function cover(id: string): void {
  if (active) active.hitString(id);
}
