/**
 * Boot of a Xen PV guest's kernel page tables, after xen_setup_kernel_pagetable() and
 * xen_pagetable_init() (arch/x86/xen/mmu.c, 3.8) and the domain builder's contract
 * (xen/arch/x86/domain_build.c): the kernel maps RAM with 4 KiB pages (Xen hides PSE from a PV
 * guest, xen_init_cpuid() masks X86_FEATURE_PSE, and does not allow superpages by default), every
 * page-table page is mapped read-only in the direct map, the top-level table is pinned as an
 * L4 (MMUEXT_PIN_L4_TABLE) and installed as every vCPU's base pointer.
 */
import { _KERNPG_TABLE, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW } from '../constants.js';
import type { Kernel } from '../kernel.js';
import { MMUEXT_PIN_L4_TABLE } from '../../xen/hypercalls.js';
import { lookup_pte_k } from './pin.js';
import type { XenHypervisorState } from '../../xen/hypervisor.js';
import { pfn_to_mfn, xenState } from './state.js';

/**
 * Splits every 2 MiB direct-map mapping of init_mm into a table of 4 KiB PTEs (same flags but PS;
 * not present for another domain's frames).
 * Page-table frames come from `provided` first, then from the allocator; returns all it used.
 */
function splitLargeDirectMap(k: Kernel, provided: readonly number[]): number[] {
  const used: number[] = [];
  const next = (): number => {
    const pfn = used.length < provided.length ? provided[used.length] : k.allocPageTable(1) / 4096;
    used.push(pfn);
    return pfn * 4096;
  };
  const L = k.L;
  const rd = (p: number): bigint => k.m.phys.read64n(p);
  const addr = (e: bigint): number => Number(e & L.PTE_PFN_MASK);
  const pgd = k.init_mm.pgd;
  const foreign = new Set(xenState(k).xen.foreignFrames);
  for (let g = 256; g < 512; g++) {
    const pgde = rd(pgd + g * 8);
    if (!(pgde & _PAGE_PRESENT)) continue;
    const pud = addr(pgde);
    for (let u = 0; u < 512; u++) {
      const pude = rd(pud + u * 8);
      if (!(pude & _PAGE_PRESENT) || pude & _PAGE_PSE) continue;
      const pmd = addr(pude);
      for (let d = 0; d < 512; d++) {
        const pmde = rd(pmd + d * 8);
        if (!(pmde & _PAGE_PRESENT) || !(pmde & _PAGE_PSE)) continue;
        const pt = next();
        const base = BigInt(addr(pmde) & ~0x1fffff);
        const flags = pmde & ~L.PTE_PFN_MASK & ~_PAGE_PSE;
        // Another domain's frames have no pfn of the guest (INVALID_P2M_ENTRY): xen_make_pte()
        // makes their direct-map ptes not present.
        for (let i = 0; i < 512; i++) {
          const pa = base + BigInt(i) * 4096n;
          k.m.phys.write64n(pt + i * 8, foreign.has(Number(pa >> 12n)) ? 0n : pa | flags);
        }
        k.m.phys.write64n(pmd + d * 8, BigInt(pt) | _KERNPG_TABLE);
      }
    }
  }
  return used;
}

/** Every page-table page reachable from init_mm's pgd (all 512 slots), pgd included. */
function kernelTablePages(k: Kernel): number[] {
  const L = k.L;
  const out: number[] = [k.init_mm.pgd / 4096];
  const walk = (table: number, level: number): void => {
    for (let i = 0; i < 512; i++) {
      const e = k.m.phys.read64n(table + i * 8);
      if (!(e & _PAGE_PRESENT) || (level < 4 && e & _PAGE_PSE)) continue;
      const next = Number(e & L.PTE_PFN_MASK);
      out.push(next / 4096);
      if (level > 2) walk(next, level - 1);
    }
  };
  walk(k.init_mm.pgd, 4);
  return out;
}

/**
 * xen_pagetable_init(): run once after init_mm is built (Kernel.boot's `afterInitMm`). Leaves
 * init_mm's pgd pinned and loaded on every vCPU, all its pages PagePinned.
 */
