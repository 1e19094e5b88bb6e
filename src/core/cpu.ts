import type { CoreExports } from './wasm.js';
import type { AccessOptions, AccessResult, BatchOptions, BatchOutput, ControlRegs, CpuStats, PagingMode, WalkExplanation, WalkStep } from './types.js';
import { ACCESS_KIND_CODE } from './types.js';
import { PagewalkError, guardWasm, wasmError } from './errors.js';
import { validateControl, isLongMode, CR4_PCIDE, CR4_LA57, EFER_LMA } from './control.js';
import { entryFlags, errorCodeBits, LEVEL_NAMES, addressFields } from './decode.js';
import { batchArgs, boolOpt, objArg, show, u64Arg } from './validate.js';
import * as nested from './nested.js';

const MODES: PagingMode[] = ['none', '32bit', 'pae', '4level', '5level'];
const FAULT = 1n << 63n;
const DECISIONS = ['next', 'leaf', 'not-present', 'reserved', 'denied'];

// Offsets inside the CPU block (assembly/layout.ts).
/** (1 << 64) - (1 << bits): the sign-extension bits above a 48- or 57-bit linear address. */
const UPPER_48 = (1n << 64n) - (1n << 48n);
const UPPER_57 = (1n << 64n) - (1n << 57n);
/** 2^47: linear addresses below it are canonical in every paging mode (the lower half). */
const LOW_HALF = 1n << 47n;
/** 2^53: integers up to it are exact in a double. */
const MAX_EXACT = 1n << 53n;
const C = { cr0: 0, cr3: 8, cr4: 16, efer: 24, pkru: 32, pkrs: 36, mode: 40, pcid: 44, cr2: 80, flags: 88, stats: 128, tlb: 256, psc: 320, tags: 332 } as const;
const F_TLB = 1;
const F_PSC = 2;

/** Per-walk step of the stepping walk, as returned by `WalkStepper.step()`. */
export interface StepOutcome {
  done: boolean;
  step?: WalkStep;
  result?: AccessResult;
}

export interface WalkStepper {
  step(): StepOutcome;
}

/**
 * One logical processor: control registers, a TLB and paging-structure caches, statistics.
 * All translation work runs in the WASM core.
 */
export class Cpu {
  private readonly base: number;
  private readonly view: DataView;
  /** Offsets in the CPU block of the last walk's entry count and entries (read after every access). */
  private readonly lastN: number;
  private readonly lastAt: number;
  /** translateBatch's chunk (addresses) and byte views of the batch buffers (results: one chunk's). */
  private readonly ioBytes: { chunk: number; va: Uint8Array; pa: Uint8Array; fault: Uint8Array };

  /** @internal */
  constructor(
    private readonly core: CoreExports,
    readonly index: number,
    private readonly io: { va: BigUint64Array; kind: Uint8Array; pa: BigUint64Array; fault: Uint32Array },
    private readonly maxPhysAddrBits: number,
  ) {
    this.base = core.cpuAddr(index);
    this.view = new DataView(core.memory.buffer, this.base, 4096);
    this.u32 = new Uint32Array(core.memory.buffer);
    this.dv = new DataView(core.memory.buffer);
    this.lastN = core.layoutLastWalkN();
    this.lastAt = core.layoutLastWalk();
    // Chunks small enough that the copies stay in the L2 cache (8,192 addresses: 168 KiB in and
    // out), large enough that the per-chunk calls and views cost little (2,048: TLB hits 5 % slower).
    const chunk = Math.min(io.va.length, 8192);
    this.ioBytes = { chunk, va: bytes(io.va, 0, io.va.length), pa: bytes(io.pa, 0, chunk), fault: bytes(io.fault, 0, chunk) };
  }

  /** CR3 alone: `getControl().cr3` without decoding the other registers (hot paths of the sanitizers). */
  getCr3(): bigint {
    return this.view.getBigUint64(C.cr3, true);
  }

  /** CR3 >> 12 as a number (exact: below 2^52), without a BigInt: the frame of the root table. */
  cr3Frame(): number {
    const v = this.view;
    return (v.getUint32(C.cr3, true) >>> 12) + v.getUint32(C.cr3 + 4, true) * 0x10_0000;
  }

  getControl(): ControlRegs {
    const v = this.view;
    return {
      cr0: v.getBigUint64(C.cr0, true),
      cr3: v.getBigUint64(C.cr3, true),
      cr4: v.getBigUint64(C.cr4, true),
      efer: v.getBigUint64(C.efer, true),
      pkru: BigInt(v.getUint32(C.pkru, true)),
      pkrs: BigInt(v.getUint32(C.pkrs, true)),
    };
  }

