/**
 * `npx tsx scripts/gen-replay-fixtures.ts [ROOT]`: regenerates test/fixtures/replay, the traces
 * test/fuzz-replay-fixtures.test.ts replays bit for bit: for each seed bug's buggy preset, the first
 * findings (at most two, shrunk) of a fixed campaign, found by the engine of the checkout at ROOT
 * (default: this one). Regenerate them when the model changes on purpose (a change of its runs);
 * a change meant to keep every run (a speed-up, a refactor) must pass the test with the old ones.
 * To check a change, generate them with the tree before it (e.g. ROOT = a worktree of main).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));
const root = resolve(process.argv[2] ?? here);
const at = (p: string) => pathToFileURL(resolve(root, 'src/fuzz', p)).href;
const { runUnits } = await import(at('runner.ts'));
const { createTarget } = await import(at('targets.ts'));
const { seedBugs } = await import(at('seeds.ts'));
const out = resolve(here, 'test/fixtures/replay');
mkdirSync(out, { recursive: true });
for (const f of readdirSync(out)) if (f.endsWith('.json')) rmSync(resolve(out, f));
for (const bug of await seedBugs()) {
  const target = await createTarget(bug.buggy, {});
  const results = runUnits(target, { firstSeed: 1000, runsPerSeed: 2000, totalRuns: 40000 }, { stopOn: bug.sanitizer });
  for (const f of results.flatMap((r: { findings: Array<{ sanitizer: string; trace: unknown }> }) => r.findings).slice(0, 2)) {
    const name = `${bug.seed.slice(0, 3)}-${bug.buggy}-${f.sanitizer}.json`;
    writeFileSync(resolve(out, name), JSON.stringify(f.trace) + '\n');
    console.log(name);
  }
}
