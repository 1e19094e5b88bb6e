/**
 * Nested paging at the API: a guest running under Intel EPT or AMD NPT (docs/nested.md). The 2D
 * walk runs in the WASM core (assembly/nested.ts); this module checks the configuration, decodes
 * results and exits, and reads the grid of the last access.
 */
import type { CoreExports } from './wasm.js';
import type { AccessResult, BatchOutput } from './types.js';
import { PagewalkError, guardWasm } from './errors.js';
import { badArg, batchArgs, objArg, u64Arg } from './validate.js';

/** The host half of a nested configuration (`cpu.setNested`). */
export type NestedConfig =
  | {
      kind: 'ept';
      /** EPT pointer: bits 2:0 memory type (0 UC or 6 WB), 5:3 page-walk length − 1 (3 or 4), bit 6 EPT A/D, bits M−1:12 the top EPT table. */
      eptp: bigint;
      /** Execute-only EPT entries (bits 2:0 = 100b) supported (IA32_VMX_EPT_VPID_CAP bit 0). Default true. */
      executeOnly?: boolean;
      /** The secondary control "mode-based execute control for EPT" (bit 22): entry bit 2 allows fetches from supervisor-mode linear addresses, bit 10 from user-mode ones. Default false. */
      mbec?: boolean;
      /** A PAE guest's four PDPTE registers (the VMCS guest-PDPTE fields). */
      pdptes?: bigint[];
      /** The guest's VPID, 1..65535; 0 (default) is "enable VPID" = 0: VM entries and exits invalidate the combined mappings of VPID 0. */
      vpid?: number;
      /** The nested TLB (docs/nested.md): sets × ways, `false` for none. Default: 64 × 8 when the machine has a TLB. */
      tlb?: NestedTlbGeometry | false;
    }
  | {
      kind: 'npt';
      /** Nested CR3: bits M−1:12 the top nested table. */
      ncr3: bigint;
      /** Host paging levels, 4 (default) or 5. */
      levels?: 4 | 5;
      /** A PAE guest's four PDPTE registers. */
      pdptes?: bigint[];
      /** The guest's ASID (VMCB offset 058h), 1..2^32 − 1 (0 is the host's: VMRUN fails). Default 1. */
      asid?: number;
      /** VMCB TLB_CONTROL applied by this VMRUN: 0 nothing, 1 flush every entry of every ASID, 3 this ASID's entries, 7 this ASID's non-global entries. Default 0. */
      tlbControl?: 0 | 1 | 3 | 7;
      tlb?: NestedTlbGeometry | false;
    };

/** Geometry of the nested TLB: one set-associative array of combined and guest-physical mappings. */
export interface NestedTlbGeometry {
  /** A power of two; sets × ways at most 2048. */
  sets: number;
  ways: number;
}

const DEFAULT_NESTED_TLB: NestedTlbGeometry = { sets: 64, ways: 8 };
/** Entries reserved per CPU (assembly/nested-tlb.ts NESTED_TLB_MAX). */
const NESTED_TLB_MAX = 2048;

/** A VM exit that ended a nested access. */
export type NestedExit =
  | { ok: false; exit: 'ept-violation'; qualification: number; gpa: bigint; gla: bigint }
  | { ok: false; exit: 'ept-misconfig'; gpa: bigint }
  | { ok: false; exit: 'npf'; exitInfo1: bigint; exitInfo2: bigint };

/** The guest's outcome (with the final guest-physical address when it translated) or a VM exit. */
export type NestedAccessResult = ({ ok: true; pa: bigint; gpa: bigint } | Exclude<AccessResult, { ok: true }>) | NestedExit;

/** Nested statistics: guest and host paging-structure references counted apart. */
export interface NestedStats {
  accesses: number;
  guestRefs: number;
  hostRefs: number;
  exits: number;
  /** Accesses served by a combined mapping (no walk). */
  tlbHits: number;
  /** Host translations served by a guest-physical mapping (no host walk). */
  gpaHits: number;
  /** Nested TLB fills that replaced a valid entry. */
  evictions: number;
}

/** One row of the 2D grid: the host walk of one guest-physical address. */
export interface NestedGridRow {
  /** 'GPA' for the final address, else the guest entry's level (5..1) as a name. */
  what: string;
  gpa: bigint;
  hostEntries: { entryAddress: bigint; value: bigint }[];
  /** Host-physical address, when the host walk translated. */
  hpa?: bigint;
  /** True when a guest-physical mapping of the nested TLB translated the row (no host entries read). */
  cached?: boolean;
  /** The guest paging-structure entry read through this row's translation (before any A/D update). */
  guestEntry?: bigint;
}

