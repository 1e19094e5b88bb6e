/**
 * The page cache of the model's files (mm/filemap.c, 4.14): a file's pages live in its mapping's
 * page_tree; a fault on a MAP_SHARED file vma (memory.ts do_fault) gets the page through
 * generic_file_vm_ops.fault = filemap_fault(), which reads a missing page in with
 * page_cache_read() (the file system's readpage; the model's files are ramfs-like: libfs
 * simple_readpage() zero-fills the page), and a write fault asks filemap_page_mkwrite(). Each
 * page has PG_locked (lock_page()/unlock_page()) and page->mapping (NULL once truncation removed
 * it from the page cache: delete_from_page_cache()).
 *
 * Not modelled: readahead, fault-around (do_fault_around()/filemap_map_pages(): every page is
 * faulted in on its own), dirty accounting and writeback (set_page_dirty has nothing to do for a
 * ramfs page), the LRU, huge pages, shadow entries.
 */
import type { KGen } from '../scheduler/types.js';
import { SPIN } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import { defineKernelState } from './kstate.js';
import { get_page, page_cache_alloc, put_page } from './page.js';
import type { LinuxCpu } from './percpu.js';
import type { AddressSpace, VmAreaStruct } from './structs.js';
import { mustYield } from '../scheduler/point.js';

/** VM_FAULT_* bits of the file fault path (include/linux/mm.h, 4.14). */
export const VM_FAULT_SIGBUS = 0x0002;
export const VM_FAULT_NOPAGE = 0x0100;
export const VM_FAULT_LOCKED = 0x0200;

/** PG_locked and page->mapping of page-cache pages. */
const pageState = defineKernelState(() => ({ locked: new Set<number>(), mapping: new Map<number, AddressSpace>() }));

/** page->mapping (null: not, or no longer, in a page cache). */
export function page_mapping(k: Kernel, pfn: number): AddressSpace | null {
  return pageState(k).mapping.get(pfn) ?? null;
}

/** trylock_page(page). */
export function trylock_page(k: Kernel, pfn: number): boolean {
  const s = pageState(k).locked;
  if (s.has(pfn)) return false;
  s.add(pfn);
  return true;
}

/** lock_page(page): sleeps until PG_locked is clear (the model waits at an interleaving point). */
export function* lock_page(k: Kernel, cpu: LinuxCpu, pfn: number): KGen<void> {
  void cpu;
  while (!trylock_page(k, pfn)) if (mustYield(SPIN)) yield SPIN;
}

/** unlock_page(page). */
export function unlock_page(k: Kernel, pfn: number): void {
  pageState(k).locked.delete(pfn);
}

/** find_get_page(mapping, offset): the cached page with a reference, or null. */
export function find_get_page(k: Kernel, mapping: AddressSpace, offset: number): number | null {
  const pfn = mapping.page_tree.get(offset);
  if (pfn === undefined) return null;
  get_page(k, pfn);
  return pfn;
}

/** i_size_read(inode) rounded up to pages (DIV_ROUND_UP(i_size, PAGE_SIZE)). */
function max_off(mapping: AddressSpace): number {
  return Number((mapping.host.i_size + 4095n) / 4096n);
}

/**
 * page_cache_read(file, offset) (mm/filemap.c): a new page, add_to_page_cache_lru() (locked, the
 * cache's reference), then readpage() = simple_readpage() (zero-filled, unlocked); the caller's
 * reference is dropped. Another task may have added the page meanwhile (-EEXIST): drop ours.
 */
function* page_cache_read(k: Kernel, cpu: LinuxCpu, mapping: AddressSpace, offset: number): KGen<void> {
  const pfn = page_cache_alloc(k);
  if (mustYield('page_cache_read')) yield 'page_cache_read';
  if (mapping.page_tree.has(offset)) {
    put_page(k, pfn);
    return;
  }
  // add_to_page_cache_lru(): __SetPageLocked, get_page (the page cache's reference), the radix tree.
  trylock_page(k, pfn);
  get_page(k, pfn);
  mapping.page_tree.set(offset, pfn);
  pageState(k).mapping.set(pfn, mapping);
  // simple_readpage(): clear_highpage(), SetPageUptodate(), unlock_page().
  for (let o = 0; o < 4096; o += 8) k.m.phys.write64n(pfn * 4096 + o, 0n);
  unlock_page(k, pfn);
  put_page(k, pfn);
  void cpu;
}

/**
 * filemap_fault(vmf) (mm/filemap.c, 4.14): SIGBUS beyond i_size; find_get_page(), or
 * page_cache_read() and retry; lock the page; if truncation took it from the page cache meanwhile
 * (page->mapping changed) retry; re-check i_size under the page lock. Returns VM_FAULT_LOCKED and
 * the locked page with a reference, or VM_FAULT_SIGBUS.
 */
export function* filemap_fault(k: Kernel, cpu: LinuxCpu, vma: VmAreaStruct, pgoff: number): KGen<{ ret: number; page: number }> {
  const mapping = vma.vm_file!.f_mapping;
  if (pgoff >= max_off(mapping)) return { ret: VM_FAULT_SIGBUS, page: -1 };
  for (;;) {
    const page = find_get_page(k, mapping, pgoff);
    if (page === null) {
      yield* page_cache_read(k, cpu, mapping, pgoff); // no_cached_page:
      continue; // goto retry_find
    }
    yield* lock_page(k, cpu, page); // lock_page_or_retry()
    if (page_mapping(k, page) !== mapping) {
      unlock_page(k, page);
      put_page(k, page);
      continue; // goto retry_find
    }
    if (pgoff >= max_off(mapping)) {
      unlock_page(k, page);
      put_page(k, page);
      return { ret: VM_FAULT_SIGBUS, page: -1 };
    }
    return { ret: VM_FAULT_LOCKED, page };
  }
}

/**
 * filemap_page_mkwrite(vmf) (mm/filemap.c, 4.14): lock the page; VM_FAULT_NOPAGE (the fault is
 * retried) if truncation removed it from the file meanwhile; else set_page_dirty() and return it
 * locked.
 */
export function* filemap_page_mkwrite(k: Kernel, cpu: LinuxCpu, vma: VmAreaStruct, page: number): KGen<number> {
  yield* lock_page(k, cpu, page);
  if (page_mapping(k, page) !== vma.vm_file!.f_mapping) {
    unlock_page(k, page);
    return VM_FAULT_NOPAGE;
  }
  return VM_FAULT_LOCKED;
}

/**
 * delete_from_page_cache(page) (mm/filemap.c): the page leaves the radix tree, page->mapping =
 * NULL, and the page cache's reference is dropped (the last reference frees the frame).
 */
export function delete_from_page_cache(k: Kernel, mapping: AddressSpace, index: number, pfn: number): void {
  mapping.page_tree.delete(index);
  pageState(k).mapping.delete(pfn);
  put_page(k, pfn);
}