  /**
   * Writes any subset of the control registers, validated as the instructions would be, with
   * their architectural effect on the TLB and paging-structure caches (docs/paging-semantics.md).
   * Passing `cr3` is a MOV to CR3 (bit 63 = no flush when CR4.PCIDE=1).
   */
  setControl(regs: Partial<ControlRegs>): void {
    objArg('cpu.setControl', 'regs', regs);
    if (this.loadCr3Fast(regs)) return;
    for (const k of Object.keys(regs)) {
      if (!['cr0', 'cr3', 'cr4', 'efer', 'pkru', 'pkrs'].includes(k)) throw new PagewalkError('EINVAL_CONTROL', `setControl: unknown register '${k}'`);
    }
    const prev = this.getControl();
    const next: ControlRegs = { ...prev, ...regs };
    const cr3Written = regs.cr3 !== undefined;
    validateControl(prev, next, cr3Written, this.maxPhysAddrBits);
    next.efer = (next.efer & ~EFER_LMA) | (isLongMode(next) ? EFER_LMA : 0n);
    const r = guardWasm('setControl', () => this.core.setControl(this.base, next.cr0, next.cr3, next.cr4, next.efer, cr3Written ? 1 : 0));
    if (r < 0) {
      const i = -1 - r;
      const at = (next.cr3 & 0xffff_ffe0n) + BigInt(i) * 8n;
      throw new PagewalkError(
        'EINVAL_CONTROL',
        `PAE PDPTE ${i} at pa 0x${at.toString(16)} is present with reserved bits set: loading the PDPTEs would raise #GP(0)`,
      );
    }
    this.core.setPkeys(this.base, Number(next.pkru), Number(next.pkrs));
  }

  /**
   * A MOV to CR3 alone (a context switch), without building and validating the whole register
   * set: the other registers are unchanged, so of `validateControl`'s rules only the CR3 width
   * applies, and EFER.LMA stays. Returns false (nothing done) for any other write and for a CR3
   * the rules refuse, which the general path then reports.
   */
  private loadCr3Fast(regs: Partial<ControlRegs>): boolean {
    const cr3 = regs.cr3;
    if (
      typeof cr3 !== 'bigint' ||
      regs.cr0 !== undefined ||
      regs.cr4 !== undefined ||
      regs.efer !== undefined ||
      regs.pkru !== undefined ||
      regs.pkrs !== undefined
    )
      return false;
    let n = 0;
    for (const _ in regs) n++;
    if (n !== 1 || cr3 < 0n || cr3 > 0xffff_ffff_ffff_ffffn) return false;
    const v = this.view;
    const cr4 = v.getBigUint64(C.cr4, true);
    const efer = v.getBigUint64(C.efer, true);
    const long = (efer & EFER_LMA) !== 0n;
    const addr = long && (cr4 & CR4_PCIDE) !== 0n ? cr3 & ~(1n << 63n) : cr3;
    if (addr >> (long ? BigInt(this.maxPhysAddrBits) : 32n)) return false;
    let r: number;
    try {
      r = this.core.setControl(this.base, v.getBigUint64(C.cr0, true), cr3, cr4, efer, 1);
    } catch (e) {
      throw wasmError('setControl', e);
    }
    // r < 0: PDPTEs with reserved bits; the core changed nothing, the general path reports it.
    return r >= 0;
  }

  get mode(): PagingMode {
    return MODES[this.view.getUint32(C.mode, true)];
  }

  get cr2(): bigint {
    return this.view.getBigUint64(C.cr2, true);
  }

  /** Current PCID (0 unless CR4.PCIDE). */
  get pcid(): number {
    return this.view.getUint32(C.pcid, true);
  }

  /** One access through the TLB and, on a miss, a page walk that sets A/D bits. */
  access(va: bigint, opts: AccessOptions): AccessResult {
    return this.accessWith('cpu.access', va, opts, 0);
  }

  /**
   * @internal `access` through the core's exact miss path alone (no front cache, no quick miss):
   * the same results, statistics and TLB contents, slower; tests compare the fast paths with it.
   */
  accessExact(va: bigint, opts: AccessOptions): AccessResult {
    return this.accessWith('cpu.accessExact', va, opts, 1);
  }

  private accessWith(where: string, va: bigint, opts: AccessOptions, exact: number): AccessResult {
    u64Arg(where, 'va', va);
    const flags = accessFlags(where, opts);
    const kind = kindCode(where, opts.kind);
    let r: bigint;
    try {
      r = this.core.accessOne(this.base, va, kind, flags, exact);
    } catch (e) {
      throw wasmError('access', e);
    }
    // The core's i64 arrives signed: a translation (bit 63 clear) is the physical address as it is.
    return r >= 0n ? { ok: true, pa: r } : this.decode(BigInt.asUintN(64, r));
  }

