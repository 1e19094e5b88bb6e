/**
 * `npx tsx bench/cost-sim.ts`: speed of the cost model's simulation (src/cost/sim.ts) alone, in
 * accesses per second of process CPU time, on the Skylake preset: uniform reads over 4 MiB (TLB
 * and cache hits, no walks) and over 16 GiB (a walk and cache misses on almost every access).
 * Median of 5 runs of 200 000 accesses each, after one untimed run.
 */
import { resolveConfig } from '../src/cost/config.js';
import { resolveMachine } from '../src/cost/latency.js';
import { PagePlan } from '../src/cost/layout.js';
import { simulate } from '../src/cost/sim.js';
import { lineInPage } from '../src/cost/stream.js';
import { generateStream } from '../src/cost/workloads.js';
import { Prng } from '../src/util/prng.js';

const N = 200_000;
for (const fp of ['4M', '16G']) {
  const conf = resolveConfig({ footprints: [fp], workloads: [{ kind: 'uniform' }], configs: [{}] });
  const cfg = conf.configs[0];
  const plan = new PagePlan(cfg.paging, cfg.pages, 1);
  const s = generateStream(conf.workloads[0], conf.footprints[0], cfg.base, N, new Prng(1), 'w');
  const stream = { vpn: s.vpn, lineInPage: lineInPage(s), leaf: plan.leafLevels(s), write: s.write };
  const m = resolveMachine(cfg, conf.latency);
  const sch = { warmup: 0, accesses: N, switchEvery: 0, pcid: false, asids: 4095, flush: { kind: 'none' as const, every: 0 }, dependent: false, seed: 1 };
  simulate(m, plan.info, [stream], sch);
  const rates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.cpuUsage();
    simulate(m, plan.info, [stream], sch);
    const t = process.cpuUsage(t0);
    rates.push(N / ((t.user + t.system) / 1e6));
  }
  rates.sort((a, b) => a - b);
  console.log(`${fp.padEnd(4)} uniform: ${(rates[2] / 1e6).toFixed(2)} M accesses/s (CPU time, median of 5)`);
}
