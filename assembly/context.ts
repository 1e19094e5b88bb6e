// The access context: everything besides the page tables that decides a walk's outcome.
// Set once per access or per batch by `beginAccess`, read by walkers and the TLB.
import {
  C_CR0, C_CR3, C_CR4, C_EFER, C_PKRU, C_PKRS, C_MODE, C_PCID, MODE_4L, MODE_5L, MODE_32,
  C_CTX_CUR, C_CTX_COUNT, C_CTX_TABLE, CTX_MAX, KTAB, KT_MASK, KT_WANT, KT_EC, KT_OK, KT_KEYM, KT_PKR, E_RW, E_US, E_XD,
  CX_USER, CX_SMAP, CX_WP, CX_SMEP, CX_NXE, CX_PGE, CX_AMD, CX_IDEN, AF_CPL, AF_AC, AF_IMPLICIT,
} from './layout';
import { vendorAmd } from './state';
import { accessErrorBits } from './perms';
import { frontClear } from './caches';

export let acCpu: usize = 0;
export let acMode: u32 = 0;
/** The context as CX_* bits (user, SMAP blocking, WP, SMEP, NXE, PGE, AMD, I/D), for walkers. */
export let acCx: u32 = 0;
export let acPkrU: u32 = 0;
export let acPkrS: u32 = 0;
export let acPcid: u32 = 0;
export let acCr3: u64 = 0;
/** Id (1..255) of this permission context in the CPU's context table: tags the TLB fast path. */
export let acCtx: u32 = 0;

export const CR0_PE: u64 = 1;
export const CR0_WP: u64 = 1 << 16;
export const CR0_PG: u64 = 1 << 31;
export const CR4_PSE: u64 = 1 << 4;
export const CR4_PAE: u64 = 1 << 5;
export const CR4_PGE: u64 = 1 << 7;
export const CR4_LA57: u64 = 1 << 12;
export const CR4_PCIDE: u64 = 1 << 17;
export const CR4_SMEP: u64 = 1 << 20;
export const CR4_SMAP: u64 = 1 << 21;
export const CR4_PKE: u64 = 1 << 22;
export const CR4_PKS: u64 = 1 << 24;
export const EFER_LME: u64 = 1 << 8;
export const EFER_NXE: u64 = 1 << 11;

/** flags: AF_CPL, AF_AC, AF_IMPLICIT (layout.ts). */
export function beginAccess(cpu: usize, flags: u32): void {
  const cr0 = load<u64>(cpu + C_CR0);
  const cr4 = load<u64>(cpu + C_CR4);
  const efer = load<u64>(cpu + C_EFER);
  const mode = load<u32>(cpu + C_MODE);
  const implicit = (flags & AF_IMPLICIT) != 0;
  const user = (flags & AF_CPL) == 3 && !implicit;
  const ia32e = mode == MODE_4L || mode == MODE_5L;
  const smep = (cr4 & CR4_SMEP) != 0;
  const nxe = (efer & EFER_NXE) != 0 && mode != MODE_32;
  acCpu = cpu;
  acMode = mode;
  acCx = (user ? CX_USER : 0) |
    (!user && (cr4 & CR4_SMAP) != 0 && (implicit || (flags & AF_AC) == 0) ? CX_SMAP : 0) |
    ((cr0 & CR0_WP) != 0 ? CX_WP : 0) | (smep ? CX_SMEP : 0) | (nxe ? CX_NXE : 0) |
    ((cr4 & CR4_PGE) != 0 ? CX_PGE : 0) | (vendorAmd ? CX_AMD : 0) | (smep || nxe ? CX_IDEN : 0);
  acPkrU = ia32e && (cr4 & CR4_PKE) != 0 ? load<u32>(cpu + C_PKRU) : 0;
  acPkrS = ia32e && (cr4 & CR4_PKS) != 0 ? load<u32>(cpu + C_PKRS) : 0;
  acPcid = load<u32>(cpu + C_PCID);
  acCr3 = load<u64>(cpu + C_CR3);
  acCtx = contextId(cpu);
  kindMasks(acCx);
}

/**
 * The fast walk's access check per kind (KTAB): with f the AND over all levels of `entry ^ XD`
 * (RW, US set when every level allows; bit 63 set when no level sets XD), kind k is allowed iff
 * (f & MASK[k]) == WANT[k]. A user access needs US (and RW to write, bit 63 to fetch); a
 * supervisor access is refused on a user page by SMAP (data) or SMEP (fetch), and a supervisor
 * write needs RW only with CR0.WP. Protection keys are not in the masks: the fast walk is used
 * only when no key register applies.
 */
