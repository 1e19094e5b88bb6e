/**
 * Focused unit tests of the WASM paging core: one test per #PF error-code bit and per feature
 * (Intel SDM vol. 3 ch. 4; docs/paging-semantics.md), including TLB staleness and invalidation
 * (SDM 4.10.4), paging-structure caches (SDM 4.10.3) and control-register validation.
 * Page tables are written directly with m.phys.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/index.js';
import type { AccessOptions, MachineOptions } from '../src/core/types.js';
import {
  A,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_LA57,
  CR4_PAE,
  CR4_PCIDE,
  CR4_PGE,
  CR4_PKE,
  CR4_PKS,
  CR4_PSE,
  CR4_SMAP,
  CR4_SMEP,
  D,
  EFER_LME,
  EFER_NXE,
  G,
  P,
  PS,
  RW,
  US,
  XD,
} from './support/x86-bits.js';

type Cpu = Machine['cpus'][number];
type Mode = '32bit' | 'pae' | '4level' | '5level';

const PF_P = 1,
  PF_W = 2,
  PF_U = 4,
  PF_RSVD = 8,
  PF_ID = 16,
  PF_PK = 32;

const R0: AccessOptions = { kind: 'read', cpl: 0 };
const W0: AccessOptions = { kind: 'write', cpl: 0 };
const X0: AccessOptions = { kind: 'exec', cpl: 0 };
const R3: AccessOptions = { kind: 'read', cpl: 3 };
const W3: AccessOptions = { kind: 'write', cpl: 3 };
const X3: AccessOptions = { kind: 'exec', cpl: 3 };

const ROOT = 0x1000n;
/** Linear address used by most tests: PML4 0xfe, PDPT 0x48, PD 0xd1, PT 0x45, offset 0x678. */
const VA = 0x7f12_3456_7678n - 0x2000n;

/** Builds paging structures by writing entries with m.phys; tables come from a bump allocator. */
class Tables {
  private nextTable = 0x10_0000n;
  constructor(
    readonly m: Machine,
    readonly mode: Mode,
    readonly root = ROOT,
  ) {}

  private get wide(): boolean {
    return this.mode !== '32bit';
  }
  get top(): number {
    return { '32bit': 2, pae: 3, '4level': 4, '5level': 5 }[this.mode];
  }

  read(addr: bigint): bigint {
    return this.wide ? this.m.phys.read64(addr) : BigInt(this.m.phys.read32(addr) >>> 0);
  }
  write(addr: bigint, v: bigint): void {
    if (this.wide) this.m.phys.write64(addr, v);
    else this.m.phys.write32(addr, Number(v));
  }

  index(level: number, va: bigint): bigint {
    if (this.mode === '32bit') return (va >> (level === 2 ? 22n : 12n)) & 0x3ffn;
    if (this.mode === 'pae' && level === 3) return (va >> 30n) & 3n;
    return (va >> BigInt(12 + 9 * (level - 1))) & 0x1ffn;
  }

  /** Address of the entry for `va` at `level`, creating missing tables above it with `tableFlags`. */
  entry(va: bigint, level: number, tableFlags = P | RW | US): bigint {
    let table = this.root;
    for (let l = this.top; ; l--) {
      const addr = table + this.index(l, va) * (this.wide ? 8n : 4n);
      if (l === level) return addr;
      let v = this.read(addr);
      if (!(v & P)) {
        const t = this.nextTable;
        this.nextTable += 0x1000n;
        v = t | (this.mode === 'pae' && l === 3 ? P : tableFlags);
        this.write(addr, v);
      }
      table = this.wide ? v & 0xf_ffff_ffff_f000n : v & 0xffff_f000n;
    }
  }

  /** Maps `va` to `pa` with a leaf at `level` (PS added above level 1). Returns the leaf's address. */
  map(va: bigint, pa: bigint, flags = P | RW | US, level = 1, tableFlags = P | RW | US): bigint {
    const e = this.entry(va, level, tableFlags);
    this.write(e, pa | flags | (level > 1 ? PS : 0n));
    return e;
  }
}

interface Setup {
  m: Machine;
  cpu: Cpu;
  t: Tables;
}

function machine(opts: MachineOptions = {}): Machine {
  return Machine.createSync({ ramBytes: 8 << 20, cpus: 1, vendor: 'intel', maxPhysAddrBits: 46, ...opts });
}

/** A machine in 4-level (or 5-level) paging with the given extra CR0/CR4/EFER bits. */
function long(opts: MachineOptions = {}, extra: { cr0?: bigint; cr4?: bigint; efer?: bigint; la57?: boolean } = {}): Setup {
  const m = machine(opts);
  const cpu = m.cpus[0]!;
  const t = new Tables(m, extra.la57 ? '5level' : '4level');
  cpu.setControl({ cr4: CR4_PAE | (extra.la57 ? CR4_LA57 : 0n) | (extra.cr4 ?? 0n), efer: EFER_LME | (extra.efer ?? EFER_NXE), cr3: ROOT });
  cpu.setControl({ cr0: CR0_PE | CR0_PG | (extra.cr0 ?? 0n) });
  return { m, cpu, t };
}

/** A machine in PAE paging; the PDPT is at 0x1020. PDPTE registers load when CR0.PG is set. */
function pae(opts: MachineOptions = {}, build?: (t: Tables) => void): Setup {
  const m = machine(opts);
  const cpu = m.cpus[0]!;
  const t = new Tables(m, 'pae', 0x1020n);
  build?.(t);
  cpu.setControl({ cr4: CR4_PAE, efer: EFER_NXE, cr3: 0x1020n });
  cpu.setControl({ cr0: CR0_PE | CR0_PG });
  return { m, cpu, t };
}

