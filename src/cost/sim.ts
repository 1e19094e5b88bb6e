/**
 * The cost model's machine: a trace-driven simulation of what a core does with each access of
 * the stream — an L1 DTLB per page size, a shared second-level TLB (STLB) charging its hit
 * latency, paging-structure caches, a page walk whose every entry read goes through a data-cache
 * hierarchy (exact set-associative L1/L2/L3 in typed arrays), and the data line itself going
 * through the same caches, so page-table lines and data lines compete for them as they do on
 * the hardware. Several address spaces can take turns on the CPU (context switches), with or
 * without PCIDs, and with Linux's small per-CPU ASID cache as an option.
 *
 * Why not the WASM core's TLB? The core has one TLB level with a separate array per page size
 * and FIFO replacement — exactly right for the architectural behaviour it checks, but the
 * hardware the cost is priced on has a small L1 DTLB in front of an STLB shared by 4 KiB and
 * 2 MiB pages, LRU-like replacement, and a per-walk question the core's counters cannot answer
 * (which lines each walk reads, to place them in the caches). So the two TLB levels, the PSCs
 * used for pricing and the caches are modelled here; the core still translates every access of
 * the cell (src/cost/run.ts) and its counters are reported beside the model's, and a test checks
 * that this model, configured like the core (one FIFO level, the core's arrays), counts the same
 * walks, references and PSC hits as the core, access for access.
 *
 * The model is deterministic: no clock, no Math.random; physical placement of lines is a fixed
 * hash of (address space, level, line), which stands for the kernel's scattered page frames.
 */
import type { PscGeometry } from '../core/types.js';
import type { PageClass, TlbArray, DataCache } from './presets.js';
import { SetAssoc, type Policy } from './setassoc.js';

/** Everything the simulation needs to know about the machine (resolved from config + preset). */
export interface SimMachine {
  /** L1 DTLB arrays; empty = no L1 level. */
  l1: TlbArray[];
  /** STLB arrays; empty = no second level. */
  l2: TlbArray[];
  l2Latency: number;
  tlbPolicy: Policy;
  /** false: no TLB at all (every access walks). */
  tlbOn: boolean;
  psc: PscGeometry | false;
  pscPolicy: Policy;
  caches: DataCache[];
  cachePolicy: Policy;
  memory: number;
  walkers: number;
  /** Cycles of an L1 DTLB hit (0: hidden behind the VIPT L1D lookup). */
  tlbHit: number;
  /** Cycles of a PSC hit. */
  pscHit: number;
  /** Cycles of the locked update that sets a dirty bit. */
  dirtyUpdate: number;
  /** The stream runs as a guest under EPT/NPT: every guest table access and final address is translated by the host. */
  nested?: SimNested;
}

/** The host dimension of a nested configuration (src/cost/config.ts NestedCost). */
export interface SimNested {
  levels: number;
  /** Host leaf level: 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB host pages. */
  hostLeaf: number;
  gpaTlb: { sets: number; ways: number } | false;
  hostPsc: PscGeometry | false;
  /** Guest RAM in 4 KiB pages: guest-physical pages are hashed below it. */
  guestPages: number;
}

/** Paging facts the walk needs (src/cost/layout.ts depthInfo). */
export interface SimPaging {
  topMemLevel: number;
  bitsPerLevel: number;
  entryBytes: number;
  largePages: number;
  pscLevels: number[];
}

/** One address space's accesses. */
export interface SimStream {
  vpn: Float64Array;
  /** 64-byte line within the 4 KiB page (0..63). */
  lineInPage: Uint8Array;
  /** Leaf level: 1 = 4 KiB, 2 = 2/4 MiB, 3 = 1 GiB. */
  leaf: Uint8Array;
  /** 1 = write. */
  write: Uint8Array;
}

export interface SimSchedule {
  /** Accesses before the counters start. */
  warmup: number;
  accesses: number;
  /** Switch to the next address space every N accesses (0 = one space only). */
  switchEvery: number;
  pcid: boolean;
  /** Dynamic ASIDs per CPU (Linux: TLB_NR_DYN_ASIDS = 6); Infinity-like large = one per space. */
  asids: number;
  flush: { kind: 'none' | 'invlpg' | 'full'; every: number };
  /** A dependent stream (pointer chase): walks cannot overlap. */
  dependent: boolean;
  /** Seed for the INVLPG targets. */
  seed: number;
}

