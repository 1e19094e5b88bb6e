/**
 * Turns a WalkExplanation (cpu.explain) into display-ready rows shared by `pagewalk walk` and
 * the web page: the linear address split into its index fields, one row per level with flags
 * (decisive bits and A/D bits the walk set marked), the outcome, and the #PF error code decoded
 * bit by bit (Intel SDM vol. 3, 4.7 "Page-Fault Exceptions", Figure 4-12).
 */
import type { AccessResult, PagingMode, Vendor, WalkExplanation, WalkStep } from '../core/types.js';
import { hex } from '../loader/hex.js';
import { isLeafEntry, reservedBitsSet, type EntryContext } from '../reference/entry.js';

/**
 * What the processor looks like, for naming the reserved bits of an entry (an image satisfies it).
 * Optional: without it a reserved-bit stop is shown as the label `reserved`.
 */
export interface DescribeContext {
  vendor: Vendor;
  maxPhysAddrBits: number;
  pse36: boolean;
  pdpe1gb: boolean;
  control: { cr4: bigint; efer: bigint };
}

/** One index field of the linear address, e.g. `{ name: 'PML4', hi: 47, lo: 39, value: 0x1ff }`. */
export interface AddressField {
  name: string;
  hi: number;
  lo: number;
  value: bigint;
  /** Level of the table this field indexes (5..1), 0 for the offset, -1 for the unused/sign bits. */
  level: number;
}

/** A flag of an entry as displayed. */
export interface FlagToken {
  name: string;
  /** Set in the entry (after the walk). */
  set: boolean;
  /** One of the bits that decided the outcome at this level. */
  decisive: boolean;
  /** Set by this walk (accessed/dirty). */
  changed: boolean;
}

export interface LevelRow {
  level: number;
  name: string;
  index: number;
  entryAddress: string;
  value: string;
  valueAfter: string;
  flags: FlagToken[];
  decision: string;
  cached: boolean;
}

/** One bit of the page-fault error code. */
export interface ErrorCodeBit {
  bit: number;
  name: string;
  set: boolean;
  meaning: string;
}

export interface AdChange {
  name: string;
  entryAddress: string;
  before: string;
  after: string;
  bits: string[];
}

export interface WalkDescription {
  va: string;
  mode: PagingMode;
  kind: string;
  cpl: number;
  fields: AddressField[];
  rows: LevelRow[];
  source: WalkExplanation['source'];
  /** `pa 0x11000`, `#PF 0x7` or `#GP` (the same syntax as an image query's `expect`). */
  outcome: string;
  /** One sentence explaining the outcome. */
  summary: string;
  pa?: string;
  pageSize: number;
  errorCode?: number;
  errorBits?: ErrorCodeBit[];
  cr2?: string;
  adChanges: AdChange[];
}

const LEVEL_FIELD: Record<number, string> = { 5: 'PML5', 4: 'PML4', 3: 'PDPT', 2: 'PD', 1: 'PT' };

/** Bit ranges of the table indexes per mode (SDM 4.3 Figure 4-2, 4.4 Figure 4-5, 4.5 Figures 4-8/4-9). */
const SPLITS: Record<Exclude<PagingMode, 'none'>, Array<[number, number, number]>> = {
  '32bit': [
    [2, 31, 22],
    [1, 21, 12],
  ],
  pae: [
    [3, 31, 30],
    [2, 29, 21],
    [1, 20, 12],
  ],
  '4level': [
    [4, 47, 39],
    [3, 38, 30],
    [2, 29, 21],
    [1, 20, 12],
  ],
  '5level': [
    [5, 56, 48],
    [4, 47, 39],
    [3, 38, 30],
    [2, 29, 21],
    [1, 20, 12],
  ],
};

