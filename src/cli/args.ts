/** Minimal, strict argument parsing shared by all subcommands. Bad input -> UsageError (exit 2). */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PagewalkError } from '../core/errors.js';
import { readUserFile as readFile } from '../util/files.js';

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
    const s = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!s)
      throw new UsageError(
        `${command}: unknown option --${name} (known: ${
          Object.keys(spec)
            .map((k) => '--' + k)
            .join(', ') || 'none'
        })`,
      );
    if (s.type === 'bool') {
      if (eq >= 0) throw new UsageError(`${command}: --${name} takes no value`);
      if (flags[name] !== undefined) throw new UsageError(`${command}: --${name} given twice`);
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
    else if (flags[name] !== undefined) throw new UsageError(`${command}: --${name} given twice`);
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
  if (typeof value !== 'string' || !/^(0x[0-9a-f][0-9a-f_]*|\d+)$/i.test(value))
    throw new UsageError(`--${name}: expected an address like 0x7fff0000, got ${JSON.stringify(value)}`);
  const v = BigInt(value.replace(/_/g, ''));
  if (v >> 64n) throw new UsageError(`--${name}: ${value} does not fit in 64 bits`);
  return v;
}

/**
 * The contents of a file named on the command line: it must be a regular file of at most
 * `maxBytes` (so that /dev/zero or a directory is refused at once, not read forever).
 */
export function readUserFile(path: string, what: string, maxBytes = 64 * 2 ** 20): Buffer {
  try {
    return readFile(path, what, maxBytes);
  } catch (e) {
    if (e instanceof PagewalkError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * Checks, before any work, that `path` can be created or overwritten as a file (`dir`: as a
 * directory): its nearest existing ancestor is a writable directory and the path itself is not
 * of the other kind. Nothing is created.
 */
export function checkWritable(path: string, what: string, kind: 'file' | 'dir'): void {
  const fail = (why: string): never => {
    throw new UsageError(`${what}: cannot write ${path}: ${why}`);
  };
  if (path === '') fail('empty path');
  let p = resolve(path);
  for (let first = true; ; first = false) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') fail('part of the path is a file, not a directory');
      if (code !== 'ENOENT') fail(code ?? (e as Error).message);
      if (kind === 'file' && first) {
        // The file itself may be created; its directory must exist (writeFile makes no directories).
        const d = dirname(p);
        try {
          if (!statSync(d).isDirectory()) fail(`${d} is not a directory`);
        } catch (e2) {
          if (e2 instanceof UsageError) throw e2;
          fail(`directory ${dirname(path) || '.'} does not exist`);
        }
      }
      const up = dirname(p);
      if (up === p) fail('no existing parent directory');
      p = up;
      continue;
    }
    if (first && kind === 'file' && st.isDirectory()) fail('it is a directory');
    if (!st.isDirectory() && !(first && kind === 'file')) fail(`${p} is not a directory`);
    try {
      accessSync(p, constants.W_OK);
    } catch {
      fail(`${p} is not writable`);
    }
    return;
  }
}
