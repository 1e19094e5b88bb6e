// The nested TLB (docs/nested.md "Nested TLB"): the cached translations of SDM vol. 3C
// "Information That May Be Cached" (VMX Support for Address Translation) under EPT, and their AMD
// NPT counterparts, in one set-associative array per CPU with FIFO replacement by fill stamp.
//
//  - combined mappings: guest-linear page → host-physical page, with the guest's rights and the
//    host's; tagged by VPID (ASID under NPT), PCID and, under EPT, EP4TA. Global guest pages match
//    every PCID of their VPID.
//  - guest-physical mappings: guest-physical page → host-physical page with the host rights;
//    tagged by EP4TA (EPT) or ASID (NPT).
// Only successful translations are cached. A hit whose rights do not allow the access (or a write
// through an entry whose D flags are not all set) drops the entry and walks, as an EPT violation
// or a #PF invalidates the mappings that would translate the address. The reference is
// src/reference/nested-tlb.ts.
import { MAX_CPUS, RAM_BASE } from './layout';

// entry words (u64): key, tag, EP4TA, HPA base, GPA base, rights, stamp, pad
const WORDS: usize = 8;
const ENTRY: usize = WORDS * 8;
const W_KEY: usize = 0; // bit 0 valid, bit 1 guest-physical, bits 3:2 size code, bits 63:8 page number
const W_TAG: usize = 8; // bits 31:0 VPID/ASID, 43:32 PCID, 44 global, 46:45 guest size code, 47 NPT
const W_EP4TA: usize = 16;
const W_HPA: usize = 24;
const W_GPA: usize = 32;
const W_RIGHTS: usize = 40; // bits 15:0 guest perms (PERM_*), 19:16 host rights (R W X, XU with MBEC), bit 24 dirty
const W_STAMP: usize = 48;

export const K_GP: u64 = 2;
const TAG_G: u64 = u64(1) << 44;
export const TAG_NPT: u64 = u64(1) << 47;
const TAG_ID_KIND: u64 = TAG_NPT | 0xFFFF_FFFF;
export const R_DIRTY: u64 = u64(1) << 24;

// flush selectors (nestedFlush)
export const NF_COMBINED: u32 = 1;
export const NF_GP: u32 = 2;
export const NF_TAG: u32 = 4; // VPID/ASID and kind equal the argument
export const NF_EP4TA: u32 = 8; // EPT entries of this EP4TA
export const NF_PCID: u32 = 16; // non-global combined entries of this PCID
export const NF_KEEPG: u32 = 32; // global combined entries survive
export const NF_VA: u32 = 64; // combined entries whose guest page contains the address
export const NF_NOTAG0: u32 = 128; // entries of VPID 0 survive
export const NF_PCID_OR_G: u32 = 256; // combined entries of this PCID, or global
export const NF_KIND: u32 = 512; // entries of this kind (EPT / NPT) only

@inline export function sizeShift(code: u32): u32 {
  return code == 0 ? 12 : code == 1 ? 21 : code == 2 ? 22 : 30;
}
@inline export function sizeCode(shift: u32): u32 {
  return shift == 12 ? 0 : shift == 21 ? 1 : shift == 22 ? 2 : 3;
}

const tBase = new StaticArray<usize>(MAX_CPUS);
const tCap = new StaticArray<u32>(MAX_CPUS); // entries allocated
const tSets = new StaticArray<u32>(MAX_CPUS); // sets - 1 (a power of two minus 1)
const tWays = new StaticArray<u32>(MAX_CPUS); // 0 = nested TLB off
const tStamp = new StaticArray<u32>(MAX_CPUS);
const tSizes = new StaticArray<u32>(MAX_CPUS); // bit c: an entry of size code c was filled since the last full flush
/** Fills that replaced a valid entry, per CPU. */
export const tEvict = new StaticArray<u64>(MAX_CPUS);

/**
 * Entries per CPU, at a fixed place below guest RAM (layout.ts leaves 0x40_0000..RAM_BASE free):
 * not on the heap, which grows linear memory (detaching the views the TypeScript side holds on
 * it) and which machine snapshots copy on every restore.
 */