function bits(v: bigint, hi: number, lo: number): bigint {
  return (v >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
}

/** Level of the leaf for a page size: 4 KiB -> 1, 2/4 MiB -> 2, 1 GiB -> 3. */
function leafLevel(pageSize: number): number {
  return pageSize >= 2 ** 30 ? 3 : pageSize >= 2 ** 21 ? 2 : 1;
}

/**
 * Splits a linear address into the index fields of `mode`; with a large page the fields below the
 * leaf merge into the offset. IA-32e modes show the sign-extension bits, 32-bit modes the ignored
 * upper half when it is not zero.
 */
export function splitAddress(va: bigint, mode: PagingMode, pageSize = 4096): AddressField[] {
  if (mode === 'none') return [{ name: 'offset', hi: 31, lo: 0, value: bits(va, 31, 0), level: 0 }];
  const leaf = leafLevel(pageSize);
  const out: AddressField[] = [];
  const top = SPLITS[mode][0][1];
  if (mode === '4level' || mode === '5level') out.push({ name: 'sign', hi: 63, lo: top + 1, value: bits(va, 63, top + 1), level: -1 });
  else if (va >> 32n) out.push({ name: 'ignored', hi: 63, lo: 32, value: va >> 32n, level: -1 });
  let offsetHi = 11;
  for (const [level, hi, lo] of SPLITS[mode]) {
    if (level >= leaf) out.push({ name: LEVEL_FIELD[level], hi, lo, value: bits(va, hi, lo), level });
    else offsetHi = Math.max(offsetHi, hi);
  }
  out.push({ name: 'offset', hi: offsetHi, lo: 0, value: bits(va, offsetHi, 0), level: 0 });
  return out;
}

/** Page-fault error-code bits (SDM Figure 4-12), with the meaning of each value. */
const PF_BITS: Array<[number, string, string, string]> = [
  [0, 'P', 'the page was not present', 'page-level protection violation (the page was present)'],
  [1, 'W/R', 'the access was a read', 'the access was a write'],
  [2, 'U/S', 'supervisor-mode access', 'user-mode access'],
  [3, 'RSVD', 'no reserved bit was set', 'a reserved bit was set in a paging-structure entry'],
  [4, 'I/D', 'not an instruction fetch', 'instruction fetch'],
  [5, 'PK', 'not a protection-key violation', 'protection-key violation'],
];

/** Decodes a #PF error code bit by bit. */
export function decodeErrorCode(code: number): ErrorCodeBit[] {
  return PF_BITS.map(([bit, name, clear, set]) => {
    const on = ((code >> bit) & 1) === 1;
    return { bit, name, set: on, meaning: on ? set : clear };
  });
}

/** `pa 0x11000`, `#PF 0x7` or `#GP`: the outcome in the syntax of an image query's `expect`. */
export function outcomeString(r: AccessResult): string {
  if (r.ok) return `pa ${hex(r.pa)}`;
  return r.vector === 14 ? `#PF ${hex(r.errorCode)}` : '#GP';
}

/** Names of the bits that differ between two entry values (5 = A, 6 = D). */
function changedBits(before: bigint, after: bigint): string[] {
  const names: string[] = [];
  let diff = before ^ after;
  for (let b = 0; diff; b++, diff >>= 1n) if (diff & 1n) names.push(b === 5 ? 'A' : b === 6 ? 'D' : `bit${b}`);
  return names;
}

/** Flag names an entry can have; a decisive name outside this list (e.g. 'reserved') is a label, not a clear bit. */
const FLAG_NAMES = new Set(['P', 'RW', 'US', 'PWT', 'PCD', 'A', 'D', 'PS', 'G', 'PAT', 'XD']);

/**
 * The bits that decided the outcome at step `i`: the core's own list for a not-present or
 * reserved-bit stop; otherwise P (and PS at a large leaf), the R/W and U/S bits a write or user
 * access relied on when it succeeded, and the bits behind a protection fault (`protectionBits`).
 */
function decisiveOf(e: WalkExplanation, i: number, extra: string[], ctx?: DescribeContext): string[] {
  const s = e.steps[i];
  if (s.decision === 'reserved' && ctx && e.mode !== 'none') return reservedNames(e.mode, s, ctx);
  if (s.decision === 'not-present' || s.decision === 'reserved') return s.decisiveBits;
  const out = ['P'];
  if (s.flags.includes('PS') && s.level > 1) out.push('PS');
  if (e.mode === 'pae' && s.name === 'PDPTE') return out;
  if (e.result.ok) {
    if (e.options.kind === 'write') out.push('RW');
    if (e.options.cpl === 3 && !e.options.implicit) out.push('US');
  }
  return [...out, ...extra];
}

/**
 * The reserved bits set in an entry, as `RSVD:n` names, computed with the reference walker's
 * entry rules (src/reference/entry.ts, SDM vol. 3 Tables 4-4 to 4-20).
 */
function reservedNames(mode: Exclude<PagingMode, 'none'>, s: WalkStep, ctx: DescribeContext): string[] {
  const ec: EntryContext = {
    mode,
    vendor: ctx.vendor,
    maxPhysAddrBits: ctx.maxPhysAddrBits,
    pse36: ctx.pse36,
    pdpe1gb: ctx.pdpe1gb,
    nxe: (ctx.control.efer & (1n << 11n)) !== 0n,
    pse: (ctx.control.cr4 & (1n << 4n)) !== 0n,
  };
  const mask = reservedBitsSet(ec, s.level, s.value, isLeafEntry(ec, s.level, s.value));
  const names: string[] = [];
  for (let b = 0; b < 64; b++) if ((mask >> BigInt(b)) & 1n) names.push(`RSVD:${b}`);
  return names.length ? names : s.decisiveBits;
}

function flagTokens(s: WalkStep, decisiveBits: string[]): FlagToken[] {
  const changed = changedBits(s.value, s.valueAfter);
  const decisive = new Set(decisiveBits);
  const tokens: FlagToken[] = s.flags.map((name) => ({ name, set: true, decisive: decisive.has(name), changed: changed.includes(name) }));
  const have = new Set(s.flags);
  for (const name of changed) {
    if (have.has(name)) continue;
    tokens.push({ name, set: true, decisive: decisive.has(name), changed: true });
    have.add(name);
  }
  for (const name of decisive) if (!have.has(name)) tokens.push({ name, set: !FLAG_NAMES.has(name), decisive: true, changed: false });
  return tokens;
}

/**
 * The bits behind a protection #PF, per step (SDM 4.6): for a user access the levels whose U/S
 * is clear; for a write the levels whose R/W is clear; for a fetch the levels with XD set (or,
 * under SMEP, the U/S bits that make the page a user page); under SMAP the U/S bits; for a
 * protection-key fault the leaf's key.
 */
function protectionBits(e: WalkExplanation): string[][] {
  const out = e.steps.map((): string[] => []);
  const r = e.result;
  if (r.ok || r.vector !== 14 || !(r.errorCode & 1) || r.errorCode & 8) return out;
  const has = (i: number, f: string) => e.steps[i].flags.includes(f);
  const mark = (f: string, when: (i: number) => boolean) => {
    let any = false;
    e.steps.forEach((s, i) => {
      if ((s.name !== 'PDPTE' || e.mode !== 'pae') && when(i)) {
        out[i].push(f);
        any = true;
      }
    });
    return any;
  };
  const leaf = e.steps.length - 1;
  if (r.errorCode & 32) {
    const key = e.steps[leaf]?.flags.find((f) => f.startsWith('PK='));
    if (key) out[leaf].push(key);
    return out;
  }
  const user = (r.errorCode & 4) !== 0;
  if (user && mark('US', (i) => !has(i, 'US'))) return out;
  if (r.errorCode & 16) {
    if (!mark('XD', (i) => has(i, 'XD')) && !user) mark('US', (i) => has(i, 'US'));
    return out;
  }
  if (r.errorCode & 2 && mark('RW', (i) => !has(i, 'RW'))) return out;
  if (!user) mark('US', (i) => has(i, 'US'));
  return out;
}

function rowOf(s: WalkStep, decisive: string[], mode: PagingMode): LevelRow {
  const digits = mode === '32bit' ? 8 : 16; // 32-bit paging entries are 4 bytes
  return {
    level: s.level,
    name: s.name,
    index: s.index,
    entryAddress: hex(s.entryAddress),
    value: hex(s.value, digits),
    valueAfter: hex(s.valueAfter, digits),
    flags: flagTokens(s, decisive),
    decision: s.decision,
    cached: s.cached,
  };
}

function summaryOf(e: WalkExplanation, pageSize: number): string {
  const r = e.result;
  const access = `${e.options.kind} at CPL ${e.options.cpl}`;
  if (r.ok)
    return `${access}: translated to ${hex(r.pa)} through a ${pageSize >= 2 ** 30 ? '1 GiB' : pageSize >= 2 ** 22 ? '4 MiB' : pageSize >= 2 ** 21 ? '2 MiB' : '4 KiB'} page${e.source === 'tlb' ? ' (TLB hit)' : ''}`;
  if (r.vector === 13) return `${access}: #GP — the address is not canonical in ${e.mode} paging, nothing was walked`;
  const last = e.steps[e.steps.length - 1];
  const where = last ? ` at the ${last.name}` : '';
  const why = r.errorCode & 8 ? 'reserved bit set' : r.errorCode & 32 ? 'protection key' : r.errorCode & 1 ? 'protection violation' : 'not present';
  return `${access}: #PF (${why}${where}), error code ${hex(r.errorCode)}, CR2 = ${hex(r.cr2)}`;
}

/** Display-ready description of an explained walk; `ctx` (e.g. the image) names reserved bits. */
export function describeWalk(e: WalkExplanation, ctx?: DescribeContext): WalkDescription {
  const last = e.steps[e.steps.length - 1];
  const faultPageSize =
    last && last.level > 1 && last.flags.includes('PS') && (e.mode !== '32bit' || last.level === 2)
      ? last.level === 3
        ? 2 ** 30
        : e.mode === '32bit'
          ? 2 ** 22
          : 2 ** 21
      : 4096;
  const pageSize = e.pageSize || faultPageSize;
  const extra = protectionBits(e);
  const d: WalkDescription = {
    va: hex(e.va, 16),
    mode: e.mode,
    kind: e.options.kind,
    cpl: e.options.cpl,
    fields: splitAddress(e.va, e.mode, pageSize),
    rows: e.steps.map((s, i) => rowOf(s, decisiveOf(e, i, extra[i], ctx), e.mode)),
    source: e.source,
    outcome: outcomeString(e.result),
    summary: summaryOf(e, pageSize),
    pageSize: e.pageSize,
    adChanges: e.steps
      .filter((s) => s.value !== s.valueAfter)
      .map((s) => ({
        name: s.name,
        entryAddress: hex(s.entryAddress),
        before: hex(s.value),
        after: hex(s.valueAfter),
        bits: changedBits(s.value, s.valueAfter),
      })),
  };
  const r = e.result;
  if (r.ok) d.pa = hex(r.pa);
  else if (r.vector === 14) {
    d.errorCode = r.errorCode;
    d.errorBits = decodeErrorCode(r.errorCode);
    d.cr2 = hex(r.cr2);
  }
  return d;
}
