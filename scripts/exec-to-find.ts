/**
 * `npx tsx scripts/exec-to-find.ts [ROOT] [--ids 002,003] [--seeds 5] [--cap 20000] [--seed-base B]`: for each
 * seed bug (or the ids given), executions until a campaign of the engine at ROOT (default: this
 * checkout) first finds the bug (its scenario's report or one of its `alsoReports`), for campaign
 * seeds 1000 + B, 2000 + B, ... (as bench/fuzz-core seeds them, but capped by executions instead
 * of seconds, so that the numbers do not depend on the machine's load). To compare two trees, run it with ROOT = a worktree of each.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { ids: { type: 'string' }, seeds: { type: 'string' }, cap: { type: 'string' }, 'seed-base': { type: 'string' } },
});
const root = resolve(positionals[0] ?? fileURLToPath(new URL('..', import.meta.url)));
const at = (p: string) => pathToFileURL(resolve(root, 'src', p)).href;
const { Machine } = await import(at('core/machine.ts'));
const { runUnits } = await import(at('fuzz/runner.ts'));
const { createTarget } = await import(at('fuzz/targets.ts'));
const { seedBugs, isSeedBug } = await import(at('fuzz/seeds.ts'));
const ids = values.ids?.split(',');
const seeds = Number(values.seeds ?? 5);
const cap = Number(values.cap ?? 20000);
const base = Number(values['seed-base'] ?? 0);
await Machine.ready();
for (const bug of await seedBugs()) {
  if (ids && !ids.some((i) => bug.seed.startsWith(i))) continue;
  const target = await createTarget(bug.buggy, {});
  const found: (number | null)[] = [];
  for (let s = 1; s <= seeds; s++) {
    let before = 0;
    let at: number | null = null;
    runUnits(
      target,
      { firstSeed: s * 1000 + base, runsPerSeed: 2000, totalRuns: cap },
      {
        stopOn: [bug.sanitizer, ...bug.alsoReports.map((a: { sanitizer: string }) => a.sanitizer)].join(','),
        onSeedDone: (r: { executions: number }) => {
          before += r.executions;
        },
        onFinding: (f: { sanitizer: string; signature: string; foundAtExecution: number }, shrunk: boolean) => {
          if (!shrunk && isSeedBug(bug, f) && at === null) at = before + f.foundAtExecution;
        },
      },
    );
    found.push(at);
  }
  const sorted = found.map((x) => x ?? Infinity).sort((a, b) => a - b);
  console.log(
    `${bug.seed.slice(0, 3)} ${bug.buggy}: ${found.map((x) => x ?? `>${cap}`).join(' ')} (median ${sorted[(sorted.length - 1) >> 1] === Infinity ? `>${cap}` : sorted[(sorted.length - 1) >> 1]})`,
  );
}
