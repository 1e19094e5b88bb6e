/**
 * vm_map_ram()/vm_unmap_ram() with per-CPU vmap blocks and the lazy purge of freed vmap areas,
 * after mm/vmalloc.c of Linux 2.6.37 (seed 001):
 *  - vm_map_ram(pages, count) takes `count` pages of a vmap block (vb_alloc: an order-aligned
 *    free region of the block's alloc_map) and maps them into init_mm (vmap_page_range ->
 *    set_pte_at(&init_mm, ...)); more than VMAP_MAX_ALLOC pages get their own vmap area.
 *  - vm_unmap_ram() -> vb_free() marks the region dirty; a freed region is not reused until the
 *    whole block is dirty and gets freed (free_vmap_block -> free_vmap_area_noflush: VM_LAZY_FREE).
 *    The lazily freed areas are purged (__purge_vmap_area_lazy: one flush_tlb_kernel_range for all
 *    of them) once more than lazy_max_pages() pages are pending, or by vm_unmap_aliases().
 *  - Knob `vunmap_clear_ptes`: 'lazy-purge' = before commit 64141da5 ("vmalloc: eagerly clear ptes
 *    on vunmap", 2.6.37-rc5): the ptes of an unmapped region stay until the purge unmaps the area
 *    (unmap_vmap_area in __purge_vmap_area_lazy) — the pages keep writable aliases after they are
 *    freed; 'eager' = the fix (2.6.37): vb_free()/free_unmap_vmap_area_noflush() clear the ptes at
 *    once (vunmap_page_range) and only the TLB flush stays lazy.
 *  - Before that commit the tree also had `vmap_lazy_unmap` (2.6.36.4 mm/vmalloc.c): Xen's
 *    xen_init_mmu_ops() sets it false, and lazy_max_pages() then returns 0, so under Xen a freed
 *    area (a large vm_map_ram, or a block once wholly dirty) is purged at once; the aliases that
 *    stay are the dirty regions of blocks not yet wholly dirty. vm_unmap_aliases() unmaps those
 *    (vunmap_page_range) in the blocks still on a per-CPU free list; 2.6.37 only flushes them
 *    (their ptes went at vb_free()). Nothing on the Xen pinning path calls it in either tree
 *    (its only x86 caller is change_page_attr_set_clr(), arch/x86/mm/pageattr.c).
 * Geometry on x86_64: VMAP_MAX_ALLOC = BITS_PER_LONG = 64 pages, VMAP_BBMAP_BITS = 1024
 * (VMAP_BLOCK_SIZE 4 MiB), lazy_max_pages() = fls(num_online_cpus()) * (32 MiB / PAGE_SIZE).
 */
import type { KGen } from '../scheduler/types.js';
import { DONE } from '../scheduler/point.js';
import type { Kernel } from './kernel.js';
import { pte_alloc_walk } from './memory.js';
import type { LinuxCpu } from './percpu.js';
import { PAGE_KERNEL, readEntry } from './pgtable.js';
import { spin_lock, spin_trylock, spin_unlock } from './spinlock.js';
import { SpinLock } from './structs.js';
import { flush_tlb_kernel_range } from './tlbflush.js';
import { defineKernelState } from './kstate.js';
import { enterFn } from '../scheduler/traced.js';

export const VMAP_MAX_ALLOC = 64;
export const VMAP_BBMAP_BITS = 1024;
export const VMAP_BLOCK_SIZE = VMAP_BBMAP_BITS * 4096;

/** A vmap_area. */
export interface VmapArea {
  addr: bigint;
  size: number;
  pages: number[];
}

interface VmallocState {
  next: bigint;
  lock: SpinLock;
  areas: Map<bigint, VmapArea>;
}

/** The vmalloc allocator of a kernel (vmap_area_lock, the next free address, the live vmalloc areas), shared by vmalloc() (vmalloc.ts) and vm_map_ram(). */
export const vmallocState = defineKernelState((k): VmallocState => ({ next: k.L.VMALLOC_START, lock: new SpinLock('vmap_area_lock'), areas: new Map() }));

/** A vmap area handed out by alloc_vmap_area (a vmap block's or a large vm_map_ram's). */
export interface LazyArea {
  start: bigint;
  pages: number;
  /** VM_LAZY_FREE: waiting for the purge. */
  lazy: boolean;
}

/** The end of area `a` (va_end). */
function areaEnd(a: LazyArea): bigint {
  return a.start + BigInt(a.pages * 4096);
}