export function xen_pagetable_init(k: Kernel): void {
  if (k.L.paging !== '4level') throw new Error(`the Xen PV model supports 64-bit (4-level) guests only, not '${k.L.paging}'`);
  const st = xenState(k);
  const key = `${JSON.stringify(k.config.knobs)}|${k.m.frames.count}|${k.m.cpus.length}|${k.init_mm.pgd}`;
  const prePages = kernelTablePages(k);
  const snap = SNAPSHOTS.get(key);
  let provided: number[] = [];
  if (snap && sameAsSaved(k, prePages, snap.pre)) {
    // The same boot as before: the split takes the same frames (consecutive allocations), so
    // the result is the saved one.
    provided = snap.newPts.map(() => k.allocPageTable(1) / 4096);
    if (provided.every((pfn, i) => pfn === snap.newPts[i])) {
      const phys = k.m.phys as unknown as { writeBytes(pa: bigint, data: Uint8Array): void };
      for (const [pfn, bytes] of snap.post) phys.writeBytes(BigInt(pfn) * 4096n, bytes);
      st.xen.restoreState(snap.xen);
      for (const pfn of snap.pinned) st.pinned.add(pfn);
      installBasePointers(k);
      return;
    }
  }
  // Only a boot not seen before is saved, with its tables as they were before the split.
  const pre = snap ? null : tableBytes(k, prePages);
  const newPts = splitLargeDirectMap(k, provided);
  const tables = kernelTablePages(k);
  for (const pfn of tables) {
    const p = lookup_pte_k(k, k.L.PAGE_OFFSET + BigInt(pfn) * 4096n);
    if (p !== null) k.m.phys.write64n(p, k.m.phys.read64n(p) & ~_PAGE_RW);
    st.pinned.add(pfn);
  }
  const mfn = pfn_to_mfn(k.init_mm.pgd / 4096);
  const r = st.xen.mmuext_op(0, [{ cmd: MMUEXT_PIN_L4_TABLE, mfn }]);
  if (r.rc !== 0) throw new Error(`Xen refused to pin swapper_pg_dir:\n${st.xen.console.text().join('\n')}`);
  if (pre && SNAPSHOTS.size < 32) SNAPSHOTS.set(key, { pre, newPts, post: tableBytes(k, tables), xen: st.xen.saveState(), pinned: [...st.pinned] });
  installBasePointers(k);
}

/**
 * Boot results by configuration: a Xen PV boot validates the whole kernel page-table tree, the
 * same work every time a fuzzer reboots the same configuration; the result is replayed when the
 * kernel tables are byte for byte the ones seen before and the allocator hands out the same frames.
 */
interface BootSnapshot {
  pre: Map<number, Uint8Array>;
  newPts: number[];
  post: Map<number, Uint8Array>;
  xen: XenHypervisorState;
  pinned: number[];
}
const SNAPSHOTS = new Map<string, BootSnapshot>();

function tableBytes(k: Kernel, pfns: readonly number[]): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (const pfn of pfns) out.set(pfn, k.m.phys.readBytes(BigInt(pfn) * 4096n, 4096));
  return out;
}

/** Whether the pages `pfns` hold the saved bytes, compared in place (no copy: this runs at every boot). */
function sameAsSaved(k: Kernel, pfns: readonly number[], saved: Map<number, Uint8Array>): boolean {
  if (pfns.length !== saved.size) return false;
  const ram = (k.m.phys as unknown as { bytes?: Uint8Array }).bytes;
  for (const pfn of pfns) {
    const y = saved.get(pfn);
    if (!y) return false;
    const x = ram ? ram.subarray(pfn * 4096, pfn * 4096 + 4096) : k.m.phys.readBytes(BigInt(pfn) * 4096n, 4096);
    if (x.length !== y.length) return false;
    const a = new Int32Array(x.buffer, x.byteOffset, 1024);
    const b = new Int32Array(y.buffer, y.byteOffset, 1024);
    for (let i = 0; i < 1024; i++) if (a[i] !== b[i]) return false;
  }
  return true;
}

/** NEW_BASEPTR of swapper_pg_dir on every vCPU. */
function installBasePointers(k: Kernel): void {
  const st = xenState(k);
  const mfn = pfn_to_mfn(k.init_mm.pgd / 4096);
  for (let i = 0; i < k.m.cpus.length; i++) {
    if (!st.xen.new_guest_cr3(i, mfn)) throw new Error(`Xen refused swapper_pg_dir as vCPU ${i}'s base pointer`);
    st.xenCr3[i] = BigInt(k.init_mm.pgd);
    k.m.cpus[i].flushTlbAll(); // the 2 MiB direct-map translations are gone
  }
}
