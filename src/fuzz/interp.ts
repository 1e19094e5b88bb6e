/**
 * The interpreter of fuzz programs on the Linux model: each task of the program becomes a kernel
 * task (a process with its own mm, or a kernel thread) pinned to its CPU whose body runs the
 * task's operations, each through the model's public functions; each interrupt source becomes a
 * scheduler interrupt source whose handler runs kernel accesses. Between two operations lies an
 * interleaving point ('fuzz:next_op'); the model's functions yield at their own points.
 *
 * Kernel objects are named by slots; an operation on an empty slot (or a full one, for an
 * allocation) does nothing, so every mutated program is valid. Kernel code only touches memory it
 * owns (a kernel 'exec' of a data object is performed as a read), so that a finding is always the
 * kernel's fault, never the program's.
 */
import type { Cpu } from '../core/cpu.js';
import type { Machine } from '../core/machine.js';
import type { AccessKind } from '../core/types.js';
import { do_exit } from '../linux/exit.js';
import { kaccess } from '../linux/fault.js';
import { set_memory_nx } from '../linux/pageattr.js';
import type { Kernel } from '../linux/kernel.js';
import { mm_alloc } from '../linux/mm.js';
import { proc_fail_nth_write } from '../linux/page_alloc.js';
import type { LinuxCpu } from '../linux/percpu.js';
import { down_read, up_read } from '../linux/rwsem.js';
import { schedule } from '../linux/sched.js';
import { VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, type MmStruct, type TaskStruct } from '../linux/structs.js';
import { __flush_tlb, flush_tlb_mm_range, TLB_FLUSH_ALL } from '../linux/tlbflush.js';
import { user_access } from '../linux/user.js';
import type { KGen } from '../scheduler/types.js';
import { FindingStop } from '../sanitizers/finding.js';
import type { RefConfig } from '../reference/index.js';
import type { Coverage } from './coverage.js';
import { kernelOps, objectVa, type KernelObject } from './kernel-ops.js';
import type { MemCgroup } from '../linux/memcg.js';
import {
  DEVS,
  FILES,
  formatOp,
  GPT_SLOTS,
  MAX_PAGES,
  SLOTS,
  type IrqProg,
  type KObj,
  type Op,
  type OpName,
  type Program,
  type Prot,
  type PteBit,
} from './program.js';
import type { LinuxFile } from '../linux/structs.js';
import type { PfnmapDevice } from '../linux/pfnmap.js';
import { check_cow_write } from '../linux/gup_slow.js';
import {
  HYPERVISOR_mmu_update,
  kernel_entry_of,
  xen_clear_entry_bits,
  xen_frame_of,
  xen_lowmem_rw,
  xen_pin_table,
  xen_guest_store,
  xen_set_entry_bits,
  xen_set_linear_entry,
} from '../linux/xen/hypercall.js';
import { pfn_to_mfn, xenState } from '../linux/xen/state.js';
import type { ExplainEvent } from './target.js';
import { checkWalkAgreement } from './walk-oracle.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { enterFn, traced } from '../scheduler/traced.js';
import { OutcomeOracle, outcomeCover, outcomeOraclesEnabled, walkTables } from './outcome.js';
import { DONE, mustYield } from '../scheduler/point.js';

/**
 * The pages a partial munmap/mremap with first page `from` leaves in region `r` (0: the operation
 * takes the whole range): only anonymous memory, and only when `from` lies inside the range.
 */
function partialFrom(from: number | undefined, r: Region): number {
  return from !== undefined && from > 0 && from < r.pages && r.file === undefined && r.dev === undefined ? from : 0;
}

/** The addresses a level-`level` entry above `va` maps (4 KiB for a pte, 2 MiB for a pmd, ...). */
function entrySpan(va: bigint, level: number): { start: bigint; end: bigint } {
  const span = 4096n << BigInt(9 * (level - 1));
  const start = va & ~(span - 1n);
  return { start, end: start + span };
}

/**
 * The operations of the hostile-guest vocabulary (Xen PV): they change the kernel's entries,
 * frames' types or the guest's own page-table pool behind the kernel's back.
 */
const HOSTILE_OPS: ReadonlySet<Op['op']> = new Set([
  'pt_set',
  'pt_clear',
  'pt_linear',
  'pt_unlinear',
  'lowmem_rw',
  'pt_pin',
  'pt_unpin',
  'gpt_alloc',
  'gpt_lowmem',
  'gpt_pin',
  'gpt_unpin',
  'gpt_update',
]);

/** User address of slot 0; slot s starts 2 MiB further per slot (each range owns its page table). */
export const USER_BASE = 0x1000_0000n;
export const USER_SLOT_STRIDE = 0x20_0000n;
/** One access in this many is also walked by the reference walker. */
const WALK_SAMPLE = 4;

interface Region {
  start: bigint;
  pages: number;
  prot: Prot;
  /**
   * The file a MAP_SHARED region maps from its first page (undefined: anonymous memory). Its pages
   * beyond the file's end give SIGBUS; their data is the file's, shared with every mapping of it,
   * so the shadow keeps it with the file (`FileState.data`), not here.
   */
  file?: number;
  /**
   * The device of a mapping of the model driver's buffer (src/linux/pfnmap.ts), and the device's
   * release count when the mapping was made (-1: a release was waiting for the driver's lock, so
   * it revokes this mapping). A release since revokes it: its pages give SIGBUS. Shared with every
   * mapping of the buffer: the shadow keeps no data.
   */
  dev?: number;
  devGen?: number;
  /**
   * The process view of each page's first 8 bytes: 0 = never written (a fresh anonymous page reads
   * as zero), n > 0 = the value of write n, -1 = unknown (a write raced with fork's copy).
   */
  data: number[];
  /**
   * A MAP_PRIVATE mapping of `file`: a page shows the file's data until this process writes it (a
   * copy), and from then on the process's own (kept in `data`); -1 until then.
   */
  priv?: boolean;
  /** An mprotect() of the slot that began before this mapping may have changed it (until the next one returns). */
  protUnknown?: boolean;
  /** Step at which the system call that gave the region its current protection returned. */
  since: number;
  /** That system call, for reports. */
  by: string;
}

/**
 * A region with every field present, in one order: the interpreter and the process view read
 * regions made by every kind of mapping at the same sites, which then see one object shape (a
 * literal per kind, or a spread copy, each has its own, and the compiled code stops at every new
 * one to be compiled again).
 */
function region(r: Region): Region {
  return {
    start: r.start,
    pages: r.pages,
    prot: r.prot,
    file: r.file,
    dev: r.dev,
    devGen: r.devGen,
    data: r.data,
    priv: r.priv,
    protUnknown: r.protUnknown,
    since: r.since,
    by: r.by,
  };
}

/** System calls of one address space that are changing its mappings right now. */
interface SpaceState {
  busy: number;
  /** Bumped when such a call starts and when it returns. */
  version: number;
  /** Last write number before a fork of this mm began (writes after it are unknown to the child). */
  forkSeq: number;
  /** Forks of this mm begun so far (a write pin that overlapped one is not judged). */
  forks: number;
  /** Slots an mmap() in progress is filling (another thread's mmap of the slot does nothing). */
  mapping: Set<number>;
  /** madvise(MADV_DONTNEED) calls in flight: a zap under mmap_sem held for reading, its flush not done yet. */
  zapping: number;
  /** mprotect() calls in flight (a range an mremap() moves meanwhile may or may not have been changed by one). */
  mprotecting: number;
}

/** A user access in progress, judged in the step where its outcome is decided. */
interface PendingAccess {
  mm: MmStruct;
  slot: number;
  page: number;
  va: bigint;
  kind: AccessKind;
  region: Region | null;
  version: number;
  racy: boolean;
  /** MAP_POPULATE's touch: faults pages in, stores no data. */
  data: boolean;
  /** Truncations of any file started or returned so far (a change during the access makes it racy). */
  truncations: number;
  done: boolean;
}

/** The shadow of one file: its size in pages, the truncations in flight, and its pages' data. */
interface FileState {
  file: LinuxFile;
  pages: number;
  busy: number;
  /**
   * The process view of each page's first 8 bytes, shared by every MAP_SHARED mapping of the file
   * (index: the page's offset in the file; the shared regions map from offset 0): 0 = never written
   * (the page cache reads a new page as zeros), n > 0 = the value of user write n, -1 = unknown. A
   * page a truncation removed reads as zeros again when the file grows back.
   */
  data: number[];
  /** A truncation overlapped another of this file (the pages beyond the last one's size are unknown). */
  overlapped: boolean;
}

/** The shadow of one device of the model driver: its releases (done, and in flight). */
interface DevState {
  dev: PfnmapDevice;
  releases: number;
  busy: number;
}

