/**
 * The frame-lifetime check of the Linux historical-bug scenarios (mremap.ts, pfnmap.ts): a user
 * access through a TLB hit to a frame that the page allocator holds as free. The model has no
 * KASAN for user pages; the fuzzer's outcome oracle of the same name (src/fuzz/outcome.ts) checks
 * every access the same way and gives the same signature.
 */
import { FRAME_STATE } from '../core/types.js';
import type { Kernel } from '../linux/kernel.js';
import type { LinuxCpu } from '../linux/percpu.js';
import { callTrace, cpuHeader } from '../linux/report.js';
import { FindingStop } from '../sanitizers/finding.js';

/** Installs the check on every CPU of `k` (it replaces their access observers). */
export function installFrameLifetimeCheck(k: Kernel): void {
  for (const c of k.cpus) {
    c.accessObserver = (hw, va, kind, cpl, pa) => {
      const cpu = hw as LinuxCpu;
      const pfn = Number(pa >> 12n);
      if (cpl !== 3 || cpu.hw.lastWalkCount() > 0 || pfn >= k.m.frames.count || k.m.frames.state(pfn) !== FRAME_STATE.FREE) return;
      const lines = [
        '==================================================================',
        `BUG: use-after-free of pfn 0x${pfn.toString(16)}: CPU${cpu.index} ${kind === 'write' ? 'wrote' : 'read'} through a TLB entry to a free frame`,
        `${kind[0].toUpperCase()}${kind.slice(1)} at addr ${va.toString(16).padStart(16, '0')} (user mode) by task ${cpu.curr.comm}/${cpu.curr.pid}`,
        ...cpuHeader(k.config, cpu),
        ...callTrace(cpu),
        '==================================================================',
      ];
      k.printk(...lines);
      throw new FindingStop({ sanitizer: 'frame-lifetime', signature: `use-after-free: ${kind} through a TLB entry to a free frame in user mode`, log: lines });
    };
  }
}
