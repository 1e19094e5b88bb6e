/**
 * The walk implementations the benchmark times, all over the same guest memory and address sets.
 * Each writes its results in the translateBatch format (pa, fault word) so that they can be
 * hashed and compared exactly (bench/hash.ts).
 */
import type { AccessKind, AccessOptions, AccessResult } from '../src/index.js';
import type { Cpu } from '../src/index.js';
import { referenceAccess, type RefConfig } from '../src/reference/index.js';
import { newResults, type Results } from './hash.js';
import { NATIVE_CFG, type NativeWalker } from './native.js';
import type { AddressSet, Workload } from './workload.js';

/** One timed implementation on one address set. */
export interface Impl {
  /** Implementation name, e.g. 'wasm-batched'. */
  name: string;
  set: AddressSet;
  out: Results;
  /** Translates the first `n` addresses of the set, `passes` times over. */
  run(n: number, passes: number): void;
  /** Called after a timed run: a message when the run broke an invariant (e.g. a TLB miss). */
  afterRun?(): string | null;
  /** Called before a timed run. */
  beforeRun?(): void;
}

const CPL = 3 as const;
const KINDS: AccessKind[] = ['read', 'write', 'exec'];

/** Views of the first n elements, cached so that a run allocates nothing per pass. */
function prefixViews(set: AddressSet, out: Results) {
  let cached = -1;
  let v = { vas: set.vas, kinds: set.kinds, out };
  return (n: number) => {
    if (n !== cached) {
      v = { vas: set.vas.subarray(0, n), kinds: set.kinds.subarray(0, n), out: { pa: out.pa.subarray(0, n), fault: out.fault.subarray(0, n) } };
      cached = n;
    }
    return v;
  };
}

/** (a) The WASM batched walk: one translateBatch call per batch; the CPU's TLB and PSC are off. */
export function wasmBatched(cpu: Cpu, set: AddressSet, name = 'wasm-batched'): Impl {
  const out = newResults(set.vas.length);
  const views = prefixViews(set, out);
  return {
    name,
    set,
    out,
    run(n, passes) {
      const v = views(n);
      for (let p = 0; p < passes; p++) cpu.translateBatch(v.vas, v.kinds, v.out, { cpl: CPL });
    },
  };
}

/**
 * The WASM batched walk without the wrapper's copies: addresses placed once per run in the shared
 * IO buffers (`m.io`), then `translateInPlace` (at most `m.batchMax` addresses). Shows what the
 * copying and kind validation in `translateBatch` cost.
 */
export function wasmInPlace(w: Workload, cpu: Cpu, set: AddressSet): Impl {
  const max = Math.min(set.vas.length, w.m.batchMax);
  const sub: AddressSet = { name: set.name, vas: set.vas.subarray(0, max), kinds: set.kinds.subarray(0, max) };
  const out = newResults(max);
  const io = w.m.io;
  return {
    name: 'wasm-in-place',
    set: sub,
    out,
    run(n, passes) {
      io.va.set(sub.vas.subarray(0, n));
      io.kind.set(sub.kinds.subarray(0, n));
      for (let p = 0; p < passes; p++) cpu.translateInPlace(n, { cpl: CPL });
      out.pa.set(io.pa.subarray(0, n));
      out.fault.set(io.fault.subarray(0, n));
    },
  };
}

/**
 * (b) The WASM TLB-hit path: the same batched call on a CPU whose TLB is on, over a hot set that
 * fits the TLB and was warmed by the calibration runs. A run that misses the TLB is reported.
 */
export function wasmTlbHit(cpu: Cpu, set: AddressSet): Impl {
  const impl = wasmBatched(cpu, set, 'wasm-tlb-hit');
  let before = cpu.stats;
  return {
    ...impl,
    beforeRun() {
      before = cpu.stats;
    },
    afterRun() {
      const s = cpu.stats;
      const misses = s.tlbMisses - before.tlbMisses;
      const walks = s.walks - before.walks;
      return misses || walks ? `wasm-tlb-hit: ${misses} TLB misses and ${walks} walks during a timed run (hot set does not fit the TLB)` : null;
    },
  };
}

