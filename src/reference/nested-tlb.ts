/**
 * The reference nested TLB: the cached translations of Intel SDM vol. 3C "VMX Support for Address
 * Translation", section "Information That May Be Cached" (guest-physical mappings tagged by EP4TA;
 * combined mappings tagged by VPID, PCID and EP4TA), the invalidations of "Operations that
 * Invalidate Cached Mappings" and of the INVEPT / INVVPID instruction pages, and their AMD
 * counterparts (APM vol. 2 §15.16 "TLB Control": ASID tags, the VMCB TLB_CONTROL field; APM vol. 3
 * INVLPGA). Unbounded: nothing is evicted, so a run on the WASM nested TLB (assembly/nested-tlb.ts)
 * that evicts nothing must agree with it, stale entries included. The caching rules where the
 * manuals leave a choice are in docs/nested.md "Nested TLB".
 */
import type { WalkRights } from './rights.js';

/** A cached translation. Combined: linear page → HPA; guest-physical: GPA page → HPA. */
export interface RefNestedEntry {
  type: 'combined' | 'gpa';
  host: 'ept' | 'npt';
  /** VPID (EPT combined mappings) or ASID (NPT); unused (0) for EPT guest-physical mappings. */
  id: number;
  /** EP4TA (EPT); 0 under NPT. */
  ep4ta: bigint;
  /** Page (linear for combined, guest-physical otherwise) base, and its size as a shift. */
  base: bigint;
  shift: number;
  hpa: bigint;
  /** Combined mappings: the guest's PCID, rights, global flag, page size (shift) and GPA base. */
  pcid: number;
  guest?: WalkRights & { global: boolean; dirty: boolean; shift: number; gpa: bigint };
  /** Host rights: R, W, X (EPT bits 2:0 ANDed, 8 = bit 10 ANDed with MBEC; NPT: R, R/W, not NX). */
  rights: number;
  /** Every D flag the host maintains for this page is set. */
  dirty: boolean;
}

export class RefNestedTlb {
  entries: RefNestedEntry[] = [];

  private drop(pred: (e: RefNestedEntry) => boolean): void {
    this.entries = this.entries.filter((e) => !pred(e));
  }

  findCombined(host: 'ept' | 'npt', id: number, ep4ta: bigint, pcid: number, la: bigint): RefNestedEntry | undefined {
    return this.entries.find(
      (e) =>
        e.type === 'combined' &&
        e.host === host &&
        e.id === id &&
        e.ep4ta === ep4ta &&
        (e.guest!.global || e.pcid === pcid) &&
        la >> BigInt(e.shift) === e.base >> BigInt(e.shift),
    );
  }

  findGpa(host: 'ept' | 'npt', id: number, ep4ta: bigint, gpa: bigint): RefNestedEntry | undefined {
    return this.entries.find(
      (e) => e.type === 'gpa' && e.host === host && e.id === id && e.ep4ta === ep4ta && gpa >> BigInt(e.shift) === e.base >> BigInt(e.shift),
    );
  }

  remove(e: RefNestedEntry): void {
    this.drop((x) => x === e);
  }

  add(e: RefNestedEntry): void {
    this.entries.push(e);
  }

  /** The combined mapping's guest page contains la. */
  private static covers(e: RefNestedEntry, la: bigint): boolean {
    const s = BigInt(e.guest!.shift);
    return e.base >> s === la >> s;
  }

  /** INVEPT type 1 (single-context: one EP4TA, every VPID and PCID) or 2 (global). */
  invept(type: 1 | 2, ep4ta: bigint): void {
    this.drop((e) => e.host === 'ept' && (type === 2 || e.ep4ta === ep4ta));
  }

  /**
   * INVVPID: combined mappings of the VPID for all EP4TAs and PCIDs; type 0 those that would
   * translate la, 1 all, 2 those of every VPID except 0, 3 all but the global ones.
   */
  invvpid(type: 0 | 1 | 2 | 3, vpid: number, la: bigint): void {
    this.drop((e) => {
      if (e.type !== 'combined' || e.host !== 'ept') return false;
      if (type === 2) return e.id !== 0;
      if (e.id !== vpid) return false;
      if (type === 0) return RefNestedTlb.covers(e, la);
      return type === 1 || !e.guest!.global;
    });
  }

  /** VM entry or exit with "enable VPID" = 0: the combined mappings of VPID 0, every EP4TA. */
  vmTransitionVpid0(): void {
    this.drop((e) => e.type === 'combined' && e.host === 'ept' && e.id === 0);
  }

  /** VMRUN's TLB_CONTROL: 1 everything, 3 the ASID's entries, 7 the ASID's non-global entries. */
  tlbControl(value: 0 | 1 | 3 | 7, asid: number): void {
    if (value === 0) return;
    this.drop((e) => value === 1 || (e.host === 'npt' && e.id === asid && (value === 3 || e.type === 'gpa' || !e.guest!.global)));
  }

  /** INVLPGA: the ASID's combined mappings of the page of va. */
  invlpga(va: bigint, asid: number): void {
    this.drop((e) => e.type === 'combined' && e.host === 'npt' && e.id === asid && RefNestedTlb.covers(e, va));
  }

  /**
   * The guest's own invalidations, on the combined mappings of its VPID/ASID for every EP4TA
   * (SDM "Operations that Invalidate Cached Mappings"), with the scopes of SDM 4.10.4.1:
   * 'invlpg' the page of la for the current PCID and global entries; 'page' (INVPCID type 0) the
   * page of la for `pcid`, not global; 'pcid' (MOV to CR3, INVPCID type 1) the non-global
   * entries of `pcid`; 'all' everything; 'all-but-global' (INVPCID type 3).
   */
  guestInvalidate(host: 'ept' | 'npt', id: number, op: 'invlpg' | 'page' | 'pcid' | 'all' | 'all-but-global', pcid: number, la = 0n): void {
    this.drop((e) => {
      if (e.type !== 'combined' || e.host !== host || e.id !== id) return false;
      const g = e.guest!.global;
      switch (op) {
        case 'invlpg':
          return (g || e.pcid === pcid) && RefNestedTlb.covers(e, la);
        case 'page':
          return !g && e.pcid === pcid && RefNestedTlb.covers(e, la);
        case 'pcid':
          return !g && e.pcid === pcid;
        case 'all':
          return true;
        case 'all-but-global':
          return !g;
      }
    });
  }
}