/** Who wrote value n (index n - 1). */
interface WriteRecord {
  task: TaskStruct;
  mm: MmStruct;
  cpu: number;
  step: number;
  va: bigint;
}

/** The operation `o` of kind `N` (the argument of that kind's generator). */
type OpOf<N extends OpName> = Extract<Op, { op: N }>;

const VM_FLAGS: Record<Prot, number> = { r: VM_READ, rw: VM_READ | VM_WRITE, rx: VM_READ | VM_EXEC };
/** A task as reports name it. */
const taskName = (t: TaskStruct): string => `${t.comm}/${t.pid}`;
/** The protection a vma's flags give (the inverse of VM_FLAGS). */
const protOf = (flags: number): Prot => (flags & VM_WRITE ? 'rw' : flags & VM_EXEC ? 'rx' : 'r');
/** _PAGE_PRESENT | _PAGE_ACCESSED: a present entry the guest writes with mmu_update. */
const PTE_PRESENT_ACCESSED = 0x21n;
const PTE_BIT: Record<PteBit, bigint> = { rw: 0x2n, pse: 0x80n, accessed: 0x20n, dirty: 0x40n, global: 0x100n, nx: 1n << 63n };

export class Interpreter {
  /** CPU that ran the last operation (for explanations). */
  findingCpu = 0;
  private readonly objs: Record<KObj, (KernelObject | null)[]>;
  private readonly regions = new Map<MmStruct, (Region | null)[]>();
  private readonly started: boolean[];
  /** Memory cgroups by slot (null while being created). */
  private readonly memcgs: (MemCgroup | null | undefined)[] = [];
  private accesses = 0;
  /** Linear page-table entries pt_linear installed, by `${obj}${slot}:${level}`: their machine address. */
  private readonly linear = new Map<string, number>();
  /** Whether an operation of the hostile-guest vocabulary ran (it may leave the kernel's own hypercalls to fail). */
  private hostile = false;
  /**
   * What lowmem_rw, pt_pin and pt_clear did to a kernel object's frames and mappings, by object key:
   * frames made read-only in the direct map, frames pinned; and the program's writes through the
   * object and changes of its ptes in flight (neither waits for the other: the one that comes
   * second does nothing). Undone before the object is freed, as a PV kernel gives a page-table
   * page back before freeing it (xen_release_ptpage).
   */
  private readonly xenHeld = new Map<string, { ro: Set<number>; pinned: Set<number>; writing: number; changing: number }>();
  /** The guest kernel's pool of page-table pages (gpt_ operations): machine frame and the level it was allocated for. */
  private readonly gpt: ({ mfn: number; level: number } | null)[] = new Array(GPT_SLOTS).fill(null);
  private readonly refCfg: RefConfig;
  private readonly ops;
  private sched: Scheduler | null = null;
  /** The outcome oracles (null when switched off). */
  readonly oracle: OutcomeOracle | null;
  private readonly spaces = new Map<MmStruct, SpaceState>();
  private readonly pending = new Map<TaskStruct, PendingAccess>();
  private readonly writes: WriteRecord[] = [];
  /** Frames user accesses reached, with the address spaces and addresses that reached them. */
  private readonly seen = new Map<number, { mm: MmStruct; va: bigint }[]>();
  /** The program's files (created on first use, MAX_PAGES pages long). */
  private readonly files: (FileState | null)[] = new Array(FILES).fill(null);
  /** The program's devices of the model driver (created on first use, a MAX_PAGES-page buffer). */
  private readonly devs: (DevState | null)[] = new Array(DEVS).fill(null);
  /** Truncations and device releases started or returned: an access that spans one is racy. */
  private truncations = 0;

  constructor(
    readonly k: Kernel,
    readonly m: Machine,
    readonly program: Program,
    readonly cov: Coverage,
    readonly events?: ExplainEvent[],
  ) {
    this.objs = { vmalloc: new Array(SLOTS).fill(null), vmap: new Array(SLOTS).fill(null), percpu: new Array(SLOTS).fill(null) };
    this.started = program.tasks.map(() => false);
    this.refCfg = { vendor: m.vendor, maxPhysAddrBits: m.maxPhysAddrBits, pse36: m.options.pse36, pdpe1gb: m.options.pdpe1gb, ramBytes: m.ramBytes };
    this.ops = kernelOps(k);
    this.oracle = outcomeOraclesEnabled() ? OutcomeOracle.of(k) : null;
  }

  /** Ends the execution's oracles (the machine is reused). */
  finish(): void {
    this.oracle?.uninstall();
  }

  private space(mm: MmStruct): SpaceState {
    let s = this.spaces.get(mm);
    if (!s) this.spaces.set(mm, (s = { busy: 0, version: 0, forkSeq: -1, forks: 0, mapping: new Set(), zapping: 0, mprotecting: 0 }));
    return s;
  }

  /**
   * Slot `slot` of `mm` for an mmap: null when it is mapped or another mmap of it is in flight; else
   * the slot is marked in flight (until the caller's `sp.mapping.delete`) and its start returned.
   */
  private claimSlot(mm: MmStruct, slot: number): { sp: SpaceState; start: bigint } | null {
    const sp = this.space(mm);
    if (this.regionsOf(mm)[slot] || sp.mapping.has(slot)) return null;
    sp.mapping.add(slot);
    return { sp, start: USER_BASE + BigInt(slot) * USER_SLOT_STRIDE };
  }

  private get step(): number {
    return this.sched?.steps ?? 0;
  }

  /** Creates the boot tasks and the interrupt sources. */
  setup(): void {
    const o = this.oracle;
    if (o) {
      o.install();
      o.onUser = (cpu, _va, _kind, pa) => this.judge(cpu, pa);
      this.k.observers.sigsegv = (cpu) => this.judge(cpu, null, 'SIGSEGV');
      this.k.observers.sigbus = (cpu) => this.judge(cpu, null, 'SIGBUS');
      this.k.observers.exitMmap = (cpu, mm) => this.checkUser(cpu, mm, 'exit_mmap');
      this.k.observers.unmapAliases = (cpu, done) => o.unmapAliases(cpu, done);
      this.k.observers.rcuQueued = (cpu, token) => o.rcuQueued(cpu, token);
      this.k.observers.rcuInvoke = (cpu, token, name) => o.rcuInvoke(cpu, token, name);
      // Xen refused an update the kernel issued itself (in a batch, or directly) and the kernel went
      // on: a correct guest never issues one, unless the program changed the kernel's entries or
      // frames behind its back.
      this.k.observers.xenRefused = (cpu, what, after, log) => {
        if (!this.hostile) o.xenRefusedUpdate(cpu, what, after, log);
      };
      this.k.observers.pageFaultReturn = (cpu, address, ec) => {
        const mm = cpu.curr.mm;
        if (this.revoking()) return; // a truncation's or release's flush may be pending
        // a madvise() of the mm may have zapped a pte whose flush is not due yet (a fault there maps a new page)
        if (mm && ec & 4 && address < this.k.L.TASK_SIZE && this.space(mm).zapping === 0) o.checkUserPage(cpu, mm, address); // PF_USER
      };
    }
    this.program.tasks.forEach((t, i) => {
      if (t.spawn === 'boot') this.startTask(i, null, this.k.cpus[this.cpuOf(i)]);
    });
    this.program.irqs.forEach((q, i) => {
      const name = q.kind === 'nmi' ? `nmi${i}` : `irq${i}`;
      this.k.addInterruptSource({
        name,
        kind: q.kind,
        cpus: q.cpu < 0 ? undefined : [Math.min(q.cpu, this.k.cpus.length - 1)],
        remaining: q.count,
        handler: (cpu) => this.irqHandler(q, cpu as LinuxCpu),
      });
    });
  }

  /** The handler of interrupt source `q`: its operations, in the interrupt frame. */
  private *irqHandler(q: IrqProg, cpu: LinuxCpu): KGen<void> {
    const fns = enterFn(cpu, q.kind === 'nmi' ? 'nmi_handler' : 'handle_irq_event');
    try {
      for (const o of q.ops) yield* this.op(o, cpu, null);
    } finally {
      fns.pop();
    }
  }

  /** The scheduler running the program (explanations carry its step numbers). */
  attach(s: Scheduler): void {
    this.sched = s;
    this.oracle?.attach(s);
  }

  private cpuOf(i: number): number {
    return Math.min(this.program.tasks[i].cpu, this.k.cpus.length - 1);
  }

