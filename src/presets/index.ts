/** Knob and preset registries, with the Linux model's knobs and presets registered. */
import './linux.js';
export * from './knobs.js';
export * from './registry.js';
