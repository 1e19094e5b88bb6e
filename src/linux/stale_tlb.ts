/**
 * The stale-TLB sanitizer of a kernel instance (src/sanitizers/stale-tlb.ts): created on the first
 * flush, told by the flush paths when a flush begins and when the kernel considers it complete
 * (flush_tlb_mm_range() and flush_tlb_kernel_range() in tlbflush.ts, after flush_tlb_others() —
 * native IPIs, the Xen PV or Hyper-V hypercall — returned). Kernel addresses are judged against
 * init_mm's tables through lookup_address() (arch/x86/mm/pageattr.c), as a CPU's pgd may lack a
 * vmalloc pgd entry that vmalloc_fault() would copy: that does not make its TLB entry stale.
 */
import { StaleTlbSanitizer, type FlushToken, type Translation } from '../sanitizers/stale-tlb.js';
import { FRAME_STATE } from '../core/types.js';
import { _PAGE_NX, _PAGE_PRESENT, _PAGE_RW } from './constants.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { entryAddr, lookup_address, readEntry } from './pgtable.js';
import { callTrace, cpuHeader } from './report.js';
import type { MmStruct } from './structs.js';
import { defineKernelState } from './kstate.js';

/** The stale-TLB sanitizer of `k`. */
export const staleTlbOf = defineKernelState(
  (k) =>
    new StaleTlbSanitizer({
      cpus: k.cpus,
      userLimit: k.L.TASK_SIZE,
      kernelTranslation: (va) => lookup_translation(k, va),
      frameState: (pfn) => frameState(k, pfn),
      describe: (cpu) => {
        const c = cpu as LinuxCpu;
        return { task: `${c.curr.comm}/${c.curr.pid}`, header: cpuHeader(k.config, c), trace: callTrace(c) };
      },
      printk: (lines) => k.printk(...lines),
    }),
);

/**
 * A flush of `mm` (null: kernel addresses) over [start, end) by `fn` on `cpu` begins (`end` may be
 * TLB_FLUSH_ALL, which is the sanitizer's FLUSH_ALL, -1).
 */
export function staleTlbFlushBegin(k: Kernel, cpu: LinuxCpu, fn: string, mm: MmStruct | null, start: bigint, end: bigint): FlushToken {
  return staleTlbOf(k).flushBegin({ fn, cpu: cpu.index, pgd: mm ? mm.pgd : null, space: mm ? mm.name : 'init_mm', start, end });
}

/** The kernel considers the flush of `token` complete. */
export function staleTlbFlushEnd(k: Kernel, cpu: LinuxCpu, token: FlushToken): void {
  const chain = cpu.thread().fnStack;
  const inner: string[] = [];
  for (let i = chain.length - 1; i >= 0; i--) inner.push(chain[i]);
  staleTlbOf(k).flushEnd(token, inner);
}

/** The translation init_mm's tables give kernel address `va` (null when unmapped). */
export function lookup_translation(k: Kernel, va: bigint): Translation | null {
  const r = lookup_address(k, va);
  if (!r) return null;
  const leaf = readEntry(k, r.ptr);
  if (!(leaf & _PAGE_PRESENT)) return null;
  const size = r.level === 1 ? 4096n : r.level === 2 ? BigInt(k.L.LARGE_PAGE) : 1n << 30n;
  let writable = (leaf & _PAGE_RW) !== 0n;
  let nx = (leaf & _PAGE_NX) !== 0n;
  for (const p of r.upper) {
    const e = readEntry(k, p);
    if (!(e & _PAGE_RW)) writable = false;
    if (e & _PAGE_NX) nx = true;
  }
  const masked = va & k.L.VA_MASK;
  return { pa: (BigInt(entryAddr(k.L, leaf)) & ~(size - 1n)) + (masked & (size - 1n)), writable, nx };
}

/** What frame `pfn` holds now, from the core's frame table. */
function frameState(k: Kernel, pfn: number): string {
  const fr = k.m.frames;
  if (pfn >= fr.count) return 'outside RAM';
  const st = fr.state(pfn);
  if (st === FRAME_STATE.FREE) return 'free';
  if (st === FRAME_STATE.RESERVED) return 'reserved';
  const level = fr.level(pfn);
  return level > 0 ? `a page table (level ${level})` : 'allocated';
}
