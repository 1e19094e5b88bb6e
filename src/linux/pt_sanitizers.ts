/**
 * The page-table sanitizers of a kernel instance (src/sanitizers/pt-uaf.ts): one
 * PtUafSanitizer per kernel, created on first use, which model code notifies of page-table
 * frees and software walks.
 */
import { PtUafSanitizer } from '../sanitizers/pt-uaf.js';
import { defineKernelState } from './kstate.js';
import type { Kernel } from './kernel.js';
import type { ModelCpu } from '../modelcpu/cpu.js';
import { FindingStop } from '../sanitizers/finding.js';

/** The page-table use-after-free sanitizer of `k`. */
export const ptUafOf = defineKernelState((k) => new PtUafSanitizer(k.m));

/**
 * Checks every hardware walk of `k`'s CPUs, successful or faulting, with the page-table
 * use-after-free sanitizer: a walk that read an entry in a free frame stops the run. A scenario
 * whose bug is a walk through a freed table turns it on; the fuzzer's frame-lifetime oracle
 * (src/fuzz/outcome.ts) checks the same on every execution.
 */
export function watchHardwareWalks(k: Kernel): void {
  const san = ptUafOf(k);
  const check = (cpu: ModelCpu): void => {
    const entries = cpu.hw.lastWalkEntries();
    const f = san.checkHardwareWalk({ index: cpu.index, lastWalkEntries: () => entries });
    if (!f) return;
    const root = cpu.hw.getControl().cr3 & ~0xfffn;
    if (entries.length > 0 && (entries[0] & ~0xfffn) !== root)
      f.log.splice(
        -1,
        0,
        `pagewalk: the walk began below CR3 (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} read, the first at pa 0x${entries[0].toString(16)}): a paging-structure-cache entry gave it the table`,
      );
    throw new FindingStop(f);
  };
  for (const c of k.cpus) {
    c.faultObserver = check;
    c.accessObserver = (cpu) => {
      if (cpu.hw.lastWalkCount() > 0) check(cpu);
    };
  }
}
