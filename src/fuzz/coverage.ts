/**
 * Coverage feedback, AFL-style: a map of 2^16 counters per execution, hit counts bucketed
 * (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+), and a global map of the buckets seen so far. An
 * execution is interesting when it sets a bucket never seen before.
 *
 * What is counted (see also `CoverageStrategy`):
 * - interleaving-point edges of each CPU: (previous yield label, next yield label) — the model's
 *   branches as its generator code reached them;
 * - pairs of labels of two CPUs when one moves (which code ran against which);
 * - events (IRQ, NMI, IPI, preemption) by the label they interrupted;
 * - ids reported by the model or the interpreter through `cover(id)` (sanitizer preconditions
 *   such as "fault in vmalloc space in lazy MMU mode", "page-table frame freed while walked").
 */
export const COV_BITS = 16;
export const COV_SIZE = 1 << COV_BITS;
const MASK = COV_SIZE - 1;

/** FNV-1a of a string, 32-bit. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Mixes two 32-bit values (an edge id). */
export function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Moments (new pairs of two CPUs' labels) recorded per execution, at most. */
export const MAX_MOMENTS = 32;

function bucket(n: number): number {
  if (n <= 3) return 1 << (n - 1); // 1,2,4
  if (n < 8) return 8;
  if (n < 16) return 16;
  if (n < 32) return 32;
  if (n < 128) return 64;
  return 128;
}

export class Coverage {
  /** Buckets seen by all executions so far. */
  readonly global = new Uint8Array(COV_SIZE);
  /** Hit counts of the current execution (saturating at 255). */
  private readonly cur = new Uint8Array(COV_SIZE);
  private touched = new Int32Array(4096);
  private nTouched = 0;
  /** Distinct (index, bucket) pairs seen so far. */
  total = 0;
  private readonly interned = new Map<string, number>();

  /** Counts one hit of `id` (any 32-bit number). */
  hit(id: number): void {
    const i = id & MASK;
    const c = this.cur[i];
    if (c === 0) {
      if (this.nTouched === this.touched.length) {
        const t = new Int32Array(this.touched.length * 2);
        t.set(this.touched);
        this.touched = t;
      }
      this.touched[this.nTouched++] = i;
    }
    if (c < 255) this.cur[i] = c + 1;
  }

  /** The id of a string (interned: hashing happens once per distinct string). */
  id(s: string): number {
    let v = this.interned.get(s);
    if (v === undefined) {
      v = hashString(s);
      this.interned.set(s, v);
    }
    return v;
  }

  /** Counts one hit of a named coverage point. */
  hitString(s: string): void {
    this.hit(this.id(s));
  }

  /** ids of `prefix + name` by prefix and name: the string is built and hashed once. */
  private readonly prefixed = new Map<string, Map<string, number>>();

  /** hitString(prefix + name) without building the string at every hit. */
  hitPrefixed(prefix: string, name: string): void {
    let m = this.prefixed.get(prefix);
    if (m === undefined) this.prefixed.set(prefix, (m = new Map()));
    let v = m.get(name);
    if (v === undefined) m.set(name, (v = this.id(prefix + name)));
    this.hit(v);
  }

  /**
   * Moments of the current execution (at most MAX_MOMENTS): scheduler steps at which a pair of
   * labels of two CPUs never seen before by any execution was first reached, each as three numbers
   * (step, the CPU that stood, the CPU that moved). The engine keeps them with a corpus entry: the
   * places a focused schedule mutation holds a CPU at (Generator.focus).
   */
  private readonly momentBuf = new Int32Array(3 * MAX_MOMENTS);
  private nMoments = 0;

  /** hit(id) of a pair of two CPUs' labels; a pair no execution reached before is a moment (step, standing CPU, moving CPU). */
  hitPair(id: number, step: number, stand: number, move: number): void {
    const i = id & MASK;
    if (this.nMoments < MAX_MOMENTS && this.cur[i] === 0 && this.global[i] === 0) {
      const b = this.momentBuf;
      const k = 3 * this.nMoments++;
      b[k] = step;
      b[k + 1] = stand;
      b[k + 2] = move;
    }
    this.hit(id);
  }

  /** The current execution's moments (a copy: step, standing CPU, moving CPU, ...); call before commit(). */
  moments(): number[] {
    return Array.from(this.momentBuf.subarray(0, 3 * this.nMoments));
  }

  /** Number of distinct points hit by the current execution. */
  get currentCount(): number {
    return this.nTouched;
  }

  /**
   * Ends the current execution: merges its buckets into the global map (unless `merge` is
   * false) and returns how many (point, bucket) pairs were new.
   */
  commit(merge = true): number {
    let fresh = 0;
    const g = this.global;
    for (let k = 0; k < this.nTouched; k++) {
      const i = this.touched[k];
      const b = bucket(this.cur[i]);
      if ((g[i] & b) === 0) {
        fresh++;
        if (merge) g[i] |= b;
      }
      this.cur[i] = 0;
    }
    if (merge) this.total += fresh;
    this.nTouched = 0;
    this.nMoments = 0;
    return fresh;
  }

  /** Forgets the current execution's hits. */
  discard(): void {
    for (let k = 0; k < this.nTouched; k++) this.cur[this.touched[k]] = 0;
    this.nTouched = 0;
    this.nMoments = 0;
  }
}

// The hook the model may call, `cover('vmalloc_fault:pgd_none')`, lives in src/util/cover.ts so
// that the models can report to the fuzzer without importing it.
export { cover, setActiveCoverage } from '../util/cover.js';
