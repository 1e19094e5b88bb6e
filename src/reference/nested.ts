/**
 * The reference 2D (nested) walker: a guest walk in any guest paging mode whose every
 * paging-structure access, and whose final guest-physical address, is translated by the host's
 * Intel EPT or AMD NPT. Written from Intel SDM vol. 3C ch. "VMX Support for Address Translation"
 * (sections "EPT Translation Mechanism", "EPT Misconfigurations", "EPT Violations", "Accessed and
 * Dirty Flags for EPT", "Translation of Guest-Physical Addresses Used by IA-32e ... ") and the
 * exit qualification table of "Exit Qualification for EPT Violations"; AMD APM vol. 2 §15.25
 * "Nested Paging" (nested CR3, nested table walk, #VMEXIT(NPF) with EXITINFO1/EXITINFO2). The
 * model rules and the choices where the manuals are silent are in docs/nested.md.
 *
 * The guest walk is the existing reference walker (`referenceAccess`) run over a memory whose
 * every address is a guest-physical address translated by the host on each access, so that the
 * per-mode guest logic exists once. Independent of the WASM core (assembly/nested.ts).
 */
import type { AccessKind, AccessOptions, AccessResult, PagingMode } from '../core/types.js';
import { bitRange, MASK64, physAddrMask, PTE_PS } from './bits.js';
import type { RefAccessResult, RefConfig, RefCpuState, RefMemory } from './types.js';
import { isCanonical, referenceAccess } from './walker.js';
import { referenceMode } from './mode.js';
import { checkRights, type WalkRights } from './rights.js';
import type { RefNestedTlb } from './nested-tlb.js';

/** The host half of a nested configuration. */
export type HostConfig =
  | {
      kind: 'ept';
      /** EPT pointer: bits 2:0 memory type (0 UC, 6 WB), 5:3 page-walk length − 1 (3 or 4), bit 6 A/D enable, bits M−1:12 the EPT PML4/PML5 table. */
      eptp: bigint;
      /** IA32_VMX_EPT_VPID_CAP bit 0: execute-only translations (bits 2:0 = 100b) supported. */
      executeOnly: boolean;
      /** The secondary control "mode-based execute control for EPT": bit 2 executes supervisor-mode, bit 10 user-mode linear addresses. */
      mbec?: boolean;
    }
  | {
      kind: 'npt';
      /** Nested CR3 (VMCB N_CR3): bits M−1:12 the nested PML4/PML5 table. */
      ncr3: bigint;
      /** 4 or 5: the host's paging mode (hCR4.LA57). Host EFER.NXE is 1. */
      levels: 4 | 5;
    };

/** EPT entry bits (SDM "Format of EPT Paging-Structure Entries"). */
export const EPT = { R: 1n, W: 2n, X: 4n, XU: 1n << 10n, MT_SHIFT: 3n, IPAT: 1n << 6n, PS: 1n << 7n, A: 1n << 8n, D: 1n << 9n } as const;
/** EPTP bits (SDM "Extended-Page-Table Pointer (EPTP)"). */
export const EPTP_AD = 1n << 6n;
/** EPT violation exit qualification bits (SDM "Exit Qualification for EPT Violations"). */
export const EPT_QUAL = { READ: 1, WRITE: 2, FETCH: 4, READABLE: 8, WRITABLE: 16, EXECUTABLE: 32, USER_EXECUTABLE: 64, GLA_VALID: 128, FINAL: 256 } as const;
/** #NPF EXITINFO1 bits (APM vol. 2 §15.25.6): the #PF error code plus these. */
export const NPF_FINAL = 1n << 32n;
export const NPF_GUEST_TABLE = 1n << 33n;

/** A VM exit that ends a nested access instead of a guest exception. */
export type NestedExit =
  | { ok: false; exit: 'ept-violation'; qualification: number; gpa: bigint; gla: bigint }
  | { ok: false; exit: 'ept-misconfig'; gpa: bigint }
  | { ok: false; exit: 'npf'; exitInfo1: bigint; exitInfo2: bigint };

