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
import type { Kernel } from '../linux/kernel.js';
import { mm_alloc } from '../linux/mm.js';
import type { LinuxCpu } from '../linux/percpu.js';
import { down_read, up_read } from '../linux/rwsem.js';
import { schedule } from '../linux/sched.js';
import { VM_EXEC, VM_READ, VM_WRITE, type MmStruct, type TaskStruct } from '../linux/structs.js';
import { __flush_tlb, flush_tlb_mm_range, TLB_FLUSH_ALL } from '../linux/tlbflush.js';
import { user_access } from '../linux/user.js';
import type { KGen } from '../scheduler/types.js';
import { FindingStop } from '../sanitizers/finding.js';
import type { RefConfig } from '../reference/index.js';
import type { Coverage } from './coverage.js';
import { kernelOps, objectVa, type KernelObject } from './kernel-ops.js';
import type { MemCgroup } from '../linux/memcg.js';
import { formatOp, SLOTS, type KObj, type Op, type Program, type Prot, type PteBit } from './program.js';
import { HYPERVISOR_mmu_update, kernel_entry_of, xen_set_entry_bits, xen_set_linear_entry } from '../linux/xen/hypercall.js';
import type { ExplainEvent } from './target.js';
import { checkWalkAgreement } from './walk-oracle.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { traced } from '../scheduler/traced.js';

/** User address of slot 0; slot s starts 2 MiB further per slot (each range owns its page table). */
export const USER_BASE = 0x1000_0000n;
export const USER_SLOT_STRIDE = 0x20_0000n;
/** One access in this many is also walked by the reference walker. */
const WALK_SAMPLE = 4;

interface Region {
  start: bigint;
  pages: number;
  prot: Prot;
}

