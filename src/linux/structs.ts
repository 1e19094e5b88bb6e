/**
 * Core structures of the Linux memory-management model, named as in the kernel:
 * `struct mm_struct` (include/linux/mm_types.h), `struct vm_area_struct`, `struct task_struct`
 * (include/linux/sched.h). Pointers to page-table entries are physical addresses (numbers): the
 * kernel reaches page tables through the direct map, so __va/__pa are the identity here.
 */
import type { CpuTask } from '../modelcpu/cpu.js';
import type { KGen, YieldLabel } from '../scheduler/types.js';

/** vm_flags bits (include/linux/mm.h). */
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
/** VM_SHARED: a MAP_SHARED mapping (writes reach the file's pages). */
export const VM_SHARED = 0x8;
/** VM_MAYSHARE. */
export const VM_MAYSHARE = 0x80;
/** VM_PFNMAP: "Page-ranges managed without struct page, just pure PFN" (remap_pfn_range()). */
export const VM_PFNMAP = 0x400;
/** VM_IO: memory-mapped I/O or similar. */
export const VM_IO = 0x4000;
/** VM_DONTEXPAND: cannot expand with mremap(). */
export const VM_DONTEXPAND = 0x40000;
/** VM_DONTDUMP: not in a core dump. */
export const VM_DONTDUMP = 0x4000000;
/** VM_MIXEDMAP: can contain struct page and pure PFN pages. */
export const VM_MIXEDMAP = 0x10000000;

/**
 * A user mapping: anonymous memory faulted in on demand, or (with `vm_file`) a MAP_SHARED mapping
 * of a file's pages from `vm_pgoff` on.
 */
export interface VmAreaStruct {
  vm_start: bigint;
  vm_end: bigint;
  vm_flags: number;
  /** The mapped file (file-backed vmas only; they are linked in its mapping's i_mmap). */
  vm_file?: LinuxFile;
  /** Offset in the file, in pages, of vm_start (file-backed vmas only). */
  vm_pgoff?: number;
  /** The mm the vma belongs to (set for file-backed vmas: the rmap walk needs it). */
  vm_mm?: MmStruct;
}

/**
 * A vma with every field of the struct present, in one order (absent ones undefined) — as every
 * vm_area_struct in C has one layout, whether kmem_cache_alloc(vm_area_cachep) made it or a copy
 * (`*new = *vma`) did. Every vma is made here, so that the model's code sees one object shape (an
 * object literal per site, or a spread copy, would each have their own, and the compiled code
 * reading them would be thrown away at each new one).
 */
export function newVma(v: VmAreaStruct): VmAreaStruct {
  return { vm_start: v.vm_start, vm_end: v.vm_end, vm_flags: v.vm_flags, vm_file: v.vm_file, vm_pgoff: v.vm_pgoff, vm_mm: v.vm_mm };
}

/**
 * struct address_space (include/linux/fs.h) of a file: its page cache (page_tree: page index ->
 * pfn) and the vmas that map it (i_mmap, an interval tree in Linux, a list here) under i_mmap_rwsem.
 */
export class AddressSpace {
  readonly page_tree = new Map<number, number>();
  readonly i_mmap: VmAreaStruct[] = [];
  readonly i_mmap_rwsem: RwSemaphore;
  constructor(readonly host: Inode) {
    this.i_mmap_rwsem = new RwSemaphore(`${host.name}.i_mmap_rwsem`);
  }
}

/** struct inode: i_size and i_rwsem (inode_lock()) of a file, and its mapping. */
export class Inode {
  /** i_size in bytes. */
  i_size: bigint;
  readonly i_rwsem: RwSemaphore;
  readonly i_mapping: AddressSpace;
  constructor(
    readonly name: string,
    size: bigint,
  ) {
    this.i_size = size;
    this.i_rwsem = new RwSemaphore(`${name}.i_rwsem`);
    this.i_mapping = new AddressSpace(this);
  }
}

