/**
 * Focused tests of the reference walker alone, on hand-built page tables (no WASM involved).
 * Expected values are worked out from Intel SDM vol. 3 ch. 4 and docs/paging-semantics.md.
 */
import { describe, expect, it } from 'vitest';
import { referenceAccess, referenceLoadPdptes, referenceMode, SparseMemory, type RefConfig, type RefCpuState } from '../src/reference/index.js';
import type { AccessOptions } from '../src/core/types.js';
import {
  A,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_LA57,
  CR4_PAE,
  CR4_PKE,
  CR4_PKS,
  CR4_PSE,
  CR4_SMAP,
  CR4_SMEP,
  D,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  G,
  P,
  PS,
  RW,
  US,
  XD,
} from './support/x86-bits.js';

const RAM = 1 << 20;
const cfg = (over: Partial<RefConfig> = {}): RefConfig => ({ vendor: 'intel', maxPhysAddrBits: 46, pse36: true, pdpe1gb: true, ramBytes: RAM, ...over });
const rd = (cpl: 0 | 3 = 0, extra: Partial<AccessOptions> = {}): AccessOptions => ({ kind: 'read', cpl, ...extra });
const wr = (cpl: 0 | 3 = 0, extra: Partial<AccessOptions> = {}): AccessOptions => ({ kind: 'write', cpl, ...extra });
const ex = (cpl: 0 | 3 = 0, extra: Partial<AccessOptions> = {}): AccessOptions => ({ kind: 'exec', cpl, ...extra });

function long(over: Partial<RefCpuState> = {}): RefCpuState {
  return { cr0: CR0_PE | CR0_PG, cr3: 0x1000n, cr4: CR4_PAE, efer: EFER_LME | EFER_LMA | EFER_NXE, pkru: 0n, pkrs: 0n, ...over };
}

/** 4-level tables: PML4 at 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000; va 0x0000_0040_2060_3abc → page 0x9000. */
const VA = (1n << 39n) * 0n + (1n << 30n) * 1n + (1n << 21n) * 1n + (3n << 12n) + 0xabcn;
function build4(flags: { pml4?: bigint; pdpt?: bigint; pd?: bigint; pt?: bigint } = {}): SparseMemory {
  const m = new SparseMemory(RAM);
  m.write64(0x1000n + 0n * 8n, 0x2000n | (flags.pml4 ?? P | RW | US));
  m.write64(0x2000n + 1n * 8n, 0x3000n | (flags.pdpt ?? P | RW | US));
  m.write64(0x3000n + 1n * 8n, 0x4000n | (flags.pd ?? P | RW | US));
  m.write64(0x4000n + 3n * 8n, 0x9000n | (flags.pt ?? P | RW | US));
  return m;
}
const PML4E = 0x1000n,
  PDPTE = 0x2008n,
  PDE = 0x3008n,
  PTE = 0x4018n;

describe('referenceMode', () => {
  it('follows SDM Table 4-1', () => {
    expect(referenceMode({ cr0: 0n, cr4: CR4_PAE, efer: EFER_LME })).toBe('none');
    expect(referenceMode({ cr0: CR0_PG, cr4: 0n, efer: 0n })).toBe('32bit');
    expect(referenceMode({ cr0: CR0_PG, cr4: CR4_PAE, efer: 0n })).toBe('pae');
    expect(referenceMode({ cr0: CR0_PG, cr4: CR4_PAE, efer: EFER_LME })).toBe('4level');
    expect(referenceMode({ cr0: CR0_PG, cr4: CR4_PAE | CR4_LA57, efer: EFER_LME })).toBe('5level');
    expect(() => referenceMode({ cr0: CR0_PG, cr4: 0n, efer: EFER_LME })).toThrow(/PAE=0/);
  });
});

