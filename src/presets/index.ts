/** Knob and preset registries, with the Linux model's knobs and presets and the Xen PV ones (presets/xen.ts) registered. */
import './linux.js';
export * from './knobs.js';
export * from './registry.js';
import './xen.js';
