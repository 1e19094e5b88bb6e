/**
 * Smoke test of the oracles' cost measurement (bench/fuzz-core.ts `runOracleCost`) at its smallest:
 * two pairs of child processes (oracles off, on), one round of a few executions each. What it
 * checks is the plumbing and the arithmetic — every child answers, executions add up, a pair's
 * cost is over its summed CPU times and the preset's is their median — not a timing.
 */
import { describe, expect, it } from 'vitest';
import { formatOracleCost, runOracleCost } from '../bench/fuzz-core.js';

describe('oracle cost measurement (smallest setting)', () => {
  it('runs pairs of children and reports one row per preset', async () => {
    const lines: string[] = [];
    const rows = await runOracleCost(4, 1, (l) => lines.push(l), ['linux-4.14-smp'], 2);
    expect(rows).toHaveLength(1);
    const r = rows[0];
    expect(r.preset).toBe('linux-4.14-smp');
    expect(r.executions).toBe(4 * 1 * 2);
    expect(r.onPerSec).toBeGreaterThan(0);
    expect(r.offPerSec).toBeGreaterThan(0);
    expect(Number.isFinite(r.cost)).toBe(true);
    // Two pairs: the median lies between the quartiles (here the two pairs' costs).
    expect(r.costQuartiles[0]).toBeLessThanOrEqual(r.cost);
    expect(r.cost).toBeLessThanOrEqual(r.costQuartiles[1]);
    expect(lines.join('\n')).toContain('oracle cost linux-4.14-smp');
    expect(formatOracleCost(rows)).toMatch(/linux-4\.14-smp\s+8\s/);
  }, 120_000);
});