/** struct vmap_block. */
export interface VmapBlock {
  area: LazyArea;
  cpu: number;
  free: number;
  dirty: number;
  allocMap: Uint8Array;
  dirtyMap: Uint8Array;
}

interface VmapState {
  lock: SpinLock;
  /** `purge_lock` of __purge_vmap_area_lazy() (from 4.10 the `vmap_purge_lock` mutex): one purge at a time. */
  purge_lock: SpinLock;
  /** Per-CPU vmap_block_queue free lists. */
  vbq: VmapBlock[][];
  /** Every block, by start address. */
  blocks: Map<bigint, VmapBlock>;
  /** Areas of large vm_map_ram() calls, by start address. */
  large: Map<bigint, LazyArea>;
  /** Areas freed lazily and not purged yet. */
  lazyList: LazyArea[];
  /** Areas the purge in progress (one at a time: purge_lock) took off the list; their flush is owed until it completes. */
  purging: LazyArea[];
  vmap_lazy_nr: number;
  purges: number;
  /** `bool vmap_lazy_unmap` (only before commit 64141da5); a paravirt backend may clear it. */
  vmap_lazy_unmap: boolean;
}

const vstate = defineKernelState((k): VmapState => ({
  lock: new SpinLock('vmap_block_queue.lock'),
  purge_lock: new SpinLock('purge_lock'),
  vbq: k.cpus.map(() => []),
  blocks: new Map(),
  large: new Map(),
  lazyList: [],
  purging: [],
  vmap_lazy_nr: 0,
  purges: 0,
  vmap_lazy_unmap: true,
}));

/**
 * alloc_vmap_area(size, align): virtual space from the vmalloc allocator shared with vmalloc()
 * (vmalloc.ts's bump allocator, vmallocState), aligned, with a guard page.
 */
function* alloc_vmap_area(k: Kernel, cpu: LinuxCpu, pages: number, align: bigint): KGen<bigint> {
  const st = vmallocState(k);
  yield* spin_lock(k, cpu, st.lock);
  const addr = (st.next + align - 1n) & ~(align - 1n);
  st.next = addr + BigInt((pages + 1) * 4096);
  yield* spin_unlock(k, cpu, st.lock);
  if (st.next > k.L.VMALLOC_END) throw new Error('vmap allocation failed: vmalloc space exhausted');
  return addr;
}

const eager = (k: Kernel): boolean => k.config.knobs.vunmap_clear_ptes !== 'lazy-purge';

/**
 * `vmap_lazy_unmap = false` (what xen_init_mmu_ops() does before commit 64141da5). A no-op on
 * trees after it, which removed the flag.
 */
export function disable_vmap_lazy_unmap(k: Kernel): void {
  if (!eager(k)) vstate(k).vmap_lazy_unmap = false;
}

/** lazy_max_pages(): 0 if !vmap_lazy_unmap, else fls(num_online_cpus()) * (32 MiB / PAGE_SIZE). */
export function lazy_max_pages(k: Kernel): number {
  if (!vstate(k).vmap_lazy_unmap) return 0;
  return (32 - Math.clz32(k.cpus.length)) * ((32 << 20) / 4096);
}

/** vmap_page_range(addr, end, PAGE_KERNEL, pages): init_mm only. */
function* vmap_page_range(k: Kernel, cpu: LinuxCpu, addr: bigint, pages: readonly number[]): KGen<void> {
  for (let i = 0; i < pages.length; i++) {
    const va = addr + BigInt(i * 4096);
    const ptep = yield* pte_alloc_walk(k, cpu, k.init_mm, va);
    yield* k.pv.mmu.set_pte_at(k, cpu, k.init_mm, va, ptep, (BigInt(pages[i]) << 12n) | PAGE_KERNEL(k));
  }
}

/** vunmap_page_range(addr, end): clear the present ptes (ptep_get_and_clear(&init_mm, ...)). */
function* vunmap_page_range(k: Kernel, cpu: LinuxCpu, addr: bigint, pages: number): KGen<void> {
  for (let i = 0; i < pages; i++) {
    const va = addr + BigInt(i * 4096);
    const ptep = yield* pte_alloc_walk(k, cpu, k.init_mm, va);
    if (readEntry(k, ptep) !== 0n) yield* k.pv.mmu.pte_clear(k, cpu, k.init_mm, va, ptep);
  }
}

/** get_order(count pages). */
function get_order(count: number): number {
  let o = 0;
  while (1 << o < count) o++;
  return o;
}

