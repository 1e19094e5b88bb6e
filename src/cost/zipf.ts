/**
 * Zipf-distributed integers in [1, n] with exponent s > 0 by rejection-inversion
 * (W. Hörmann and G. Derflinger, "Rejection-inversion to generate variates from monotone
 * discrete distributions", ACM TOMACS 6(3), 1996), the method Apache Commons RNG uses in
 * RejectionInversionZipfSampler. O(1) time and memory per sample, so n may be millions of pages.
 */
import { Prng } from '../util/prng.js';

export class ZipfSampler {
  private readonly hX1: number;
  private readonly hN: number;
  private readonly sDiv: number;

  /** `n` elements (>= 1), exponent `s` (> 0). */
  constructor(
    private readonly n: number,
    private readonly s: number,
  ) {
    this.hX1 = this.hIntegral(1.5) - 1;
    this.hN = this.hIntegral(n + 0.5);
    this.sDiv = 2 - this.hIntegralInverse(this.hIntegral(2.5) - this.h(2));
  }

  /** One sample: rank k in [1, n], rank 1 the most frequent. */
  sample(rng: Prng): number {
    for (;;) {
      const u = this.hN + rng.nextFloat53() * (this.hX1 - this.hN);
      const x = this.hIntegralInverse(u);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > this.n) k = this.n;
      if (k - x <= this.sDiv || u >= this.hIntegral(k + 0.5) - this.h(k)) return k;
    }
  }

  private h(x: number): number {
    return Math.exp(-this.s * Math.log(x));
  }

  private hIntegral(x: number): number {
    const logX = Math.log(x);
    return helper2((1 - this.s) * logX) * logX;
  }

  private hIntegralInverse(x: number): number {
    let t = x * (1 - this.s);
    if (t < -1) t = -1;
    return Math.exp(helper1(t) * x);
  }
}

/** log1p(x)/x, accurate near 0. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** expm1(x)/x, accurate near 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + (x / 3) * (1 + 0.25 * x));
}

/**
 * A seeded bijection of [0, n) (n <= 2^32), so that Zipf ranks land on pages spread over the
 * footprint instead of the first few: an affine map and an xor-shift on the next power of two,
 * cycle-walked until the value falls below n.
 */
export function makeScramble(n: number, rng: Prng): (x: number) => number {
  let bits = 0;
  while (2 ** bits < n) bits++;
  const mask = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const a = (rng.nextU32() | 1) >>> 0;
  const b = rng.nextU32();
  const half = Math.max(1, bits >> 1);
  const step = (x: number): number => {
    const y = bits >= 32 ? (Math.imul(x, a) + b) >>> 0 : ((Math.imul(x, a) + b) >>> 0) & mask;
    return (y ^ (y >>> half)) >>> 0;
  };
  return (x: number): number => {
    let y = step(x);
    while (y >= n) y = step(y);
    return y;
  };
}
