// The leaf access check (docs/paging-semantics.md "Leaf check"; order as QEMU's mmu_translate).
import { PERM_RW, PERM_US, PERM_XD, PERM_KEY_SHIFT, PF_P, PF_PK, PF_W, PF_U, PF_ID, CX_USER, CX_SMAP, CX_WP, CX_SMEP, CX_IDEN } from './layout';

/**
 * Returns 0 when `kind` (0 read, 1 write, 2 exec) is allowed on a page with combined rights
 * `perms`, else the #PF error-code bits that describe the violation (P, plus PK for keys).
 * `cx` is the access context (CX_*); `pkrU`/`pkrS` are PKRU/PKRS when CR4.PKE/PKS apply, else 0.
 */
@inline export function permFault(perms: u32, kind: u32, cx: u32, pkrU: u32, pkrS: u32): u32 {
  const user = (cx & CX_USER) != 0;
  const wp = (cx & CX_WP) != 0;
  const us = (perms & PERM_US) != 0;
  if (user && !us) return PF_P;
  const pkr = us ? pkrU : pkrS;
  if (pkr != 0 && kind != 2) {
    const k = ((perms >> PERM_KEY_SHIFT) & 15) << 1;
    if ((pkr >> k) & 1) return PF_P | PF_PK;
    if (kind == 1 && ((pkr >> (k + 1)) & 1) != 0 && (user || wp)) return PF_P | PF_PK;
  }
  if (kind == 2) {
    if (perms & PERM_XD) return PF_P;
    if (!user && (cx & CX_SMEP) != 0 && us) return PF_P;
    return 0;
  }
  if ((cx & CX_SMAP) != 0 && us) return PF_P;
  if (kind == 1 && (perms & PERM_RW) == 0 && (user || wp)) return PF_P;
  return 0;
}

/** Error-code bits that describe the access itself: W/R, U/S and I/D. */
@inline export function accessErrorBits(kind: u32, cx: u32): u32 {
  let e: u32 = 0;
  if (kind == 1) e |= PF_W;
  if ((cx & CX_USER) != 0) e |= PF_U;
  if (kind == 2 && (cx & CX_IDEN) != 0) e |= PF_ID;
  return e;
}
