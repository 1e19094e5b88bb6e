import type { CoreExports } from './wasm.js';
import { PagewalkError } from './errors.js';
import { FRAME_STATE } from './types.js';
import { boolOpt, intArg, objArg, show } from './validate.js';

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
  /**
   * Called with the frame number before each free (a sanitizer's hook: it may judge the free and
   * throw, which leaves the frame allocated); null when nothing watches.
   */
  onFree: ((pfn: number) => void) | null = null;

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
    objArg('frames.alloc', 'opts', opts);
    const level = opts.level === undefined ? 0 : intArg('frames.alloc', 'opts.level', opts.level, 0, 5);
    const owner = opts.owner === undefined ? 0 : intArg('frames.alloc', 'opts.owner', opts.owner, 0, 0xffff);
    boolOpt('frames.alloc', 'opts.zero', opts.zero);
    const pfn = this.core.frameAlloc(level, owner, opts.zero === false ? 0 : 1);
    if (pfn < 0) throw new PagewalkError('ENOMEM_FRAMES', `out of guest frames (${this.count} frames of RAM, none free)`);
    return pfn;
  }

  /** Frees an allocated or reserved frame; a double free throws EFRAME_STATE. */
  free(pfn: number): void {
    this.check(pfn, 'frames.free');
    if (this.onFree) this.onFree(pfn);
    if (this.core.frameFree(pfn) < 0) throw new PagewalkError('EFRAME_STATE', `frame ${pfn} (pa 0x${(pfn * 4096).toString(16)}) freed twice`);
  }

  /** Takes a specific free frame out of the allocator (for images that place tables themselves). */
  reserve(pfn: number): void {
    this.check(pfn, 'frames.reserve');
    if (this.core.frameReserve(pfn) < 0) throw new PagewalkError('EFRAME_STATE', `frame ${pfn} is not free, cannot reserve it`);
  }

  state(pfn: number): number {
    return this.stateV[this.pfn(pfn, 'frames.state')];
  }
  isFree(pfn: number): boolean {
    return this.stateV[this.pfn(pfn, 'frames.isFree')] === FRAME_STATE.FREE;
  }
  generation(pfn: number): number {
    return this.genV[this.pfn(pfn, 'frames.generation')];
  }
  level(pfn: number): number {
    return this.levelV[this.pfn(pfn, 'frames.level')];
  }
  setLevel(pfn: number, level: number): void {
    this.levelV[this.pfn(pfn, 'frames.setLevel')] = intArg('frames.setLevel', 'level', level, 0, 5);
  }
  owner(pfn: number): number {
    return this.ownerV[this.pfn(pfn, 'frames.owner')];
  }
  setOwner(pfn: number, owner: number): void {
    this.ownerV[this.pfn(pfn, 'frames.setOwner')] = intArg('frames.setOwner', 'owner', owner, 0, 0xffff);
  }
  refCount(pfn: number): number {
    return this.refV[this.pfn(pfn, 'frames.refCount')];
  }
  setRefCount(pfn: number, n: number): void {
    this.refV[this.pfn(pfn, 'frames.setRefCount')] = intArg('frames.setRefCount', 'n', n, 0, 0xffff_ffff);
  }
  typeCount(pfn: number): number {
    return this.typeV[this.pfn(pfn, 'frames.typeCount')];
  }
  setTypeCount(pfn: number, n: number): void {
    this.typeV[this.pfn(pfn, 'frames.setTypeCount')] = intArg('frames.setTypeCount', 'n', n, 0, 0xffff_ffff);
  }
  get freeCount(): number {
    return this.core.framesFree();
  }

  /** `pfn` when it is a frame of RAM (one comparison on the hot path), else EINVAL_ARG. */
  private pfn(pfn: number, where: string): number {
    if (pfn >>> 0 !== pfn || pfn >= this.count) this.check(pfn, where);
    return pfn;
  }

  private check(pfn: number, where: string): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.count)
      throw new PagewalkError('EINVAL_ARG', `${where}: frame number ${show(pfn)} is outside RAM (0..${this.count - 1})`);
  }
}
