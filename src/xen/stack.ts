/**
 * Xen's per-CPU primary stack, as a resource the model's hypervisor code consumes: a general
 * stack-depth check on the recursive paths of mm.c (the de-typing of page tables), which real Xen
 * has only as a fixed 8 KiB stack with a guard page below it.
 *
 * Sizes (docs/provenance.md, "Xen stack"):
 * - RELEASE-4.9.0 xen/include/asm-x86/config.h:80 `PRIMARY_STACK_SIZE 8192` ("Primary stack is
 *   restricted to 8kB by guard pages"); current.h:14-24: pages 6 and 7 of the 8-page stack are the
 *   primary stack, page 5 is not present with MEMORY_GUARD (config.h:66-68, debug builds), and a
 *   `struct cpu_info` sits at its top: 232 bytes (sizeof, measured with the build below).
 * - Frame sizes: `gcc -fstack-usage` of RELEASE-4.9.0 xen/arch/x86/mm.c built as Xen's debug
 *   configuration builds it (CONFIG_DEBUG=y: -O1, CONFIG_FRAME_POINTER=y: -fno-omit-frame-pointer;
 *   xen/Rules.mk:43-47, 61) with gcc 12.2.0. Each size includes the return address. Another
 *   compiler gives other sizes: these are one real build's, not Xen's for every build.
 *
 * Only frames of mm.c's recursion are counted, and the hypercall's own (do_mmuext_op,
 * do_mmu_update); the entry path below them and the leaf functions the recursion calls
 * (map_domain_page, put_page, ...) are not. The model's count is therefore at most what the real
 * build uses: when the model overflows, that build has overflowed already.
 */

/** `PRIMARY_STACK_SIZE` less `sizeof(struct cpu_info)` (RELEASE-4.9.0, debug build, x86_64). */
export const XEN_PRIMARY_STACK_BYTES = 8192 - 232;

/** `-fstack-usage` of RELEASE-4.9.0 mm.c, debug build, gcc 12.2.0 (bytes, return address included). */
export const XEN_FRAME_BYTES = {
  do_mmu_update: 224,
  do_mmuext_op: 176,
  __put_page_type: 64,
  free_page_type: 96,
  put_page_from_l2e: 32,
  put_page_from_l3e: 48,
  put_page_from_l4e: 32,
  /** Called by put_page_from_l2e (put_page_and_type). */
  put_page_type: 16,
  /** Called by put_page_from_l3e/l4e (put_page_and_type_preemptible). */
  put_page_type_preemptible: 16,
} as const;

export type XenFrameName = keyof typeof XEN_FRAME_BYTES;

/** Thrown (or handed to the panic hook) when Xen panics: the console lines it printed. */
export class XenPanic extends Error {
  constructor(
    readonly lines: string[],
    readonly signature: string,
  ) {
    super(lines.join('\n'));
    this.name = 'XenPanic';
  }
}

/** The frames on one CPU's primary stack while a hypercall runs (one hypercall at a time). */
export class XenStack {
  private readonly frames: XenFrameName[] = [];
  private used = 0;
  /** The most bytes in use since it was last set to 0 (the fuzzer reads it as coverage of stack depth). */
  peak = 0;

  /** Bytes in use. */
  get depthBytes(): number {
    return this.used;
  }

  /** Empties the stack (a new run, or a state restored). */
  clear(): void {
    this.frames.length = 0;
    this.used = 0;
  }

  /**
   * The frames of a hypercall interrupted at an interleaving point (XenMm.irq_window), taken off
   * so that the hypercalls other CPUs make meanwhile start on an empty stack, as on their own CPU's.
   */
  save(): { frames: XenFrameName[]; used: number } {
    const s = { frames: this.frames.splice(0), used: this.used };
    this.used = 0;
    return s;
  }

  /** Puts back the frames `save()` took when the interrupted hypercall resumes. */
  restore(s: { frames: XenFrameName[]; used: number }): void {
    this.frames.length = 0;
    this.frames.push(...s.frames);
    this.used = s.used;
  }

  /** Calls `fn`: true if its frame still fits, false if the stack pointer has left the primary stack. */
  push(fn: XenFrameName): boolean {
    this.frames.push(fn);
    this.used += XEN_FRAME_BYTES[fn];
    if (this.used > this.peak) this.peak = this.used;
    return this.used <= XEN_PRIMARY_STACK_BYTES;
  }

  /** Returns from the innermost frame. */
  pop(): void {
    const fn = this.frames.pop();
    if (fn !== undefined) this.used -= XEN_FRAME_BYTES[fn];
  }

  /**
   * A stable name for the overflow: the functions the stack holds more than once (a recursion),
   * sorted, or the innermost one.
   */
  signature(): string {
    const seen = new Map<string, number>();
    for (const f of this.frames) seen.set(f, (seen.get(f) ?? 0) + 1);
    const rec = [...seen].filter(([, n]) => n > 1).map(([f]) => f);
    return rec.length ? `stack overflow in the recursion ${rec.sort().join(' / ')}` : `stack overflow in ${this.frames[this.frames.length - 1] ?? '?'}`;
  }

  /**
   * What `do_double_fault()` prints (RELEASE-4.9.0 x86_64/traps.c:228-255, traps.c:446-487): the
   * write below the primary stack hits the MEMORY_GUARD page, the page fault cannot push its frame,
   * and the double fault (on its own IST stack) reports the overflow with the trace of the
   * overflowed stack, innermost first; runs of the same cycle of frames are folded into one line.
   */
  doubleFault(cpu: number): string[] {
    const trace = foldCycles([...this.frames].reverse());
    return [
      '*** DOUBLE FAULT ***',
      `CPU:    ${cpu}`,
      `Xen stack overflow (dumping trace): ${this.used} bytes of frames on a ${XEN_PRIMARY_STACK_BYTES}-byte primary stack`,
      ...trace.map((l) => `   ${l}`),
      '',
      '****************************************',
      `Panic on CPU ${cpu}:`,
      'DOUBLE FAULT -- system shutdown',
      '****************************************',
    ];
  }
}

/** Folds repeats of the same cycle of frame names: "a b c a b c a b c d" -> "[a b c] x3", "d". */
function foldCycles(names: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < names.length) {
    let best = { len: 1, reps: 1 };
    for (let len = 1; len <= 8 && i + 2 * len <= names.length; len++) {
      let reps = 1;
      while (i + (reps + 1) * len <= names.length && names.slice(i, i + len).every((n, j) => names[i + reps * len + j] === n)) reps++;
      if (reps > 1 && reps * len > best.reps * best.len) best = { len, reps };
    }
    if (best.reps > 1) {
      out.push(`${names.slice(i, i + best.len).join(' <- ')}   (x${best.reps})`);
      i += best.len * best.reps;
    } else out.push(names[i++]);
  }
  return out;
}