  /**
   * Starts task `i` from a running task: a fork (a copy of `parent`; the child knows the parent's
   * user ranges) or a thread sharing it.
   */
  private *spawn(i: number, parent: MmStruct, cpu: LinuxCpu, thread: boolean): KGen<void> {
    if (this.started[i]) return;
    this.started[i] = true;
    let mm = parent;
    if (thread) {
      // copy_mm() with CLONE_VM: atomic_inc(&oldmm->mm_users) (users count once in mm_count).
      parent.mm_users++;
    } else {
      const ps = this.space(parent);
      ps.forkSeq = this.writes.length;
      ps.forks++;
      mm = yield* this.ops.dup_mm(cpu, parent, `mm${i}`);
      // The child has the vmas dup_mmap() copied (a munmap or mprotect of another thread may be in
      // flight in the parent's shadow), with what the parent had written when fork() began; a
      // write that raced with the copy may or may not be in it; pages of a range the parent's
      // shadow no longer has are unknown.
      const prs = this.regionsOf(parent);
      this.regions.set(
        mm,
        prs.map((_, slot) => {
          const start = USER_BASE + BigInt(slot) * USER_SLOT_STRIDE;
          const v = mm.vmas.find((x) => x.vm_start === start);
          if (!v) return null;
          const pages = Number((v.vm_end - v.vm_start) / 4096n);
          const prot = protOf(v.vm_flags);
          const r = prs[slot];
          // (A private file mapping's copies are not copied: the model's dup_mmap() copies no
          // ptes of a file vma, so the child faults the file's pages in again: unknown.)
          const data = r && r.pages === pages && !r.priv ? r.data.map((x) => (x > ps.forkSeq ? -1 : x)) : new Array(pages).fill(-1);
          const file = v.vm_file ? this.files.findIndex((f) => f?.file === v.vm_file) : -1;
          const dev = v.vm_file ? this.devs.findIndex((d) => d?.dev.file === v.vm_file) : -1;
          // A device range the parent's shadow no longer has (an mremap() moved it while dup_mmap()
          // copied it): whether its buffer was released before is unknown, so nothing is promised.
          // A file vma is shared or private by its own flags: the parent's shadow of the slot may be
          // another mapping's, or none (an mremap() to the slot waiting for mmap_sem while fork copies).
          const shared =
            file >= 0
              ? { file, ...(v.vm_flags & VM_SHARED ? {} : { priv: true }) }
              : dev >= 0
                ? r?.dev === dev
                  ? { dev, devGen: r.devGen }
                  : { dev, devGen: -1, protUnknown: true }
                : {};
          return region({ start, pages, prot, data, since: this.step, by: `fork (the parent's ${prot} mapping)`, ...shared });
        }),
      );
      ps.forkSeq = -1;
      if (this.oracle) this.seenAtFork(mm);
      this.checkUser(cpu, parent, 'fork');
    }
    this.k.createTask(`fuzz${i}`, this.cpuOf(i), mm, this.body(i));
  }

  /**
   * Copy-on-write isolation needs no access of the child: right after fork() the child sees, in
   * every private anonymous page of the shadow's it has mapped, what the parent left there. Each
   * such frame is recorded as seen by the child at that address, so that a later write of the
   * parent (or of another child) landing in it is judged at the write (`sharedWith`), whether or
   * not the child ever reads it.
   */
  private seenAtFork(child: MmStruct): void {
    for (const r of this.regionsOf(child)) {
      if (!r || r.file !== undefined || r.dev !== undefined) continue;
      for (let page = 0; page < r.pages; page++) {
        if (r.data[page] < 0) continue;
        const va = r.start + BigInt(page * 4096);
        const t = walkTables(this.k, BigInt(child.pgd), this.k.L.paging, va, 1);
        if (!t) continue;
        const pfn = Number(t.next >> 12n);
        let seen = this.seen.get(pfn);
        if (!seen) this.seen.set(pfn, (seen = []));
        seen.push({ mm: child, va });
      }
    }
  }

  private startTask(i: number, _parent: null, cpu: LinuxCpu): void {
    this.started[i] = true;
    const t = this.program.tasks[i];
    const mm = t.kthread ? null : this.k.runSync(mm_alloc(this.k, cpu, `mm${i}`));
    this.k.createTask(t.kthread ? `kworker/${i}` : `fuzz${i}`, this.cpuOf(i), mm, this.body(i));
  }

  /**
   * The body of task `i`. A task body, an interrupt handler and every other model generator is one
   * generator function for all calls, never a generator function made per call (why: `traced` in
   * src/scheduler/traced.ts).
   */
  private body(i: number): (task: TaskStruct) => KGen<void> {
    const ops = this.program.tasks[i].ops;
    return (task) => this.runOps(ops, task);
  }

  /** A task's operations, in order (loops repeated). */
  private *runOps(ops: readonly Op[], task: TaskStruct): KGen<void> {
    const cpu = this.k.cpus[task.cpu];
    for (let i = 0; i < ops.length; i++) {
      const o = ops[i];
      // A loop: its body is the next `len` operations (a loop among them is skipped), pool indices relative to the iteration.
      let body: readonly Op[] = ops;
      let first = i;
      let len = 1;
      let count = 1;
      if (o.op === 'loop') {
        body = ops.slice(i + 1, i + 1 + o.len).filter((b) => b.op !== 'loop');
        first = 0;
        len = body.length;
        count = o.count;
        i += o.len;
        this.note(cpu, o);
      }
      // Each operation in this frame (no generator per operation): the interleaving points are the operation's and 'fuzz:next_op' after it.
      for (let n = 0; n < count; n++) {
        const iter = o.op === 'loop' && o.reverse ? count - 1 - n : n;
        for (let j = first; j < first + len; j++) {
          const b = body[j];
          const armed = task.fail_nth;
          // The TLB-coherence check at the return to user mode, whatever the operation (not at
          // exit: do_exit() does not return; exit_mmap() has its own observer).
          const oracle = b.op === 'exit' ? null : this.oracle;
          oracle?.opStart(task);
          yield* this.op(b, cpu, task, iter);
          oracle?.userReturn(cpu, task, b.op, returnName);
          // An injected failure counts as coverage: a new outcome of that call.
          if (armed > 0 && task.fail_nth === 0 && b.op !== 'fail_nth') this.cov.hitString(`fault-injected:${b.op}`);
          if (mustYield('fuzz:next_op')) yield 'fuzz:next_op';
        }
      }
    }
  }

  private note(cpu: LinuxCpu, o: Op): void {
    this.findingCpu = cpu.index;
    if (HOSTILE_OPS.has(o.op)) this.hostile = true;
    this.cov.hitPrefixed('op:', o.op);
    if (this.events)
      this.events.push({
        step: this.sched?.steps ?? 0,
        cpu: cpu.index,
        text: `${cpu.frames.length > 0 ? `[${cpu.frames[cpu.frames.length - 1].name}] ` : `[${cpu.curr.comm}:${cpu.curr.pid}] `}${formatOp(o)}`,
      });
  }

  private held(key: string): { ro: Set<number>; pinned: Set<number>; writing: number; changing: number } {
    let h = this.xenHeld.get(key);
    if (!h) this.xenHeld.set(key, (h = { ro: new Set(), pinned: new Set(), writing: 0, changing: 0 }));
    return h;
  }

  /**
   * An operation of a Xen PV guest kernel on its pool of page-table pages (`gpt`), entry `pt + iter`.
   * Nothing on another paravirt backend, on an empty entry (or a full one, for gpt_alloc), or
   * beyond the pool. The guest ignores Xen's rc, as a malicious guest kernel would.
   */
  private *gptOp(o: Extract<Op, { op: 'gpt_alloc' | 'gpt_lowmem' | 'gpt_pin' | 'gpt_unpin' | 'gpt_update' }>, cpu: LinuxCpu, iter: number): KGen<void> {
    const k = this.k;
    if (k.config.paravirt !== 'xen-pv') return;
    const i = o.pt + iter;
    if (i >= GPT_SLOTS) return;
    const page = this.gpt[i];
    if (o.op === 'gpt_alloc') {
      if (!page) this.gpt[i] = { mfn: pfn_to_mfn(k.allocPageTable(o.level) / 4096), level: o.level };
      return;
    }
    if (!page) return;
    switch (o.op) {
      case 'gpt_lowmem':
        yield* xen_lowmem_rw(k, cpu, page.mfn, o.writable);
        return;
      case 'gpt_pin':
        yield* xen_pin_table(k, cpu, page.mfn, page.level);
        return;
      case 'gpt_unpin':
        yield* xen_pin_table(k, cpu, page.mfn, 0);
        return;
      case 'gpt_update': {
        let val = 0n;
        if (o.entry === 'foreign-ro' || o.entry === 'foreign-rw') {
          // a frame the guest does not own: another domain's
          const frames = xenState(k).xen.foreignFrames;
          if (frames.length === 0) return;
          val = (BigInt(frames[(o.to + iter) % frames.length]) << 12n) | PTE_PRESENT_ACCESSED | (o.entry === 'foreign-rw' ? PTE_BIT.rw : 0n);
        } else if (o.entry !== 'none') {
          const to = o.to + iter < GPT_SLOTS ? this.gpt[o.to + iter] : null;
          if (!to) return;
          val = (BigInt(to.mfn) << 12n) | PTE_PRESENT_ACCESSED | (o.entry === 'rw' ? PTE_BIT.rw : 0n);
        }
        if (o.via === 'store') {
          yield* xen_guest_store(k, cpu, page.mfn * 4096 + o.index * 8, val);
          return;
        }
        yield* HYPERVISOR_mmu_update(k, cpu, page.mfn * 4096 + o.index * 8, val);
        return;
      }
    }
  }