/** A machine in 32-bit paging with CR4.PSE. */
function legacy(opts: MachineOptions = {}): Setup {
  const m = machine(opts);
  const cpu = m.cpus[0]!;
  const t = new Tables(m, '32bit');
  cpu.setControl({ cr4: CR4_PSE, cr3: ROOT });
  cpu.setControl({ cr0: CR0_PE | CR0_PG });
  return { m, cpu, t };
}

const pf = (errorCode: number, cr2: bigint) => ({ ok: false, vector: 14, errorCode, cr2 });
const okPa = (pa: bigint) => ({ ok: true, pa });

beforeAll(async () => {
  await Machine.ready();
});

describe('page-fault error code bits (SDM 4.7)', () => {
  it('P: clear for a not-present page, set for a protection fault', () => {
    const { cpu, t } = long();
    expect(cpu.access(VA, R0)).toMatchObject(pf(0, VA));
    t.map(VA, 0x20_0000n, P);
    expect(cpu.access(VA, R3)).toMatchObject(pf(PF_P | PF_U, VA));
  });
  it('W/R: set for writes', () => {
    const { cpu } = long();
    expect(cpu.access(VA, W0)).toMatchObject(pf(PF_W, VA));
  });
  it('U/S: set for CPL 3, clear for implicit supervisor accesses at CPL 3', () => {
    const { cpu } = long();
    expect(cpu.access(VA, R3)).toMatchObject(pf(PF_U, VA));
    expect(cpu.access(VA, { kind: 'read', cpl: 3, implicit: true })).toMatchObject(pf(0, VA));
  });
  it('I/D: set for fetches with NXE; not with NXE=0 and SMEP=0', () => {
    expect(long().cpu.access(VA, X0)).toMatchObject(pf(PF_ID, VA));
    expect(long({}, { efer: 0n }).cpu.access(VA, X0)).toMatchObject(pf(0, VA));
    expect(long({}, { efer: 0n, cr4: CR4_SMEP }).cpu.access(VA, X0)).toMatchObject(pf(PF_ID, VA));
  });
  it('PK: set for a protection-key violation', () => {
    const { cpu, t } = long({}, { cr4: CR4_PKE });
    t.map(VA, 0x20_0000n, P | RW | US | (7n << 59n));
    cpu.setControl({ pkru: 1n << 14n });
    expect(cpu.access(VA, R3)).toMatchObject(pf(PF_P | PF_U | PF_PK, VA));
  });
  it('CR2 holds the faulting address and is unchanged by #GP', () => {
    const { cpu } = long();
    expect(cpu.access(VA + 5n, R0)).toMatchObject({ cr2: VA + 5n });
    expect(cpu.cr2).toBe(VA + 5n);
    expect(cpu.access(0x8000_0000_0000n, R0)).toEqual({ ok: false, vector: 13 });
    expect(cpu.cr2).toBe(VA + 5n);
  });
});

describe('RSVD: each reserved-bit rule', () => {
  const rsvd = (extra = 0) => pf(PF_P | PF_RSVD | extra, VA);
  it('IA-32e bits 51:M in a PTE (M = 46), not with M = 52', () => {
    const a = long();
    a.t.map(VA, 0x20_0000n | (1n << 46n), P | RW);
    expect(a.cpu.access(VA, W0)).toMatchObject(rsvd(PF_W));
    const b = long({ maxPhysAddrBits: 52 });
    b.t.map(VA, 0x20_0000n | (1n << 46n), P | RW);
    expect(b.cpu.access(VA, R0)).toMatchObject(okPa(0x4000_0020_0678n));
  });
  it('IA-32e bits 62:52 are ignored', () => {
    const { cpu, t } = long();
    t.map(VA, 0x20_0000n | (0x7ffn << 52n), P | RW);
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x20_0678n));
  });
  it('PML4E and PML5E PS', () => {
    const a = long();
    a.t.map(VA, 0x20_0000n);
    a.m.phys.write64(a.t.entry(VA, 4), a.m.phys.read64(a.t.entry(VA, 4)) | PS);
    expect(a.cpu.access(VA, R0)).toMatchObject(rsvd());
    const b = long({}, { la57: true });
    b.t.map(VA, 0x20_0000n);
    b.m.phys.write64(b.t.entry(VA, 5), b.m.phys.read64(b.t.entry(VA, 5)) | PS);
    expect(b.cpu.access(VA, R0)).toMatchObject(rsvd());
  });
  it('AMD: PML4E bit 8 is reserved; Intel ignores it', () => {
    for (const vendor of ['intel', 'amd'] as const) {
      const { m, cpu, t } = long({ vendor });
      t.map(VA, 0x20_0000n);
      m.phys.write64(t.entry(VA, 4), m.phys.read64(t.entry(VA, 4)) | G);
      expect(cpu.access(VA, R0)).toMatchObject(vendor === 'amd' ? rsvd() : okPa(0x20_0678n));
    }
  });
  it('1 GiB PDPTE bits 29:13; PS in a PDPTE without 1 GiB-page support', () => {
    const a = long();
    a.t.map(VA, 0x4000_0000n | (1n << 13n), P | RW, 3);
    expect(a.cpu.access(VA, R0)).toMatchObject(rsvd());
    const b = long({ pdpe1gb: false });
    b.t.map(VA, 0x4000_0000n, P | RW, 3);
    expect(b.cpu.access(VA, R0)).toMatchObject(rsvd());
  });
  it('2 MiB PDE bits 20:13', () => {
    const { cpu, t } = long();
    t.map(VA, 0x20_0000n | (1n << 20n), P | RW, 2);
    expect(cpu.access(VA, R0)).toMatchObject(rsvd());
  });
  it('XD with EFER.NXE = 0, at a non-leaf level too', () => {
    const { m, cpu, t } = long({}, { efer: 0n });
    t.map(VA, 0x20_0000n);
    const pde = t.entry(VA, 2);
    m.phys.write64(pde, m.phys.read64(pde) | XD);
    expect(cpu.access(VA, R3)).toMatchObject(rsvd(PF_U));
  });
  it('PAE PDE/PTE bits 62:M (62:52 included)', () => {
    const { cpu, t } = pae({ maxPhysAddrBits: 52 }, (tt) => tt.map(0x4020_1000n, 0x20_0000n | (1n << 55n)));
    expect(cpu.access(0x4020_1000n, R0)).toMatchObject(pf(PF_P | PF_RSVD, 0x4020_1000n));
    t.map(0x4020_2000n, 0x20_0000n);
    expect(cpu.access(0x4020_2000n, R0)).toMatchObject(okPa(0x20_0000n));
  });
  it('32-bit 4 MiB PDE: bit 21; bits 20:(M−19) with MAXPHYADDR 36; bits 21:13 without PSE-36', () => {
    const va = 0x8040_1234n;
    const a = legacy();
    a.t.map(va, 0x8040_0000n | (1n << 21n), P | RW, 2);
    expect(a.cpu.access(va, R0)).toMatchObject(pf(PF_P | PF_RSVD, va));
    const b = legacy({ maxPhysAddrBits: 36 });
    b.t.map(va, 0x8040_0000n | (1n << 17n), P | RW, 2);
    expect(b.cpu.access(va, R0)).toMatchObject(pf(PF_P | PF_RSVD, va));
    b.t.map(va, 0x8040_0000n | (1n << 16n), P | RW, 2);
    expect(b.cpu.access(va, R0)).toMatchObject(okPa(0x8_8040_1234n));
    const c = legacy({ pse36: false });
    c.t.map(va, 0x8040_0000n | (1n << 13n), P | RW, 2);
    expect(c.cpu.access(va, R0)).toMatchObject(pf(PF_P | PF_RSVD, va));
  });
});

