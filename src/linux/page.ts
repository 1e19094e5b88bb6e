/**
 * The counts of `struct page` that copy-on-write needs, for anonymous user pages: page->_count
 * (get_page/put_page, include/linux/mm.h and mm/swap.c) and page->_mapcount (page_mapcount,
 * page_add_new_anon_rmap/page_dup_rmap/page_remove_rmap, mm/rmap.c), 3.x. A page allocated by
 * the fault path is registered with both counts at 1; copy_one_pte() (fork) raises both; the
 * zap paths drop the mapcount when they clear a pte and put_page() the reference after the TLB
 * flush, which frees the frame when the last reference goes. Frames never registered (page
 * tables, kernel pages) are freed at once by put_page(), as before counts existed.
 *
 * Page-cache pages of the model's files (filemap.ts) are registered by page_cache_alloc() with
 * the allocator's reference and no mapping; the page cache holds one reference
 * (add_to_page_cache_lru), each pte one (finish_fault) and one mapcount (page_add_file_rmap).
 *
 * Not modelled: references held by GUP (the model's get_user_pages_fast() counts pinned pages
 * but never holds them), swap, KSM.
 */
import type { KGen } from '../scheduler/types.js';
import { DONE } from '../scheduler/point.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import type { MmStruct } from './structs.js';
import { defineKernelState } from './kstate.js';

/** page->_count and page_mapcount() (_mapcount + 1) of one anonymous page. */
interface PageCounts {
  count: number;
  mapcount: number;
  /** PageAnon(page): false for a page-cache page. */
  anon: boolean;
}

const counts = defineKernelState(() => new Map<number, PageCounts>());

/** page_count(page): references; 1 for a frame that is not a registered anonymous page. */
export function page_count(k: Kernel, pfn: number): number {
  return counts(k).get(pfn)?.count ?? 1;
}

/** page_mapcount(page): ptes mapping the page; 1 for a frame that is not a registered anonymous page. */
export function page_mapcount(k: Kernel, pfn: number): number {
  return counts(k).get(pfn)?.mapcount ?? 1;
}

/** PageAnon(page): false for a page-cache page; a frame the model does not track counts as anonymous. */
export function PageAnon(k: Kernel, pfn: number): boolean {
  return counts(k).get(pfn)?.anon ?? true;
}

/** page_add_new_anon_rmap(page, vma, address) of a freshly allocated page (count 1 from the allocator, mapcount 1). */
export function page_add_new_anon_rmap(k: Kernel, pfn: number): void {
  counts(k).set(pfn, { count: 1, mapcount: 1, anon: true });
}

/** __page_cache_alloc(): a fresh page for the page cache (the allocator's reference, not mapped). */
export function page_cache_alloc(k: Kernel): number {
  const pfn = k.m.frames.alloc({ zero: false });
  counts(k).set(pfn, { count: 1, mapcount: 0, anon: false });
  return pfn;
}

/** page_add_file_rmap(page): one more pte maps a page-cache page. */
export function page_add_file_rmap(k: Kernel, pfn: number): void {
  entry(k, pfn).mapcount++;
}

function entry(k: Kernel, pfn: number): PageCounts {
  let c = counts(k).get(pfn);
  if (!c) counts(k).set(pfn, (c = { count: 1, mapcount: 1, anon: true }));
  return c;
}

/** get_page(page) / page_cache_get(page). */
export function get_page(k: Kernel, pfn: number): void {
  entry(k, pfn).count++;
}

/** page_dup_rmap(page): one more pte maps the page (fork). */
export function page_dup_rmap(k: Kernel, pfn: number): void {
  entry(k, pfn).mapcount++;
}

/**
 * page_remove_rmap(page): one pte less; when the last mapping of an anonymous page goes, the memcg
 * uncharge and the other hooks of the model run (mmHooks(k).page_remove_rmap, e.g.
 * mem_cgroup_uncharge_page()); a page-cache page only loses a mapcount (page_remove_file_rmap():
 * it stays charged while it is in the page cache).
 */
export function page_remove_rmap(k: Kernel, cpu: LinuxCpu, mm: MmStruct, pfn: number): KGen<void> {
  const c = counts(k).get(pfn);
  if (c) {
    if (c.mapcount <= 0) throw new Error(`page_remove_rmap: pfn 0x${pfn.toString(16)} is not mapped (mapcount ${c.mapcount})`);
    if (--c.mapcount > 0 || !c.anon) return DONE; // "page still mapped by someone else?"
  }
  const hook = mmHooks(k).page_remove_rmap;
  if (hook) return hook(k, cpu, mm, pfn);
  return DONE;
}

/** put_page(page) / page_cache_release(page): drop a reference; the last one frees the frame. */
export function put_page(k: Kernel, pfn: number): void {
  const m = counts(k);
  const c = m.get(pfn);
  if (c) {
    if (c.count <= 0) throw new Error(`put_page: pfn 0x${pfn.toString(16)} has no reference left`);
    if (--c.count > 0) return;
    m.delete(pfn);
  }
  k.m.frames.free(pfn);
}

/** Optional hooks other models attach to generic mm code (e.g. memcg accounting). */
export interface MmHooks {
  /** page_remove_rmap(page): called (page.ts) when zap_pte_range() or do_wp_page() removes a page's last mapping. */
  page_remove_rmap?: (k: Kernel, cpu: LinuxCpu, mm: MmStruct, pfn: number) => KGen<void>;
}

/** The hooks of a kernel. */
export const mmHooks = defineKernelState((): MmHooks => ({}));