  /** Undoes what the program's Xen operations did to an object's frames before it is freed. */
  private *xenRelease(cpu: LinuxCpu, key: string): KGen<void> {
    const h = this.xenHeld.get(key);
    if (!h) return;
    this.xenHeld.delete(key);
    for (const mfn of h.pinned) yield* xen_pin_table(this.k, cpu, mfn, 0);
    for (const mfn of h.ro) yield* xen_lowmem_rw(this.k, cpu, mfn, true);
  }

  /**
   * Runs one operation on `cpu` for `task` (null in an interrupt handler); `iter`: the iteration of
   * the loop it is in (0 outside one). A plain function returning the generator its caller
   * delegates to: each kind of operation has its own small generator (or is the kernel function's
   * own, as `schedule`), one frame under the task's body as before. Every yield passes through each
   * frame of the chain, at a cost that grows with the frame's size; and the optimizing compiler
   * compiles (and after a deoptimization compiles again) each operation's generator on its own when
   * that operation is hot, where one generator holding every case cost about 250 ms per compilation.
   */
  private op(o: Op, cpu: LinuxCpu, task: TaskStruct | null, iter = 0): KGen<void> {
    this.note(cpu, o);
    switch (o.op) {
      case 'uaccess': {
        const mm = task?.mm;
        if (!task || !mm) return DONE;
        const r = this.regionsOf(mm)[o.slot];
        return this.userAccess(cpu, task, mm, o.slot, o.page % (r ? r.pages : 1), o.kind, true);
      }
      case 'gpt_alloc':
      case 'gpt_lowmem':
      case 'gpt_pin':
      case 'gpt_unpin':
      case 'gpt_update':
        return this.gptOp(o, cpu, iter);
      case 'loop':
        return DONE; // run by the task's body
      case 'fail_nth':
        // write(/proc/thread-self/fail-nth): changes no memory the process sees (nothing for the shadow)
        if (task) proc_fail_nth_write(task, o.n);
        return DONE;
      case 'schedule':
        return schedule(this.k, cpu);
      case 'exit':
        return do_exit(this.k, cpu, 0);
      case 'flush_tlb':
        if (o.scope === 'local') return __flush_tlb(this.k, cpu);
        if (o.scope === 'all') return this.k.pv.mmu.flush_tlb_kernel(this.k, cpu);
        return task?.active_mm ? flush_tlb_mm_range(this.k, cpu, task.active_mm, 0n, TLB_FLUSH_ALL) : DONE;
      case 'kaccess':
        return this.kaccessOp(o, cpu);
      case 'pt_set':
        return this.ptSetOp(o, cpu);
      case 'pt_clear':
        return this.ptClearOp(o, cpu);
      case 'lowmem_rw':
      case 'pt_pin':
      case 'pt_unpin':
        return this.xenFrameOp(o, cpu);
      case 'pt_linear':
        return this.ptLinearOp(o, cpu);
      case 'pt_unlinear':
        return this.ptUnlinearOp(o, cpu);
      case 'set_memory':
        return this.setMemoryOp(o, cpu);
      case 'vmalloc':
      case 'vm_map_ram':
      case 'percpu_alloc':
        return this.allocObjectOp(o, cpu);
      case 'vfree':
      case 'vm_unmap_ram':
      case 'percpu_free':
        return this.freeObjectOp(o, cpu);
    }
    // User-memory operations: a process context only.
    const mm = task?.mm;
    if (!task || !mm) return DONE;
    const regs = this.regionsOf(mm);
    switch (o.op) {
      case 'mmap':
        return this.mmapOp(o, cpu, task, mm, regs);
      case 'mmap_file':
        return this.mmapFileOp(o, cpu, mm, regs);
      case 'mremap':
        return this.mremapOp(o, cpu, mm, regs);
      case 'ftruncate':
        return this.ftruncateOp(o, cpu);
      case 'mmap_dev':
        return this.mmapDevOp(o, cpu, mm, regs);
      case 'mmap_priv':
        return this.mmapPrivOp(o, cpu, mm, regs);
      case 'mem_write':
        return this.memWriteOp(o, cpu, mm, regs);
      case 'madvise':
        return this.madviseOp(o, cpu, mm, regs);
      case 'dev_release':
        return this.devReleaseOp(o, cpu);
      case 'munmap':
        return this.munmapOp(o, cpu, mm, regs);
      case 'mprotect':
        return this.mprotectOp(o, cpu, mm, regs);
      case 'gup_fast':
        return this.gupFastOp(o, cpu, mm, regs);
      case 'fork':
      case 'clone':
        return this.forkOp(o, cpu, mm);
      case 'memcg':
        return this.memcgOp(o, cpu, mm);
    }
  }

  private *kaccessOp(o: OpOf<'kaccess'>, cpu: LinuxCpu): KGen<void> {
    const k = this.k;
    const obj = this.objs[o.obj][o.slot];
    if (!obj) return;
    const va = objectVa(obj, cpu.index) + BigInt((o.page % obj.pages) * 4096);
    // On Xen PV the program may have write-protected the page's pte itself, or be changing it:
    // then it does not write through it (a guest kernel that did would oops itself).
    const h = o.kind === 'write' && k.config.paravirt === 'xen-pv' ? this.held(`${o.obj}${o.slot}`) : null;
    if (h) {
      const pte = kernel_entry_of(k, va, 1);
      if (h.changing > 0 || pte === null || (k.m.phys.read64n(pte) & PTE_BIT.rw) === 0n) return;
    }
    // The access holds a reference: the object is not freed under it (kernel code that
    // frees memory another CPU still uses would be the program's bug, not the kernel's); a
    // write also keeps the program from write-protecting the pte it writes through meanwhile.
    obj.users++;
    if (h) h.writing++;
    try {
      yield* this.access(cpu, va, o.kind === 'write' ? 'write' : 'read', 0);
    } finally {
      obj.users--;
      if (h) h.writing--;
    }
  }

  private *ptSetOp(o: OpOf<'pt_set'>, cpu: LinuxCpu): KGen<void> {
    const k = this.k;
    const obj = this.objs[o.obj][o.slot];
    if (!obj) return;
    const pa = o.linear ? this.linear.get(`${o.obj}${o.slot}:${o.level}`) : kernel_entry_of(k, obj.va, o.level);
    if (pa === undefined || pa === null) return;
    // NX takes execution away and PSE makes the entry map other frames: as with pt_clear, the
    // change is the program's, made without a flush, and the TLB-coherence oracle does not
    // judge the pages the entry maps (an upper-level entry's span covers other objects too).
    if (o.bit === 'nx' || o.bit === 'pse') this.oracle?.kernelBusy.push({ ...entrySpan(obj.va, o.level), program: true });
    const h = !o.linear && o.level === 1 && k.config.paravirt === 'xen-pv' ? this.held(`${o.obj}${o.slot}`) : null;
    if (h) h.changing++;
    obj.users++; // the entry is read before the hypercall's interleaving point: no vfree meanwhile
    try {
      yield* xen_set_entry_bits(k, cpu, pa, PTE_BIT[o.bit]);
    } finally {
      obj.users--;
      if (h) h.changing--;
    }
  }

  private *ptClearOp(o: OpOf<'pt_clear'>, cpu: LinuxCpu): KGen<void> {
    const k = this.k;
    const obj = this.objs[o.obj][o.slot];
    if (!obj) return;
    // Write permission is taken away only from the object's own pte (or a linear entry): the
    // kernel's other mappings under an upper-level entry are not the program's to break.
    if (o.bit === 'rw' && !o.linear && (o.level !== 1 || this.held(`${o.obj}${o.slot}`).writing > 0)) return;
    const pa = o.linear ? this.linear.get(`${o.obj}${o.slot}:${o.level}`) : kernel_entry_of(k, obj.va, o.level);
    if (pa === undefined || pa === null) return;
    // The guest kernel changed the entry behind the kernel's back and flushes nothing (its
    // business, in a PV guest): the TLB-coherence oracle does not judge these pages' entries.
    this.oracle?.kernelBusy.push({ ...entrySpan(obj.va, o.level), program: true });
    // While the program changes its own pte, it does not write through it (kaccess).
    const h = !o.linear && o.level === 1 ? this.held(`${o.obj}${o.slot}`) : null;
    if (h) h.changing++;
    obj.users++;
    try {
      yield* xen_clear_entry_bits(k, cpu, pa, PTE_BIT[o.bit]);
    } finally {
      obj.users--;
      if (h) h.changing--;
    }
  }

