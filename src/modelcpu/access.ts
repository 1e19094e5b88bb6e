/**
 * Hardware memory accesses made by modelled code. Each goes through the core CPU (its CR3, TLB
 * and paging-structure caches). A #PF is delivered to the OS's page-fault handler through an
 * interrupt gate (IF cleared on entry, restored by IRET: SDM vol. 3, 6.12.1.3), and the faulting
 * instruction is restarted after the handler returns (SDM vol. 3, 6.5: faults are restartable),
 * exactly as on hardware. Between IRET and the retry lies an interleaving point.
 */
import type { AccessKind, AccessOptions } from '../core/types.js';
import type { KGen } from '../scheduler/types.js';
import type { ModelCpu } from './cpu.js';
import { mustYield } from '../scheduler/point.js';

const OPTS: Record<AccessKind, AccessOptions[]> = {
  read: [0, 1, 2, 3].map((cpl) => ({ kind: 'read', cpl }) as AccessOptions),
  write: [0, 1, 2, 3].map((cpl) => ({ kind: 'write', cpl }) as AccessOptions),
  exec: [0, 1, 2, 3].map((cpl) => ({ kind: 'exec', cpl }) as AccessOptions),
};

/** Label of the interleaving point between IRET from a fault handler and the retried access. */
export const LBL_FAULT_RETRY = 'iret:retry_access';

/**
 * One access at `va` by code running at privilege `cpl` on `cpu`; returns the physical address
 * once the access succeeds. Faults run the OS handler and retry, possibly forever (that is what
 * the lockup detector watches for).
 */
export function* hwAccess(cpu: ModelCpu, va: bigint, kind: AccessKind, cpl: 0 | 3): KGen<bigint> {
  const opts = OPTS[kind][cpl];
  for (;;) {
    const r = cpu.hw.access(va, opts);
    if (r.ok) {
      if (cpu.accessObserver) cpu.accessObserver(cpu, va, kind, cpl, r.pa);
      if (cpu.accessHook) cpu.accessHook(cpu, va, kind, cpl, r.pa);
      return r.pa;
    }
    if (cpu.faultObserver) cpu.faultObserver(cpu, va, kind, cpl);
    const traps = cpu.traps;
    if (!traps) throw new Error(`cpu${cpu.index}: fault at 0x${va.toString(16)} with no OS trap handlers installed`);
    const savedIF = cpu.IF;
    cpu.IF = false;
    if (r.vector === 14) yield* traps.pageFault(cpu, r.cr2, r.errorCode, savedIF);
    else yield* traps.generalProtection(cpu, va);
    cpu.IF = savedIF;
    if (mustYield(LBL_FAULT_RETRY)) yield LBL_FAULT_RETRY;
  }
}