/** One host translation of the 2D walk: a row of the grid. */
export interface NestedRow {
  /** What the guest-physical address is: a guest paging-structure entry (its name) or the final 'GPA'. */
  what: string;
  gpa: bigint;
  /** Host entries read (EPT or NPT), top level first. */
  hostEntries: { level: number; entryAddress: bigint; value: bigint }[];
  /** Host-physical address, when the row translated. */
  hpa?: bigint;
  /** True when a guest-physical mapping of the nested TLB translated the row. */
  cached?: boolean;
}

export type NestedResult = (AccessResult | NestedExit) & {
  mode: PagingMode;
  /** Guest paging-structure entries read from memory (not PAE PDPTE registers). */
  guestRefs: number;
  /** Host paging-structure entries read (every row's host walk). */
  hostRefs: number;
  rows: NestedRow[];
  /** The final guest-physical address, when the guest walk produced one. */
  gpa?: bigint;
  /** 'tlb' when a combined mapping of the nested TLB translated the access (no rows). */
  source?: 'tlb' | 'walk';
};

/** The nested TLB of an access (src/reference/nested-tlb.ts) and the guest's VPID (EPT) or ASID (NPT). */
export interface NestedTlbContext {
  cache: RefNestedTlb;
  id: number;
}

/** Kind of host access: a guest paging-structure access or the access to the final address. */
interface HostAccess {
  kind: AccessKind;
  /** True for the final translation (EPT qualification bit 8, NPF EXITINFO1 bit 32). */
  final: boolean;
  /** EPT: the access is a guest paging-structure access (a read, or a write with EPT A/D). */
  paging: boolean;
  /** The final translation of a user-mode linear address (guest U/S = 1 in every entry; paging on). */
  user: boolean;
}

/** Result of one host translation: rights R/W/X (with MBEC, 8 = the AND of bit 10), page size (shift), every host D flag of the page set. */
type HostOutcome = { ok: true; hpa: bigint; rights: number; shift: number; dirty: boolean } | { ok: false; exit: NestedExit };

class ExitSignal {
  constructor(readonly exit: NestedExit) {}
}

/** The EPT page-walk length of an EPTP (4 or 5), or 0 when the EPTP is invalid. */
export function eptLevels(eptp: bigint): number {
  const pwl = Number((eptp >> 3n) & 7n) + 1;
  return pwl === 4 || pwl === 5 ? pwl : 0;
}

/**
 * Why an EPTP would fail the VM-entry checks (SDM "Checks on VMX Controls": memory type UC or
 * WB, walk length 4 or 5, bits 11:7 and 63:M zero), or undefined when it is valid. `adSupported`
 * is IA32_VMX_EPT_VPID_CAP bit 21.
 */
export function eptpProblem(eptp: bigint, maxPhysAddrBits: number): string | undefined {
  const mt = eptp & 7n;
  if (mt !== 0n && mt !== 6n) return `memory type ${mt} (must be 0 UC or 6 WB)`;
  if (!eptLevels(eptp)) return `page-walk length ${((eptp >> 3n) & 7n) + 1n} (must be 4 or 5)`;
  if (eptp & (bitRange(11, 7) | bitRange(63, maxPhysAddrBits)))
    return `reserved bits 0x${(eptp & (bitRange(11, 7) | bitRange(63, maxPhysAddrBits))).toString(16)} set`;
  return undefined;
}

/**
 * Reserved bits of a present EPT entry at `level` (SDM "Format of EPT Paging-Structure Entries"):
 * bits 51:M everywhere; bits 7:3 of an entry that references a table (PML5E/PML4E always, a PDPTE
 * or PDE with bit 7 = 0); bits 29:12 of a 1 GiB PDPTE, 20:12 of a 2 MiB PDE; bit 7 of a PDPTE
 * when 1 GiB pages are not supported.
 */
export function eptReservedBits(level: number, e: bigint, maxPhysAddrBits: number, pdpe1gb: boolean): bigint {
  let rsvd = bitRange(51, maxPhysAddrBits);
  const ps = (e & PTE_PS) !== 0n;
  if (level >= 4 || ((level === 3 || level === 2) && !ps)) rsvd |= bitRange(7, 3);
  else if (level === 3) rsvd |= pdpe1gb ? bitRange(29, 12) : PTE_PS;
  else if (level === 2) rsvd |= bitRange(20, 12);
  return e & rsvd;
}

