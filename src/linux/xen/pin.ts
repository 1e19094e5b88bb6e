/**
 * Pinning and write-protection of page-table pages by a Xen PV Linux guest, after
 * arch/x86/xen/mmu.c: make_lowmem_page_readonly/readwrite, pin_pagetable_pfn,
 * xen_alloc_ptpage/xen_release_ptpage (paravirt alloc/release hooks), __xen_pgd_walk,
 * xen_pin_page/__xen_pgd_pin/__xen_pgd_unpin. Two eras:
 *  - Linux 2.6.37 (seed 001): xen_alloc_ptpage() write-protects with a direct
 *    update_va_mapping and pins PTE pages with pin_pagetable_pfn(), which BUG()s
 *    (mmu.c:1831) if Xen refuses;
 *  - Linux 3.x (seed 000): both are queued in the multicall batch (__set_pfn_prot,
 *    __pin_pagetable_pfn) and issued by xen_mc_issue(PARAVIRT_LAZY_MMU).
 * Page tables are reached at their physical address (the model's __va is the identity); their
 * alias in the kernel direct map, at PAGE_OFFSET + pa, is what gets write-protected.
 */
import { versionNumber } from '../config.js';
import { _PAGE_PRESENT, _PAGE_RW } from '../constants.js';
import type { Kernel } from '../kernel.js';
import type { LinuxCpu } from '../percpu.js';
import { entryAddrAt, entryNone, lookup_address } from '../pgtable.js';
import type { MmStruct } from '../structs.js';
import { FindingStop } from '../../sanitizers/finding.js';
import type { KGen } from '../../scheduler/types.js';
import { typeName } from '../../xen/page-info.js';
import { MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L4_TABLE, MMUEXT_UNPIN_TABLE, mmuextName, UVMF_TLB_FLUSH } from '../../xen/hypercalls.js';
import { PARAVIRT_LAZY_MMU, __xen_mc_entry, xen_extend_mmuext_op, xen_mc_batch, xen_mc_issue } from './multicalls.js';
import { pfn_to_mfn, xen_hypercall, xenState } from './state.js';
import { enterFn } from '../../scheduler/traced.js';
import { DONE, mustYield } from '../../scheduler/point.js';

/** enum pt_level. */
export type PtLevel = 'pgd' | 'pud' | 'pmd' | 'pte';

const is2637 = (k: Kernel): boolean => versionNumber(k.config.version) < 3000;

/** __va(pfn << PAGE_SHIFT): the direct-map address of a frame. */
export function lowmem_address(k: Kernel, pfn: number): bigint {
  return k.L.PAGE_OFFSET + BigInt(pfn) * 4096n;
}

/** Physical address of the 4 KiB PTE mapping `va` in init_mm, or null (lookup_address() at level 1). */
export function lookup_pte_k(k: Kernel, va: bigint): number | null {
  const r = lookup_address(k, va);
  return r && r.level === 1 ? r.ptr : null;
}

/** The pte value of `pfn`'s direct-map mapping with R/W set or cleared (pfn_pte(pfn, PAGE_KERNEL[_RO])). */
function lowmemPte(k: Kernel, pfn: number, writable: boolean): { va: bigint; val: bigint } | null {
  const va = lowmem_address(k, pfn);
  const p = lookup_pte_k(k, va);
  if (p === null) return null;
  const cur = k.m.phys.read64n(p);
  if (!(cur & _PAGE_PRESENT)) return null;
  return { va, val: writable ? cur | _PAGE_RW : cur & ~_PAGE_RW };
}

/**
 * A hypercall the kernel cannot survive failed: BUG() as Linux does, reported as a finding
 * that carries Xen's log lines and the guest's oops.
 */
export function xenFatalBUG(k: Kernel, cpu: LinuxCpu, what: string, file: string, line: number, fn: string): never {
  const xen = xenState(k).xen;
  try {
    k.BUG(cpu, file, line, fn);
  } catch (e) {
    if (!(e instanceof FindingStop)) throw e;
    throw new FindingStop({
      sanitizer: 'xen-refusal',
      signature: `Xen refused ${what}: ${lastRefusalWhy(k)} -> kernel BUG at ${file}:${line}`,
      log: [...xen.console.text(), ...e.finding.log],
    });
  }
}

/**
 * Why Xen refused the guest's last refused hypercall, from its log, as a stable signature part:
 * type names instead of type words (whose counts vary), no frame numbers ('' when it said nothing).
 */
export function lastRefusalWhy(k: Kernel): string {
  const xen = xenState(k).xen;
  const xenLines = xen.refusals.length ? xen.refusals[xen.refusals.length - 1].log : [];
  const first = xenLines.find((l) => /Bad type|linear p\.t\.|Error/.test(l)) ?? '';
  const bad = /Bad type \(saw ([0-9a-f]{16}) != exp ([0-9a-f]{16})\)/.exec(first);
  return bad
    ? `Bad type (${typeName(BigInt('0x' + bad[1]))} != ${typeName(BigInt('0x' + bad[2]))})`
    : first
        .replace(/^\(XEN\) mm\.c:\d+:d\d+ /, '')
        .replace(/ for mfn .*$/, '')
        .replace(/mfn [0-9a-f]+/, 'mfn');
}