/** Where a nested walk ended: a host entry (an exit), a guest entry (a guest fault), or nowhere (translated). */
export interface NestedWalkEnd {
  row: number;
  /** Index of the host entry in the row's `hostEntries`, or 'guest' for the guest entry the row read. */
  cell: number | 'guest';
  /** The exit came from the guest's A/D update of that entry (a write through the row's translation). */
  adUpdate?: boolean;
}

/** `cpu.nestedExplain`: the 2D walk of one access from memory, as a grid, with where it ended. */
export interface NestedExplanation {
  va: bigint;
  mode: string;
  options: { kind: 'read' | 'write' | 'exec'; cpl: number };
  host: 'ept' | 'npt';
  hostLevels: number;
  /** EPTP or nested CR3. */
  root: bigint;
  rows: NestedGridRow[];
  result: NestedAccessResult;
  /** The cell that decided an exit or a guest fault; absent when the access translated (or #GP on a non-canonical address). */
  end?: NestedWalkEnd;
  guestRefs: number;
  hostRefs: number;
}

const FAULT = 1n << 63n;
const EXIT_NAMES = ['', 'ept-violation', 'ept-misconfig', 'npf'] as const;
const PDPTE_RSVD = (m: number): bigint => 0x6n | 0x1e0n | (((1n << 64n) - 1n) ^ ((1n << BigInt(m)) - 1n));
const C_PDPTE = 48;

/** Why an EPTP fails the VM-entry checks, or undefined (SDM "Checks on VMX Controls"). */
export function eptpProblem(eptp: bigint, m: number): string | undefined {
  const mt = eptp & 7n;
  if (mt !== 0n && mt !== 6n) return `memory type ${mt} (must be 0 UC or 6 WB)`;
  const pwl = Number((eptp >> 3n) & 7n) + 1;
  if (pwl !== 4 && pwl !== 5) return `page-walk length ${pwl} (must be 4 or 5)`;
  const rsvd = eptp & ((0x1fn << 7n) | (((1n << 64n) - 1n) ^ ((1n << BigInt(m)) - 1n)));
  if (rsvd) return `reserved bits 0x${rsvd.toString(16)} set`;
  return undefined;
}