  /**
   * Translates many addresses in one WASM call per 64Ki chunk (the fast path). `kinds[i]`:
   * 0 read, 1 write, 2 exec. Returns the number of faults; `out.fault[i]` is 0 or
   * vector << 16 | error code. Arrays that are the machine's batch buffers (`machine.io.va`,
   * `.kind`, `.pa`, `.fault`, or subarrays from their start; n <= machine.batchMax) are used
   * in place, without copies.
   */
  translateBatch(vas: BigUint64Array, kinds: Uint8Array, out: BatchOutput, opts: BatchOptions): number {
    const where = 'cpu.translateBatch';
    const n = batchArgs(where, vas, kinds, out);
    const flags = accessFlags(where, opts);
    const io = this.io;
    if (n <= io.va.length && atIo(vas, io.va) && atIo(kinds, io.kind) && atIo(out.pa, io.pa) && atIo(out.fault, io.fault)) {
      // the machine's own batch buffers (`machine.io`, or views starting where they start): no copies
      const faults = guardWasm('translateBatch', () => this.core.translateBatch(this.base, n, flags));
      this.checkKinds(0);
      return faults;
    }
    // Byte views (V8 copies Uint8Arrays with memcpy, BigUint64Arrays element by element), made
    // once per call (the batch buffers': once); a chunk without faults (the core returns how many
    // of its fault words are not 0) zero-fills the caller's fault words instead of copying them.
    const ioBytes = this.ioBytes;
    const chunk = ioBytes.chunk;
    const va = bytes(vas, 0, n);
    const pa = bytes(out.pa, 0, n);
    const fault = bytes(out.fault, 0, n);
    return guardWasm('translateBatch', () => {
      let faults = 0;
      for (let i = 0; i < n; i += chunk) {
        const m = Math.min(chunk, n - i);
        ioBytes.va.set(va.subarray(i * 8, (i + m) * 8));
        io.kind.set(kinds.subarray(i, i + m));
        const f = this.core.translateBatch(this.base, m, flags);
        this.checkKinds(i);
        pa.set(m === chunk ? ioBytes.pa : ioBytes.pa.subarray(0, m * 8), i * 8);
        if (f === 0) out.fault.fill(0, i, i + m);
        else fault.set(m === chunk ? ioBytes.fault : ioBytes.fault.subarray(0, m * 4), i * 4);
        faults += f;
      }
      return faults;
    });
  }

  /**
   * Translates `n` addresses already placed in the shared IO buffers (`machine.io`), for callers
   * that generate addresses in place and want no copies. n <= machine.batchMax.
   */
  translateInPlace(n: number, opts: BatchOptions): number {
    if (!Number.isInteger(n) || n < 0 || n > this.io.va.length)
      throw new PagewalkError('EINVAL_ARG', `translateInPlace: n = ${n} must be 0..${this.io.va.length}`);
    const faults = guardWasm('translateBatch', () => this.core.translateBatch(this.base, n, accessFlags('cpu.translateInPlace', opts)));
    this.checkKinds(0);
    return faults;
  }

  /** Throws when the last batch met an access kind other than 0, 1, 2 (it was walked as a read). */
  private checkKinds(offset: number): void {
    const bad = this.core.batchBadKind();
    if (bad >= 0) throw new PagewalkError('EINVAL_ARG', `translateBatch: kinds[${offset + bad}] = ${this.io.kind[bad]} (0 read, 1 write, 2 exec)`);
  }

  /**
   * A stepping walk: each `step()` reads and decides one paging-structure entry from memory,
   * so another CPU's write can land between two levels. Never uses the TLB or the caches;
   * on completion (unless `dryRun`) it sets A/D bits, fills the TLB, and a fault sets CR2.
   */
  walkStepper(va: bigint, opts: AccessOptions & { dryRun?: boolean }): WalkStepper {
    let finished = this.stepBegin('cpu.walkStepper', va, opts);
    const mode = this.mode;
    const linear = this.linearAddress(va);
    return {
      step: (): StepOutcome => {
        if (finished) return { done: true, result: this.decode(this.stepResult(), linear) };
        const done = guardWasm('walk step', () => this.core.stepNext(this.base)) === 1;
        const step = this.readStep(mode);
        if (done) finished = true;
        return done ? { done, step, result: this.decode(this.stepResult(), linear) } : { done, step };
      },
    };
  }

  /** A full walk from memory, step by step, with every decision decoded. */
  explain(va: bigint, opts: AccessOptions & { dryRun?: boolean }): WalkExplanation {
    u64Arg('cpu.explain', 'va', va);
    const mode = this.mode;
    const linear = this.linearAddress(va);
    const stepper = this.walkStepper(va, opts);
    const steps: WalkStep[] = [];
    let out: StepOutcome;
    do {
      out = stepper.step();
      if (out.step) steps.push(out.step);
    } while (!out.done);
    const result = out.result!;
    const leaf = steps[steps.length - 1];
    const pageSize = result.ok && leaf ? 2 ** leafShift(leaf.level, mode) : 0;
    return {
      va: linear,
      mode,
      options: { kind: opts.kind, cpl: opts.cpl, ac: opts.ac ?? false, implicit: opts.implicit ?? false },
      fields: addressFields(linear, mode),
      steps,
      source: mode === 'none' ? 'none' : 'walk',
      result,
      pageSize: mode === 'none' && result.ok ? 4096 : pageSize,
      ...(result.ok || result.vector !== 14 ? {} : { errorCodeBits: errorCodeBits(result.errorCode) }),
    };
  }

