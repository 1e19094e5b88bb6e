/**
 * Creating a machine for a kernel configuration, and booting it: `bootLinux(config)` builds a core
 * machine sized by the config (RAM, CPUs) and boots the kernel; `rebootLinux(k)` reuses the same
 * core machine (`m.reset()`, cheap) for another run, as the fuzzer does.
 */
import { Machine } from '../core/machine.js';
import type { CoreMachine } from '../modelcpu/contract.js';
import { Kernel, type BootOptions } from './kernel.js';
import type { LinuxConfig } from './config.js';

/** Core machine options for a kernel config. */
export function machineOptionsFor(config: LinuxConfig): { ramBytes: number; cpus: number } {
  return { ramBytes: config.ram_mib * 1024 * 1024, cpus: config.cpus };
}

/** Creates a core machine for `config` and boots the kernel on it. */
export async function bootLinux(config: LinuxConfig, opts: BootOptions = {}): Promise<Kernel> {
  const m = await Machine.create(machineOptionsFor(config));
  return Kernel.boot(m as unknown as CoreMachine, config, opts);
}

/** Like `bootLinux`, synchronously (after one `Machine.create` or `await Machine.ready()`). */
export function bootLinuxSync(config: LinuxConfig, opts: BootOptions = {}): Kernel {
  const m = Machine.createSync(machineOptionsFor(config));
  return Kernel.boot(m as unknown as CoreMachine, config, opts);
}

/** Resets `m` and boots a fresh kernel with `config` on it (the machine must fit the config). */
export function rebootLinux(m: CoreMachine, config: LinuxConfig, opts: BootOptions = {}): Kernel {
  m.reset();
  return Kernel.boot(m, config, opts);
}