/** make_lowmem_page_readonly()/readwrite(): HYPERVISOR_update_va_mapping(__va(pfn), pte, 0), BUG() on failure. */
export function* set_lowmem_page_rw(k: Kernel, cpu: LinuxCpu, pfn: number, writable: boolean): KGen<void> {
  const v = lowmemPte(k, pfn, writable);
  if (!v) return; // "vaddr missing"
  if (mustYield('xen:update_va_mapping')) yield 'xen:update_va_mapping';
  if ((yield* xen_hypercall(k, cpu, xenState(k).xen.update_va_mapping_g(cpu.index, v.va, v.val, 0))) !== 0) {
    const line = is2637(k) ? (writable ? 599 : 583) : writable ? 185 : 169;
    xenFatalBUG(k, cpu, 'update_va_mapping', 'arch/x86/xen/mmu.c', line, writable ? 'make_lowmem_page_readwrite' : 'make_lowmem_page_readonly');
  }
}

/** pin_pagetable_pfn(cmd, pfn): a direct mmuext_op; BUG() if Xen refuses (2.6.37 mmu.c:1831, 3.8 mmu.c:1553). */
export function* pin_pagetable_pfn(k: Kernel, cpu: LinuxCpu, cmd: number, pfn: number): KGen<void> {
  const st = xenState(k);
  if (mustYield('xen:mmuext_op')) yield 'xen:mmuext_op';
  const mfn = pfn_to_mfn(pfn);
  if (st.xen.mmuext_op(cpu.index, [{ cmd, mfn }]).rc !== 0) {
    const fns = enterFn(cpu, 'pin_pagetable_pfn');
    try {
      xenFatalBUG(k, cpu, `${mmuextName(cmd)}`, 'arch/x86/xen/mmu.c', is2637(k) ? 1831 : 1553, 'pin_pagetable_pfn');
    } finally {
      fns.pop();
    }
  }
}

/** __set_pfn_prot() (3.x): queue MULTI_update_va_mapping(__va(pfn), pfn_pte(pfn, prot), flags). */
function __set_pfn_prot(k: Kernel, cpu: LinuxCpu, pfn: number, writable: boolean, flags: number, caller: string): KGen<void> {
  const v = lowmemPte(k, pfn, writable);
  if (!v) return DONE;
  return __xen_mc_entry(k, cpu, { op: 'update_va_mapping', va: v.va, val: v.val, flags }, caller);
}

/** True when the page-table page at `pa` is PagePinned. */
export function xen_page_pinned(k: Kernel, pa: number): boolean {
  return xenState(k).pinned.has(Math.floor(pa / 4096));
}

/**
 * xen_alloc_ptpage(mm, pfn, level): a new page-table page of a pinned mm is made read-only
 * in the direct map and, for PTE pages, pinned as an L1 (USE_SPLIT_PTLOCKS).
 */
export function* xen_alloc_ptpage(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pfn: number, level: PtLevel): KGen<void> {
  if (!xen_page_pinned(k, mm.pgd)) return;
  const fns = enterFn(cpu, XEN_ALLOC_FN[level]);
  fns.push('xen_alloc_ptpage');
  try {
    yield* alloc_ptpage_pinned(k, cpu, pfn, level);
  } finally {
    fns.pop();
    fns.pop();
  }
}

/** The pv op calling xen_alloc_ptpage() for each level (its frame in call traces). */
const XEN_ALLOC_FN: Record<PtLevel, string> = { pgd: 'xen_alloc_pgd', pud: 'xen_alloc_pud', pmd: 'xen_alloc_pmd', pte: 'xen_alloc_pte' };

function* alloc_ptpage_pinned(k: Kernel, cpu: LinuxCpu, pfn: number, level: PtLevel): KGen<void> {
  const st = xenState(k);
  st.pinned.add(pfn);
  if (is2637(k)) {
    yield* set_lowmem_page_rw(k, cpu, pfn, false);
    if (level === 'pte') yield* pin_pagetable_pfn(k, cpu, MMUEXT_PIN_L1_TABLE, pfn);
    return;
  }
  xen_mc_batch(k, cpu);
  yield* __set_pfn_prot(k, cpu, pfn, false, 0, 'xen_alloc_ptpage');
  if (level === 'pte') yield* __xen_mc_entry(k, cpu, { op: 'mmuext_op', ops: [{ cmd: MMUEXT_PIN_L1_TABLE, mfn: pfn_to_mfn(pfn) }] }, '__pin_pagetable_pfn');
  yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU);
}

