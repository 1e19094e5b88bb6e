/**
 * The fuzzer's program representation: ONE vocabulary of memory-management operations, the same
 * for every preset. A program is a set of tasks (user processes or kernel threads, each pinned to
 * a CPU and running a list of operations) plus interrupt sources (IRQs and NMIs whose handlers
 * run a list of kernel operations). Operations name kernel objects by small slot numbers, so
 * that any mutation of a program is still a valid program: an operation on an empty slot does
 * nothing.
 *
 * Nothing here knows of any scenario: the generator (generate.ts) draws from this vocabulary
 * only, and the interpreter binding a target (linux-target.ts) maps each operation onto the
 * model's public functions (mmap -> do_mmap, munmap -> do_munmap -> unmap_region/free_pgtables,
 * vmalloc -> __vmalloc_node_range, vm_unmap_ram -> vb_free/free_unmap_vmap_area, ...).
 */
import { PagewalkError } from '../core/errors.js';

/** Number of slots per object kind (user regions per mm, vmalloc areas, vmaps, per-cpu chunks). */
export const SLOTS = 4;
/** Largest size, in pages, of a user region, a vmalloc area or a vm_map_ram mapping. */
export const MAX_PAGES = 8;
/** Largest number of tasks in a program. */
export const MAX_TASKS = 6;
/** Largest number of operations of one task or handler. */
export const MAX_OPS = 24;
/** Largest number of interrupt sources. */
export const MAX_IRQS = 3;
/** Number of files (in-memory, shared by every process of a program, MAX_PAGES pages long at the start). One: every mapping and truncation of a program meets on it. */
export const FILES = 1;
/** Number of devices of the model PFN-mapping driver (src/linux/pfnmap.ts; shared by every process of a program, a MAX_PAGES-page buffer each). */
export const DEVS = 1;
/** Largest `n` of a fail_nth operation. */
export const MAX_FAIL_NTH = 4;
/**
 * Entries of the pool of page-table pages a Xen PV guest kernel allocates (the gpt_ operations):
 * enough for a row of tables longer than any loop (a loop addresses the pool relative to its iteration).
 */
export const GPT_SLOTS = 80;
/** What gpt_update writes (see the operation). */
export type GptEntry = 'ro' | 'rw' | 'none' | 'foreign-ro' | 'foreign-rw';
export const GPT_ENTRIES: readonly GptEntry[] = ['ro', 'rw', 'none', 'foreign-ro', 'foreign-rw'];
/** Entries (0..GPT_INDICES-1) of a pool table that gpt_update writes. */
export const GPT_INDICES = 4;
/** Largest iteration count of a loop. */
export const MAX_LOOP = 64;

export type AccessKindName = 'read' | 'write' | 'exec';
export type Prot = 'r' | 'rw' | 'rx';
/** Kernel objects a kernel access or a handler can touch. */
export type KObj = 'vmalloc' | 'vmap' | 'percpu';
/** PTE bits an entry update may set (mod_lN_entry of an existing entry's bits). */
export type PteBit = 'rw' | 'pse' | 'accessed' | 'dirty' | 'global' | 'nx';
export const PTE_BITS: readonly PteBit[] = ['rw', 'pse', 'accessed', 'dirty', 'global', 'nx'];
/** Page-table level of an entry: 1 = pte .. 4 = pgd. */
export type PtLevel = 1 | 2 | 3 | 4;

