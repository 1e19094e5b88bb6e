/**
 * The Xen hypervisor as a 64-bit PV guest sees it: one domain on the machine, a vCPU per
 * machine CPU, and the MMU hypercalls. Each hypercall follows its Xen function:
 *   do_mmu_update        xen/arch/x86/mm.c:3328
 *   do_mmuext_op         xen/arch/x86/mm.c:2875 (pin/unpin, NEW_BASEPTR, TLB flushes, INVLPG)
 *   do_update_va_mapping xen/arch/x86/mm.c:4255 (__do_update_va_mapping)
 *   new_guest_cr3        xen/arch/x86/mm.c:2697
 *   toggle_guest_mode    xen/arch/x86/x86_64/traps.c (RELEASE-4.1.0 253-266) with update_cr3 (mm.c 540-558)
 *   do_multicall         xen/common/multicall.c
 *   ptwr_emulate         xen/arch/x86/mm.c ptwr_do_page_fault / ptwr_emulated_update (trapped kernel writes to L1 tables)
 * at xen-unstable 6020fcb848 (Xen 4.1 development, November 2010).
 */
import { XenConsole, MM_C_LINE, lx } from './log.js';
import { P2m, type P2mKind } from './p2m.js';
import { auditEntry, auditTypeChange, type AuditedCpu, type Escalation } from './audit.js';
import type { XenFixes } from './fixes.js';
import type { XenPanic } from './stack.js';
import { EINVAL, ENOSYS, XenMm, type XenGen, type XenMachineView, type XenMmState, get_pte_flags, is_guest_l4_slot, pte_get_pfn } from './mm.js';
import {
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_l4_page_table,
  PGT_type_mask,
  PGT_writable_page,
  PGT_validated,
  PGT_count_mask,
  PGT_seg_desc_page,
  pgtForLevel,
  typeName,
} from './page-info.js';
import {
  MMUEXT_INVLPG_ALL,
  MMUEXT_INVLPG_LOCAL,
  MMUEXT_INVLPG_MULTI,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_NEW_USER_BASEPTR,
  MMUEXT_SET_LDT,
  MMU_MACHPHYS_UPDATE,
  MMUEXT_PIN_L1_TABLE,
  MMUEXT_PIN_L4_TABLE,
  MMUEXT_TLB_FLUSH_ALL,
  MMUEXT_TLB_FLUSH_LOCAL,
  MMUEXT_TLB_FLUSH_MULTI,
  MMUEXT_UNPIN_TABLE,
  MMU_NORMAL_PT_UPDATE,
  MMU_PT_UPDATE_PRESERVE_AD,
  UVMF_ALL,
  UVMF_FLUSHTYPE_MASK,
  UVMF_INVLPG,
  UVMF_TLB_FLUSH,
  mmuextName,
  type MmuUpdate,
  type MmuextOp,
  type MulticallEntry,
} from './hypercalls.js';

/** The mmuext ops that change who holds a page table's type references (auditHolders). */
const HOLDER_OPS: ReadonlySet<number> = new Set([
  MMUEXT_PIN_L1_TABLE,
  MMUEXT_PIN_L1_TABLE + 1,
  MMUEXT_PIN_L1_TABLE + 2,
  MMUEXT_PIN_L4_TABLE,
  MMUEXT_UNPIN_TABLE,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_NEW_USER_BASEPTR,
]);

/** The machine as the hypervisor drives it (a structural subset of the core's Machine). */
export interface XenMachine extends XenMachineView {
  cpus: ReadonlyArray<AuditedCpu & { invlpg(va: bigint): void; flushTlbAll(): void; setControl(r: { cr3?: bigint }): void }>;
}

export interface XenOptions {
  /** Domain id of the PV guest (printed as `d<id>`). Default 1. */
  domid?: number;
  /** Guest pfn ↔ machine frame map. Default identity. */
  p2m?: P2mKind;
  /** Machine frames owned by Xen itself and not given to the guest. Default: none. */
  xenFrames?: Iterable<number>;
  /**
   * Machine frames allocated to another domain (d0; d1 when the guest is d0), not the guest's:
   * what a malicious guest names to reach memory it does not own. Default: none.
   */
  foreignFrames?: Iterable<number>;
  /** Security fixes of later releases (src/xen/fixes.ts). Default: all. */
  fixes?: Partial<XenFixes>;
  /**
   * Called when Xen has accepted a page-table entry that breaks the PV safety property
   * (src/xen/audit.ts): what the guest gained, and the hypercall that installed it.
   */
  onEscalation?: (e: Escalation & { hypercall: string; vcpu: number }) => void;
  /** Called when Xen panics (e.g. its stack overflowed: src/xen/stack.ts); default: throw the XenPanic. */
  onPanic?: (p: XenPanic) => never;
}

/** A hypercall that Xen refused: what was asked, the return code, and the console lines it printed. */
export interface XenRefusal {
  hypercall: 'mmu_update' | 'mmuext_op' | 'update_va_mapping' | 'ptwr_emulate';
  vcpu: number;
  /** Human-readable request, e.g. `MMUEXT_PIN_L1_TABLE mfn 1d2e04`. */
  request: string;
  rc: number;
  log: string[];
}

/** Counters, for tests and benchmarks. */
export interface XenStats {
  mmuUpdates: number;
  mmuextOps: number;
  updateVaMappings: number;
  multicalls: number;
  ptwrEmulations: number;
  typeChangeFlushes: number;
}