export interface SimStats {
  accesses: number;
  l1Hits: number;
  stlbHits: number;
  walks: number;
  /** Walks caused by a write hitting a TLB entry whose dirty flag is clear. */
  dirtyWalks: number;
  /** Dirty bits set in memory (locked updates). */
  dirtyUpdates: number;
  memRefs: number;
  pscHits: number;
  pscHitsByLevel: { pde: number; pdpte: number; pml4e: number; pml5e: number };
  /** Lookups per paging-structure cache, by level of the cached entry (2 = PDE ... 5 = PML5E). */
  pscLookups: number[];
  /** Entry reads per level (1 = PTE ... 5 = PML5E). */
  refsByLevel: number[];
  /** Entry reads served by each cache level, memory last. */
  refsServed: number[];
  /** Data lines served by each cache level, memory last. */
  dataServed: number[];
  contextSwitches: number;
  /** PCID-tagged flushes forced by a full ASID cache. */
  asidFlushes: number;
  cycles: { total: number; tlbHit: number; stlb: number; walk: number; dirty: number; data: number };
  /** Nested configurations: the 2D walks' guest and host entry reads (memRefs counts both), host walks, hits of the host-side caches. */
  nested?: { guestRefs: number; hostRefs: number; hostWalks: number; gpaTlbHits: number; hostPscHits: number };
}

/** Key of a PSC level (2 = PDE ... 5 = PML5E) in the hit counters. */
export const PSC_NAME: Record<number, 'pde' | 'pdpte' | 'pml4e' | 'pml5e'> = { 2: 'pde', 3: 'pdpte', 4: 'pml4e', 5: 'pml5e' };
const CLASS: PageClass[] = ['4k', '2m', '1g'];

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** One TLB level: for each page class, the array holding it (or null). */
class TlbLevel {
  readonly arrays: SetAssoc[];
  readonly byClass: Array<SetAssoc | null>;
  /** Dirty flag per slot, per array. */
  readonly dirty: Uint8Array[];
  /** A 1 GiB translation with no 1g array is smashed into a 2 MiB entry (AMD). */
  readonly smash1g: boolean;

  constructor(spec: TlbArray[], policy: Policy) {
    this.arrays = spec.map((a) => new SetAssoc(a.sets, a.ways, policy));
    this.dirty = spec.map((a) => new Uint8Array(a.sets * a.ways));
    this.byClass = CLASS.map((c) => {
      const i = spec.findIndex((a) => a.sizes.includes(c));
      return i < 0 ? null : this.arrays[i];
    });
    this.smash1g = this.byClass[2] === null && this.byClass[1] !== null;
  }

  dirtyOf(a: SetAssoc): Uint8Array {
    return this.dirty[this.arrays.indexOf(a)];
  }

  flush(tag: number | null): void {
    for (const a of this.arrays) a.flush(tag);
  }
}

/** The data-cache hierarchy; returns the level that served an access (caches.length = memory). */
class Caches {
  readonly levels: SetAssoc[];
  constructor(spec: DataCache[], policy: Policy) {
    this.levels = spec.map((c) => {
      const lines = Math.max(1, Math.floor(c.bytes / 64));
      const ways = Math.min(c.ways, lines);
      return new SetAssoc(Math.max(1, Math.floor(lines / ways)), ways, policy);
    });
  }

  /**
   * Line `line` (< 2^53) of kind `kind` (address space × (paging level 1..5, or 7 for data)):
   * its physical home is a fixed hash — the set index from h, the identity from a second hash.
   */
  line(line: number, kind: number): number {
    const h = mix32((line >>> 0) ^ mix32(Math.floor(line / 0x1_0000_0000) ^ Math.imul(kind + 1, 0x9e3779b9)));
    return this.access(h, mix32(h ^ 0x5bd1e995) * 2 ** 21 + (h >>> 11));
  }

  /** Looks up a line (h = set-index bits, key = identity); fills every level it missed. */
  access(h: number, key: number): number {
    const n = this.levels.length;
    let found = n;
    for (let i = 0; i < n; i++) {
      const c = this.levels[i];
      if (c.lookup(c.setOf(h), key, 0) >= 0) {
        found = i;
        break;
      }
    }
    for (let i = 0; i < found; i++) {
      const c = this.levels[i];
      c.insert(c.setOf(h), key, 0);
    }
    return found;
  }
}