describe('non-canonical addresses raise #GP', () => {
  it('4-level: bits 63:47; 5-level: bits 63:56', () => {
    const a = long();
    expect(a.cpu.access(0x0000_8000_0000_0000n, R0)).toEqual({ ok: false, vector: 13 });
    expect(a.cpu.access(0xffff_7fff_ffff_ffffn, W3)).toEqual({ ok: false, vector: 13 });
    expect(a.cpu.access(0xffff_8000_0000_0000n, R0)).toMatchObject({ vector: 14 });
    const b = long({}, { la57: true });
    expect(b.cpu.access(0x0000_8000_0000_0000n, R0)).toMatchObject({ vector: 14 });
    expect(b.cpu.access(0x0100_0000_0000_0000n, R0)).toEqual({ ok: false, vector: 13 });
  });
});

describe('access rights', () => {
  it('CR0.WP: supervisor writes to read-only pages allowed only with WP = 0', () => {
    const a = long();
    a.t.map(VA, 0x20_0000n, P | US);
    expect(a.cpu.access(VA, W0)).toMatchObject(okPa(0x20_0678n));
    const b = long({}, { cr0: CR0_WP });
    b.t.map(VA, 0x20_0000n, P | US);
    expect(b.cpu.access(VA, W0)).toMatchObject(pf(PF_P | PF_W, VA));
    expect(b.cpu.access(VA, W3)).toMatchObject(pf(PF_P | PF_W | PF_U, VA));
  });
  it('R/W and U/S combine across levels', () => {
    const { cpu, t } = long();
    t.map(VA, 0x20_0000n, P | RW | US, 1, P | RW);
    expect(cpu.access(VA, R3)).toMatchObject(pf(PF_P | PF_U, VA));
    const v2 = VA + (1n << 39n);
    t.map(v2, 0x20_0000n, P | RW | US, 1, P | US);
    expect(cpu.access(v2, W3)).toMatchObject(pf(PF_P | PF_W | PF_U, v2));
    expect(cpu.access(v2, R3)).toMatchObject(okPa(0x20_0678n));
  });
  it('NXE: XD at any level forbids fetches only', () => {
    const { m, cpu, t } = long();
    t.map(VA, 0x20_0000n);
    const pdpte = t.entry(VA, 3);
    m.phys.write64(pdpte, m.phys.read64(pdpte) | XD);
    expect(cpu.access(VA, X3)).toMatchObject(pf(PF_P | PF_U | PF_ID, VA));
    expect(cpu.access(VA, W3)).toMatchObject(okPa(0x20_0678n));
  });
  it('SMEP: supervisor fetches from user pages fault', () => {
    const { cpu, t } = long({}, { cr4: CR4_SMEP });
    t.map(VA, 0x20_0000n);
    expect(cpu.access(VA, X0)).toMatchObject(pf(PF_P | PF_ID, VA));
    expect(cpu.access(VA, X3)).toMatchObject(okPa(0x20_0678n));
  });
  it('SMAP: supervisor data access to user pages faults unless EFLAGS.AC; implicit accesses always fault', () => {
    const { cpu, t } = long({}, { cr4: CR4_SMAP });
    t.map(VA, 0x20_0000n);
    expect(cpu.access(VA, R0)).toMatchObject(pf(PF_P, VA));
    expect(cpu.access(VA, { kind: 'write', cpl: 0, ac: true })).toMatchObject(okPa(0x20_0678n));
    expect(cpu.access(VA, { kind: 'read', cpl: 0, ac: true, implicit: true })).toMatchObject(pf(PF_P, VA));
    expect(cpu.access(VA, { kind: 'write', cpl: 3, ac: true, implicit: true })).toMatchObject(pf(PF_P | PF_W, VA));
    expect(cpu.access(VA, X0)).toMatchObject(okPa(0x20_0678n));
    expect(cpu.access(VA, R3)).toMatchObject(okPa(0x20_0678n));
  });
  it('PKRU: AD blocks user-page data accesses, WD blocks writes (supervisor only with WP); fetches unaffected', () => {
    const { cpu, t } = long({}, { cr4: CR4_PKE });
    t.map(VA, 0x20_0000n, P | RW | US | (3n << 59n));
    cpu.setControl({ pkru: 1n << 6n }); // AD(3)
    expect(cpu.access(VA, R3)).toMatchObject(pf(PF_P | PF_U | PF_PK, VA));
    expect(cpu.access(VA, X3)).toMatchObject(okPa(0x20_0678n));
    cpu.setControl({ pkru: 1n << 7n }); // WD(3)
    expect(cpu.access(VA, R3)).toMatchObject(okPa(0x20_0678n));
    expect(cpu.access(VA, W3)).toMatchObject(pf(PF_P | PF_W | PF_U | PF_PK, VA));
    expect(cpu.access(VA, W0)).toMatchObject(okPa(0x20_0678n));
    cpu.setControl({ cr0: CR0_PE | CR0_PG | CR0_WP });
    expect(cpu.access(VA, W0)).toMatchObject(pf(PF_P | PF_W | PF_PK, VA));
  });
  it('PKRS: AD/WD for supervisor pages; PKRU does not apply to them', () => {
    const { cpu, t } = long({}, { cr4: CR4_PKE | CR4_PKS });
    t.map(VA, 0x20_0000n, P | RW | (9n << 59n));
    cpu.setControl({ pkru: 0xffff_ffffn });
    expect(cpu.access(VA, W0)).toMatchObject(okPa(0x20_0678n));
    cpu.setControl({ pkrs: 1n << 18n }); // AD(9)
    expect(cpu.access(VA, R0)).toMatchObject(pf(PF_P | PF_PK, VA));
    cpu.setControl({ pkrs: 1n << 19n }); // WD(9)
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x20_0678n));
    expect(cpu.access(VA, W0)).toMatchObject(okPa(0x20_0678n)); // WP = 0
    cpu.setControl({ cr0: CR0_PE | CR0_PG | CR0_WP });
    expect(cpu.access(VA, W0)).toMatchObject(pf(PF_P | PF_W | PF_PK, VA));
  });
});

