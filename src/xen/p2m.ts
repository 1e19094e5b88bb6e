/**
 * The guest's physical-to-machine map (p2m) and Xen's machine-to-physical table (m2p,
 * `get_gpfn_from_mfn`). A PV guest's page tables hold machine frame numbers; Linux converts
 * with pfn_to_mfn()/mfn_to_pfn() (arch/x86/include/asm/xen/page.h) and Xen prints both in its
 * log (`for mfn %lx (pfn %lx)`).
 *
 * In this model the machine's frame numbers (the core's FrameTable index, which is the
 * physical RAM offset >> 12) are machine frames, and the Linux model writes them into its page
 * tables as a PV guest writes mfns. `identity` makes pfn == mfn; `shuffled` gives every machine
 * frame a distinct guest pfn from a seeded permutation, which Xen prints in its log lines
 * (`for mfn %lx (pfn %lx)`). Deterministic: a seeded xorshift PRNG.
 */

export type P2mKind = { kind: 'identity' } | { kind: 'shuffled'; seed: number };

/** Sentinel returned for frames with no guest pfn (`INVALID_M2P_ENTRY`, ~0UL). */
export const INVALID_M2P_ENTRY = -1;

export class P2m {
  private readonly p2m: Int32Array;
  private readonly m2p: Int32Array;

  /** Builds the map for `frames` machine frames. */
  constructor(
    readonly frames: number,
    readonly kind: P2mKind = { kind: 'identity' },
  ) {
    this.p2m = new Int32Array(frames);
    this.m2p = new Int32Array(frames);
    for (let i = 0; i < frames; i++) this.p2m[i] = i;
    if (kind.kind === 'shuffled') shuffle(this.p2m, kind.seed);
    for (let pfn = 0; pfn < frames; pfn++) this.m2p[this.p2m[pfn]] = pfn;
  }

  /** `pfn_to_mfn(pfn)`. Throws RangeError outside the guest's pfn space. */
  pfnToMfn(pfn: number): number {
    if (pfn < 0 || pfn >= this.frames) throw new RangeError(`pfn ${pfn.toString(16)} outside the p2m (${this.frames} frames)`);
    return this.p2m[pfn];
  }

  /**
   * `set_gpfn_from_mfn(mfn, gpfn)` (MMU_MACHPHYS_UPDATE): the m2p entry only; the guest keeps
   * its own p2m. Stored as a 32-bit value (~0UL, INVALID_M2P_ENTRY, reads back as -1).
   */
  setGpfnFromMfn(mfn: number, gpfn: bigint): void {
    this.m2p[mfn] = Number(BigInt.asIntN(32, gpfn));
  }

  /** A copy of the m2p table (for saved states). */
  saveM2p(): Int32Array {
    return this.m2p.slice();
  }

  restoreM2p(m2p: Int32Array): void {
    this.m2p.set(m2p);
  }

  /** `get_gpfn_from_mfn(mfn)` / Linux's `mfn_to_pfn(mfn)`. */
  mfnToPfn(mfn: number): number {
    if (mfn < 0 || mfn >= this.frames) return INVALID_M2P_ENTRY;
    return this.m2p[mfn];
  }
}

/** Fisher-Yates with xorshift32 seeded by `seed` (never Math.random). */
function shuffle(a: Int32Array, seed: number): void {
  let s = seed >>> 0 || 0x9e3779b9;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  for (let i = a.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
