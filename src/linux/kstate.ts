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

/** Defines a kind of per-kernel state; `init(k)` builds it the first time `k` asks. */
export function defineKernelState<T>(init: (k: Kernel) => T): KernelState<T> {
  const states = new WeakMap<Kernel, T>();
  return (k) => {
    let s = states.get(k);
    if (s === undefined) states.set(k, (s = init(k)));
    return s;
  };
}
