/** The terminal table: one block per configuration and workload, one row per footprint. */
import { MAX_ASIDS, type CostConfig, type MachineConfig } from './config.js';
import { entriesFor, PRESETS } from './presets.js';
import type { CellResult } from './run.js';
import { formatSize } from './sizes.js';

const LEGEND = [
  'Columns: L1 hit / STLB hit = share of accesses translated by the L1 DTLB / by the shared second-level TLB;',
  'walks/1k = page walks per 1000 accesses; refs/walk = paging-structure entries read per walk; PSC hit = walks',
  'that skipped levels thanks to a paging-structure cache, then the hit rate of each cache (PDE|PDPTE|PML4E|PML5E,',
  '"-" = never looked up); refs from = the cache level (or memory) serving most entry reads, with its share;',
  'cycles = modelled translation cycles per access; Macc/s = emulator speed (millions of accesses per second here).',
  '!: the cell is not what its label says (warnings below the block).',
];

function pct(x: number): string {
  return `${(100 * x).toFixed(x >= 0.9995 || x === 0 ? 0 : x < 0.01 ? 2 : 1)}%`;
}

function reach(cfg: MachineConfig): string {
  if (cfg.tlb === false) return 'TLB off';
  const p = PRESETS[cfg.core];
  const l1 = cfg.l1tlb ?? p.l1;
  const l2 = cfg.stlb ?? p.l2;
  const bytes = { '4k': 4096, '2m': (cfg.paging === '32bit' ? 4 : 2) * 2 ** 20, '1g': 2 ** 30 } as const;
  const used = (['4k', '2m', '1g'] as const).filter((k) => cfg.pages[k] > 0);
  const part = (k: '4k' | '2m' | '1g'): string =>
    `${k.toUpperCase()} ${entriesFor(l1, k)}+${entriesFor(l2, k)} (${formatSize(entriesFor(l1, k) * bytes[k])}/${formatSize(entriesFor(l2, k) * bytes[k])} reach)`;
  return `DTLB+STLB ${used.map(part).join(', ')}`;
}

function describe(cfg: MachineConfig): string {
  const bits = [cfg.core, cfg.paging, reach(cfg), cfg.psc === false ? 'PSC off' : 'PSC on'];
  if (cfg.contextSwitchEvery)
    bits.push(
      `${cfg.addressSpaces} address spaces switching every ${cfg.contextSwitchEvery} accesses, PCID ${cfg.pcid ? `on${cfg.asids < MAX_ASIDS ? ` (${cfg.asids} ASIDs)` : ''}` : 'off'}`,
    );
  if (cfg.flush.kind !== 'none') bits.push(`${cfg.flush.kind} every ${cfg.flush.every}`);
  const n = cfg.nested;
  if (n)
    bits.push(
      `guest under ${n.kind.toUpperCase()} ${n.levels}-level, ${n.hostPage.toUpperCase()} host pages, host PSC ${n.hostPsc ? 'on' : 'off'}, guest-physical TLB ${n.gpaTlb ? `${n.gpaTlb.sets * n.gpaTlb.ways} entries` : 'off'} (refs/walk counts guest + host entries)`,
    );
  return bits.join('; ');
}

const HEAD = ['footprint', 'L1 hit', 'STLB hit', 'walks/1k', 'refs/walk', 'PSC hit', 'by level', 'refs from', 'cycles', 'Macc/s'];

function row(r: CellResult): string[] {
  const fp = (r.footprint === null ? `${formatSize(r.distinctPages * 4096)}*` : formatSize(r.footprint)) + (r.warnings.length ? '!' : '');
  if (r.skipped) return [fp, `skipped: ${r.skipped}`];
  const walked = r.model.walks > 0;
  const levels = r.pscLevels.map((l) => (l.hitRate === null ? '-' : `${Math.round(100 * l.hitRate)}`)).join('|');
  const from = Object.entries(r.refsServed).reduce((a, b) => (b[1] > a[1] ? b : a), ['-', 0]);
  return [
    fp,
    pct(r.l1HitRate),
    pct(r.stlbHitRate),
    r.walksPer1000.toFixed(r.walksPer1000 < 10 ? 2 : 1),
    walked ? r.memRefsPerWalk.toFixed(2) : '-',
    walked ? pct(r.pscHitRate) : '-',
    walked && r.pscLevels.length ? levels : '-',
    walked ? `${from[0]} ${Math.round(100 * from[1])}%` : '-',
    r.cycles.total.toFixed(r.cycles.total < 10 ? 2 : 1),
    (r.emulatorAccessesPerSecond / 1e6).toFixed(1),
  ];
}

function render(rows: string[][]): string[] {
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length === HEAD.length).map((r) => r[i].length)));
  const fmt = (r: string[]): string =>
    r.length === HEAD.length ? r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ') : `${r[0].padEnd(widths[0])}  ${r[1]}`;
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
    lines.push(`${cfg.name} — ${first.workload}`, `  (${describe(cfg)})`, ...render(group.map(row)));
    for (const r of group) for (const w of r.warnings) lines.push(`  ! ${r.footprint === null ? 'file' : formatSize(r.footprint)}: ${w}`);
    lines.push('');
  }
  lines.push(...summary(conf, results));
  lines.push(...LEGEND);
  const warm = [...new Set(results.filter((r) => !r.skipped).map((r) => r.warmup))];
  lines.push(`Each cell: ${warm.join('/') || 0} warm-up + ${conf.accesses} measured accesses, seed ${conf.seed}. Model and sources: docs/cost.md.`);
  const notes = [...new Set(results.flatMap((r) => r.notes))];
  for (const n of notes) lines.push(`Note: ${n}.`);
  if (results.some((r) => r.footprint === null)) lines.push('*: address file; footprint = distinct 4 KiB pages touched.');
  return lines.join('\n');
}
