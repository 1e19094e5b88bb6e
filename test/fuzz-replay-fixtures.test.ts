// Saved finding traces (test/fixtures/replay, the first findings of a fixed campaign on each seed
// bug's buggy preset, shrunk) replay bit for bit on today's model: every scheduler choice is
// taken as recorded, and the run ends in the same finding with the same report, line for line.
// A change that makes the model faster must not change a single step of a run. A change of the
// model's runs on purpose regenerates them (scripts/gen-replay-fixtures.ts, which says how).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Coverage } from '../src/fuzz/coverage.js';
import { createTarget, presetCpus } from '../src/fuzz/targets.js';
import { parseTraceText } from '../src/fuzz/trace.js';

const dir = fileURLToPath(new URL('./fixtures/replay/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('saved traces replay bit for bit', () => {
  it('there are fixtures for every seed bug', () => {
    expect(new Set(files.map((f) => f.slice(0, 3)))).toEqual(new Set(['000', '001', '002', '003', '004']));
  });
  for (const file of files) {
    it(file, async () => {
      const t = parseTraceText(readFileSync(join(dir, file), 'utf8'), presetCpus);
      const target = await createTarget(t.preset, t.overrides as Record<string, string | number | boolean>);
      const r = target.run({ program: t.program, schedule: t.schedule, replay: t.choices, replayFallback: false }, new Coverage());
      expect(r.divergences).toBe(0);
      expect(r.trace).toEqual(t.choices);
      expect(r.finding?.sanitizer).toBe(t.finding.sanitizer);
      expect(r.finding?.signature).toBe(t.finding.signature);
      expect(r.finding?.log).toEqual(t.finding.log);
    });
  }
});
