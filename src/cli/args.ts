/** Minimal, strict argument parsing shared by all subcommands. Bad input -> UsageError (exit 2). */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  /** 'bool' flags take no value; 'string' flags take one; 'multi' may repeat. */
  type: 'bool' | 'string' | 'multi';
  /** Shown in help. */
  help?: string;
}

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  positional: string[];
}

/** Parses `--name value`, `--name=value` and `--bool`; unknown flags are errors naming the flag. */
export function parseArgs(argv: string[], spec: Record<string, FlagSpec>, command: string): Parsed {
  const flags: Parsed['flags'] = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const s = spec[name];
    if (!s) throw new UsageError(`${command}: unknown option --${name} (known: ${Object.keys(spec).map((k) => '--' + k).join(', ') || 'none'})`);
    if (s.type === 'bool') {
      if (eq >= 0) throw new UsageError(`${command}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`${command}: --${name} needs a value`);
      value = argv[++i];
    }
    if (s.type === 'multi') ((flags[name] ??= []) as string[]).push(value);
    else flags[name] = value;
  }
  return { flags, positional };
}

/** Parses a non-negative integer flag value (decimal or 0x hex), naming the flag on error. */
export function intFlag(value: string | boolean | string[] | undefined, name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'string' || !/^(0x[0-9a-f]+|\d+)$/i.test(value)) throw new UsageError(`--${name}: expected an integer, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name}: ${n} is out of range ${min}..${max}`);
  return n;
}

/** Parses an address (hex with 0x, or decimal) into a bigint, naming the flag on error. */
export function addrFlag(value: string | boolean | string[] | undefined, name: string): bigint {
  if (typeof value !== 'string' || !/^(0x[0-9a-f_]+|\d+)$/i.test(value)) throw new UsageError(`--${name}: expected an address like 0x7fff0000, got ${JSON.stringify(value)}`);
  return BigInt(value.replace(/_/g, ''));
}
