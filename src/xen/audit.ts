/**
 * A sanitizer for the PV memory model's safety property, checked on every entry Xen accepts into
 * a guest's page table, by an update or in a table it validates (not Xen code: real Xen prints
 * nothing when it is broken). The property is the one validation exists for, derived here from
 * the frame table alone, not from the validation code:
 *
 * - a present L1 entry maps a frame the domain owns, and a writable one only a frame holding a
 *   PGT_writable_page type reference (never a page table);
 * - a present L2..L4 entry points to a frame the domain owns that is a validated table one level
 *   down, or (a linear page table) a validated table of its own level, read-only;
 * - no L2 entry is a superpage (PSE): the model's Xen runs without `allowsuperpage`.
 *
 * When an accepted entry breaks it, the audit says what the guest gained, naming a concrete frame
 * (for a writable linear entry it walks the tables the CPU would walk through it until it finds a
 * writable leaf on a page-table frame).
 */
import { PGT_count_mask, PGT_type_mask, PGT_validated, PGT_writable_page, levelOfType, type XenFrameTable } from './page-info.js';
import { get_pte_flags, is_guest_l4_slot, pte_get_pfn } from './mm.js';
import { lx } from './log.js';

const _PAGE_PRESENT = 0x001;
const _PAGE_RW = 0x002;
const _PAGE_PSE = 0x080;
/** Entries the linear-table walk reads at most. */
const WALK_BUDGET = 1 << 15;

/** What a guest gained through an entry Xen accepted. */
export interface Escalation {
  /** e.g. "writable mapping of an L1 page-table frame owned by d1". */
  gained: string;
  /** Stable class for signatures, e.g. 'writable-L1-via-L2-superpage'. */
  kind: string;
  /** Further lines: the entry, the frames involved. */
  detail: string[];
  /** The report's first line when the gain came from something else than an accepted entry. */
  headline?: string;
}

interface Memory {
  read64n(pa: number): bigint;
}

function ownerName(o: number): string {
  return o < 0 ? 'Xen' : `d${o}`;
}

/** What the frame is, for a report: "an L1 page-table frame owned by d1". */
function frameWhat(pages: XenFrameTable, mfn: number): string {
  const t = pages.typeInfo[mfn];
  const lvl = levelOfType(t);
  const who = `owned by ${ownerName(pages.owner[mfn])}`;
  if (lvl >= 1 && lvl <= 4 && (t & PGT_count_mask) !== 0n) return `an L${lvl} page-table frame ${who}`;
  return `a frame ${who}`;
}

/** Frames a writable mapping must not reach: page tables in use, or frames of another owner. */
function forbidden(pages: XenFrameTable, mfn: number, d: number, writable: boolean): boolean {
  if (!pages.valid(mfn)) return false;
  if (pages.owner[mfn] !== d) return true;
  if (!writable) return false;
  const t = pages.typeInfo[mfn];
  return (t & PGT_count_mask) !== 0n && (t & PGT_type_mask) !== PGT_writable_page;
}

/**
 * Audits the entry at machine address `pa` of a validated level-`level` table of domain `d`,
 * just accepted by Xen. Null when the entry keeps the safety property.
 */
export function auditEntry(pages: XenFrameTable, mem: Memory, level: number, pa: number, d: number): Escalation | null {
  const e = mem.read64n(pa);
  const f = get_pte_flags(e);
  if (!(f & _PAGE_PRESENT)) return null;
  const mfn = pte_get_pfn(e);
  const rw = (f & _PAGE_RW) !== 0;
  if (!pages.valid(mfn)) return null; // outside RAM: nothing the model can say
  if (level === 1) {
    if (!forbidden(pages, mfn, d, rw)) return null;
    const what = frameWhat(pages, mfn);
    return {
      gained: `${rw ? 'writable' : 'read-only'} mapping of ${what}`,
      kind: `${rw ? 'writable' : 'read-only'}-${kindOf(pages, mfn)}-via-L1`,
      detail: [entryWhere(level, pa, e), pages.describe(mfn)],
    };
  }
  if (level === 2 && f & _PAGE_PSE) return superpage(pages, e, rw, d, entryWhere(level, pa, e));
  const t = pages.typeInfo[mfn];
  const tl = levelOfType(t);
  const typedOk = (t & PGT_validated) !== 0n && (t & PGT_count_mask) !== 0n && pages.owner[mfn] === d;
  if (typedOk && tl === level - 1) return null;
  if (typedOk && tl === level && !rw) return null; // a read-only linear page table
  if (typedOk && tl === level) {
    const leaf = findWritableLeaf(pages, mem, mfn, level - 1, d);
    const gained = leaf
      ? `writable mapping of ${frameWhat(pages, leaf.mfn)}`
      : `writable linear page-table entry (L${level} mfn ${lx(mfn)} as an L${level - 1} table)`;
    return {
      gained,
      kind: `writable-${leaf ? kindOf(pages, leaf.mfn) : 'linear'}-via-L${level}-linear`,
      detail: [
        `${entryWhere(level, pa, e)}: a writable linear page-table entry (it points to L${level} mfn ${lx(mfn)}${mfn === Math.floor(pa / 4096) ? ', its own table' : ''})`,
        ...(leaf ? [`through it the CPU reaches mfn ${lx(leaf.mfn)} as a writable 4 KiB page: ${leaf.path}`, pages.describe(leaf.mfn)] : []),
      ],
    };
  }
  return {
    gained: `L${level} entry to ${frameWhat(pages, mfn)} Xen has not validated as an L${level - 1} table`,
    kind: `unvalidated-L${level}-entry`,
    detail: [entryWhere(level, pa, e), pages.describe(mfn)],
  };
}

