/**
 * pagewalk — an exact x86 MMU in WebAssembly, with a Linux/Xen memory-management model and a
 * race fuzzer. See README.md and docs/.
 */
export { Machine } from './core/machine.js';
export type { ResolvedOptions } from './core/machine.js';
export { Cpu } from './core/cpu.js';
export type { TlbEntryInfo, PscEntryInfo, PscFilter, WalkStepper, StepOutcome } from './core/cpu.js';
export { PhysMem } from './core/phys.js';
export { FrameTable } from './core/frames.js';
export { PageTables } from './core/pagetables.js';
export type { TableMode, MapOptions } from './core/pagetables.js';
export { PagewalkError } from './core/errors.js';
export { decodeNestedFault, eptpProblem } from './core/nested.js';
export type { NestedConfig, NestedExit, NestedAccessResult, NestedStats, NestedGridRow } from './core/nested.js';
export type { PagewalkErrorCode } from './core/errors.js';
export { entryFlags, errorCodeBits, addressFields } from './core/decode.js';
export * from './core/types.js';

// The models built on the core, as namespaces: `import { scenarios, presets } from 'pagewalk'`.
export * as reference from './reference/index.js';
export * as scheduler from './scheduler/index.js';
export * as linux from './linux/index.js';
export * as xen from './xen/index.js';
export * as presets from './presets/index.js';
export * as scenarios from './scenarios/index.js';
