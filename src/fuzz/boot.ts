/**
 * Boot options of the kernel for a configuration: the paravirt backend's boot hook (Xen PV:
 * xen_pagetable_init() pins swapper_pg_dir and loads it on every vCPU). Importing the Xen backend
 * registers `paravirt=xen-pv` and its knobs.
 */
import type { LinuxConfig } from '../linux/config.js';
import type { BootOptions } from '../linux/kernel.js';
import { xen_pagetable_init } from '../linux/xen/index.js';

const XEN_BOOT: BootOptions = { afterInitMm: xen_pagetable_init };
const NATIVE_BOOT: BootOptions = {};

/** Boot options for `config`. */
export function bootOptions(config: LinuxConfig): BootOptions {
  return config.paravirt === 'xen-pv' ? XEN_BOOT : NATIVE_BOOT;
}
