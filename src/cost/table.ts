/** The terminal table: one block per configuration and workload, one row per footprint. */
import type { CostConfig, MachineConfig } from './config.js';
import type { CellResult } from './run.js';
import { formatSize } from './sizes.js';

const LEGEND = [
  'Columns: TLB hit = share of accesses translated by the TLB; walks/1k = page walks per 1000 accesses;',
  'refs/walk = paging-structure entries read from memory per walk; PSC hit = walks that skipped levels',
  'thanks to a paging-structure cache, then the hit rate of each cache (PDE|PDPTE|PML4E|PML5E, "-" = never',
  'looked up); leaf from = where the model serves most leaf-entry reads (and what share); cycles = modelled translation cycles per access;',
  'Macc/s = emulator speed (millions of accesses per second of this machine).',
];

function pct(x: number): string {
  return `${(100 * x).toFixed(x >= 0.9995 || x === 0 ? 0 : x < 0.01 ? 2 : 1)}%`;
}

function reach(cfg: MachineConfig): string {
  if (cfg.tlb === false) return 'TLB off';
  const t = cfg.tlb;
  const e = (g: { sets: number; ways: number }): number => g.sets * g.ways;
  const parts = [`4K ${e(t['4k'])} entries (${formatSize(e(t['4k']) * 4096)} reach)`];
  if (cfg.pages['2m'] > 0) parts.push(`${cfg.paging === '32bit' ? '4M' : '2M'} ${e(t['2m'])} (${formatSize(e(t['2m']) * (cfg.paging === '32bit' ? 4 : 2) * 2 ** 20)})`);
  if (cfg.pages['1g'] > 0) parts.push(`1G ${e(t['1g'])} (${formatSize(e(t['1g']) * 2 ** 30)})`);
  return `TLB ${parts.join(', ')}`;
}

function describe(cfg: MachineConfig): string {
  const bits = [cfg.paging, reach(cfg), cfg.psc === false ? 'PSC off' : 'PSC on'];
  if (cfg.contextSwitchEvery) bits.push(`context switch every ${cfg.contextSwitchEvery} accesses, PCID ${cfg.pcid ? 'on' : 'off'}`);
  if (cfg.flush.kind !== 'none') bits.push(`${cfg.flush.kind} every ${cfg.flush.every}`);
  return bits.join('; ');
}

const HEAD = ['footprint', 'TLB hit', 'walks/1k', 'refs/walk', 'PSC hit', 'by level', 'leaf from', 'cycles', 'Macc/s'];

function row(r: CellResult): string[] {
  const fp = r.footprint === null ? `${formatSize(r.distinctPages * 4096)}*` : formatSize(r.footprint);
  if (r.skipped) return [fp, `skipped: ${r.skipped}`];
  const walked = r.stats.walks > 0;
  const levels = r.pscLevels.map((l) => (l.hitRate === null ? '-' : `${Math.round(100 * l.hitRate)}`)).join('|');
  const pte = r.placement[r.placement.length - 1]; // lowest level touched: the leaf entries
  return [
    fp,
    pct(r.tlbHitRate),
    r.walksPer1000.toFixed(r.walksPer1000 < 10 ? 2 : 1),
    walked ? r.memRefsPerWalk.toFixed(2) : '-',
    walked ? pct(r.pscHitRate) : '-',
    walked && r.pscLevels.length ? levels : '-',
    walked && pte ? `${pte.servedBy} ${Math.round(100 * pte.shares[pte.servedBy])}%` : '-',
    r.cycles.total.toFixed(r.cycles.total < 10 ? 2 : 1),
    (r.emulatorAccessesPerSecond / 1e6).toFixed(1),
  ];
}

function render(rows: string[][]): string[] {
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length === HEAD.length).map((r) => r[i].length)));
  const fmt = (r: string[]): string => (r.length === HEAD.length ? r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ') : `${r[0].padEnd(widths[0])}  ${r[1]}`);
  return [fmt(HEAD), ...rows.map(fmt)].map((l) => `  ${l}`);
}

/** Cycles per access, one row per footprint, one column per configuration (and workload). */
function summary(conf: CostConfig, results: CellResult[]): string[] {
  const swept = results.filter((r) => r.footprint !== null);
  if (!swept.length) return [];
  const cols = [...new Set(swept.map((r) => `${r.configIndex}/${r.workloadIndex}`))];
  const label = (k: string): string => {
    const r = swept.find((x) => `${x.configIndex}/${x.workloadIndex}` === k)!;
    return conf.workloads.length > 1 ? `${r.config} (${r.workload})` : r.config;
  };
  const fps = [...new Set(swept.map((r) => r.footprint!))].sort((a, b) => a - b);
  const head = ['footprint', ...cols.map(label)];
  const rows = fps.map((fp) => [
    formatSize(fp),
    ...cols.map((k) => {
      const r = swept.find((x) => `${x.configIndex}/${x.workloadIndex}` === k && x.footprint === fp);
      return !r ? '' : r.skipped ? 'n/a' : r.cycles.total.toFixed(r.cycles.total < 10 ? 2 : 1);
    }),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]): string => '  ' + r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return ['Summary: modelled translation cycles per access', fmt(head), ...rows.map(fmt), ''];
}

/** The whole table as text. */
export function formatTable(conf: CostConfig, results: CellResult[]): string {
  const lines: string[] = [];
  const groups = new Map<string, CellResult[]>();
  for (const r of results) {
    const k = `${r.configIndex}/${r.workloadIndex}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  for (const group of groups.values()) {
    const first = group[0];
    const cfg = conf.configs[first.configIndex];
    lines.push(`${cfg.name} — ${first.workload}`, `  (${describe(cfg)})`, ...render(group.map(row)), '');
  }
  lines.push(...summary(conf, results));
  lines.push(...LEGEND);
  lines.push(`Each cell: ${conf.warmup} warm-up + ${conf.accesses} measured reads, seed ${conf.seed}. Latency model: docs/cost.md.`);
  if (results.some((r) => r.footprint === null)) lines.push('*: address file; footprint = distinct 4 KiB pages touched.');
  return lines.join('\n');
}