/** A saved copy of the hypervisor's state. */
export interface XenHypervisorState {
  mm: XenMmState;
  counts: Omit<XenStats, 'typeChangeFlushes'>;
  guestTable: number[];
  guestTableUser: number[];
  kernelMode: boolean[];
  ldt: { base: bigint; ents: number; shadow: number[] }[];
  m2p: Int32Array;
}

/** x86_64 config.h: HYPERVISOR_VIRT_END = PML4_ADDR(272) (sign-extended). */
const HYPERVISOR_VIRT_END = 0xffff880000000000n;

/** x86_64 uaccess.h `__addr_ok(addr)`: the lower half of the 48-bit space, or above Xen's area. */
function __addr_ok(addr: bigint): boolean {
  return addr < 1n << 48n || addr >= HYPERVISOR_VIRT_END;
}

/** The hypervisor: one PV domain spanning the machine's RAM, but for Xen's own frames and another domain's. */
export class XenHypervisor {
  readonly console = new XenConsole();
  readonly p2m: P2m;
  readonly mm: XenMm;
  readonly domid: number;
  /** The machine frames of another domain (`XenOptions.foreignFrames`), and that domain's id. */
  readonly foreignFrames: readonly number[];
  readonly foreignDomid: number;
  /** `v->arch.guest_table` per vCPU: the mfn of the installed L4 (0 = none). */
  readonly guestTable: number[];
  /** `v->arch.guest_table_user` per vCPU (MMUEXT_NEW_USER_BASEPTR): the 64-bit PV guest's user L4 (0 = none). */
  readonly guestTableUser: number[];
  /** `TF_kernel_mode` per vCPU: the guest runs its kernel (true) or user mode (false). */
  readonly kernelMode: boolean[];
  /**
   * `guest_context.ldt_base`/`ldt_ents` per vCPU (MMUEXT_SET_LDT), and the frames mapped in the
   * shadow LDT (`perdomain_ptes[16..31]`), each holding a PGT_seg_desc_page type reference.
   */
  readonly ldt: { base: bigint; ents: number; shadow: number[] }[];
  /** Every refused hypercall, in order. */
  readonly refusals: XenRefusal[] = [];
  private readonly onEscalation: XenOptions['onEscalation'] | null;
  private readonly counts = { mmuUpdates: 0, mmuextOps: 0, updateVaMappings: 0, multicalls: 0, ptwrEmulations: 0 };

  constructor(
    readonly m: XenMachine,
    opts: XenOptions = {},
  ) {
    this.domid = opts.domid ?? 1;
    if (!Number.isInteger(this.domid) || this.domid < 0 || this.domid > 0x7fef) throw new RangeError(`domid ${this.domid} is not a valid domain id (0..32751)`);
    this.p2m = new P2m(m.frames.count, opts.p2m ?? { kind: 'identity' });
    this.mm = new XenMm(m, this.console, this.p2m);
    this.mm.current = this.domid;
    Object.assign(this.mm.fixes, opts.fixes ?? {});
    this.onEscalation = opts.onEscalation ?? null;
    if (this.onEscalation) this.mm.onValidated = (mfn, level) => this.auditTable(mfn, level);
    this.mm.onPanic = opts.onPanic ?? null;
    const xen = new Set(opts.xenFrames ?? []);
    this.foreignFrames = [...new Set(opts.foreignFrames ?? [])].filter((f) => f >= 0 && f < m.frames.count && !xen.has(f)).sort((a, b) => a - b);
    this.foreignDomid = this.domid === 0 ? 1 : 0;
    const foreign = new Set(this.foreignFrames);
    const mine: number[] = [];
    for (let mfn = 0; mfn < m.frames.count; mfn++) if (!xen.has(mfn) && !foreign.has(mfn)) mine.push(mfn);
    this.mm.assign_pages(this.domid, mine);
    this.mm.assign_pages(this.foreignDomid, this.foreignFrames);
    // d->arch.mm_perdomain_l3 (arch_domain_create): the lowest Xen frame, zeroed (no per-domain
    // mappings — GDT/LDT shadow — are modelled below it).
    const xenOwn = [...xen].filter((f) => f >= 0 && f < m.frames.count).sort((a, b) => a - b);
    if (xenOwn.length > 0) {
      this.mm.perdomainL3 = xenOwn[0];
      for (let i = 0; i < 512; i++) m.phys.write64n(xenOwn[0] * 4096 + i * 8, 0n);
    }
    this.guestTable = m.cpus.map(() => 0);
    this.guestTableUser = m.cpus.map(() => 0);
    this.kernelMode = m.cpus.map(() => true);
    this.ldt = m.cpus.map(() => ({ base: 0n, ents: 0, shadow: [] }));
  }

  /** A copy of the hypervisor's state (frame table, counters, base pointers), console empty. */
  saveState(): XenHypervisorState {
    if (this.console.lines.length || this.refusals.length) throw new Error('Xen model: saveState() with console output pending');
    return {
      mm: this.mm.saveState(),
      counts: { ...this.counts },
      guestTable: this.guestTable.slice(),
      guestTableUser: this.guestTableUser.slice(),
      kernelMode: this.kernelMode.slice(),
      ldt: this.ldt.map((l) => ({ ...l, shadow: l.shadow.slice() })),
      m2p: this.p2m.saveM2p(),
    };
  }

