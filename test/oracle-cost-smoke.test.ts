/**
 * Smoke test of the oracles' cost measurement (bench/fuzz-core.ts `runOracleCost`) at its smallest:
 * two pairs of child processes (oracles off, on), one round of a few executions each. What it
 * checks is the plumbing and the arithmetic — every child answers, executions add up, a pair's
 * cost is over its summed CPU times and the preset's is their median — not a timing.
 */
import { describe, expect, it } from 'vitest';
import { campaignExecutions, formatOracleCost, runOracleCost } from '../bench/fuzz-core.js';

describe('oracle cost measurement (smallest setting)', () => {
  it('runs pairs of children and reports one row per preset', async () => {
    const lines: string[] = [];
    const rows = await runOracleCost(4, 1, (l) => lines.push(l), ['linux-4.14-smp'], 2, 2);
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
    expect(r.warmupExecutions).toBe(4 * 2);
    expect(Number.isFinite(r.warmupCost) && Number.isFinite(r.steadyCost)).toBe(true);
    expect(lines.join('\n')).toContain('oracle cost linux-4.14-smp');
    expect(formatOracleCost(rows)).toMatch(/first 8 /);
    expect(formatOracleCost(rows)).toMatch(/linux-4\.14-smp .* 8$/m);
  }, 120_000);

  it("a campaign's executions: the warm-up's, then the steady state's rate", () => {
    // 3000 executions in 6 s, then 1200 per 2 s: 3000 + 54 s * 600/s.
    expect(campaignExecutions(3000, 6000, 1200, 2000, 60_000)).toBe(3000 + 32_400);
    // A warm-up longer than the campaign: its own rate.
    expect(campaignExecutions(3000, 120_000, 1200, 2000, 60_000)).toBe(1500);
    // On 10 % slower after the warm-up and 30 % slower in it: 3000 + (60 s - 6/0.7 s) * 540/s executions.
    const off = campaignExecutions(3000, 6000, 1200, 2000, 60_000);
    const on = campaignExecutions(3000, 6000 / 0.7, 1200, 2000 / 0.9, 60_000);
    expect(on).toBeCloseTo(3000 + (60_000 - 6000 / 0.7) * 0.54, 6);
    expect(1 - on / off).toBeCloseTo(0.1308, 4);
  });
});
