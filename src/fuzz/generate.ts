/**
 * Seeded generation and mutation of programs and schedules. The generator draws from the one
 * vocabulary of program.ts with the same base weights for every preset (a Xen PV guest adds the
 * weights of a malicious guest kernel's operations, XEN_OP_WEIGHTS), adapted by coverage
 * feedback (`feedback()`); it knows nothing of any scenario. Like syzkaller's resource tracking,
 * it prefers slots that an earlier operation of the same task filled (an access to a range that
 * was mapped), which is knowledge of the vocabulary, not of any bug. All randomness comes from a seeded `Prng` (no Math.random).
 */
import { Prng } from '../scheduler/prng.js';
import {
  cloneProgram,
  DEVS,
  FILES,
  GPT_INDICES,
  GPT_SLOTS,
  type GptEntry,
  MAX_FAIL_NTH,
  MAX_LOOP,
  MAX_IRQS,
  MAX_OPS,
  MAX_PAGES,
  MAX_TASKS,
  OP_NAMES,
  SLOTS,
  type AccessKindName,
  type IrqProg,
  type KObj,
  type Op,
  type OpName,
  type Program,
  type Prot,
  type PteBit,
  type PtLevel,
  type Schedule,
  type TaskProg,
} from './program.js';

/**
 * Base weights of task operations (the same for every preset but Xen PV, XEN_OP_WEIGHTS; `feedback()` scales them). An
 * operation not listed (mmap_dev, dev_release, mmap_priv, mem_write, madvise: hand weights for them
 * moved other bugs' blind tests, docs/historical-bugs.md) has UNLISTED_OP_WEIGHT, and the race
 * template's RESOURCES draw it too.
 */
const TASK_OP_WEIGHTS: ReadonlyArray<readonly [OpName, number]> = [
  ['mmap', 14],
  ['mmap_file', 5],
  ['mremap', 4],
  ['ftruncate', 4],
  ['munmap', 7],
  ['mprotect', 2],
  ['uaccess', 18],
  ['gup_fast', 6],
  ['fork', 4],
  ['clone', 7],
  ['memcg', 3],
  ['vmalloc', 6],
  ['vfree', 3],
  ['set_memory', 3],
  ['vm_map_ram', 5],
  ['vm_unmap_ram', 4],
  ['percpu_alloc', 4],
  ['percpu_free', 2],
  ['kaccess', 9],
  ['pt_set', 3],
  ['pt_linear', 2],
  ['pt_unlinear', 1],
  // A Xen PV guest kernel's own page-table operations: weighted on Xen PV targets only (XEN_OP_WEIGHTS)
  ['pt_clear', 0],
  ['lowmem_rw', 0],
  ['pt_pin', 0],
  ['pt_unpin', 0],
  ['loop', 0],
  ['gpt_alloc', 0],
  ['gpt_lowmem', 0],
  ['gpt_pin', 0],
  ['gpt_unpin', 0],
  ['gpt_update', 0],
  ['flush_tlb', 4],
  ['fail_nth', 3],
  ['schedule', 5],
  ['exit', 2],
];
/**
 * Weight of an operation the table above does not list (a new kind joins the vocabulary drawn
 * rarely; the adaptive weights below raise it while programs with it keep finding coverage).
 */
const UNLISTED_OP_WEIGHT = 1;
/** Base weight of every operation name, in OP_NAMES order. */
const BASE_WEIGHTS: readonly number[] = OP_NAMES.map((n) => TASK_OP_WEIGHTS.find(([m]) => m === n)?.[1] ?? UNLISTED_OP_WEIGHT);
/**
 * Base weights on a Xen PV target: the vocabulary of a malicious PV guest kernel joins, its own
 * page-table operations (HYPERVISOR_mmu_update, update_va_mapping, MMUEXT_(UN)PIN) on kernel
 * objects and on its pool of page-table pages, and loops. Other targets keep BASE_WEIGHTS, so
 * their programs are what they were before this vocabulary existed.
 */
const XEN_OP_WEIGHTS: ReadonlyArray<readonly [OpName, number]> = [
  ['pt_clear', 2],
  ['lowmem_rw', 2],
  ['pt_pin', 2],
  ['pt_unpin', 1],
  ['loop', 2],
  ['gpt_alloc', 3],
  ['gpt_lowmem', 2],
  ['gpt_pin', 2],
  ['gpt_unpin', 2],
  ['gpt_update', 3],
];
const XEN_BASE_WEIGHTS: readonly number[] = OP_NAMES.map((n, i) => XEN_OP_WEIGHTS.find(([m]) => m === n)?.[1] ?? BASE_WEIGHTS[i]);
const OP_INDEX = new Map<OpName, number>(OP_NAMES.map((n, i) => [n, i]));
/** Executions between two updates of the adaptive weights, and the bounds of their factor. */
const ADAPT_EVERY = 100;
const ADAPT_MIN = 1;
const ADAPT_MAX = 4;

const KINDS: readonly AccessKindName[] = ['read', 'write', 'exec'];
const PROTS: readonly Prot[] = ['r', 'rw', 'rx'];
const KOBJS: readonly KObj[] = ['vmalloc', 'vmap', 'percpu'];
/** PCT run-length bounds: fuzz runs take from a few dozen to a few hundred steps. */
const PCT_STEPS: readonly number[] = [20, 40, 80, 160, 400];
const PT_LEVELS: readonly PtLevel[] = [1, 2, 3, 4];
/** Sticky walk: probabilities of leaving a CPU where a critical section ended (schedule.ts). */
const RELEASE: readonly number[] = [0.3, 0.7, 0.95];
/** PTE bits by weight: the permission and page-size bits change what a mapping grants, the others only how it is tracked. */
const PTE_BIT_WEIGHTS: ReadonlyArray<readonly [PteBit, number]> = [
  ['rw', 3],
  ['pse', 2],
  ['accessed', 1],
  ['dirty', 1],
  ['global', 1],
  ['nx', 1],
];
const UPPER_LEVELS: readonly (2 | 3 | 4)[] = [2, 3, 4];
/** Page-table levels by weight, for the Xen guest vocabulary (L1 and L2 tables are the most numerous). */
const TABLE_LEVELS: readonly PtLevel[] = [1, 1, 2, 2, 3, 4];
const FLUSH_SCOPES = ['local', 'mm', 'all'] as const;
/** (pt, to) of an entry of a row's page in a loop body: previous -> this, this -> previous, this -> this, this -> next. */
const NEIGHBOURS: ReadonlyArray<readonly [number, number]> = [
  [0, 1],
  [1, 0],
  [1, 1],
  [1, 2],
];

/**
 * The generator's resource model: for each kind of object the vocabulary has, the operations that
 * create it, use it (a use fills TLB and paging-structure-cache entries for it), change it (move,
 * unmap, retype, free it) and change its container (the file a mapping maps). `race()` draws from
 * it by resource type, never by bug; a new operation kind joins a resource by being listed here
 * (and `aim()` names the object in its fields).
 */
interface ResourceKind {
  /** The object lives in a process's address space (its threads share it through clone). */
  user: boolean;
  /** Kernel object kind, for kaccess and the page-table operations. */
  obj?: KObj;
  creates: readonly OpName[];
  uses: readonly OpName[];
  changes: readonly OpName[];
  containers?: readonly OpName[];
}
const RESOURCES: ReadonlyArray<readonly [ResourceKind, number]> = [
  [{ user: true, creates: ['mmap'], uses: ['uaccess', 'uaccess', 'gup_fast'], changes: ['munmap', 'mremap', 'mprotect'] }, 3],
  [
    {
      user: true,
      creates: ['mmap_file'],
      uses: ['uaccess', 'uaccess', 'gup_fast'],
      changes: ['munmap', 'mremap', 'mprotect'],
      containers: ['ftruncate'],
    },
    3,
  ],
  // a driver's buffer mapped with remap_pfn_range() (VM_PFNMAP); its container is the device, which the driver's release frees
  [{ user: true, creates: ['mmap_dev'], uses: ['uaccess', 'uaccess'], changes: ['munmap', 'mprotect'], containers: ['dev_release'] }, 1],
  // a private file mapping: read, written through /proc/self/mem (a forced write breaks COW), its pages dropped again
  [
    {
      user: true,
      creates: ['mmap_priv'],
      uses: ['uaccess', 'mem_write', 'mem_write'],
      changes: ['madvise', 'madvise', 'munmap', 'mprotect'],
      containers: ['ftruncate'],
    },
    1,
  ],
  [{ user: false, obj: 'vmalloc', creates: ['vmalloc'], uses: ['kaccess'], changes: ['vfree', 'vfree', 'set_memory', 'pt_set', 'pt_linear'] }, 1],
  [{ user: false, obj: 'vmap', creates: ['vm_map_ram'], uses: ['kaccess'], changes: ['vm_unmap_ram', 'vm_unmap_ram', 'pt_set', 'pt_linear'] }, 1],
  [{ user: false, obj: 'percpu', creates: ['percpu_alloc'], uses: ['kaccess'], changes: ['percpu_free'] }, 1],
];
/** Probability that a group of the race template runs in a loop. */
const REPEAT_IN_RACE = 0.3;
/** Probability that the race template sets an object's attributes before its threads start (and may set them back). */
const PRIME_IN_RACE = 0.25;
/** Probability that a fresh program is built around a race on one object (`race()`) instead of share and collide. */
const RACE_PROBABILITY = 0.25;
/** Probability that a fresh program gets one of the concurrency shapes of `shape()` (before race, share and collide). */
const SHAPE_PROBABILITY = 0.08;
/** On a Xen PV target: probability that a fresh program gets a guest page-table template (`guestTables()` or `retype()`). */
const XEN_TEMPLATE_PROBABILITY = 0.3;

