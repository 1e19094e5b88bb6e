/** The experiment matrix: every configuration × workload × footprint, run in a fixed order. */
import type { CostConfig } from './config.js';
import { runCell, type CellResult, type CellSpec, type RunHooks } from './run.js';
import { hasOwnAddresses } from './workloads.js';

/** The cells of the matrix, configuration-major (so each config's line is contiguous). */
export function cells(conf: CostConfig): CellSpec[] {
  const out: CellSpec[] = [];
  conf.configs.forEach((_, configIndex) => {
    conf.workloads.forEach((w, workloadIndex) => {
      if (hasOwnAddresses(w)) out.push({ configIndex, workloadIndex, footprint: null });
      else for (const footprint of conf.footprints) out.push({ configIndex, workloadIndex, footprint });
    });
  });
  return out;
}

/** Everything `--json` prints. */
export interface CostReport {
  tool: 'pagewalk cost';
  config: unknown;
  cells: CellResult[];
  /** Wall-clock seconds for the whole matrix (not deterministic). */
  elapsedSeconds: number;
}

/** Runs every cell; `progress(done, total, cell)` is called after each. */
export async function runMatrix(
  conf: CostConfig,
  progress?: (done: number, total: number, last: CellResult) => void,
  hooks: RunHooks = {},
): Promise<CellResult[]> {
  const list = cells(conf);
  const results: CellResult[] = [];
  for (const spec of list) {
    const r = await runCell(conf, spec, hooks);
    results.push(r);
    progress?.(results.length, list.length, r);
  }
  return results;
}

/** The config as JSON-safe data (bigints as hex strings). */
export function configToJson(conf: CostConfig): unknown {
  return JSON.parse(JSON.stringify(conf, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)));
}