/** xen_release_ptpage(pfn, level): unpin a PTE page and make the page writable again. */
export function* xen_release_ptpage(k: Kernel, cpu: LinuxCpu, pfn: number, level: PtLevel): KGen<void> {
  const st = xenState(k);
  if (!st.pinned.has(pfn)) return;
  if (is2637(k)) {
    if (level === 'pte') yield* pin_pagetable_pfn(k, cpu, MMUEXT_UNPIN_TABLE, pfn);
    yield* set_lowmem_page_rw(k, cpu, pfn, true);
  } else {
    xen_mc_batch(k, cpu);
    if (level === 'pte') yield* __xen_mc_entry(k, cpu, { op: 'mmuext_op', ops: [{ cmd: MMUEXT_UNPIN_TABLE, mfn: pfn_to_mfn(pfn) }] }, '__pin_pagetable_pfn');
    yield* __set_pfn_prot(k, cpu, pfn, true, 0, 'xen_release_ptpage');
    yield* xen_mc_issue(k, cpu, PARAVIRT_LAZY_MMU);
  }
  st.pinned.delete(pfn);
}

/**
 * __xen_pgd_walk(mm, pgd, func, USER_LIMIT): every page-table page of the user part of a pgd
 * (pgd entries below the hypervisor hole, index 256), lower levels first, the pgd last.
 */
export function xen_pgd_walk_pages(k: Kernel, pgd: number): Array<{ pfn: number; level: PtLevel }> {
  const out: Array<{ pfn: number; level: PtLevel }> = [];
  // Entries tested and their table addresses read as 32-bit numbers (entryNone, entryAddrAt).
  for (let g = 0; g < 256; g++) {
    if (entryNone(k, pgd + g * 8)) continue;
    const pud = entryAddrAt(k, pgd + g * 8);
    out.push({ pfn: pud / 4096, level: 'pud' });
    for (let u = 0; u < 512; u++) {
      if (entryNone(k, pud + u * 8)) continue;
      const pmd = entryAddrAt(k, pud + u * 8);
      out.push({ pfn: pmd / 4096, level: 'pmd' });
      for (let d = 0; d < 512; d++) {
        if (entryNone(k, pmd + d * 8)) continue;
        out.push({ pfn: entryAddrAt(k, pmd + d * 8) / 4096, level: 'pte' });
      }
    }
  }
  out.push({ pfn: pgd / 4096, level: 'pgd' });
  return out;
}

/**
 * xen_pgd_pin(mm) → __xen_pgd_pin(): in one batch, make every page-table page read-only
 * (xen_pin_page), pin the PTE pages as L1 and the pgd as L4 (xen_do_pin), then issue it.
 */
export function* xen_pgd_pin(k: Kernel, cpu: LinuxCpu, mm: Pick<MmStruct, 'pgd'>): KGen<void> {
  const st = xenState(k);
  xen_mc_batch(k, cpu);
  for (const { pfn, level } of xen_pgd_walk_pages(k, mm.pgd)) {
    if (st.pinned.has(pfn)) continue; // TestSetPagePinned
    st.pinned.add(pfn);
    yield* __set_pfn_prot(k, cpu, pfn, false, level === 'pgd' ? UVMF_TLB_FLUSH : 0, 'xen_pin_page');
    if (level === 'pte') yield* xen_extend_mmuext_op(k, cpu, { cmd: MMUEXT_PIN_L1_TABLE, mfn: pfn_to_mfn(pfn) }, 'xen_pin_page');
  }
  yield* xen_extend_mmuext_op(k, cpu, { cmd: MMUEXT_PIN_L4_TABLE, mfn: pfn_to_mfn(mm.pgd / 4096) }, '__xen_pgd_pin');
  yield* xen_mc_issue(k, cpu, 0);
}

/** xen_pgd_unpin(mm) → __xen_pgd_unpin(): unpin the pgd, then unpin and write-enable every page. */
export function* xen_pgd_unpin(k: Kernel, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
  const st = xenState(k);
  if (!st.pinned.has(mm.pgd / 4096)) return;
  xen_mc_batch(k, cpu);
  yield* xen_extend_mmuext_op(k, cpu, { cmd: MMUEXT_UNPIN_TABLE, mfn: pfn_to_mfn(mm.pgd / 4096) }, '__xen_pgd_unpin');
  for (const { pfn, level } of xen_pgd_walk_pages(k, mm.pgd)) {
    if (!st.pinned.delete(pfn)) continue; // TestClearPagePinned
    if (level === 'pte') yield* xen_extend_mmuext_op(k, cpu, { cmd: MMUEXT_UNPIN_TABLE, mfn: pfn_to_mfn(pfn) }, 'xen_unpin_page');
    yield* __set_pfn_prot(k, cpu, pfn, true, 0, 'xen_unpin_page');
  }
  yield* xen_mc_issue(k, cpu, 0);
}