/** Generator and mutator over one Prng. */
export class Generator {
  /** Base weight of each operation name (OP_NAMES order) on this target. */
  private readonly base: readonly number[];
  /** Current weight of each operation name (OP_NAMES order): its base weight times its adaptive factor. */
  private readonly weights: Float64Array;
  private totalWeight: number;
  /** Per operation name: executions of programs that contained it, and how many of those reached new coverage. */
  private readonly ran = new Float64Array(OP_NAMES.length);
  private readonly gained = new Float64Array(OP_NAMES.length);
  private feedbacks = 0;
  private gains = 0;

  constructor(
    readonly rng: Prng,
    /** CPUs of the target machine. */
    readonly maxCpus: number,
    /** The target is a Xen PV guest: the malicious-guest vocabulary and its templates join (XEN_OP_WEIGHTS). */
    readonly xen = false,
  ) {
    this.base = xen ? XEN_BASE_WEIGHTS : BASE_WEIGHTS;
    this.weights = Float64Array.from(this.base);
    this.totalWeight = this.base.reduce((a, w) => a + w, 0);
  }

  /**
   * Coverage feedback (the engine calls it after each execution): which operations the program
   * had, and whether it reached new coverage. Every ADAPT_EVERY executions each operation's weight
   * becomes its base weight times the ratio of its programs' rate of new coverage to the rate of all
   * programs (bounded to [ADAPT_MIN, ADAPT_MAX]): operations that keep opening code are drawn more,
   * and a factor falls back as its operation's new coverage dries up. Never below the base weight:
   * operations that seldom open code but that bugs need (exit, a local flush) must not starve.
   * Adaptive instead of hand weights (MOpt's idea for mutation operators, applied to
   * syzkaller-style call choice); deterministic, since it depends only on the seed's executions.
   */
  feedback(p: Program, newCoverage: boolean): void {
    const seen = new Uint8Array(OP_NAMES.length);
    for (const t of p.tasks) for (const o of t.ops) seen[OP_INDEX.get(o.op) ?? 0] = 1;
    for (let i = 0; i < seen.length; i++) {
      if (!seen[i]) continue;
      this.ran[i]++;
      if (newCoverage) this.gained[i]++;
    }
    this.feedbacks++;
    if (newCoverage) this.gains++;
    if (this.feedbacks % ADAPT_EVERY !== 0) return;
    const all = (this.gains + 1) / (this.feedbacks + 2);
    let total = 0;
    for (let i = 0; i < this.weights.length; i++) {
      const f = (this.gained[i] + 1) / (this.ran[i] + 2) / all;
      this.weights[i] = this.base[i] * Math.min(ADAPT_MAX, Math.max(ADAPT_MIN, f));
      total += this.weights[i];
    }
    this.totalWeight = total;
  }