describe('page sizes', () => {
  it('1 GiB and 2 MiB pages in 4-level paging', () => {
    const { cpu, t } = long();
    t.map(VA, 0x1_c000_0000n, P | RW, 3);
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x1_c000_0000n | (VA & 0x3fff_ffffn)));
    const v2 = VA + (1n << 39n);
    t.map(v2, 0x6_0000_0000n, P | RW, 2);
    expect(cpu.access(v2, R0)).toMatchObject(okPa(0x6_0000_0000n | (v2 & 0x1f_ffffn)));
  });
  it('2 MiB pages in PAE paging', () => {
    const { cpu } = pae({}, (t) => t.map(0xc060_0000n, 0x2_0040_0000n, P | RW, 2));
    expect(cpu.access(0xc07f_fff0n, R0)).toMatchObject(okPa(0x2_005f_fff0n));
  });
  it('4 MiB pages with PSE-36 in 32-bit paging; PS ignored without CR4.PSE', () => {
    const { cpu, t } = legacy();
    t.map(0x8040_0000n, 0xffc0_0000n | (0xabn << 13n), P | RW, 2);
    expect(cpu.access(0x807f_fff0n, R0)).toMatchObject(okPa(0xab_ffff_fff0n));
    cpu.setControl({ cr4: 0n });
    // PS ignored: the PDE references a page table at 0xffc00000+..., past RAM, read as all ones.
    expect(cpu.access(0x807f_fff0n, R0)).toMatchObject(okPa(0xffff_fff0n));
  });
});

describe('PAE PDPTE registers', () => {
  it('setControl throws when a present PDPTE has reserved bits (checked at load)', () => {
    for (const bad of [2n, 0x20n, 0x100n, XD, 1n << 46n]) {
      const m = machine();
      const cpu = m.cpus[0]!;
      m.phys.write64(0x1020n, 0x2000n | P | bad);
      cpu.setControl({ cr4: CR4_PAE, cr3: 0x1020n });
      expect(() => cpu.setControl({ cr0: CR0_PE | CR0_PG })).toThrow(/PDPTE/i);
    }
  });
  it('a not-present PDPTE is not checked (SDM 4.4.1)', () => {
    const m = machine();
    const cpu = m.cpus[0]!;
    m.phys.write64(0x1020n, 0x6n);
    cpu.setControl({ cr4: CR4_PAE, cr3: 0x1020n });
    expect(() => cpu.setControl({ cr0: CR0_PE | CR0_PG })).not.toThrow();
    expect(cpu.access(0x1000n, R0)).toMatchObject(pf(0, 0x1000n));
  });
  it('a CR3 write in PAE mode with a bad PDPTE throws', () => {
    const { m, cpu } = pae({}, (t) => t.map(0x1000n, 0x20_0000n));
    m.phys.write64(0x3020n, 0x5000n | P | 4n);
    expect(() => cpu.setControl({ cr3: 0x3020n })).toThrow(/PDPTE/i);
  });
  it('MOV to CR4 changing PGE reloads the PDPTEs; MOV to CR0 changing only WP does not (SDM 4.4.1)', () => {
    const { m, cpu } = pae({}, (t) => t.map(0x4000_1000n, 0x20_0000n));
    m.phys.write64(0x1028n, 0n);
    cpu.setControl({ cr0: CR0_PE | CR0_PG | CR0_WP });
    cpu.invlpg(0x4000_1000n);
    expect(cpu.access(0x4000_1000n, R0)).toMatchObject(okPa(0x20_0000n));
    cpu.setControl({ cr4: CR4_PAE | CR4_PGE });
    expect(cpu.access(0x4000_1000n, R0)).toMatchObject(pf(0, 0x4000_1000n));
  });
  it('PDPTEs are not re-read from memory after the CR3 load', () => {
    const { m, cpu } = pae({}, (t) => t.map(0x4000_1000n, 0x20_0000n));
    expect(cpu.access(0x4000_1000n, R0)).toMatchObject(okPa(0x20_0000n));
    m.phys.write64(0x1028n, 0n);
    cpu.invlpg(0x4000_1000n);
    expect(cpu.access(0x4000_1000n, R0)).toMatchObject(okPa(0x20_0000n));
    cpu.setControl({ cr3: 0x1020n });
    expect(cpu.access(0x4000_1000n, R0)).toMatchObject(pf(0, 0x4000_1000n));
  });
});

