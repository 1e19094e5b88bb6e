/**
 * One set-associative array in typed arrays: the building block of the cost model's TLB levels,
 * paging-structure caches and data caches (src/cost/sim.ts). Keys are non-negative integers below
 * 2^53 (a virtual page number, a hashed line address); every entry also carries a small owner tag
 * (an ASID, or 0) so that a flush can drop one address space's entries.
 *
 * Replacement policies:
 * - `lru`: true least-recently-used (a stamp per entry, refreshed on every hit and fill);
 * - `plru`: bit pseudo-LRU ("MRU bits", one bit per way: set on use; when every bit of a set is
 *   set, all but the one just used are cleared; the victim is the first way whose bit is clear),
 *   which works for any associativity, 12- and 16-way included;
 * - `fifo`: the oldest fill goes first, hits do not refresh (the WASM core's TLBs and PSCs).
 * An invalid way is always used before any valid entry is evicted.
 */
export type Policy = 'lru' | 'plru' | 'fifo';
export const POLICIES: Policy[] = ['lru', 'plru', 'fifo'];

export class SetAssoc {
  readonly keys: Float64Array;
  readonly tags: Int32Array;
  /** lru/fifo: stamp of last use/fill; plru: the MRU bit (0/1). */
  private readonly meta: Float64Array;
  private clock = 0;
  /** Slot written by the last insert(). */
  last = -1;
  /** Index mask when `sets` is a power of two, else -1 (modulo indexing). */
  private readonly mask: number;

  constructor(
    readonly sets: number,
    readonly ways: number,
    readonly policy: Policy,
  ) {
    const n = sets * ways;
    this.keys = new Float64Array(n).fill(-1);
    this.tags = new Int32Array(n);
    this.meta = new Float64Array(n);
    this.mask = (sets & (sets - 1)) === 0 ? sets - 1 : -1;
  }

  /** Set index for an index value (any non-negative integer below 2^53). */
  setOf(index: number): number {
    return this.mask >= 0 ? ((index % 0x1_0000_0000) & this.mask) >>> 0 : index % this.sets;
  }

  /** Slot holding (key, tag) in `set`, refreshed per the policy; -1 on a miss. */
  lookup(set: number, key: number, tag: number): number {
    const base = set * this.ways;
    for (let s = base, end = base + this.ways; s < end; s++) {
      if (this.keys[s] === key && this.tags[s] === tag) {
        this.used(s, base);
        return s;
      }
    }
    return -1;
  }

  /** Fills (key, tag) into `set` (replacing a stale copy if present); returns the evicted key or -1. */
  insert(set: number, key: number, tag: number): number {
    const base = set * this.ways;
    const end = base + this.ways;
    let victim = -1;
    for (let s = base; s < end; s++) {
      if (this.keys[s] === key && this.tags[s] === tag) {
        this.used(s, base, true);
        this.last = s;
        return -1;
      }
      if (victim < 0 && this.keys[s] < 0) victim = s;
    }
    if (victim < 0) victim = this.victim(base, end);
    const old = this.keys[victim];
    this.keys[victim] = key;
    this.tags[victim] = tag;
    if (this.policy === 'plru') this.meta[victim] = 0;
    this.used(victim, base, true);
    this.last = victim;
    return old;
  }

  private used(slot: number, base: number, fill = false): void {
    if (this.policy === 'lru' || (fill && this.policy === 'fifo')) {
      this.meta[slot] = ++this.clock;
    } else if (this.policy === 'plru') {
      this.meta[slot] = 1;
      const end = base + this.ways;
      for (let s = base; s < end; s++) if (this.meta[s] === 0) return;
      for (let s = base; s < end; s++) this.meta[s] = s === slot ? 1 : 0;
    }
  }

  private victim(base: number, end: number): number {
    if (this.policy === 'plru') {
      for (let s = base; s < end; s++) if (this.meta[s] === 0) return s;
      return base;
    }
    let v = base;
    for (let s = base + 1; s < end; s++) if (this.meta[s] < this.meta[v]) v = s;
    return v;
  }

  /** Drops entries of owner `tag` (every entry when tag is null) matching `pred` if given. */
  flush(tag: number | null, pred?: (key: number) => boolean): void {
    for (let s = 0; s < this.keys.length; s++) {
      if (this.keys[s] < 0 || (tag !== null && this.tags[s] !== tag)) continue;
      if (!pred || pred(this.keys[s])) this.keys[s] = -1;
    }
  }

  /** Drops (key, tag) from `set` if present. */
  invalidate(set: number, key: number, tag: number): void {
    const base = set * this.ways;
    for (let s = base, end = base + this.ways; s < end; s++) if (this.keys[s] === key && this.tags[s] === tag) this.keys[s] = -1;
  }

  /** Valid entries (for tests). */
  occupancy(): number {
    let n = 0;
    for (const k of this.keys) if (k >= 0) n++;
    return n;
  }
}