  private below(n: number): number {
    return this.rng.below(n);
  }
  private chance(p: number): boolean {
    return this.rng.nextFloat() < p;
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
  /**
   * A slot number, small ones first (1/2, 1/4, 1/8, 1/8): operations of different tasks and
   * handlers meet on the same objects often, as syzkaller favours reusing resources.
   */
  private slot(): number {
    const r = this.below(8);
    return r < 4 ? 0 : r < 6 ? 1 : r < 7 ? 2 : SLOTS - 1;
  }

  /** A fresh schedule. */
  schedule(): Schedule {
    const seed = this.rng.nextU32();
    const k = this.below(5);
    if (k === 0) return { strategy: 'random', seed, eventProbability: this.pick([0.02, 0.05, 0.1, 0.2, 0.35]) };
    if (k <= 2) {
      const s: Schedule = { strategy: 'sticky', seed, eventProbability: this.pick([0.01, 0.03, 0.1]), stickiness: this.pick([0.8, 0.9, 0.97]) };
      if (k === 2) s.release = this.pick(RELEASE);
      return s;
    }
    return { strategy: 'pct', seed, depth: 2 + this.below(5), steps: this.pick(PCT_STEPS) };
  }

  /**
   * A focused schedule of a corpus entry's run (its schedule `s`, its recorded `choices`, its
   * `moments`: step, standing CPU, moving CPU; Coverage.hitPair): the run replayed up to one of
   * the moments where two CPUs first stood on a pair of labels no run had reached, then one of the
   * two stalled there for 1 to 512 steps (spread over the powers of two) while the others run on,
   * then the entry's strategy with a new seed, or a fresh strategy. What comes out stays close to
   * a run that reached new interleaving coverage (SegFuzz's neighbourhood of an interleaving,
   * the shape of a race window: one side stopped in the middle of its path while the other
   * completes); it names no label, operation or bug.
   */
  focus(s: Schedule, choices: readonly number[], moments: readonly number[]): Schedule {
    const m = 3 * this.below(moments.length / 3);
    const cpu = moments[m + 1 + this.below(2)];
    const steps = 1 + this.below(1 << (1 + this.below(9)));
    const base: Schedule = this.chance(0.5) ? { ...s, seed: this.rng.nextU32() } : this.schedule();
    delete base.prefix;
    delete base.hold;
    return { ...base, prefix: choices.slice(0, moments[m]), hold: { cpu, steps } };
  }

  /** A fresh program. */
  program(): Program {
    const cpus = this.maxCpus === 1 ? 1 : this.chance(0.75) ? this.maxCpus : 1 + this.below(this.maxCpus);
    const nBoot = 1 + this.below(2);
    const nFork = this.below(2);
    const tasks: TaskProg[] = [];
    for (let i = 0; i < nBoot + nFork && i < MAX_TASKS; i++) tasks.push(this.task(cpus, i < nBoot ? 'boot' : 'fork'));
    // Forked tasks start with their parent's mappings: they know the boot tasks' slots.
    const inherited: number[] = [];
    for (const t of tasks) {
      t.ops = this.ops(t, tasks.length, 1 + this.below(6), t.spawn === 'fork' ? inherited : []);
      if (t.spawn === 'boot') for (const o of t.ops) for (const m of mappedBy(o)) if (!inherited.includes(m)) inherited.push(m);
    }
    normalize({ cpus, tasks, irqs: [] }, this.maxCpus);
    // Most multi-CPU programs get a collided pair: races need two CPUs on one object (with 0.4
    // instead of 0.7, seed 002's median went from about 4 900 to 12 800 executions).
    if (cpus > 1 && this.chance(SHAPE_PROBABILITY)) this.shape({ cpus, tasks, irqs: [] });
    else if (this.chance(RACE_PROBABILITY)) this.race({ cpus, tasks, irqs: [] });
    else {
      if (this.chance(0.15)) this.share({ cpus, tasks, irqs: [] });
      if (cpus > 1 && this.chance(0.7)) this.collide({ cpus, tasks, irqs: [] });
    }
    if (this.xen && this.chance(XEN_TEMPLATE_PROBABILITY)) {
      if (this.chance(0.5)) this.guestTables({ cpus, tasks, irqs: [] });
      else this.retype({ cpus, tasks, irqs: [] });
    }
    normalize({ cpus, tasks, irqs: [] }, this.maxCpus);
    const irqs: IrqProg[] = [];
    const nIrq = this.chance(0.6) ? 0 : 1 + this.below(2);
    for (let i = 0; i < nIrq; i++) irqs.push(this.irq(cpus));
    return { cpus, tasks, irqs };
  }

  private task(cpus: number, spawn: 'boot' | 'fork'): TaskProg {
    return { cpu: this.below(cpus), kthread: spawn === 'boot' && this.chance(0.2), spawn, ops: [] };
  }

  private irq(cpus: number): IrqProg {
    const ops: Op[] = [];
    const n = 1 + this.below(3);
    for (let i = 0; i < n; i++) ops.push(this.kaccess(this.slot()));
    return { kind: this.chance(0.5) ? 'nmi' : 'irq', cpu: this.chance(0.5) ? -1 : this.below(cpus), count: 1 + this.below(4), ops };
  }

  /** `n` operations for a task, tracking which user slots it mapped so that accesses hit them. */
  private ops(t: TaskProg, ntasks: number, n: number, known: readonly number[] = []): Op[] {
    const mapped: number[] = [...known];
    const areas: number[] = [];
    const out: Op[] = [];
    for (let i = 0; i < n; i++) {
      const prev = out[out.length - 1];
      const o = (prev && this.chance(0.35) && this.next(prev, mapped)) || this.op(t, ntasks, mapped);
      if (o.op === 'set_memory') {
        // It needs a vmalloc area: use one this task allocated, or allocate one first (syzkaller
        // generates the producer of a resource a call needs when none exists yet).
        if (areas.length === 0) {
          out.push({ op: 'vmalloc', slot: o.slot, pages: 1 + this.below(2) });
          areas.push(o.slot);
        } else if (this.chance(0.85)) o.slot = this.pick(areas);
      }
      for (const m of mappedBy(o)) if (!mapped.includes(m)) mapped.push(m);
      if (o.op === 'vmalloc' && !areas.includes(o.slot)) areas.push(o.slot);
      out.push(o);
    }
    return out;
  }

  /**
   * An operation continuing the life cycle of the object `prev` worked on (allocate, use, use,
   * release), as syzkaller chains calls through the resources they create and consume: after
   * mmap/uaccess/gup_fast of a range, a use, the munmap or the mremap of that range; after an allocation or
   * an access of a kernel object, an access or its release. Null when `prev` has no object.
   */
  private next(prev: Op, mapped: number[]): Op | null {
    const k = this.below(3);
    switch (prev.op) {
      case 'mmap':
      case 'uaccess':
      case 'gup_fast': {
        const slot = prev.slot;
        if (k === 0) return { op: 'uaccess', slot, page: this.below(MAX_PAGES), kind: this.chance(0.5) ? 'write' : 'read' };
        if (k === 1) return { op: 'gup_fast', slot, pages: 1 + this.below(MAX_PAGES), write: this.chance(0.5) };
        return this.chance(0.8) ? { op: 'munmap', slot } : { op: 'mremap', slot, to: this.otherSlot(slot) };
      }
      case 'mmap_file':
        // a mapped file: use it, move the mapping, or truncate the file
        if (k < 2) return { op: 'uaccess', slot: prev.slot, page: this.below(prev.whole ? MAX_PAGES : prev.pages), kind: this.chance(0.7) ? 'read' : 'write' };
        return this.chance(0.5)
          ? { op: 'mremap', slot: prev.slot, to: this.otherSlot(prev.slot) }
          : { op: 'ftruncate', file: prev.file, pages: this.below(prev.pages) };
      case 'mremap':
        // a moved range: use it at its new or at its old address, or end it (unmap it, or truncate a file it may map)
        if (k === 2) return this.chance(0.5) ? { op: 'munmap', slot: prev.to } : { op: 'ftruncate', file: this.below(FILES), pages: 0 };
        return { op: 'uaccess', slot: k === 0 ? prev.to : prev.slot, page: 0, kind: this.chance(0.7) ? 'read' : 'write' };
      case 'mmap_dev':
        // a mapped device buffer: use it, unmap it, or have the driver release the buffer
        if (k < 2) return { op: 'uaccess', slot: prev.slot, page: this.below(prev.pages), kind: this.chance(0.5) ? 'write' : 'read' };
        return this.chance(0.5) ? { op: 'munmap', slot: prev.slot } : { op: 'dev_release', dev: prev.dev };
      case 'mmap_priv':
      case 'mem_write':
      case 'madvise':
        // a private mapping: read it, write it through /proc/self/mem, or drop its pages
        if (k === 0) return { op: 'uaccess', slot: prev.slot, page: 0, kind: 'read' };
        return k === 1 ? { op: 'mem_write', slot: prev.slot, page: 0 } : { op: 'madvise', slot: prev.slot };
      case 'dev_release':
      case 'ftruncate':
        // a truncated file, a released device buffer: touch a mapping
        return k < 2 ? { op: 'uaccess', slot: this.userSlot(mapped), page: 0, kind: this.chance(0.7) ? 'read' : 'write' } : null;
      case 'vmalloc':
      case 'vm_map_ram':
      case 'percpu_alloc': {
        const obj: KObj = prev.op === 'vmalloc' ? 'vmalloc' : prev.op === 'vm_map_ram' ? 'vmap' : 'percpu';
        if (k < 2 && obj === 'vmalloc' && this.chance(0.2)) return { op: 'set_memory', slot: prev.slot, nx: this.chance(0.6) };
        if (k < 2)
          return this.chance(0.8)
            ? { op: 'kaccess', obj, slot: prev.slot, page: this.below(MAX_PAGES), kind: this.chance(0.5) ? 'write' : 'read' }
            : this.ptOp(obj, prev.slot);
        return obj === 'vmalloc'
          ? { op: 'vfree', slot: prev.slot }
          : obj === 'vmap'
            ? { op: 'vm_unmap_ram', slot: prev.slot }
            : { op: 'percpu_free', slot: prev.slot };
      }
      case 'set_memory':
        // a use of the area under its new attributes, a change back, or its release
        if (k === 0) return this.kaccess(prev.slot, 'vmalloc');
        return k === 1 ? { op: 'set_memory', slot: prev.slot, nx: !prev.nx } : { op: 'vfree', slot: prev.slot };
      case 'kaccess':
        // another access of the kernel object, a change of its attributes or of the entries that
        // map it, or its release
        if (k === 0) return this.kaccess(prev.slot, prev.obj);
        if (k === 1)
          return prev.obj === 'vmalloc' && this.chance(0.5) ? { op: 'set_memory', slot: prev.slot, nx: this.chance(0.6) } : this.ptOp(prev.obj, prev.slot);
        return prev.obj === 'vmalloc'
          ? { op: 'vfree', slot: prev.slot }
          : prev.obj === 'vmap'
            ? { op: 'vm_unmap_ram', slot: prev.slot }
            : { op: 'percpu_free', slot: prev.slot };
      case 'pt_linear':
      case 'pt_set':
        // the entry just installed or changed: change its bits
        return { op: 'pt_set', obj: prev.obj, slot: prev.slot, level: prev.level, linear: prev.op === 'pt_linear' ? true : prev.linear, bit: this.pteBit() };
      default:
        return null;
    }
  }

  /** fail_nth's n: the next injection point most often (syzkaller starts at 1 and counts up). */
  private failNth(): number {
    return this.chance(0.5) ? 1 : 1 + this.below(MAX_FAIL_NTH);
  }

  private pteBit(): PteBit {
    let r = this.below(PTE_BIT_WEIGHTS.reduce((a, [, w]) => a + w, 0));
    for (const [b, w] of PTE_BIT_WEIGHTS) {
      if (r < w) return b;
      r -= w;
    }
    return 'rw';
  }

  /** A page-table operation on kernel object (obj, slot); a linear entry often maps the object's own table. */
  private ptOp(obj: KObj, slot: number): Op {
    const k = this.below(6);
    const o = this.make(k < 3 ? 'pt_set' : k < 5 ? 'pt_linear' : 'pt_unlinear', 0, []) as Extract<Op, { op: 'pt_set' | 'pt_linear' | 'pt_unlinear' }>;
    return o.op === 'pt_linear' ? { ...o, obj, slot, to: this.chance(0.5) ? slot : o.to } : { ...o, obj, slot };
  }

  private kaccess(slot: number, obj: KObj = this.pick(KOBJS)): Op {
    return { op: 'kaccess', obj, slot, page: this.below(2) === 0 ? 0 : this.below(MAX_PAGES), kind: this.chance(0.7) ? 'read' : 'write' };
  }

  /** One operation by weight; kernel threads never touch user memory. */
  op(t: TaskProg, ntasks: number, mapped: number[] = []): Op {
    for (;;) {
      let r = this.rng.nextFloat() * this.totalWeight;
      let name: OpName = 'schedule';
      for (let i = 0; i < OP_NAMES.length; i++) {
        if (r < this.weights[i]) {
          name = OP_NAMES[i];
          break;
        }
        r -= this.weights[i];
      }
      if (t.kthread && isUserOp(name)) continue;
      return this.make(name, ntasks, mapped);
    }
  }

  /** Sometimes the first page of a partial munmap/mremap (the range's later pages only). */
  private partial(): { from?: number } {
    return this.chance(0.2) ? { from: 1 + this.below(MAX_PAGES - 1) } : {};
  }

  /** A slot other than `slot`. */
  private otherSlot(slot: number): number {
    return (slot + 1 + this.below(SLOTS - 1)) % SLOTS;
  }

  private userSlot(mapped: number[]): number {
    return mapped.length > 0 && this.chance(0.85) ? this.pick(mapped) : this.slot();
  }

  private make(name: OpName, ntasks: number, mapped: number[]): Op {
    const pages = () => 1 + this.below(this.chance(0.6) ? 2 : MAX_PAGES);
    switch (name) {
      case 'mmap':
        return { op: name, slot: this.slot(), pages: pages(), prot: this.chance(0.7) ? 'rw' : this.pick(PROTS), populate: this.chance(0.5) };
      case 'mmap_file':
        return {
          op: name,
          slot: this.slot(),
          file: this.below(FILES),
          pages: pages(),
          prot: this.chance(0.5) ? 'rw' : this.pick(PROTS),
          whole: this.chance(0.5),
        };
      case 'mremap': {
        const slot = this.userSlot(mapped);
        return { op: name, slot, to: this.otherSlot(slot), ...this.partial() };
      }
      case 'ftruncate':
        return { op: name, file: this.below(FILES), pages: this.chance(0.5) ? 0 : this.below(MAX_PAGES + 1) };
      case 'mmap_dev':
        return { op: name, slot: this.slot(), dev: this.below(DEVS), pages: pages(), prot: this.chance(0.7) ? 'rw' : this.pick(PROTS) };
      case 'dev_release':
        return { op: name, dev: this.below(DEVS) };
      case 'mmap_priv':
        return { op: name, slot: this.slot(), file: this.below(FILES), pages: pages(), prot: this.chance(0.6) ? 'r' : this.pick(PROTS) };
      case 'mem_write':
        return { op: name, slot: this.userSlot(mapped), page: this.chance(0.6) ? 0 : this.below(MAX_PAGES) };
      case 'madvise':
        return { op: name, slot: this.userSlot(mapped) };
      case 'munmap':
        return { op: name, slot: this.userSlot(mapped), ...this.partial() };
      case 'mprotect':
        return { op: name, slot: this.userSlot(mapped), prot: this.pick(PROTS) };
      case 'uaccess':
        return {
          op: name,
          slot: this.userSlot(mapped),
          page: this.chance(0.6) ? 0 : this.below(MAX_PAGES),
          kind: this.chance(0.45) ? 'write' : this.chance(0.85) ? 'read' : 'exec',
        };
      case 'gup_fast':
        return { op: name, slot: this.userSlot(mapped), pages: pages(), write: this.chance(0.5) };
      case 'fork':
      case 'clone':
        return { op: name, task: this.below(ntasks) };
      case 'memcg':
        return { op: name, slot: this.below(2) };
      case 'vmalloc':
      case 'vm_map_ram':
        return { op: name, slot: this.slot(), pages: pages() };
      case 'vfree':
      case 'vm_unmap_ram':
      case 'percpu_alloc':
      case 'percpu_free':
        return { op: name, slot: this.slot() };
      case 'set_memory':
        return { op: name, slot: this.slot(), nx: this.chance(0.6) };
      case 'kaccess':
        return this.kaccess(this.slot());
      case 'pt_set':
        return { op: name, obj: this.pick(KOBJS), slot: this.slot(), level: this.pick(PT_LEVELS), linear: this.chance(0.3), bit: this.pteBit() };
      case 'pt_linear': {
        const slot = this.slot();
        return { op: name, obj: this.pick(KOBJS), slot, level: this.pick(UPPER_LEVELS), to: this.chance(0.5) ? slot : this.slot() };
      }
      case 'pt_unlinear':
        return { op: name, obj: this.pick(KOBJS), slot: this.slot(), level: this.pick(UPPER_LEVELS) };
      case 'pt_clear':
        return { op: name, obj: this.pick(KOBJS), slot: this.slot(), level: this.pick(PT_LEVELS), linear: this.chance(0.3), bit: this.pteBit() };
      case 'lowmem_rw':
        return { op: name, obj: this.pick(KOBJS), slot: this.slot(), page: this.chance(0.6) ? 0 : this.below(MAX_PAGES), writable: this.chance(0.5) };
      case 'pt_pin':
        return { op: name, obj: this.pick(KOBJS), slot: this.slot(), page: this.chance(0.6) ? 0 : this.below(MAX_PAGES), level: this.tableLevel() };
      case 'pt_unpin':
        return { op: name, obj: this.pick(KOBJS), slot: this.slot(), page: this.chance(0.6) ? 0 : this.below(MAX_PAGES) };
      case 'loop':
        return { op: name, count: this.loopCount(), len: 1 + this.below(3), reverse: this.chance(0.5) };
      case 'gpt_alloc':
        return { op: name, pt: this.gptIndex(), level: this.tableLevel() };
      case 'gpt_lowmem':
        return { op: name, pt: this.gptIndex(), writable: this.chance(0.3) };
      case 'gpt_pin':
      case 'gpt_unpin':
        return { op: name, pt: this.gptIndex() };
      case 'gpt_update':
        return { op: name, pt: this.gptIndex(), index: this.entryIndex(), to: this.gptIndex(), entry: this.gptEntry(), ...this.gptVia() };
      case 'flush_tlb':
        return { op: name, scope: this.pick(['local', 'mm', 'all'] as const) };
      case 'fail_nth':
        return { op: name, n: this.failNth() };
      case 'schedule':
      case 'exit':
        return { op: name };
      default:
        return { op: 'schedule' };
    }
  }

  /**
   * Collide (syzkaller's collide mode, generalised): two operations of a process on the same
   * object (a user range, a kernel object, a file and the ranges mapping it: objectKeys) are made concurrent: the later one moves into a new
   * thread of that process on another CPU, started by a clone() just before the earlier one.
   * Without such a pair, a random operation moves into a thread started where it was.
   */
  collide(p: Program): void {
    if (p.tasks.length >= MAX_TASKS || p.cpus < 2) return;
    const cands = p.tasks.filter((t) => !t.kthread && t.ops.length >= 2);
    if (cands.length === 0) return;
    const a = this.pick(cands);
    const pairs: Array<[number, number]> = [];
    const keys = objectKeys(a.ops);
    for (let j = 1; j < a.ops.length; j++) {
      if (keys[j].length === 0) continue;
      for (let i = 0; i < j; i++) if (!isAllocation(a.ops[i]) && keys[i].some((x) => keys[j].includes(x))) pairs.push([i, j]);
    }
    let at: number;
    let moved: Op;
    if (pairs.length > 0) {
      const [i, j] = this.pick(pairs);
      moved = a.ops.splice(j, 1)[0];
      at = i;
    } else {
      at = this.below(a.ops.length - 1);
      moved = a.ops.splice(at, 1)[0];
    }
    if (moved.op === 'fork' || moved.op === 'clone' || moved.op === 'exit') {
      a.ops.splice(at, 0, moved);
      return;
    }
    p.tasks.push({ cpu: (a.cpu + 1 + this.below(p.cpus - 1)) % p.cpus, kthread: false, spawn: 'fork', ops: [moved] });
    a.ops.splice(at, 0, { op: 'clone', task: p.tasks.length - 1 });
  }

  /**
   * Share: a process's pages meet other users of the same frames. Around an access of a range a
   * process maps, it clones a thread (another CPU when there is one) that touches the same page,
   * forks a child that reads and writes that page, touches the page again after the fork and may
   * unmap the range: the shapes of the address-space life cycle (threads holding translations, fork's copy-on-write,
   * both sides writing while the other is alive) that random operation lists rarely line up.
   * Knowledge of the vocabulary (fork and clone consume an address space), not of any bug.
   */
  share(p: Program): void {
    const cands = p.tasks.filter((t) => !t.kthread && t.spawn === 'boot');
    if (cands.length === 0 || p.tasks.length >= MAX_TASKS) return;
    const a = this.pick(cands);
    let at = a.ops.findIndex((o) => o.op === 'mmap');
    let slot: number;
    if (at < 0) {
      slot = this.slot();
      a.ops.unshift({ op: 'mmap', slot, pages: 1 + this.below(2), prot: 'rw', populate: this.chance(0.5) });
      at = 0;
    } else slot = (a.ops[at] as Extract<Op, { op: 'mmap' }>).slot;
    const page = this.chance(0.7) ? 0 : this.below(2);
    const access = (kind: AccessKindName): Op => ({ op: 'uaccess', slot, page, kind });
    const rw = (): Op => access(this.chance(0.5) ? 'write' : 'read');
    const other = () => (p.cpus > 1 ? (a.cpu + 1 + this.below(p.cpus - 1)) % p.cpus : a.cpu);
    const ins: Op[] = [];
    if (this.chance(0.5) && p.tasks.length + 2 <= MAX_TASKS) {
      // a thread on another CPU that touches (or faults, or walks locklessly) the page alongside
      const walk = (): Op => (this.chance(0.35) ? { op: 'gup_fast', slot, pages: 1 + this.below(2), write: this.chance(0.5) } : rw());
      p.tasks.push({ cpu: other(), kthread: false, spawn: 'fork', ops: Array.from({ length: 1 + this.below(3) }, walk) });
      ins.push({ op: 'clone', task: p.tasks.length - 1 });
    }
    if (this.chance(0.7)) ins.push(access('write'));
    const child: Op[] = [rw()];
    for (let n = this.below(3); n > 0; n--) child.push(this.chance(0.8) ? rw() : { op: 'gup_fast', slot, pages: 1, write: this.chance(0.5) });
    p.tasks.push({ cpu: this.chance(0.5) ? other() : a.cpu, kthread: false, spawn: 'fork', ops: child });
    ins.push({ op: 'fork', task: p.tasks.length - 1 });
    for (let n = 1 + this.below(2); n > 0; n--) ins.push(rw());
    if (this.chance(0.35)) ins.push({ op: 'munmap', slot }); // the end of the range's life cycle, while the others may still use it
    a.ops.splice(at + 1, 0, ...ins);
    if (a.ops.length > MAX_OPS) a.ops.length = MAX_OPS;
  }

  /**
   * Race (a call template over one object, syzkaller's resource-directed generation plus its
   * collide mode): a process creates an object of some resource kind (RESOURCES) and uses it, then
   * clones threads; the object's later life is dealt out among the process and its threads — a
   * change of it (move, unmap, retype, free; a fault injected into that call sometimes), a change of
   * its container or another change, and uses of it again — so that one thread holds translations
   * of the object while another changes it. CPUs of the threads are drawn, the same or others.
   */
  race(p: Program): void {
    let a = p.tasks.find((t) => !t.kthread && t.spawn === 'boot' && t.ops.length + 4 <= MAX_OPS);
    if (!a || p.tasks.length >= MAX_TASKS || this.chance(0.3)) {
      if (p.tasks.length >= MAX_TASKS) return;
      a = { cpu: this.below(p.cpus), kthread: false, spawn: 'boot', ops: [] };
      p.tasks.push(a);
    }
    const kind = this.resource();
    const slot = this.slot();
    const file = this.below(FILES);
    const make = (names: readonly OpName[]) => this.aim(this.make(this.pick(names), p.tasks.length, [slot]), kind, slot, file);
    const uses = (n: number) => Array.from({ length: n }, () => make(kind.uses));
    const change = (): Op[] => (kind.user && this.chance(0.3) ? [{ op: 'fail_nth', n: this.failNth() }, make(kind.changes)] : [make(kind.changes)]);
    // Sometimes the object's attributes are set first (mprotect, set_memory) and a later change
    // sets them back: the life cycle of a JIT or W^X page, where one CPU caches the object under
    // its first attributes while another changes them.
    const attrs = kind.changes.filter((n) => n === 'mprotect' || n === 'set_memory');
    const prime = attrs.length > 0 && this.chance(PRIME_IN_RACE) ? make(attrs) : null;
    const groups: Op[][] = [
      prime && this.chance(0.5) ? [reversed(prime)] : change(),
      kind.containers && this.chance(0.7) ? [make(kind.containers)] : this.chance(0.4) ? change() : uses(1 + this.below(2)),
      this.chance(0.7) ? uses(1 + this.below(3)) : [],
    ];
    // A group may run in a loop (2-3 times), as exploits repeat both sides of a race to hit its window.
    for (const g of groups) if (g.length > 0 && this.chance(REPEAT_IN_RACE)) g.push(...repeated(g, 1 + this.below(2)));
    // Deal the groups out: a random order of (the process after its clones, thread B, thread C).
    for (let i = groups.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [groups[i], groups[j]] = [groups[j], groups[i]];
    }
    const head: Op[] = [make(kind.creates), ...(prime ? [prime] : []), ...uses(1 + this.below(2))];
    const cpu = () => (p.cpus > 1 && this.chance(0.6) ? (a.cpu + 1 + this.below(p.cpus - 1)) % p.cpus : a.cpu);
    for (const g of groups.slice(1)) {
      if (g.length === 0) continue;
      if (p.tasks.length >= MAX_TASKS) {
        groups[0].push(...g);
        continue;
      }
      p.tasks.push({ cpu: cpu(), kthread: false, spawn: 'fork', ops: g });
      head.push({ op: 'clone', task: p.tasks.length - 1 });
    }
    a.ops.unshift(...head, ...groups[0]);
    if (a.ops.length > MAX_OPS) a.ops.length = MAX_OPS;
  }

  /**
   * Shapes of concurrent programs that neither random lists nor `share`/`race` line up: two
   * threads (or processes) on two CPUs that reach the same kernel path at the same moment on an
   * object in a particular state — a fresh address space, a page shared copy-on-write with a child
   * that is still alive, a private file page not yet faulted in, an address space being copied, per
   * CPU kernel state. Each is a template over the vocabulary with its slots, pages, kinds and CPUs
   * drawn; it knows the life cycle of objects (fork shares pages copy-on-write, a thread shares the
   * address space, vm_map_ram fills a per-CPU block, set_memory_*() runs vm_unmap_aliases()), never
   * a kernel function or a bug. The shape's tasks replace the program's when there is no room.
   */
  shape(p: Program): void {
    if (p.cpus < 2) return;
    const c0 = this.below(p.cpus);
    const c1 = (c0 + 1 + this.below(p.cpus - 1)) % p.cpus;
    const tasks: TaskProg[] = [];
    const task = (cpu: number, spawn: 'boot' | 'fork', ops: Op[]): number => tasks.push({ cpu, kthread: false, spawn, ops }) - 1;
    const slot = this.slot();
    const other = this.otherSlot(slot);
    const page = this.chance(0.6) ? 0 : this.below(MAX_PAGES);
    const pages = page + 1 + this.below(MAX_PAGES - page);
    const at = (kind: AccessKindName, pg = page, sl = slot): Op => ({ op: 'uaccess', slot: sl, page: pg, kind });
    const rw = (): AccessKindName => (this.chance(0.5) ? 'write' : 'read');
    const mmap = (sl: number, populate = false): Op => ({ op: 'mmap', slot: sl, pages, prot: 'rw', populate });
    const main = task(c0, 'boot', []);
    const ops = tasks[main].ops;
    switch (this.below(6)) {
      case 0: {
        // The first faults of a fresh address space in two threads at once: the thread starts
        // before any page (or page table) exists, both write for the first time, then each reads
        // what it and the other wrote (through tables the other CPU may have built).
        const mine = this.chance(0.5) ? slot : other;
        const [p0, p1] = [this.below(pages), this.below(pages)];
        ops.push(mmap(slot), ...(mine !== slot ? [mmap(mine)] : []));
        const t = task(c1, 'fork', [at('write', p1, mine), at('read', p0), at('read', p1, mine)]);
        ops.push({ op: 'clone', task: t }, at('write', p0), at('read', p1, mine), at('read', p0));
        break;
      }
      case 1: {
        // A copy-on-write page written by two threads at once while the child that shares it is
        // still alive (it works on another range and never touches this one).
        ops.push(mmap(slot, this.chance(0.3)), at('write'));
        const busy: Op[] = [mmap(other)];
        for (let n = 3 + this.below(4); n > 0; n--) busy.push(this.chance(0.7) ? at(rw(), 0, other) : { op: 'schedule' });
        const child = task(this.chance(0.5) ? c0 : c1, 'fork', busy);
        const t = task(c1, 'fork', [at('write')]);
        if (this.chance(0.5)) tasks[t].ops.push(at(rw()));
        if (this.chance(0.5)) ops.push({ op: 'fork', task: child }, { op: 'clone', task: t });
        else ops.push({ op: 'clone', task: t }, { op: 'fork', task: child });
        ops.push(at('write'), at('read'));
        break;
      }
      case 2: {
        // A private file page not yet faulted in, faulted by two threads at once (one reads, one
        // writes: a copy), then read again by each. Or a shared one, through two mappings of the
        // file: one thread faults it in and writes it (a read fault first, or not), the other reads
        // and writes it through its own mapping, then each reads it again (the file's data).
        const file = this.below(FILES);
        const [k0, k1]: AccessKindName[] = this.chance(0.5) ? ['read', 'write'] : ['write', 'read'];
        if (this.chance(0.5)) {
          ops.push({ op: 'mmap_priv', slot, file, pages, prot: 'rw' });
          const t = task(c1, 'fork', [at(k1), at('read')]);
          ops.push({ op: 'clone', task: t }, at(k0), at('read'));
        } else {
          const mapFile = (sl: number): Op => ({ op: 'mmap_file', slot: sl, file, pages, prot: 'rw', whole: false });
          ops.push(mapFile(slot));
          const t = task(c1, 'fork', [mapFile(other), at(k1, page, other), at(rw(), page, other), at('read', page, other)]);
          ops.push({ op: 'clone', task: t }, at(k0), at('write'), at('read'));
        }
        break;
      }
      case 3: {
        // fork() while another thread of the process faults on the range it copies (a page never
        // touched, or one made copy-on-write by an earlier fork).
        ops.push(mmap(slot, this.chance(0.3)));
        if (this.chance(0.5)) ops.push(at('write'));
        const t = task(c1, 'fork', [at('write', this.below(pages)), at('write', this.below(pages))]);
        const child = task(this.chance(0.5) ? c0 : c1, 'fork', [at(rw(), this.below(pages)), at('read', this.below(pages))]);
        if (this.chance(0.4)) {
          const first = task(c0, 'fork', [at('read')]);
          ops.push({ op: 'fork', task: first });
        }
        ops.push({ op: 'clone', task: t }, { op: 'fork', task: child }, at('read', this.below(pages)));
        break;
      }
      case 5: {
        // Part of a range unmapped or moved (its first pages, and their page table, stay) while a
        // thread on another CPU read the pages that go, and reads them (at the old or the new
        // address) after the call returned.
        const n = 2 + this.below(MAX_PAGES - 1);
        const from = 1 + this.below(n - 1);
        const j = from + this.below(n - from);
        ops.push({ op: 'mmap', slot, pages: n, prot: 'rw', populate: this.chance(0.5) }, at('write', j), at('write', from - 1));
        const move = this.chance(0.5);
        const reads = Array.from({ length: 2 + this.below(3) }, () => at('read', j));
        const t = task(c1, 'fork', [...reads, ...(move ? [at(rw(), j - from, other)] : [])]);
        ops.push({ op: 'clone', task: t }, move ? { op: 'mremap', slot, to: other, from } : { op: 'munmap', slot, from }, at('read', from - 1));
        if (this.chance(0.5)) tasks[t].ops.push(at('read', j));
        break;
      }
      default: {
        // Kernel mappings of two CPUs' per-CPU state (vm_map_ram fills the calling CPU's vmap
        // block), one CPU touching the other's, both released lazily, then an attribute change
        // (whose vm_unmap_aliases() flushes what the released ones left) on the first CPU.
        const [a, b, v] = [slot, other, this.otherSlot(other)];
        const kacc = (sl: number, obj: KObj = 'vmap'): Op => ({ op: 'kaccess', obj, slot: sl, page: 0, kind: this.chance(0.7) ? 'read' : 'write' });
        const two = this.chance(0.7);
        const t = task(c1, 'fork', [
          ...(two ? [{ op: 'vm_map_ram', slot: b, pages: 1 + this.below(2) } as Op, kacc(b)] : []),
          kacc(a),
          ...(this.chance(0.5) ? [kacc(v, 'vmalloc')] : []),
          ...(two ? [{ op: 'vm_unmap_ram', slot: b } as Op] : []),
          ...(this.chance(0.4) ? [{ op: 'set_memory', slot: v, nx: this.chance(0.6) } as Op] : []),
        ]);
        ops.push({ op: 'vmalloc', slot: v, pages: 1 }, { op: 'vm_map_ram', slot: a, pages: 1 + this.below(2) }, kacc(a), { op: 'clone', task: t });
        ops.push({ op: 'schedule' }, { op: 'vm_unmap_ram', slot: a }, { op: 'set_memory', slot: v, nx: this.chance(0.6) });
        if (this.chance(0.5)) tasks[t].ops.push(kacc(v, 'vmalloc'));
        break;
      }
    }
    // Task indices of the shape are local: renumber them after the program's own tasks, or
    // replace those when there is no room.
    const base = p.tasks.length + tasks.length <= MAX_TASKS ? p.tasks.length : 0;
    if (base === 0) p.tasks.length = 0;
    for (const t of tasks) {
      for (const o of t.ops) if (o.op === 'fork' || o.op === 'clone') o.task += base;
      if (t.ops.length > MAX_OPS) t.ops.length = MAX_OPS;
      p.tasks.push(t);
    }
  }

  /** A resource kind by weight, each weight times the adaptive factor of the kind's first producer. */
  private resource(): ResourceKind {
    const factor = (k: ResourceKind) => {
      const i = OP_INDEX.get(k.creates[0]) ?? 0;
      return this.weights[i] / this.base[i];
    };
    let total = 0;
    for (const [k, w] of RESOURCES) total += w * factor(k);
    let r = this.rng.nextFloat() * total;
    for (const [k, w] of RESOURCES) {
      const x = w * factor(k);
      if (r < x) return k;
      r -= x;
    }
    return RESOURCES[0][0];
  }

  /** `o` aimed at object `slot` of resource `kind` (and at `file`, its container). */
  private aim(o: Op, kind: ResourceKind, slot: number, file: number): Op {
    const c = { ...o } as Record<string, unknown>;
    if ('slot' in c) c.slot = slot;
    if ('obj' in c && kind.obj) c.obj = kind.obj;
    if ('file' in c) c.file = file;
    if ('dev' in c) c.dev = file % DEVS;
    if ('page' in c) c.page = this.chance(0.5) ? 0 : this.below(MAX_PAGES); // the object's first page, or any (a page not yet in a TLB)
    if ('whole' in c) c.whole = this.chance(0.7); // a large object: every window over it is wider
    if (o.op === 'mremap') c.to = this.otherSlot(slot);
    // a container shrunk under the object: to nothing, or to below its first pages
    if (o.op === 'ftruncate') c.pages = this.chance(0.7) ? 0 : this.below(2);
    if (o.op === 'pt_linear') c.to = slot;
    return c as Op;
  }

  // -------------------------------------------------------------------------------------------
  // A malicious Xen PV guest kernel (Xen PV targets only)

  /** A page-table level, L1 and L2 most often (the levels of a guest's most numerous tables). */
  private tableLevel(): PtLevel {
    return this.pick(TABLE_LEVELS);
  }

  /**
   * A loop's iteration count, from a wide distribution: a few (2-4) most often, sometimes a dozen,
   * sometimes tens (17-64): the sizes of a retry loop, a batch, and a structure built entry by entry.
   */
  private loopCount(): number {
    const r = this.rng.nextFloat();
    return r < 0.4 ? 2 + this.below(3) : r < 0.7 ? 5 + this.below(12) : 17 + this.below(MAX_LOOP - 16);
  }

  /** A guest page-table pool index, small ones first (the pages a program's operations meet on). */
  private gptIndex(): number {
    return this.chance(0.8) ? this.below(4) : this.below(GPT_SLOTS);
  }

  private entryIndex(): number {
    return this.chance(0.7) ? 0 : this.below(GPT_INDICES);
  }

  /** How gpt_update writes: by hypercall, or (one in four) by a plain store that traps to Xen's writable-pagetable emulation. */
  private gptVia(): { via?: 'store' } {
    return this.chance(0.25) ? { via: 'store' } : {};
  }

  /** Mostly an entry to a pool page; one in ten an empty one, one in twenty another domain's frame. */
  private gptEntry(): GptEntry {
    const r = this.below(20);
    return r < 11 ? 'ro' : r < 17 ? 'rw' : r < 19 ? 'none' : this.chance(0.5) ? 'foreign-ro' : 'foreign-rw';
  }

  /**
   * Loop (a mutation, Xen PV targets): a run of one to three operations of the list becomes the
   * body of a loop, or an existing loop's count changes. In a body, pool indices are relative to
   * the iteration, so a body that allocates a page builds a row of them.
   */
  loop(ops: Op[]): void {
    const at = ops.findIndex((o) => o.op === 'loop');
    if (at >= 0 && this.chance(0.5)) {
      ops[at] = this.tweak(ops[at], 1);
      return;
    }
    if (ops.length === 0 || ops.length >= MAX_OPS) return;
    const i = this.below(ops.length);
    const len = Math.min(1 + this.below(3), ops.length - i);
    if (ops.slice(i, i + len).some((o) => o.op === 'fork' || o.op === 'clone' || o.op === 'exit' || o.op === 'loop')) return;
    ops.splice(i, 0, { op: 'loop', count: this.loopCount(), len, reverse: this.chance(0.5) });
  }

  /**
   * Guest tables (a template of the PV page-table life cycle over the guest's pool of page-table
   * pages): a loop builds a row of tables, each iteration taking a page, write-protecting its
   * direct-map alias, pinning it, and writing one entry that maps a neighbour in the row (the
   * previous iteration's page, this one, or the next) read-only or writable (one in ten: another
   * domain's frame, which Xen must refuse), after the pin or (an entry of this iteration's page,
   * three in ten) before the page is write-protected and pinned, so that the pin's validation
   * judges it; a later loop over the same row, forward or reverse, takes it apart (unpins, clears
   * the entries, or unpins and makes the pages writable again), sometimes after a loop that
   * rewrites the row's entries with the other permission. What Xen's type system must keep consistent whatever the order:
   * type counts, same-level (linear) references, writable mappings of page-table frames.
   */
  guestTables(p: Program): void {
    const count = this.loopCount();
    const level = this.tableLevel();
    const build: Op[] = [{ op: 'gpt_alloc', pt: 1, level }];
    if (this.chance(0.85)) build.push({ op: 'gpt_lowmem', pt: 1, writable: false });
    if (this.chance(0.8)) build.push({ op: 'gpt_pin', pt: 1 });
    if (this.chance(0.8)) {
      const [pt, to] = this.pick(NEIGHBOURS);
      // sometimes the entry names another domain's frame instead of a neighbour
      const entry: GptEntry = this.chance(0.1) ? (this.chance(0.5) ? 'foreign-ro' : 'foreign-rw') : this.chance(0.7) ? 'ro' : 'rw';
      build.push({ op: 'gpt_update', pt, index: this.entryIndex(), to, entry, ...this.gptVia() });
      // an entry of this iteration's page sometimes written while it is an ordinary page: Xen
      // validates it at the pin
      if (pt === 1 && build.length > 2 && this.chance(0.3)) build.splice(1, 0, build.pop()!);
    }
    const ops: Op[] = [{ op: 'loop', count, len: build.length, reverse: false }, ...build];
    // Sometimes a loop over the row rewrites those entries with the other permission (an update
    // of an existing entry, the case Xen's fast paths take).
    const update = build.find((o) => o.op === 'gpt_update');
    if (update && this.chance(0.35))
      ops.push({ op: 'loop', count, len: 1, reverse: this.chance(0.5) }, { ...update, entry: update.entry.endsWith('ro') ? 'rw' : 'ro' } as Op);
    if (this.chance(0.9)) {
      const k = this.below(4);
      const body: Op[] =
        k < 2
          ? [{ op: 'gpt_unpin', pt: 1 }]
          : k === 2
            ? [{ op: 'gpt_update', pt: 1, index: this.entryIndex(), to: 1, entry: 'none' }]
            : [
                { op: 'gpt_unpin', pt: 1 },
                { op: 'gpt_lowmem', pt: 1, writable: true },
              ];
      ops.push({ op: 'loop', count: this.chance(0.6) ? count : this.loopCount(), len: body.length, reverse: this.chance(0.5) }, ...body);
    }
    this.xenTask(p, ops);
  }

  /**
   * Retype (a template of the PV type life cycle of one frame on two vCPUs): one vCPU turns a
   * page of a vmalloc'ed object into a page table (its vmap pte and its direct-map alias made
   * read-only, in either order, then pinned) and sometimes back (unpinned, made writable again);
   * meanwhile another vCPU of the guest runs, often in a loop, the life cycle of a writable
   * mapping of the same page: map it writable, write through it, unmap it, with a TLB flush
   * somewhere in it. Xen must not let any CPU write a frame once it is a page table.
   */
  retype(p: Program): void {
    const slot = this.slot();
    const a: Op[] = [{ op: 'vmalloc', slot, pages: 1 }];
    const protect: Op[] = [];
    if (this.chance(0.85)) protect.push({ op: 'pt_clear', obj: 'vmalloc', slot, level: 1, linear: false, bit: 'rw' });
    if (this.chance(0.85)) protect.push({ op: 'lowmem_rw', obj: 'vmalloc', slot, page: 0, writable: false });
    if (protect.length === 2 && this.chance(0.5)) protect.reverse();
    a.push(...protect, { op: 'pt_pin', obj: 'vmalloc', slot, page: 0, level: this.chance(0.6) ? 1 : this.tableLevel() });
    if (this.chance(0.4))
      a.push(
        { op: 'pt_unpin', obj: 'vmalloc', slot, page: 0 },
        { op: 'lowmem_rw', obj: 'vmalloc', slot, page: 0, writable: true },
        { op: 'pt_set', obj: 'vmalloc', slot, level: 1, linear: false, bit: 'rw' },
      );
    const b: Op[] = [
      { op: 'pt_set', obj: 'vmalloc', slot, level: 1, linear: false, bit: 'rw' },
      { op: 'kaccess', obj: 'vmalloc', slot, page: 0, kind: 'write' },
      { op: 'pt_clear', obj: 'vmalloc', slot, level: 1, linear: false, bit: 'rw' },
    ];
    if (this.chance(0.6)) b.splice(this.below(b.length + 1), 0, { op: 'flush_tlb', scope: this.pick(FLUSH_SCOPES) });
    if (this.chance(0.7)) b.unshift({ op: 'loop', count: this.loopCount(), len: b.length, reverse: false });
    const cpuA = this.xenTask(p, a);
    if (p.tasks.length >= MAX_TASKS) return;
    const cpuB = p.cpus > 1 ? (cpuA + 1 + this.below(p.cpus - 1)) % p.cpus : cpuA;
    p.tasks.push({ cpu: cpuB, kthread: this.chance(0.5), spawn: 'boot', ops: b });
  }

  /** Puts `ops` in a new task of the guest (a kernel thread or a process), or at the end of a task when the program is full; its CPU. */
  private xenTask(p: Program, ops: Op[]): number {
    if (p.tasks.length < MAX_TASKS) {
      const t: TaskProg = { cpu: this.below(p.cpus), kthread: this.chance(0.5), spawn: 'boot', ops };
      p.tasks.push(t);
      return t.cpu;
    }
    const t = this.pick(p.tasks);
    t.ops.push(...ops.slice(0, Math.max(0, MAX_OPS - t.ops.length)));
    return t.cpu;
  }

  // -------------------------------------------------------------------------------------------
  // Mutation

  /** A mutated copy of (program, schedule); `donor` is another corpus program for splicing. */
  mutate(p0: Program, s0: Schedule, donor?: Program): { program: Program; schedule: Schedule } {
    // Always a copy: the parent may also be referenced by a saved finding's trace.
    const p = cloneProgram(p0);
    let s = s0;
    const n = 1 + (this.chance(0.5) ? 0 : this.below(3));
    for (let i = 0; i < n; i++) {
      const k = this.below(100);
      if (k < 30) s = this.mutateSchedule(s);
      else this.mutateProgram(p, donor);
    }
    normalize(p, this.maxCpus);
    return { program: p, schedule: s };
  }

  private mutateSchedule(s: Schedule): Schedule {
    const k = this.below(10);
    if (k < 6) return { ...s, seed: this.rng.nextU32() };
    if (k < 8) return this.schedule();
    if (s.strategy === 'random') return { ...s, eventProbability: this.pick([0.02, 0.05, 0.1, 0.2, 0.35]) };
    if (s.strategy === 'sticky') {
      const j = this.below(3);
      if (j === 0) return { ...s, eventProbability: this.pick([0.01, 0.03, 0.1]) };
      return j === 1 ? { ...s, stickiness: this.pick([0.8, 0.9, 0.97]) } : { ...s, release: this.pick(RELEASE) };
    }
    return this.chance(0.5) ? { ...s, depth: 2 + this.below(5) } : { ...s, steps: this.pick(PCT_STEPS) };
  }

  private mutateProgram(p: Program, donor?: Program): void {
    const k = this.below(100);
    const seq = this.pickSeq(p);
    if (k < 4 && seq?.task) {
      // fault injection into one call (syzkaller's fail-nth): fail_nth before a user operation
      const calls = faultableCalls(seq.ops);
      if (calls.length > 0 && seq.ops.length < MAX_OPS) seq.ops.splice(this.pick(calls), 0, { op: 'fail_nth', n: this.failNth() });
    } else if (k < 22 && seq) {
      // insert an operation
      if (seq.ops.length >= MAX_OPS) return;
      const o = seq.task ? this.op(seq.task, p.tasks.length, mappedSlots(seq.ops)) : this.kaccess(this.slot());
      seq.ops.splice(this.below(seq.ops.length + 1), 0, o);
    } else if (k < 36 && seq && seq.ops.length > 1) {
      seq.ops.splice(this.below(seq.ops.length), 1);
    } else if (k < 52 && seq && seq.ops.length > 0) {
      // tweak one field of an operation
      const i = this.below(seq.ops.length);
      seq.ops[i] = this.tweak(seq.ops[i], p.tasks.length);
    } else if (k < 60 && seq && seq.ops.length > 1) {
      const i = this.below(seq.ops.length - 1);
      [seq.ops[i], seq.ops[i + 1]] = [seq.ops[i + 1], seq.ops[i]];
    } else if (k < 68 && p.tasks.length > 0) {
      const t = this.pick(p.tasks);
      const j = this.below(3);
      if (j === 0) t.cpu = this.below(p.cpus);
      else if (j === 1) t.spawn = t.spawn === 'boot' ? 'fork' : 'boot';
      else if (t.ops.every((o) => !isUserOp(o.op))) t.kthread = !t.kthread;
    } else if (k < 76) {
      if (p.tasks.length < MAX_TASKS && this.chance(0.6)) {
        const t = this.task(p.cpus, this.chance(0.5) ? 'boot' : 'fork');
        t.ops = this.ops(t, p.tasks.length + 1, 2 + this.below(6));
        p.tasks.push(t);
      } else if (p.tasks.length > 1) p.tasks.splice(this.below(p.tasks.length), 1);
    } else if (k < 84) {
      if (p.irqs.length < MAX_IRQS && this.chance(0.6)) p.irqs.push(this.irq(p.cpus));
      else if (p.irqs.length > 0) {
        const q = this.pick(p.irqs);
        const j = this.below(4);
        if (j === 0) p.irqs.splice(p.irqs.indexOf(q), 1);
        else if (j === 1) q.kind = q.kind === 'irq' ? 'nmi' : 'irq';
        else if (j === 2) q.count = 1 + this.below(6);
        else q.cpu = this.chance(0.3) ? -1 : this.below(p.cpus);
      }
    } else if (k < 87) {
      this.collide(p);
    } else if (k < 89) {
      this.share(p);
    } else if (k < 91) {
      this.race(p);
    } else if (k < 92) {
      this.shape(p);
    } else if (k < 95 && seq) {
      if (this.xen && this.chance(0.5)) this.loop(seq.ops);
      else this.repeat(seq.ops);
    } else if (k < 96) {
      p.cpus = 1 + this.below(this.maxCpus);
    } else if (donor && donor.tasks.length > 0 && p.tasks.length > 0) {
      // splice: replace a task by one of the donor's
      const t = this.pick(donor.tasks);
      p.tasks[this.below(p.tasks.length)] = { ...t, ops: t.ops.map((o) => ({ ...o })) };
    } else if (seq) {
      const o = seq.task ? this.op(seq.task, p.tasks.length) : this.kaccess(this.slot());
      if (seq.ops.length < MAX_OPS) seq.ops.push(o);
    }
  }

  /**
   * Repeat (a chain mutation): a run of one to three operations is replicated after itself, one to
   * three more times, as far as the task's length allows. A run that starts by creating an object
   * creates a fresh one in each copy (the copy's slots are shifted), so that a chain of objects
   * is built; any other run repeats on the same object, a loop that widens a race's chances.
   * fork, clone and exit are not repeated (each starts or ends a task).
   */
  repeat(ops: Op[]): void {
    if (ops.length === 0) return;
    const at = this.below(ops.length);
    const len = Math.min(1 + this.below(3), ops.length - at);
    const run = ops.slice(at, at + len);
    if (run.some((o) => o.op === 'fork' || o.op === 'clone' || o.op === 'exit')) return;
    const copies: Op[] = [];
    const fresh = isAllocation(run[0]);
    for (let c = 1, n = 1 + this.below(3); c <= n; c++) copies.push(...(fresh ? run.map((o) => shifted(o, c)) : repeated(run, 1)));
    ops.splice(at + len, 0, ...copies.slice(0, Math.max(0, MAX_OPS - ops.length)));
  }

  /** A random operation list of the program (a task's or a handler's). */
  private pickSeq(p: Program): { ops: Op[]; task?: TaskProg } | null {
    const n = p.tasks.length + p.irqs.length;
    if (n === 0) return null;
    const i = this.below(n);
    return i < p.tasks.length ? { ops: p.tasks[i].ops, task: p.tasks[i] } : { ops: p.irqs[i - p.tasks.length].ops };
  }

  /** The operation with one field changed. */
  private tweak(o: Op, ntasks: number): Op {
    const c = { ...o } as Record<string, unknown>;
    const keys = Object.keys(c).filter((k) => k !== 'op');
    if (keys.length === 0) return o;
    const key = this.pick(keys);
    switch (key) {
      case 'slot':
        c.slot = this.slot();
        break;
      case 'pages':
        c.pages = 1 + this.below(MAX_PAGES);
        break;
      case 'page':
        c.page = this.below(MAX_PAGES);
        break;
      case 'kind':
        c.kind = this.pick(KINDS);
        break;
      case 'prot':
        c.prot = this.pick(PROTS);
        break;
      case 'obj':
        c.obj = this.pick(KOBJS);
        break;
      case 'write':
        c.write = !c.write;
        break;
      case 'populate':
        c.populate = !c.populate;
        break;
      case 'whole':
        c.whole = !c.whole;
        break;
      case 'nx':
        c.nx = !c.nx;
        break;
      case 'task':
        c.task = this.below(ntasks);
        break;
      case 'scope':
        c.scope = this.pick(['local', 'mm', 'all'] as const);
        break;
      case 'level':
        c.level = o.op === 'pt_set' || o.op === 'pt_clear' || o.op === 'pt_pin' || o.op === 'gpt_alloc' ? this.tableLevel() : this.pick(UPPER_LEVELS);
        break;
      case 'writable':
        c.writable = !c.writable;
        break;
      case 'pt':
        c.pt = this.chance(0.5) ? this.gptIndex() : Math.max(0, (c.pt as number) + (this.chance(0.5) ? 1 : -1));
        break;
      case 'index':
        c.index = this.entryIndex();
        break;
      case 'entry':
        c.entry = this.gptEntry();
        break;
      case 'via':
        delete c.via; // back to the hypercall
        break;
      case 'count':
        // a loop runs longer or shorter: doubled, halved, or drawn afresh
        c.count = this.chance(0.4) ? Math.min(MAX_LOOP, (c.count as number) * 2) : this.chance(0.5) ? Math.max(1, (c.count as number) >> 1) : this.loopCount();
        break;
      case 'len':
        c.len = 1 + this.below(4);
        break;
      case 'reverse':
        c.reverse = !c.reverse;
        break;
      case 'linear':
        c.linear = !c.linear;
        break;
      case 'bit':
        c.bit = this.pteBit();
        break;
      case 'to':
        c.to = o.op === 'gpt_update' ? this.gptIndex() : this.slot();
        break;
      case 'from':
        c.from = 1 + this.below(MAX_PAGES - 1);
        break;
      case 'file':
        c.file = this.below(FILES);
        break;
      case 'n':
        c.n = this.failNth();
        break;
    }
    return c as Op;
  }
}

/** The user slots an operation maps (mmap, mmap_file; mremap's destination). */
function mappedBy(o: Op): number[] {
  return o.op === 'mmap' || o.op === 'mmap_file' || o.op === 'mmap_dev' || o.op === 'mmap_priv' ? [o.slot] : o.op === 'mremap' ? [o.to] : [];
}

/** `n` more copies of `ops`. */
function repeated(ops: readonly Op[], n: number): Op[] {
  const out: Op[] = [];
  for (let i = 0; i < n; i++) for (const o of ops) out.push({ ...o });
  return out;
}

/** An attribute change undone: set_memory_x after set_memory_nx and back, mprotect to read-only after a writable protection and back. */
function reversed(o: Op): Op {
  if (o.op === 'set_memory') return { ...o, nx: !o.nx };
  if (o.op === 'mprotect') return { ...o, prot: o.prot === 'r' ? 'rw' : 'r' };
  return { ...o };
}

/** `o` with its slots (and mremap's destination) moved on by `by`: the same operation on another object. */
function shifted(o: Op, by: number): Op {
  const c = { ...o } as Record<string, unknown>;
  if (typeof c.slot === 'number') c.slot = (c.slot + by) % SLOTS;
  if (typeof c.pt === 'number') c.pt = (c.pt + by) % GPT_SLOTS;
  if (typeof c.to === 'number' && o.op !== 'fork' && o.op !== 'clone') c.to = (c.to + by) % (o.op === 'gpt_update' ? GPT_SLOTS : SLOTS);
  return c as Op;
}

/** Indices of the user operations (system calls) of `ops` that no fail_nth precedes. */
function faultableCalls(ops: readonly Op[]): number[] {
  const out: number[] = [];
  ops.forEach((o, i) => {
    if (isUserOp(o.op) && o.op !== 'fail_nth' && ops[i - 1]?.op !== 'fail_nth') out.push(i);
  });
  return out;
}

function mappedSlots(ops: Op[]): number[] {
  const s: number[] = [];
  for (const o of ops) for (const m of mappedBy(o)) if (!s.includes(m)) s.push(m);
  return s;
}

/** Keeps a mutated program valid: CPUs in range, fork targets existing, kernel threads without user ops. */
export function normalize(p: Program, maxCpus: number): void {
  p.cpus = Math.max(1, Math.min(p.cpus, maxCpus));
  if (p.tasks.length === 0) p.tasks.push({ cpu: 0, kthread: false, spawn: 'boot', ops: [{ op: 'schedule' }] });
  const forkTasks: number[] = [];
  p.tasks.forEach((t, i) => {
    if (t.spawn === 'fork' && !t.kthread) forkTasks.push(i);
  });
  for (const t of p.tasks) {
    if (t.cpu >= p.cpus) t.cpu = t.cpu % p.cpus;
    if (t.kthread) t.spawn = 'boot';
    if (t.kthread) t.ops = t.ops.filter((o) => !isUserOp(o.op));
    for (const o of t.ops) {
      if (o.op !== 'fork' && o.op !== 'clone') continue;
      // A fork names a task that waits to be forked when there is one (a boot task is running already).
      if (forkTasks.length > 0 && p.tasks[o.task % p.tasks.length]?.spawn !== 'fork') o.task = forkTasks[o.task % forkTasks.length];
      else if (o.task >= p.tasks.length) o.task = o.task % p.tasks.length;
    }
    if (t.ops.length > MAX_OPS) t.ops.length = MAX_OPS;
  }
  if (!p.tasks.some((t) => t.spawn === 'boot')) p.tasks[0].spawn = 'boot';
  for (const q of p.irqs) if (q.cpu >= p.cpus) q.cpu = -1;
}

/** Operations that need a process context (user memory, an mm). */
export function isUserOp(name: OpName): boolean {
  return (
    name === 'mmap' ||
    name === 'mmap_file' ||
    name === 'mremap' ||
    name === 'ftruncate' ||
    name === 'mmap_dev' ||
    name === 'dev_release' ||
    name === 'mmap_priv' ||
    name === 'mem_write' ||
    name === 'madvise' ||
    name === 'munmap' ||
    name === 'mprotect' ||
    name === 'uaccess' ||
    name === 'gup_fast' ||
    name === 'fork' ||
    name === 'clone' ||
    name === 'memcg' ||
    name === 'fail_nth'
  );
}

/** The object an operation works on ('u3': user range 3, 'vmap1': vm_map_ram slot 1...), or null. */
export function objectKey(o: Op): string | null {
  switch (o.op) {
    case 'mmap':
    case 'mmap_file':
    case 'mmap_dev':
    case 'mmap_priv':
    case 'mem_write':
    case 'madvise':
    case 'mremap':
    case 'munmap':
    case 'mprotect':
    case 'uaccess':
    case 'gup_fast':
      return `u${o.slot}`;
    case 'vmalloc':
    case 'vfree':
    case 'set_memory':
      return `vmalloc${o.slot}`;
    case 'vm_map_ram':
    case 'vm_unmap_ram':
      return `vmap${o.slot}`;
    case 'percpu_alloc':
    case 'percpu_free':
      return `percpu${o.slot}`;
    case 'kaccess':
      return `${o.obj}${o.slot}`;
    default:
      return null;
  }
}

/**
 * The objects each operation of a task's list works on: its objectKey(), and for an operation on a
 * range that an earlier mmap_file of the list mapped (and mremap moved), that file too ('f0'), as
 * for ftruncate: a truncation and a use of a mapping of the file meet on it (syzkaller tracks an
 * fd and the mappings made from it the same way); a device ('d0') likewise, for dev_release and
 * the ranges an mmap_dev mapped.
 */
export function objectKeys(ops: readonly Op[]): string[][] {
  const fileOf = new Map<number, string>();
  return ops.map((o) => {
    const keys: string[] = [];
    const k = objectKey(o);
    if (k) keys.push(k);
    if (o.op === 'ftruncate') keys.push(`f${o.file}`);
    else if (o.op === 'dev_release') keys.push(`d${o.dev}`);
    else if ('slot' in o && isUserOp(o.op) && fileOf.has(o.slot)) keys.push(fileOf.get(o.slot)!);
    if (o.op === 'mmap_file' || o.op === 'mmap_priv') fileOf.set(o.slot, `f${o.file}`);
    else if (o.op === 'mmap_dev') fileOf.set(o.slot, `d${o.dev}`);
    else if (o.op === 'mremap' && fileOf.has(o.slot)) {
      fileOf.set(o.to, fileOf.get(o.slot)!);
      fileOf.delete(o.slot);
    } else if (o.op === 'munmap' || o.op === 'mmap') fileOf.delete(o.slot);
    return keys;
  });
}

/** Operations that create their object. */
function isAllocation(o: Op): boolean {
  return (
    o.op === 'mmap' ||
    o.op === 'mmap_file' ||
    o.op === 'mmap_dev' ||
    o.op === 'mmap_priv' ||
    o.op === 'vmalloc' ||
    o.op === 'vm_map_ram' ||
    o.op === 'percpu_alloc'
  );
}