/** One operation. `slot` values are in [0, SLOTS); `page` in [0, MAX_PAGES). */
export type Op =
  /** mmap() of an anonymous user range in the task's mm; `populate` (MAP_POPULATE) faults every page in at once. */
  | { op: 'mmap'; slot: number; pages: number; prot: Prot; populate: boolean }
  /**
   * mmap(MAP_SHARED) of the first `pages` pages of file `file` at a user range, or (`whole`) of
   * its whole slot (2 MiB, beyond the end of the file: a large mapping whose mremap moves its ptes
   * in several LATENCY_LIMIT extents).
   */
  | { op: 'mmap_file'; slot: number; file: number; pages: number; prot: Prot; whole: boolean }
  /**
   * mremap(MREMAP_MAYMOVE | MREMAP_FIXED) of a whole user range to slot `to` (whatever was mapped
   * there is unmapped first); with `from` (1 .. pages - 1, anonymous memory) only its pages [from,
   * pages) move, and the range keeps its first pages (and their page table).
   */
  | { op: 'mremap'; slot: number; to: number; from?: number }
  /** ftruncate() of file `file` to `pages` pages: mappings beyond the new end are zapped, the pages freed; accesses there get SIGBUS. */
  | { op: 'ftruncate'; file: number; pages: number }
  /**
   * mmap(MAP_SHARED) of the first `pages` pages of device `dev`'s buffer: the driver allocates the
   * buffer if it has none and maps its frames with remap_pfn_range() (a VM_PFNMAP vma).
   */
  | { op: 'mmap_dev'; slot: number; dev: number; pages: number; prot: Prot }
  /** mmap(MAP_PRIVATE) of the first `pages` pages of file `file`: copy-on-write (a write, or a forced write to a read-only one, copies the page). */
  | { op: 'mmap_priv'; slot: number; file: number; pages: number; prot: Prot }
  /** A write of 8 bytes to /proc/self/mem at a page of a user range: get_user_pages(FOLL_FORCE | FOLL_WRITE), which writes through a read-only private mapping into a copy. */
  | { op: 'mem_write'; slot: number; page: number }
  /** madvise(MADV_DONTNEED) of a whole user range: its pages are zapped (anonymous memory reads as zero again, a private file mapping shows the file again). */
  | { op: 'madvise'; slot: number }
  /** The driver's release of device `dev`'s buffer (an ioctl): unmap_mapping_range() of every mapping of it, then the frames are freed; its mappings then give SIGBUS. */
  | { op: 'dev_release'; dev: number }
  /**
   * munmap() of a user range: PTEs cleared, page tables freed (free_pgtables), TLB flushed; with
   * `from` (1 .. pages - 1, anonymous memory) only its pages [from, pages): the vma is split and the
   * page table stays for the first pages.
   */
  | { op: 'munmap'; slot: number; from?: number }
  /** mprotect() of a whole user range: vma flags changed, present PTEs rewritten in lazy MMU mode, flush_tlb_range(). */
  | { op: 'mprotect'; slot: number; prot: Prot }
  /** A user-mode access (cpl 3) to one page of a user range. */
  | { op: 'uaccess'; slot: number; page: number; kind: AccessKindName }
  /** get_user_pages_fast() over a user range: lockless software walk with IRQs off. */
  | { op: 'gup_fast'; slot: number; pages: number; write: boolean }
  /** fork(): start task `task` (a 'fork' task) as a child with a copy of this task's mm. */
  | { op: 'fork'; task: number }
  /** clone(CLONE_VM): start task `task` (a 'fork' task) as a thread sharing this task's mm. */
  | { op: 'clone'; task: number }
  /** Create memory cgroup `slot` if needed (its per-cpu statistics are vmalloc'ed) and move this process into it. */
  | { op: 'memcg'; slot: number }
  /** vmalloc() of `pages` pages into a kernel slot. */
  | { op: 'vmalloc'; slot: number; pages: number }
  /** vfree() of a kernel slot. */
  | { op: 'vfree'; slot: number }
  /**
   * set_memory_nx() (`nx`) or set_memory_x() of a vmalloc slot, as module RONX and the BPF JIT do
   * on module_alloc() memory: vm_unmap_aliases() first, then the ptes, then a flush on every CPU.
   */
  | { op: 'set_memory'; slot: number; nx: boolean }
  /** vm_map_ram() of `pages` freshly allocated pages. */
  | { op: 'vm_map_ram'; slot: number; pages: number }
  /** vm_unmap_ram() of a vm_map_ram slot, then the pages are freed back to the allocator. */
  | { op: 'vm_unmap_ram'; slot: number }
  /** alloc_percpu(): per-cpu memory (in vmalloc space on 64-bit). */
  | { op: 'percpu_alloc'; slot: number }
  /** free_percpu(). */
  | { op: 'percpu_free'; slot: number }
  /** A kernel-mode access (cpl 0) to a kernel object (a page of it). */
  | { op: 'kaccess'; obj: KObj; slot: number; page: number; kind: AccessKindName }
  /**
   * A PV guest kernel's HYPERVISOR_mmu_update setting `bit` in an existing entry of init_mm's
   * tables: the level-`level` entry on the walk to a kernel object, or (`linear`) the linear entry
   * an earlier pt_linear of the same object and level installed. Xen PV only (nothing elsewhere).
   */
  | { op: 'pt_set'; obj: KObj; slot: number; level: PtLevel; linear: boolean; bit: PteBit }
  /**
   * A read-only linear page-table entry (Xen PV ABI): in a free entry of the level-`level` table on
   * the walk to a kernel object, an entry pointing to the level-`level` table on the walk to object
   * `to` of the same kind (the same table: a self-map). Xen PV only.
   */
  | { op: 'pt_linear'; obj: KObj; slot: number; level: 2 | 3 | 4; to: number }
  /** Clears the linear entry an earlier pt_linear installed (Xen drops its type reference). Xen PV only. */
  | { op: 'pt_unlinear'; obj: KObj; slot: number; level: 2 | 3 | 4 }
  /** pt_set's counterpart: HYPERVISOR_mmu_update clearing `bit` in the same entry. Xen PV only. */
  | { op: 'pt_clear'; obj: KObj; slot: number; level: PtLevel; linear: boolean; bit: PteBit }
  /**
   * make_lowmem_page_readonly() (`writable` false) or make_lowmem_page_readwrite() of the frame
   * behind a page of a kernel object: its alias in the kernel direct map, as a PV kernel write-protects
   * every page it is about to pin as a page table (HYPERVISOR_update_va_mapping). Xen PV only.
   */
  | { op: 'lowmem_rw'; obj: KObj; slot: number; page: number; writable: boolean }
  /**
   * A direct MMUEXT_PIN_L<level>_TABLE of the frame behind a page of a kernel object (Xen refuses it
   * while the frame has a writable mapping or is not a valid table: an rc the guest ignores). Xen PV only.
   */
  | { op: 'pt_pin'; obj: KObj; slot: number; page: number; level: PtLevel }
  /** MMUEXT_UNPIN_TABLE of the same frame. Xen PV only. */
  | { op: 'pt_unpin'; obj: KObj; slot: number; page: number }
  /**
   * A loop: the next `len` operations of the list (its body; a loop in it is skipped) run `count`
   * times, iteration i = 0, 1, ... or (`reverse`) count-1 down to 0. In the body, indices into the
   * guest page-table pool (`pt`, and gpt_update's `to`) are relative to the iteration: pool entry
   * `pt + i`, so that `pt=1` is this iteration's page and `pt=0` the previous iteration's.
   */
  | { op: 'loop'; count: number; len: number; reverse: boolean }
  /**
   * A Xen PV guest kernel allocates a zeroed page for a level-`level` page table (as pte_alloc_one()
   * and its kin do) into entry `pt` of the program's guest page-table pool. Xen PV only.
   */
  | { op: 'gpt_alloc'; pt: number; level: PtLevel }
  /** make_lowmem_page_readonly() (`writable` false) or make_lowmem_page_readwrite() of pool page `pt` (HYPERVISOR_update_va_mapping of its direct-map alias). Xen PV only. */
  | { op: 'gpt_lowmem'; pt: number; writable: boolean }
  /** MMUEXT_PIN_L<level>_TABLE of pool page `pt` at the level it was allocated for (Xen refuses a page with a writable mapping or invalid entries). Xen PV only. */
  | { op: 'gpt_pin'; pt: number }
  /** MMUEXT_UNPIN_TABLE of pool page `pt`. Xen PV only. */
  | { op: 'gpt_unpin'; pt: number }
  /**
   * HYPERVISOR_mmu_update of entry `index` of pool page `pt`: a present entry mapping pool page
   * `to` read-only (`ro`) or writable (`rw`), or an empty entry (`none`). Whether that is a table
   * one level down, a same-level (linear) table, or an L1 mapping of a frame typed as a page table
   * is up to the levels; Xen validates (or refuses) it. `foreign-ro` / `foreign-rw`: an entry
   * naming a frame the guest does not own — another domain's (knob xen_foreign_frames; `to` picks
   * which) — which Xen must refuse at every level. `via: 'store'`: written with a plain store
   * through the page's direct-map alias instead of the hypercall (Xen emulates a trapped store
   * into a pinned L1, refuses it elsewhere; an ordinary page just takes it). Xen PV only.
   */
  | { op: 'gpt_update'; pt: number; index: number; to: number; entry: GptEntry; via?: 'store' }
  /** An explicit TLB flush: this CPU's TLB, the task's mm on all CPUs, or everything. */
  | { op: 'flush_tlb'; scope: 'local' | 'mm' | 'all' }
  /**
   * Fault injection (syzkaller's fault-injection mode): write `n` to /proc/thread-self/fail-nth,
   * so that the n-th fault-injection point this task passes afterwards fails (a non-sleeping page
   * allocation returns NULL: src/linux/page_alloc.ts).
   */
  | { op: 'fail_nth'; n: number }
  /** schedule(): give up the CPU voluntarily. */
  | { op: 'schedule' }
  /** exit(): the task exits now (do_exit: exit_mm, mmput, exit_mmap). Tasks also exit after their last op. */
  | { op: 'exit' };