/** new_vmap_block(): a VMAP_BLOCK_SIZE area on this CPU's queue. */
function* new_vmap_block(k: Kernel, cpu: LinuxCpu): KGen<VmapBlock> {
  const st = vstate(k);
  const start = yield* alloc_vmap_area(k, cpu, VMAP_BBMAP_BITS, BigInt(VMAP_BLOCK_SIZE));
  const vb: VmapBlock = {
    area: { start, pages: VMAP_BBMAP_BITS, lazy: false },
    cpu: cpu.index,
    free: VMAP_BBMAP_BITS,
    dirty: 0,
    allocMap: new Uint8Array(VMAP_BBMAP_BITS),
    dirtyMap: new Uint8Array(VMAP_BBMAP_BITS),
  };
  st.blocks.set(start, vb);
  st.vbq[cpu.index].push(vb);
  return vb;
}

/** bitmap_find_free_region(map, bits, order): first free order-aligned region, or -1. */
function bitmap_find_free_region(map: Uint8Array, order: number): number {
  const n = 1 << order;
  outer: for (let i = 0; i + n <= map.length; i += n) {
    for (let j = i; j < i + n; j++) if (map[j]) continue outer;
    map.fill(1, i, i + n);
    return i;
  }
  return -1;
}

/** vb_alloc(size): a region of a vmap block of this CPU. */
function* vb_alloc(k: Kernel, cpu: LinuxCpu, count: number): KGen<bigint> {
  const st = vstate(k);
  const order = get_order(count);
  for (;;) {
    for (const vb of st.vbq[cpu.index]) {
      if (vb.free < 1 << order) continue;
      const i = bitmap_find_free_region(vb.allocMap, order);
      if (i < 0) continue;
      vb.free -= 1 << order;
      if (vb.free === 0) st.vbq[cpu.index].splice(st.vbq[cpu.index].indexOf(vb), 1);
      return vb.area.start + BigInt(i * 4096);
    }
    yield* new_vmap_block(k, cpu);
  }
}

/** vm_map_ram(pages, count, node, prot): the kernel address of the new mapping. */
export function* vm_map_ram(k: Kernel, cpu: LinuxCpu, pages: readonly number[]): KGen<bigint> {
  const fns = enterFn(cpu, 'vm_map_ram');
  try {
    let addr: bigint;
    if (pages.length <= VMAP_MAX_ALLOC) addr = yield* vb_alloc(k, cpu, pages.length);
    else {
      addr = yield* alloc_vmap_area(k, cpu, pages.length, 4096n);
      vstate(k).large.set(addr, { start: addr, pages: pages.length, lazy: false });
    }
    yield* vmap_page_range(k, cpu, addr, pages);
    return addr;
  } finally {
    fns.pop();
  }
}

/** free_vmap_area_noflush(va): VM_LAZY_FREE; purge once too many pages are pending. */
function free_vmap_area_noflush(k: Kernel, cpu: LinuxCpu, area: LazyArea): KGen<void> {
  const st = vstate(k);
  area.lazy = true;
  st.lazyList.push(area);
  st.vmap_lazy_nr += area.pages;
  if (st.vmap_lazy_nr > lazy_max_pages(k)) return __purge_vmap_area_lazy(k, cpu, false, false); // try_purge_vmap_area_lazy()
  return DONE;
}

/**
 * free_unmap_vmap_area(va) of a vmap area of `pages` pages at `start` (a large vm_map_ram()'s, or
 * a vmalloc area's through vfree() -> remove_vm_area()): from 2.6.37 (64141da5) the ptes are
 * cleared at once (unmap_vmap_area(); free_unmap_vmap_area_noflush() in 2.6.37) and the area goes
 * on the VM_LAZY_FREE list (free_vmap_area_noflush()): its TLB flush waits for the lazy purge;
 * before that commit the purge clears the ptes too. (4.14 flushes at once under debug_pagealloc
 * only, which the model does not have.)
 */
export function* free_unmap_vmap_area(k: Kernel, cpu: LinuxCpu, start: bigint, pages: number): KGen<void> {
  if (eager(k)) yield* vunmap_page_range(k, cpu, start, pages);
  yield* free_vmap_area_noflush(k, cpu, { start, pages, lazy: false });
}