function kindMasks(cx: u32): void {
  const user = (cx & CX_USER) != 0;
  const us: u64 = user ? E_US : 0;
  const smap: u64 = (cx & CX_SMAP) != 0 ? E_US : 0;
  const smep: u64 = !user && (cx & CX_SMEP) != 0 ? E_US : 0;
  const rw: u64 = user || (cx & CX_WP) != 0 ? E_RW : 0;
  store<u64>(KTAB, us | smap, KT_MASK);
  store<u64>(KTAB, us, KT_WANT);
  store<u64>(KTAB + 8, us | smap | rw, KT_MASK);
  store<u64>(KTAB + 8, us | rw, KT_WANT);
  store<u64>(KTAB + 16, us | smep | E_XD, KT_MASK);
  store<u64>(KTAB + 16, us | E_XD, KT_WANT);
  for (let k: u32 = 0; k < 3; k++) store<u64>(KTAB + usize(k) * 8, u64(accessErrorBits(k, cx)), KT_EC);
  // KT_OK, the masks' verdicts over the eight folded rights (RW bit 0, US bit 1, no XD bit 2):
  // US needed (0xCC) or refused (0x33), RW needed (0xAA), no XD needed (0xF0)
  const read: u32 = us != 0 ? 0xCC : smap != 0 ? 0x33 : 0xFF;
  const write: u32 = read & (rw != 0 ? 0xAA : 0xFF);
  const exec: u32 = 0xF0 & (us != 0 ? 0xCC : smep != 0 ? 0x33 : 0xFF);
  store<u32>(KTAB, read | (write << 8) | (exec << 16), KT_OK);
  // keys (permFault's order: a user access to a supervisor page faults without PK, so PKRS
  // never applies to it; a key refuses data accesses only, writes by WD only when user or WP)
  store<u32>(KTAB, 1, KT_KEYM);
  store<u32>(KTAB, rw != 0 ? 3 : 1, KT_KEYM + 4);
  store<u32>(KTAB, 0, KT_KEYM + 8);
  store<u64>(KTAB, (u64(user ? 0 : acPkrS) << 32) | u64(acPkrU), KT_PKR);
}

/**
 * The protection-key verdicts of the current access context for a page with key `key`:
 * bit 0 set when the key refuses reads, bit 8 when it refuses writes (fetches: never), as
 * permFault decides them (KT_KEYM, KT_PKR); 0 without CR4.PKE / PKS. `userPage`: U/S set at every
 * level (PKRU applies, else PKRS).
 */
@inline export function keyRefusals(key: u32, userPage: bool): u32 {
  const bits = u32(load<u64>(KTAB, KT_PKR) >> u64((key << 1) | (userPage ? 0 : 32)));
  return (bits & 1) | (u32((bits & load<u32>(KTAB, KT_KEYM + 4)) != 0) << 8);
}

/** Finds or assigns the id of the current permission context; sweeps fast tags when full. */
function contextId(cpu: usize): u32 {
  // Fast tags depend on the rights checks (user, SMAP, WP, SMEP bits of acCx), PKRU/PKRS and the PCID.
  const f: u32 = (acCx & (CX_USER | CX_SMAP | CX_WP | CX_SMEP)) | (acPcid << 8);
  const cur = load<u32>(cpu + C_CTX_CUR);
  if (cur != 0 && ctxMatches(cpu, cur, f)) return cur;
  const n = load<u32>(cpu + C_CTX_COUNT);
  for (let id: u32 = 1; id <= n; id++) {
    if (ctxMatches(cpu, id, f)) {
      store<u32>(cpu + C_CTX_CUR, id);
      return id;
    }
  }
  let id = n + 1;
  if (id > CTX_MAX) {
    clearFastTags(cpu);
    id = 1;
  }
  const p = cpu + C_CTX_TABLE + usize(id - 1) * 12;
  store<u32>(p, f);
  store<u32>(p, acPkrU, 4);
  store<u32>(p, acPkrS, 8);
  store<u32>(cpu + C_CTX_COUNT, id);
  store<u32>(cpu + C_CTX_CUR, id);
  return id;
}

@inline function ctxMatches(cpu: usize, id: u32, f: u32): bool {
  const p = cpu + C_CTX_TABLE + usize(id - 1) * 12;
  return load<u32>(p) == f && load<u32>(p, 4) == acPkrU && load<u32>(p, 8) == acPkrS;
}

/** Drops every fast tag of the CPU (the front cache: context ids are about to be reused). */
export function clearFastTags(cpu: usize): void {
  frontClear(cpu);
  store<u32>(cpu + C_CTX_COUNT, 0);
  store<u32>(cpu + C_CTX_CUR, 0);
}

@inline export function isLongMode(mode: u32): bool {
  return mode == MODE_4L || mode == MODE_5L;
}
