/**
 * The Linux model's composition root for paravirt backends: every pv_ops backend a preset can
 * name with the `paravirt` knob is registered here, once (kernel.ts imports this module, so a
 * kernel can be booted whatever else was imported). Knobs and presets are plain data in
 * src/presets.
 */
import { hypervPvOps } from './hyperv.js';
import { nativePvOps } from './native.js';
import { registerPvBackend } from './paravirt.js';
import { xenPvOps } from './xen/mmu.js';

registerPvBackend('native', () => nativePvOps());
registerPvBackend('xen-pv', xenPvOps);
registerPvBackend('hyperv-flush', () => hypervPvOps());
