/** Formatting of benchmark results: the human-readable table and the `--json` object. */
import { cpus } from 'node:os';
import type { BenchResult } from './core.js';

const RATIO_LABELS: Record<string, string> = {
  batchedOverNative: 'WASM batched / native C',
  batchedOverReference: 'WASM batched / reference walker',
  tlbHitOverWalk: 'WASM TLB hits / WASM walks',
  batchedOverPerCall: 'batched / one call per address',
  inPlaceOverNative: 'WASM in place (no copies) / native C',
};

function ratioLabel(key: string): string {
  const [base, region] = key.split('@');
  return (RATIO_LABELS[base] ?? base) + (region ? ` (${region})` : '');
}

/** The table printed by `npm run bench`. */
export function formatText(r: BenchResult): string {
  const lines: string[] = [];
  lines.push(`pagewalk walk benchmark: Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}`);
  lines.push(
    `medians of ${r.config.rounds} alternating rounds of ~${r.config.targetMs} ms of ${r.config.clock === 'cpu' ? 'process CPU time' : 'wall-clock time'}; random addresses over ${r.config.regions.join(', ')} (4-level paging, CPL 3)`,
  );
  lines.push('');
  lines.push(`${'implementation'.padEnd(26)} ${'M walks/s'.padStart(10)} ${'addr/run'.padStart(10)} ${'faults'.padStart(8)}  result hash`);
  for (const [name, v] of Object.entries(r.implementations)) {
    const bad = r.problems.some((p) => p.startsWith(name + ':'));
    lines.push(
      `${name.padEnd(26)} ${(v.walksPerSec / 1e6).toFixed(2).padStart(10)} ${String(v.addressesPerRun).padStart(10)} ${String(v.faults).padStart(8)}  ${bad ? 'MISMATCH' : 'same as wasm-batched'}`,
    );
  }
  for (const [name, why] of Object.entries(r.skipped)) lines.push(`${name.padEnd(26)} ${'skipped'.padStart(10)}  ${why}`);
  lines.push('');
  lines.push(`cross-check before timing (the same first addresses of each set, every implementation):`);
  for (const [set, hashes] of Object.entries(r.agreement)) {
    const values = Object.values(hashes);
    const same = values.every((h) => h.hash === values[0].hash);
    lines.push(
      `  ${set.padEnd(8)} ${same ? 'agree' : 'DISAGREE'}: ${Object.entries(hashes)
        .map(([n, h]) => `${n}=${h.hash}`)
        .join(' ')}`,
    );
  }
  lines.push('');
  lines.push('ratios (walks per second)');
  for (const [key, q] of Object.entries(r.ratios)) {
    const value = (q.value === null ? 'n/a' : q.value.toFixed(2) + 'x').padStart(9);
    const verdict = q.target === null ? '' : q.met === null ? 'not measured' : q.met ? 'meets target' : 'MISSES TARGET';
    const target = q.target === null ? '(information)'.padEnd(15) : `target >= ${String(q.target).padEnd(4)}`;
    lines.push(`  ${ratioLabel(key).padEnd(44)} ${value}   ${target} ${verdict}`.trimEnd());
  }
  if (r.problems.length) {
    lines.push('');
    lines.push('!!! RESULT MISMATCH: the implementations did not compute the same translations !!!');
    for (const p of r.problems) lines.push(`!!! ${p}`);
  }
  return lines.join('\n');
}
