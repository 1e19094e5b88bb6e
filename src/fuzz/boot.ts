/**
 * Registers every model the fuzzer can target: the Linux presets, and the Xen PV and
 * Hyper-V-like backends with their presets (src/presets/xen.ts). The Xen backend boots lazily
 * (it pins a pgd at its first base-pointer load), so a plain `Kernel.boot` serves every preset.
 */
import '../presets/index.js';
import '../presets/xen.js';