  /**
   * The outcome of a walk of the tables in memory with no side effect (no TLB use or fill, no A/D
   * bit, CR2 untouched): `explain(va, { ...opts, dryRun: true }).result` without decoding the
   * steps, for sanitizers that compare translations often.
   */
  probe(va: bigint, opts: AccessOptions): AccessResult {
    const where = 'cpu.probe';
    u64Arg(where, 'va', va);
    const flags = accessFlags(where, opts);
    const kind = kindCode(where, opts.kind);
    let r: bigint;
    try {
      r = BigInt.asUintN(64, this.core.probeWalk(this.base, va, kind, flags)); // the whole walk in one call
    } catch (e) {
      throw wasmError('walk', e);
    }
    return this.decode(r, this.linearAddress(va));
  }

  /**
   * Starts a stepping walk of `va` (a dry run when `opts.dryRun`); true when it is already decided
   * (nothing to read from memory).
   */
  private stepBegin(where: string, va: bigint, opts: AccessOptions & { dryRun?: boolean }): boolean {
    u64Arg(where, 'va', va);
    const flags = accessFlags(where, opts);
    const kind = kindCode(where, opts.kind);
    boolOpt(where, 'opts.dryRun', opts.dryRun);
    const dryRun = opts.dryRun ?? false;
    let first: bigint;
    try {
      first = this.core.stepBegin(this.base, va, kind, flags, dryRun ? 1 : 0);
    } catch (e) {
      throw wasmError('walk', e);
    }
    return BigInt.asUintN(64, first) !== 0n;
  }

  /** `va` as the current paging mode sees it: 64 bits in 4- and 5-level paging, else its low 32. */
  private linearAddress(va: bigint): bigint {
    const mode = this.mode;
    return mode === '4level' || mode === '5level' ? BigInt.asUintN(64, va) : va & 0xffff_ffffn;
  }

  /** Physical addresses of the entries read by the last `access` walk (empty after a TLB hit). */
  lastWalkEntries(): bigint[] {
    const n = this.view.getUint32(this.lastN, true);
    const out: bigint[] = [];
    for (let i = 0; i < n; i++) out.push(this.view.getBigUint64(this.lastAt + i * 8, true));
    return out;
  }

  /** The frame (physical address >> 12) of entry `i` the last `access` walk read, without allocating. */
  lastWalkFrame(i: number): number {
    const a = this.lastAt + i * 8;
    return (this.view.getUint32(a, true) >>> 12) + this.view.getUint32(a + 4, true) * 0x10_0000;
  }

  /** How many entries the last `access` walk read (0 after a TLB hit), without allocating. */
  lastWalkCount(): number {
    return this.view.getUint32(this.lastN, true);
  }

  /** INVLPG (a non-canonical address is a no-op, as on hardware). */
  invlpg(va: bigint): void {
    this.core.invlpg(this.base, u64Arg('cpu.invlpg', 'va', va));
  }

  /** INVPCID with the #GP checks of SDM vol. 2 (INVPCID). */
  invpcid(type: 0 | 1 | 2 | 3, pcid: number, va: bigint = 0n): void {
    u64Arg('cpu.invpcid', 'va', va);
    if (!Number.isInteger(type) || type < 0 || type > 3) throw new PagewalkError('EGP', `INVPCID type ${type} is invalid: #GP(0)`);
    if (!Number.isInteger(pcid) || pcid < 0 || pcid > 0xfff) throw new PagewalkError('EGP', `INVPCID PCID ${pcid} does not fit in 12 bits: #GP(0)`);
    const r = this.getControl();
    if (type <= 1 && pcid !== 0 && !(r.cr4 & CR4_PCIDE)) throw new PagewalkError('EGP', `INVPCID type ${type} with PCID ${pcid} while CR4.PCIDE=0: #GP(0)`);
    if (type === 0) {
      const shift = r.cr4 & CR4_LA57 ? 7n : 16n;
      const v = BigInt.asIntN(64, va);
      if (BigInt.asIntN(64, v << shift) >> shift !== v)
        throw new PagewalkError('EGP', `INVPCID type 0 with non-canonical address 0x${BigInt.asUintN(64, va).toString(16)}: #GP(0)`);
    }
    this.core.invpcid(this.base, type, pcid, BigInt.asUintN(64, va));
  }

  /** Drops every TLB and paging-structure-cache entry, global ones included, for all PCIDs. */
  flushTlbAll(): void {
    this.core.flushEverything(this.base);
  }

  /** Switches the TLB and the paging-structure caches on or off (both are flushed). */
  configure(opts: { tlb?: boolean; psc?: boolean }): void {
    objArg('cpu.configure', 'opts', opts);
    boolOpt('cpu.configure', 'opts.tlb', opts.tlb);
    boolOpt('cpu.configure', 'opts.psc', opts.psc);
    let f = this.view.getUint32(C.flags, true);
    if (opts.tlb !== undefined) f = opts.tlb ? f | F_TLB : f & ~F_TLB;
    if (opts.psc !== undefined) f = opts.psc ? f | F_PSC : f & ~F_PSC;
    this.core.cpuSetFlags(this.index, f);
  }

