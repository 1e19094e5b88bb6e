/**
 * `npx tsx scripts/tlb-instructions.ts [--baseline DIR]`: what a TLB miss costs the core, in
 * machine instructions per translation — exact counts, unlike timed runs on a shared machine
 * (docs/benchmarks.md, ninth pass). scripts/tlb-miss-child.mjs translates batches of 65,536
 * random 4 KiB user reads with the TLB and the paging-structure caches on, over 64 MiB (within the
 * PDE cache's reach) and 1 GiB (beyond it), with the 2 MiB TLB class empty and holding one entry
 * (a kernel's direct map); each under Valgrind's instruction counter with V8's optimizing
 * compiler only (`--single-threaded --no-liftoff`), 24 batches less 4 (the setup cancels), for
 * this checkout and, with `--baseline`, another one (built: its dist/). Needs `valgrind`.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, UsageError } from '../src/cli/args.js';
import { COUNT_INSTRUCTIONS, instructionCount, runScript, valgrind } from './valgrind-child.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const child = join(root, 'scripts/tlb-miss-child.mjs');
const BATCH = 65_536;

/** Valgrind's instruction count of one run of the child. */
async function count(tree: string, mib: number, large: boolean, batches: number): Promise<number> {
  const args = [...COUNT_INSTRUCTIONS, process.execPath, '--single-threaded', '--no-liftoff', child, tree, String(mib), large ? '1' : '0', String(batches)];
  return instructionCount('tlb-instructions', await valgrind('tlb-instructions', args, `${tree}, ${mib} MiB`));
}

/** Instructions per translation: the difference between 24 and 4 batches. */
async function perTranslation(tree: string, mib: number, large: boolean): Promise<number> {
  const [a, b] = await Promise.all([count(tree, mib, large, 4), count(tree, mib, large, 24)]);
  return Math.round((b - a) / (20 * BATCH));
}

async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { baseline: { type: 'string', help: 'another checkout of pagewalk, built (npm run build)' } }, 'tlb-instructions');
  const trees = [root];
  if (typeof flags.baseline === 'string') trees.unshift(resolve(flags.baseline));
  for (const t of trees) if (!existsSync(join(t, 'dist/index.js'))) throw new UsageError(`tlb-instructions: ${t} is not built (run npm run build there)`);
  process.stdout.write(
    `instructions per translation (random 4 KiB reads, TLB and PSCs on)\n${'region  2 MiB class'.padEnd(22)}${trees.map((t) => (t === root ? 'this tree' : t).padStart(16)).join('')}\n`,
  );
  for (const mib of [64, 1024])
    for (const large of [false, true]) {
      const row: number[] = [];
      for (const t of trees) row.push(await perTranslation(t, mib, large));
      process.stdout.write(
        `${`${mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`}`.padEnd(8)}${(large ? 'one entry' : 'empty').padEnd(14)}${row.map((x) => String(x).padStart(16)).join('')}\n`,
      );
    }
}

runScript(main);
