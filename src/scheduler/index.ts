/** Deterministic scheduler: strategies, the run loop, action codes. */
export * from './types.js';
export * from './prng.js';
export * from './strategy.js';
export * from './scheduler.js';