  get stats(): CpuStats {
    const s = (i: number) => Number(this.view.getBigUint64(C.stats + i * 8, true));
    return {
      walks: s(0),
      memRefs: s(1),
      tlbHits: s(2),
      tlbMisses: s(3),
      pscHits: s(4),
      faults: s(5),
      forcedEvictions: s(6),
      pscHitsByLevel: { pde: s(9), pdpte: s(10), pml4e: s(11), pml5e: s(12) },
    };
  }

  resetStats(): void {
    for (let i = 0; i < 16; i++) this.view.setBigUint64(C.stats + i * 8, 0n, true);
  }

  /**
   * Runs this CPU's guest under Intel EPT or AMD NPT (docs/nested.md), or not (`null`): a VM
   * entry (VMRUN under NPT, applying `cfg.tlbControl`). Nested accesses (`nestedAccess`,
   * `nestedTranslateBatch`) walk both dimensions unless the nested TLB holds the translation; a
   * PAE guest's PDPTE registers come from `cfg.pdptes` (call after `setControl`).
   */
  setNested(cfg: nested.NestedConfig | null): void {
    const machineTlb = (this.view.getUint32(C.flags, true) & 1) !== 0;
    this.nestedCfg = nested.setNested(this.core, this.index, this.view, this.maxPhysAddrBits, this.mode === 'pae', machineTlb, cfg);
  }

  /** INVEPT type 1 (single-context, the EPTP's EP4TA) or 2 (global) on this CPU's nested TLB. */
  invept(type: 1 | 2, eptp?: bigint): void {
    nested.invept(this.core, this.index, this.maxPhysAddrBits, type, eptp);
  }

  /** INVVPID types 0–3 (individual-address, single-context, all-context, single-context-retaining-globals). */
  invvpid(type: 0 | 1 | 2 | 3, vpid: number, la?: bigint): void {
    nested.invvpid(this.core, this.index, type, vpid, la);
  }

  /** INVLPGA: the nested TLB's mappings of one guest-virtual page in one ASID. */
  invlpga(va: bigint, asid: number): void {
    nested.invlpga(this.core, this.index, va, asid);
  }

  /** One guest access through the 2D walk: the guest's outcome, or the VM exit that ended it. */
  nestedAccess(va: bigint, opts: AccessOptions): nested.NestedAccessResult {
    u64Arg('cpu.nestedAccess', 'va', va);
    const flags = accessFlags('cpu.nestedAccess', opts);
    const kind = kindCode('cpu.nestedAccess', opts.kind);
    this.requireNested('cpu.nestedAccess');
    const r = guardWasm('nestedAccess', () => this.core.nestedAccess(this.base, va, kind, flags));
    const lin = this.linearAddress(va);
    return nested.decodeNested(this.core, BigInt.asUintN(64, r), () => lin);
  }

  /** Many nested accesses in one call per chunk; see `decodeNestedFault` for `out.fault`. */
  nestedTranslateBatch(vas: BigUint64Array, kinds: Uint8Array, out: BatchOutput, opts: BatchOptions): number {
    const flags = accessFlags('cpu.nestedTranslateBatch', opts);
    this.requireNested('cpu.nestedTranslateBatch');
    return nested.nestedBatch(this.core, this.base, this.io, vas, kinds, out, flags);
  }

  /**
   * The 2D walk of one access from memory as a grid (docs/nested.md): the nested TLB is neither
   * used nor filled. The walk sets A/D flags as an access does, unless `dryRun` (then every entry
   * it wrote is restored; CR2 too).
   */
  nestedExplain(va: bigint, opts: AccessOptions & { dryRun?: boolean }): nested.NestedExplanation {
    this.requireNested('cpu.nestedExplain');
    const cfg = this.nestedCfg!;
    const cr2 = this.cr2;
    const before = this.nestedStats;
    this.core.nestedExplainWalk(1);
    let result: nested.NestedAccessResult;
    try {
      result = this.nestedAccess(va, opts);
    } finally {
      this.core.nestedExplainWalk(0);
    }
    const rows = this.nestedGrid();
    if (opts.dryRun) {
      const wide = this.mode !== '32bit';
      for (const row of [...rows].reverse()) {
        if (row.guestEntry !== undefined && row.hpa !== undefined) {
          if (wide) this.core.physWrite64(row.hpa, row.guestEntry);
          else this.core.physWrite32(row.hpa, Number(row.guestEntry & 0xffff_ffffn));
        }
        for (const e of [...row.hostEntries].reverse()) this.core.physWrite64(e.entryAddress, e.value);
      }
      this.view.setBigUint64(C.cr2, cr2, true);
    }
    const after = this.nestedStats;
    const root = cfg.kind === 'ept' ? cfg.eptp : cfg.ncr3;
    const end = nested.walkEnd(rows, result);
    return {
      va: this.linearAddress(va),
      mode: this.mode,
      options: { kind: opts.kind, cpl: opts.cpl },
      host: cfg.kind,
      hostLevels: cfg.kind === 'ept' ? Number((cfg.eptp >> 3n) & 7n) + 1 : (cfg.levels ?? 4),
      root,
      rows,
      result,
      ...(end ? { end } : {}),
      guestRefs: after.guestRefs - before.guestRefs,
      hostRefs: after.hostRefs - before.hostRefs,
    };
  }