describe('accessed and dirty bits', () => {
  it('a read sets A on every level; a first write sets A and D together', () => {
    const { m, cpu, t } = long();
    const pte = t.map(VA, 0x20_0000n);
    const upper = [4, 3, 2].map((l) => t.entry(VA, l));
    expect(cpu.access(VA, W3)).toMatchObject(okPa(0x20_0678n));
    expect(m.phys.read64(pte)).toBe(0x20_0000n | P | RW | US | A | D);
    for (const e of upper) expect(m.phys.read64(e) & (A | D)).toBe(A);
    const v2 = VA + 0x1000n;
    const pte2 = t.map(v2, 0x30_0000n);
    expect(cpu.access(v2, R3)).toMatchObject(okPa(0x30_0678n));
    expect(m.phys.read64(pte2) & (A | D)).toBe(A);
  });
  it('32-bit paging writes A/D into 4-byte entries', () => {
    const { m, cpu, t } = legacy();
    const pte = t.map(0x0040_3000n, 0x0020_0000n);
    m.phys.write32(pte + 4n, 0xdead_beef);
    expect(cpu.access(0x0040_3000n, W0)).toMatchObject(okPa(0x20_0000n));
    expect(m.phys.read32(pte) >>> 0).toBe(0x20_0000 | 7 | 0x60);
    expect(m.phys.read32(pte + 4n) >>> 0).toBe(0xdead_beef);
  });
  it('Intel keeps A on the levels above a fault; AMD sets none on a faulting walk', () => {
    for (const vendor of ['intel', 'amd'] as const) {
      const { m, cpu, t } = long({ vendor });
      const pte = t.map(VA, 0x20_0000n, P | US);
      const upper = [4, 3, 2].map((l) => t.entry(VA, l));
      expect(cpu.access(VA, W3)).toMatchObject(pf(PF_P | PF_W | PF_U, VA));
      const want = vendor === 'intel' ? A : 0n;
      expect(upper.map((e) => m.phys.read64(e) & A)).toEqual([want, want, want]);
      expect(m.phys.read64(pte) & A).toBe(0n);
    }
  });
});

