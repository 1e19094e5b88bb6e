/**
 * Contract tests of the nested TLB's scopes on hand-built tables: which cached translations an
 * invalidation removes and which survive, worked out from Intel SDM vol. 3C "VMX Support for
 * Address Translation" ("Information That May Be Cached", "Operations that Invalidate Cached
 * Mappings"), the INVEPT and INVVPID instruction pages, and AMD APM vol. 2 §15.16 "TLB Control"
 * (TLB_CONTROL) and vol. 3 INVLPGA. A stale translation is observable: the tables are changed
 * without invalidation, so a surviving entry returns the old host-physical address. Every access
 * runs on the WASM core and on the reference nested TLB, which must agree.
 */
import { describe, expect, it } from 'vitest';
import { Machine, type NestedAccessResult, type NestedConfig } from '../src/index.js';
import { referenceNestedAccess, RefNestedTlb, SparseMemory, type HostConfig, type RefConfig, type RefCpuState } from '../src/reference/index.js';
import { apiShape } from './support/nested-shape.js';

const RAM = 8 << 20;
const OFF = 0x200000n; // GPA g lives at HPA g + 2 MiB
const P = 1n,
  RW = 2n,
  US = 4n,
  G = 0x100n;
const RWX = 7n,
  WB = 6n << 3n;
const EPT_TOP = 0x10000n;
const EPT_TOP2 = 0x14000n; // a second EPT PML4 over the same lower tables: another EP4TA
const EPT_PT = 0x13000n;
const EPTP = (top: bigint): bigint => top | (3n << 3n) | 6n;
// guest: VA → GPA 0x9000, VA2 → GPA 0xa000 (same page table); alternative pages 0xb000, 0xc000
const VA = (1n << 30n) + (1n << 21n) + (3n << 12n) + 0xabcn;
const VA2 = VA + 0x1000n;
const GPTE = 0x4018n;
const GPTE2 = 0x4020n;

class Pair {
  readonly mem = new SparseMemory(RAM);
  readonly cache = new RefNestedTlb();
  readonly m: Machine;
  readonly cfg: RefConfig;
  readonly guest: RefCpuState;
  host!: HostConfig;
  id = 0;

  constructor(vendor: 'intel' | 'amd', pge = false) {
    this.cfg = { vendor, maxPhysAddrBits: 46, pse36: true, pdpe1gb: true, ramBytes: RAM };
    this.guest = { cr0: (1n << 31n) | (1n << 16n) | 1n, cr3: 0x1000n, cr4: (1n << 5n) | (pge ? 0x80n : 0n), efer: 0xd00n, pkru: 0n, pkrs: 0n };
    const npt = vendor === 'amd';
    const t = npt ? P | RW | US : RWX;
    this.mem.write64(EPT_TOP, 0x11000n | t);
    this.mem.write64(EPT_TOP2, 0x11000n | t);
    this.mem.write64(0x11000n, 0x12000n | t);
    this.mem.write64(0x12000n, EPT_PT | t);
    for (let g = 0n; g < 512n; g++) this.mem.write64(EPT_PT + g * 8n, ((g << 12n) + OFF) | (npt ? P | RW | US : RWX | WB));
    const gw = (gpa: bigint, v: bigint): void => this.mem.write64(gpa + OFF, v);
    gw(0x1000n, 0x2000n | P | RW | US);
    gw(0x2008n, 0x3000n | P | RW | US);
    gw(0x3008n, 0x4000n | P | RW | US);
    gw(GPTE, 0x9000n | P | RW | US | (pge ? G : 0n));
    gw(GPTE2, 0xa000n | P | RW | US);
    this.m = Machine.createSync({ ramBytes: RAM, vendor, maxPhysAddrBits: 46 });
    for (const pfn of this.mem.touchedFrames()) this.m.phys.writeBytes(BigInt(pfn) << 12n, this.mem.frameBytes(pfn));
    this.cpu.setControl({ cr4: this.guest.cr4, efer: 0x900n, cr3: this.guest.cr3, cr0: this.guest.cr0 });
  }

  get cpu() {
    return this.m.cpus[0]!;
  }