  private *xenFrameOp(o: OpOf<'lowmem_rw' | 'pt_pin' | 'pt_unpin'>, cpu: LinuxCpu): KGen<void> {
    const k = this.k;
    const obj = this.objs[o.obj][o.slot];
    if (!obj) return;
    const mfn = xen_frame_of(k, objectVa(obj, cpu.index) + BigInt((o.page % obj.pages) * 4096));
    if (mfn === null) return;
    const h = this.held(`${o.obj}${o.slot}`);
    // The frame is the object's until the hypercall returns (it is recorded in `h` then, for
    // vfree to undo): no vfree meanwhile.
    obj.users++;
    try {
      if (o.op === 'lowmem_rw') {
        if ((yield* xen_lowmem_rw(k, cpu, mfn, o.writable)) !== 0) return;
        if (o.writable) h.ro.delete(mfn);
        else h.ro.add(mfn);
      } else if (o.op === 'pt_pin') {
        if ((yield* xen_pin_table(k, cpu, mfn, o.level)) === 0) h.pinned.add(mfn);
      } else if ((yield* xen_pin_table(k, cpu, mfn, 0)) === 0) h.pinned.delete(mfn);
    } finally {
      obj.users--;
    }
  }

  private *ptLinearOp(o: OpOf<'pt_linear'>, cpu: LinuxCpu): KGen<void> {
    const k = this.k;
    const key = `${o.obj}${o.slot}:${o.level}`;
    const from = this.objs[o.obj][o.slot];
    const to = this.objs[o.obj][o.to];
    if (!from || !to || this.linear.has(key)) return;
    from.users++;
    to.users++;
    try {
      const r = yield* xen_set_linear_entry(k, cpu, from.va, to.va, o.level);
      if (r && r.rc === 0) this.linear.set(key, r.pa);
    } finally {
      from.users--;
      to.users--;
    }
  }

  private *ptUnlinearOp(o: OpOf<'pt_unlinear'>, cpu: LinuxCpu): KGen<void> {
    const k = this.k;
    const key = `${o.obj}${o.slot}:${o.level}`;
    const pa = this.linear.get(key);
    if (pa === undefined) return;
    this.linear.delete(key);
    yield* HYPERVISOR_mmu_update(k, cpu, pa, 0n);
  }

  private *setMemoryOp(o: OpOf<'set_memory'>, cpu: LinuxCpu): KGen<void> {
    const k = this.k;
    const obj = this.objs.vmalloc[o.slot];
    if (!obj) return;
    obj.users++; // the caller owns the memory: it is not freed meanwhile
    // Its ptes change until it returns: another CPU's boundary check must not judge them yet.
    const busy = { start: obj.va, end: obj.va + BigInt(obj.pages * 4096) };
    this.oracle?.kernelBusy.push(busy);
    // On Xen PV the program's own pte changes (pt_set, pt_clear) may race with the rewrite: no
    // task writes through the object meanwhile.
    const h = k.config.paravirt === 'xen-pv' ? this.held(`vmalloc${o.slot}`) : null;
    if (h) h.changing++;
    try {
      yield* set_memory_nx(k, cpu, obj.va, obj.pages, o.nx);
    } finally {
      obj.users--;
      if (h) h.changing--;
    }
    if (this.oracle) {
      this.oracle.kernelBusy.splice(this.oracle.kernelBusy.indexOf(busy), 1);
      this.oracle.checkKernel(cpu, o.nx ? 'set_memory_nx' : 'set_memory_x');
    }
  }

  private *allocObjectOp(o: OpOf<'vmalloc' | 'vm_map_ram' | 'percpu_alloc'>, cpu: LinuxCpu): KGen<void> {
    const kind: KObj = o.op === 'vmalloc' ? 'vmalloc' : o.op === 'vm_map_ram' ? 'vmap' : 'percpu';
    if (this.objs[kind][o.slot]) return;
    const pages = o.op === 'percpu_alloc' ? 1 : o.pages;
    const fns = enterFn(cpu, o.op === 'vmalloc' ? 'vmalloc' : o.op === 'vm_map_ram' ? 'vm_map_ram' : 'alloc_percpu');
    let obj: KernelObject | null;
    try {
      obj = yield* this.ops.alloc(cpu, kind, pages);
    } finally {
      fns.pop();
    }
    this.objs[kind][o.slot] = obj;
  }

  private *freeObjectOp(o: OpOf<'vfree' | 'vm_unmap_ram' | 'percpu_free'>, cpu: LinuxCpu): KGen<void> {
    const k = this.k;
    const kind: KObj = o.op === 'vfree' ? 'vmalloc' : o.op === 'vm_unmap_ram' ? 'vmap' : 'percpu';
    const obj = this.objs[kind][o.slot];
    if (!obj || obj.users > 0) return; // in use elsewhere: the last reference is not ours
    this.objs[kind][o.slot] = null;
    yield* this.xenRelease(cpu, `${kind}${o.slot}`);
    const busy = { start: obj.va, end: obj.va + BigInt(obj.unit ? obj.unit * k.cpus.length : obj.pages * 4096) };
    this.oracle?.kernelBusy.push(busy);
    const fns = enterFn(cpu, o.op);
    try {
      yield* this.ops.free(cpu, kind, obj);
    } finally {
      fns.pop();
    }
    if (this.oracle) {
      this.oracle.kernelBusy.splice(this.oracle.kernelBusy.indexOf(busy), 1);
      this.oracle.checkKernel(cpu, o.op);
      this.oracle.checkKernelUnmapped(cpu, o.op, busy.start, busy.end);
    }
  }

  private *mmapOp(o: OpOf<'mmap'>, cpu: LinuxCpu, task: TaskStruct, mm: MmStruct, regs: (Region | null)[]): KGen<void> {
    const k = this.k;
    const claimed = this.claimSlot(mm, o.slot);
    if (!claimed) return;
    const { sp, start } = claimed;
    this.begin(mm);
    const fns = enterFn(cpu, 'sys_mmap');
    try {
      yield* this.ops.mmap(cpu, mm, start, o.pages, VM_FLAGS[o.prot]);
    } finally {
      fns.pop();
    }
    const made = region({ start, pages: o.pages, prot: o.prot, data: new Array(o.pages).fill(0), since: this.step, by: `mmap(${o.prot})` });
    regs[o.slot] = made;
    sp.mapping.delete(o.slot);
    this.end(mm);
    // MAP_POPULATE: __mm_populate() takes mmap_sem for reading again and faults in what is
    // still mapped, as allowed now (modelled as the task touching each page; GUP stops
    // quietly where a thread unmapped or protected the range meanwhile).
    if (o.populate) {
      yield* down_read(k, cpu, mm.mmap_sem);
      if (regs[o.slot] === made) {
        for (let i = 0; i < made.pages; i++) yield* this.userAccess(cpu, task, mm, o.slot, i, made.prot === 'rw' ? 'write' : 'read', false);
      }
      up_read(mm.mmap_sem, task);
    }
  }

  private *mmapFileOp(o: OpOf<'mmap_file'>, cpu: LinuxCpu, mm: MmStruct, regs: (Region | null)[]): KGen<void> {
    const claimed = this.claimSlot(mm, o.slot);
    if (!claimed) return;
    const { sp, start } = claimed;
    const f = this.file(o.file);
    this.begin(mm);
    const pages = o.whole ? Number(USER_SLOT_STRIDE >> 12n) : o.pages;
    const fns = enterFn(cpu, 'sys_mmap');
    try {
      yield* this.ops.mmap_file(cpu, mm, f.file, start, pages, VM_FLAGS[o.prot]);
    } finally {
      fns.pop();
    }
    regs[o.slot] = region({
      start,
      pages,
      prot: o.prot,
      file: o.file,
      data: new Array(pages).fill(-1),
      since: this.step,
      by: `mmap(${o.prot}, MAP_SHARED)`,
    });
    sp.mapping.delete(o.slot);
    this.end(mm);
  }

