/**
 * Knobs: the documented, typed settings of a modelled kernel configuration. A preset is a named
 * set of knob values; any knob can be overridden one by one. Other models (Xen PV, the fuzzer)
 * register their own knobs with `registerKnob`; unknown knobs and bad values are errors naming
 * the problem.
 */
import { PagewalkError } from '../core/errors.js';

export type KnobValue = string | number | boolean;

export interface KnobSpec {
  readonly name: string;
  readonly type: 'enum' | 'int' | 'bool' | 'string';
  /** Allowed values of an enum knob. */
  readonly values?: readonly string[];
  /** Inclusive range of an int knob. */
  readonly min?: number;
  readonly max?: number;
  readonly default: KnobValue;
  readonly description: string;
  /** Which model owns it: 'linux', 'xen', ... */
  readonly group: string;
}

const KNOBS = new Map<string, KnobSpec>();

/** Adds a knob; throws if the name is taken. */
export function registerKnob(spec: KnobSpec): void {
  if (KNOBS.has(spec.name)) throw new Error(`knob '${spec.name}' is already registered`);
  checkValue(spec, spec.default);
  KNOBS.set(spec.name, spec);
}

/** All knobs, in registration order. */
export function listKnobs(): KnobSpec[] {
  return [...KNOBS.values()];
}

/** The spec of a knob, or a user error naming the unknown knob. */
export function knobSpec(name: string): KnobSpec {
  const s = KNOBS.get(name);
  if (!s) throw new PagewalkError('EINVAL_ARG', `unknown knob '${name}' (known: ${[...KNOBS.keys()].join(', ')})`);
  return s;
}

/** Validates a value for a knob; throws a user error naming the knob and the problem. */
export function checkValue(spec: KnobSpec, v: unknown): KnobValue {
  const bad = (why: string): never => {
    throw new PagewalkError('EINVAL_ARG', `knob '${spec.name}': ${why}`);
  };
  switch (spec.type) {
    case 'enum':
      if (typeof v !== 'string' || !spec.values!.includes(v)) bad(`expected one of ${spec.values!.join('|')}, got ${JSON.stringify(v)}`);
      return v as string;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) bad(`expected an integer, got ${JSON.stringify(v)}`);
      if ((spec.min !== undefined && (v as number) < spec.min) || (spec.max !== undefined && (v as number) > spec.max))
        bad(`${v} is out of range ${spec.min}..${spec.max}`);
      return v as number;
    case 'bool':
      if (typeof v !== 'boolean') bad(`expected true or false, got ${JSON.stringify(v)}`);
      return v as boolean;
    default:
      if (typeof v !== 'string' || v.length === 0) bad(`expected a non-empty string, got ${JSON.stringify(v)}`);
      return v as string;
  }
}

/** Parses a knob value given as text (CLI `--set name=value`) by the knob's type. */
export function parseKnobText(name: string, text: string): KnobValue {
  const spec = knobSpec(name);
  if (spec.type === 'int') {
    if (!/^-?\d+$/.test(text)) throw new PagewalkError('EINVAL_ARG', `knob '${name}': expected an integer, got ${JSON.stringify(text)}`);
    return checkValue(spec, Number(text));
  }
  if (spec.type === 'bool') {
    if (text !== 'true' && text !== 'false') throw new PagewalkError('EINVAL_ARG', `knob '${name}': expected true or false, got ${JSON.stringify(text)}`);
    return text === 'true';
  }
  return checkValue(spec, text);
}