  /** Whether the last `nestedAccess` came from a combined mapping of the nested TLB ('tlb', no rows) or walked. */
  get nestedSource(): 'tlb' | 'walk' {
    return this.core.nestedLastSource() ? 'tlb' : 'walk';
  }

  /** The 2D grid of the last `nestedAccess` (one row per guest-physical address translated). */
  nestedGrid(): nested.NestedGridRow[] {
    return nested.nestedGrid(this.core, this.mode);
  }

  /** Nested statistics: guest and host references counted apart. */
  get nestedStats(): nested.NestedStats {
    return nested.nestedStats(this.core, this.index);
  }

  resetNestedStats(): void {
    this.core.nestedStatsReset(this.index);
  }

  private nestedCfg: nested.NestedConfig | null = null;

  /** @internal Whether nested paging is on (machine snapshots do not cover it). */
  get nestedEnabled(): boolean {
    return this.nestedCfg !== null;
  }

  private requireNested(where: string): void {
    if (!this.nestedCfg) throw new PagewalkError('EINVAL_CONTROL', `${where}: nested paging is off (cpu.setNested first)`);
  }

  /**
   * The core's linear memory as 32-bit words (little-endian, as WASM and every host it runs on) and
   * as a DataView. Linear memory never grows once the machine exists (assembly/heap.ts allocates
   * at creation only; the nested TLBs sit below RAM), so these views, like `view`, stay attached.
   */
  private readonly u32: Uint32Array;
  private readonly dv: DataView;

  /** Every valid TLB entry, decoded (for tests, sanitizers and teaching). */
  tlbEntries(): TlbEntryInfo[] {
    return this.decodeTlb(null);
  }

  /**
   * The valid TLB entries that translate `va` (in every PCID and page-size class), decoded: only the
   * one set per class that can hold them is read, and an entry is decoded only when its tag matches.
   */
  tlbEntriesFor(va: bigint): TlbEntryInfo[] {
    return this.decodeTlb(va >= 0n && va < LOW_HALF ? va : BigInt.asUintN(64, va));
  }

  private decodeTlb(only: bigint | null): TlbEntryInfo[] {
    const out: TlbEntryInfo[] = [];
    const u32 = this.u32;
    const mode = this.mode;
    // The linear address is the key's VPN shifted, sign-extended from bit 47 (bit 56 with LA57).
    // In doubles: VPN < 2^51 and a shift by a power of two are exact, and the address modulo
    // 2^48 (2^57) is a multiple of the page size below it, so it fits the 53-bit mantissa.
    const bits = mode === '5level' ? 57 : 48;
    const span = 2 ** bits;
    const upper = bits === 57 ? UPPER_57 : UPPER_48; // the sign-extension bits of a negative address
    // With `only`: its linear address modulo 2^bits, page-aligned (a multiple of 4096 below 2^57: exact).
    // A non-canonical address has no entry (an entry's address is sign-extended from its key).
    // (The lower half, where user pages lie, is canonical and exact as a double: no BigInt arithmetic.)
    let onlyLow = 0;
    if (only !== null && only < LOW_HALF) onlyLow = Math.floor(Number(only) / 4096) * 4096;
    else if (only !== null) {
      if (BigInt.asUintN(64, BigInt.asIntN(bits, only)) !== only) return out;
      onlyLow = Number(BigInt.asUintN(bits, only) >> 12n) * 4096;
    }
    for (let c = 0; c < 3; c++) {
      const d = C.tlb + c * 16;
      const ways = this.view.getUint32(d + 8, true);
      // The class's page size: 4 KiB, 2 MiB (4 MiB in 32-bit paging), 1 GiB.
      const size = c === 0 ? 4096 : c === 2 ? 0x4000_0000 : mode === '32bit' ? 0x40_0000 : 0x20_0000;
      let base = this.view.getUint32(d, true);
      let n = (this.view.getUint32(d + 4, true) + 1) * ways;
      // With `only`: the set that can hold it, and the low 19 bits of its page number as the key's
      // bits 31:13 hold them (T_KEY = vpn << 13 | pcid << 1 | valid), to skip other tags unread.
      let vpnLow = -1;
      let onlyPage = -1;
      if (only !== null) {
        const vpnOnly = Math.floor(onlyLow / size);
        onlyPage = vpnOnly * size;
        base += (vpnOnly & this.view.getUint32(d + 4, true)) * ways * 32; // TLB_ENTRY
        n = ways;
        vpnLow = vpnOnly & 0x7ffff;
      }
      // A full scan of the 4 KiB class passes four invalid entries per word of their tag bytes
      // (assembly/caches.ts: 0 exactly for an invalid entry; 64-byte aligned, zero past the end).
      const tags = c === 0 && only === null ? this.view.getUint32(C.tags, true) : -1;
      for (let i = 0; i < n; i++) {
        if (tags >= 0 && (i & 3) === 0 && u32[(tags + i) >>> 2] === 0) {
          i += 3;
          continue;
        }
        const w = (base + i * 32) >>> 2; // assembly/layout.ts TLB_ENTRY, T_KEY 0, T_PA 8, T_PERMS 16 (32-byte aligned)
        const lo = u32[w];
        if (!(lo & 1)) continue; // valid bit
        if (vpnLow >= 0 && lo >>> 13 !== vpnLow) continue;
        const perms = u32[w + 4];
        const vpn = u32[w + 1] * 2 ** 19 + (lo >>> 13); // key >> 13
        const low = (vpn * size) % span;
        if (onlyPage >= 0 && low !== onlyPage) continue;
        const va = low >= span / 2 ? BigInt(low) + upper : BigInt(low);
        out.push({
          va,
          pa: BigInt(u32[w + 2] + u32[w + 3] * 2 ** 32), // below 2^52: exact
          pageSize: size,
          pcid: (lo >>> 1) & 0xfff,
          writable: !!(perms & 1),
          user: !!(perms & 2),
          nx: !!(perms & 4),
          dirty: !!(perms & 8),
          global: !!(perms & 16),
          pkey: (perms >> 5) & 15,
        });
      }
    }
    return out;
  }