/** True when a present EPT entry is an EPT misconfiguration (SDM "EPT Misconfigurations"). */
export function eptMisconfigured(level: number, e: bigint, leaf: boolean, cfg: RefConfig, executeOnly: boolean): boolean {
  if ((e & 3n) === 2n) return true; // write without read
  // present without read (execute-only; with MBEC also bit 10 alone) needs execute-only support
  if (!(e & EPT.R) && !executeOnly) return true;
  if (eptReservedBits(level, e, cfg.maxPhysAddrBits, cfg.pdpe1gb)) return true;
  if (leaf) {
    const mt = (e >> 3n) & 7n;
    if (mt === 2n || mt === 3n || mt === 7n) return true;
  }
  return false;
}

/** The EPT translation of `gpa` (SDM "EPT Translation Mechanism"), with A/D when EPTP bit 6 is set. */
function eptTranslate(
  mem: RefMemory,
  cfg: RefConfig,
  host: Extract<HostConfig, { kind: 'ept' }>,
  gpa: bigint,
  gla: bigint,
  acc: HostAccess,
  row: NestedRow,
): HostOutcome {
  const levels = eptLevels(host.eptp);
  const ad = (host.eptp & EPTP_AD) !== 0n;
  // With EPT A/D, guest paging-structure accesses are treated as writes (and reported as read + write).
  const write = acc.kind === 'write' || (acc.paging && ad);
  const read = acc.kind === 'read' || acc.paging;
  let table = host.eptp & physAddrMask(cfg.maxPhysAddrBits);
  const mbec = host.mbec === true;
  // rights: bits 2:0 the AND of entry bits 2:0; bit 3 the AND of entry bit 10 (MBEC only)
  let rights = mbec ? 15n : 7n;
  // SDM "EPT Violations": with MBEC a fetch needs bit 2 for a supervisor-mode, bit 10 for a user-mode linear address
  const xRight = mbec && acc.user ? 8n : 4n;
  const violation = (): HostOutcome => {
    let q = (read ? EPT_QUAL.READ : 0) | (write ? EPT_QUAL.WRITE : 0) | (acc.kind === 'exec' ? EPT_QUAL.FETCH : 0);
    q |= Number(rights) << 3; // bits 5:3: the AND of bits 2:0 over the entries used; bit 6 that of bit 10 (MBEC)
    q |= EPT_QUAL.GLA_VALID | (acc.final ? EPT_QUAL.FINAL : 0);
    return { ok: false, exit: { ok: false, exit: 'ept-violation', qualification: q, gpa, gla } };
  };
  for (let level = levels; level >= 1; level--) {
    const address = table + ((gpa >> BigInt(12 + 9 * (level - 1))) & 0x1ffn) * 8n;
    const e = mem.read64(address);
    row.hostEntries.push({ level, entryAddress: address, value: e });
    rights &= (e & 7n) | ((e & EPT.XU) >> 7n);
    if (!(e & (mbec ? 7n | EPT.XU : 7n))) return violation(); // not present
    const leaf = level === 1 || ((level === 2 || level === 3) && (e & PTE_PS) !== 0n);
    if (eptMisconfigured(level, e, leaf, cfg, host.executeOnly)) return { ok: false, exit: { ok: false, exit: 'ept-misconfig', gpa } };
    if (!leaf) {
      if (ad && !(e & EPT.A)) mem.write64(address, e | EPT.A);
      table = e & physAddrMask(cfg.maxPhysAddrBits);
      continue;
    }
    const allowed = (!read || (rights & EPT.R) !== 0n) && (!write || (rights & EPT.W) !== 0n) && (acc.kind !== 'exec' || (rights & xRight) !== 0n);
    if (!allowed) return violation();
    const set = ad ? EPT.A | (write ? EPT.D : 0n) : 0n;
    if ((e & set) !== set) mem.write64(address, e | set);
    const size = 12n + 9n * BigInt(level - 1);
    const mask = (1n << size) - 1n;
    const dirty = !ad || write || (e & EPT.D) !== 0n;
    return { ok: true, hpa: (e & physAddrMask(cfg.maxPhysAddrBits) & ~mask) | (gpa & mask), rights: Number(rights), shift: Number(size), dirty };
  }
  throw new Error('reference: unreachable — an EPT PTE is always a leaf');
}

