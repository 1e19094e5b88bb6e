/**
 * ftruncate() of a file of the model (fs/open.c, fs/attr.c, fs/libfs.c, mm/truncate.c, 4.14):
 * do_sys_ftruncate() -> do_truncate() takes inode_lock() and calls notify_change() -> the file
 * system's setattr, for the model's ramfs-like files libfs simple_setattr() -> truncate_setsize():
 * i_size_write(), then truncate_pagecache(): unmap_mapping_range() (memory.ts: every vma of every
 * mm that maps the pages beyond the new end is zapped, with its TLB flush), truncate_inode_pages()
 * (each page leaves the page cache and its last reference is dropped: the frame is freed), and
 * unmap_mapping_range() again (for private COWed pages; none in the model).
 *
 * Not modelled: partial pages (the model truncates to whole pages), exceptional (shadow/DAX)
 * entries, writeback, setattr_prepare()'s permission checks, timestamps, leases.
 */
import type { KGen } from '../scheduler/types.js';
import { enterFn } from '../scheduler/traced.js';
import { delete_from_page_cache, lock_page, page_mapping, trylock_page, unlock_page } from './filemap.js';
import type { Kernel } from './kernel.js';
import { unmap_mapping_range } from './memory.js';
import { page_mapcount } from './page.js';
import type { LinuxCpu } from './percpu.js';
import { down_write, up_write } from './rwsem.js';
import { cond_resched } from './sched.js';
import type { AddressSpace, Inode, LinuxFile } from './structs.js';
import { mustYield } from '../scheduler/point.js';

/** Interleaving point after the page cache of a truncated file was emptied beyond the new end. */
export const LBL_TRUNCATE_INODE_PAGES = 'truncate_inode_pages_range';

/**
 * truncate_inode_page(mapping, page) (mm/truncate.c): a page still mapped (a fault raced with the
 * first unmap) is unmapped alone, then truncate_complete_page() -> delete_from_page_cache().
 */
function* truncate_inode_page(k: Kernel, cpu: LinuxCpu, mapping: AddressSpace, index: number, pfn: number): KGen<void> {
  if (page_mapcount(k, pfn) > 0) yield* unmap_mapping_range(k, cpu, mapping, BigInt(index) * 4096n, 4096n, false);
  if (page_mapping(k, pfn) !== mapping) return; // truncate_complete_page(): -EIO
  delete_from_page_cache(k, mapping, index, pfn);
}

/**
 * truncate_inode_pages_range(mapping, lstart, -1) (mm/truncate.c, 4.14): a first pass over the
 * pages from the first whole page on, skipping those it cannot trylock_page(); then a second pass
 * that waits for each page lock (lock_page()). Each page goes through truncate_inode_page().
 */
function* truncate_inode_pages_range(k: Kernel, cpu: LinuxCpu, mapping: AddressSpace, lstart: bigint): KGen<void> {
  const start = Number((lstart + 4095n) / 4096n);
  const beyond = () => [...mapping.page_tree.entries()].filter(([i]) => i >= start).sort((a, b) => a[0] - b[0]);
  const fns = enterFn(cpu, 'truncate_inode_pages_range');
  try {
    for (const [index, pfn] of beyond()) {
      if (mapping.page_tree.get(index) !== pfn || !trylock_page(k, pfn)) continue;
      yield* truncate_inode_page(k, cpu, mapping, index, pfn);
      unlock_page(k, pfn);
      yield* cond_resched(k, cpu);
    }
    for (const [index, pfn] of beyond()) {
      yield* lock_page(k, cpu, pfn);
      if (mapping.page_tree.get(index) === pfn) yield* truncate_inode_page(k, cpu, mapping, index, pfn);
      unlock_page(k, pfn);
    }
  } finally {
    fns.pop();
  }
  if (mustYield(LBL_TRUNCATE_INODE_PAGES)) yield LBL_TRUNCATE_INODE_PAGES;
}

/**
 * truncate_pagecache(inode, newsize) (mm/truncate.c, 4.14 lines 742-759): unmap_mapping_range()
 * from holebegin = round_up(newsize, PAGE_SIZE), truncate_inode_pages(mapping, newsize), and
 * unmap_mapping_range() again.
 */
export function* truncate_pagecache(k: Kernel, cpu: LinuxCpu, inode: Inode, newsize: bigint): KGen<void> {
  const mapping = inode.i_mapping;
  const holebegin = (newsize + 4095n) & ~4095n;
  const fns = enterFn(cpu, 'truncate_pagecache');
  try {
    yield* unmap_mapping_range(k, cpu, mapping, holebegin, 0n, true);
    yield* truncate_inode_pages_range(k, cpu, mapping, newsize);
    yield* unmap_mapping_range(k, cpu, mapping, holebegin, 0n, true);
  } finally {
    fns.pop();
  }
}

/** truncate_setsize(inode, newsize) (mm/truncate.c): i_size_write(), then truncate_pagecache(). */
export function truncate_setsize(k: Kernel, cpu: LinuxCpu, inode: Inode, newsize: bigint): KGen<void> {
  inode.i_size = newsize; // i_size_write(); pagecache_isize_extended() has nothing to do without partial pages
  return truncate_pagecache(k, cpu, inode, newsize);
}

/**
 * do_sys_ftruncate(fd, length, small) -> do_truncate(dentry, length, ATTR_MTIME|ATTR_CTIME, file)
 * (fs/open.c, 4.14): inode_lock(), notify_change() -> simple_setattr() (fs/libfs.c) ->
 * truncate_setsize(), inode_unlock(). Returns 0 or -EINVAL (negative length).
 */
export function* do_sys_ftruncate(k: Kernel, cpu: LinuxCpu, file: LinuxFile, length: bigint): KGen<number> {
  if (length < 0n) return -22;
  const inode = file.f_inode;
  const fns = enterFn(cpu, 'do_sys_ftruncate');
  try {
    yield* down_write(k, cpu, inode.i_rwsem); // inode_lock()
    const setattr = enterFn(cpu, 'simple_setattr'); // notify_change()
    try {
      yield* truncate_setsize(k, cpu, inode, length);
    } finally {
      setattr.pop();
    }
    up_write(inode.i_rwsem, cpu.curr); // inode_unlock()
    return 0;
  } finally {
    fns.pop();
  }
}