/** Checks a configuration and loads it into the core; `null` switches nested paging off. */
export function setNested(
  core: CoreExports,
  index: number,
  view: DataView,
  m: number,
  pae: boolean,
  machineTlb: boolean,
  cfg: NestedConfig | null,
): NestedConfig | null {
  const where = 'cpu.setNested';
  if (cfg === null) {
    core.nestedSet(index, 0, 0n, 0, 0);
    return null;
  }
  objArg(where, 'cfg', cfg);
  let kind: number, root: bigint, flags: number, tag: number;
  if (cfg.kind === 'ept') {
    u64Arg(where, 'cfg.eptp', cfg.eptp);
    const why = eptpProblem(cfg.eptp, m);
    if (why) throw new PagewalkError('EINVAL_CONTROL', `${where}: EPTP 0x${cfg.eptp.toString(16)} fails the VM-entry checks: ${why}`);
    if (cfg.executeOnly !== undefined && typeof cfg.executeOnly !== 'boolean') badArg(where, 'cfg.executeOnly must be true or false');
    if (cfg.mbec !== undefined && typeof cfg.mbec !== 'boolean') badArg(where, 'cfg.mbec must be true or false');
    const levels = Number((cfg.eptp >> 3n) & 7n) + 1;
    kind = 1;
    root = cfg.eptp;
    tag = cfg.vpid ?? 0;
    if (!Number.isInteger(tag) || tag < 0 || tag > 0xffff) badArg(where, `cfg.vpid must be 0..65535, got ${String(cfg.vpid)}`);
    flags = levels | (cfg.eptp & 0x40n ? 8 : 0) | ((cfg.executeOnly ?? true) ? 16 : 0) | (cfg.mbec ? 32 : 0);
    if (levels === 4 && m > 48) badArg(where, `4-level EPT translates 48-bit guest-physical addresses; MAXPHYADDR ${m} needs 5-level EPT`);
  } else if (cfg.kind === 'npt') {
    u64Arg(where, 'cfg.ncr3', cfg.ncr3);
    if ('mbec' in cfg) badArg(where, 'cfg.mbec (mode-based execute control) is an Intel EPT control; NPT has no such option');
    const levels = cfg.levels ?? 4;
    if (levels !== 4 && levels !== 5) badArg(where, `cfg.levels must be 4 or 5, got ${String(levels)}`);
    if (cfg.ncr3 >> BigInt(m))
      throw new PagewalkError('EINVAL_CONTROL', `${where}: nested CR3 0x${cfg.ncr3.toString(16)} has bits at or above MAXPHYADDR ${m}`);
    if (levels === 4 && m > 48) badArg(where, `4-level NPT translates 48-bit guest-physical addresses; MAXPHYADDR ${m} needs 5 levels`);
    kind = 2;
    root = cfg.ncr3;
    flags = levels;
    tag = cfg.asid ?? 1;
    if (!Number.isInteger(tag) || tag < 0 || tag > 0xffff_ffff) badArg(where, `cfg.asid must be 1..2^32 − 1, got ${String(cfg.asid)}`);
    if (tag === 0) throw new PagewalkError('EINVAL_CONTROL', `${where}: ASID 0 is the host's: VMRUN fails the consistency checks`);
    const tc = cfg.tlbControl ?? 0;
    if (![0, 1, 3, 7].includes(tc)) badArg(where, `cfg.tlbControl must be 0, 1, 3 or 7 (the defined TLB_CONTROL encodings), got ${String(cfg.tlbControl)}`);
  } else {
    return badArg(where, `cfg.kind must be 'ept' or 'npt'`);
  }
  if (pae) {
    const p = cfg.pdptes;
    if (!Array.isArray(p) || p.length !== 4) badArg(where, 'a PAE guest needs cfg.pdptes, its four PDPTE registers');
    p.forEach((v, i) => {
      u64Arg(where, `cfg.pdptes[${i}]`, v);
      if (v & 1n && v & PDPTE_RSVD(m))
        throw new PagewalkError('EINVAL_CONTROL', `${where}: PDPTE ${i} 0x${v.toString(16)} is present with reserved bits set (VM entry fails)`);
      view.setBigUint64(C_PDPTE + i * 8, v, true);
    });
  }
  const g = cfg.tlb === undefined ? (machineTlb ? DEFAULT_NESTED_TLB : false) : cfg.tlb;
  if (g !== false) {
    objArg(where, 'cfg.tlb', g);
    const { sets, ways } = g;
    if (!Number.isInteger(sets) || sets < 1 || sets > 65536 || (sets & (sets - 1)) !== 0)
      badArg(where, `cfg.tlb.sets must be a power of two 1..65536, got ${String(sets)}`);
    if (!Number.isInteger(ways) || ways < 1 || ways > 64) badArg(where, `cfg.tlb.ways must be 1..64, got ${String(ways)}`);
    if (sets * ways > NESTED_TLB_MAX) badArg(where, `cfg.tlb: ${sets} x ${ways} = ${sets * ways} entries, at most ${NESTED_TLB_MAX}`);
  }
  core.nestedTlbConfig(index, g ? g.sets : 0, g ? g.ways : 0);
  core.nestedSet(index, kind, root, flags, tag);
  // VM entry (VMLAUNCH/VMRESUME, VMRUN): its invalidations.
  if (cfg.kind === 'ept' && tag === 0) core.nestedFlush(index, NF.COMBINED | NF.TAG | NF.KIND, 0n, 0n, 0, 0n);
  if (cfg.kind === 'npt') {
    const t = BigInt(tag) | TAG_NPT;
    const tc = cfg.tlbControl ?? 0;
    if (tc === 1) core.nestedFlush(index, NF.COMBINED | NF.GP, 0n, 0n, 0, 0n);
    else if (tc === 3) core.nestedFlush(index, NF.COMBINED | NF.GP | NF.TAG, t, 0n, 0, 0n);
    else if (tc === 7) core.nestedFlush(index, NF.COMBINED | NF.GP | NF.TAG | NF.KEEPG, t, 0n, 0, 0n);
  }
  return cfg;
}

/** Selectors of the core's nestedFlush (assembly/nested-tlb.ts NF_*). */
const NF = { COMBINED: 1, GP: 2, TAG: 4, EP4TA: 8, KEEPG: 32, VA: 64, NOTAG0: 128, KIND: 512 } as const;
const TAG_NPT = 1n << 47n;

/**
 * INVEPT (SDM vol. 3C "INVEPT"): type 1 single-context invalidates the guest-physical and
 * combined mappings of the EPTP's EP4TA (all VPIDs and PCIDs); type 2 global, those of every
 * EP4TA. A failing INVEPT (VMfailValid) is an EINVAL_CONTROL error.
 */
