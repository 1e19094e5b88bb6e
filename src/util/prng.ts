/**
 * Seeded pseudo-random numbers for everything that needs randomness: scheduler strategies, the
 * fuzzer, the cost tool's workloads, benchmark address sets and property tests. No wall clock and
 * no `Math.random` anywhere: the same seed always gives the same stream.
 *
 * xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018,
 * https://prng.di.unimi.it/xoshiro128starstar.c), seeded through SplitMix32 so that any 32-bit
 * seed (including 0) gives a well-mixed non-zero state.
 */
export class Prng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** @param seed any number; only its low 32 bits are used. */
  constructor(seed: number) {
    this.reseed(seed);
  }

  /** Re-initialises the state from `seed` (cheap; lets a fuzzer reuse one object). */
  reseed(seed: number): void {
    let x = seed >>> 0;
    const next = (): number => {
      // SplitMix32 (Vigna's 32-bit variant of SplitMix64's finaliser).
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /**
   * Uniform integer in [0, n) for n <= 2^53, by rejection sampling (no modulo bias). n <= 1 draws
   * nothing; n <= 2^32 draws 32-bit words, larger n 53-bit floats.
   */
  below(n: number): number {
    if (n <= 1) return 0;
    if (n <= 0x1_0000_0000) {
      const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
      for (;;) {
        const r = this.nextU32();
        if (r < limit) return r % n;
      }
    }
    const limit = Math.floor(9007199254740992 / n) * n;
    for (;;) {
      const x = this.nextFloat53() * 9007199254740992;
      if (x < limit) return x % n;
    }
  }

  /** Uniform float in [0, 1) from one 32-bit draw. */
  nextFloat(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** Uniform float in [0, 1) with 53 random bits (two draws). */
  nextFloat53(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A seeded source of uniform floats in [0, 1), for code written against `() => number`. */
export function uniformSource(seed: number): () => number {
  const rng = new Prng(seed);
  return () => rng.nextFloat();
}