  /**
   * Every valid paging-structure-cache entry, decoded (SDM 4.10.3): the level of the cached entry
   * (2 = PDE .. 5 = PML5E), the first linear address it serves, the next table it points to and the
   * rights accumulated down to it. With `filter`, only the entries that serve addresses below
   * `filter.below`, or that point to a table in frame `filter.table`, are decoded (the others are
   * skipped unread: the checks that ask run at every system call's return).
   */
  pscEntries(filter?: PscFilter): PscEntryInfo[] {
    const out: PscEntryInfo[] = [];
    const mem = this.dv;
    const u32 = this.u32;
    const mode = this.mode;
    const wide = mode === '4level' || mode === '5level';
    const top = mode === '5level' ? 56 : 47;
    // `below` as a double when it is one exactly and below the kernel half (then compared without decoding the key).
    const below = filter?.below;
    const belowNum = below !== undefined && below >= 0n && below <= MAX_EXACT ? Number(below) : -1;
    const table = filter?.table ?? -1;
    for (let l = 2; l <= 5; l++) {
      const d = C.psc + (l - 2) * 16;
      const base = this.view.getUint32(d, true);
      const n = (this.view.getUint32(d + 4, true) + 1) * this.view.getUint32(d + 8, true);
      const shift = mode === '32bit' ? 22 : 12 + 9 * (l - 1);
      for (let i = 0; i < n; i++) {
        const e = base + i * 32;
        const w = e >>> 2; // 32-byte aligned entries (assembly/layout.ts): key 0, next 8, perms 16
        const lo = u32[w];
        if (!(lo & 1)) continue;
        if (table >= 0 && (u32[w + 2] >>> 12) + u32[w + 3] * 0x10_0000 !== table) continue;
        if (belowNum >= 0) {
          // The key's prefix (bits 63:13, under 2^(57-shift)) shifted, exact in a double; the address
          // is it modulo 2^(top+1), sign-extended from bit `top` (then beyond 2^63), or modulo 2^32.
          const low = ((lo >>> 13) + u32[w + 1] * 0x8_0000) * 2 ** shift;
          const m = low % (wide ? 2 ** (top + 1) : 2 ** 32);
          if ((wide && m >= 2 ** top) || m >= belowNum) continue;
        }
        const key = mem.getBigUint64(e, true);
        const perms = mem.getUint32(e + 16, true);
        const prefix = key >> 13n;
        const va = wide ? BigInt.asUintN(64, BigInt.asIntN(top + 1, prefix << BigInt(shift))) : (prefix << BigInt(shift)) & 0xffff_ffffn;
        if (below !== undefined && belowNum < 0 && va >= below) continue;
        out.push({
          level: l,
          va,
          next: mem.getBigUint64(e + 8, true),
          pcid: Number((key >> 1n) & 0xfffn),
          writable: !!(perms & 1),
          user: !!(perms & 2),
          nx: !!(perms & 4),
        });
      }
    }
    return out;
  }

  /**
   * @internal For the fuzzer's TLB-coherence oracle, counted in the core without decoding an entry
   * (assembly/coherence.ts): the valid user, non-global TLB entries serving addresses below
   * `below` (`held`), and how many of them a dry-run walk at CPL 3 under the current CR3
   * contradicts (`stale`: the read faults or maps elsewhere, or the entry allows a write or a fetch
   * the walk denies). Packed as held * 65536 + stale (each at most 65535), so that the check that
   * runs at every return to user mode allocates nothing.
   */
  userTlbScan(below: bigint): number {
    return this.core.tlbStaleUser(this.base, below) >>> 0;
  }

  /**
   * @internal For the same oracle: how many valid paging-structure-cache entries serving addresses
   * below `below` the tables in memory under the current CR3 contradict (the walk to the entry's
   * level stops, reaches another table, or accumulates fewer rights).
   */
  staleUserPscCount(below: bigint): number {
    return this.core.pscStaleUser(this.base, below);
  }

  private stepResult(): bigint {
    const r = BigInt.asUintN(64, this.core.stepResult(this.base));
    return r;
  }