/** Writes one access result in the translateBatch format: pa, and 0 or vector << 16 | error code. */
function storeResult(out: Results, i: number, r: AccessResult): void {
  if (r.ok) {
    out.pa[i] = r.pa;
    out.fault[i] = 0;
  } else {
    out.pa[i] = 0n;
    out.fault[i] = r.vector === 14 ? (14 << 16) | r.errorCode : r.vector << 16;
  }
}

/** (d) One `cpu.access` call per address (TLB and PSC off, like (a)). */
export function wasmPerCall(cpu: Cpu, set: AddressSet): Impl {
  const out = newResults(set.vas.length);
  const opts: AccessOptions[] = KINDS.map((kind) => ({ kind, cpl: CPL }));
  return {
    name: 'wasm-per-call',
    set,
    out,
    run(n, passes) {
      const { vas, kinds } = set;
      for (let p = 0; p < passes; p++) {
        for (let i = 0; i < n; i++) {
          storeResult(out, i, cpu.access(vas[i], opts[kinds[i]]));
        }
      }
    },
  };
}

/** (c) The plain-TypeScript BigInt reference walker (src/reference) reading `m.phys`. */
export function reference(w: Workload, set: AddressSet): Impl {
  const out = newResults(set.vas.length);
  const opts: AccessOptions[] = KINDS.map((kind) => ({ kind, cpl: CPL }));
  const cfg: RefConfig = { vendor: w.m.vendor, maxPhysAddrBits: w.m.maxPhysAddrBits, pse36: true, pdpe1gb: true, ramBytes: w.m.ramBytes };
  const regs = w.m.cpus[0].getControl();
  return {
    name: 'reference',
    set,
    out,
    run(n, passes) {
      const { vas, kinds } = set;
      for (let p = 0; p < passes; p++) {
        for (let i = 0; i < n; i++) {
          storeResult(out, i, referenceAccess(w.m.phys, regs, vas[i], opts[kinds[i]], cfg));
        }
      }
    },
  };
}

/** Packs the CPU state the native walker needs (NATIVE_CFG bits). */
export function nativeConfig(w: Workload): number {
  const c = w.m.cpus[0].getControl();
  let cfg = NATIVE_CFG.USER | NATIVE_CFG.PDPE1GB;
  if (c.cr4 & (1n << 12n)) cfg |= NATIVE_CFG.LA57;
  if (c.efer & (1n << 11n)) cfg |= NATIVE_CFG.NXE;
  if (c.cr0 & (1n << 16n)) cfg |= NATIVE_CFG.WP;
  if (c.cr4 & (1n << 20n)) cfg |= NATIVE_CFG.SMEP;
  if (c.cr4 & (1n << 21n)) cfg |= NATIVE_CFG.SMAP;
  if (w.m.vendor === 'amd') cfg |= NATIVE_CFG.AMD;
  return cfg;
}

/** (e) The native C walker (bench/native/walker.c) over the WASM instance's memory. */
export function native(w: Workload, walker: NativeWalker, set: AddressSet, name = 'native-c'): Impl {
  const out = newResults(set.vas.length);
  const views = prefixViews(set, out);
  const cr3 = w.m.cpus[0].getControl().cr3;
  const cfg = nativeConfig(w);
  const { m } = w;
  return {
    name,
    set,
    out,
    run(n, passes) {
      const v = views(n);
      // Re-read the buffer each run: it is replaced when the WASM memory grows.
      const { memory, ramOffset: ramBase } = m.linearMemory;
      const mem = memory.buffer as ArrayBuffer;
      for (let p = 0; p < passes; p++) {
        walker.walkBatch(mem, ramBase, m.ramBytes, cr3, m.maxPhysAddrBits, cfg, v.vas, v.kinds, v.out.pa, v.out.fault);
      }
    },
  };
}