const VM_FLAGS: Record<Prot, number> = { r: VM_READ, rw: VM_READ | VM_WRITE, rx: VM_READ | VM_EXEC };
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
  private readonly refCfg: RefConfig;
  private readonly ops;
  private sched: Scheduler | null = null;

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
  }

  /** Creates the boot tasks and the interrupt sources. */
  setup(): void {
    this.program.tasks.forEach((t, i) => {
      if (t.spawn === 'boot') this.startTask(i, null, this.k.cpus[this.cpuOf(i)]);
    });
    this.program.irqs.forEach((q, i) => {
      const name = q.kind === 'nmi' ? `nmi${i}` : `irq${i}`;
      const self = this;
      this.k.addInterruptSource({
        name, kind: q.kind, cpus: q.cpu < 0 ? undefined : [Math.min(q.cpu, this.k.cpus.length - 1)], remaining: q.count,
        handler: function* (cpu): KGen<void> {
          yield* traced(cpu, q.kind === 'nmi' ? 'nmi_handler' : 'handle_irq_event', function* () {
            for (const o of q.ops) yield* self.op(o, cpu as LinuxCpu, null);
          });
        },
      });
    });
  }

  /** The scheduler running the program (explanations carry its step numbers). */
  attach(s: Scheduler): void {
    this.sched = s;
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
      mm = yield* this.ops.dup_mm(cpu, parent, `mm${i}`);
      this.regions.set(mm, this.regionsOf(parent).map((r) => r && { ...r }));
    }
    this.k.createTask(`fuzz${i}`, this.cpuOf(i), mm, this.body(i));
  }

  private startTask(i: number, _parent: null, cpu: LinuxCpu): void {
    this.started[i] = true;
    const t = this.program.tasks[i];
    const mm = t.kthread ? null : this.k.runSync(mm_alloc(this.k, cpu, `mm${i}`));
    this.k.createTask(t.kthread ? `kworker/${i}` : `fuzz${i}`, this.cpuOf(i), mm, this.body(i));
  }

  private body(i: number): (task: TaskStruct) => KGen<void> {
    const self = this;
    const ops = this.program.tasks[i].ops;
    return function* (task: TaskStruct): KGen<void> {
      const cpu = self.k.cpus[task.cpu];
      for (const o of ops) {
        yield* self.op(o, cpu, task);
        yield 'fuzz:next_op';
      }
    };
  }

  private note(cpu: LinuxCpu, o: Op): void {
    this.findingCpu = cpu.index;
    this.cov.hitString(`op:${o.op}`);
    if (this.events) this.events.push({ step: this.sched?.steps ?? 0, cpu: cpu.index, text: `${cpu.frames.length > 0 ? `[${cpu.frames[cpu.frames.length - 1].name}] ` : `[${cpu.curr.comm}:${cpu.curr.pid}] `}${formatOp(o)}` });
  }

  /** Runs one operation on `cpu` for `task` (null in an interrupt handler). */
  private *op(o: Op, cpu: LinuxCpu, task: TaskStruct | null): KGen<void> {
    this.note(cpu, o);
    const k = this.k;
    switch (o.op) {
      case 'kaccess': {
        const obj = this.objs[o.obj][o.slot];
        if (!obj) return;
        // The access holds a reference: the object is not freed under it (kernel code that
        // frees memory another CPU still uses would be the program's bug, not the kernel's).
        obj.users++;
        const va = objectVa(obj, cpu.index) + BigInt((o.page % obj.pages) * 4096);
        try {
          yield* this.access(cpu, va, o.kind === 'write' ? 'write' : 'read', 0);
        } finally {
          obj.users--;
        }
        return;
      }
      case 'pt_set': {
        const obj = this.objs[o.obj][o.slot];
        if (!obj) return;
        const pa = o.linear ? this.linear.get(`${o.obj}${o.slot}:${o.level}`) : kernel_entry_of(k, obj.va, o.level);
        if (pa === undefined || pa === null) return;
        yield* xen_set_entry_bits(k, cpu, pa, PTE_BIT[o.bit]);
        return;
      }
      case 'pt_linear': {
        const key = `${o.obj}${o.slot}:${o.level}`;
        const from = this.objs[o.obj][o.slot];
        const to = this.objs[o.obj][o.to];
        if (!from || !to || this.linear.has(key)) return;
        const r = yield* xen_set_linear_entry(k, cpu, from.va, to.va, o.level);
        if (r && r.rc === 0) this.linear.set(key, r.pa);
        return;
      }
      case 'pt_unlinear': {
        const key = `${o.obj}${o.slot}:${o.level}`;
        const pa = this.linear.get(key);
        if (pa === undefined) return;
        this.linear.delete(key);
        yield* HYPERVISOR_mmu_update(k, cpu, pa, 0n);
        return;
      }
      case 'schedule':
        yield* schedule(k, cpu);
        return;
      case 'exit':
        yield* do_exit(k, cpu, 0);
        return;
      case 'flush_tlb':
        if (o.scope === 'local') yield* __flush_tlb(k, cpu);
        else if (o.scope === 'all') yield* k.pv.mmu.flush_tlb_kernel(k, cpu);
        else if (task?.active_mm) yield* flush_tlb_mm_range(k, cpu, task.active_mm, 0n, TLB_FLUSH_ALL);
        return;
      case 'vmalloc': case 'vm_map_ram': case 'percpu_alloc': {
        const kind: KObj = o.op === 'vmalloc' ? 'vmalloc' : o.op === 'vm_map_ram' ? 'vmap' : 'percpu';
        if (this.objs[kind][o.slot]) return;
        const pages = o.op === 'percpu_alloc' ? 1 : o.pages;
        const obj = yield* traced(cpu, o.op === 'vmalloc' ? 'vmalloc' : o.op === 'vm_map_ram' ? 'vm_map_ram' : 'alloc_percpu', () => this.ops.alloc(cpu, kind, pages));
        this.objs[kind][o.slot] = obj;
        return;
      }
      case 'vfree': case 'vm_unmap_ram': case 'percpu_free': {
        const kind: KObj = o.op === 'vfree' ? 'vmalloc' : o.op === 'vm_unmap_ram' ? 'vmap' : 'percpu';
        const obj = this.objs[kind][o.slot];
        if (!obj || obj.users > 0) return; // in use elsewhere: the last reference is not ours
        this.objs[kind][o.slot] = null;
        yield* traced(cpu, o.op, () => this.ops.free(cpu, kind, obj));
        return;
      }
    }
    // User-memory operations: a process context only.
    const mm = task?.mm;
    if (!task || !mm) return;
    const regs = this.regionsOf(mm);
    switch (o.op) {
      case 'mmap': {
        if (regs[o.slot]) return;
        const start = USER_BASE + BigInt(o.slot) * USER_SLOT_STRIDE;
        yield* traced(cpu, 'sys_mmap', () => this.ops.mmap(cpu, mm, start, o.pages, VM_FLAGS[o.prot]));
        const region: Region = { start, pages: o.pages, prot: o.prot };
        regs[o.slot] = region;
        // MAP_POPULATE: __mm_populate() takes mmap_sem for reading again and faults in what is
        // still mapped, as allowed now (modelled as the task touching each page; GUP stops
        // quietly where a thread unmapped or protected the range meanwhile).
        if (o.populate) {
          yield* down_read(k, cpu, mm.mmap_sem);
          if (regs[o.slot] === region) {
            for (let i = 0; i < region.pages; i++) yield* this.access(cpu, start + BigInt(i * 4096), region.prot === 'rw' ? 'write' : 'read', 3);
          }
          up_read(mm.mmap_sem, task);
        }
        return;
      }
      case 'munmap': {
        const r = regs[o.slot];
        if (!r) return;
        regs[o.slot] = null;
        yield* traced(cpu, 'sys_munmap', () => this.ops.munmap(cpu, mm, r.start, r.pages));
        return;
      }
      case 'mprotect': {
        const r = regs[o.slot];
        if (!r) return;
        yield* this.ops.mprotect(cpu, mm, r.start, r.pages, VM_FLAGS[o.prot]); // sys_mprotect() names its own frame
        r.prot = o.prot;
        return;
      }
      case 'uaccess': {
        const r = regs[o.slot];
        const start = r ? r.start : USER_BASE + BigInt(o.slot) * USER_SLOT_STRIDE;
        const va = start + BigInt((o.page % (r ? r.pages : 1)) * 4096);
        yield* this.access(cpu, va, o.kind, 3);
        return;
      }
      case 'gup_fast': {
        const r = regs[o.slot];
        if (!r) return;
        yield* traced(cpu, 'get_user_pages_fast', () => this.ops.gup_fast(cpu, mm, r.start, Math.min(o.pages, r.pages), o.write));
        return;
      }
      case 'fork': case 'clone': {
        if (o.task >= this.program.tasks.length || this.program.tasks[o.task].kthread) return;
        yield* traced(cpu, 'do_fork', () => this.spawn(o.task, mm, cpu, o.op === 'clone'));
        return;
      }
      case 'memcg': {
        let g = this.memcgs[o.slot];
        if (g === undefined) {
          this.memcgs[o.slot] = null; // being created: another task's memcg op waits for nothing
          g = yield* traced(cpu, 'cgroup_mkdir', () => this.ops.memcg_create(cpu, `fuzz${o.slot}`));
          this.memcgs[o.slot] = g;
        }
        if (g) this.ops.memcg_attach(mm, g);
        return;
      }
    }
  }

  private explainAccess(cpu: LinuxCpu, va: bigint, kind: AccessKind, cpl: 0 | 3, pa: bigint, how: string): void {
    this.events!.push({ step: this.sched?.steps ?? 0, cpu: cpu.index, text: `${cpl === 3 ? 'user' : 'kernel'} ${kind} 0x${va.toString(16)} -> pa 0x${pa.toString(16)}${how ? ` (${how})` : ''}` });
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
