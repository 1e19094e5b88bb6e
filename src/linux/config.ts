/**
 * The typed configuration of a modelled Linux kernel, built from a resolved knob set
 * (src/presets). Extension knobs registered by other models stay available in `knobs`.
 */
import { PagewalkError } from '../core/errors.js';
import { resolvePreset, type KnobSet, type KnobValue } from '../presets/index.js';
import type { LinuxPaging } from './layout.js';

export type PreemptModel = 'none' | 'voluntary' | 'preempt' | 'rt';
export type VmallocFaultVariant = 'active_mm' | 'active_mm+flush' | 'read_cr3';
export type WatchdogFormat = 'v3.2' | 'v3.14' | 'v4.15';

export interface LinuxConfig {
  /** The preset it came from (or 'custom'). */
  readonly preset: string;
  readonly version: string;
  readonly paging: LinuxPaging;
  readonly smp: boolean;
  readonly cpus: number;
  readonly preempt: PreemptModel;
  readonly paravirt: string;
  readonly vmalloc_fault: VmallocFaultVariant;
  readonly vmalloc_sync_all: boolean;
  readonly flush_tlb_preempt_disable: boolean;
  readonly lockup_threshold: number;
  readonly ram_mib: number;
  readonly watchdog_format: WatchdogFormat;
  /** The platform delivers NMIs (perf, NMI watchdog) to the kernel. */
  readonly platform_nmi: boolean;
  /** Every knob, including those registered by other models. */
  readonly knobs: Readonly<KnobSet>;
}

/** Major/minor of a version string like '3.2.39-rt59'. */
export function versionNumber(version: string): number {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : 0;
}

/** Builds the typed config from a knob set; checks the cross-knob rules. */
export function linuxConfig(knobs: KnobSet, preset = 'custom'): LinuxConfig {
  const smp = knobs.smp as boolean;
  const cpus = knobs.cpus as number;
  if (!smp && cpus !== 1) throw new PagewalkError('EINVAL_ARG', `knob 'cpus': a UP kernel (smp=false) runs on exactly 1 CPU, got ${cpus}`);
  const version = knobs.version as string;
  let wf = knobs.watchdog_format as string;
  if (wf === 'auto') {
    const v = versionNumber(version);
    wf = v >= 4015 ? 'v4.15' : v >= 3014 ? 'v3.14' : 'v3.2';
  }
  return {
    preset,
    version,
    paging: knobs.paging as LinuxPaging,
    smp,
    cpus,
    preempt: knobs.preempt as PreemptModel,
    paravirt: knobs.paravirt as string,
    vmalloc_fault: knobs.vmalloc_fault as VmallocFaultVariant,
    vmalloc_sync_all: knobs.vmalloc_sync_all as boolean,
    flush_tlb_preempt_disable: knobs.flush_tlb_preempt_disable as boolean,
    lockup_threshold: knobs.lockup_threshold as number,
    ram_mib: knobs.ram_mib as number,
    watchdog_format: wf as WatchdogFormat,
    platform_nmi: knobs.platform_nmi as boolean,
    knobs,
  };
}

/** Resolves a preset with overrides into a typed config. */
export function configFromPreset(name: string, overrides: Readonly<Record<string, KnobValue>> = {}): LinuxConfig {
  return linuxConfig(resolvePreset(name, overrides), name);
}