describe('TLB staleness and invalidation (SDM 4.10.4)', () => {
  it('a changed PTE is not seen until INVLPG', () => {
    const { cpu, t } = long();
    const pte = t.map(VA, 0x20_0000n);
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x20_0678n));
    t.write(pte, 0x30_0000n | P | RW | US);
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x20_0678n));
    cpu.invlpg(VA);
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x30_0678n));
  });
  it('a CR3 reload makes the new PTE visible; a global entry survives it but not a CR4.PGE toggle', () => {
    const { cpu, t } = long({}, { cr4: CR4_PGE });
    const pte = t.map(VA, 0x20_0000n);
    const gva = VA + 0x1000n;
    const gpte = t.map(gva, 0x40_0000n, P | RW | US | G);
    cpu.access(VA, R0);
    cpu.access(gva, R0);
    t.write(pte, 0x30_0000n | P | RW | US);
    t.write(gpte, 0x50_0000n | P | RW | US | G);
    cpu.setControl({ cr3: ROOT });
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x30_0678n));
    expect(cpu.access(gva, R0)).toMatchObject(okPa(0x40_0678n));
    cpu.setControl({ cr4: CR4_PAE });
    cpu.setControl({ cr4: CR4_PAE | CR4_PGE });
    expect(cpu.access(gva, R0)).toMatchObject(okPa(0x50_0678n));
  });
  it('G without CR4.PGE is not global', () => {
    const { cpu, t } = long();
    const gpte = t.map(VA, 0x40_0000n, P | RW | US | G);
    cpu.access(VA, R0);
    t.write(gpte, 0x50_0000n | P | RW | US | G);
    cpu.setControl({ cr3: ROOT });
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x50_0678n));
  });
  it("PCIDs keep entries apart; CR3 bit 63 keeps the new PCID's entries", () => {
    const { m, cpu } = long();
    const t1 = new Tables(m, '4level', 0x1000n);
    const t2 = new Tables(m, '4level', 0x2000n);
    (t2 as unknown as { nextTable: bigint }).nextTable = 0x40_0000n;
    const pte1 = t1.map(VA, 0x20_0000n);
    t2.map(VA, 0x30_0000n);
    cpu.setControl({ cr4: CR4_PAE | CR4_PCIDE });
    cpu.setControl({ cr3: 0x1000n | 1n });
    expect(cpu.pcid).toBe(1);
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x20_0678n));
    cpu.setControl({ cr3: 0x2000n | 2n });
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x30_0678n));
    t1.write(pte1, 0x60_0000n | P | RW | US);
    cpu.setControl({ cr3: (1n << 63n) | 0x1000n | 1n });
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x20_0678n)); // PCID 1's entry was kept
    expect(cpu.getControl().cr3 >> 63n).toBe(0n); // bit 63 is not stored
    cpu.setControl({ cr3: 0x1000n | 1n });
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x60_0678n));
  });
  it('CR3 bit 63 with PCIDE: a reload of the same PCID does not flush', () => {
    const { cpu, t } = long();
    cpu.setControl({ cr4: CR4_PAE | CR4_PCIDE });
    const pte = t.map(VA, 0x20_0000n);
    cpu.access(VA, R0);
    t.write(pte, 0x30_0000n | P | RW | US);
    cpu.setControl({ cr3: ROOT | (1n << 63n) });
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x20_0678n));
    cpu.setControl({ cr3: ROOT });
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x30_0678n));
  });

  /** PCIDE on; VA (non-global) and GVA (global) cached in PCID 5, then both PTEs changed. */
  function invpcidSetup() {
    const s = long({}, { cr4: CR4_PGE });
    s.cpu.setControl({ cr4: CR4_PAE | CR4_PGE | CR4_PCIDE });
    s.cpu.setControl({ cr3: ROOT | 5n });
    const gva = VA + 0x1000n,
      v2 = VA + 0x2000n;
    const pte = s.t.map(VA, 0x20_0000n),
      gpte = s.t.map(gva, 0x40_0000n, P | RW | US | G),
      pte2 = s.t.map(v2, 0x60_0000n);
    for (const v of [VA, gva, v2]) s.cpu.access(v, R0);
    s.t.write(pte, 0x30_0000n | P | RW | US);
    s.t.write(gpte, 0x50_0000n | P | RW | US | G);
    s.t.write(pte2, 0x70_0000n | P | RW | US);
    const seen = () =>
      [VA, gva, v2].map((v) => {
        const r = s.cpu.access(v, R0);
        return r.ok ? r.pa >> 20n : -1n;
      });
    return { ...s, gva, seen };
  }
  it('INVPCID type 0: one address in one PCID, not global entries', () => {
    const s = invpcidSetup();
    s.cpu.invpcid(0, 6, VA);
    expect(s.seen()).toEqual([2n, 4n, 6n]); // other PCID: nothing
    s.cpu.invpcid(0, 5, s.gva);
    expect(s.seen()).toEqual([2n, 4n, 6n]); // global entry stays
    s.cpu.invpcid(0, 5, VA);
    expect(s.seen()).toEqual([3n, 4n, 6n]);
  });
  it('INVPCID type 1: all non-global entries of the PCID', () => {
    const s = invpcidSetup();
    s.cpu.invpcid(1, 5);
    expect(s.seen()).toEqual([3n, 4n, 7n]);
  });
  it('INVPCID type 2: everything including global', () => {
    const s = invpcidSetup();
    s.cpu.invpcid(2, 0);
    expect(s.seen()).toEqual([3n, 5n, 7n]);
  });
  it('INVPCID type 3: everything but global', () => {
    const s = invpcidSetup();
    s.cpu.invpcid(3, 0);
    expect(s.seen()).toEqual([3n, 4n, 7n]);
  });
  it('INVPCID #GP cases: type > 3, PCID ≠ 0 with PCIDE = 0 (types 0/1), non-canonical address (type 0)', () => {
    const { cpu } = long();
    expect(() => cpu.invpcid(4 as 0, 0)).toThrow(expect.objectContaining({ code: 'EGP' }));
    expect(() => cpu.invpcid(0, 1, VA)).toThrow(expect.objectContaining({ code: 'EGP' }));
    expect(() => cpu.invpcid(1, 1)).toThrow(expect.objectContaining({ code: 'EGP' }));
    expect(() => cpu.invpcid(0, 0, 0x8000_0000_0000n)).toThrow(expect.objectContaining({ code: 'EGP' }));
    expect(() => cpu.invpcid(2, 0)).not.toThrow();
  });
  it("a #PF invalidates the faulting address's TLB entry", () => {
    const { cpu, t } = long();
    const pte = t.map(VA, 0x20_0000n, P | US);
    expect(cpu.access(VA, R3)).toMatchObject(okPa(0x20_0678n));
    t.write(pte, 0x30_0000n | P | US | A);
    expect(cpu.access(VA, R3)).toMatchObject(okPa(0x20_0678n)); // stale
    expect(cpu.access(VA, W3)).toMatchObject(pf(PF_P | PF_W | PF_U, VA));
    expect(cpu.access(VA, R3)).toMatchObject(okPa(0x30_0678n));
  });
  it('a write hit on a clean (D = 0) entry re-walks and sets D', () => {
    const { m, cpu, t } = long();
    const pte = t.map(VA, 0x20_0000n);
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x20_0678n));
    t.write(pte, 0x30_0000n | P | RW | US | A);
    cpu.resetStats();
    expect(cpu.access(VA, W0)).toMatchObject(okPa(0x30_0678n));
    expect(cpu.stats.walks).toBe(1);
    expect(m.phys.read64(pte)).toBe(0x30_0000n | P | RW | US | A | D);
    cpu.resetStats();
    expect(cpu.access(VA, W0)).toMatchObject(okPa(0x30_0678n));
    expect(cpu.stats).toMatchObject({ walks: 0, tlbHits: 1 });
  });
  it("stale loosened permissions: 'fault' gives one spurious #PF then succeeds", () => {
    const { cpu, t } = long({ stalePermission: 'fault' });
    const pte = t.map(VA, 0x20_0000n, P | US);
    cpu.access(VA, R3);
    t.write(pte, 0x20_0000n | P | RW | US | A);
    expect(cpu.access(VA, W3)).toMatchObject(pf(PF_P | PF_W | PF_U, VA));
    expect(cpu.access(VA, W3)).toMatchObject(okPa(0x20_0678n));
  });
  it("stale loosened permissions: 'rewalk' succeeds at once (AMD default)", () => {
    const { cpu, t } = long({ vendor: 'amd' });
    const pte = t.map(VA, 0x20_0000n, P | US);
    cpu.access(VA, R3);
    t.write(pte, 0x20_0000n | P | RW | US | A);
    expect(cpu.access(VA, W3)).toMatchObject(okPa(0x20_0678n));
  });
  it('INVLPG drops every 4K slot of a large page', () => {
    const { cpu, t } = long();
    const pde = t.map(VA, 0x20_0000n, P | RW | US, 2);
    cpu.access(VA, R0);
    cpu.access(VA + 0x5000n, R0);
    t.write(pde, 0x40_0000n | P | RW | US | PS);
    cpu.invlpg((VA & ~0x1f_ffffn) + 0x10_0000n);
    expect(cpu.access(VA + 0x5000n, R0)).toMatchObject(okPa(0x40_0000n | ((VA + 0x5000n) & 0x1f_ffffn)));
  });
});