  private *mremapOp(o: OpOf<'mremap'>, cpu: LinuxCpu, mm: MmStruct, regs: (Region | null)[]): KGen<void> {
    const r = regs[o.slot];
    const sp = this.space(mm);
    if (!r || o.to === o.slot || sp.mapping.has(o.slot) || sp.mapping.has(o.to)) return;
    // Both slots stay busy until mremap returns: the destination is unmapped first, the
    // source when the move is done.
    regs[o.slot] = null;
    regs[o.to] = null;
    sp.mapping.add(o.slot);
    sp.mapping.add(o.to);
    this.begin(mm);
    const to = USER_BASE + BigInt(o.to) * USER_SLOT_STRIDE;
    // mremap() of the range's last pages (a partial move) leaves the first ones, with their data and page table.
    const keep = partialFrom(o.from, r);
    const from = r.start + BigInt(keep * 4096);
    const ret = yield* this.ops.mremap(cpu, mm, from, r.pages - keep, to); // sys_mremap() names its own frame
    // The moved vma's protection is the kernel's: an mprotect() of the old range by another
    // thread may have run (under mmap_sem) before the move and returned while it was in flight.
    const moved = mm.vmas.find((x) => x.vm_start === to);
    if (ret === to) {
      regs[o.to] = region({
        ...r,
        ...(moved ? { prot: protOf(moved.vm_flags) } : {}),
        ...(keep > 0 ? { pages: r.pages - keep, data: r.data.slice(keep) } : {}),
        start: to,
        since: this.step,
        by: `mremap from 0x${from.toString(16)}`,
        protUnknown: r.protUnknown || sp.mprotecting > 0,
      });
      if (keep > 0)
        regs[o.slot] = region({ ...r, pages: keep, data: r.data.slice(0, keep), since: this.step, by: `mremap of its pages ${keep}..${r.pages - 1}` });
    } else regs[o.slot] = r; // refused: the source stays where it was
    sp.mapping.delete(o.slot);
    sp.mapping.delete(o.to);
    this.end(mm);
    this.checkUser(cpu, mm, 'mremap');
  }

  private *ftruncateOp(o: OpOf<'ftruncate'>, cpu: LinuxCpu): KGen<void> {
    const f = this.file(o.file);
    if (++f.busy > 1) f.overlapped = true;
    this.truncations++;
    yield* this.ops.ftruncate(cpu, f.file, o.pages); // do_sys_ftruncate() names its own frame
    // Concurrent truncations end in the order of inode_lock(), not of their returns: once none
    // is in flight the size is the last one's, i_size.
    if (--f.busy === 0) f.pages = Number(f.file.f_inode.i_size >> 12n);
    // The pages it removed read as zeros if the file grows back (unknown if another overlapped it).
    f.data.fill(f.overlapped ? -1 : 0, o.pages);
    if (f.busy === 0) f.overlapped = false;
    this.truncations++;
    // A private copy beyond the new end is the file's again if the file grows back: unknown.
    for (const regs of this.regions.values()) for (const r of regs) if (r?.priv && r.file === o.file) r.data.fill(-1, Math.min(o.pages, r.data.length));
  }

  private *mmapDevOp(o: OpOf<'mmap_dev'>, cpu: LinuxCpu, mm: MmStruct, regs: (Region | null)[]): KGen<void> {
    const claimed = this.claimSlot(mm, o.slot);
    if (!claimed) return;
    const { sp, start } = claimed;
    const d = (this.devs[o.dev] ??= { dev: this.ops.dev_create(`pfnmap${o.dev}`, MAX_PAGES), releases: 0, busy: 0 });
    this.begin(mm);
    yield* traced(cpu, 'sys_mmap', () => this.ops.mmap_dev(cpu, mm, d.dev, start, o.pages, VM_FLAGS[o.prot]));
    const devGen = d.busy > 0 ? -1 : d.releases;
    regs[o.slot] = region({
      start,
      pages: o.pages,
      prot: o.prot,
      dev: o.dev,
      devGen,
      data: new Array(o.pages).fill(-1),
      since: this.step,
      by: `mmap(${o.prot}) of pfnmap${o.dev}`,
    });
    sp.mapping.delete(o.slot);
    this.end(mm);
  }

  private *mmapPrivOp(o: OpOf<'mmap_priv'>, cpu: LinuxCpu, mm: MmStruct, regs: (Region | null)[]): KGen<void> {
    const claimed = this.claimSlot(mm, o.slot);
    if (!claimed) return;
    const { sp, start } = claimed;
    const f = this.file(o.file);
    this.begin(mm);
    yield* traced(cpu, 'sys_mmap', () => this.ops.mmap_priv(cpu, mm, f.file, start, o.pages, VM_FLAGS[o.prot]));
    // the file's data until a page is written (copied): unknown to the shadow until then
    regs[o.slot] = region({
      start,
      pages: o.pages,
      prot: o.prot,
      file: o.file,
      priv: true,
      data: new Array(o.pages).fill(-1),
      since: this.step,
      by: `mmap(${o.prot}, MAP_PRIVATE)`,
    });
    sp.mapping.delete(o.slot);
    this.end(mm);
  }

  private *memWriteOp(o: OpOf<'mem_write'>, cpu: LinuxCpu, mm: MmStruct, regs: (Region | null)[]): KGen<void> {
    const k = this.k;
    const r = regs[o.slot];
    if (!r) return;
    const page = o.page % r.pages;
    const va = r.start + BigInt(page * 4096);
    yield* traced(cpu, 'sys_write', () => this.ops.mem_write(cpu, mm, va, 0x4141_4141_4141_4141n, (c, a, pg, vma) => check_cow_write(k, c, a, pg, vma)));
    r.data[page] = -1; // written behind the shadow's back (maybe into a new copy)
    if (r.file === undefined || r.priv) return;
    const f = this.files[r.file]!;
    f.data[page] = -1; // the file's page
    // Whatever the write did, a shared mapping's pte maps the file's page (or nothing).
    if (!this.oracle || this.space(mm).busy > 0 || this.revoking() || regs[o.slot] !== r) return;
    const t = walkTables(k, BigInt(mm.pgd), k.L.paging, va, 1);
    if (t) this.checkPageCache(cpu, f, page, Number(t.next >> 12n), va, 'write');
  }

  /**
   * A page of a MAP_SHARED mapping of file `f` at offset `page` is mapped to frame `pfn` (used by
   * a user access `kind` at `va`, or found in the pte after a write through /proc/self/mem), with
   * no truncation and no change of the mappings in flight: the frame must be the page cache's
   * page for that offset (never a private copy, never a page truncation removed from the file).
   */
  private checkPageCache(cpu: LinuxCpu, f: FileState, page: number, pfn: number, va: bigint, kind: AccessKind): void {
    const cached = f.file.f_mapping.page_tree.get(page);
    if (cached === pfn) return;
    this.oracle!.processFinding(
      cpu,
      va,
      kind,
      `page ${page} of ${f.file.f_inode.name} (MAP_SHARED): its page-cache page${cached === undefined ? ' (none: the page is not cached)' : ` pfn 0x${cached.toString(16)}`}`,
      `pfn 0x${pfn.toString(16)}${this.k.m.frames.isFree(pfn) ? ' (free)' : ''}`,
      "a shared file mapping maps a frame that is not the file's page",
      [],
      true,
    );
  }

  private *madviseOp(o: OpOf<'madvise'>, cpu: LinuxCpu, mm: MmStruct, regs: (Region | null)[]): KGen<void> {
    const r = regs[o.slot];
    if (!r) return;
    const sp = this.space(mm);
    this.begin(mm);
    sp.zapping++;
    yield* this.ops.madvise_dontneed(cpu, mm, r.start, r.pages); // sys_madvise() names its own frame
    sp.zapping--;
    r.data.fill(-1); // zero-filled again, or the file's again: not tracked
    this.end(mm);
  }

  private *devReleaseOp(o: OpOf<'dev_release'>, cpu: LinuxCpu): KGen<void> {
    const d = this.devs[o.dev];
    if (!d) return;
    d.busy++;
    this.truncations++;
    yield* traced(cpu, 'sys_ioctl', () => this.ops.dev_release(cpu, d.dev));
    d.busy--;
    d.releases++;
    this.truncations++;
  }

