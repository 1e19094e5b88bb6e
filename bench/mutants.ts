/**
 * `npm run bench:mutants [-- --time S] [--only name,...] [--no-controls] [--unseen] [--json]` (also
 * `npm run bench -- --only mutants`): the mutation benchmark (bench/mutants-core.ts); `--check`
 * only verifies that every mutant applies (exit 1 naming the ones that do not).
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { intFlag, parseArgs, UsageError } from '../src/cli/args.js';
import { checkMutants, formatMutants, runMutants } from './mutants-core.js';
import { ALL_UNSEEN } from './mutants-unseen.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Parses the benchmark's flags and runs it; returns the exit status. */
export async function mutantsMain(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(
    argv,
    {
      json: { type: 'bool', help: 'print one JSON object on stdout' },
      time: { type: 'string', help: 'seconds of fuzzing per mutant and per control (default 60)' },
      only: { type: 'string', help: 'comma-separated substrings of mutant names' },
      'no-controls': { type: 'bool', help: 'skip the unmutated controls' },
      check: { type: 'bool', help: 'only check that every mutant applies' },
      unseen: { type: 'bool', help: 'run bench/mutants-unseen.ts (the generality batches, not scored) instead of the list' },
    },
    'bench:mutants',
  );
  if (positional.length) throw new UsageError(`bench:mutants: unexpected argument ${JSON.stringify(positional[0])}`);
  if (flags.check) {
    checkMutants(ROOT);
    checkMutants(ROOT, ALL_UNSEEN);
    process.stdout.write('bench:mutants: every mutant applies\n');
    return 0;
  }
  const seconds = intFlag(flags.time, 'time', 60, 1, 3600);
  const only = flags.only ? String(flags.only).split(',').filter(Boolean) : undefined;
  const list = flags.unseen ? ALL_UNSEEN : undefined;
  const r = await runMutants(ROOT, { seconds, only, list, controls: !flags['no-controls'] }, (line) => process.stderr.write(line + '\n'));
  process.stdout.write((flags.json ? JSON.stringify(r) : formatMutants(r)) + '\n');
  return r.controls.every((c) => !c.detectedBy) ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mutantsMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