export type OpName = Op['op'];

/** Every operation name, in a fixed order (the generator and the validator use it). */
export const OP_NAMES: readonly OpName[] = [
  'mmap',
  'mmap_file',
  'mremap',
  'ftruncate',
  'mmap_dev',
  'dev_release',
  'mmap_priv',
  'mem_write',
  'madvise',
  'munmap',
  'mprotect',
  'uaccess',
  'gup_fast',
  'fork',
  'clone',
  'memcg',
  'vmalloc',
  'vfree',
  'set_memory',
  'vm_map_ram',
  'vm_unmap_ram',
  'percpu_alloc',
  'percpu_free',
  'kaccess',
  'pt_set',
  'pt_linear',
  'pt_unlinear',
  'pt_clear',
  'lowmem_rw',
  'pt_pin',
  'pt_unpin',
  'loop',
  'gpt_alloc',
  'gpt_lowmem',
  'gpt_pin',
  'gpt_unpin',
  'gpt_update',
  'flush_tlb',
  'fail_nth',
  'schedule',
  'exit',
];

/** Operations allowed in an interrupt or NMI handler (no sleeping, no user memory). */
export const HANDLER_OPS: readonly OpName[] = ['kaccess'];

/** A task: a user process or a kernel thread, pinned to a CPU. */
export interface TaskProg {
  cpu: number;
  /** A kernel thread (no mm of its own: borrows the previous task's active_mm). */
  kthread: boolean;
  /** 'boot': runnable at start; 'fork': started by a fork op of another task (never, if none names it). */
  spawn: 'boot' | 'fork';
  ops: Op[];
}

