/**
 * Architectural checks of control-register writes, as MOV to CR0/CR3/CR4 and WRMSR EFER would
 * raise #GP (Intel SDM vol. 3 §2.5, §4.1.1, §4.10.1). The effects are applied by the WASM core.
 */
import type { ControlRegs } from './types.js';
import { PagewalkError } from './errors.js';

export const CR0_PE = 1n;
export const CR0_WP = 1n << 16n;
export const CR0_PG = 1n << 31n;
export const CR4_PSE = 1n << 4n;
export const CR4_PAE = 1n << 5n;
export const CR4_PGE = 1n << 7n;
export const CR4_LA57 = 1n << 12n;
export const CR4_PCIDE = 1n << 17n;
export const CR4_SMEP = 1n << 20n;
export const CR4_SMAP = 1n << 21n;
export const CR4_PKE = 1n << 22n;
export const CR4_PKS = 1n << 24n;
export const EFER_LME = 1n << 8n;
export const EFER_LMA = 1n << 10n;
export const EFER_NXE = 1n << 11n;

// Bits that exist: CR4 VME..PKS except 15 (reserved); EFER SCE, LME, LMA, NXE, SVME, LMSLE, FFXSR, TCE.
const CR4_KNOWN = 0x1ff_7fffn & ~(1n << 15n);
const EFER_KNOWN = 0x1n | EFER_LME | EFER_LMA | EFER_NXE | (0xfn << 12n);

function gp(what: string): never {
  throw new PagewalkError('EINVAL_CONTROL', `${what} (the instruction would raise #GP(0))`);
}

const hex = (v: bigint) => '0x' + v.toString(16);

export function isLongMode(r: ControlRegs): boolean {
  return (r.cr0 & CR0_PG) !== 0n && (r.efer & EFER_LME) !== 0n && (r.cr4 & CR4_PAE) !== 0n;
}

/** Throws EINVAL_CONTROL naming the offending bit when `next` cannot follow `prev`. */
export function validateControl(prev: ControlRegs, next: ControlRegs, cr3Written: boolean, maxPhysAddrBits: number): void {
  for (const k of ['cr0', 'cr3', 'cr4', 'efer', 'pkru', 'pkrs'] as const) {
    if (typeof next[k] !== 'bigint') throw new PagewalkError('EINVAL_CONTROL', `${k}: expected a bigint, got ${typeof next[k]}`);
    if (next[k] < 0n || next[k] >= 1n << 64n) gp(`${k} = ${hex(next[k])} does not fit in 64 bits`);
  }
  const { cr0, cr3, cr4, efer } = next;
  if (cr0 >> 32n) gp(`CR0 bits 63:32 must be zero (cr0 = ${hex(cr0)})`);
  if (cr0 & CR0_PG && !(cr0 & CR0_PE)) gp('CR0.PG=1 requires CR0.PE=1');
  if (cr4 & ~CR4_KNOWN) gp(`CR4 reserved bits set: ${hex(cr4 & ~CR4_KNOWN)}`);
  if (efer & ~EFER_KNOWN) gp(`EFER reserved bits set: ${hex(efer & ~EFER_KNOWN)}`);
  if (next.pkru >> 32n) gp('PKRU is a 32-bit register');
  if (next.pkrs >> 32n) gp('IA32_PKRS bits 63:32 are reserved');
  const paging = (cr0 & CR0_PG) !== 0n;
  const prevPaging = (prev.cr0 & CR0_PG) !== 0n;
  if (paging && efer & EFER_LME && !(cr4 & CR4_PAE)) gp('CR0.PG=1 with EFER.LME=1 requires CR4.PAE=1');
  if (prevPaging && paging && (prev.efer ^ efer) & EFER_LME) gp('EFER.LME cannot change while CR0.PG=1');
  const wasLong = isLongMode(prev);
  const long = isLongMode(next);
  if (wasLong && paging && !(cr4 & CR4_PAE)) gp('CR4.PAE cannot be cleared in IA-32e mode');
  if (wasLong && long && (prev.cr4 ^ cr4) & CR4_LA57) gp('CR4.LA57 cannot change in IA-32e mode');
  if (cr4 & CR4_PCIDE && !long) gp('CR4.PCIDE=1 requires IA-32e mode (EFER.LMA=1)');
  if (cr4 & CR4_PCIDE && !(prev.cr4 & CR4_PCIDE) && cr3 & 0xfffn) gp(`setting CR4.PCIDE requires CR3[11:0] = 0 (cr3 = ${hex(cr3)})`);
  const noFlush = cr3Written && (cr4 & CR4_PCIDE) !== 0n ? cr3 & (1n << 63n) : 0n;
  const addr = cr3 & ~noFlush;
  const limit = long ? BigInt(maxPhysAddrBits) : 32n;
  if (addr >> limit) gp(`CR3 = ${hex(cr3)} has bits set at or above ${long ? `MAXPHYADDR (${maxPhysAddrBits})` : 'bit 32 outside IA-32e mode'}`);
}
