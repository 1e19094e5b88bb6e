/**
 * The fuzz target of the Linux model (native or any paravirt backend): each execution resets one
 * machine (TLBs with `retention: 'maximal'`, which keeps every entry the architecture allows and
 * so exposes missing flushes), boots the kernel of the preset, sets the program up through the
 * interpreter (interp.ts) and runs it under the deterministic scheduler. Oracles: the model's
 * sanitizers (kernel BUG, oops, lockups, Xen refusals, page-table use-after-free, writable alias,
 * stale TLB entry used after a completed flush) stop the run with a finding; the interpreter adds
 * the WASM-vs-reference walker check on sampled accesses.
 */
import { Machine } from '../core/machine.js';
import { configFromPreset, type LinuxConfig } from '../linux/config.js';
import { Kernel, type KernelSnapshot } from '../linux/kernel.js';
import { xenOf } from '../linux/xen/state.js';
import { xen_boot_now } from '../linux/xen/mmu.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { ReplayDivergence } from '../scheduler/strategy.js';
import { PagewalkError } from '../core/errors.js';
import type { Coverage } from './coverage.js';
import './boot.js';
import { Interpreter } from './interp.js';
import { executionStrategy } from './schedule.js';
import type { ExecInput, ExecResult, ExplainEvent, FuzzTarget } from './target.js';
import type { KnobValue } from '../presets/index.js';

/** Scheduler steps per execution before the run is cut (a clean program needs a few hundred). */
export const MAX_STEPS = 6_000;

/** Bytes of Xen stack depth per coverage bucket (about one level of the page-table de-typing recursion). */
const XEN_STACK_BUCKET = 256;

/**
 * RAM of fuzz machines unless the user sets `ram_mib`: programs use a few hundred frames, and
 * every execution starts by zeroing RAM (`m.reset()`), so a small RAM is a large speed-up.
 */
export const FUZZ_RAM_MIB = 4;

/**
 * TLB and paging-structure-cache geometry of fuzz machines, with `retention: 'maximal'` (no
 * entry dropped except by invalidation or a full set). Programs touch at most a few hundred
 * pages; a smaller array keeps every flush (which visits every entry) cheap.
 */
const FUZZ_TLB = { '4k': { sets: 64, ways: 16 }, '2m': { sets: 16, ways: 8 }, '1g': { sets: 4, ways: 4 } };
const FUZZ_PSC = { pde: { sets: 16, ways: 8 }, pdpte: { sets: 8, ways: 8 }, pml4e: { sets: 8, ways: 8 }, pml5e: { sets: 4, ways: 4 } };

export class LinuxFuzzTarget implements FuzzTarget {
  readonly maxCpus: number;
  readonly xenPv: boolean;
  private readonly machine: Machine;
  private readonly configs = new Map<number, LinuxConfig>();
  private readonly base: LinuxConfig;
  /** Called with each execution's freshly booted (or restored) kernel (tests plant bugs here). */
  onBoot: ((k: Kernel) => void) | null = null;
  /**
   * Boot once per kernel configuration and restore that booted machine and kernel before each
   * execution (`Kernel.snapshot`), instead of resetting the machine and booting every time. Same
   * runs either way (test/fuzz-snapshot.test.ts); false boots every time.
   */
  useSnapshots = true;
  private readonly booted = new Map<LinuxConfig, { k: Kernel; snap: KernelSnapshot }>();
  /** Overrides with the fuzzer's defaults (RAM) added. */
  private readonly effective: Readonly<Record<string, KnobValue>>;

  /** CPUs of a preset's machine. */
  static cpusOf(preset: string, overrides: Readonly<Record<string, KnobValue>>): number {
    return configFromPreset(preset, overrides).cpus;
  }

  constructor(
    readonly preset: string,
    readonly overrides: Readonly<Record<string, KnobValue>>,
  ) {
    this.effective = 'ram_mib' in overrides ? overrides : { ...overrides, ram_mib: FUZZ_RAM_MIB };
    this.base = configFromPreset(preset, this.effective);
    this.maxCpus = this.base.cpus;
    this.xenPv = this.base.knobs.paravirt === 'xen-pv';
    this.machine = Machine.createSync({ ramBytes: this.base.ram_mib * 1024 * 1024, cpus: this.base.cpus, retention: 'maximal', tlb: FUZZ_TLB, psc: FUZZ_PSC });
  }

  /** The kernel configuration for a program on `cpus` CPUs (an SMP kernel booted with fewer CPUs). */
  private configFor(cpus: number): LinuxConfig {
    if (!this.base.smp || cpus >= this.base.cpus) return this.base;
    let c = this.configs.get(cpus);
    if (!c) this.configs.set(cpus, (c = configFromPreset(this.preset, { ...this.effective, cpus })));
    return c;
  }

  /** A freshly booted kernel of `config` on this target's machine: restored from its snapshot, or booted. */
  private bootedKernel(config: LinuxConfig): Kernel {
    const b = this.useSnapshots ? this.booted.get(config) : undefined;
    if (b) {
      b.k.restore(b.snap);
      return b.k;
    }
    const m = this.machine;
    m.reset();
    const k = Kernel.boot(m, config);
    // The Xen side boots at the first paravirt operation; every program makes one before anything
    // else touches memory, so booting it here changes nothing and puts it in the snapshot.
    if (config.knobs.paravirt === 'xen-pv') xen_boot_now(k);
    if (this.useSnapshots) this.booted.set(config, { k, snap: k.snapshot() });
    return k;
  }

  run(input: ExecInput, cov: Coverage): ExecResult {
    const m = this.machine;
    const config = this.configFor(input.program.cpus);
    const k = this.bootedKernel(config);
    // Xen's own branches count as coverage too (as kcov in the hypervisor would).
    const xen = config.knobs.paravirt === 'xen-pv' ? xenOf(k).mm : null;
    if (xen) {
      xen.onPath = (id) => cov.hitString(id);
      xen.stack.peak = 0;
    }
    this.onBoot?.(k);
    const events: ExplainEvent[] | undefined = input.explain ? [] : undefined;
    const interp = new Interpreter(k, m, input.program, cov, events);
    interp.setup();
    const { strategy, divergences, anchors } = executionStrategy(input, cov, events);
    const sched = new Scheduler(k, strategy);
    interp.attach(sched);
    let r;
    try {
      r = sched.run({ maxSteps: MAX_STEPS });
    } catch (e) {
      if (e instanceof ReplayDivergence) throw new PagewalkError('EBAD_INPUT', `the trace does not replay on this model: ${e.message}`);
      throw e;
    } finally {
      interp.finish();
    }
    cov.hitString(`status:${r.status}`);
    // How deep Xen's stack got, in XEN_STACK_BUCKET steps: a recursion one level deeper is new coverage.
    if (xen && xen.stack.peak > 0) cov.hitString(`xen-stack:${Math.floor(xen.stack.peak / XEN_STACK_BUCKET)}`);
    const finding = r.finding;
    if (finding && events) {
      const headline = finding.log.find((l) => !l.startsWith('---') && !l.startsWith('===') && !l.startsWith('(XEN)') && l.trim() !== '') ?? finding.signature;
      events.push({ step: r.steps, cpu: interp.findingCpu, text: `${finding.sanitizer}: ${headline}`, bad: true });
    }
    return { status: finding ? 'finding' : r.status, finding, steps: r.steps, trace: r.trace, divergences: divergences(), events, anchors };
  }
}