describe('paging-structure caches and statistics', () => {
  it('a warm PDE cache makes a 4-level walk read one entry', () => {
    const { cpu, t } = long();
    t.map(VA, 0x20_0000n);
    t.map(VA + 0x1000n, 0x30_0000n);
    cpu.access(VA, R0);
    cpu.resetStats();
    expect(cpu.access(VA + 0x1000n, R0)).toMatchObject(okPa(0x30_0678n));
    expect(cpu.stats).toMatchObject({ walks: 1, memRefs: 1, pscHits: 1, tlbMisses: 1 });
  });
  it('a stale PDE-cache entry is used until INVLPG (of any address) flushes the PSC', () => {
    const { cpu, t } = long();
    t.map(VA, 0x20_0000n);
    t.map(VA + 0x1000n, 0x21_0000n);
    t.map(VA + 0x2000n, 0x22_0000n);
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x20_0678n)); // caches the PDE → PT
    const pde = t.entry(VA, 2);
    t.write(pde, 0x7f_0000n | P | RW | US); // a new page table, all zero: not present
    expect(cpu.access(VA + 0x1000n, R0)).toMatchObject(okPa(0x21_0678n)); // walked from the cached PDE
    cpu.invlpg(0x1234_5000n); // unrelated address: still flushes all PSC entries of the PCID (SDM 4.10.4.1)
    expect(cpu.access(VA + 0x2000n, R0)).toMatchObject(pf(0, VA + 0x2000n));
  });
  it('a #PF and a CR3 write flush the paging-structure caches of the PCID', () => {
    const { cpu, t } = long();
    t.map(VA, 0x20_0000n);
    t.map(VA + 0x1000n, 0x21_0000n, P | RW);
    t.map(VA + 0x2000n, 0x22_0000n);
    t.map(VA + 0x3000n, 0x23_0000n);
    cpu.access(VA, R0);
    t.write(t.entry(VA, 2), 0x7f_0000n | P | RW | US);
    expect(cpu.access(VA + 0x1000n, R3)).toMatchObject(pf(PF_P | PF_U, VA + 0x1000n)); // via the cached PDE
    expect(cpu.access(VA + 0x2000n, R0)).toMatchObject(pf(0, VA + 0x2000n)); // the #PF flushed the PSC
    const b = long();
    b.t.map(VA, 0x20_0000n);
    b.t.map(VA + 0x3000n, 0x23_0000n);
    b.cpu.access(VA, R0);
    b.t.write(b.t.entry(VA, 2), 0x7f_0000n | P | RW | US);
    b.cpu.setControl({ cr3: ROOT });
    expect(b.cpu.access(VA + 0x3000n, R0)).toMatchObject(pf(0, VA + 0x3000n));
  });
  it('changing CR4.SMEP flushes the TLB', () => {
    const { cpu, t } = long();
    const pte = t.map(VA, 0x20_0000n);
    cpu.access(VA, R0);
    t.write(pte, 0x30_0000n | P | RW | US);
    cpu.setControl({ cr4: CR4_PAE | CR4_SMEP });
    expect(cpu.access(VA, R0)).toMatchObject(okPa(0x30_0678n));
  });
  it('with PSC off the same walk reads four entries', () => {
    const { cpu, t } = long({ psc: false });
    t.map(VA, 0x20_0000n);
    t.map(VA + 0x1000n, 0x30_0000n);
    cpu.access(VA, R0);
    cpu.resetStats();
    cpu.access(VA + 0x1000n, R0);
    expect(cpu.stats).toMatchObject({ walks: 1, memRefs: 4, pscHits: 0 });
  });
  it('configure({ tlb: false }) makes every access walk', () => {
    const { cpu, t } = long();
    cpu.configure({ tlb: false, psc: false });
    t.map(VA, 0x20_0000n);
    cpu.access(VA, R0);
    cpu.resetStats();
    cpu.access(VA, R0);
    expect(cpu.stats).toMatchObject({ walks: 1, memRefs: 4, tlbHits: 0 });
  });
});

describe('explain (stepping walk)', () => {
  it('a dry run reports the fault with CR2 = the faulting address, and leaves CR2 and memory alone', () => {
    const { m, cpu, t } = long();
    const pte = t.map(VA, 0x20_0000n, P | US);
    const before = m.phys.read64(t.entry(VA, 4));
    const x = cpu.explain(VA, { kind: 'write', cpl: 3, dryRun: true });
    expect(x.result).toMatchObject(pf(PF_P | PF_W | PF_U, VA));
    expect(x.steps.map((s) => s.decision)).toEqual(['next', 'next', 'next', 'denied']);
    expect(cpu.cr2).toBe(0n);
    expect(m.phys.read64(t.entry(VA, 4))).toBe(before);
    expect(m.phys.read64(pte) & A).toBe(0n);
  });
  it('32-bit paging without CR4.PSE ignores PS in a PDE, as access does', () => {
    const { m, cpu, t } = legacy({ pse36: false });
    cpu.setControl({ cr4: 0n });
    const va = 0x0040_3123n;
    t.map(va, 0x20_0000n);
    const pde = t.entry(va, 2); // references the page table at 0x100000: bit 20, reserved in a 4 MiB PDE
    m.phys.write32(pde, (m.phys.read32(pde) | 0x80) >>> 0);
    expect(cpu.access(va, R0)).toMatchObject(okPa(0x20_0123n));
    const x = cpu.explain(va, { kind: 'read', cpl: 0, dryRun: true });
    expect(x.result).toMatchObject(okPa(0x20_0123n));
    expect(x.steps.map((s) => s.decision)).toEqual(['next', 'leaf']);
  });
});

