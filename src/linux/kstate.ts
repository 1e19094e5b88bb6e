/**
 * Per-kernel model state kept outside `Kernel` by the module that owns it (the vmalloc allocator,
 * page counts, a backend's hypervisor, a sanitizer): `defineKernelState(init)` returns the typed
 * accessor of one kind of state, created by `init` on first use for each kernel instance.
 *
 *   const vmallocState = defineKernelState((k) => ({ next: k.L.VMALLOC_START, ... }));
 *   vmallocState(k).next += size;
 */
import type { Kernel } from './kernel.js';

/** The accessor of one kind of per-kernel state. */
export type KernelState<T> = (k: Kernel) => T;

/** Kinds of state defined so far. */
let kinds = 0;

/**
 * Defines a kind of per-kernel state; `init(k)` builds it the first time `k` asks. The state lives
 * in `k.kstate`, so a kernel snapshot (`Kernel.snapshot()`, used by the fuzzer to boot once and
 * restore before each execution) covers it: state created at boot is restored to its boot-time
 * contents, state first created later is dropped and built again by `init` when next asked. Keep
 * the state in objects, arrays, Maps and Sets (not in variables a closure captures): that is what
 * the snapshot records.
 */
export function defineKernelState<T>(init: (k: Kernel) => T): KernelState<T> {
  const id = kinds++; // an index into k.kstate: an array read on the hot paths, no hash lookup
  return (k) => {
    let s = k.kstate[id] as T | undefined;
    if (s === undefined) k.kstate[id] = s = init(k);
    return s;
  };
}