/** vb_free(addr, size). */
function* vb_free(k: Kernel, cpu: LinuxCpu, addr: bigint, count: number): KGen<void> {
  const st = vstate(k);
  const start = addr & ~BigInt(VMAP_BLOCK_SIZE - 1);
  const vb = st.blocks.get(start);
  if (!vb) k.BUG(cpu, 'mm/vmalloc.c', null, 'vb_free');
  const order = get_order(count);
  const off = Number(addr - start) / 4096;
  if (eager(k)) yield* vunmap_page_range(k, cpu, addr, count);
  vb!.dirtyMap.fill(1, off, off + (1 << order));
  vb!.dirty += 1 << order;
  if (vb!.dirty === VMAP_BBMAP_BITS) {
    st.blocks.delete(start); // free_vmap_block()
    const q = st.vbq[vb!.cpu];
    const i = q.indexOf(vb!);
    if (i >= 0) q.splice(i, 1);
    yield* free_vmap_area_noflush(k, cpu, vb!.area);
  }
}

/** vm_unmap_ram(mem, count). */
export function* vm_unmap_ram(k: Kernel, cpu: LinuxCpu, addr: bigint, count: number): KGen<void> {
  const fns = enterFn(cpu, 'vm_unmap_ram');
  try {
    if (addr < k.L.VMALLOC_START || addr > k.L.VMALLOC_END || addr & 0xfffn) k.BUG(cpu, 'mm/vmalloc.c', null, 'vm_unmap_ram');
    if (count <= VMAP_MAX_ALLOC) yield* vb_free(k, cpu, addr, count);
    else {
      const area = vstate(k).large.get(addr);
      if (!area) k.BUG(cpu, 'mm/vmalloc.c', null, 'free_unmap_vmap_area_addr');
      vstate(k).large.delete(addr);
      yield* free_unmap_vmap_area(k, cpu, area!.start, area!.pages);
    }
  } finally {
    fns.pop();
  }
}

/**
 * __purge_vmap_area_lazy(&start, &end, sync, force_flush): under purge_lock (a try-lock when
 * neither `sync` nor `forceFlush`: try_purge_vmap_area_lazy() gives up if another purge runs; else
 * it waits, so that vm_unmap_aliases() returns only after every purge that took lazy areas
 * flushed them), take every VM_LAZY_FREE area; before the fix, unmap it now (unmap_vmap_area);
 * one flush_tlb_kernel_range() over them all and the range [start0, end0) the caller brings
 * (vm_unmap_aliases(): its dirty regions); free the areas.
 */
export function* __purge_vmap_area_lazy(k: Kernel, cpu: LinuxCpu, forceFlush: boolean, sync = true, start0 = k.L.VMALLOC_END, end0 = 0n): KGen<void> {
  const st = vstate(k);
  if (!sync && !forceFlush) {
    if (!spin_trylock(k, cpu, st.purge_lock)) return;
  } else yield* spin_lock(k, cpu, st.purge_lock);
  try {
    yield* purgeLocked(k, cpu, st, forceFlush, start0, end0);
  } finally {
    yield* spin_unlock(k, cpu, st.purge_lock);
  }
}

function* purgeLocked(k: Kernel, cpu: LinuxCpu, st: VmapState, forceFlush: boolean, start0: bigint, end0: bigint): KGen<void> {
  const areas = st.lazyList.splice(0);
  if (areas.length === 0 && !forceFlush) return;
  const fns = enterFn(cpu, '__purge_vmap_area_lazy');
  st.purging = areas;
  try {
    let start = start0;
    let end = end0;
    let nr = 0;
    for (const a of areas) {
      if (a.start < start) start = a.start;
      if (areaEnd(a) > end) end = areaEnd(a);
      nr += a.pages;
      if (!eager(k)) yield* vunmap_page_range(k, cpu, a.start, a.pages);
      a.lazy = false;
    }
    st.vmap_lazy_nr -= nr;
    st.purges++;
    if (nr || forceFlush) yield* flush_tlb_kernel_range(k, cpu, start < end ? start : k.L.VMALLOC_START, start < end ? end : k.L.VMALLOC_END);
  } finally {
    fns.pop();
    st.purging = [];
  }
}

/** purge_vmap_area_lazy() (sync purge). */
export function purge_vmap_area_lazy(k: Kernel, cpu: LinuxCpu): KGen<void> {
  return __purge_vmap_area_lazy(k, cpu, false);
}

/**
 * vm_unmap_aliases(): for each block on a per-CPU free list, its dirty regions — before the fix
 * unmapped here (vunmap_page_range), after it only flushed — then a purge, flushing if any.
 * Blocks with no free space left are off the lists: their dirty regions stay as they are.
 */