describe('4-level walks', () => {
  it('translates a 4 KiB page and sets A on every level, D only on writes', () => {
    const m = build4();
    const r = referenceAccess(m, long(), VA, rd(), cfg());
    expect(r).toMatchObject({ ok: true, pa: 0x9abcn, pageSize: 4096 });
    expect(r.steps.map((s) => s.name)).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE']);
    for (const e of [PML4E, PDPTE, PDE, PTE]) expect(m.read64(e) & (A | D)).toBe(A);
    referenceAccess(m, long(), VA, wr(), cfg());
    expect(m.read64(PTE) & (A | D)).toBe(A | D);
    expect(m.read64(PDE) & D).toBe(0n);
  });

  it('a first write sets A and D together', () => {
    const m = build4();
    expect(referenceAccess(m, long(), VA, wr(3), cfg()).ok).toBe(true);
    expect(m.read64(PTE)).toBe(0x9000n | P | RW | US | A | D);
  });

  it('not-present at each level gives error code 0 (plus W/U) and CR2 = va', () => {
    for (const lvl of ['pml4', 'pdpt', 'pd', 'pt'] as const) {
      const m = build4({ [lvl]: RW | US });
      const r = referenceAccess(m, long(), VA, wr(3), cfg());
      expect(r).toMatchObject({ ok: false, vector: 14, errorCode: 2 | 4, cr2: VA });
    }
  });

  it('user access to a supervisor page: P|U (and W)', () => {
    expect(referenceAccess(build4({ pd: P | RW }), long(), VA, rd(3), cfg())).toMatchObject({ ok: false, errorCode: 5 });
    expect(referenceAccess(build4({ pt: P | RW }), long(), VA, wr(3), cfg())).toMatchObject({ ok: false, errorCode: 7 });
  });

  it('read-only pages: user write faults; supervisor write faults only with CR0.WP', () => {
    expect(referenceAccess(build4({ pdpt: P | US }), long(), VA, wr(3), cfg())).toMatchObject({ ok: false, errorCode: 7 });
    expect(referenceAccess(build4({ pdpt: P | US }), long(), VA, wr(0), cfg()).ok).toBe(true);
    expect(referenceAccess(build4({ pdpt: P | US }), long({ cr0: CR0_PE | CR0_PG | CR0_WP }), VA, wr(0), cfg())).toMatchObject({ ok: false, errorCode: 3 });
  });

  it('XD with NXE: instruction fetch faults with P|I/D; XD without NXE is a reserved bit', () => {
    expect(referenceAccess(build4({ pml4: P | RW | US | XD }), long(), VA, ex(3), cfg())).toMatchObject({ ok: false, errorCode: 1 | 4 | 16 });
    expect(referenceAccess(build4({ pml4: P | RW | US | XD }), long(), VA, rd(3), cfg()).ok).toBe(true);
    const noNxe = long({ efer: EFER_LME | EFER_LMA });
    expect(referenceAccess(build4({ pt: P | RW | US | XD }), noNxe, VA, rd(0), cfg())).toMatchObject({ ok: false, errorCode: 1 | 8 });
    // I/D is reported only with SMEP or NXE (SDM 4.7): a not-present fetch with neither gives 0.
    expect(referenceAccess(build4({ pt: 0n }), noNxe, VA, ex(0), cfg())).toMatchObject({ ok: false, errorCode: 0 });
    expect(referenceAccess(build4({ pt: 0n }), long(), VA, ex(0), cfg())).toMatchObject({ ok: false, errorCode: 16 });
  });

  it('reserved bits: 51:M, PML4E PS, PDE 2 MiB bits 20:13, PDPTE 1 GiB bits 29:13', () => {
    const rsvd = { ok: false, vector: 14, errorCode: 9 };
    expect(referenceAccess(build4({ pt: P | (1n << 46n) }), long(), VA, rd(), cfg())).toMatchObject(rsvd);
    expect(referenceAccess(build4({ pt: P | (1n << 46n) }), long(), VA, rd(), cfg({ maxPhysAddrBits: 52 })).ok).toBe(true);
    expect(referenceAccess(build4({ pt: P | (1n << 52n) }), long(), VA, rd(), cfg()).ok).toBe(true); // 62:52 ignored
    expect(referenceAccess(build4({ pml4: P | PS }), long(), VA, rd(), cfg())).toMatchObject(rsvd);
    expect(referenceAccess(build4({ pd: P | PS | (1n << 13n) }), long(), VA, rd(), cfg())).toMatchObject(rsvd);
    expect(referenceAccess(build4({ pdpt: P | PS | (1n << 29n) }), long(), VA, rd(), cfg())).toMatchObject(rsvd);
    // With PS=1 the PDPT entry's address bit 13 (here 0x3000 has bit 13 set) is reserved.
    expect(referenceAccess(build4({ pdpt: P | PS }), long(), VA, rd(), cfg())).toMatchObject(rsvd);
  });

  it('RSVD beats protection: the walk stops at the first faulting level', () => {
    const r = referenceAccess(build4({ pd: P | (1n << 50n) }), long(), VA, wr(3), cfg());
    expect(r).toMatchObject({ ok: false, errorCode: 1 | 2 | 4 | 8 });
    expect(r.steps.map((s) => s.decision)).toEqual(['next', 'next', 'reserved']);
  });

  it('2 MiB and 1 GiB pages', () => {
    const m = build4({ pd: P | RW | PS });
    m.write64(PDE, 0x4020_0000n | P | RW | PS);
    const r = referenceAccess(m, long(), VA, wr(), cfg());
    expect(r).toMatchObject({ ok: true, pa: 0x4020_0000n | (VA & 0x1f_ffffn), pageSize: 2 << 20 });
    expect(m.read64(PDE)).toBe(0x4020_0000n | P | RW | PS | A | D);
    const m1 = build4();
    m1.write64(PDPTE, 0x8000_0000n | P | RW | PS);
    expect(referenceAccess(m1, long(), VA, rd(), cfg())).toMatchObject({ ok: true, pa: 0x8000_0000n | (VA & 0x3fff_ffffn), pageSize: 1 << 30 });
    expect(referenceAccess(m1, long(), VA, rd(), cfg({ pdpe1gb: false }))).toMatchObject({ ok: false, errorCode: 9 });
  });

  it('AMD: PML4E bit 8 is reserved; Intel ignores it', () => {
    expect(referenceAccess(build4({ pml4: P | RW | G }), long(), VA, rd(), cfg({ vendor: 'amd' }))).toMatchObject({ ok: false, errorCode: 9 });
    expect(referenceAccess(build4({ pml4: P | RW | G }), long(), VA, rd(), cfg()).ok).toBe(true);
  });

  it('Intel keeps A on levels above a fault; AMD writes nothing on a faulting walk', () => {
    const mi = build4({ pt: P | US });
    expect(referenceAccess(mi, long(), VA, wr(3), cfg()).ok).toBe(false);
    expect([PML4E, PDPTE, PDE, PTE].map((e) => (mi.read64(e) & A) !== 0n)).toEqual([true, true, true, false]);
    const ma = build4({ pt: P | US });
    expect(referenceAccess(ma, long(), VA, wr(3), cfg({ vendor: 'amd' })).ok).toBe(false);
    expect([PML4E, PDPTE, PDE, PTE].map((e) => ma.read64(e) & A)).toEqual([0n, 0n, 0n, 0n]);
    expect(referenceAccess(ma, long(), VA, rd(3), cfg({ vendor: 'amd' })).ok).toBe(true);
    expect([PML4E, PDPTE, PDE, PTE].map((e) => ma.read64(e) & A)).toEqual([A, A, A, A]);
  });

  it('non-canonical addresses give #GP without touching memory', () => {
    const m = build4();
    const r = referenceAccess(m, long(), 0x0000_8000_0000_0000n, rd(), cfg());
    expect(r).toEqual(expect.objectContaining({ ok: false, vector: 13 }));
    expect('cr2' in r).toBe(false);
    expect(m.read64(PML4E) & A).toBe(0n);
    expect(referenceAccess(m, long(), 0xffff_8000_0000_0000n, rd(), cfg())).toMatchObject({ ok: false, vector: 14 });
  });

  it('SMEP: supervisor fetch from a user page faults with P|I/D; user fetch is fine', () => {
    const cpu = long({ cr4: CR4_PAE | CR4_SMEP, efer: EFER_LME | EFER_LMA });
    expect(referenceAccess(build4(), cpu, VA, ex(0), cfg())).toMatchObject({ ok: false, errorCode: 0x11 });
    expect(referenceAccess(build4(), cpu, VA, ex(3), cfg()).ok).toBe(true);
    expect(referenceAccess(build4({ pt: P | RW }), cpu, VA, ex(0), cfg()).ok).toBe(true);
  });

  it('SMAP: AC lifts it for explicit accesses only; implicit accesses at CPL 3 are supervisor', () => {
    const cpu = long({ cr4: CR4_PAE | CR4_SMAP });
    expect(referenceAccess(build4(), cpu, VA, rd(0), cfg())).toMatchObject({ ok: false, errorCode: 1 });
    expect(referenceAccess(build4(), cpu, VA, wr(0, { ac: true }), cfg()).ok).toBe(true);
    expect(referenceAccess(build4(), cpu, VA, rd(0, { ac: true, implicit: true }), cfg())).toMatchObject({ ok: false, errorCode: 1 });
    expect(referenceAccess(build4(), cpu, VA, wr(3, { implicit: true }), cfg())).toMatchObject({ ok: false, errorCode: 3 });
    expect(referenceAccess(build4(), cpu, VA, rd(3), cfg()).ok).toBe(true);
    expect(referenceAccess(build4(), cpu, VA, ex(0), cfg()).ok).toBe(true); // SMAP is about data only
    // Implicit supervisor access to a supervisor page at CPL 3 succeeds.
    expect(referenceAccess(build4({ pt: P | RW }), cpu, VA, wr(3, { implicit: true }), cfg()).ok).toBe(true);
  });

  it('protection keys: PKRU for user pages, PKRS for supervisor pages, AD and WD, fetches unaffected', () => {
    const key5 = 5n << 59n;
    const userPage = build4({ pt: P | RW | US | key5 });
    const pkruAD = long({ cr4: CR4_PAE | CR4_PKE, pkru: 1n << 10n });
    expect(referenceAccess(userPage, pkruAD, VA, rd(3), cfg())).toMatchObject({ ok: false, errorCode: 0x25 });
    expect(referenceAccess(userPage, pkruAD, VA, rd(0), cfg())).toMatchObject({ ok: false, errorCode: 0x21 });
    expect(referenceAccess(userPage, pkruAD, VA, ex(3), cfg()).ok).toBe(true);
    const pkruWD = long({ cr4: CR4_PAE | CR4_PKE, pkru: 1n << 11n });
    expect(referenceAccess(userPage, pkruWD, VA, rd(3), cfg()).ok).toBe(true);
    expect(referenceAccess(userPage, pkruWD, VA, wr(3), cfg())).toMatchObject({ ok: false, errorCode: 0x27 });
    expect(referenceAccess(userPage, pkruWD, VA, wr(0), cfg()).ok).toBe(true); // supervisor, WP=0
    expect(referenceAccess(userPage, { ...pkruWD, cr0: CR0_PE | CR0_PG | CR0_WP }, VA, wr(0), cfg())).toMatchObject({ ok: false, errorCode: 0x23 });
    // Without CR4.PKE the key is ignored; PKRS does not apply to user pages.
    expect(referenceAccess(userPage, long({ pkru: 1n << 10n }), VA, rd(3), cfg()).ok).toBe(true);
    expect(referenceAccess(userPage, long({ cr4: CR4_PAE | CR4_PKS, pkrs: 1n << 10n }), VA, rd(3), cfg()).ok).toBe(true);
    const supPage = build4({ pt: P | RW | key5 });
    const pkrsAD = long({ cr4: CR4_PAE | CR4_PKS, pkrs: 1n << 10n });
    expect(referenceAccess(supPage, pkrsAD, VA, rd(0), cfg())).toMatchObject({ ok: false, errorCode: 0x21 });
    expect(referenceAccess(supPage, { ...pkrsAD, pkrs: 1n << 8n }, VA, rd(0), cfg()).ok).toBe(true); // key 4, not 5
  });

  it('PK faults are reported before ordinary protection faults', () => {
    const ro = build4({ pt: P | US | (3n << 59n) });
    const cpu = long({ cr4: CR4_PAE | CR4_PKE, pkru: 1n << 6n });
    expect(referenceAccess(ro, cpu, VA, wr(3), cfg())).toMatchObject({ ok: false, errorCode: 0x27 });
  });

  it('a table past RAM reads all ones: reserved bits give RSVD', () => {
    const m = build4();
    m.write64(PDPTE, (BigInt(RAM) * 4n) | P | RW | US);
    expect(referenceAccess(m, long(), VA, rd(), cfg())).toMatchObject({ ok: false, errorCode: 9 });
  });

  it('with MAXPHYADDR 52 and NXE, an all-ones PTE past RAM maps a page; its A/D writes are dropped', () => {
    const m = build4();
    m.write64(PDE, (BigInt(RAM) * 2n) | P | RW | US);
    const r = referenceAccess(m, long(), VA, ex(0), cfg({ maxPhysAddrBits: 52 }));
    expect(r).toMatchObject({ ok: false, errorCode: 0x11 }); // XD (bit 63) is set in all ones
    const r2 = referenceAccess(m, long(), VA, wr(3), cfg({ maxPhysAddrBits: 52 }));
    expect(r2).toMatchObject({ ok: true, pa: 0xf_ffff_ffff_fabcn });
    expect(m.droppedWrites).toBe(1);
  });

  it('a self-referencing PML4 entry (recursive mapping) maps the PML4 itself', () => {
    const m = new SparseMemory(RAM);
    m.write64(0x1000n + 0x1ffn * 8n, 0x1000n | P | RW);
    const va = 0xffff_ffff_ffff_f000n; // 511/511/511/511 → the PML4 page
    const r = referenceAccess(m, long(), va | 0xff8n, wr(), cfg({ vendor: 'amd' }));
    expect(r).toMatchObject({ ok: true, pa: 0x1ff8n });
    expect(r.steps.every((s) => s.entryAddress === 0x1ff8n)).toBe(true);
    expect(m.read64(0x1ff8n)).toBe(0x1000n | P | RW | A | D);
  });
});

