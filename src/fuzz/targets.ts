/**
 * Fuzz targets by preset: every preset of the registry (src/presets) is fuzzed through the Linux
 * model binding (linux-target.ts), whatever its paravirt backend.
 */
import { Machine } from '../core/machine.js';
import { PagewalkError } from '../core/errors.js';
import { getPreset, parseKnobText, type KnobValue } from '../presets/index.js';
import { LinuxFuzzTarget } from './linux-target.js';
import type { FuzzTarget } from './target.js';

export type Overrides = Record<string, KnobValue>;

/** Parses `--set knob=value` strings (unknown knobs and bad values are user errors naming them). */
export function parseOverrides(sets: readonly string[]): Overrides {
  const out: Overrides = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new PagewalkError('EINVAL_ARG', `--set ${JSON.stringify(s)}: expected knob=value`);
    const name = s.slice(0, eq);
    out[name] = parseKnobText(name, s.slice(eq + 1));
  }
  return out;
}

/** Builds the fuzz target of a preset (the WASM module is compiled once per thread). */
export async function createTarget(preset: string, overrides: Overrides = {}): Promise<FuzzTarget> {
  getPreset(preset); // unknown preset -> user error listing the known ones
  await Machine.ready();
  return new LinuxFuzzTarget(preset, overrides);
}

/** The CPU count a preset's machine has (for validating traces). */
export function presetCpus(preset: string, overrides: Overrides): number {
  getPreset(preset);
  return LinuxFuzzTarget.cpusOf(preset, overrides);
}
