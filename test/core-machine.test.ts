import { describe, it, expect } from 'vitest';
import { Machine, PagewalkError, FRAME_STATE } from '../src/index.js';

const LONG = { cr0: 0x8001_0001n, cr4: 0x20n, efer: 0xd00n };

function allZero(m: Machine): boolean {
  return m.phys.bytes.every((b) => b === 0);
}

describe('Machine.reset', () => {
  it('leaves all RAM zero after host writes, frame allocation, PTE operations and A/D updates', async () => {
    const m = await Machine.create({ ramBytes: 4 << 20 });
    m.phys.write64(0x3f_f000n, 0xdead_beefn); // near the top of RAM, far above any frame in use
    m.phys.fill(0x20_0000n, 64, 0xaa);
    const root = m.pageTables.newRoot('4level');
    m.pageTables.map('4level', root, 0x40_0000n, 0x10_0000n, 0x4000, { flags: 0x7n });
    const cpu = m.cpus[0];
    cpu.setControl({ ...LONG, cr3: root });
    expect(cpu.access(0x40_1000n, { kind: 'write', cpl: 3 }).ok).toBe(true); // sets A and D
    const pfn = m.frames.alloc({ zero: false });
    expect(allZero(m)).toBe(false);
    m.reset();
    expect(allZero(m)).toBe(true);
    expect(m.frames.state(pfn)).toBe(FRAME_STATE.FREE);
    expect(cpu.mode).toBe('none');
    expect(cpu.stats.walks).toBe(0);
  });

  it('reuses freed frames last-in first-out and bumps their generation', async () => {
    const m = await Machine.create({ ramBytes: 1 << 20 });
    const a = m.frames.alloc();
    const b = m.frames.alloc();
    const gen = m.frames.generation(a);
    m.frames.free(a);
    m.frames.free(b);
    expect(m.frames.generation(a)).toBe(gen + 1);
    expect(m.frames.alloc()).toBe(b);
    expect(m.frames.alloc()).toBe(a);
    expect(() => m.frames.free(12345)).toThrow(/outside RAM/);
    const c = m.frames.alloc();
    m.frames.free(c);
    expect(() => m.frames.free(c)).toThrow(expect.objectContaining({ code: 'EFRAME_STATE' }));
  });
});

describe('large machines', () => {
  it('2 GiB of RAM: frame table above 2^31, a 1 GiB mapping of 4 KiB pages, the last byte of RAM', async () => {
    const m = await Machine.create({ ramBytes: 2 ** 31 });
    expect(m.frames.count).toBe(2 ** 19);
    const root = m.pageTables.newRoot('4level');
    m.pageTables.map('4level', root, 0x40_0000_0000n, 0x1_0000_0000n, 2 ** 30, { flags: 0x3n });
    expect(m.frames.count - m.frames.freeCount).toBe(1 + 1 + 1 + 1 + 512); // frame 0, PML4, PDPT, PD, 512 PTs
    const cpu = m.cpus[0];
    cpu.setControl({ ...LONG, cr3: root });
    expect(cpu.access(0x40_3fff_f123n, { kind: 'write', cpl: 0 })).toEqual({ ok: true, pa: 0x1_3fff_f123n });
    expect(cpu.tlbEntries().map((e) => e.pa)).toEqual([0x1_3fff_f000n]);
    m.phys.write64(BigInt(2 ** 31 - 8), 0x1234n);
    expect(m.phys.read64(BigInt(2 ** 31 - 8))).toBe(0x1234n);
    expect(m.phys.read64(BigInt(2 ** 31))).toBe(0xffff_ffff_ffff_ffffn); // unbacked
  });
});

describe('input checks', () => {
  it('translateBatch names the first invalid access kind', async () => {
    const m = await Machine.create({ ramBytes: 1 << 20 });
    const vas = new BigUint64Array([0x1000n, 0x2000n, 0x3000n]);
    const out = { pa: new BigUint64Array(3), fault: new Uint32Array(3) };
    expect(() => m.cpus[0].translateBatch(vas, new Uint8Array([0, 7, 1]), out, { cpl: 0 })).toThrow('kinds[1] = 7');
  });

  it('Machine options are validated with the option named', async () => {
    await expect(Machine.create({ ramBytes: 12345 })).rejects.toThrow(/ramBytes 12345/);
    await expect(Machine.create({ cpus: 0 })).rejects.toThrow(/cpus 0/);
    await expect(Machine.create({ maxPhysAddrBits: 60 })).rejects.toThrow(/maxPhysAddrBits 60/);
    await expect(Machine.create({ tlb: { '4k': { sets: 3, ways: 4 } } })).rejects.toThrow(/tlb\.4k\.sets must be a power of two/);
    await expect(Machine.create({ vendor: 'via' as 'intel' })).rejects.toBeInstanceOf(PagewalkError);
  });

  it('setControl rejects architecturally invalid combinations with the reason', async () => {
    const cpu = (await Machine.create({ ramBytes: 1 << 20 })).cpus[0];
    expect(() => cpu.setControl({ cr0: 0x8000_0000n })).toThrow(/PG=1 requires CR0.PE=1/);
    expect(() => cpu.setControl({ cr0: 0x8000_0001n, efer: 0x100n })).toThrow(/requires CR4.PAE=1/);
    expect(() => cpu.setControl({ cr4: 1n << 17n })).toThrow(/PCIDE=1 requires IA-32e mode/);
    cpu.setControl({ ...LONG, cr3: 0x1000n });
    expect(() => cpu.setControl({ cr4: 0x20n | (1n << 12n) })).toThrow(/LA57 cannot change in IA-32e mode/);
    expect(() => cpu.setControl({ cr3: 1n << 50n })).toThrow(/MAXPHYADDR/);
  });
});

describe('tlbEntriesFor', () => {
  it('finds the entry of a page in a set other than 0, and only entries of that set', async () => {
    const m = await Machine.create({ ramBytes: 4 << 20 });
    const root = m.pageTables.newRoot('4level');
    m.pageTables.map('4level', root, 0x40_0000n, 0x10_0000n, 0x80_000, { flags: 0x7n });
    const cpu = m.cpus[0];
    cpu.setControl({ ...LONG, cr3: root });
    const va = 0x40_0000n + 0x4f_000n; // 4 KiB set 0x4f of 128
    expect(cpu.access(va, { kind: 'read', cpl: 3 }).ok).toBe(true);
    expect(cpu.access(0x40_0000n, { kind: 'read', cpl: 3 }).ok).toBe(true); // set 0
    expect(cpu.tlbEntriesFor(va).map((e) => e.va)).toEqual([va]);
    expect(cpu.tlbEntriesFor(0x40_0000n).map((e) => e.va)).toEqual([0x40_0000n]);
  });

  it('decodes a kernel (sign-extended) address, its frame, PCID and rights', async () => {
    const m = await Machine.create({ ramBytes: 4 << 20 });
    const root = m.pageTables.newRoot('4level');
    const va = 0xffff_8880_0012_3000n;
    m.pageTables.map('4level', root, va, 0x20_0000n, 0x1000, { flags: 0x3n | (1n << 63n) }); // RW, NX
    const cpu = m.cpus[0];
    cpu.setControl({ ...LONG, cr3: root }); // EFER.NXE on
    expect(cpu.access(va + 8n, { kind: 'read', cpl: 0 }).ok).toBe(true);
    expect(cpu.tlbEntries()).toEqual([
      { va, pa: 0x20_0000n, pageSize: 4096, pcid: 0, writable: true, user: false, nx: true, dirty: false, global: false, pkey: 0 },
    ]);
  });
});