describe('5-level walks', () => {
  const cpu5 = (): RefCpuState => long({ cr4: CR4_PAE | CR4_LA57 });
  it('walks PML5 → PT and checks canonicality at bit 56', () => {
    const m = new SparseMemory(RAM);
    const va = (1n << 48n) * 2n + 0x123n;
    m.write64(0x1000n + 2n * 8n, 0x2000n | P | RW);
    m.write64(0x2000n, 0x3000n | P | RW);
    m.write64(0x3000n, 0x4000n | P | RW);
    m.write64(0x4000n, 0x5000n | P | RW);
    m.write64(0x5000n, 0x6000n | P | RW);
    const r = referenceAccess(m, cpu5(), va, rd(), cfg());
    expect(r).toMatchObject({ ok: true, pa: 0x6123n });
    expect(r.steps.map((s) => s.name)).toEqual(['PML5E', 'PML4E', 'PDPTE', 'PDE', 'PTE']);
    expect(referenceAccess(m, cpu5(), 1n << 56n, rd(), cfg())).toMatchObject({ ok: false, vector: 13 });
    expect(referenceAccess(m, cpu5(), 0xff00_0000_0000_0000n, rd(), cfg())).toMatchObject({ ok: false, vector: 14, errorCode: 0 });
    expect(referenceAccess(m, long(), va, rd(), cfg())).toMatchObject({ ok: false, vector: 13 }); // not canonical for 4-level
  });
  it('PML5E PS is reserved', () => {
    const m = new SparseMemory(RAM);
    m.write64(0x1000n, 0x2000n | P | RW | PS);
    expect(referenceAccess(m, cpu5(), 0x1000n, rd(), cfg())).toMatchObject({ ok: false, errorCode: 9 });
  });
});

