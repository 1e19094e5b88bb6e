/**
 * switch_mm() and enter_lazy_tlb() (arch/x86/include/asm/mmu_context.h, 3.17): a CR3 load only
 * when the mm changes; on SMP, switching to the same mm after lazy TLB mode reloads CR3 only if
 * leave_mm() took this CPU out of mm_cpumask meanwhile.
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import type { MmStruct, TaskStruct } from './structs.js';

/** load_cr3(pgd): write_cr3(__pa(pgd)) through pv_mmu_ops. */
export function load_cr3(k: Kernel, cpu: LinuxCpu, pgd: number): KGen<void> {
  return k.pv.mmu.write_cr3(k, cpu, BigInt(pgd));
}

/** enter_lazy_tlb(): on SMP marks cpu_tlbstate.state TLBSTATE_LAZY (a no-op on UP). */
export function enter_lazy_tlb(k: Kernel, cpu: LinuxCpu, _mm: MmStruct, _tsk: TaskStruct): void {
  if (k.config.smp && cpu.tlbState === 'ok') cpu.tlbState = 'lazy';
}

/** switch_mm(prev, next, tsk). */
export function* switch_mm(k: Kernel, cpu: LinuxCpu, prev: MmStruct, next: MmStruct, _tsk: TaskStruct): KGen<void> {
  const bit = 1 << cpu.index;
  if (prev !== next) {
    if (k.config.smp) {
      cpu.tlbState = 'ok';
      cpu.tlbActiveMm = next;
    }
    next.cpumask |= bit;
    yield* load_cr3(k, cpu, next.pgd); // Re-load page tables
    prev.cpumask &= ~bit; // Stop flush ipis for the previous mm
  } else if (k.config.smp) {
    cpu.tlbState = 'ok';
    if (cpu.tlbActiveMm !== next) k.BUG(cpu, 'arch/x86/include/asm/mmu_context.h', null, 'switch_mm');
    if (!(next.cpumask & bit)) {
      // We were in lazy tlb mode and leave_mm disabled tlb flush IPI delivery. We must reload
      // CR3 to make sure to use no freed page tables.
      next.cpumask |= bit;
      yield* load_cr3(k, cpu, next.pgd);
    }
  }
}

/** activate_mm(prev, next) (exec): paravirt hook, then switch_mm(). */
export function* activate_mm(k: Kernel, cpu: LinuxCpu, prev: MmStruct, next: MmStruct): KGen<void> {
  yield* k.pv.mmu.activate_mm(k, cpu, prev, next);
  yield* switch_mm(k, cpu, prev, next, cpu.curr);
}