export function invept(core: CoreExports, index: number, m: number, type: number, eptp?: bigint): void {
  const where = 'cpu.invept';
  if (type !== 1 && type !== 2)
    throw new PagewalkError('EINVAL_CONTROL', `${where}: INVEPT type ${String(type)} is not supported (1 single-context, 2 global): VMfailValid`);
  if (type === 2) return core.nestedFlush(index, NF.COMBINED | NF.GP | NF.KIND, 0n, 0n, 0, 0n);
  if (eptp === undefined) badArg(where, 'single-context INVEPT needs the EPTP of its descriptor');
  u64Arg(where, 'eptp', eptp);
  const why = eptpProblem(eptp, m);
  if (why) throw new PagewalkError('EINVAL_CONTROL', `${where}: EPTP 0x${eptp.toString(16)} in the descriptor is invalid (${why}): VMfailValid`);
  core.nestedFlush(index, NF.COMBINED | NF.GP | NF.EP4TA, 0n, eptp & ((1n << BigInt(m)) - 1n) & ~0xfffn, 0, 0n);
}

/**
 * INVVPID (SDM vol. 3C "INVVPID"): combined mappings of a VPID for every EP4TA and PCID — type
 * 0 for one linear address, 1 all of the VPID, 2 all VPIDs but 0, 3 all of the VPID but global
 * ones. Guest-physical mappings stay. VPID 0 for types 0, 1, 3 and a non-canonical address for
 * type 0 fail (VMfailValid): EINVAL_CONTROL.
 */
export function invvpid(core: CoreExports, index: number, type: number, vpid: number, la: bigint = 0n): void {
  const where = 'cpu.invvpid';
  if (![0, 1, 2, 3].includes(type)) throw new PagewalkError('EINVAL_CONTROL', `${where}: INVVPID type ${String(type)} is not supported: VMfailValid`);
  if (!Number.isInteger(vpid) || vpid < 0 || vpid > 0xffff)
    throw new PagewalkError('EINVAL_CONTROL', `${where}: VPID ${String(vpid)} does not fit the descriptor's 16 bits: VMfailValid`);
  u64Arg(where, 'la', la);
  if (type !== 2 && vpid === 0) throw new PagewalkError('EINVAL_CONTROL', `${where}: INVVPID type ${type} with VPID 0: VMfailValid`);
  const s = BigInt.asIntN(64, la);
  if (type === 0 && BigInt.asIntN(64, s << 7n) >> 7n !== s)
    throw new PagewalkError('EINVAL_CONTROL', `${where}: linear address 0x${la.toString(16)} is not canonical: VMfailValid`);
  const sel = [NF.TAG | NF.VA, NF.TAG, NF.NOTAG0, NF.TAG | NF.KEEPG][type]!;
  core.nestedFlush(index, NF.COMBINED | NF.KIND | sel, BigInt(vpid), 0n, 0, la);
}

/** INVLPGA (APM vol. 3 "INVLPGA"): the combined mappings of one virtual page in one ASID, global ones included. */
export function invlpga(core: CoreExports, index: number, va: bigint, asid: number): void {
  const where = 'cpu.invlpga';
  u64Arg(where, 'va', va);
  if (!Number.isInteger(asid) || asid < 0 || asid > 0xffff_ffff) badArg(where, `asid must be 0..2^32 − 1, got ${String(asid)}`);
  core.nestedFlush(index, NF.COMBINED | NF.KIND | NF.TAG | NF.VA, BigInt(asid) | TAG_NPT, 0n, 0, va);
}

/** The core's nested result as the API's. */
export function decodeNested(core: CoreExports, r: bigint, cr2: () => bigint): NestedAccessResult {
  if (!(r & FAULT)) return { ok: true, pa: r, gpa: BigInt.asUintN(64, core.nestedExitGpa()) };
  const word = Number(r & 0xffff_ffffn);
  const vector = word >>> 16;
  if (vector === 13) return { ok: false, vector: 13 };
  if (vector === 14) return { ok: false, vector: 14, errorCode: word & 0xffff, cr2: cr2() };
  const exit = EXIT_NAMES[core.nestedExitKind()];
  const info = BigInt.asUintN(64, core.nestedExitInfo());
  const gpa = BigInt.asUintN(64, core.nestedExitGpa());
  if (exit === 'ept-violation') return { ok: false, exit, qualification: Number(info), gpa, gla: cr2() };
  if (exit === 'ept-misconfig') return { ok: false, exit, gpa };
  return { ok: false, exit: 'npf', exitInfo1: info, exitInfo2: gpa };
}

/**
 * Decodes one batch fault word (out.fault[i], with out.pa[i]): 0 translated; a guest #PF/#GP as
 * in `translateBatch`; or a VM exit, vector byte 0xF1 (EPT violation: low 16 bits the
 * qualification), 0xF2 (EPT misconfiguration), 0xF3 (#NPF: low 8 bits EXITINFO1 bits 7:0, bits
 * 9:8 EXITINFO1 bits 33:32), with the guest-physical address in out.pa[i].
 */