/** Runs the streams (one per address space) through the modelled machine. */
export function simulate(m: SimMachine, p: SimPaging, streams: SimStream[], sch: SimSchedule): SimStats {
  const l1 = new TlbLevel(m.tlbOn ? m.l1 : [], m.tlbPolicy);
  const l2 = new TlbLevel(m.tlbOn ? m.l2 : [], m.tlbPolicy);
  const psc: Array<SetAssoc | null> = [null, null, null, null, null, null];
  if (m.psc)
    for (const l of p.pscLevels) {
      const g = m.psc[PSC_NAME[l]];
      if (g.ways > 0 && g.sets > 0) psc[l] = new SetAssoc(g.sets, g.ways, m.pscPolicy);
    }
  const caches = new Caches(m.caches, m.cachePolicy);
  // nested paging: the host dimension's caches (guest-physical keys, one VM: tag 0)
  const nst = m.nested;
  const hostPsc: Array<SetAssoc | null> = [null, null, null, null, null, null];
  let gpaTlb: SetAssoc | null = null;
  if (nst) {
    if (nst.hostPsc)
      for (let l = nst.hostLeaf + 1; l <= nst.levels; l++) {
        const g = nst.hostPsc[PSC_NAME[l]];
        if (g.ways > 0 && g.sets > 0) hostPsc[l] = new SetAssoc(g.sets, g.ways, m.pscPolicy);
      }
    if (nst.gpaTlb) gpaTlb = new SetAssoc(nst.gpaTlb.sets, nst.gpaTlb.ways, m.tlbPolicy);
  }
  const hostDiv = [0, 1, 512, 512 ** 2, 512 ** 3, 512 ** 4];
  const nCache = m.caches.length;
  const cacheCycles = [...m.caches.map((c) => c.cycles), m.memory];
  const overlap = sch.dependent ? 1 : Math.max(1, m.walkers);
  const perLine = 64 / p.entryBytes;
  const levelDiv = [0, 1, 2 ** p.bitsPerLevel, 2 ** (2 * p.bitsPerLevel), 2 ** (3 * p.bitsPerLevel), 2 ** (4 * p.bitsPerLevel)];
  const classDiv = [0, 1, p.largePages, 2 ** 18];
  const spaces = streams.length;
  const dirtyPages = streams.map(() => new Set<number>());
  const cursor = new Array<number>(spaces).fill(0);

  const st: SimStats = {
    accesses: 0,
    l1Hits: 0,
    stlbHits: 0,
    walks: 0,
    dirtyWalks: 0,
    dirtyUpdates: 0,
    memRefs: 0,
    pscHits: 0,
    pscHitsByLevel: { pde: 0, pdpte: 0, pml4e: 0, pml5e: 0 },
    pscLookups: [0, 0, 0, 0, 0, 0],
    refsByLevel: [0, 0, 0, 0, 0, 0],
    refsServed: new Array(nCache + 1).fill(0),
    dataServed: new Array(nCache + 1).fill(0),
    contextSwitches: 0,
    asidFlushes: 0,
    cycles: { total: 0, tlbHit: 0, stlb: 0, walk: 0, dirty: 0, data: 0 },
    ...(nst ? { nested: { guestRefs: 0, hostRefs: 0, hostWalks: 0, gpaTlbHits: 0, hostPscHits: 0 } } : {}),
  };

  // ASIDs: slot owner per dynamic ASID (Linux choose_new_asid); tag = slot + 1 with PCIDs, 0 without.
  const owner: number[] = [];
  let nextAsid = 0;
  let tag = sch.pcid ? 1 : 0;
  if (sch.pcid) {
    owner[0] = 0;
    nextAsid = 1;
  }
  /** Drops the TLB and PSC entries of ASID tag `t` (every entry when null). */
  const flushAsid = (t: number | null): void => {
    l1.flush(t);
    l2.flush(t);
    for (const c of psc) c?.flush(t);
  };
  const switchTo = (s: number): void => {
    if (!sch.pcid) return flushAsid(null);
    const have = owner.indexOf(s);
    if (have >= 0 && have < sch.asids) {
      tag = have + 1;
      return;
    }
    let slot = nextAsid++;
    if (slot >= sch.asids) {
      slot = 0;
      nextAsid = 1;
    }
    owner[slot] = s;
    tag = slot + 1;
    // A new ASID is loaded without the no-flush bit: its stale entries go (SDM §4.10.4.1).
    flushAsid(tag);
    if (countOn) st.asidFlushes++;
  };

  let countOn = false;
  let flushRng = (sch.seed ^ 0x5eed) >>> 0;
  const total = sch.warmup + sch.accesses;
  let space = 0;
  for (let i = 0; i < total; i++) {
    if (i === sch.warmup) countOn = true;
    if (i > 0 && sch.switchEvery && spaces > 1 && i % sch.switchEvery === 0) {
      space = (space + 1) % spaces;
      switchTo(space);
      if (countOn) st.contextSwitches++;
    }
    const s = streams[space];
    const j = cursor[space]++ % s.vpn.length;
    if (i > 0 && sch.flush.every && i % sch.flush.every === 0) {
      if (sch.flush.kind === 'full') flushAsid(tag);
      else if (sch.flush.kind === 'invlpg') {
        flushRng = mix32(flushRng + 0x9e3779b9);
        const k = flushRng % Math.max(1, Math.min(cursor[space], s.vpn.length));
        invlpg(s.vpn[k], nst && nst.hostLeaf < s.leaf[k] ? nst.hostLeaf : s.leaf[k]);
      }
    }
    const vpn = s.vpn[j];
    const leaf = s.leaf[j];
    const write = s.write[j] === 1;
    // the TLBs hold combined translations under nested paging: the smaller of the guest and host page
    const tl = nst && nst.hostLeaf < leaf ? nst.hostLeaf : leaf;
    const c = tl - 1;
    const page = Math.floor(vpn / classDiv[tl]);
    const pageId = page * 4 + c;
    let cyc = m.tlbHit;
    let cStlb = 0;
    let cWalk = 0;
    let cDirty = 0;
    let hit = 0; // 1 = L1, 2 = STLB
    let clean = false; // a write found its translation with the dirty flag clear: it must walk
    const a1 = l1.byClass[c];
    if (a1) {
      const slot = a1.lookup(a1.setOf(page), pageId, tag);
      if (slot >= 0) {
        if (!write || l1.dirtyOf(a1)[slot]) hit = 1;
        else clean = true;
      }
    }
    // A 1 GiB page smashed into the STLB as the 2 MiB piece being accessed.
    const smashed = tl === 3 && l2.smash1g;
    const l2page = smashed ? Math.floor(vpn / p.largePages) : page;
    const l2id = smashed ? l2page * 4 + 1 : pageId;
    const a2 = smashed ? l2.byClass[1] : l2.byClass[c];
    if (!hit && !clean && l2.arrays.length) {
      if (l1.arrays.length) cStlb = m.l2Latency;
      if (a2) {
        const slot = a2.lookup(a2.setOf(l2page), l2id, tag);
        if (slot >= 0) {
          if (!write || l2.dirtyOf(a2)[slot]) {
            hit = 2;
            if (a1) fill(l1, a1, page, pageId, l2.dirtyOf(a2)[slot]);
          } else clean = true;
        }
      }
    }
    if (!hit) {
      // The walk: PSC lookups from the PDE cache up (SDM §4.10.3.2), then entry reads from the start level down.
      let start = p.topMemLevel;
      let hitLevel = 0;
      for (let l = leaf + 1; l <= p.topMemLevel; l++) {
        const cache = psc[l];
        if (!cache) continue;
        const prefix = Math.floor(vpn / levelDiv[l]);
        if (countOn) st.pscLookups[l]++;
        if (cache.lookup(cache.setOf(prefix), prefix, tag) >= 0) {
          hitLevel = l;
          start = l - 1;
          break;
        }
      }
      for (let l = start; l >= leaf; l--) {
        if (nst) cWalk += hostTranslate(tableGpa(space, l, Math.floor(vpn / (levelDiv[l] * 2 ** p.bitsPerLevel))));
        const served = caches.line(Math.floor(vpn / (levelDiv[l] * perLine)), space * 8 + l);
        cWalk += cacheCycles[served];
        if (countOn) {
          st.refsServed[served]++;
          st.refsByLevel[l]++;
        }
      }
      for (let l = start; l > leaf; l--) {
        const cache = psc[l];
        if (!cache) continue;
        const prefix = Math.floor(vpn / levelDiv[l]);
        cache.insert(cache.setOf(prefix), prefix, tag);
      }
      if (hitLevel) cWalk += m.pscHit;
      if (nst) {
        // the final guest-physical address: the guest page at a hashed guest-physical frame, contiguous inside it
        const span = classDiv[leaf];
        const frames = Math.max(1, Math.floor(nst.guestPages / span));
        const h = hash2(space * 8 + 7, Math.floor(vpn / span));
        cWalk += hostTranslate((h % frames) * span + (vpn % span));
        if (countOn) st.nested!.guestRefs += start - leaf + 1;
      }
      const key = pageId;
      let dirty = dirtyPages[space].has(key);
      if (write && !dirty) {
        dirtyPages[space].add(key);
        dirty = true;
        cDirty = m.dirtyUpdate;
        if (countOn) st.dirtyUpdates++;
      }
      if (a2) fill(l2, a2, l2page, l2id, dirty ? 1 : 0);
      if (a1) fill(l1, a1, page, pageId, dirty ? 1 : 0);
      if (countOn) {
        st.walks++;
        if (clean) st.dirtyWalks++;
        st.memRefs += start - leaf + 1; // host references are added by hostTranslate
        if (hitLevel) {
          st.pscHits++;
          st.pscHitsByLevel[PSC_NAME[hitLevel]]++;
        }
      }
    }
    // The data line: same caches, another physical home.
    const dserved = caches.line(vpn * 64 + s.lineInPage[j], space * 8 + 7);
    if (countOn) {
      st.accesses++;
      if (hit === 1) st.l1Hits++;
      else if (hit === 2) st.stlbHits++;
      st.dataServed[dserved]++;
      st.cycles.tlbHit += cyc;
      st.cycles.stlb += cStlb;
      st.cycles.walk += cWalk / overlap;
      st.cycles.dirty += cDirty;
      st.cycles.data += cacheCycles[dserved];
    }
    cyc = 0;
  }
  const n = Math.max(1, st.accesses);
  const cy = st.cycles;
  cy.total = (cy.tlbHit + cy.stlb + cy.walk + cy.dirty) / n;
  cy.tlbHit /= n;
  cy.stlb /= n;
  cy.walk /= n;
  cy.dirty /= n;
  cy.data /= n;
  return st;

  /** A hashed guest-physical page below guest RAM for the table of level l holding `prefix`. */
  function tableGpa(space: number, l: number, prefix: number): number {
    return hash2(space * 8 + l, prefix) % nst!.guestPages;
  }

  function hash2(kind: number, x: number): number {
    const a = mix32((x >>> 0) ^ mix32(Math.floor(x / 0x1_0000_0000) ^ Math.imul(kind + 1, 0x2545f491)));
    return mix32(a ^ 0x27d4eb2f) * 2 ** 21 + (a >>> 11);
  }

  /**
   * The host's translation of guest-physical page `gpa` (a 4 KiB page number): the guest-physical
   * TLB, else a host walk from the host PSCs down, every host entry read through the data caches.
   * Returns its cycles; counts its references.
   */
  function hostTranslate(gpa: number): number {
    const n = nst!;
    const hp = Math.floor(gpa / hostDiv[n.hostLeaf]);
    if (gpaTlb) {
      if (gpaTlb.lookup(gpaTlb.setOf(hp), hp, 0) >= 0) {
        if (countOn) st.nested!.gpaTlbHits++;
        return 0;
      }
    }
    let start = n.levels;
    let hitLevel = 0;
    for (let l = n.hostLeaf + 1; l <= n.levels; l++) {
      const cache = hostPsc[l];
      if (!cache) continue;
      const prefix = Math.floor(gpa / hostDiv[l]);
      if (cache.lookup(cache.setOf(prefix), prefix, 0) >= 0) {
        hitLevel = l;
        start = l - 1;
        break;
      }
    }
    let cyc = hitLevel ? m.pscHit : 0;
    for (let l = start; l >= n.hostLeaf; l--) {
      const served = caches.line(Math.floor(gpa / (hostDiv[l] * 8)), 6 + 8 * (64 + l));
      cyc += cacheCycles[served];
      if (countOn) {
        st.refsServed[served]++;
        st.memRefs++;
        st.nested!.hostRefs++;
      }
    }
    for (let l = start; l > n.hostLeaf; l--) {
      const cache = hostPsc[l];
      if (cache) cache.insert(cache.setOf(Math.floor(gpa / hostDiv[l])), Math.floor(gpa / hostDiv[l]), 0);
    }
    if (gpaTlb) gpaTlb.insert(gpaTlb.setOf(hp), hp, 0);
    if (countOn) {
      st.nested!.hostWalks++;
      if (hitLevel) st.nested!.hostPscHits++;
    }
    return cyc;
  }

  function fill(level: TlbLevel, a: SetAssoc, page: number, id: number, dirty: number): void {
    a.insert(a.setOf(page), id, tag);
    level.dirtyOf(a)[a.last] = dirty;
  }

  function invlpg(vpn: number, leaf: number): void {
    const c = leaf - 1;
    const page = Math.floor(vpn / classDiv[leaf]);
    for (const level of [l1, l2]) {
      const a = level.byClass[c];
      if (a) a.invalidate(a.setOf(page), page * 4 + c, tag);
      if (leaf === 3 && level.smash1g) {
        const b = level.byClass[1]!;
        const p2 = Math.floor(vpn / p.largePages);
        b.invalidate(b.setOf(p2), p2 * 4 + 1, tag);
      }
    }
    // INVLPG drops every PSC entry of the PCID (SDM §4.10.4.1), as the core does.
    for (const cache of psc) cache?.flush(tag);
  }
}