/** Host control registers of an NPT walk: long mode with NXE and WP, LA57 for 5 levels. */
function nptHostState(host: Extract<HostConfig, { kind: 'npt' }>): RefCpuState {
  const CR0 = (1n << 31n) | (1n << 16n) | 1n;
  const CR4 = (1n << 5n) | (host.levels === 5 ? 1n << 12n : 0n);
  return { cr0: CR0, cr3: host.ncr3, cr4: CR4, efer: (1n << 8n) | (1n << 10n) | (1n << 11n), pkru: 0n, pkrs: 0n };
}

/**
 * The NPT translation of `gpa` (APM vol. 2 §15.25.5 "Nested Table Walk"): a long-mode walk of the
 * nested tables in which every access is a user access; guest paging-structure accesses are user
 * writes (the guest walk may set A/D in them; as KVM's nested walker treats them). A fault is a
 * #VMEXIT(NPF): EXITINFO1 the #PF error code plus bit 32 (final translation) or bit 33 (guest
 * paging structure), EXITINFO2 the guest-physical address (§15.25.6).
 */
function nptTranslate(mem: RefMemory, cfg: RefConfig, host: Extract<HostConfig, { kind: 'npt' }>, gpa: bigint, acc: HostAccess, row: NestedRow): HostOutcome {
  const kind: AccessKind = acc.paging ? 'write' : acc.kind;
  const r = referenceAccess(mem, nptHostState(host), gpa, { kind, cpl: 3 }, { ...cfg, vendor: 'amd' });
  for (const s of r.steps) row.hostEntries.push({ level: s.level, entryAddress: s.entryAddress, value: s.value });
  if (r.ok) {
    const rw = r.steps.every((s) => (s.value & 2n) !== 0n);
    const nx = r.steps.some((s) => s.value >> 63n !== 0n);
    const leaf = r.steps[r.steps.length - 1]!.value;
    const dirty = kind === 'write' || (leaf & 0x40n) !== 0n;
    return { ok: true, hpa: r.pa, rights: 1 | (rw ? 2 : 0) | (nx ? 0 : 4), shift: Math.log2(r.pageSize), dirty };
  }
  if (r.vector !== 14) throw new Error(`reference: guest-physical address 0x${gpa.toString(16)} is not canonical for ${host.levels}-level NPT`);
  const info1 = BigInt(r.errorCode) | (acc.final ? NPF_FINAL : NPF_GUEST_TABLE);
  return { ok: false, exit: { ok: false, exit: 'npf', exitInfo1: info1, exitInfo2: gpa } };
}

const STEP_NAMES: Record<string, string[]> = {
  '32bit': ['', 'PTE', 'PDE'],
  pae: ['', 'PTE', 'PDE', 'PDPTE'],
  '4level': ['', 'PTE', 'PDE', 'PDPTE', 'PML4E'],
  '5level': ['', 'PTE', 'PDE', 'PDPTE', 'PML4E', 'PML5E'],
};

/**
 * One access by a guest running under EPT or NPT. `guest` holds the guest's control registers
 * (and, for a PAE guest, its four PDPTE registers: under EPT the VMCS guest-PDPTE fields). The
 * result is the guest's own outcome (translation to a host-physical address, #PF, #GP) or the
 * VM exit that interrupted the walk, with the grid of host translations.
 */
export function referenceNestedAccess(
  mem: RefMemory,
  guest: RefCpuState,
  va: bigint,
  opts: AccessOptions,
  cfg: RefConfig,
  host: HostConfig,
  tlb?: NestedTlbContext,
): NestedResult {
  const r = nestedAccess(mem, guest, va, opts, cfg, host, tlb);
  // With "enable VPID" = 0, a VM exit invalidates the combined mappings of VPID 0.
  if (tlb && host.kind === 'ept' && tlb.id === 0 && 'exit' in r) tlb.cache.vmTransitionVpid0();
  return r;
}

