/**
 * Xen PV validation (src/xen): pinning, writable-alias refusal with Xen's exact log lines,
 * type changes only at type count zero, the linear page-table rule, and the TLB flush Xen
 * performs on a type change. Page tables are built by hand in the machine's RAM.
 */
import { describe, expect, it, beforeEach } from 'vitest';
import { Machine } from '../src/index.js';
import {
  XenHypervisor,
  MMUEXT_PIN_L1_TABLE,
  MMUEXT_PIN_L4_TABLE,
  MMUEXT_UNPIN_TABLE,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_TLB_FLUSH_ALL,
  MMUEXT_NEW_USER_BASEPTR,
  MMUEXT_SET_LDT,
  PGT_seg_desc_page,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_l4_page_table,
  PGT_writable_page,
  PRtype_info,
} from '../src/xen/index.js';

const P = 1n;
const RW = 2n;
const hex = (n: number): string => n.toString(16);
const pte = (pfn: number, flags: bigint): bigint => (BigInt(pfn) << 12n) | flags;

let m: Machine;
let xen: XenHypervisor;

function setEntry(table: number, index: number, value: bigint): void {
  m.phys.write64n(table * 4096 + index * 8, value);
}

/** L4[0] -> L3[0] -> L2[0] -> L1, with L1[0] mapping `data` read-write (va 0). */
function buildChain(): { l4: number; l3: number; l2: number; l1: number; data: number } {
  const [l4, l3, l2, l1, data] = [4, 3, 2, 1, 0].map((level) => m.frames.alloc({ level }));
  setEntry(l4, 0, pte(l3, P | RW));
  setEntry(l3, 0, pte(l2, P | RW));
  setEntry(l2, 0, pte(l1, P | RW));
  setEntry(l1, 0, pte(data, P | RW));
  return { l4, l3, l2, l1, data };
}

function pin(level: number, mfn: number, vcpu = 0): number {
  return xen.mmuext_op(vcpu, [{ cmd: MMUEXT_PIN_L1_TABLE + level - 1, mfn }]).rc;
}