  private *munmapOp(o: OpOf<'munmap'>, cpu: LinuxCpu, mm: MmStruct, regs: (Region | null)[]): KGen<void> {
    const r = regs[o.slot];
    const sp = this.space(mm);
    if (!r || sp.mapping.has(o.slot)) return;
    // munmap() of the range's last pages (a partial unmap) leaves the first ones mapped, with their data.
    const keep = partialFrom(o.from, r);
    regs[o.slot] = null;
    // The slot stays busy until munmap returns: a thread's mmap there meanwhile would be taken
    // by this unmap once it gets mmap_sem, and the shadow would promise a mapping that is gone.
    sp.mapping.add(o.slot);
    this.begin(mm);
    const fns = enterFn(cpu, 'sys_munmap');
    try {
      yield* this.ops.munmap(cpu, mm, r.start + BigInt(keep * 4096), r.pages - keep);
    } finally {
      fns.pop();
    }
    if (keep > 0)
      regs[o.slot] = region({ ...r, pages: keep, data: r.data.slice(0, keep), since: this.step, by: `munmap of its pages ${keep}..${r.pages - 1}` });
    sp.mapping.delete(o.slot);
    this.end(mm);
    this.checkUser(cpu, mm, 'munmap');
  }

  private *mprotectOp(o: OpOf<'mprotect'>, cpu: LinuxCpu, mm: MmStruct, regs: (Region | null)[]): KGen<void> {
    const r = regs[o.slot];
    if (!r) return;
    const sp = this.space(mm);
    this.begin(mm);
    sp.mprotecting++;
    yield* this.ops.mprotect(cpu, mm, r.start, r.pages, VM_FLAGS[o.prot]); // sys_mprotect() names its own frame
    sp.mprotecting--;
    const now = regs[o.slot];
    if (now === r) Object.assign(r, { prot: o.prot, since: this.step, by: `mprotect(${o.prot})`, protUnknown: false });
    // The range was unmapped and mapped again, or moved, while the call waited for mmap_sem: it
    // may have changed the new mapping, or the range before the move, or found nothing (it
    // applies to whatever is there when it runs).
    else {
      if (now) now.protUnknown = true;
      r.protUnknown = true; // an mremap() that took the range meanwhile copies it
    }
    this.end(mm);
    this.checkUser(cpu, mm, 'mprotect');
  }

  private *gupFastOp(o: OpOf<'gup_fast'>, cpu: LinuxCpu, mm: MmStruct, regs: (Region | null)[]): KGen<void> {
    const r = regs[o.slot];
    if (!r) return;
    const s = this.space(mm);
    const version = s.version;
    const forks = s.forks;
    const forking = s.forkSeq >= 0;
    const fns = enterFn(cpu, 'get_user_pages_fast');
    let pinned: number[];
    try {
      pinned = yield* this.ops.gup_fast(cpu, mm, r.start, Math.min(o.pages, r.pages), o.write);
    } finally {
      fns.pop();
    }
    // A fork that overlapped the pin may write-protect and share a page GUP-fast already found
    // writable: the pin then reaches the child too, which the modelled releases allow (they do not
    // copy a pinned page at fork).
    const racy = s.busy > 0 || s.version !== version || forking || s.forks !== forks || regs[o.slot] !== r;
    if (this.oracle && o.write) this.judgePinnedForWrite(cpu, mm, r, pinned, racy);
  }

  /**
   * The process view of a write pin (get_user_pages(write)): the caller will write the pages, as
   * the process could. Each must be writable by the process — its mapping read-write — and, in
   * private anonymous memory, its own: a frame another live process maps (a copy-on-write page not
   * broken) would take the caller's writes into that process (the pinned pages are judged as
   * writes; not when a system call changed the mappings or a fork ran meanwhile).
   */
  private judgePinnedForWrite(cpu: LinuxCpu, mm: MmStruct, r: Region, pinned: readonly number[], racy: boolean): void {
    if (racy || r.protUnknown) return;
    const o = this.oracle!;
    for (let i = 0; i < pinned.length; i++) {
      const va = r.start + BigInt(i * 4096);
      if (r.prot !== 'rw') {
        o.processFinding(
          cpu,
          va,
          'write',
          `no write pin (${r.by} returned at step ${r.since}: ${r.prot})`,
          `get_user_pages_fast() pinned pfn 0x${pinned[i].toString(16)} for writing`,
          `write pin of a ${r.prot} page`,
          [],
          false,
        );
      }
      if (r.file !== undefined || r.dev !== undefined || r.priv) continue;
      const seen = this.seen.get(pinned[i]);
      const other = seen ? o.sharedWith(mm, pinned[i], seen, false) : null;
      if (other && this.space(other.mm).busy === 0)
        o.processFinding(
          cpu,
          va,
          'write',
          `a frame of ${mm.name} alone (copy-on-write)`,
          `get_user_pages_fast() pinned pfn 0x${pinned[i].toString(16)} for writing, which ${other.mm.name} maps at va 0x${other.va.toString(16)}`,
          'write pin of a frame another process maps',
          [],
          false,
        );
    }
  }

  private *forkOp(o: OpOf<'fork' | 'clone'>, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
    if (o.task >= this.program.tasks.length || this.program.tasks[o.task].kthread) return;
    const fns = enterFn(cpu, 'do_fork');
    try {
      yield* this.spawn(o.task, mm, cpu, o.op === 'clone');
    } finally {
      fns.pop();
    }
  }

  private *memcgOp(o: OpOf<'memcg'>, cpu: LinuxCpu, mm: MmStruct): KGen<void> {
    let g = this.memcgs[o.slot];
    if (g === undefined) {
      this.memcgs[o.slot] = null; // being created: another task's memcg op waits for nothing
      const fns = enterFn(cpu, 'cgroup_mkdir');
      try {
        g = yield* this.ops.memcg_create(cpu, `fuzz${o.slot}`);
      } finally {
        fns.pop();
      }
      this.memcgs[o.slot] = g;
    }
    if (g) this.ops.memcg_attach(mm, g);
  }

  /** File `i` of the program (created on first use). */
  private file(i: number): FileState {
    return (this.files[i] ??= {
      file: this.ops.file_create(`file${i}`, MAX_PAGES),
      pages: MAX_PAGES,
      busy: 0,
      data: new Array<number>(MAX_PAGES).fill(0),
      overlapped: false,
    });
  }

  /** A truncation or a device release is in flight (its unmap_mapping_range() may have zapped ptes whose flush is not due yet). */
  private revoking(): boolean {
    return this.files.some((f) => f && f.busy > 0) || this.devs.some((d) => d && d.busy > 0);
  }

  /** The tlb-coherence check when a system call that changed `mm`'s tables returns, unless revoking() or a madvise() of `mm` is zapping. */
  private checkUser(cpu: LinuxCpu, mm: MmStruct, what: string): void {
    if (this.revoking() || this.space(mm).zapping > 0) return;
    this.oracle?.checkUser(cpu, mm, what);
  }

  /** A system call that changes `mm`'s mappings starts / returns. */
  private begin(mm: MmStruct): void {
    const s = this.space(mm);
    s.busy++;
    s.version++;
  }

  private end(mm: MmStruct): void {
    const s = this.space(mm);
    s.busy--;
    s.version++;
  }

  /**
   * A user access of page `page` of slot `slot` (page 0 of the slot's base when it is unmapped),
   * judged by the process view in the step the hardware (or SIGSEGV) decides it.
   */
  private *userAccess(cpu: LinuxCpu, task: TaskStruct, mm: MmStruct, slot: number, page: number, kind: AccessKind, data: boolean): KGen<void> {
    const r = this.regionsOf(mm)[slot];
    const va = (r ? r.start : USER_BASE + BigInt(slot) * USER_SLOT_STRIDE) + BigInt(page * 4096);
    if (this.oracle) {
      const s = this.space(mm);
      const racy = s.busy > 0 || this.revoking();
      // One record per task, reused by its later accesses (no allocation per access).
      let p = this.pending.get(task);
      if (!p) this.pending.set(task, (p = { mm, slot, page, va, kind, region: r, version: 0, racy, data, truncations: 0, done: false }));
      p.mm = mm;
      p.slot = slot;
      p.page = page;
      p.va = va;
      p.kind = kind;
      p.region = r;
      p.version = s.version;
      p.racy = racy;
      p.data = data;
      p.truncations = this.truncations;
      p.done = false;
    }
    yield* this.access(cpu, va, kind, 3);
    if (this.oracle) this.pending.get(task)!.done = true;
  }