describe('PAE', () => {
  const pae = (over: Partial<RefCpuState> = {}): RefCpuState => ({
    cr0: CR0_PE | CR0_PG,
    cr3: 0x1020n,
    cr4: CR4_PAE,
    efer: EFER_NXE,
    pkru: 0n,
    pkrs: 0n,
    ...over,
  });
  function buildPae(): SparseMemory {
    const m = new SparseMemory(RAM);
    m.write64(0x1020n + 2n * 8n, 0x2000n | P); // PDPTE 2 (va bits 31:30 = 2)
    m.write64(0x2000n + 3n * 8n, 0x3000n | P | RW | US);
    m.write64(0x3000n + 4n * 8n, 0x7000n | P | RW | US);
    return m;
  }
  const VAP = 0x8060_4123n; // pdpt 2, pd 3, pt 4

  it('loads the PDPTEs, rejects P=1 entries with reserved bits, ignores reserved bits when P=0', () => {
    const m = buildPae();
    const ok = referenceLoadPdptes(m, 0x1020n, 46);
    expect(ok).toMatchObject({ ok: true, base: 0x1020n });
    m.write64(0x1020n, 0x6n); // P=0 with bits 2:1 set: not checked
    expect(referenceLoadPdptes(m, 0x1020n, 46).ok).toBe(true);
    for (const bad of [2n, 0x20n, 0x100n, 1n << 63n, 1n << 46n]) {
      m.write64(0x1028n, 0x5000n | P | bad);
      expect(referenceLoadPdptes(m, 0x1020n, 46)).toMatchObject({ ok: false, index: 1, reservedBits: bad });
    }
    m.write64(0x1028n, 0x5000n | P | (1n << 46n));
    expect(referenceLoadPdptes(m, 0x1020n, 52).ok).toBe(true);
  });

  it('walks through the PDPTE registers, which are not re-read from memory', () => {
    const m = buildPae();
    const load = referenceLoadPdptes(m, 0x1020n, 46);
    if (!load.ok) throw new Error('load failed');
    const cpu = pae({ pdptes: load.pdptes });
    const r = referenceAccess(m, cpu, VAP | (0xffff_ffffn << 32n), wr(3), cfg());
    expect(r).toMatchObject({ ok: true, pa: 0x7123n, linear: VAP });
    expect(r.steps.map((s) => [s.name, s.register])).toEqual([
      ['PDPTE', true],
      ['PDE', false],
      ['PTE', false],
    ]);
    expect(m.read64(0x1030n)).toBe(0x2000n | P); // no A bit in a PDPTE
    m.write64(0x1030n, 0n); // memory changes; the register does not
    expect(referenceAccess(m, cpu, VAP, rd(), cfg()).ok).toBe(true);
  });

  it('not-present PDPTE register faults; PDPTEs contribute no R/W or U/S', () => {
    const m = buildPae();
    const load = referenceLoadPdptes(m, 0x1020n, 46);
    if (!load.ok) throw new Error('load failed');
    expect(referenceAccess(m, pae({ pdptes: load.pdptes }), 0x4000_0000n, wr(3), cfg())).toMatchObject({ ok: false, errorCode: 6, cr2: 0x4000_0000n });
    expect(referenceAccess(m, pae({ pdptes: load.pdptes }), VAP, wr(3), cfg()).ok).toBe(true);
  });

  it('PAE reserved bits 62:M (bits 62:52 are not ignored as in IA-32e), XD needs NXE, 2 MiB PDE bits 20:13', () => {
    const m = buildPae();
    const load = referenceLoadPdptes(m, 0x1020n, 46);
    if (!load.ok) throw new Error('load failed');
    const cpu = pae({ pdptes: load.pdptes });
    m.write64(0x3020n, 0x7000n | P | RW | US | (1n << 60n));
    expect(referenceAccess(m, cpu, VAP, rd(), cfg({ maxPhysAddrBits: 52 }))).toMatchObject({ ok: false, errorCode: 9 });
    m.write64(0x3020n, 0x7000n | P | RW | US | XD);
    expect(referenceAccess(m, cpu, VAP, ex(), cfg())).toMatchObject({ ok: false, errorCode: 0x11 });
    expect(referenceAccess(m, { ...cpu, efer: 0n }, VAP, rd(), cfg())).toMatchObject({ ok: false, errorCode: 9 });
    m.write64(0x2018n, 0x20_0000n | P | RW | PS);
    expect(referenceAccess(m, cpu, VAP, rd(), cfg())).toMatchObject({ ok: true, pa: 0x20_0000n | (VAP & 0x1f_ffffn), pageSize: 2 << 20 });
    m.write64(0x2018n, 0x20_2000n | P | RW | PS);
    expect(referenceAccess(m, cpu, VAP, rd(), cfg())).toMatchObject({ ok: false, errorCode: 9 });
    // Protection keys do not exist in PAE paging.
    m.write64(0x2018n, 0x20_0000n | P | RW | US | PS | (1n << 59n));
    expect(referenceAccess(m, { ...cpu, cr4: CR4_PAE | CR4_PKE, pkru: 0xffff_ffffn }, VAP, rd(3), cfg({ maxPhysAddrBits: 52 }))).toMatchObject({
      ok: false,
      errorCode: 0xd,
    });
    m.write64(0x2018n, 0x20_0000n | P | RW | US | PS);
    expect(referenceAccess(m, { ...cpu, cr4: CR4_PAE | CR4_PKE, pkru: 0xffff_ffffn }, VAP, rd(3), cfg()).ok).toBe(true);
  });
});