export const NESTED_TLB_MAX: u32 = 2048;
const NTLB_BASE: usize = 0x0040_0000;
const NTLB_STRIDE: usize = usize(NESTED_TLB_MAX) * ENTRY;

/** Points CPU i's nested TLB at its storage, off. */
export function nestedTlbReserve(i: u32): bool {
  if (NTLB_BASE + usize(MAX_CPUS) * NTLB_STRIDE > RAM_BASE) return false; // layout check
  tBase[i] = NTLB_BASE + usize(i) * NTLB_STRIDE;
  tCap[i] = NESTED_TLB_MAX;
  tWays[i] = 0;
  tSets[i] = 0;
  tSizes[i] = 0;
  return true;
}

/** Sets CPU i's nested TLB geometry (ways 0 = off); false when it exceeds the reserved entries. */
export function nestedTlbConfig(i: u32, sets: u32, ways: u32): bool {
  const n = sets * ways;
  if (tWays[i] == ways && tSets[i] + 1 == sets) return true;
  if (n > tCap[i]) return false;
  tSets[i] = sets == 0 ? 0 : sets - 1;
  tWays[i] = ways;
  memory.fill(tBase[i], 0, usize(n) * ENTRY);
  tSizes[i] = 0;
  return true;
}

@inline export function tlbOn(i: u32): bool {
  return tWays[i] != 0;
}

@inline function setOf(i: u32, vpn: u64): usize {
  return tBase[i] + usize(u32(vpn) & tSets[i]) * usize(tWays[i]) * ENTRY;
}

/**
 * The combined mapping of linear address va for (tag, ep4ta) whose PCID is pcid or that is
 * global, or 0. tag holds the VPID/ASID and TAG_NPT.
 */
export function combinedFind(i: u32, va: u64, tag: u64, ep4ta: u64, pcid: u32): usize {
  const sizes = tSizes[i];
  const ways = usize(tWays[i]);
  for (let c: u32 = 0; c < 4; c++) {
    if ((sizes & (1 << c)) == 0) continue;
    const vpn = va >> sizeShift(c);
    const key = (vpn << 8) | (u64(c) << 2) | 1;
    let e = setOf(i, vpn);
    for (let w: usize = 0; w < ways; w++, e += ENTRY) {
      if (load<u64>(e, W_KEY) != key) continue;
      const t = load<u64>(e, W_TAG);
      if ((t & TAG_ID_KIND) != tag || load<u64>(e, W_EP4TA) != ep4ta) continue;
      if ((t & TAG_G) != 0 || u32((t >> 32) & 0xFFF) == pcid) return e;
    }
  }
  return 0;
}

/** The guest-physical mapping of gpa for (tag, ep4ta), or 0. */
export function gpFind(i: u32, gpa: u64, tag: u64, ep4ta: u64): usize {
  const sizes = tSizes[i] >> 4;
  const ways = usize(tWays[i]);
  for (let c: u32 = 0; c < 4; c++) {
    if ((sizes & (1 << c)) == 0) continue;
    const vpn = gpa >> sizeShift(c);
    const key = (vpn << 8) | (u64(c) << 2) | K_GP | 1;
    let e = setOf(i, vpn);
    for (let w: usize = 0; w < ways; w++, e += ENTRY) {
      if (load<u64>(e, W_KEY) == key && (load<u64>(e, W_TAG) & TAG_ID_KIND) == tag && load<u64>(e, W_EP4TA) == ep4ta) return e;
    }
  }
  return 0;
}

@inline export function entryHpa(e: usize): u64 { return load<u64>(e, W_HPA); }
@inline export function entryGpa(e: usize): u64 { return load<u64>(e, W_GPA); }
@inline export function entryRights(e: usize): u64 { return load<u64>(e, W_RIGHTS); }
@inline export function entryShift(e: usize): u32 { return sizeShift(u32(load<u64>(e, W_KEY) >> 2) & 3); }
@inline export function dropEntry(e: usize): void { store<u64>(e, 0, W_KEY); }

