/**
 * The mutation benchmark's list (bench/mutants-list.ts): every mutant applies to the current tree
 * (its snippet occurs exactly once), so that a refactor cannot silently neuter one; and the harness
 * refuses a mutant that does not apply, naming it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkMutants } from '../bench/mutants-core.js';
import { MUTANTS } from '../bench/mutants-list.js';
import { ALL_UNSEEN } from '../bench/mutants-unseen.js';

const ROOT = join(import.meta.dirname, '..');

describe('mutation benchmark list', () => {
  it('has at least 20 mutants, each applying exactly once', () => {
    expect(MUTANTS.length).toBeGreaterThanOrEqual(20);
    expect(() => checkMutants(ROOT)).not.toThrow();
  });

  it('the generality batches out of the score apply too, and none is also in the list', () => {
    expect(() => checkMutants(ROOT, ALL_UNSEEN)).not.toThrow();
    const listed = new Set(MUTANTS.map((m) => m.name));
    expect(ALL_UNSEEN.filter((m) => listed.has(m.name)).map((m) => m.name)).toEqual([]);
  });

  it('refuses a mutant whose snippet is gone, by name', () => {
    const bad = { ...MUTANTS[0], name: 'gone', find: 'this snippet is not in the file' };
    expect(() => checkMutants(ROOT, [bad])).toThrow(/gone: snippet found 0 times in src\/linux\/mprotect\.ts/);
  });
});