/** An interrupt source whose handler touches kernel memory. */
export interface IrqProg {
  kind: 'irq' | 'nmi';
  /** CPU it is delivered to; -1 for any CPU. */
  cpu: number;
  /** How many times it may be delivered in a run. */
  count: number;
  ops: Op[];
}

/** A program of the fuzzer. */
export interface Program {
  /** CPUs the program uses (tasks and interrupt sources name CPUs below this). */
  cpus: number;
  tasks: TaskProg[];
  irqs: IrqProg[];
}

/** How the scheduler chooses: a strategy and its seed. */
export interface Schedule {
  /** random: the scheduler's random walk; pct: PCT; sticky: a random walk that keeps a CPU running (schedule.ts). */
  strategy: 'random' | 'pct' | 'sticky';
  seed: number;
  /** Random walk: probability of taking an enabled event (IRQ, NMI, IPI, preemption). */
  eventProbability?: number;
  /** PCT: bug depth. */
  depth?: number;
  /** PCT: expected run length k (change points are drawn from 1..k). */
  steps?: number;
  /** Sticky walk: probability of running the same CPU again. */
  stickiness?: number;
  /** Sticky walk: probability of leaving a CPU that stands where a critical section ended (schedule.ts RELEASE_POINTS). */
  release?: number;
  /**
   * A focused schedule (Generator.focus): the scheduler choices (action codes) of an earlier run
   * to take first, as long as each is enabled; the strategy decides from the first one that is not
   * on, or once they run out.
   */
  prefix?: number[];
  /** A focused schedule: once the prefix is taken, CPU `cpu` stalls for `steps` scheduler steps while the other CPUs run (schedule.ts FocusStrategy). */
  hold?: { cpu: number; steps: number };
}

/** Number of operations of a program (its size, for shrinking and reports). */
export function programSize(p: Program): number {
  let n = 0;
  for (const t of p.tasks) n += t.ops.length;
  for (const q of p.irqs) n += q.ops.length;
  return n;
}

/** A deep copy (programs are plain JSON). */
export function cloneProgram(p: Program): Program {
  return {
    cpus: p.cpus,
    tasks: p.tasks.map((t) => ({ cpu: t.cpu, kthread: t.kthread, spawn: t.spawn, ops: t.ops.map((o) => ({ ...o })) })),
    irqs: p.irqs.map((q) => ({ kind: q.kind, cpu: q.cpu, count: q.count, ops: q.ops.map((o) => ({ ...o })) })),
  };
}

