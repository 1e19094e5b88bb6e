/**
 * The trace file: everything needed to re-run a finding exactly — preset and knob overrides, the
 * program, the schedule, the recorded scheduler choices — plus the finding it reproduces and
 * where the campaign found it. JSON, versioned; `parseTrace` checks every field and names the
 * first bad one.
 */
import { PagewalkError } from '../core/errors.js';
import type { Finding } from '../sanitizers/finding.js';
import { parseProgram, parseSchedule, type Program, type Schedule } from './program.js';

export const TRACE_FORMAT = 'pagewalk-trace';
export const TRACE_VERSION = 1;

export interface TraceFile {
  format: typeof TRACE_FORMAT;
  version: typeof TRACE_VERSION;
  preset: string;
  overrides: Record<string, string | number | boolean>;
  program: Program;
  schedule: Schedule;
  /** Scheduler choices (action codes `cpu * 64 + slot`, src/scheduler/types.ts). */
  choices: number[];
  finding: Finding;
  /** Where the campaign found it. */
  found: { seed: number; execution: number };
  /** True once the shrinker has minimised it. */
  shrunk: boolean;
}

function bad(why: string): never {
  throw new PagewalkError('EBAD_INPUT', `corrupted trace: ${why}`);
}

/**
 * Validates a parsed JSON value as a trace. `maxCpusOf(preset, overrides)` gives the CPU count
 * of the preset's machine (and throws a user error for an unknown preset or knob).
 */
export function parseTrace(v: unknown, maxCpusOf: (preset: string, overrides: Record<string, string | number | boolean>) => number): TraceFile {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('expected a JSON object');
  const o = v as Record<string, unknown>;
  if (o.format !== TRACE_FORMAT) bad(`'format' must be '${TRACE_FORMAT}', got ${JSON.stringify(o.format)}`);
  if (o.version !== TRACE_VERSION) bad(`unsupported 'version' ${JSON.stringify(o.version)} (this pagewalk reads version ${TRACE_VERSION})`);
  if (typeof o.preset !== 'string') bad("'preset' must be a string");
  const overrides = o.overrides ?? {};
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) bad("'overrides' must be an object");
  for (const [k, x] of Object.entries(overrides))
    if (!['string', 'number', 'boolean'].includes(typeof x)) bad(`overrides.${k}: expected a string, number or boolean`);
  const maxCpus = maxCpusOf(o.preset as string, overrides as Record<string, string | number | boolean>);
  const program = parseProgram(o.program, 'program', maxCpus);
  const schedule = parseSchedule(o.schedule, 'schedule');
  if (!Array.isArray(o.choices) || !o.choices.every((c) => Number.isInteger(c) && c >= 0 && c < 64 * 64))
    bad("'choices' must be an array of action codes (integers 0..4095)");
  const f = o.finding as Record<string, unknown> | undefined;
  if (!f || typeof f.sanitizer !== 'string' || typeof f.signature !== 'string' || !Array.isArray(f.log) || !f.log.every((l) => typeof l === 'string'))
    bad("'finding' must have a sanitizer, a signature and a log (array of lines)");
  const found = (o.found ?? { seed: 0, execution: 0 }) as Record<string, unknown>;
  if (!Number.isInteger(found.seed) || !Number.isInteger(found.execution)) bad("'found' must be { seed, execution } integers");
  return {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    preset: o.preset as string,
    overrides: overrides as TraceFile['overrides'],
    program,
    schedule,
    choices: o.choices as number[],
    finding: { sanitizer: f.sanitizer as string, signature: f.signature as string, log: f.log as string[] },
    found: { seed: found.seed as number, execution: found.execution as number },
    shrunk: o.shrunk === true,
  };
}

/** Parses trace text (JSON); syntax errors are reported as a corrupted trace. */
export function parseTraceText(text: string, maxCpusOf: (preset: string, overrides: Record<string, string | number | boolean>) => number): TraceFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    bad(`not valid JSON (${(e as Error).message})`);
  }
  return parseTrace(v, maxCpusOf);
}

/** File name of a finding's trace: sanitizer and a short hash of the signature. */
export function traceFileName(f: Finding): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < f.signature.length; i++) h = Math.imul(h ^ f.signature.charCodeAt(i), 0x01000193);
  return `${f.sanitizer.replace(/[^a-z0-9-]+/gi, '_')}-${(h >>> 0).toString(16).padStart(8, '0')}.json`;
}
