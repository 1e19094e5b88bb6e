/**
 * The memory-cgroup statistics seed 000 trips over, after mm/memcontrol.c of Linux 3.6–3.8:
 * `struct mem_cgroup` keeps its counters in per-cpu memory (`memcg->stat =
 * alloc_percpu(struct mem_cgroup_stat_cpu)`), which lives in vmalloc space when the first
 * per-cpu chunk is full (mm/percpu.c pcpu_get_vm_areas). Unmapping a page at exit,
 * zap_pte_range() -> page_remove_rmap() -> mem_cgroup_uncharge_page() ->
 * __mem_cgroup_uncharge_common() -> mem_cgroup_charge_statistics() does
 * `this_cpu_add(memcg->stat->count[MEM_CGROUP_STAT_RSS], -1)`: a store to a vmalloc address,
 * from inside zap_pte_range()'s lazy MMU section. If the exiting task's pgd lacks the pgd entry
 * of that vmalloc area, the store page-faults into vmalloc_fault().
 */
import { hwAccess } from '../modelcpu/access.js';
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import { mmHooks } from './page.js';
import type { LinuxCpu } from './percpu.js';
import type { MmStruct } from './structs.js';
import { alloc_percpu, per_cpu_ptr, type PerCpuPtr } from './vmalloc.js';
import { defineKernelState } from './kstate.js';
import { traced } from '../scheduler/traced.js';

/** enum mem_cgroup_stat_index: MEM_CGROUP_STAT_CACHE, MEM_CGROUP_STAT_RSS, ... (8-byte counters). */
export const MEM_CGROUP_STAT_CACHE = 0;
export const MEM_CGROUP_STAT_RSS = 1;
/** sizeof(struct mem_cgroup_stat_cpu) rounded to a page by the model's alloc_percpu. */
const STAT_BYTES = 64;

/** struct mem_cgroup (the statistics part). */
export interface MemCgroup {
  name: string;
  stat: PerCpuPtr;
  /** Pages charged to it (res_counter usage, in pages). */
  charged: number;
}

/** mem_cgroup_create(): a cgroup whose per-cpu statistics are allocated in vmalloc space. */
export function* mem_cgroup_create(k: Kernel, cpu: LinuxCpu, name: string): KGen<MemCgroup> {
  const stat = yield* traced(cpu, 'mem_cgroup_create', () => alloc_percpu(k, cpu, STAT_BYTES));
  return { name, stat, charged: 0 };
}

/** this_cpu_add(memcg->stat->count[idx], nr): a read-modify-write through the CPU's MMU. */
function* this_cpu_add(k: Kernel, cpu: LinuxCpu, memcg: MemCgroup, idx: number, nr: number): KGen<void> {
  const va = per_cpu_ptr(memcg.stat, cpu.index) + BigInt(idx * 8);
  const pa = yield* hwAccess(cpu, va, 'write', 0);
  const p = Number(pa);
  k.m.phys.write64n(p, BigInt.asUintN(64, k.m.phys.read64n(p) + BigInt(nr)));
}

/** mem_cgroup_charge_statistics(memcg, anon, nr_pages). */
export function mem_cgroup_charge_statistics(k: Kernel, cpu: LinuxCpu, memcg: MemCgroup, anon: boolean, nr: number): KGen<void> {
  return traced(cpu, 'mem_cgroup_charge_statistics', () => this_cpu_add(k, cpu, memcg, anon ? MEM_CGROUP_STAT_RSS : MEM_CGROUP_STAT_CACHE, nr));
}

/** mem_cgroup_uncharge_page(page) -> __mem_cgroup_uncharge_common(page, MEM_CGROUP_CHARGE_TYPE_ANON). */
export function mem_cgroup_uncharge_page(k: Kernel, cpu: LinuxCpu, memcg: MemCgroup): KGen<void> {
  return traced(cpu, 'mem_cgroup_uncharge_page', () => traced(cpu, '__mem_cgroup_uncharge_common', () => uncharge_common(k, cpu, memcg)));
}

function* uncharge_common(k: Kernel, cpu: LinuxCpu, memcg: MemCgroup): KGen<void> {
  yield* mem_cgroup_charge_statistics(k, cpu, memcg, true, -1);
  memcg.charged--;
}

/**
 * Puts every page of `mm` under `memcg` and hooks page_remove_rmap() (called by zap_pte_range())
 * so that unmapping a page uncharges it.
 */
export function attach_mem_cgroup(k: Kernel, mm: MmStruct, memcg: MemCgroup): void {
  const groups = memcgOf(k);
  groups.set(mm, memcg);
  const hooks = mmHooks(k);
  hooks.page_remove_rmap = page_remove_rmap;
}

/** page_remove_rmap() of a page of an mm under a cgroup: uncharges it. */
function* page_remove_rmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct, _pfn: number): KGen<void> {
  const g = memcgOf(k).get(mm);
  if (!g) return;
  yield* traced(cpu, 'page_remove_rmap', () => mem_cgroup_uncharge_page(k, cpu, g));
}

const memcgOf = defineKernelState(() => new Map<MmStruct, MemCgroup>());