/** One line per operation, e.g. `mmap slot=0 pages=2 prot=rw`. */
export function formatOp(o: Op): string {
  const parts: string[] = [o.op];
  for (const [k, v] of Object.entries(o)) if (k !== 'op') parts.push(`${k}=${v}`);
  return parts.join(' ');
}

/** The program as readable text (for replay explanations and reports). */
export function formatProgram(p: Program): string[] {
  const out: string[] = [`${p.cpus} CPU${p.cpus > 1 ? 's' : ''}`];
  p.tasks.forEach((t, i) => {
    out.push(`task ${i} (${t.kthread ? 'kernel thread' : 'process'}, cpu${t.cpu}, ${t.spawn === 'boot' ? 'runnable at boot' : 'started by fork'}):`);
    for (const o of t.ops) out.push(`  ${formatOp(o)}`);
  });
  p.irqs.forEach((q, i) => {
    out.push(`${q.kind} ${i} (${q.cpu < 0 ? 'any CPU' : `cpu${q.cpu}`}, up to ${q.count}x):`);
    for (const o of q.ops) out.push(`  ${formatOp(o)}`);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation of programs read from trace files: every field is checked, errors name the path.

function bad(path: string, why: string): never {
  throw new PagewalkError('EBAD_INPUT', `${path}: ${why}`);
}
function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(path, `expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return v as number;
}
function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) bad(path, `expected one of ${values.join('|')}, got ${JSON.stringify(v)}`);
  return v as T;
}
function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'expected an object');
  return v as Record<string, unknown>;
}
function arr(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) bad(path, 'expected an array');
  if ((v as unknown[]).length > max) bad(path, `at most ${max} elements, got ${(v as unknown[]).length}`);
  return v as unknown[];
}

const KINDS: readonly AccessKindName[] = ['read', 'write', 'exec'];
const PROTS: readonly Prot[] = ['r', 'rw', 'rx'];

/** Validates one operation. */
export function parseOp(v: unknown, path: string, ntasks: number): Op {
  const o = obj(v, path);
  const op = oneOf(o.op, `${path}.op`, OP_NAMES);
  const slot = (): number => int(o.slot, `${path}.slot`, 0, SLOTS - 1);
  const pages = (): number => int(o.pages, `${path}.pages`, 1, MAX_PAGES);
  const kobj = (): KObj => oneOf(o.obj, `${path}.obj`, ['vmalloc', 'vmap', 'percpu'] as const);
  // an optional first page of a partial munmap/mremap (absent: the whole range)
  const from = (): { from?: number } => (o.from === undefined ? {} : { from: int(o.from, `${path}.from`, 1, MAX_PAGES - 1) });
  const gpt = (): number => int(o.pt, `${path}.pt`, 0, GPT_SLOTS - 1);
  switch (op) {
    case 'mmap':
      if (typeof o.populate !== 'boolean') bad(`${path}.populate`, 'expected true or false');
      return { op, slot: slot(), pages: pages(), prot: oneOf(o.prot, `${path}.prot`, PROTS), populate: o.populate as boolean };
    case 'mprotect':
      return { op, slot: slot(), prot: oneOf(o.prot, `${path}.prot`, PROTS) };
    case 'mmap_file':
      if (typeof o.whole !== 'boolean') bad(`${path}.whole`, 'expected true or false');
      return {
        op,
        slot: slot(),
        file: int(o.file, `${path}.file`, 0, FILES - 1),
        pages: pages(),
        prot: oneOf(o.prot, `${path}.prot`, PROTS),
        whole: o.whole as boolean,
      };
    case 'mremap':
      return { op, slot: slot(), to: int(o.to, `${path}.to`, 0, SLOTS - 1), ...from() };
    case 'ftruncate':
      return { op, file: int(o.file, `${path}.file`, 0, FILES - 1), pages: int(o.pages, `${path}.pages`, 0, MAX_PAGES) };
    case 'mmap_dev':
      return { op, slot: slot(), dev: int(o.dev, `${path}.dev`, 0, DEVS - 1), pages: pages(), prot: oneOf(o.prot, `${path}.prot`, PROTS) };
    case 'dev_release':
      return { op, dev: int(o.dev, `${path}.dev`, 0, DEVS - 1) };
    case 'mmap_priv':
      return { op, slot: slot(), file: int(o.file, `${path}.file`, 0, FILES - 1), pages: pages(), prot: oneOf(o.prot, `${path}.prot`, PROTS) };
    case 'mem_write':
      return { op, slot: slot(), page: int(o.page, `${path}.page`, 0, MAX_PAGES - 1) };
    case 'madvise':
      return { op, slot: slot() };
    case 'munmap':
      return { op, slot: slot(), ...from() };
    case 'vfree':
    case 'vm_unmap_ram':
    case 'percpu_alloc':
    case 'percpu_free':
    case 'memcg':
      return { op, slot: slot() };
    case 'uaccess':
      return { op, slot: slot(), page: int(o.page, `${path}.page`, 0, MAX_PAGES - 1), kind: oneOf(o.kind, `${path}.kind`, KINDS) };
    case 'gup_fast':
      if (typeof o.write !== 'boolean') bad(`${path}.write`, 'expected true or false');
      return { op, slot: slot(), pages: pages(), write: o.write as boolean };
    case 'fork':
    case 'clone':
      return { op, task: int(o.task, `${path}.task`, 0, Math.max(0, ntasks - 1)) };
    case 'vmalloc':
    case 'vm_map_ram':
      return { op, slot: slot(), pages: pages() };
    case 'set_memory':
      if (typeof o.nx !== 'boolean') bad(`${path}.nx`, 'expected true or false');
      return { op, slot: slot(), nx: o.nx as boolean };
    case 'kaccess':
      return { op, obj: kobj(), slot: slot(), page: int(o.page, `${path}.page`, 0, MAX_PAGES - 1), kind: oneOf(o.kind, `${path}.kind`, KINDS) };
    case 'pt_set':
    case 'pt_clear':
      if (typeof o.linear !== 'boolean') bad(`${path}.linear`, 'expected true or false');
      return {
        op,
        obj: kobj(),
        slot: slot(),
        level: int(o.level, `${path}.level`, 1, 4) as PtLevel,
        linear: o.linear as boolean,
        bit: oneOf(o.bit, `${path}.bit`, PTE_BITS),
      };
    case 'pt_linear':
      return { op, obj: kobj(), slot: slot(), level: int(o.level, `${path}.level`, 2, 4) as 2 | 3 | 4, to: int(o.to, `${path}.to`, 0, SLOTS - 1) };
    case 'pt_unlinear':
      return { op, obj: kobj(), slot: slot(), level: int(o.level, `${path}.level`, 2, 4) as 2 | 3 | 4 };
    case 'lowmem_rw':
      if (typeof o.writable !== 'boolean') bad(`${path}.writable`, 'expected true or false');
      return { op, obj: kobj(), slot: slot(), page: int(o.page, `${path}.page`, 0, MAX_PAGES - 1), writable: o.writable as boolean };
    case 'pt_pin':
      return { op, obj: kobj(), slot: slot(), page: int(o.page, `${path}.page`, 0, MAX_PAGES - 1), level: int(o.level, `${path}.level`, 1, 4) as PtLevel };
    case 'pt_unpin':
      return { op, obj: kobj(), slot: slot(), page: int(o.page, `${path}.page`, 0, MAX_PAGES - 1) };
    case 'loop':
      if (typeof o.reverse !== 'boolean') bad(`${path}.reverse`, 'expected true or false');
      return { op, count: int(o.count, `${path}.count`, 1, MAX_LOOP), len: int(o.len, `${path}.len`, 1, MAX_OPS), reverse: o.reverse as boolean };
    case 'gpt_alloc':
      return { op, pt: gpt(), level: int(o.level, `${path}.level`, 1, 4) as PtLevel };
    case 'gpt_lowmem':
      if (typeof o.writable !== 'boolean') bad(`${path}.writable`, 'expected true or false');
      return { op, pt: gpt(), writable: o.writable as boolean };
    case 'gpt_pin':
    case 'gpt_unpin':
      return { op, pt: gpt() };
    case 'gpt_update':
      return {
        op,
        pt: gpt(),
        index: int(o.index, `${path}.index`, 0, GPT_INDICES - 1),
        to: int(o.to, `${path}.to`, 0, GPT_SLOTS - 1),
        entry: oneOf(o.entry, `${path}.entry`, GPT_ENTRIES),
        ...(o.via === undefined ? {} : { via: oneOf(o.via, `${path}.via`, ['store'] as const) }),
      };
    case 'flush_tlb':
      return { op, scope: oneOf(o.scope, `${path}.scope`, ['local', 'mm', 'all'] as const) };
    case 'fail_nth':
      return { op, n: int(o.n, `${path}.n`, 1, MAX_FAIL_NTH) };
    case 'schedule':
    case 'exit':
      return { op };
  }
}

/** Validates a program read from JSON; `maxCpus` is the target machine's CPU count. */
export function parseProgram(v: unknown, path: string, maxCpus: number): Program {
  const o = obj(v, path);
  const cpus = int(o.cpus, `${path}.cpus`, 1, maxCpus);
  const tasksIn = arr(o.tasks, `${path}.tasks`, MAX_TASKS);
  const tasks = tasksIn.map((t, i): TaskProg => {
    const p = `${path}.tasks[${i}]`;
    const to = obj(t, p);
    if (typeof to.kthread !== 'boolean') bad(`${p}.kthread`, 'expected true or false');
    return {
      cpu: int(to.cpu, `${p}.cpu`, 0, cpus - 1),
      kthread: to.kthread as boolean,
      spawn: oneOf(to.spawn, `${p}.spawn`, ['boot', 'fork'] as const),
      ops: arr(to.ops, `${p}.ops`, MAX_OPS).map((x, j) => parseOp(x, `${p}.ops[${j}]`, tasksIn.length)),
    };
  });
  const irqs = arr(o.irqs, `${path}.irqs`, MAX_IRQS).map((q, i): IrqProg => {
    const p = `${path}.irqs[${i}]`;
    const qo = obj(q, p);
    const ops = arr(qo.ops, `${p}.ops`, MAX_OPS).map((x, j) => parseOp(x, `${p}.ops[${j}]`, tasksIn.length));
    ops.forEach((x, j) => {
      if (!HANDLER_OPS.includes(x.op)) bad(`${p}.ops[${j}].op`, `'${x.op}' is not allowed in an interrupt handler (allowed: ${HANDLER_OPS.join(', ')})`);
    });
    return {
      kind: oneOf(qo.kind, `${p}.kind`, ['irq', 'nmi'] as const),
      cpu: int(qo.cpu, `${p}.cpu`, -1, cpus - 1),
      count: int(qo.count, `${p}.count`, 0, 16),
      ops,
    };
  });
  return { cpus, tasks, irqs };
}

/** Validates a schedule read from JSON. */
export function parseSchedule(v: unknown, path: string): Schedule {
  const o = obj(v, path);
  const s: Schedule = {
    strategy: oneOf(o.strategy, `${path}.strategy`, ['random', 'pct', 'sticky'] as const),
    seed: int(o.seed, `${path}.seed`, 0, 0xffff_ffff),
  };
  if (o.stickiness !== undefined) {
    if (typeof o.stickiness !== 'number' || !(o.stickiness >= 0 && o.stickiness <= 1)) bad(`${path}.stickiness`, 'expected a number in 0..1');
    s.stickiness = o.stickiness as number;
  }
  if (o.release !== undefined) {
    if (typeof o.release !== 'number' || !(o.release >= 0 && o.release <= 1)) bad(`${path}.release`, 'expected a number in 0..1');
    s.release = o.release as number;
  }
  if (o.eventProbability !== undefined) {
    if (typeof o.eventProbability !== 'number' || !(o.eventProbability >= 0 && o.eventProbability <= 1))
      bad(`${path}.eventProbability`, 'expected a number in 0..1');
    s.eventProbability = o.eventProbability as number;
  }
  if (o.depth !== undefined) s.depth = int(o.depth, `${path}.depth`, 1, 64);
  if (o.steps !== undefined) s.steps = int(o.steps, `${path}.steps`, 1, 1_000_000);
  if (o.prefix !== undefined) {
    if (!Array.isArray(o.prefix)) bad(`${path}.prefix`, 'expected an array of action codes');
    s.prefix = (o.prefix as unknown[]).map((c, i) => int(c, `${path}.prefix[${i}]`, 0, 0x7fff_ffff));
  }
  if (o.hold !== undefined) {
    const h = obj(o.hold, `${path}.hold`);
    s.hold = { cpu: int(h.cpu, `${path}.hold.cpu`, 0, 255), steps: int(h.steps, `${path}.hold.steps`, 0, 1_000_000) };
  }
  return s;
}