export function* vm_unmap_aliases(k: Kernel, cpu: LinuxCpu): KGen<void> {
  k.observers.unmapAliases?.(cpu, false);
  const fns = enterFn(cpu, 'vm_unmap_aliases');
  try {
    const st = vstate(k);
    let flush = false;
    let start = k.L.VMALLOC_END;
    let end = 0n;
    for (const q of st.vbq) {
      for (const vb of q) {
        for (let i = 0; i < VMAP_BBMAP_BITS;) {
          if (!vb.dirtyMap[i]) {
            i++;
            continue;
          }
          let j = i;
          while (j < VMAP_BBMAP_BITS && vb.dirtyMap[j]) j++;
          const s = vb.area.start + BigInt(i * 4096);
          const e = vb.area.start + BigInt(j * 4096);
          if (!eager(k)) yield* vunmap_page_range(k, cpu, s, j - i);
          flush = true;
          if (s < start) start = s;
          if (e > end) end = e;
          i = j;
        }
      }
    }
    yield* __purge_vmap_area_lazy(k, cpu, flush, true, start, end);
  } finally {
    fns.pop();
  }
  k.observers.unmapAliases?.(cpu, true);
}

/**
 * True when kernel address `va` lies in vmap space whose TLB flush is still owed by the lazy purge
 * (a dirty region of a live vmap block, an area on the VM_LAZY_FREE list, or one a purge in
 * progress took off it and has not flushed yet): mm/vmalloc.c lets
 * CPUs keep TLB entries there until __purge_vmap_area_lazy() (or vm_unmap_aliases()) flushes,
 * because the address is not handed out again before that.
 */
export function vmap_flush_pending(k: Kernel, va: bigint): boolean {
  const st = vstate(k);
  for (const a of st.lazyList) if (va >= a.start && va < areaEnd(a)) return true;
  for (const a of st.purging) if (va >= a.start && va < areaEnd(a)) return true;
  const vb = st.blocks.get(va & ~BigInt(VMAP_BLOCK_SIZE - 1));
  return !!vb && va >= vb.area.start && vb.dirtyMap[(Number(va - vb.area.start) / 4096) | 0] === 1;
}

/**
 * True when the ptes at kernel address `va` may still be present after it was unmapped: before the
 * eager clearing (vunmap_clear_ptes=lazy-purge) the lazy purge unmaps a dirty region or a
 * VM_LAZY_FREE area (where vmap_flush_pending() is true); from 2.6.37 vb_free() and
 * free_unmap_vmap_area_noflush() clear them at once and only the TLB flush is deferred.
 */
export function vmap_unmap_pending(k: Kernel, va: bigint): boolean {
  return !eager(k) && vmap_flush_pending(k, va);
}

/**
 * The dirty regions of vmap blocks that vm_unmap_aliases() does not visit: a block with no free
 * space left is off its per-CPU free list (vb_alloc() took it off), and the loop of 2.6.37 (and
 * 4.14) walks only those lists, so such a block's dirty regions keep their TLB entries until the
 * block is wholly dirty and purged. True when `va` lies in one.
 */
export function vmap_dirty_off_list(k: Kernel, va: bigint): boolean {
  const st = vstate(k);
  const vb = st.blocks.get(va & ~BigInt(VMAP_BLOCK_SIZE - 1));
  if (!vb || va < vb.area.start || vb.dirtyMap[(Number(va - vb.area.start) / 4096) | 0] !== 1) return false;
  return !st.vbq[vb.cpu].includes(vb);
}

/** A copy of what vmap_flush_pending() answers now (the oracle compares before and after vm_unmap_aliases()). */
export function vmap_flush_pending_snapshot(k: Kernel): (va: bigint) => boolean {
  const st = vstate(k);
  const areas = st.lazyList.concat(st.purging).map((a) => [a.start, areaEnd(a)] as const);
  const dirty = new Map<bigint, Uint8Array>();
  for (const [start, vb] of st.blocks) if (vb.dirty > 0) dirty.set(start, vb.dirtyMap.slice());
  return (va) => {
    for (const [s, e] of areas) if (va >= s && va < e) return true;
    const start = va & ~BigInt(VMAP_BLOCK_SIZE - 1);
    const m = dirty.get(start);
    return !!m && va >= start && m[(Number(va - start) / 4096) | 0] === 1;
  };
}

/** Statistics for tests. */
export function vmapStats(k: Kernel): { lazyPages: number; purges: number; blocks: number } {
  const st = vstate(k);
  return { lazyPages: st.vmap_lazy_nr, purges: st.purges, blocks: st.blocks.size };
}