  /**
   * The process view: the pending access of `cpu`'s task succeeded at `pa` (null: SIGSEGV). Unless
   * a system call changing its address space's mappings was in flight meanwhile, the outcome must
   * be the one the shadow promises, and a read must return the last value this process wrote.
   */
  private judge(cpu: LinuxCpu, pa: bigint | null, signal = 'SIGSEGV'): void {
    const t = cpu.curr;
    const p = this.pending.get(t);
    if (!p || p.done || cpu.frames.length > 0) return;
    p.done = true;
    const o = this.oracle!;
    const s = this.space(p.mm);
    const r = this.regionsOf(p.mm)[p.slot];
    const racy = p.racy || s.busy > 0 || s.version !== p.version || r !== p.region || p.truncations !== this.truncations || !!r?.protUnknown;
    const mapped = !!r && p.page < r.pages;
    const revoked = mapped && r!.dev !== undefined && r!.devGen !== this.devs[r!.dev]!.releases;
    const beyondEof = revoked || (mapped && r!.file !== undefined && p.page >= this.files[r!.file]!.pages);
    const allowed = mapped && !beyondEof && (p.kind === 'read' || (p.kind === 'write' ? r!.prot === 'rw' : r!.prot === 'rx' || this.k.L.paging === '32bit'));
    if (!racy) {
      if (pa === null && allowed)
        o.processFinding(cpu, p.va, p.kind, this.promised(r, mapped, beyondEof, revoked, allowed), signal, `legal user ${p.kind} got ${signal}`, [], false);
      if (pa !== null && !allowed) {
        o.processFinding(
          cpu,
          p.va,
          p.kind,
          this.promised(r, mapped, beyondEof, revoked, allowed),
          `success at pa 0x${pa.toString(16)}`,
          mapped ? `user ${p.kind} to a ${r!.prot} page succeeded` : `user ${p.kind} to an unmapped page succeeded`,
          [],
          true,
        );
      }
    }
    // A shared mapping's data is its file's, shared with every mapping of the file (a device
    // buffer's: not kept); a private mapping's page is the process's own once it wrote it
    // (copy-on-write isolation is judged for anonymous memory only).
    const priv = r?.priv === true;
    if (pa === null || !mapped || !p.data || p.kind === 'exec' || !allowed || r!.dev !== undefined) return;
    const at = Number(pa);
    if (r!.file !== undefined && !priv) {
      const f = this.files[r!.file]!;
      outcomeCover('outcome:shared-file');
      if (!racy) this.checkPageCache(cpu, f, p.page, at >>> 12, p.va, p.kind);
      if (p.kind === 'write') f.data[p.page] = this.userWrite(t, p, cpu, at, racy);
      else if (!racy) this.judgeRead(cpu, p, at, f.data[p.page], r!.file);
      return;
    }
    const pfn = at >>> 12;
    let seen = priv ? undefined : this.seen.get(pfn);
    if (!priv && !seen) this.seen.set(pfn, (seen = []));
    let known = false;
    for (let i = 0; seen && i < seen.length && !known; i++) known = seen[i].mm === p.mm && seen[i].va === p.va;
    if (seen && !known) seen.push({ mm: p.mm, va: p.va });
    if (p.kind === 'write') {
      if (seen && !racy && s.forkSeq < 0) {
        const other = o.sharedWith(p.mm, pfn, seen);
        if (
          other &&
          this.regionsOf(other.mm).some((x) => x && other.va >= x.start && other.va < x.start + BigInt(x.pages * 4096)) &&
          this.space(other.mm).busy === 0
        ) {
          o.processFinding(
            cpu,
            p.va,
            'write',
            `a frame of ${p.mm.name} alone (copy-on-write)`,
            `the write reached pfn 0x${pfn.toString(16)}, which ${other.mm.name} maps at va 0x${other.va.toString(16)}`,
            'user write visible to another process',
            [],
            true,
          );
        }
      }
      r!.data[p.page] = this.userWrite(t, p, cpu, at, false);
      return;
    }
    if (!racy) this.judgeRead(cpu, p, at, r!.data[p.page]);
  }

  /**
   * User write `p` succeeded at physical address `at`: stores its number there. Returns what the
   * shadow now expects of the page: the number, or -1 (unknown) for a write that raced with a
   * change of mappings, when `unknownIfRacy`.
   */
  private userWrite(t: TaskStruct, p: PendingAccess, cpu: LinuxCpu, at: number, unknownIfRacy: boolean): number {
    this.writes.push({ task: t, mm: p.mm, cpu: cpu.index, step: this.step, va: p.va });
    const v = this.writes.length;
    this.k.m.phys.write64n(at, BigInt(v));
    return unknownIfRacy ? -1 : v;
  }

  /**
   * User read `p`, not racing with a change of its mappings, at physical address `at`: it must
   * return `want` (-1: unknown), the last value this process wrote there or, for a page of a
   * MAP_SHARED mapping of file `file`, the last value any process wrote to that page of the file.
   */
  private judgeRead(cpu: LinuxCpu, p: PendingAccess, at: number, want: number, file?: number): void {
    if (want < 0) return;
    if (want > 0 && file === undefined) {
      const w0 = this.writes[want - 1];
      // Preconditions as coverage: a value another CPU or another process (before a fork) wrote.
      if (w0.cpu !== cpu.index) outcomeCover('outcome:read:written-by-other-cpu');
      if (w0.mm !== p.mm) outcomeCover('outcome:read:written-before-fork');
    }
    const got = this.k.m.phys.read64n(at);
    if (got === BigInt(want)) return;
    const n = Number(got);
    const w = n >= 1 && n <= this.writes.length ? this.writes[n - 1] : null;
    const whose = w
      ? w.mm === p.mm
        ? `an older write of this process (${taskName(w.task)} at step ${w.step})`
        : `another process's data (${taskName(w.task)} of ${w.mm.name} wrote it at va 0x${w.va.toString(16)}, step ${w.step})`
      : `a value never written by a user (0x${got.toString(16)})`;
    const written =
      want === 0 ? 'zero (never written)' : `value ${want} (written by ${taskName(this.writes[want - 1].task)} at step ${this.writes[want - 1].step})`;
    this.oracle!.processFinding(
      cpu,
      p.va,
      'read',
      file === undefined ? written : `page ${p.page} of file${file} (MAP_SHARED): ${written}`,
      `value ${got} at pa 0x${at.toString(16)}: ${whose}`,
      file === undefined
        ? `user read returned ${w ? (w.mm === p.mm ? 'a stale value of its own' : "another process's data") : 'a value never written'}`
        : 'user read of a shared file page returned what the file does not hold',
      [],
      true,
    );
  }

  /** What the shadow promised an access to region `r` (for a report). */
  private promised(r: Region | null, mapped: boolean, beyondEof: boolean, revoked: boolean, allowed: boolean): string {
    if (!mapped) return 'SIGSEGV (nothing mapped there)';
    if (revoked) return `SIGBUS (pfnmap${r!.dev}'s buffer was released)`;
    if (beyondEof) return `SIGBUS (beyond the end of file${r!.file}: ${this.files[r!.file!]!.pages} pages)`;
    return `${allowed ? 'success' : 'SIGSEGV'} (${r!.by} returned at step ${r!.since})`;
  }

  private explainAccess(cpu: LinuxCpu, va: bigint, kind: AccessKind, cpl: 0 | 3, pa: bigint, how: string): void {
    this.events!.push({
      step: this.sched?.steps ?? 0,
      cpu: cpu.index,
      text: `${cpl === 3 ? 'user' : 'kernel'} ${kind} 0x${va.toString(16)} -> pa 0x${pa.toString(16)}${how ? ` (${how})` : ''}`,
    });
  }

  private regionsOf(mm: MmStruct): (Region | null)[] {
    let r = this.regions.get(mm);
    if (!r) this.regions.set(mm, (r = new Array(SLOTS).fill(null)));
    return r;
  }

  /** A hardware access (fault handling and retry included), then the sampled walker check. */
  private *access(cpu: LinuxCpu, va: bigint, kind: AccessKind, cpl: 0 | 3): KGen<void> {
    let pa: bigint;
    if (cpl === 0) {
      pa = yield* kaccess(cpu, va, kind);
      if (this.events) {
        const n = (cpu.hw as unknown as Cpu).lastWalkEntries().length;
        this.explainAccess(cpu, va, kind, cpl, pa, n === 0 ? 'TLB hit' : `page walk, ${n} entries read`);
      }
    } else {
      pa = yield* user_access(cpu, va, kind);
      if (this.events) this.explainAccess(cpu, va, kind, cpl, pa, '');
    }
    if (++this.accesses % WALK_SAMPLE !== 0) return;
    const f = checkWalkAgreement(cpu.hw as unknown as Cpu, this.m.phys, this.refCfg, va, { kind, cpl });
    if (f) throw new FindingStop(f);
  }
}

/** How a report names the return to user mode after operation `op` (a system call, or a user access and its faults). */
const RETURN_NAMES: Partial<Record<Op['op'], string>> = {
  uaccess: 'a user access (its page faults)',
  mem_write: 'write() to /proc/self/mem',
  dev_release: 'the device release ioctl()',
  gup_fast: 'get_user_pages_fast()',
};

function returnName(op: Op['op']): string {
  return RETURN_NAMES[op] ?? `${op}()`;
}