/** struct file (an open file of an in-memory filesystem, ramfs-like: its pages live only in the page cache). */
export class LinuxFile {
  readonly f_inode: Inode;
  constructor(name: string, size: bigint) {
    this.f_inode = new Inode(name, size);
  }
  get f_mapping(): AddressSpace {
    return this.f_inode.i_mapping;
  }
}

/** A modelled spinlock; `owner` is the CPU index holding it, or -1. */
/** struct rw_semaphore (operations in rwsem.ts). */
export class RwSemaphore {
  /** Read holds per task (a task may take it for reading again, e.g. a fault under __mm_populate()). */
  readonly readers = new Map<TaskStruct, number>();
  writer: TaskStruct | null = null;
  /** Sleeping tasks, in arrival order. */
  readonly waiters: TaskStruct[] = [];
  constructor(readonly name: string) {}
}

export class SpinLock {
  owner = -1;
  /** The task holding it (with PREEMPT_RT another task of the owner CPU may wait for it). */
  holder: object | null = null;
  constructor(readonly name: string) {}
}

/** struct mm_struct. */
export class MmStruct {
  /** Users of the address space (threads): mmput() drops it, exit_mmap() runs at 0. */
  mm_users = 1;
  /** References to the struct (users count as one, lazy-TLB borrowers one each): mmdrop(). */
  mm_count = 1;
  readonly vmas: VmAreaStruct[] = [];
  /** mm_cpumask(): CPUs that may hold TLB entries of this mm (bit i = CPU i). */
  cpumask = 0;
  readonly page_table_lock: SpinLock;
  /** mm->mmap_sem: the vma tree and the page tables' shape (taken by faults, mmap, munmap, mprotect). */
  readonly mmap_sem: RwSemaphore;
  /** Set by __mmdrop() once the pgd is freed. */
  freed = false;
  /** mm->tlb_flush_pending: mmu_gathers of this mm between tlb_gather_mmu() and tlb_finish_mmu() (4.13+). */
  tlb_flush_pending = 0;
  constructor(
    /** Model id (init_mm is 0). */
    readonly id: number,
    /** Physical address of the pgd (for PAE: of the page holding the PDPT). */
    public pgd: number,
    readonly name: string,
  ) {
    this.page_table_lock = new SpinLock(`${name}.page_table_lock`);
    this.mmap_sem = new RwSemaphore(`${name}.mmap_sem`);
  }
}

/** Task states used by the model. */
export type TaskState = 'new' | 'running' | 'runnable' | 'blocked' | 'dead';

/** The code a task runs once started (after schedule_tail()); what it returns is discarded. */
export type TaskBody = (task: TaskStruct) => KGen<unknown>;

/** struct task_struct (the parts the model needs). */
export class TaskStruct implements CpuTask {
  state: TaskState = 'new';
  mm: MmStruct | null = null;
  active_mm: MmStruct | null = null;
  /** Saved preempt count while switched out (thread_info->saved_preempt_count since 3.13). */
  savedPreemptCount = 1;
  /** Kernel stack: generators not yet returned, innermost last. */
  stack: KGen<unknown>[] = [];
  fnStack: string[] = [];
  lastLabel: YieldLabel = 'new';
  /** True while the task executes user-mode code (preemptible under every preemption model). */
  userMode = false;
  /** PF_EXITING. */
  exiting = false;
  /** Exit code once dead. */
  exitCode = 0;
  /** current->fail_nth (CONFIG_FAULT_INJECTION, /proc/<pid>/fail-nth): the n-th fault-injection point fails (page_alloc.ts). */
  fail_nth = 0;
  constructor(
    readonly pid: number,
    readonly comm: string,
    /** The CPU it runs on (tasks are pinned: no migration in the model). */
    readonly cpu: number,
    /** PF_KTHREAD: a kernel thread (mm == NULL, borrows active_mm). */
    readonly kthread: boolean,
    readonly body: TaskBody | null,
    /** The idle task of its CPU (swapper/N). */
    readonly idle = false,
  ) {}
}
