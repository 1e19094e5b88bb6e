/** The reference 2D walker's result in the shape `cpu.nestedAccess` returns (for comparisons). */
import type { NestedResult } from '../../src/reference/index.js';

export function apiShape(r: NestedResult): unknown {
  if (r.ok) return { ok: true, pa: r.pa, gpa: r.gpa };
  if ('exit' in r) {
    if (r.exit === 'ept-violation') return { ok: false, exit: r.exit, qualification: r.qualification, gpa: r.gpa, gla: r.gla };
    if (r.exit === 'ept-misconfig') return { ok: false, exit: r.exit, gpa: r.gpa };
    return { ok: false, exit: r.exit, exitInfo1: r.exitInfo1, exitInfo2: r.exitInfo2 };
  }
  return r.vector === 14 ? { ok: false, vector: 14, errorCode: r.errorCode, cr2: r.cr2 } : { ok: false, vector: 13 };
}
