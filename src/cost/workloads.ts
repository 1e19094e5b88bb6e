/**
 * Workload generators: address streams over a footprint starting at `base`. All randomness
 * comes from a Prng seeded by (config seed, cell index): the same config gives the same streams.
 */
import type { WorkloadSpec } from './config.js';
import { readAddressFile } from './addrfile.js';
import { Prng } from '../util/prng.js';
import { fillVpn, makeWriter, newStream, type Stream } from './stream.js';
import { makeScramble, ZipfSampler } from './zipf.js';

/** A short label for tables and charts, e.g. "uniform", "strided 4096B", "zipf s=0.99". */
export function workloadLabel(w: WorkloadSpec): string {
  const base = kindLabel(w);
  return w.writes > 0 ? `${base}, ${Math.round(100 * w.writes)}% writes` : base;
}

function kindLabel(w: WorkloadSpec): string {
  switch (w.kind) {
    case 'sequential':
      return `sequential ${w.accessBytes}B`;
    case 'strided':
      return `strided ${w.stride}B`;
    case 'uniform':
      return 'uniform random';
    case 'zipf':
      return `zipf s=${w.exponent}`;
    case 'pointer-chase':
      return `pointer chase ${w.nodeBytes}B`;
    case 'file':
      return `file ${w.path}`;
  }
}

/** True when the workload ignores the footprint sweep (user address files). */
export function hasOwnAddresses(w: WorkloadSpec): boolean {
  return w.kind === 'file';
}

/**
 * Generates `count` addresses of workload `w` over [base, base + footprint), and marks a share
 * `w.writes` of them as writes (drawn from a Prng of its own, so reads-only streams are unchanged).
 */
export function generateStream(w: WorkloadSpec, footprint: number, base: bigint, count: number, rng: Prng, field: string): Stream {
  const s = addresses(w, footprint, base, count, rng, field);
  if (w.writes > 0) {
    const wr = new Prng(rng.nextU32() ^ 0x77726974);
    for (let i = 0; i < count; i++) s.write[i] = wr.nextU32() / 0x1_0000_0000 < w.writes ? 1 : 0;
  }
  return s;
}

function addresses(w: WorkloadSpec, footprint: number, base: bigint, count: number, rng: Prng, field: string): Stream {
  const s = newStream(count);
  if (w.kind === 'file') {
    const file = readAddressFile(w.path, w.format, field);
    for (let i = 0; i < count; i++) s.va[i] = file[i % file.length];
    fillVpn(s);
    return s;
  }
  const put = makeWriter(s, base);
  switch (w.kind) {
    case 'sequential':
      return linear(s, put, w.accessBytes, footprint, count);
    case 'strided':
      return linear(s, put, w.stride, footprint, count);
    case 'uniform': {
      const slots = Math.floor(footprint / w.align);
      for (let i = 0; i < count; i++) put(i, rng.below(slots) * w.align);
      return s;
    }
    case 'zipf':
      return zipf(s, put, w.exponent, footprint, count, rng);
    case 'pointer-chase':
      return pointerChase(s, put, w.nodeBytes, footprint, count, rng);
  }
}

/** Sequential and strided: off = i × step mod footprint, starting at the base. */
function linear(s: Stream, put: (i: number, off: number) => void, step: number, footprint: number, count: number): Stream {
  let off = 0;
  for (let i = 0; i < count; i++) {
    put(i, off);
    off += step;
    if (off >= footprint) off %= footprint;
  }
  return s;
}

/**
 * Zipf over the footprint's 4 KiB pages (rank 1 most popular), ranks scattered over the
 * footprint by a seeded bijection, a uniform 8-byte-aligned offset within the page.
 */
function zipf(s: Stream, put: (i: number, off: number) => void, exponent: number, footprint: number, count: number, rng: Prng): Stream {
  const pages = Math.max(1, Math.floor(footprint / 4096));
  const sampler = new ZipfSampler(pages, exponent);
  const scramble = makeScramble(pages, rng);
  for (let i = 0; i < count; i++) put(i, scramble(sampler.sample(rng) - 1) * 4096 + rng.below(512) * 8);
  return s;
}

/**
 * Pointer chase: nodes of `nodeBytes` linked in one random cycle (Sattolo's algorithm), the
 * stream following the links from node 0. When the footprint holds more nodes than the stream
 * has accesses, `count` node positions are drawn uniformly from the footprint instead, so the
 * cycle still spans the whole footprint.
 */
function pointerChase(s: Stream, put: (i: number, off: number) => void, nodeBytes: number, footprint: number, count: number, rng: Prng): Stream {
  const slots = Math.max(1, Math.floor(footprint / nodeBytes));
  const n = Math.min(slots, count);
  const pos = new Float64Array(n);
  for (let k = 0; k < n; k++) pos[k] = n === slots ? k : rng.below(slots);
  const next = new Int32Array(n);
  for (let k = 0; k < n; k++) next[k] = k;
  for (let k = n - 1; k > 0; k--) {
    const j = rng.below(k); // Sattolo: j < k gives a single cycle
    const t = next[k];
    next[k] = next[j];
    next[j] = t;
  }
  let cur = 0;
  for (let i = 0; i < count; i++) {
    put(i, pos[cur] * nodeBytes);
    cur = next[cur];
  }
  return s;
}
