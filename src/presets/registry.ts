/**
 * Presets: named kernel configurations (a version's behaviour, paging mode, UP/SMP, preemption
 * model, paravirt backend...). A preset may extend another and override some of its knobs.
 * `resolvePreset(name, overrides)` gives the full configuration: every registered knob's value.
 */
import { PagewalkError } from '../core/errors.js';
import { checkValue, knobSpec, listKnobs, type KnobValue } from './knobs.js';

export interface Preset {
  readonly name: string;
  readonly description: string;
  /** Preset this one starts from. */
  readonly base?: string;
  readonly knobs: Readonly<Record<string, KnobValue>>;
}

/** A resolved configuration: the value of every registered knob. */
export type KnobSet = Record<string, KnobValue>;

const PRESETS = new Map<string, Preset>();

/** Adds a preset; its knobs are validated when it is resolved (knobs may register later). */
export function registerPreset(p: Preset): void {
  if (PRESETS.has(p.name)) throw new Error(`preset '${p.name}' is already registered`);
  PRESETS.set(p.name, p);
}

/** All presets, in registration order. */
export function listPresets(): Preset[] {
  return [...PRESETS.values()];
}

/** The preset named `name`, or a user error listing the known ones. */
export function getPreset(name: string): Preset {
  const p = PRESETS.get(name);
  if (!p) throw new PagewalkError('EINVAL_ARG', `unknown preset '${name}' (known: ${[...PRESETS.keys()].join(', ')})`);
  return p;
}

/** Knob values of a preset, following `base` links, then `overrides`, over the knob defaults. */
export function resolvePreset(name: string, overrides: Readonly<Record<string, KnobValue>> = {}): KnobSet {
  const chain: Preset[] = [];
  for (let p: Preset | undefined = getPreset(name); p; p = p.base ? getPreset(p.base) : undefined) {
    if (chain.includes(p)) throw new Error(`preset '${name}': cycle through '${p.name}'`);
    chain.unshift(p);
  }
  const out: KnobSet = {};
  for (const k of listKnobs()) out[k.name] = k.default;
  for (const p of chain) for (const [k, v] of Object.entries(p.knobs)) out[k] = checkValue(knobSpec(k), v);
  for (const [k, v] of Object.entries(overrides)) out[k] = checkValue(knobSpec(k), v);
  return out;
}