  private readStep(mode: PagingMode): WalkStep {
    const rec = new DataView(this.core.memory.buffer, this.core.stepRecordAddr(this.base), 40);
    const level = rec.getUint32(0, true);
    const value = rec.getBigUint64(16, true);
    const decision = DECISIONS[rec.getUint32(32, true)];
    const pdpteReg = mode === 'pae' && level === 3;
    return {
      level,
      name: LEVEL_NAMES[mode]?.[level] ?? `L${level}`,
      index: rec.getUint32(4, true),
      entryAddress: rec.getBigUint64(8, true),
      value,
      valueAfter: rec.getBigUint64(24, true),
      flags: entryFlags(value, level, mode),
      decisiveBits: decisive(decision, value, level, mode),
      decision: pdpteReg && decision === 'next' ? 'pdpte-register' : decision,
      cached: pdpteReg,
    };
  }

  /** A core result as an AccessResult; a #PF reports `faultVa` as CR2 (a dry run leaves the register alone). */
  private decode(r: bigint, faultVa?: bigint): AccessResult {
    if (!(r & FAULT)) return { ok: true, pa: r };
    const word = Number(r & 0xffff_ffffn);
    const vector = word >>> 16;
    if (vector === 13) return { ok: false, vector: 13 };
    return { ok: false, vector: 14, errorCode: word & 0xffff, cr2: faultVa ?? this.cr2 };
  }
}

export interface TlbEntryInfo {
  va: bigint;
  pa: bigint;
  pageSize: number;
  pcid: number;
  global: boolean;
  writable: boolean;
  user: boolean;
  nx: boolean;
  dirty: boolean;
  pkey: number;
}

/** Which paging-structure-cache entries `Cpu.pscEntries` decodes (all when omitted). */
export interface PscFilter {
  /** Only entries serving linear addresses below this one. */
  below?: bigint;
  /** Only entries pointing to a table in this frame (page frame number). */
  table?: number;
}

/** A paging-structure-cache entry (Cpu.pscEntries). */
export interface PscEntryInfo {
  /** Level of the cached entry: 2 = PDE, 3 = PDPTE, 4 = PML4E, 5 = PML5E. */
  level: number;
  /** First linear address the entry serves. */
  va: bigint;
  /** Physical address of the table it points to. */
  next: bigint;
  pcid: number;
  writable: boolean;
  user: boolean;
  nx: boolean;
}

/** Whether typed array a starts where the batch buffer b starts (the same linear memory). */
function atIo(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}

/** Bytes of elements [start, start + count) of a typed array. */
function bytes(a: BigUint64Array | Uint32Array, start: number, count: number): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset + start * a.BYTES_PER_ELEMENT, count * a.BYTES_PER_ELEMENT);
}

function kindCode(where: string, kind: string): number {
  const k: unknown = ACCESS_KIND_CODE[kind as keyof typeof ACCESS_KIND_CODE]; // 'toString' & co. are not numbers
  if (typeof k !== 'number') throw new PagewalkError('EINVAL_ARG', `${where}: access kind ${show(kind)} is not one of read, write, exec`);
  return k;
}

/** The core's access flags (assembly/layout.ts AF_*): CPL in bits 1:0, EFLAGS.AC, implicit access. */
const AF_AC = 4;
const AF_IMPLICIT = 8;

/** The CPL and AC/implicit flags of an options object, checked (one pass on the common path). */
function accessFlags(where: string, o: AccessOptions | BatchOptions): number {
  if (typeof o === 'object' && o !== null) {
    const { cpl, ac, implicit } = o;
    if (
      (cpl === 0 || cpl === 1 || cpl === 2 || cpl === 3) &&
      (ac === undefined || ac === true || ac === false) &&
      (implicit === undefined || implicit === true || implicit === false)
    ) {
      return cpl | (ac ? AF_AC : 0) | (implicit ? AF_IMPLICIT : 0);
    }
  }
  objArg(where, 'opts', o);
  if (!Number.isInteger(o.cpl) || o.cpl < 0 || o.cpl > 3) throw new PagewalkError('EINVAL_ARG', `${where}: cpl ${show(o.cpl)} is not 0..3`);
  boolOpt(where, 'opts.ac', o.ac);
  boolOpt(where, 'opts.implicit', o.implicit);
  return o.cpl | (o.ac ? AF_AC : 0) | (o.implicit ? AF_IMPLICIT : 0);
}

function leafShift(level: number, mode: PagingMode): number {
  if (level === 1) return 12;
  if (mode === '32bit') return 22;
  return level === 2 ? 21 : 30;
}

/** The bits that decided the outcome at a step. */
function decisive(decision: string, value: bigint, level: number, mode: PagingMode): string[] {
  if (decision === 'not-present') return ['P'];
  if (decision === 'reserved') return ['reserved'];
  const f = entryFlags(value, level, mode).filter((x) => ['RW', 'US', 'XD', 'PS'].includes(x) || x.startsWith('PK='));
  return decision === 'leaf' || decision === 'denied' ? ['P', ...f] : ['P', ...f.filter((x) => x === 'PS')];
}
