/**
 * `pagewalk walk --ept <eptp>` / `--npt <ncr3>`: a nested walk shown as the grid it is — one row
 * per guest-physical address translated (each guest paging-structure entry, then the final
 * address), one column per host level — with the exit or fault that ends it (docs/nested.md).
 */
import type { NestedAccessResult, NestedGridRow } from '../core/nested.js';
import { hex } from '../loader/hex.js';

/** Names of the EPT exit-qualification bits (SDM "Exit Qualification for EPT Violations"). */
const QUAL_BITS: Array<[number, string]> = [
  [0, 'read'],
  [1, 'write'],
  [2, 'fetch'],
  [3, 'readable'],
  [4, 'writable'],
  [5, 'executable'],
  [7, 'GLA valid'],
  [8, 'final translation (else a guest paging-structure access)'],
];
const NPF_BITS: Array<[number, string]> = [
  [0, 'P'],
  [1, 'W'],
  [2, 'U'],
  [3, 'RSV'],
  [4, 'I/D'],
  [32, 'final translation'],
  [33, 'guest page table'],
];

export interface GridInfo {
  va: bigint;
  kind: string;
  cpl: number;
  mode: string;
  host: 'ept' | 'npt';
  hostLevels: number;
  root: bigint;
}

function bitsOf(v: bigint, names: Array<[number, string]>): string {
  return (
    names
      .filter(([b]) => (v >> BigInt(b)) & 1n)
      .map(([, n]) => n)
      .join(', ') || 'none'
  );
}

/** One line describing the outcome. */
export function outcomeText(r: NestedAccessResult): string {
  if (r.ok) return `pa ${hex(r.pa)} (guest-physical ${hex(r.gpa)})`;
  if ('exit' in r) {
    if (r.exit === 'ept-violation')
      return `EPT violation at guest-physical ${hex(r.gpa)}, guest-linear ${hex(r.gla)}; qualification ${hex(BigInt(r.qualification), 3)}: ${bitsOf(BigInt(r.qualification), QUAL_BITS)}`;
    if (r.exit === 'ept-misconfig') return `EPT misconfiguration at guest-physical ${hex(r.gpa)}`;
    return `#VMEXIT(NPF): EXITINFO1 ${hex(r.exitInfo1)} (${bitsOf(r.exitInfo1, NPF_BITS)}), EXITINFO2 ${hex(r.exitInfo2)}`;
  }
  return r.vector === 14 ? `#PF ${hex(BigInt(r.errorCode), 2)} delivered to the guest, CR2 ${hex(r.cr2)}` : '#GP delivered to the guest';
}

/** The grid as text, one string with a trailing newline. */
export function renderGrid(info: GridInfo, rows: NestedGridRow[], r: NestedAccessResult, stats: { guestRefs: number; hostRefs: number }): string {
  const prefix = info.host === 'ept' ? 'EPT ' : 'n';
  const names = ['PTE', 'PDE', 'PDPTE', 'PML4E', 'PML5E']
    .slice(0, info.hostLevels)
    .reverse()
    .map((n) => prefix + n);
  const head = ['guest access', 'gpa', ...names, 'hpa'];
  const body = rows.map((row) => [
    row.what,
    hex(row.gpa),
    ...names.map((_, i) => (row.hostEntries[i] ? hex(row.hostEntries[i]!.value) : '')),
    row.hpa !== undefined ? hex(row.hpa) : 'exit',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return (
    [
      `nested walk ${hex(info.va)}  ${info.kind}  CPL ${info.cpl}  guest ${info.mode}  host ${info.host.toUpperCase()} ${info.hostLevels}-level (${info.host === 'ept' ? 'EPTP' : 'nCR3'} ${hex(info.root)})`,
      '',
      line(head),
      ...body.map(line),
      '',
      `result: ${outcomeText(r)}`,
      `references: ${stats.guestRefs} guest + ${stats.hostRefs} host = ${stats.guestRefs + stats.hostRefs}`,
    ].join('\n') + '\n'
  );
}