/** Whether host rights and D state allow an access (a guest paging-structure access: `paging`). */
function hostAllows(host: HostConfig, rights: number, dirty: boolean, kind: AccessKind, paging: boolean, user: boolean): boolean {
  const write = kind === 'write' || (paging && (host.kind === 'npt' || (host.eptp & EPTP_AD) !== 0n));
  if ((kind === 'read' || paging) && !(rights & 1)) return false;
  if (write && (!(rights & 2) || !dirty)) return false;
  return kind !== 'exec' || (rights & (host.kind === 'ept' && host.mbec && user ? 8 : 4)) !== 0;
}

function nestedAccess(
  mem: RefMemory,
  guest: RefCpuState,
  va: bigint,
  opts: AccessOptions,
  cfg: RefConfig,
  host: HostConfig,
  tlb?: NestedTlbContext,
): NestedResult {
  const rows: NestedRow[] = [];
  let hostRefs = 0;
  let guestRefs = 0;
  let gla = va & MASK64;
  const hostName = host.kind;
  const ep4ta = host.kind === 'ept' ? host.eptp & physAddrMask(cfg.maxPhysAddrBits) : 0n;
  const gpaId = host.kind === 'npt' ? (tlb?.id ?? 0) : 0;
  const translate = (gpa: bigint, what: string, acc: HostAccess): HostOutcome => {
    const row: NestedRow = { what, gpa, hostEntries: [] };
    rows.push(row);
    if (tlb) {
      const e = tlb.cache.findGpa(hostName, gpaId, ep4ta, gpa);
      if (e) {
        if (hostAllows(host, e.rights, e.dirty, acc.kind, acc.paging, acc.user)) {
          const mask = (1n << BigInt(e.shift)) - 1n;
          row.hpa = e.hpa | (gpa & mask);
          row.cached = true;
          return { ok: true, hpa: row.hpa, rights: e.rights, shift: e.shift, dirty: e.dirty };
        }
        tlb.cache.remove(e);
      }
    }
    const out = host.kind === 'ept' ? eptTranslate(mem, cfg, host, gpa, gla, acc, row) : nptTranslate(mem, cfg, host, gpa, acc, row);
    hostRefs += row.hostEntries.length;
    if (out.ok) {
      row.hpa = out.hpa;
      if (tlb) {
        const mask = (1n << BigInt(out.shift)) - 1n;
        tlb.cache.add({
          type: 'gpa',
          host: hostName,
          id: gpaId,
          ep4ta,
          base: gpa & ~mask,
          shift: out.shift,
          hpa: out.hpa & ~mask,
          pcid: 0,
          rights: out.rights,
          dirty: out.dirty,
        });
      }
    }
    return out;
  };
  const mode = referenceMode(guest);
  const long = mode === '4level' || mode === '5level';
  const lin = long ? va & MASK64 : va & 0xffff_ffffn;
  const pcid = long && guest.cr4 & (1n << 17n) ? Number(guest.cr3 & 0xfffn) : 0;
  if (tlb && mode !== 'none' && isCanonical(lin, mode)) {
    const e = tlb.cache.findCombined(hostName, tlb.id, ep4ta, pcid, lin);
    if (e) {
      const g = e.guest!;
      if (checkRights(mode, guest, g, opts) === 'ok' && hostAllows(host, e.rights, e.dirty, opts.kind, false, g.us) && (opts.kind !== 'write' || g.dirty)) {
        const mask = (1n << BigInt(e.shift)) - 1n;
        return { ok: true, pa: e.hpa | (lin & mask), gpa: g.gpa | (lin & mask), mode, guestRefs: 0, hostRefs: 0, rows: [], source: 'tlb' };
      }
      tlb.cache.remove(e);
    }
  }
  // The guest's entry reads, in order, name the rows; A/D updates reuse the read's translation.
  const seen = new Map<bigint, { hpa: bigint; rights: number }>();
  let names: string[] = [];
  const entryTranslation = (gpa: bigint): bigint => {
    const out = translate(gpa, names.pop() ?? 'entry', { kind: 'read', final: false, paging: true, user: false });
    if (!out.ok) throw new ExitSignal(out.exit);
    guestRefs++;
    seen.set(gpa, out);
    return out.hpa;
  };
  const gmem: RefMemory = {
    read64: (gpa) => mem.read64(entryTranslation(gpa)),
    read32: (gpa) => mem.read32(entryTranslation(gpa)),
    write64: () => {
      throw new Error('reference: the guest walk writes only through orBits');
    },
    write32: () => {
      throw new Error('reference: the guest walk writes only through orBits');
    },
    orBits: (gpa, bits, width) => {
      const t = seen.get(gpa);
      if (!t) throw new Error(`reference: guest A/D update of 0x${gpa.toString(16)} before any read`);
      const cur = width === 4 ? BigInt(mem.read32(t.hpa) >>> 0) : mem.read64(t.hpa);
      if ((cur & bits) === bits) return; // nothing to write
      // SDM "EPT Violations": writes to guest paging structures to update A/D flags are data writes.
      if (!(t.rights & EPT_QUAL.WRITE)) {
        throw new ExitSignal({ ok: false, exit: 'ept-violation', gpa, gla, qualification: EPT_QUAL.WRITE | (t.rights << 3) | EPT_QUAL.GLA_VALID });
      }
      if (width === 4) mem.write32(t.hpa, Number((cur | bits) & 0xffff_ffffn));
      else mem.write64(t.hpa, cur | bits);
    },
  };
  let g: RefAccessResult;
  try {
    const mode = referenceMode(guest);
    names = [...(STEP_NAMES[mode] ?? [])];
    if (mode === 'pae') names.pop(); // PDPTEs are registers
    gla = mode === '4level' || mode === '5level' ? va & MASK64 : va & 0xffff_ffffn;
    g = referenceAccess(gmem, guest, va, opts, cfg);
  } catch (e) {
    if (e instanceof ExitSignal) return { ...e.exit, mode: referenceMode(guest), guestRefs, hostRefs, rows };
    throw e;
  }
  const base = { mode: g.mode, guestRefs, hostRefs, rows };
  if (!g.ok) {
    const { ok, vector } = g;
    return vector === 14 ? { ok, vector, errorCode: g.errorCode, cr2: g.cr2, ...base } : { ok, vector: 13, ...base };
  }
  // A user-mode linear address: U/S = 1 in every guest entry used (PDPTE registers have none); paging off: supervisor.
  const used = g.steps.filter((s) => !s.register);
  const user = g.mode !== 'none' && used.every((s) => (s.value & 4n) !== 0n);
  const out = translate(g.pa, 'GPA', { kind: opts.kind, final: true, paging: false, user });
  if (!out.ok) return { ...out.exit, ...base, hostRefs, gpa: g.pa };
  if (tlb && g.mode !== 'none') {
    // The combined mapping: the smaller of the guest page and the host page.
    const gshift = Math.log2(g.pageSize);
    const shift = Math.min(gshift, out.shift);
    const mask = (1n << BigInt(shift)) - 1n;
    const leaf = used[used.length - 1]!.value;
    const rights: WalkRights = {
      rw: used.every((s) => (s.value & 2n) !== 0n),
      us: user,
      xd: (guest.efer & (1n << 11n)) !== 0n && g.mode !== '32bit' && used.some((s) => s.value >> 63n !== 0n),
      pkey: g.mode === '4level' || g.mode === '5level' ? Number((leaf >> 59n) & 0xfn) : 0,
    };
    const guestInfo = {
      ...rights,
      global: (leaf & 0x100n) !== 0n && (guest.cr4 & (1n << 7n)) !== 0n,
      dirty: opts.kind === 'write' || (leaf & 0x40n) !== 0n,
      shift: gshift,
      gpa: g.pa & ~mask,
    };
    tlb.cache.add({
      type: 'combined',
      host: hostName,
      id: tlb.id,
      ep4ta,
      base: g.linear & ~mask,
      shift,
      hpa: out.hpa & ~mask,
      pcid,
      guest: guestInfo,
      rights: out.rights,
      dirty: out.dirty,
    });
  }
  return { ok: true, pa: out.hpa, ...base, hostRefs, gpa: g.pa };
}
