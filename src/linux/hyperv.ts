/**
 * A Hyper-V-like paravirt backend: native page-table operations, but flush_tlb_others() is a
 * hypercall (hyperv_flush_tlb_others(), arch/x86/hyperv/mmu.c, 4.14: HvFlushVirtualAddressSpace /
 * HvFlushVirtualAddressList) that flushes the target vCPUs' TLBs in the hypervisor without an IPI,
 * so nothing waits for the targets to enable interrupts (seed 002: "the upcoming remote TLB flush
 * for Hyper-V will do it too"). Selected by paravirt=hyperv-flush.
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import { nativePvOps } from './native.js';
import type { PvOps } from './paravirt.js';
import type { LinuxCpu } from './percpu.js';
import type { MmStruct } from './structs.js';
import { TLB_FLUSH_ALL } from './tlbflush.js';
import { mustYield } from '../scheduler/point.js';

/** hyperv_flush_tlb_others(cpus, mm, start, end): the hypervisor flushes each target at once. */
export function* hyperv_flush_tlb_others(k: Kernel, cpu: LinuxCpu, cpumask: number, _mm: MmStruct | null, start: bigint, end: bigint): KGen<void> {
  if (mustYield('hyperv_flush_tlb_others:hypercall')) yield 'hyperv_flush_tlb_others:hypercall';
  for (const c of k.cpus) {
    if (c === cpu || !(cpumask & (1 << c.index))) continue;
    if (end === TLB_FLUSH_ALL) c.hw.flushTlbAll();
    else for (let a = start; a < end; a += 4096n) c.hw.invlpg(a);
  }
}

/** The Hyper-V-like backend: native pv ops with the hypercall flush_tlb_others. */
export function hypervPvOps(): PvOps {
  const n = nativePvOps();
  return { ...n, name: 'hyperv-flush', mmu: { ...n.mmu, flush_tlb_others: hyperv_flush_tlb_others } };
}
