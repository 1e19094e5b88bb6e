import type { CoreExports } from './wasm.js';
import { PagewalkError } from './errors.js';
import { FRAME_STATE } from './types.js';

/**
 * Metadata of every 4 KiB guest frame, kept in WASM linear memory, and the frame allocator.
 * Freed frames are reused last-in first-out; every free bumps the frame's generation, which
 * sanitizers use to notice a walker holding a freed or reused page-table frame.
 */
export class FrameTable {
  readonly count: number;
  private readonly stateV: Uint8Array;
  private readonly levelV: Uint8Array;
  private readonly ownerV: Uint16Array;
  private readonly genV: Uint32Array;
  private readonly refV: Uint32Array;
  private readonly typeV: Uint32Array;

  /** @internal */
  constructor(private readonly core: CoreExports) {
    const buf = core.memory.buffer;
    this.count = core.framesCount();
    // The table lives above guest RAM: with RAM over 2 GiB its addresses exceed i32 (>>> 0).
    this.stateV = new Uint8Array(buf, core.ftStateAddr() >>> 0, this.count);
    this.levelV = new Uint8Array(buf, core.ftLevelAddr() >>> 0, this.count);
    this.ownerV = new Uint16Array(buf, core.ftOwnerAddr() >>> 0, this.count);
    this.genV = new Uint32Array(buf, core.ftGenAddr() >>> 0, this.count);
    this.refV = new Uint32Array(buf, core.ftRefAddr() >>> 0, this.count);
    this.typeV = new Uint32Array(buf, core.ftTypeAddr() >>> 0, this.count);
  }

  /** Allocates a frame (zeroed unless `zero: false`); throws ENOMEM_FRAMES when none is free. */
  alloc(opts: { level?: number; owner?: number; zero?: boolean } = {}): number {
    const pfn = this.core.frameAlloc(opts.level ?? 0, opts.owner ?? 0, opts.zero === false ? 0 : 1);
    if (pfn < 0) throw new PagewalkError('ENOMEM_FRAMES', `out of guest frames (${this.count} frames of RAM, none free)`);
    return pfn;
  }

  /** Frees an allocated or reserved frame; a double free throws EFRAME_STATE. */
  free(pfn: number): void {
    this.check(pfn);
    if (this.core.frameFree(pfn) < 0) throw new PagewalkError('EFRAME_STATE', `frame ${pfn} (pa 0x${(pfn * 4096).toString(16)}) freed twice`);
  }

  /** Takes a specific free frame out of the allocator (for images that place tables themselves). */
  reserve(pfn: number): void {
    this.check(pfn);
    if (this.core.frameReserve(pfn) < 0) throw new PagewalkError('EFRAME_STATE', `frame ${pfn} is not free, cannot reserve it`);
  }

  state(pfn: number): number { return this.stateV[pfn]; }
  isFree(pfn: number): boolean { return this.stateV[pfn] === FRAME_STATE.FREE; }
  generation(pfn: number): number { return this.genV[pfn]; }
  level(pfn: number): number { return this.levelV[pfn]; }
  setLevel(pfn: number, level: number): void { this.levelV[pfn] = level; }
  owner(pfn: number): number { return this.ownerV[pfn]; }
  setOwner(pfn: number, owner: number): void { this.ownerV[pfn] = owner; }
  refCount(pfn: number): number { return this.refV[pfn]; }
  setRefCount(pfn: number, n: number): void { this.refV[pfn] = n; }
  typeCount(pfn: number): number { return this.typeV[pfn]; }
  setTypeCount(pfn: number, n: number): void { this.typeV[pfn] = n; }
  get freeCount(): number { return this.core.framesFree(); }

  private check(pfn: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.count) throw new PagewalkError('EINVAL_ARG', `frame number ${pfn} is outside RAM (0..${this.count - 1})`);
  }
}
