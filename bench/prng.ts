/** Seeded pseudo-random numbers for the benchmark's address sets and frame shuffles. */

/** Seeded uniform floats for address sets (the project's PRNG: never Math.random). */
export { uniformSource as prng } from '../src/util/prng.js';

/** A seeded Fisher–Yates shuffle of 0..n-1. */
export function shuffledIndices(n: number, rand: () => number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