/** The entry named in a report (built only for a finding: most entries audited are fine). */
function entryWhere(level: number, pa: number, e: bigint): string {
  return `L${level} entry ${(pa % 4096) / 8} of mfn ${lx(Math.floor(pa / 4096))} = ${lx(e)}`;
}

function kindOf(pages: XenFrameTable, mfn: number): string {
  const t = pages.typeInfo[mfn];
  const lvl = levelOfType(t);
  if (pages.owner[mfn] < 0) return 'xen-frame';
  return lvl >= 1 && lvl <= 4 && (t & PGT_count_mask) !== 0n ? `L${lvl}` : 'foreign-frame';
}

/** A 2 MiB L2 superpage entry: the frames it covers and what among them the guest must not map. */
function superpage(pages: XenFrameTable, e: bigint, rw: boolean, d: number, where: string): Escalation {
  const pfn = pte_get_pfn(e);
  const base = pfn & ~511;
  // A 2 MiB PDE: bit 12 is PAT, bits 20:13 reserved (SDM vol. 3 table 4-17).
  const reserved = (pfn & 0x1fe) !== 0;
  let first = -1;
  let n = 0;
  for (let m = base; m < base + 512; m++) {
    if (forbidden(pages, m, d, rw)) {
      n++;
      if (first < 0 || (m === pfn && kindOf(pages, m) !== 'foreign-frame')) first = m;
    }
  }
  const span = `mfn ${lx(base)}-${lx(base + 511)}`;
  if (first < 0) {
    return { gained: `unvalidated 2 MiB superpage mapping (${span})`, kind: 'unvalidated-L2-superpage', detail: [where] };
  }
  const what = frameWhat(pages, first);
  return {
    gained: `${rw ? 'writable' : 'read-only'} mapping of ${what}`,
    kind: `${rw ? 'writable' : 'read-only'}-${kindOf(pages, first)}-via-L2-superpage`,
    detail: [
      `${where}: an L2 superpage (PSE) entry over ${span}, taken without validation or type references`,
      `${n} of its frames are page tables or not the guest's, among them ${pages.describe(first)}`,
      ...(reserved
        ? [
            `its address bits 20:13 are not zero, so the CPU faults on it as written; the same update on an L2 entry whose L1 frame is 2 MiB-aligned maps the span`,
          ]
        : []),
    ],
  };
}

/**
 * Depth-first, writable entries only, as the CPU walks a `hwLevel` table. In an L4 frame the Xen
 * slots (256..271, installed by alloc_l4_table) are skipped: they are Xen's supervisor-only
 * mappings, which the ring-3 PV guest cannot use.
 */
function findWritableLeaf(pages: XenFrameTable, mem: Memory, table: number, hwLevel: number, d: number): { mfn: number; path: string } | null {
  let budget = WALK_BUDGET;
  const walk = (t: number, lvl: number, path: string): { mfn: number; path: string } | null => {
    const isL4 = levelOfType(pages.typeInfo[t]) === 4;
    for (let j = 0; j < 512 && budget > 0; j++, budget--) {
      if (isL4 && !is_guest_l4_slot(j)) continue;
      const e = mem.read64n(t * 4096 + j * 8);
      const f = get_pte_flags(e);
      if ((f & (_PAGE_PRESENT | _PAGE_RW)) !== (_PAGE_PRESENT | _PAGE_RW)) continue;
      const m = pte_get_pfn(e);
      if (!pages.valid(m)) continue;
      const p = `${path} -> [${j}] mfn ${lx(m)}`;
      if (lvl === 1) {
        if (forbidden(pages, m, d, true)) return { mfn: m, path: p };
        continue;
      }
      if (lvl === 2 && f & _PAGE_PSE) continue;
      const r = walk(m, lvl - 1, p);
      if (r) return r;
    }
    return null;
  };
  return walk(table, hwLevel, `mfn ${lx(table)} (as L${hwLevel})`);
}

/** A CPU as the type-change audit reads it: its TLB entries, decoded. */
export interface AuditedCpu {
  readonly index: number;
  tlbEntries?(): ReadonlyArray<{ va: bigint; pa: bigint; pageSize: number; writable: boolean }>;
}

/**
 * Audits a frame that just took the page-table type `type` (after the TLB flush its type change
 * owed): no CPU may still hold a writable TLB entry for it, or the guest writes a page table Xen
 * has validated, bypassing validation. Null when none does (or `type` is not a page table).
 */
export function auditTypeChange(pages: XenFrameTable, cpus: readonly AuditedCpu[], mfn: number, type: bigint): Escalation | null {
  const level = levelOfType(type);
  if (level < 1 || level > 4) return null;
  const base = BigInt(mfn) * 4096n;
  for (const c of cpus) {
    for (const e of c.tlbEntries?.() ?? []) {
      if (!e.writable || base < e.pa || base >= e.pa + BigInt(e.pageSize)) continue;
      return {
        gained: `writable mapping of an L${level} page-table frame owned by ${ownerName(pages.owner[mfn])} (a stale TLB entry of CPU${c.index})`,
        headline: `Xen made mfn ${lx(mfn)} an L${level} page table while CPU${c.index} still holds a writable TLB entry for it`,
        kind: `stale-writable-tlb-L${level}`,
        detail: [
          `CPU${c.index} holds va ${lx(e.va)} -> pa ${lx(e.pa)} (${e.pageSize / 1024} KiB, writable), filled before mfn ${lx(mfn)} became an L${level} page table and not flushed since`,
        ],
      };
    }
  }
  return null;
}