  /** Restores a state saved on a machine of the same size (e.g. the state right after boot). */
  restoreState(st: XenHypervisorState): void {
    this.mm.restoreState(st.mm);
    Object.assign(this.counts, st.counts);
    st.guestTable.forEach((v, i) => (this.guestTable[i] = v));
    st.guestTableUser.forEach((v, i) => (this.guestTableUser[i] = v));
    st.kernelMode.forEach((v, i) => (this.kernelMode[i] = v));
    st.ldt.forEach((l, i) => (this.ldt[i] = { ...l, shadow: l.shadow.slice() }));
    this.p2m.restoreM2p(st.m2p);
  }

  /** Counters so far. */
  get stats(): XenStats {
    return { ...this.counts, typeChangeFlushes: this.mm.typeChangeFlushes };
  }

  private refuse(hypercall: XenRefusal['hypercall'], vcpu: number, request: string, rc: number, mark: number): number {
    this.refusals.push({ hypercall, vcpu, request, rc, log: this.console.since(mark) });
    return rc;
  }

  private checkVcpu(vcpu: number): void {
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= this.m.cpus.length)
      throw new RangeError(`vcpu ${vcpu} does not exist (the domain has ${this.m.cpus.length})`);
  }

  // ---- mmu_update ---------------------------------------------------------------------------

  /**
   * `HYPERVISOR_mmu_update(reqs, count, &done, DOMID_SELF)`: each request validated against the
   * type of the frame it writes into; the first refused request stops the batch. Returns 0 or
   * -errno (and, like `pdone`, how many were done).
   */
  mmu_update(vcpu: number, reqs: readonly MmuUpdate[]): { rc: number; done: number } {
    return this.mm.sync(this.mmu_update_g(vcpu, reqs));
  }

  /** mmu_update() as interruptible Xen code (a guest vCPU runs it through `XenMm.interruptible`). */
  *mmu_update_g(vcpu: number, reqs: readonly MmuUpdate[]): XenGen<{ rc: number; done: number }> {
    this.checkVcpu(vcpu);
    this.mm.currentCpu = vcpu;
    this.mm.enterFrame('do_mmu_update');
    const r = yield* this.do_mmu_update(vcpu, reqs);
    this.mm.leaveFrame();
    return r;
  }

  /** `do_mmu_update()` on the hypercall's stack frame. */
  private *do_mmu_update(vcpu: number, reqs: readonly MmuUpdate[]): XenGen<{ rc: number; done: number }> {
    const mark = this.console.lines.length;
    for (let i = 0; i < reqs.length; i++) {
      this.counts.mmuUpdates++;
      const { rc, okay, level } = yield* this.one_mmu_update(reqs[i]);
      if (okay && level) this.audit(level, Number(reqs[i].ptr & ~7n), vcpu, () => `mmu_update ptr ${lx(reqs[i].ptr)} val ${lx(reqs[i].val)}`);
      if (!okay) {
        const r = rc || -EINVAL;
        this.refuse('mmu_update', vcpu, `mmu_update ptr ${lx(reqs[i].ptr)} val ${lx(reqs[i].val)}`, r, mark);
        return { rc: r, done: i };
      }
    }
    return { rc: 0, done: reqs.length };
  }

  /**
   * Runs the safety audit on every entry of a table Xen has just validated (a pin, a new base
   * pointer, or a table validated because an entry of another one points to it): what validation
   * accepted must keep the property as much as a single accepted update (the L4 slots Xen owns
   * are its own, not the guest's).
   */
  private auditTable(mfn: number, level: number): void {
    const phys = this.m.phys;
    for (let i = 0; i < 512; i++) {
      const pa = mfn * 4096 + i * 8;
      if ((phys.read32n(pa) & 1) === 0 || (level === 4 && !is_guest_l4_slot(i))) continue;
      this.audit(level, pa, this.mm.currentCpu, () => `validation of mfn ${lx(mfn)} as an L${level} table (entry ${i})`);
    }
  }

  /**
   * After a pin, an unpin or a new base pointer, accepted or refused (a refused one must change
   * nothing, so the counts still cover the holders): the tables that op touched and every vCPU's
   * base tables hold a validated type with at least one type reference per holder (its pin, each
   * `guest_table` and `guest_table_user` naming it). A table held by fewer references than holders
   * loses its type while still in use — when one holder lets go, the others keep using a frame the
   * guest may then map writable — so an undercount is the PV safety property broken in the counts,
   * whether or not the guest ever gets to exploit it.
   */
  private auditHolders(vcpu: number, op: MmuextOp): void {
    if (op.mfn !== undefined && this.mm.pages.valid(op.mfn)) this.auditHeld(vcpu, op, op.mfn);
    for (let v = 0; v < this.guestTable.length; v++) {
      if (this.guestTable[v] !== 0) this.auditHeld(vcpu, op, this.guestTable[v]);
      if (this.guestTableUser[v] !== 0) this.auditHeld(vcpu, op, this.guestTableUser[v]);
    }
  }

  /**
   * auditHolders for one table `mfn` (no allocation: it runs at every base-pointer switch). A
   * frame held by a pin or a base pointer whose type is not a page table's (a writable page: a pin
   * refused for its type that left the frame marked pinned) is reported as such.
   */
  private auditHeld(vcpu: number, op: MmuextOp, mfn: number): void {
    const pages = this.mm.pages;
    let holders = pages.pinned(mfn) ? 1 : 0;
    for (let v = 0; v < this.guestTable.length; v++) holders += (this.guestTable[v] === mfn ? 1 : 0) + (this.guestTableUser[v] === mfn ? 1 : 0);
    const type = pages.typeInfo[mfn] & PGT_type_mask;
    const table = type >= PGT_l1_page_table && type <= PGT_l4_page_table;
    if (holders === 0 || (table && pages.validated(mfn) && pages.typeCount(mfn) >= holders)) return;
    this.onEscalation!({
      ...(table
        ? {
            gained: `page table in use (mfn ${lx(mfn)}) that can lose its type while held: ${holders} holder(s), ${pages.typeCount(mfn)} type reference(s)`,
            kind: 'page-table-type-references-undercounted',
            headline: `a page table's type references do not cover its holders (its pin and the vCPUs' base pointers)`,
          }
        : {
            gained: `a frame held as a page table (mfn ${lx(mfn)}, ${holders} holder(s)) typed ${typeName(pages.typeInfo[mfn])}: the guest may map it writable`,
            kind: 'page-table-holder-not-a-table',
            headline: `a pinned table or a vCPU's base pointer is not typed as a page table`,
          }),
      detail: [pages.describe(mfn), `base pointers: ${this.guestTable.map((f, v) => `vCPU${v} ${lx(f)}/${lx(this.guestTableUser[v])}`).join(', ')}`],
      hypercall: `${mmuextName(op.cmd)}${op.mfn !== undefined ? ` mfn ${lx(op.mfn)}` : ''}`,
      vcpu,
    });
  }

  /** Runs the safety audit on an entry Xen accepted into a level-`level` table. */
  private audit(level: number, pa: number, vcpu: number, hypercall: () => string): void {
    if (!this.onEscalation) return;
    const e = auditEntry(this.mm.pages, this.m.phys, level, pa, this.domid);
    if (e) this.onEscalation({ ...e, hypercall: hypercall(), vcpu });
  }

  /**
   * Turns on the audit at every type change (`__get_page_type`, after the flush the change owes
   * the TLBs): a frame that becomes a page table must not stay writable through any CPU's TLB. It
   * decodes every CPU's TLB at each page-table type change, too slow for every fuzzing execution
   * (whose outcome oracle makes the same check from the fills it tracked), so it is opt-in.
   */
  auditTypeChanges(on: boolean): void {
    this.mm.auditTypeChange = on && this.onEscalation ? (mfn, type) => this.auditRetype(mfn, type) : null;
  }

  /** The type-change audit (auditTypeChanges). */
  private auditRetype(mfn: number, type: bigint): void {
    const e = auditTypeChange(this.mm.pages, this.m.cpus, mfn, type);
    if (e) this.onEscalation!({ ...e, hypercall: `__get_page_type(mfn ${lx(mfn)}, ${typeName(type)})`, vcpu: this.mm.currentCpu });
  }

  /** One request; `level` is that of the page table written (0 for a writable page). */
  private *one_mmu_update(req: MmuUpdate): XenGen<{ rc: number; okay: boolean; level?: number }> {
    const mm = this.mm;
    const cmd = Number(req.ptr & 7n);
    if (cmd === MMU_MACHPHYS_UPDATE) return this.machphys_update(req);
    if (cmd !== MMU_NORMAL_PT_UPDATE && cmd !== MMU_PT_UPDATE_PRESERVE_AD) {
      this.console.memLog(MM_C_LINE.invalidPageUpdateCmd, this.domid, `Invalid page update command ${lx(cmd)}`);
      return { rc: -ENOSYS, okay: false };
    }
    const ptr = req.ptr - BigInt(cmd);
    const mfn = Number(ptr >> 12n);
    const pa = Number(ptr);
    const preserveAd = cmd === MMU_PT_UPDATE_PRESERVE_AD;
    if (!mm.pages.valid(mfn) || !mm.get_page(mfn, this.domid)) {
      this.console.memLog(MM_C_LINE.couldNotGetPageRef, this.domid, `Could not get page ref for pfn ${lx(mfn)}`);
      this.console.memLog(MM_C_LINE.couldNotGetPageNormalUpdate, this.domid, 'Could not get page for normal update');
      return { rc: 0, okay: false };
    }
    let rc = 0;
    let okay = false;
    let level = 0;
    const t = mm.pages.typeInfo[mfn];
    // page_lock() succeeds only on a validated frame with a non-zero type count.
    if ((t & PGT_validated) !== 0n && (t & PGT_count_mask) !== 0n) {
      switch (t & PGT_type_mask) {
        case PGT_l1_page_table:
          okay = (yield* mm.mod_l1_entry_g(pa, req.val, preserveAd, this.domid)) === 1;
          level = 1;
          break;
        case PGT_l2_page_table:
          okay = mm.mod_l2_entry(pa, req.val, preserveAd, this.domid) === 1;
          level = 2;
          break;
        case PGT_l3_page_table:
          rc = mm.mod_l3_entry(pa, req.val, preserveAd, this.domid);
          okay = rc === 0;
          level = 3;
          break;
        case PGT_l4_page_table:
          rc = mm.mod_l4_entry(pa, req.val, preserveAd, this.domid);
          okay = rc === 0;
          level = 4;
          break;
        case PGT_writable_page:
          this.m.phys.write64n(pa, req.val);
          okay = true;
          break;
      }
    } else if (mm.get_page_type(mfn, PGT_writable_page)) {
      this.m.phys.write64n(pa, req.val);
      okay = true;
      mm.put_page_type(mfn);
    }
    mm.put_page(mfn);
    return { rc, okay, level };
  }

  /**
   * MMU_MACHPHYS_UPDATE (do_mmu_update, RELEASE-4.1.0 mm.c 3630-3654): set the m2p entry of a
   * frame the domain owns to `val` (`set_gpfn_from_mfn`); no log-dirty mode is modelled.
   */
  private machphys_update(req: MmuUpdate): { rc: number; okay: boolean } {
    const mfn = Number(req.ptr >> 12n);
    if (!this.mm.get_page_from_pagenr(mfn, this.domid)) {
      this.console.memLog(MM_C_LINE.couldNotGetPageMachphys, this.domid, 'Could not get page for mach->phys update');
      return { rc: 0, okay: false };
    }
    this.p2m.setGpfnFromMfn(mfn, req.val);
    this.mm.put_page(mfn);
    return { rc: 0, okay: true };
  }

  // ---- mmuext_op ----------------------------------------------------------------------------

  /** `HYPERVISOR_mmuext_op(ops, count, &done, DOMID_SELF)`. Returns 0 or -errno of the first failure. */
  mmuext_op(vcpu: number, ops: readonly MmuextOp[]): { rc: number; done: number } {
    this.checkVcpu(vcpu);
    this.mm.currentCpu = vcpu;
    this.mm.enterFrame('do_mmuext_op');
    const r = this.do_mmuext_op(vcpu, ops);
    this.mm.leaveFrame();
    return r;
  }

  /** `do_mmuext_op()` on the hypercall's stack frame. */
  private do_mmuext_op(vcpu: number, ops: readonly MmuextOp[]): { rc: number; done: number } {
    const mark = this.console.lines.length;
    for (let i = 0; i < ops.length; i++) {
      this.counts.mmuextOps++;
      const rc = this.one_mmuext_op(vcpu, ops[i]);
      // accepted or refused: a refused op must leave every holder's type reference as it was
      if (this.onEscalation && HOLDER_OPS.has(ops[i].cmd)) this.auditHolders(vcpu, ops[i]);
      if (rc !== 0) {
        const op = ops[i];
        const what = `${mmuextName(op.cmd)}${op.mfn !== undefined ? ' mfn ' + lx(op.mfn) : ''}${op.linearAddr !== undefined ? ' va ' + lx(op.linearAddr) : ''}`;
        this.refuse('mmuext_op', vcpu, what, rc, mark);
        return { rc, done: i };
      }
    }
    return { rc: 0, done: ops.length };
  }

  private argMfn(op: MmuextOp): number {
    if (op.mfn === undefined || !Number.isInteger(op.mfn)) throw new RangeError(`${mmuextName(op.cmd)} needs an mfn`);
    return op.mfn;
  }

  private argVa(op: MmuextOp): bigint {
    if (op.linearAddr === undefined) throw new RangeError(`${mmuextName(op.cmd)} needs a linear address`);
    return op.linearAddr;
  }

  private vcpumaskToPcpus(mask: readonly number[] | undefined): number[] {
    const out: number[] = [];
    for (const v of mask ?? []) {
      this.checkVcpu(v);
      out.push(v);
    }
    return out;
  }

  /** One op of do_mmuext_op (mm.c:2875); 0 = okay. */
  private one_mmuext_op(vcpu: number, op: MmuextOp): number {
    const mm = this.mm;
    const d = this.domid;
    switch (op.cmd) {
      case MMUEXT_PIN_L1_TABLE:
      case MMUEXT_PIN_L1_TABLE + 1:
      case MMUEXT_PIN_L1_TABLE + 2:
      case MMUEXT_PIN_L4_TABLE: {
        const mfn = this.argMfn(op);
        const type = pgtForLevel(op.cmd - MMUEXT_PIN_L1_TABLE + 1);
        const rc = mm.get_page_and_type_from_pagenr(mfn, type, d);
        if (rc) {
          this.console.memLog(MM_C_LINE.errorPinning, d, `Error while pinning mfn ${lx(mfn)}`);
          return rc;
        }
        if (!mm.test_and_set_pinned(mfn)) {
          this.console.memLog(MM_C_LINE.alreadyPinned, d, `Mfn ${lx(mfn)} already pinned`);
          mm.put_page_and_type(mfn);
          return -EINVAL;
        }
        return 0;
      }
      case MMUEXT_UNPIN_TABLE: {
        const mfn = this.argMfn(op);
        if (!mm.pages.valid(mfn) || !mm.get_page(mfn, d)) {
          this.console.memLog(MM_C_LINE.couldNotGetPageRef, d, `Could not get page ref for pfn ${lx(mfn)}`);
          this.console.memLog(MM_C_LINE.mfnBadDomain, d, `Mfn ${lx(mfn)} bad domain`);
          return -EINVAL;
        }
        if (!mm.test_and_clear_pinned(mfn)) {
          mm.put_page(mfn);
          this.console.memLog(MM_C_LINE.notPinned, d, `Mfn ${lx(mfn)} not pinned`);
          return -EINVAL;
        }
        mm.put_page_and_type(mfn);
        mm.put_page(mfn);
        return 0;
      }
      case MMUEXT_NEW_BASEPTR:
        return this.new_guest_cr3(vcpu, this.argMfn(op)) ? 0 : -EINVAL;
      case MMUEXT_NEW_USER_BASEPTR:
        return this.new_user_baseptr(vcpu, this.argMfn(op));
      case MMUEXT_SET_LDT:
        return this.set_ldt(vcpu, this.argVa(op), op.nrEnts ?? 0);
      case MMUEXT_TLB_FLUSH_LOCAL:
        mm.flush_tlb_mask([vcpu]);
        return 0;
      case MMUEXT_INVLPG_LOCAL:
        mm.flush_tlb_one_mask([vcpu], this.argVa(op));
        return 0;
      case MMUEXT_TLB_FLUSH_MULTI:
        mm.flush_tlb_mask(this.vcpumaskToPcpus(op.vcpumask));
        return 0;
      case MMUEXT_INVLPG_MULTI:
        mm.flush_tlb_one_mask(this.vcpumaskToPcpus(op.vcpumask), this.argVa(op));
        return 0;
      case MMUEXT_TLB_FLUSH_ALL:
        mm.flush_tlb_mask(mm.domain_dirty_cpumask());
        return 0;
      case MMUEXT_INVLPG_ALL:
        mm.flush_tlb_one_mask(mm.domain_dirty_cpumask(), this.argVa(op));
        return 0;
      default:
        this.console.memLog(MM_C_LINE.invalidExtCmd, d, `Invalid extended pt command 0x${lx(op.cmd)}`);
        return -ENOSYS;
    }
  }

  /**
   * `new_guest_cr3(mfn)`, mm.c:2697: take a root-table type reference on the new base (which
   * validates it if it is not validated yet), drop the old one, and load CR3 (`write_ptbase` ->
   * `write_cr3`: a full flush, global entries included, that stamps the CPU's flush time).
   */
  new_guest_cr3(vcpu: number, mfn: number): boolean {
    const mm = this.mm;
    if (mm.get_page_and_type_from_pagenr(mfn, PGT_l4_page_table, this.domid) !== 0) {
      this.console.memLog(MM_C_LINE.errorInstallingBaseptr, this.domid, `Error while installing new baseptr ${lx(mfn)}`);
      return false;
    }
    const old = this.guestTable[vcpu];
    this.guestTable[vcpu] = mfn;
    // write_ptbase(curr) -> write_cr3(v->arch.cr3): a full flush, the CPU's flush time stamped.
    mm.write_cr3(vcpu, () => this.m.cpus[vcpu].setControl({ cr3: BigInt(mfn) << 12n }));
    if (old !== 0) mm.put_page_and_type(old);
    return true;
  }

  /**
   * MMUEXT_NEW_USER_BASEPTR (do_mmuext_op, RELEASE-4.1.0 mm.c 3064-3094): a root-table type
   * reference on the user L4 (mfn 0 = none), the old one dropped. CR3 is not touched: Xen loads
   * the user table when the vCPU returns to guest user mode (toggle_guest_mode).
   */
  private new_user_baseptr(vcpu: number, mfn: number): number {
    if (mfn !== 0 && this.mm.get_page_and_type_from_pagenr(mfn, PGT_l4_page_table, this.domid) !== 0) {
      this.console.memLog(MM_C_LINE.errorInstallingNewUserMfn, this.domid, `Error while installing new mfn ${lx(mfn)}`);
      return -EINVAL;
    }
    const old = this.guestTableUser[vcpu];
    this.guestTableUser[vcpu] = mfn;
    if (old !== 0) this.mm.put_page_and_type(old);
    return 0;
  }

  /**
   * `toggle_guest_mode(v)` (x86_64/traps.c, on syscall/iret between guest kernel and user):
   * flips TF_kernel_mode, `update_cr3` picks guest_table or guest_table_user, and with
   * USER_MAPPINGS_ARE_GLOBAL the CR3 load is a plain `mov` (global entries stay, no clock tick).
   */
  toggle_guest_mode(vcpu: number): void {
    this.checkVcpu(vcpu);
    this.kernelMode[vcpu] = !this.kernelMode[vcpu];
    const mfn = this.kernelMode[vcpu] ? this.guestTable[vcpu] : this.guestTableUser[vcpu];
    this.m.cpus[vcpu].setControl({ cr3: BigInt(mfn) << 12n });
  }

  /**
   * A guest user-mode access on `vcpu`: Xen returns to user mode on the user table
   * (toggle_guest_mode), the CPU accesses at CPL 3, and the next kernel entry toggles back.
   */
  user_access<R>(vcpu: number, access: () => R): R {
    const wasKernel = this.kernelMode[vcpu];
    if (wasKernel) this.toggle_guest_mode(vcpu);
    try {
      return access();
    } finally {
      if (wasKernel) this.toggle_guest_mode(vcpu);
    }
  }

  /**
   * MMUEXT_SET_LDT (do_mmuext_op, RELEASE-4.1.0 mm.c 3165-3190): a page-aligned base, at most
   * 8192 entries, a range outside Xen's hole (`array_access_ok`); on a change the shadow LDT is
   * dropped (`invalidate_shadow_ldt`), the local TLB flushed, base and count recorded, and LDT
   * page 0 mapped at once (`map_ldt_shadow_page(0)`, which types the guest frame
   * PGT_seg_desc_page). The other LDT pages are typed only when a descriptor load faults them in
   * (`handle_gdt_ldt_mapping_fault`), which the model does not run; descriptors are not checked.
   */
  private set_ldt(vcpu: number, ptr: bigint, ents: number): number {
    const mm = this.mm;
    if ((ptr & 0xfffn) !== 0n || ents > 8192 || !__addr_ok(ptr)) {
      this.console.memLog(MM_C_LINE.badSetLdtArgs, this.domid, `Bad args to SET_LDT: ptr=${lx(ptr)}, ents=${lx(ents)}`);
      return -EINVAL;
    }
    const ldt = this.ldt[vcpu];
    if (ldt.ents === ents && ldt.base === ptr) return 0;
    for (const mfn of ldt.shadow.splice(0)) mm.put_page_and_type(mfn); // invalidate_shadow_ldt(curr, 0)
    mm.flush_tlb_mask([vcpu]); // flush_tlb_local()
    ldt.base = ptr;
    ldt.ents = ents;
    if (ents !== 0) this.map_ldt_shadow_page(vcpu, 0);
    return 0;
  }

  /** `map_ldt_shadow_page(off)` (mm.c 617-649 at RELEASE-4.1.0): 1 if the LDT page was mapped. */
  private map_ldt_shadow_page(vcpu: number, off: number): number {
    const mm = this.mm;
    const l1 = this.guest_map_l1e(vcpu, this.ldt[vcpu].base + BigInt(off) * 4096n);
    if (!l1) return 0;
    const l1e = this.m.phys.read64n(l1.pa);
    if (!(get_pte_flags(l1e) & 1)) return 0;
    const mfn = pte_get_pfn(l1e);
    if (!mm.pages.valid(mfn) || !mm.get_page(mfn, this.domid)) return 0;
    if (!mm.get_page_type(mfn, PGT_seg_desc_page)) {
      mm.put_page(mfn);
      return 0;
    }
    this.ldt[vcpu].shadow.push(mfn);
    return 1;
  }

  // ---- update_va_mapping ----------------------------------------------------------------------

  /**
   * `guest_map_l1e(v, va, &gl1mfn)`: the L1 entry mapping `va` in the vCPU's current page
   * tables, found through the guest's own tables (Xen uses its linear mapping of them).
   */
  guest_map_l1e(vcpu: number, va: bigint, table = this.guestTable[vcpu]): { pa: number; gl1mfn: number } | null {
    if (table === 0) return null;
    for (let level = 4; level >= 2; level--) {
      const idx = Number((va >> BigInt(12 + 9 * (level - 1))) & 511n);
      const e = this.m.phys.read64n(table * 4096 + idx * 8);
      const f = get_pte_flags(e);
      if (!(f & 1) || (level === 2 && f & 0x80)) return null;
      table = pte_get_pfn(e);
    }
    const idx = Number((va >> 12n) & 511n);
    return { pa: table * 4096 + idx * 8, gl1mfn: table };
  }

  /** `HYPERVISOR_update_va_mapping(va, val, flags)`: set the L1 entry for `va`, then flush as asked. */
  update_va_mapping(vcpu: number, va: bigint, val: bigint, flags: number): number {
    return this.mm.sync(this.update_va_mapping_g(vcpu, va, val, flags));
  }

  /** update_va_mapping() as interruptible Xen code. */
  *update_va_mapping_g(vcpu: number, va: bigint, val: bigint, flags: number): XenGen<number> {
    this.checkVcpu(vcpu);
    this.counts.updateVaMappings++;
    const mm = this.mm;
    const mark = this.console.lines.length;
    let rc = -EINVAL;
    const l1 = this.guest_map_l1e(vcpu, va);
    if (l1 && mm.get_page(l1.gl1mfn, this.domid)) {
      const t = mm.pages.typeInfo[l1.gl1mfn];
      if ((t & PGT_type_mask) === PGT_l1_page_table && (t & PGT_validated) !== 0n) rc = (yield* mm.mod_l1_entry_g(l1.pa, val, false, this.domid)) ? 0 : -EINVAL;
      mm.put_page(l1.gl1mfn);
      if (rc === 0) this.audit(1, l1.pa, vcpu, () => `update_va_mapping va ${lx(va)} val ${lx(val)}`);
    }
    switch (flags & UVMF_FLUSHTYPE_MASK) {
      case UVMF_TLB_FLUSH:
        mm.flush_tlb_mask(flags & UVMF_ALL ? mm.domain_dirty_cpumask() : [vcpu]);
        break;
      case UVMF_INVLPG:
        mm.flush_tlb_one_mask(flags & UVMF_ALL ? mm.domain_dirty_cpumask() : [vcpu], va);
        break;
    }
    if (rc) this.refuse('update_va_mapping', vcpu, `update_va_mapping va ${lx(va)} val ${lx(val)}`, rc, mark);
    return rc;
  }

  // ---- writable page tables ----------------------------------------------------------------

  /**
   * A direct 8-byte store by the guest at `va` (`*ptr = val` on a page-table entry). Through a
   * present writable pte the store simply happens. Otherwise the CPU faults, and Xen's
   * `fixup_page_fault` (traps.c, RELEASE-4.1.0 1233-1246) tries writable-pagetable emulation
   * only for a guest-kernel-mode write fault on a present page: `ptwr_do_page_fault` (mm.c
   * 5071-5122) needs the pte mapping `va` present and read-only, the frame the domain's, lockable
   * (validated, type count non-zero) and a PGT_l1_page_table; `ptwr_emulated_update` (4888-5013)
   * then checks the new entry with `get_page_from_l1e` (no fast path) and writes it. Every other
   * case is a page fault the guest takes. Returns true when the store took effect.
   */
  ptwr_emulate(vcpu: number, va: bigint, val: bigint): boolean {
    this.checkVcpu(vcpu);
    if ((va & 7n) !== 0n) throw new RangeError(`ptwr_emulate: the model stores 8 aligned bytes (va ${lx(va)})`);
    const mm = this.mm;
    // guest_get_eff_l1e: through the tables of the mode the vCPU runs in.
    const l1 = this.guest_map_l1e(vcpu, va, this.kernelMode[vcpu] ? this.guestTable[vcpu] : this.guestTableUser[vcpu]);
    const pte = l1 ? this.m.phys.read64n(l1.pa) : 0n;
    const f = get_pte_flags(pte);
    const mfn = pte_get_pfn(pte);
    const pa = mfn * 4096 + Number(va & 0xfffn);
    if ((f & 3) === 3) {
      this.m.phys.write64n(pa, val); // a writable mapping: no fault
      return true;
    }
    const mark = this.console.lines.length;
    const fault = (why: string): boolean => {
      this.refuse('ptwr_emulate', vcpu, `write of ${lx(val)} at va ${lx(va)}: ${why}`, -EINVAL, mark);
      return false;
    };
    // fixup_page_fault: guest_kernel_mode(v, regs), error code write|present.
    if (!this.kernelMode[vcpu]) return fault('a user-mode write fault (no emulation)');
    if ((f & 3) !== 1) return fault('not a write fault on a present page');
    // ptwr_do_page_fault: get_page_from_pagenr (logs on failure), page_lock, the type.
    if (!mm.get_page_from_pagenr(mfn, this.domid)) return fault("the mapped frame is not the domain's");
    const t = mm.pages.typeInfo[mfn];
    if ((t & PGT_validated) === 0n || (t & PGT_count_mask) === 0n || (t & PGT_type_mask) !== PGT_l1_page_table) {
      mm.put_page(mfn);
      return fault(`read-only mapping of a frame that is not a validated L1 (${mm.pages.describe(mfn)})`);
    }
    const ok = this.ptwr_emulated_update(pa, val);
    mm.put_page(mfn);
    if (!ok) return fault(`the emulated update was refused (${mm.pages.describe(mfn)})`);
    this.counts.ptwrEmulations++; // perfc_incr(ptwr_emulations)
    this.audit(1, pa, vcpu, () => `ptwr_emulate of ${lx(val)} to ${lx(pa)}`);
    return true;
  }

  /** `ptwr_emulated_update(addr, old, val, 8, 0, ctxt)` on the L1 entry at machine address `pa`. */
  private ptwr_emulated_update(pa: number, val: bigint): boolean {
    const mm = this.mm;
    if (mm.get_page_from_l1e(val, this.domid) === 0) {
      this.console.memLog(MM_C_LINE.ptwrCouldNotGetPage, this.domid, 'ptwr_emulate: could not get_page_from_l1e()');
      return false;
    }
    const ol1e = this.m.phys.read64n(pa);
    mm.update_entry(pa, val, false);
    mm.put_page_from_l1e(ol1e);
    return true;
  }

  // ---- multicall ------------------------------------------------------------------------------

  /**
   * `HYPERVISOR_multicall(entries, n)` (xen/common/multicall.c): each entry runs in order and
   * gets its own result; a failing entry does not stop the others.
   */
  multicall(vcpu: number, entries: readonly MulticallEntry[]): number[] {
    return this.mm.sync(this.multicall_g(vcpu, entries));
  }

  /** multicall() as interruptible Xen code. */
  *multicall_g(vcpu: number, entries: readonly MulticallEntry[]): XenGen<number[]> {
    this.counts.multicalls++;
    const rcs: number[] = [];
    for (const e of entries) {
      switch (e.op) {
        case 'mmu_update':
          rcs.push((yield* this.mmu_update_g(vcpu, e.reqs)).rc);
          break;
        case 'mmuext_op':
          rcs.push(this.mmuext_op(vcpu, e.ops).rc);
          break;
        case 'update_va_mapping':
          rcs.push(yield* this.update_va_mapping_g(vcpu, e.va, e.val, e.flags));
          break;
      }
    }
    return rcs;
  }

  // ---- inspection -----------------------------------------------------------------------------

  /** The frame's type word and counts, as `describe` prints them. */
  describe(mfn: number): string {
    return this.mm.pages.describe(mfn);
  }

  /** Type of a frame for tests: 'none', 'l1'..'l4', 'writable', ... and its type count. */
  typeOf(mfn: number): { type: bigint; count: number; validated: boolean; pinned: boolean } {
    const t = this.mm.pages.typeInfo[mfn];
    return { type: t & PGT_type_mask, count: this.mm.pages.typeCount(mfn), validated: this.mm.pages.validated(mfn), pinned: this.mm.pages.pinned(mfn) };
  }
}

export { PGT_l1_page_table, PGT_l2_page_table, PGT_l3_page_table, PGT_l4_page_table, PGT_writable_page };