  /** VM entry / VMRUN with this configuration, on both sides. */
  enter(cfg: NestedConfig): void {
    this.cpu.setNested(cfg);
    if (cfg.kind === 'ept') {
      this.host = { kind: 'ept', eptp: cfg.eptp, executeOnly: true, mbec: cfg.mbec === true };
      this.id = cfg.vpid ?? 0;
      if (this.id === 0) this.cache.vmTransitionVpid0();
    } else {
      this.host = { kind: 'npt', ncr3: cfg.ncr3, levels: 4 };
      this.id = cfg.asid ?? 1;
      this.cache.tlbControl(cfg.tlbControl ?? 0, this.id);
    }
  }

  /** One access on both sides: the (agreed) result, where it came from and its references. */
  access(va: bigint, kind: 'read' | 'write' | 'exec' = 'read', cpl: 0 | 3 = 3): { r: NestedAccessResult; source: string; refs: number; gpaHits: number } {
    const want = referenceNestedAccess(this.mem, this.guest, va, { kind, cpl }, this.cfg, this.host, { cache: this.cache, id: this.id });
    this.cpu.resetNestedStats();
    const r = this.cpu.nestedAccess(va, { kind, cpl });
    expect(r, 'WASM against the reference').toEqual(apiShape(want));
    expect(this.cpu.nestedSource).toBe(want.source ?? 'walk');
    const s = this.cpu.nestedStats;
    expect(s.gpaHits).toBe(want.rows.filter((x) => x.cached).length);
    return { r, source: this.cpu.nestedSource, refs: s.guestRefs + s.hostRefs, gpaHits: s.gpaHits };
  }