/** Fills a mapping of the page of `addr` at size `shift` (victim: first invalid way, else the oldest fill). */
export function fillEntry(i: u32, gp: bool, addr: u64, shift: u32, tag: u64, ep4ta: u64, hpa: u64, gpa: u64, rights: u64): void {
  const c = sizeCode(shift);
  const vpn = addr >> shift;
  const key = (vpn << 8) | (u64(c) << 2) | (gp ? K_GP : 0) | 1;
  const ways = usize(tWays[i]);
  let e = setOf(i, vpn);
  let victim: usize = 0;
  let oldest: u64 = 0xFFFF_FFFF_FFFF_FFFF;
  for (let w: usize = 0; w < ways; w++, e += ENTRY) {
    if ((load<u64>(e, W_KEY) & 1) == 0) {
      victim = e;
      break;
    }
    const s = load<u64>(e, W_STAMP);
    if (s < oldest) {
      oldest = s;
      victim = e;
    }
  }
  if ((load<u64>(victim, W_KEY) & 1) != 0) tEvict[i]++;
  const st = ++tStamp[i];
  store<u64>(victim, key, W_KEY);
  store<u64>(victim, tag, W_TAG);
  store<u64>(victim, ep4ta, W_EP4TA);
  store<u64>(victim, hpa, W_HPA);
  store<u64>(victim, gpa, W_GPA);
  store<u64>(victim, rights, W_RIGHTS);
  store<u64>(victim, u64(st), W_STAMP);
  tSizes[i] |= 1 << (c + (gp ? 4 : 0));
}

/** The tag word of a combined mapping: id and kind (tag), PCID, global, guest page size. */
@inline export function combinedTag(tag: u64, pcid: u32, global: bool, gshift: u32): u64 {
  return tag | (u64(pcid) << 32) | (global ? TAG_G : 0) | (u64(sizeCode(gshift)) << 45);
}

/**
 * Invalidates the entries the selectors pick (NF_*): types NF_COMBINED / NF_GP, then every other
 * selector given must hold. `tag` is the VPID/ASID with TAG_NPT (NF_TAG, NF_KIND), `va` a linear
 * address (NF_VA: the entry's guest page contains it).
 */
export function nestedFlush(i: u32, sel: u32, tag: u64, ep4ta: u64, pcid: u32, va: u64): void {
  const n = usize(tSets[i] + 1) * usize(tWays[i]);
  const base = tBase[i];
  let left: u32 = 0;
  for (let k: usize = 0; k < n; k++) {
    const e = base + k * ENTRY;
    const key = load<u64>(e, W_KEY);
    if ((key & 1) == 0) continue;
    const gp = (key & K_GP) != 0;
    const t = load<u64>(e, W_TAG);
    let hit = (sel & (gp ? NF_GP : NF_COMBINED)) != 0;
    if (hit && (sel & NF_TAG) != 0) hit = (t & TAG_ID_KIND) == tag;
    if (hit && (sel & NF_KIND) != 0) hit = (t & TAG_NPT) == (tag & TAG_NPT);
    if (hit && (sel & NF_NOTAG0) != 0) hit = (t & 0xFFFF_FFFF) != 0;
    if (hit && (sel & NF_EP4TA) != 0) hit = (t & TAG_NPT) == 0 && load<u64>(e, W_EP4TA) == ep4ta;
    if (hit && !gp) {
      const global = (t & TAG_G) != 0;
      const p = u32((t >> 32) & 0xFFF);
      if ((sel & NF_KEEPG) != 0 && global) hit = false;
      if (hit && (sel & NF_PCID) != 0) hit = !global && p == pcid;
      if (hit && (sel & NF_PCID_OR_G) != 0) hit = global || p == pcid;
      if (hit && (sel & NF_VA) != 0) {
        const gs = sizeShift(u32(t >> 45) & 3);
        const page = (key >> 8) << sizeShift(u32(key >> 2) & 3);
        hit = page >> gs == va >> gs;
      }
    }
    if (hit) store<u64>(e, 0, W_KEY);
    else left |= 1 << (sizeCode(sizeShift(u32(key >> 2) & 3)) + (gp ? 4 : 0));
  }
  tSizes[i] = left;
}

export function nestedEvictions(i: u32): u64 {
  return tEvict[i];
}