describe('paging off', () => {
  it('pa = the low 32 bits of va; nothing faults', () => {
    const m = machine();
    const cpu = m.cpus[0]!;
    expect(cpu.mode).toBe('none');
    expect(cpu.access(0xdead_beef_1234_5678n, W3)).toMatchObject(okPa(0x1234_5678n));
  });
});

describe('translateBatch', () => {
  it('agrees with access, one address at a time', () => {
    const build = (): Setup => {
      const s = long({}, { cr4: CR4_SMEP | CR4_SMAP, cr0: CR0_WP });
      s.t.map(VA, 0x20_0000n);
      s.t.map(VA + 0x1000n, 0x21_0000n, P | US);
      s.t.map(VA + 0x2000n, 0x22_0000n, P | RW | XD);
      s.t.map(VA + 0x20_0000n, 0x40_0000n, P | RW | US, 2);
      return s;
    };
    const vas = [VA, VA + 0x1000n, VA + 0x2000n, VA + 0x3000n, VA + 0x20_1234n, 0x8000_0000_0000n, VA, VA + 0x1000n];
    for (const cpl of [0, 3] as const) {
      for (const kind of [0, 1, 2]) {
        const a = build(),
          b = build();
        const out = { pa: new BigUint64Array(vas.length), fault: new Uint32Array(vas.length) };
        const kinds = new Uint8Array(vas.length).fill(kind);
        const faults = a.cpu.translateBatch(BigUint64Array.from(vas), kinds, out, { cpl, ac: false });
        let want = 0;
        vas.forEach((va, i) => {
          const r = b.cpu.access(va, { kind: (['read', 'write', 'exec'] as const)[kind]!, cpl, ac: false });
          const code = r.ok ? 0 : r.vector === 13 ? 13 << 16 : (14 << 16) | r.errorCode;
          if (code) want++;
          expect({ i, fault: out.fault[i], pa: r.ok ? out.pa[i] : undefined }).toEqual({ i, fault: code, pa: r.ok ? r.pa : undefined });
        });
        expect(faults).toBe(want);
        expect(a.m.phys.readBytes(0x10_0000n, 0x4000)).toEqual(b.m.phys.readBytes(0x10_0000n, 0x4000));
      }
    }
  });
});

describe('setControl validation', () => {
  const bad = (f: (cpu: Cpu) => void, re: RegExp) => {
    const cpu = machine().cpus[0]!;
    let err: unknown;
    try {
      f(cpu);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'EINVAL_CONTROL' });
    expect((err as Error).message).toMatch(re);
  };
  it('PG without PE', () => bad((c) => c.setControl({ cr0: CR0_PG }), /PE/));
  it('PG with LME but without PAE', () =>
    bad((c) => {
      c.setControl({ efer: EFER_LME });
      c.setControl({ cr0: CR0_PE | CR0_PG });
    }, /PAE/));
  it('LME changed while PG = 1', () =>
    bad((c) => {
      c.setControl({ cr4: CR4_PAE, cr3: ROOT });
      c.setControl({ cr0: CR0_PE | CR0_PG });
      c.setControl({ efer: EFER_LME });
    }, /LME/));
  it('PAE cleared while LMA = 1', () =>
    bad((c) => {
      c.setControl({ cr4: CR4_PAE, efer: EFER_LME, cr3: ROOT });
      c.setControl({ cr0: CR0_PE | CR0_PG });
      c.setControl({ cr4: 0n });
    }, /PAE/));
  it('LA57 changed while LMA = 1', () =>
    bad((c) => {
      c.setControl({ cr4: CR4_PAE, efer: EFER_LME, cr3: ROOT });
      c.setControl({ cr0: CR0_PE | CR0_PG });
      c.setControl({ cr4: CR4_PAE | CR4_LA57 });
    }, /LA57/));
  it('PCIDE without long mode', () => bad((c) => c.setControl({ cr4: CR4_PAE | CR4_PCIDE }), /PCIDE/));
  it('PCIDE with CR3[11:0] ≠ 0', () =>
    bad((c) => {
      c.setControl({ cr4: CR4_PAE, efer: EFER_LME, cr3: ROOT | 0x18n });
      c.setControl({ cr0: CR0_PE | CR0_PG });
      c.setControl({ cr4: CR4_PAE | CR4_PCIDE });
    }, /PCIDE|CR3/));
  it('CR3 bits at or above MAXPHYADDR', () => bad((c) => c.setControl({ cr3: 1n << 46n }), /CR3/));
  it('reserved CR4 bits', () => bad((c) => c.setControl({ cr4: 1n << 40n }), /CR4/));
  it('reserved EFER bits', () => bad((c) => c.setControl({ efer: 1n << 20n }), /EFER/));
  it('a valid sequence is accepted and getControl reads it back (LMA set by hardware)', () => {
    const { cpu } = long({}, { cr0: CR0_WP, cr4: CR4_SMEP });
    expect(cpu.mode).toBe('4level');
    expect(cpu.getControl()).toMatchObject({ cr0: CR0_PE | CR0_PG | CR0_WP, cr3: ROOT, cr4: CR4_PAE | CR4_SMEP });
    expect(cpu.getControl().efer & (1n << 10n)).toBe(1n << 10n);
  });
});