  /** The host-physical address an access now gets (fails on anything but a translation). */
  hpa(va: bigint): bigint {
    const { r } = this.access(va);
    if (!r.ok) throw new Error(`no translation: ${JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
    return r.pa;
  }

  /** Writes a table entry on both sides (no invalidation). */
  write(hpa: bigint, v: bigint): void {
    this.mem.write64(hpa, v);
    this.m.phys.write64(hpa, v);
  }

  /** Remaps guest-physical page `gpa` to host page `hpaPage` in the EPT/NPT. */
  remapHost(gpa: bigint, hpaPage: bigint): void {
    const e = this.mem.read64(EPT_PT + (gpa >> 12n) * 8n);
    this.write(EPT_PT + (gpa >> 12n) * 8n, (e & 0xfffn) | hpaPage);
  }

  /** Points the guest PTE at `addr` to guest-physical page `gpa`. */
  remapGuest(pte: bigint, gpa: bigint): void {
    const e = this.mem.read64(pte + OFF);
    this.write(pte + OFF, (e & 0xfffn) | gpa);
  }
}

const page = (hpa: bigint): bigint => hpa & ~0xfffn;

describe('nested TLB (EPT): combined and guest-physical mappings', () => {
  it('a repeated access hits the combined mapping: no references, same result', () => {
    const p = new Pair('intel');
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 1 });
    expect(p.access(VA)).toMatchObject({ source: 'walk', refs: 24, gpaHits: 0 });
    expect(p.access(VA)).toMatchObject({ r: { ok: true, pa: 0x9abcn + OFF, gpa: 0x9abcn }, source: 'tlb', refs: 0 });
    // VA2 shares the guest tables: their guest-physical mappings serve its walk (4 guest + 4 host references)
    expect(p.access(VA2)).toMatchObject({ source: 'walk', refs: 8, gpaHits: 4 });
  });

  it('INVVPID removes combined mappings but not guest-physical ones; INVEPT removes both', () => {
    const p = new Pair('intel');
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 1 });
    expect(page(p.hpa(VA))).toBe(0x9000n + OFF);
    p.remapHost(0x9000n, 0x500000n);
    expect(page(p.hpa(VA)), 'stale combined mapping').toBe(0x9000n + OFF);
    p.cpu.invvpid(1, 1);
    p.cache.invvpid(1, 1, 0n);
    expect(p.access(VA)).toMatchObject({ source: 'walk', gpaHits: 5 }); // the guest walk and the final GPA from guest-physical mappings
    expect(page(p.hpa(VA)), 'stale guest-physical mapping').toBe(0x9000n + OFF);
    p.cpu.invept(1, EPTP(EPT_TOP));
    p.cache.invept(1, EPT_TOP);
    expect(p.access(VA)).toMatchObject({ source: 'walk', refs: 24 });
    expect(page(p.hpa(VA))).toBe(0x500000n);
  });

  it("single-context INVVPID leaves another VPID's combined mappings", () => {
    const p = new Pair('intel');
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 1 });
    p.hpa(VA);
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 2 });
    p.hpa(VA);
    p.remapGuest(GPTE, 0xb000n);
    p.cpu.invvpid(1, 2);
    p.cache.invvpid(1, 2, 0n);
    expect(page(p.hpa(VA)), 'VPID 2 flushed').toBe(0xb000n + OFF);
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 1 });
    expect(page(p.hpa(VA)), 'VPID 1 survives').toBe(0x9000n + OFF);
    p.cpu.invvpid(2, 0);
    p.cache.invvpid(2, 0, 0n);
    expect(page(p.hpa(VA)), 'all-context').toBe(0xb000n + OFF);
  });

  it("single-context INVEPT leaves another EP4TA's mappings, for every VPID", () => {
    const p = new Pair('intel');
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 1 });
    p.hpa(VA);
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP2), vpid: 1 });
    p.hpa(VA);
    p.remapHost(0x9000n, 0x500000n);
    p.cpu.invept(1, EPTP(EPT_TOP2));
    p.cache.invept(1, EPT_TOP2);
    expect(page(p.hpa(VA)), 'EP4TA 2 flushed').toBe(0x500000n);
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 1 });
    expect(page(p.hpa(VA)), 'EP4TA 1 survives').toBe(0x9000n + OFF);
    p.cpu.invept(2);
    p.cache.invept(2, 0n);
    expect(page(p.hpa(VA)), 'global').toBe(0x500000n);
  });

  it('INVVPID type 3 retains global translations, type 1 does not; type 0 removes one address', () => {
    const p = new Pair('intel', true); // VA global, VA2 not
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 1 });
    p.hpa(VA);
    p.hpa(VA2);
    p.remapGuest(GPTE, 0xb000n);
    p.remapGuest(GPTE2, 0xc000n);
    p.cpu.invvpid(3, 1);
    p.cache.invvpid(3, 1, 0n);
    expect(page(p.hpa(VA)), 'global survives type 3').toBe(0x9000n + OFF);
    expect(page(p.hpa(VA2)), 'non-global flushed').toBe(0xc000n + OFF);
    p.remapGuest(GPTE2, 0xa000n);
    p.cpu.invvpid(0, 1, VA);
    p.cache.invvpid(0, 1, VA);
    expect(page(p.hpa(VA)), 'individual address').toBe(0xb000n + OFF);
    expect(page(p.hpa(VA2)), 'another address survives type 0').toBe(0xc000n + OFF);
    p.remapGuest(GPTE, 0x9000n);
    p.cpu.invvpid(1, 1);
    p.cache.invvpid(1, 1, 0n);
    expect(page(p.hpa(VA)), 'type 1 takes globals').toBe(0x9000n + OFF);
  });

  it('the guest INVLPG and CR3 write reach only combined mappings of the current VPID; globals survive CR3', () => {
    const p = new Pair('intel', true);
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 1 });
    p.hpa(VA);
    p.hpa(VA2);
    p.remapGuest(GPTE, 0xb000n);
    p.remapGuest(GPTE2, 0xc000n);
    p.cpu.setControl({ cr3: p.guest.cr3 });
    p.cache.guestInvalidate('ept', 1, 'pcid', 0);
    expect(page(p.hpa(VA)), 'global survives MOV to CR3').toBe(0x9000n + OFF);
    expect(page(p.hpa(VA2))).toBe(0xc000n + OFF);
    p.cpu.invlpg(VA);
    p.cache.guestInvalidate('ept', 1, 'invlpg', 0, VA);
    // the guest tables' guest-physical mappings serve the walk; the new page's GPA walks the EPT
    expect(p.access(VA)).toMatchObject({ source: 'walk', gpaHits: 4, r: { ok: true, pa: 0xbabcn + OFF } });
  });

  it('with VPID 0, every VM entry and exit drops the combined mappings', () => {
    const p = new Pair('intel');
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP) });
    p.hpa(VA);
    expect(p.access(VA).source).toBe('tlb');
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP) });
    expect(p.access(VA)).toMatchObject({ source: 'walk', gpaHits: 5 });
    // an exit: a write to a read-only page
    p.write(EPT_PT + 0xbn * 8n, (0xb000n + OFF) | 1n | WB);
    p.remapGuest(GPTE2, 0xb000n);
    expect(p.access(VA2, 'write').r).toMatchObject({ ok: false, exit: 'ept-violation' });
    expect(p.access(VA).source).toBe('walk');
  });

  it('a write through a combined mapping whose D flags are clear walks and sets D', () => {
    const p = new Pair('intel');
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP) | 0x40n, vpid: 1 });
    p.hpa(VA);
    expect(p.access(VA, 'write').source).toBe('walk');
    expect(p.mem.read64(GPTE + OFF) & 0x40n).toBe(0x40n);
    expect(p.mem.read64(EPT_PT + 9n * 8n) & (1n << 9n)).toBe(1n << 9n);
    expect(p.access(VA, 'write').source).toBe('tlb');
  });

  it('with MBEC, cached rights keep user and supervisor execute apart (guest-physical and combined mappings)', () => {
    const p = new Pair('intel');
    const XU = 1n << 10n;
    for (const t of [EPT_TOP, 0x11000n, 0x12000n]) p.write(t, p.mem.read64(t) | XU);
    // VA2 → the same guest page as VA, but supervisor-mode (U/S = 0 in its PTE); that page: EPT R W X, bit 10 clear
    p.write(GPTE2 + OFF, 0x9000n | P | RW);
    p.enter({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 1, mbec: true });
    expect(p.access(VA2, 'exec', 0)).toMatchObject({ r: { ok: true, pa: 0x9abcn + OFF }, source: 'walk' });
    // the guest-physical mapping of 0x9000 allows supervisor fetches only: the user fetch walks and exits
    const user = p.access(VA, 'exec');
    expect(user).toMatchObject({ r: { ok: false, exit: 'ept-violation', gpa: 0x9abcn }, source: 'walk' });
    expect(user.r.ok === false && 'qualification' in user.r && user.r.qualification).toBe(0x1bc); // fetch, R W X (bit 6 clear), GLA valid, final
    // bit 10 set, bit 2 cleared, no invalidation: the stale combined mapping still executes VA2; VA walks and now executes
    p.write(EPT_PT + 9n * 8n, p.mem.read64(EPT_PT + 9n * 8n) ^ (4n | XU));
    expect(p.access(VA2, 'exec', 0)).toMatchObject({ r: { ok: true }, source: 'tlb' });
    expect(p.access(VA, 'exec')).toMatchObject({ r: { ok: true, pa: 0x9abcn + OFF }, source: 'walk' });
    expect(p.access(VA, 'exec')).toMatchObject({ source: 'tlb' });
  });

  it('a nested TLB on a machine made without TLBs works in batches; geometries beyond the reserved 2048 entries are refused', () => {
    const m = Machine.createSync({ ramBytes: RAM, tlb: false, psc: false });
    const p = new Pair('intel');
    for (const pfn of p.mem.touchedFrames()) m.phys.writeBytes(BigInt(pfn) << 12n, p.mem.frameBytes(pfn));
    const cpu = m.cpus[0]!;
    cpu.setControl({ cr4: p.guest.cr4, efer: 0x900n, cr3: p.guest.cr3, cr0: p.guest.cr0 });
    cpu.setNested({ kind: 'ept', eptp: EPTP(EPT_TOP), vpid: 1, tlb: { sets: 256, ways: 8 } });
    const out = { pa: new BigUint64Array(2), fault: new Uint32Array(2) };
    cpu.nestedTranslateBatch(new BigUint64Array([VA, VA]), new Uint8Array([0, 0]), out, { cpl: 3 });
    expect([...out.pa]).toEqual([0x9abcn + OFF, 0x9abcn + OFF]);
    expect(cpu.nestedStats.tlbHits).toBe(1);
    expect(() => cpu.setNested({ kind: 'ept', eptp: EPTP(EPT_TOP), tlb: { sets: 512, ways: 8 } })).toThrow(/4096 entries, at most 2048/);
  });

  it('refuses failing INVEPT/INVVPID operands (VMfailValid)', () => {
    const p = new Pair('intel');
    expect(() => p.cpu.invvpid(1, 0)).toThrow(/VPID 0: VMfailValid/);
    expect(() => p.cpu.invvpid(0, 1, 1n << 60n)).toThrow(/not canonical/);
    expect(() => p.cpu.invvpid(4 as 0, 1)).toThrow(/type 4/);
    expect(() => p.cpu.invept(1)).toThrow(/needs the EPTP/);
    expect(() => p.cpu.invept(1, EPT_TOP | (3n << 3n) | 1n)).toThrow(/memory type 1/);
    expect(() => p.cpu.invept(3 as 1)).toThrow(/type 3/);
  });
});

describe('nested TLB (NPT): ASIDs, TLB_CONTROL, INVLPGA', () => {
  const npt = (asid: number, tlbControl: 0 | 1 | 3 | 7 = 0): NestedConfig => ({ kind: 'npt', ncr3: EPT_TOP, asid, tlbControl });

  it("TLB_CONTROL 3 flushes this ASID's entries and not another's; 1 flushes every ASID", () => {
    const p = new Pair('amd');
    p.enter(npt(1));
    p.hpa(VA);
    p.enter(npt(2));
    p.hpa(VA);
    p.remapHost(0x9000n, 0x500000n);
    p.enter(npt(2, 0));
    expect(page(p.hpa(VA)), 'TLB_CONTROL 0 keeps').toBe(0x9000n + OFF);
    p.enter(npt(2, 3));
    expect(p.access(VA)).toMatchObject({ source: 'walk', refs: 24 });
    expect(page(p.hpa(VA))).toBe(0x500000n);
    p.enter(npt(1));
    expect(page(p.hpa(VA)), 'ASID 1 survives').toBe(0x9000n + OFF);
    p.enter(npt(2, 1));
    p.enter(npt(1));
    expect(page(p.hpa(VA)), 'flush all').toBe(0x500000n);
  });

  it('TLB_CONTROL 7 keeps global combined mappings, drops the rest and the nested mappings', () => {
    const p = new Pair('amd', true);
    p.enter(npt(1));
    p.hpa(VA);
    p.hpa(VA2);
    p.remapGuest(GPTE, 0xb000n);
    p.remapGuest(GPTE2, 0xc000n);
    p.enter(npt(1, 7));
    expect(p.access(VA)).toMatchObject({ source: 'tlb', r: { ok: true, pa: 0x9abcn + OFF } });
    expect(p.access(VA2)).toMatchObject({ source: 'walk', refs: 24, r: { ok: true, pa: 0xcabcn + OFF } });
  });

  it('INVLPGA removes one page of one ASID', () => {
    const p = new Pair('amd');
    p.enter(npt(1));
    p.hpa(VA);
    p.hpa(VA2);
    p.enter(npt(2));
    p.hpa(VA);
    p.remapGuest(GPTE, 0xb000n);
    p.remapGuest(GPTE2, 0xc000n);
    p.cpu.invlpga(VA, 1);
    p.cache.invlpga(VA, 1);
    expect(page(p.hpa(VA)), 'ASID 2 untouched').toBe(0x9000n + OFF);
    p.enter(npt(1));
    expect(page(p.hpa(VA))).toBe(0xb000n + OFF);
    expect(page(p.hpa(VA2)), 'another page untouched').toBe(0xa000n + OFF);
  });

  it('refuses ASID 0 and undefined TLB_CONTROL values', () => {
    const p = new Pair('amd');
    expect(() => p.cpu.setNested(npt(0))).toThrow(/ASID 0/);
    expect(() => p.cpu.setNested({ kind: 'npt', ncr3: EPT_TOP, tlbControl: 2 as 0 })).toThrow(/tlbControl/);
  });
});