describe('Xen PV page-table validation', () => {
  beforeEach(async () => {
    m = await Machine.create({ ramBytes: 16 * 2 ** 20, cpus: 2 });
    xen = new XenHypervisor(m, { domid: 1 });
  });

  it('pins a valid L4 and types every table below it, taking writable refs for RW leaves', () => {
    const t = buildChain();
    setEntry(t.l1, 1, pte(t.l1, P)); // a read-only view of the L1 itself is allowed
    expect(pin(4, t.l4)).toBe(0);
    expect(xen.console.text()).toEqual([]);
    expect(xen.typeOf(t.l4)).toEqual({ type: PGT_l4_page_table, count: 1, validated: true, pinned: true });
    expect(xen.typeOf(t.l3)).toEqual({ type: PGT_l3_page_table, count: 1, validated: true, pinned: false });
    expect(xen.typeOf(t.l2)).toEqual({ type: PGT_l2_page_table, count: 1, validated: true, pinned: false });
    expect(xen.typeOf(t.l1)).toEqual({ type: PGT_l1_page_table, count: 1, validated: true, pinned: false });
    expect(xen.typeOf(t.data)).toEqual({ type: PGT_writable_page, count: 1, validated: true, pinned: false });
    expect(PRtype_info(xen.mm.pages.typeInfo[t.data])).toBe('7400000000000001');
    expect(PRtype_info(xen.mm.pages.typeInfo[t.l4])).toBe('4c00000000000001');
    // NEW_BASEPTR takes a second root reference and loads CR3.
    expect(xen.mmuext_op(1, [{ cmd: MMUEXT_NEW_BASEPTR, mfn: t.l4 }]).rc).toBe(0);
    expect(xen.typeOf(t.l4).count).toBe(2);
    expect(m.cpus[1].getControl().cr3).toBe(BigInt(t.l4) << 12n);
    // Unpinning drops one reference; the base pointer keeps the table validated.
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_UNPIN_TABLE, mfn: t.l4 }]).rc).toBe(0);
    expect(xen.typeOf(t.l4)).toEqual({ type: PGT_l4_page_table, count: 1, validated: true, pinned: false });
  });

  it('refuses to pin a table whose L1 maps a page table writable, with Xen 4.1 log lines', () => {
    const t = buildChain();
    setEntry(t.l1, 1, pte(t.l1, P | RW)); // writable alias of the L1 itself
    const res = xen.mmuext_op(0, [{ cmd: MMUEXT_PIN_L4_TABLE, mfn: t.l4 }]);
    expect(res.rc).toBe(-22);
    const [l1, l2, l3, l4] = [t.l1, t.l2, t.l3, t.l4].map(hex);
    const l1e = pte(t.l1, P | RW)
      .toString(16)
      .padStart(16, '0');
    expect(xen.console.text()).toEqual([
      `(XEN) mm.c:2389:d1 Bad type (saw 1000000000000001 != exp 7000000000000000) for mfn ${l1} (pfn ${l1})`,
      `(XEN) mm.c:889:d1 Error getting mfn ${l1} (pfn ${l1}) from L1 entry ${l1e} for l1e_owner=1, pg_owner=1`,
      `(XEN) mm.c:1204:d1 Failure in alloc_l1_table: entry 1`,
      `(XEN) mm.c:2142:d1 Error while validating mfn ${l1} (pfn ${l1}) for type 1000000000000000: caf=8000000000000002 taf=1000000000000001`,
      `(XEN) mm.c:897:d1 Attempt to create linear p.t. with write perms`,
      `(XEN) mm.c:1348:d1 Failure in alloc_l2_table: entry 0`,
      `(XEN) mm.c:2142:d1 Error while validating mfn ${l2} (pfn ${l2}) for type 2000000000000000: caf=8000000000000002 taf=2000000000000001`,
      `(XEN) mm.c:939:d1 Attempt to create linear p.t. with write perms`,
      `(XEN) mm.c:1458:d1 Failure in alloc_l3_table: entry 0`,
      `(XEN) mm.c:2142:d1 Error while validating mfn ${l3} (pfn ${l3}) for type 3000000000000000: caf=8000000000000002 taf=3000000000000001`,
      `(XEN) mm.c:964:d1 Attempt to create linear p.t. with write perms`,
      `(XEN) mm.c:1505:d1 Failure in alloc_l4_table: entry 0`,
      `(XEN) mm.c:2142:d1 Error while validating mfn ${l4} (pfn ${l4}) for type 4000000000000000: caf=8000000000000002 taf=4000000000000001`,
      `(XEN) mm.c:2965:d1 Error while pinning mfn ${l4}`,
    ]);
    expect(xen.refusals).toHaveLength(1);
    expect(xen.refusals[0].request).toBe(`MMUEXT_PIN_L4_TABLE mfn ${l4}`);
    // Everything was rolled back: no type references, only the allocation reference left.
    for (const f of [t.l4, t.l3, t.l2, t.l1, t.data]) {
      expect(xen.mm.pages.typeCount(f)).toBe(0);
      expect(xen.mm.pages.refCount(f)).toBe(1);
    }
  });

  it("prints seed 001's type words digit for digit (d80, one and sixteen writable aliases)", () => {
    xen = new XenHypervisor(m, { domid: 80 });
    const t = buildChain();
    const alias1 = m.frames.alloc();
    const alias16 = m.frames.alloc();
    setEntry(t.l1, 1, pte(alias1, P | RW));
    for (let i = 0; i < 16; i++) setEntry(t.l1, 2 + i, pte(alias16, P | RW));
    expect(pin(4, t.l4)).toBe(0);
    const mark = xen.console.lines.length;
    // set_pgd on the pinned pgd: the new pud is a frame still mapped writable.
    const r = xen.mmu_update(0, [{ ptr: BigInt(t.l4 * 4096 + 8), val: pte(alias1, P | RW) }]);
    expect(r.rc).toBe(-22);
    // The pte page of the new process is pinned as L1 while mapped writable 16 times.
    expect(pin(1, alias16)).toBe(-22);
    expect(xen.console.since(mark)).toEqual([
      `(XEN) mm.c:2389:d80 Bad type (saw 7400000000000001 != exp 3000000000000000) for mfn ${hex(alias1)} (pfn ${hex(alias1)})`,
      `(XEN) mm.c:964:d80 Attempt to create linear p.t. with write perms`,
      `(XEN) mm.c:2389:d80 Bad type (saw 7400000000000010 != exp 1000000000000000) for mfn ${hex(alias16)} (pfn ${hex(alias16)})`,
      `(XEN) mm.c:2965:d80 Error while pinning mfn ${hex(alias16)}`,
    ]);
    // The refused L4 update left the entry untouched.
    expect(m.phys.read64n(t.l4 * 4096 + 8)).toBe(0n);
  });

  it('prints guest pfns from the m2p when the p2m is shuffled', () => {
    xen = new XenHypervisor(m, { domid: 3, p2m: { kind: 'shuffled', seed: 7 } });
    const t = buildChain();
    setEntry(t.l1, 1, pte(t.l1, P | RW));
    pin(1, t.l1);
    const pfn = xen.p2m.mfnToPfn(t.l1);
    expect(pfn).not.toBe(t.l1);
    expect(xen.p2m.pfnToMfn(pfn)).toBe(t.l1);
    expect(xen.console.text()[0]).toBe(`(XEN) mm.c:2389:d3 Bad type (saw 1000000000000001 != exp 7000000000000000) for mfn ${hex(t.l1)} (pfn ${hex(pfn)})`);
  });

  it('changes a frame type only when its type count is zero', () => {
    const t = buildChain();
    const other = m.frames.alloc({ level: 1 });
    setEntry(t.l2, 1, pte(other, P | RW)); // `other` becomes an L1 (validated, count 1)
    expect(pin(4, t.l4)).toBe(0);
    expect(xen.typeOf(other)).toMatchObject({ type: PGT_l1_page_table, count: 1 });
    // A writable mapping of `other` is refused while it is counted as an L1 ...
    const rw = { ptr: BigInt(t.l1 * 4096 + 5 * 8), val: pte(other, P | RW) };
    expect(xen.mmu_update(0, [rw]).rc).toBe(-22);
    expect(xen.console.text()[0]).toBe(`(XEN) mm.c:2389:d1 Bad type (saw 1400000000000001 != exp 7000000000000000) for mfn ${hex(other)} (pfn ${hex(other)})`);
    // ... a read-only one is fine (only a general reference) ...
    expect(xen.mmu_update(0, [{ ...rw, val: pte(other, P) }]).rc).toBe(0);
    // ... and once the L2 no longer references it, the type count is zero and it may become writable.
    expect(xen.mmu_update(0, [{ ptr: BigInt(t.l2 * 4096 + 8), val: 0n }]).rc).toBe(0);
    expect(xen.typeOf(other)).toMatchObject({ type: PGT_l1_page_table, count: 0, validated: false });
    expect(xen.mmu_update(0, [rw]).rc).toBe(0);
    expect(xen.typeOf(other)).toEqual({ type: PGT_writable_page, count: 1, validated: true, pinned: false });
    // Now pinning it as an L1 is refused: the type count is not zero.
    expect(pin(1, other)).toBe(-22);
    expect(xen.console.text().slice(-2)).toEqual([
      `(XEN) mm.c:2389:d1 Bad type (saw 7400000000000001 != exp 1000000000000000) for mfn ${hex(other)} (pfn ${hex(other)})`,
      `(XEN) mm.c:2965:d1 Error while pinning mfn ${hex(other)}`,
    ]);
  });

  it('applies the linear page-table rule: read-only root self-maps and validated peers only', () => {
    const t = buildChain();
    setEntry(t.l4, 511, pte(t.l4, P)); // read-only self map: allowed, no extra count
    expect(pin(4, t.l4)).toBe(0);
    expect(xen.typeOf(t.l4).count).toBe(1);
    // A second root mapping the first read-only: the first's type count goes up.
    const other = m.frames.alloc({ level: 4 });
    setEntry(other, 510, pte(t.l4, P));
    expect(pin(4, other)).toBe(0);
    expect(xen.typeOf(t.l4).count).toBe(2);
    expect(xen.console.text()).toEqual([]);
    // Unpinning the second root drops that linear reference again.
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_UNPIN_TABLE, mfn: other }]).rc).toBe(0);
    expect(xen.typeOf(t.l4).count).toBe(1);
    expect(xen.typeOf(other).count).toBe(0);
    // The same self map with write permission is refused.
    const rwSelf = m.frames.alloc({ level: 4 });
    setEntry(rwSelf, 509, pte(rwSelf, P | RW));
    expect(pin(4, rwSelf)).toBe(-22);
    expect(xen.console.text()).toEqual([
      `(XEN) mm.c:964:d1 Attempt to create linear p.t. with write perms`,
      `(XEN) mm.c:1505:d1 Failure in alloc_l4_table: entry 509`,
      `(XEN) mm.c:2142:d1 Error while validating mfn ${hex(rwSelf)} (pfn ${hex(rwSelf)}) for type 4000000000000000: caf=8000000000000002 taf=4000000000000001`,
      `(XEN) mm.c:2965:d1 Error while pinning mfn ${hex(rwSelf)}`,
    ]);
    // Xen's private L4 slots (256..271) are not validated.
    const priv = m.frames.alloc({ level: 4 });
    setEntry(priv, 256, pte(priv, P | RW));
    expect(pin(4, priv)).toBe(0);
  });

  it("installs Xen's own L4 slots after validation and refuses guest updates to them (alloc_l4_table, is_guest_l4_slot)", async () => {
    const t = buildChain();
    setEntry(t.l4, 256, pte(t.l3, P | RW)); // the guest's value in Xen's read-only m2p slot
    setEntry(t.l4, 258, pte(t.l3, P | RW)); // and in the linear page-table slot
    expect(pin(4, t.l4)).toBe(0);
    expect(m.phys.read64n(t.l4 * 4096 + 256 * 8)).toBe(0n);
    expect(m.phys.read64n(t.l4 * 4096 + 258 * 8)).toBe(pte(t.l4, 0x63n)); // __PAGE_HYPERVISOR
    expect(m.phys.read64n(t.l4 * 4096 + 260 * 8)).toBe(0n); // no Xen frame for a per-domain L3
    expect(xen.typeOf(t.l3)).toMatchObject({ type: PGT_l3_page_table, count: 1 });
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_NEW_BASEPTR, mfn: t.l4 }]).rc).toBe(0);
    const cpu = m.cpus[0];
    cpu.setControl({ cr4: 0x20n, efer: 0x100n, cr0: 0x80000001n });
    expect(cpu.access(0n, { kind: 'read', cpl: 0 }).ok).toBe(true);
    expect(cpu.access(0xffff800000000000n, { kind: 'read', cpl: 0 }).ok).toBe(false);
    // mod_l4_entry: a guest update of a Xen slot is refused.
    const pa = t.l4 * 4096 + 256 * 8;
    expect(xen.mmu_update(0, [{ ptr: BigInt(pa), val: pte(t.l3, P) }]).rc).toBe(-22);
    expect(xen.console.text()).toEqual([`(XEN) mm.c:1959:d1 Illegal L4 update attempt in Xen-private area ${hex(pa)}`]);
    expect(m.phys.read64n(pa)).toBe(0n);
    // With a frame of its own, Xen maps the per-domain L3 there.
    const m2 = await Machine.create({ ramBytes: 4 * 2 ** 20, cpus: 1 });
    const perdomain = m2.frames.alloc();
    const l4 = m2.frames.alloc({ level: 4 });
    const xen2 = new XenHypervisor(m2, { domid: 1, xenFrames: [perdomain] });
    expect(xen2.mmuext_op(0, [{ cmd: MMUEXT_PIN_L4_TABLE, mfn: l4 }]).rc).toBe(0);
    expect(m2.phys.read64n(l4 * 4096 + 260 * 8)).toBe(pte(perdomain, 0x63n));
    expect(xen2.mmuext_op(0, [{ cmd: MMUEXT_UNPIN_TABLE, mfn: l4 }]).rc).toBe(0);
    expect(xen2.typeOf(perdomain)).toMatchObject({ count: 0 });
  });

  it('accepts MMU_MACHPHYS_UPDATE for a frame the domain owns and refuses it for one it does not', async () => {
    const f = m.frames.alloc();
    expect(xen.mmu_update(0, [{ ptr: (BigInt(f) << 12n) | 1n, val: 0x1234n }]).rc).toBe(0);
    expect(xen.p2m.mfnToPfn(f)).toBe(0x1234);
    expect(xen.console.text()).toEqual([]);
    const m2 = await Machine.create({ ramBytes: 4 * 2 ** 20, cpus: 1 });
    const own = m2.frames.alloc();
    const xen2 = new XenHypervisor(m2, { domid: 1, xenFrames: [own] });
    expect(xen2.mmu_update(0, [{ ptr: (BigInt(own) << 12n) | 1n, val: 5n }])).toEqual({ rc: -22, done: 0 });
    expect(xen2.console.text()).toEqual([
      `(XEN) mm.c:658:d1 Could not get page ref for pfn ${hex(own)}`,
      `(XEN) mm.c:3621:d1 Could not get page for mach->phys update`,
    ]);
  });

  it('installs a separate user L4 (MMUEXT_NEW_USER_BASEPTR) that the CPU uses in guest user mode', () => {
    const t = buildChain();
    expect(pin(4, t.l4)).toBe(0);
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_NEW_BASEPTR, mfn: t.l4 }]).rc).toBe(0);
    const US = 4n;
    const [u4, u3, u2, u1, udata] = [4, 3, 2, 1, 0].map((level) => m.frames.alloc({ level }));
    setEntry(u4, 0, pte(u3, P | RW | US));
    setEntry(u3, 0, pte(u2, P | RW | US));
    setEntry(u2, 0, pte(u1, P | RW | US));
    setEntry(u1, 0, pte(udata, P | RW | US));
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_NEW_USER_BASEPTR, mfn: u4 }]).rc).toBe(0);
    expect(xen.typeOf(u4)).toMatchObject({ type: PGT_l4_page_table, count: 1, validated: true });
    expect(xen.guestTableUser[0]).toBe(u4);
    const cpu = m.cpus[0];
    cpu.setControl({ cr4: 0x20n, efer: 0x100n, cr0: 0x80000001n });
    expect(xen.user_access(0, () => cpu.access(0n, { kind: 'write', cpl: 3 }))).toEqual({ ok: true, pa: BigInt(udata) << 12n });
    expect(cpu.access(0n, { kind: 'write', cpl: 0 })).toEqual({ ok: true, pa: BigInt(t.data) << 12n });
    // An L1 cannot become a root table: Xen's two log lines.
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_NEW_USER_BASEPTR, mfn: t.l1 }]).rc).toBe(-22);
    expect(xen.console.text()[1]).toBe(`(XEN) mm.c:3057:d1 Error while installing new mfn ${hex(t.l1)}`);
    expect(xen.console.text()[0]).toContain('Bad type');
    expect(xen.guestTableUser[0]).toBe(u4);
    // mfn 0 drops the user table and its reference.
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_NEW_USER_BASEPTR, mfn: 0 }]).rc).toBe(0);
    expect(xen.typeOf(u4)).toMatchObject({ count: 0 });
  });

  it('validates and records MMUEXT_SET_LDT, typing LDT page 0 as a segment-descriptor page', () => {
    const t = buildChain();
    expect(pin(4, t.l4)).toBe(0);
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_NEW_BASEPTR, mfn: t.l4 }]).rc).toBe(0);
    for (const [va, ents] of [
      [0x1001n, 16],
      [0xffff800000000000n, 16],
      [0n, 8193],
    ] as const) {
      expect(xen.mmuext_op(0, [{ cmd: MMUEXT_SET_LDT, linearAddr: va, nrEnts: ents }]).rc).toBe(-22);
    }
    expect(xen.console.text()).toEqual([
      '(XEN) mm.c:3160:d1 Bad args to SET_LDT: ptr=1001, ents=10',
      '(XEN) mm.c:3160:d1 Bad args to SET_LDT: ptr=ffff800000000000, ents=10',
      '(XEN) mm.c:3160:d1 Bad args to SET_LDT: ptr=0, ents=2001',
    ]);
    // A writable-mapped LDT page is recorded but not mapped: the seg-desc type is refused.
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_SET_LDT, linearAddr: 0n, nrEnts: 16 }]).rc).toBe(0);
    expect(xen.ldt[0]).toMatchObject({ base: 0n, ents: 16, shadow: [] });
    expect(xen.console.text()[3]).toContain('Bad type');
    // Read-only, it is typed PGT_seg_desc_page until the LDT changes.
    expect(xen.mmu_update(0, [{ ptr: BigInt(t.l1 * 4096), val: pte(t.data, P) }]).rc).toBe(0);
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_SET_LDT, linearAddr: 0n, nrEnts: 32 }]).rc).toBe(0);
    expect(xen.typeOf(t.data)).toMatchObject({ type: PGT_seg_desc_page, count: 1 });
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_SET_LDT, linearAddr: 0n, nrEnts: 0 }]).rc).toBe(0);
    expect(xen.typeOf(t.data)).toMatchObject({ count: 0 });
  });

  it('flushes stale TLB entries itself when a frame changes from writable to page table', () => {
    const t = buildChain();
    expect(pin(4, t.l4)).toBe(0);
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_NEW_BASEPTR, mfn: t.l4 }]).rc).toBe(0);
    const cpu = m.cpus[0];
    cpu.setControl({ cr4: 0x20n, efer: 0x100n, cr0: 0x80000001n });
    expect(cpu.access(0n, { kind: 'write', cpl: 0 })).toEqual({ ok: true, pa: BigInt(t.data) << 12n });
    // Clear the PTE without any flush: the TLB keeps the translation (a stale entry).
    expect(xen.mmu_update(0, [{ ptr: BigInt(t.l1 * 4096), val: 0n }]).rc).toBe(0);
    expect(xen.typeOf(t.data)).toMatchObject({ type: PGT_writable_page, count: 0 });
    expect(cpu.access(0n, { kind: 'write', cpl: 0 })).toEqual({ ok: true, pa: BigInt(t.data) << 12n });
    // Pinning the frame as an L1 changes its type: Xen flushes the TLBs that may map it.
    const before = xen.stats.typeChangeFlushes;
    expect(pin(1, t.data)).toBe(0);
    expect(xen.stats.typeChangeFlushes).toBe(before + 1);
    const r = cpu.access(0n, { kind: 'write', cpl: 0 });
    expect(r.ok).toBe(false);
  });

  it('skips the type-change flush when every CPU flushed after the frame lost its last mapping', () => {
    const t = buildChain();
    expect(pin(4, t.l4)).toBe(0);
    expect(xen.mmu_update(0, [{ ptr: BigInt(t.l1 * 4096), val: 0n }]).rc).toBe(0);
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_TLB_FLUSH_ALL }]).rc).toBe(0);
    const before = xen.stats.typeChangeFlushes;
    expect(pin(1, t.data)).toBe(0);
    expect(xen.stats.typeChangeFlushes).toBe(before);
  });

  it('runs multicall entries independently and update_va_mapping through the current tables', () => {
    const t = buildChain();
    expect(pin(4, t.l4)).toBe(0);
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_NEW_BASEPTR, mfn: t.l4 }]).rc).toBe(0);
    const target = m.frames.alloc();
    const results = xen.multicall(0, [
      { op: 'update_va_mapping', va: 0x1000n, val: pte(target, P | RW), flags: 0 },
      { op: 'update_va_mapping', va: 0x2000n, val: pte(t.l2, P | RW), flags: 0 }, // writable alias of an L2
      { op: 'mmuext_op', ops: [{ cmd: MMUEXT_TLB_FLUSH_ALL }] },
    ]);
    expect(results).toEqual([0, -22, 0]);
    expect(m.phys.read64n(t.l1 * 4096 + 8)).toBe(pte(target, P | RW));
    expect(m.phys.read64n(t.l1 * 4096 + 16)).toBe(0n);
    expect(xen.typeOf(target)).toMatchObject({ type: PGT_writable_page, count: 1 });
    expect(xen.refusals.map((r) => r.hypercall)).toEqual(['update_va_mapping']);
  });

  it('emulates only kernel write faults through a read-only pte to a validated L1 (ptwr); other stores fault', () => {
    const t = buildChain();
    const plain = m.frames.alloc();
    setEntry(t.l1, 1, pte(t.l1, P)); // va 0x1000: the L1 itself, read-only
    setEntry(t.l1, 2, pte(t.l2, P)); // va 0x2000: the L2, read-only
    setEntry(t.l1, 3, pte(plain, P)); // va 0x3000: an ordinary frame, read-only
    expect(pin(4, t.l4)).toBe(0);
    expect(xen.mmuext_op(0, [{ cmd: MMUEXT_NEW_BASEPTR, mfn: t.l4 }]).rc).toBe(0);
    const target = m.frames.alloc();
    // Emulated: a kernel write through the read-only mapping of the L1 (entry 5 = va 0x1028).
    expect(xen.ptwr_emulate(0, 0x1028n, pte(target, P | RW))).toBe(true);
    expect(m.phys.read64n(t.l1 * 4096 + 40)).toBe(pte(target, P | RW));
    expect(xen.typeOf(target)).toMatchObject({ type: PGT_writable_page, count: 1 });
    expect(xen.stats.ptwrEmulations).toBe(1);
    // A writable alias of the L3 through the emulation: refused with ptwr's own line last.
    expect(xen.ptwr_emulate(0, 0x1030n, pte(t.l3, P | RW))).toBe(false);
    expect(xen.console.text().at(-1)).toBe('(XEN) mm.c:4958:d1 ptwr_emulate: could not get_page_from_l1e()');
    expect(xen.console.text()[0]).toContain('Bad type');
    expect(m.phys.read64n(t.l1 * 4096 + 48)).toBe(0n);
    // Not emulated, the guest takes the fault: an L2 frame, an untyped frame, a user-mode write.
    const lines = xen.console.lines.length;
    expect(xen.ptwr_emulate(0, 0x2010n, pte(target, P | RW))).toBe(false);
    expect(xen.ptwr_emulate(0, 0x3010n, 0x1234n)).toBe(false);
    expect(m.phys.read64n(t.l2 * 4096 + 16)).toBe(0n);
    expect(m.phys.read64n(plain * 4096 + 16)).toBe(0n);
    expect(xen.console.lines.length).toBe(lines); // ptwr_do_page_fault bails silently
    expect(xen.refusals.map((r) => r.request)).toEqual([
      expect.stringContaining('the emulated update was refused'),
      expect.stringContaining('not a validated L1'),
      expect.stringContaining('not a validated L1'),
    ]);
    // A writable mapping takes the store without a fault.
    expect(xen.ptwr_emulate(0, 0x8n, 0x55n)).toBe(true);
    expect(m.phys.read64n(t.data * 4096 + 8)).toBe(0x55n);
    xen.toggle_guest_mode(0);
    expect(xen.ptwr_emulate(0, 0x1038n, pte(target, P))).toBe(false);
    expect(xen.stats.ptwrEmulations).toBe(1);
  });
});
