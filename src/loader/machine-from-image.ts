/**
 * Creates a machine sized and configured as an image asks (RAM, vendor, MAXPHYADDR, 1 GiB pages,
 * PSE-36) and loads the image into it.
 */
import { Machine } from '../core/machine.js';
import { loadImage } from './image.js';
import type { PagewalkImage } from './image-types.js';

export interface MachineFromImageOptions {
  /** Number of CPUs, each getting the image's control registers. Default 1. */
  cpus?: number;
}

/** A new machine holding `image`; control registers set on every CPU. */
export async function machineFromImage(image: PagewalkImage, opts: MachineFromImageOptions = {}): Promise<Machine> {
  const m = await Machine.create({
    ramBytes: image.ramBytes,
    cpus: opts.cpus ?? 1,
    vendor: image.vendor,
    maxPhysAddrBits: image.maxPhysAddrBits,
    pdpe1gb: image.pdpe1gb,
    pse36: image.pse36,
  });
  loadImage(m, image);
  return m;
}