export function decodeNestedFault(
  fault: number,
  pa: bigint,
): { exit?: NestedExit['exit']; vector?: number; errorCode?: number; qualification?: number; exitInfo1?: bigint; gpa?: bigint } {
  const v = fault >>> 16;
  if (v < 0xf1) return { vector: v, errorCode: fault & 0xffff };
  if (v === 0xf1) return { exit: 'ept-violation', qualification: fault & 0xffff, gpa: pa };
  if (v === 0xf2) return { exit: 'ept-misconfig', gpa: pa };
  return { exit: 'npf', exitInfo1: BigInt(fault & 0xff) | (BigInt((fault >> 8) & 3) << 32n), gpa: pa };
}

/** Nested batch: as `translateBatch`, faults and exits in out.fault (see `decodeNestedFault`). */
export function nestedBatch(
  core: CoreExports,
  base: number,
  io: { va: BigUint64Array; kind: Uint8Array; pa: BigUint64Array; fault: Uint32Array },
  vas: BigUint64Array,
  kinds: Uint8Array,
  out: BatchOutput,
  flags: number,
): number {
  const where = 'cpu.nestedTranslateBatch';
  const n = batchArgs(where, vas, kinds, out);
  let faults = 0;
  const chunk = Math.min(io.va.length, 2048);
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    io.va.set(vas.subarray(i, i + m));
    io.kind.set(kinds.subarray(i, i + m));
    faults += guardWasm('nestedTranslateBatch', () => core.nestedBatch(base, m, flags));
    const bad = core.nestedBadKind();
    if (bad >= 0) badArg(where, `kinds[${i + bad}] = ${kinds[i + bad]} (0 read, 1 write, 2 exec)`);
    out.pa.set(io.pa.subarray(0, m), i);
    out.fault.set(io.fault.subarray(0, m), i);
  }
  return faults;
}

export function nestedStats(core: CoreExports, index: number): NestedStats {
  const s = (k: number): number => Number(core.nestedStat(index, k));
  return { accesses: s(0), guestRefs: s(1), hostRefs: s(2), exits: s(3), tlbHits: s(4), gpaHits: s(5), evictions: Number(core.nestedEvictions(index)) };
}

const GUEST_NAMES: Record<string, string[]> = {
  '32bit': ['GPA', 'PTE', 'PDE'],
  pae: ['GPA', 'PTE', 'PDE'],
  '4level': ['GPA', 'PTE', 'PDE', 'PDPTE', 'PML4E'],
  '5level': ['GPA', 'PTE', 'PDE', 'PDPTE', 'PML4E', 'PML5E'],
  none: ['GPA'],
};

/** The grid of the last `nestedAccess`: one row per guest-physical address translated. */
export function nestedGrid(core: CoreExports, mode: string): NestedGridRow[] {
  const rows: NestedGridRow[] = [];
  for (let r = 0; r < core.nestedRows(); r++) {
    const w = (k: number): bigint => BigInt.asUintN(64, core.nestedRowWord(r, k));
    const meta = w(2);
    const n = Number(meta >> 32n);
    const hpa = w(1);
    rows.push({
      what: GUEST_NAMES[mode]?.[Number(meta & 0xffn)] ?? `L${meta & 0xffn}`,
      gpa: w(0),
      hostEntries: Array.from({ length: n }, (_, i) => ({ entryAddress: w(3 + 2 * i), value: w(4 + 2 * i) })),
      ...(hpa & FAULT ? {} : { hpa }),
      ...(meta & 0x100n ? { cached: true } : {}),
      ...(meta & 0x200n ? { guestEntry: w(13) } : {}),
    });
  }
  return rows;
}

/** The cell of the grid that ended an access that did not translate. */
export function walkEnd(rows: NestedGridRow[], r: NestedAccessResult): NestedWalkEnd | undefined {
  if (r.ok || rows.length === 0) return undefined;
  const last = rows.length - 1;
  const row = rows[last]!;
  if ('exit' in r) {
    if (row.hpa === undefined) return { row: last, cell: row.hostEntries.length - 1 };
    // every row translated: the exit is the guest's A/D update of the entry at the exit's GPA
    const gpa = r.exit === 'npf' ? r.exitInfo2 : r.gpa;
    const i = rows.findIndex((x) => x.gpa === gpa);
    return i >= 0 ? { row: i, cell: 'guest', adUpdate: true } : undefined;
  }
  return r.vector === 14 && row.guestEntry !== undefined ? { row: last, cell: 'guest' } : undefined;
}
