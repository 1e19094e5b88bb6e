/**
 * Access-rights check at the end of a walk (SDM 4.6 and 4.6.2), in the order of QEMU's
 * mmu_translate (target/i386/tcg/system/excp_helper.c) as docs/paging-semantics.md "Leaf check"
 * prescribes.
 */
import type { AccessOptions, PagingMode } from '../core/types.js';
import { CR0_WP, CR4_PKE, CR4_PKS, CR4_SMAP, CR4_SMEP } from './bits.js';

/** Rights accumulated over the walk: R/W and U/S ANDed, XD ORed (only when NXE and not 32-bit). */
export interface WalkRights {
  rw: boolean;
  us: boolean;
  xd: boolean;
  /** Protection key of the leaf (bits 62:59), IA-32e only. */
  pkey: number;
}

/** Outcome of the leaf check: allowed, a protection fault, or a protection-key fault. */
export type RightsDecision = 'ok' | 'protection' | 'pk';

/** True when the access is a user-mode access (CPL 3 and not an implicit supervisor access). */
export function isUserAccess(opts: AccessOptions): boolean {
  return opts.cpl === 3 && !opts.implicit;
}

/** Applies the leaf check of docs/paging-semantics.md steps 1–5. */
export function checkRights(
  mode: PagingMode,
  regs: { cr0: bigint; cr4: bigint; pkru: bigint; pkrs: bigint },
  rights: WalkRights,
  opts: AccessOptions,
): RightsDecision {
  const user = isUserAccess(opts);
  // 1. SDM 4.6.1: user-mode accesses need U/S = 1 at every level.
  if (user && !rights.us) return 'protection';
  // 2. SMAP (SDM 4.6.1): supervisor data accesses to user pages, implicit or with EFLAGS.AC = 0.
  const smapBlocks = !user && (regs.cr4 & CR4_SMAP) !== 0n && rights.us && (!!opts.implicit || !opts.ac);
  // 3. Read, write, execute rights.
  const wp = (regs.cr0 & CR0_WP) !== 0n;
  const canRead = !smapBlocks;
  const canWrite = canRead && (rights.rw || (!user && !wp));
  const smep = (regs.cr4 & CR4_SMEP) !== 0n;
  const canExec = !rights.xd && (user || !(smep && rights.us));
  // 4. Protection keys (SDM 4.6.2), IA-32e paging only, data accesses only.
  if (opts.kind !== 'exec' && (mode === '4level' || mode === '5level')) {
    const pkr = rights.us ? (regs.cr4 & CR4_PKE ? regs.pkru : 0n) : regs.cr4 & CR4_PKS ? regs.pkrs : 0n;
    if (pkr !== 0n) {
      const ad = ((pkr >> BigInt(2 * rights.pkey)) & 1n) !== 0n;
      const wd = ((pkr >> BigInt(2 * rights.pkey + 1)) & 1n) !== 0n;
      if (ad || (opts.kind === 'write' && wd && (user || wp))) return 'pk';
    }
  }
  // 5. Ordinary rights.
  const allowed = opts.kind === 'read' ? canRead : opts.kind === 'write' ? canWrite : canExec;
  return allowed ? 'ok' : 'protection';
}
