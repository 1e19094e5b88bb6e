/** Knob and preset registries with every knob and preset registered (plain data: no model code is imported). */
import './linux.js';
export * from './knobs.js';
export * from './registry.js';
import './xen.js';