describe('32-bit paging', () => {
  const p32 = (over: Partial<RefCpuState> = {}): RefCpuState => ({
    cr0: CR0_PE | CR0_PG,
    cr3: 0x1000n,
    cr4: CR4_PSE,
    efer: EFER_NXE,
    pkru: 0n,
    pkrs: 0n,
    ...over,
  });
  const VA32 = 0x80c0_5123n; // pd 0x203, pt 5

  it('4 KiB pages through 4-byte entries; A/D writes are 4 bytes wide', () => {
    const m = new SparseMemory(RAM);
    m.write32(0x1000n + 0x203n * 4n, 0x2000 | 7);
    m.write32(0x1000n + 0x204n * 4n, 0xdead_0000);
    m.write32(0x2000n + 5n * 4n, 0x0009_9000 | 7);
    m.write32(0x2000n + 6n * 4n, 0xbeef_0000);
    const r = referenceAccess(m, p32(), VA32, wr(3), cfg());
    expect(r).toMatchObject({ ok: true, pa: 0x9_9123n, pageSize: 4096 });
    expect(m.read32(0x2014n)).toBe(0x0009_9000 | 7 | 0x60);
    expect(m.read32(0x2018n)).toBe(0xbeef_0000);
    expect(m.read32(0x180cn)).toBe(0x2000 | 7 | 0x20);
    expect(m.read32(0x1810n)).toBe(0xdead_0000);
  });

  it('4 MiB pages with PSE, PSE-36 high bits, reserved bit 21, PS ignored without CR4.PSE', () => {
    const m = new SparseMemory(RAM);
    const pde = 0x1000n + 0x203n * 4n;
    m.write32(pde, 0x80c0_0000 | (0x12 << 13) | 0x83);
    expect(referenceAccess(m, p32(), VA32, rd(), cfg())).toMatchObject({ ok: true, pa: 0x12_80c0_5123n, pageSize: 4 << 20 });
    // MAXPHYADDR 36: only PDE bits 16:13 are address; bits 21:17 are reserved (0x12 has bit 17 set).
    expect(referenceAccess(m, p32(), VA32, rd(), cfg({ maxPhysAddrBits: 36 }))).toMatchObject({ ok: false, errorCode: 9 });
    // Without PSE-36 bits 21:13 are all reserved.
    expect(referenceAccess(m, p32(), VA32, rd(), cfg({ pse36: false }))).toMatchObject({ ok: false, errorCode: 9 });
    m.write32(pde, 0x80c0_0000 | (1 << 21) | 0x83);
    expect(referenceAccess(m, p32(), VA32, rd(), cfg())).toMatchObject({ ok: false, errorCode: 9 });
    // CR4.PSE = 0: PS is ignored and the PDE references a page table at 0x80c00000 (past RAM: all ones).
    m.write32(pde, 0x0000_3000 | 0x83);
    m.write32(0x3014n, 0x5000 | 3);
    expect(referenceAccess(m, p32({ cr4: 0n }), VA32, rd(), cfg())).toMatchObject({ ok: true, pa: 0x5123n });
  });

  it('no XD, no I/D from NXE, no protection keys in 32-bit paging', () => {
    const m = new SparseMemory(RAM);
    m.write32(0x1000n + 0x203n * 4n, 0x2000 | 7);
    expect(referenceAccess(m, p32(), VA32, ex(3), cfg())).toMatchObject({ ok: false, errorCode: 4 });
    expect(referenceAccess(m, p32({ cr4: CR4_SMEP }), VA32, ex(3), cfg())).toMatchObject({ ok: false, errorCode: 0x14 });
  });

  it('linear address and CR2 are the low 32 bits of va', () => {
    const m = new SparseMemory(RAM);
    const r = referenceAccess(m, p32(), 0x1234_0000_0000_5000n, rd(), cfg());
    expect(r).toMatchObject({ ok: false, errorCode: 0, cr2: 0x5000n });
  });
});

describe('paging off', () => {
  it('pa = low 32 bits of va, no fault', () => {
    const m = new SparseMemory(RAM);
    expect(referenceAccess(m, { cr0: CR0_PE, cr3: 0n, cr4: 0n, efer: 0n, pkru: 0n, pkrs: 0n }, 0xdead_beef_1234_5678n, wr(3), cfg())).toMatchObject({
      ok: true,
      pa: 0x1234_5678n,
    });
  });
});
