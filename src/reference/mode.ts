/** Paging-mode selection (SDM 4.1.1, Table 4-1). */
import type { PagingMode } from '../core/types.js';
import { CR0_PG, CR4_LA57, CR4_PAE, EFER_LME } from './bits.js';

/**
 * The paging mode selected by CR0.PG, CR4.PAE, IA32_EFER.LME and CR4.LA57 (SDM Table 4-1).
 * Throws for PG=1 with LME=1 and PAE=0, a combination MOV to CR0 refuses with #GP.
 */
export function referenceMode(regs: { cr0: bigint; cr4: bigint; efer: bigint }): PagingMode {
  if (!(regs.cr0 & CR0_PG)) return 'none';
  const pae = (regs.cr4 & CR4_PAE) !== 0n;
  const lme = (regs.efer & EFER_LME) !== 0n;
  if (!pae) {
    if (lme) throw new Error('reference: CR0.PG=1 with EFER.LME=1 and CR4.PAE=0 is not a paging mode (#GP on MOV to CR0)');
    return '32bit';
  }
  if (!lme) return 'pae';
  return regs.cr4 & CR4_LA57 ? '5level' : '4level';
}
