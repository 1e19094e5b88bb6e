/**
 * A nested (2D) walk explained (`cpu.nestedExplain`) as display-ready cells shared by `pagewalk
 * walk --ept/--npt` (text and SVG) and the web page: one row per guest-physical address translated
 * (each guest paging-structure entry, then the final address), one column per host level, the
 * guest entry each row read, and the cell that ended the walk with its decisive bits; the exit
 * decoded bit by bit (Intel SDM vol. 3C "Exit Qualification for EPT Violations"; AMD APM vol. 2
 * §15.25.6 "Nested versus Guest Page Faults, Fault Ordering") or the guest's #PF.
 */
import type { NestedAccessResult, NestedExplanation } from '../core/nested.js';
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
/** EXITINFO1 of #VMEXIT(NPF): the #PF error code of the nested walk plus bits 32 and 33. */
const NPF_BITS: Array<[number, string]> = [
  [0, 'P'],
  [1, 'W'],
  [2, 'U'],
  [3, 'RSV'],
  [4, 'I/D'],
  [32, 'final translation'],
  [33, 'guest page table'],
];
const PF_BITS: Array<[number, string]> = [
  [0, 'P'],
  [1, 'W'],
  [2, 'U'],
  [3, 'RSVD'],
  [4, 'I/D'],
  [5, 'PK'],
];

function bitsOf(v: bigint, names: Array<[number, string]>): string {
  return (
    names
      .filter(([b]) => (v >> BigInt(b)) & 1n)
      .map(([, n]) => n)
      .join(', ') || 'none'
  );
}

/** One line describing the outcome. */
export function nestedOutcomeText(r: NestedAccessResult): string {
  if (r.ok) return `pa ${hex(r.pa)} (guest-physical ${hex(r.gpa)})`;
  if ('exit' in r) {
    if (r.exit === 'ept-violation')
      return `EPT violation at guest-physical ${hex(r.gpa)}, guest-linear ${hex(r.gla)}; qualification ${hex(BigInt(r.qualification), 3)}: ${bitsOf(BigInt(r.qualification), QUAL_BITS)}`;
    if (r.exit === 'ept-misconfig') return `EPT misconfiguration at guest-physical ${hex(r.gpa)}`;
    return `#VMEXIT(NPF): EXITINFO1 ${hex(r.exitInfo1)} (${bitsOf(r.exitInfo1, NPF_BITS)}), EXITINFO2 ${hex(r.exitInfo2)}`;
  }
  return r.vector === 14
    ? `#PF ${hex(BigInt(r.errorCode), 2)} (${bitsOf(BigInt(r.errorCode), PF_BITS)}) delivered to the guest, CR2 ${hex(r.cr2)}`
    : '#GP delivered to the guest';
}

/** Flags of a host entry: EPT R W X, memory type, PS, A, D; NPT P RW US PS A D NX. */
export function hostFlags(host: 'ept' | 'npt', v: bigint): string {
  const f: string[] = [];
  if (host === 'ept') {
    f.push(['-', 'R'][Number(v & 1n)]! + ['-', 'W'][Number((v >> 1n) & 1n)]! + ['-', 'X'][Number((v >> 2n) & 1n)]!);
    if (v & 0x80n) f.push('PS');
    if (v & 0x100n) f.push('A');
    if (v & 0x200n) f.push('D');
  } else {
    for (const [b, n] of [
      [0n, 'P'],
      [1n, 'RW'],
      [2n, 'US'],
      [7n, 'PS'],
      [5n, 'A'],
      [6n, 'D'],
      [63n, 'NX'],
    ] as const)
      if ((v >> b) & 1n) f.push(n);
  }
  return f.join(' ');
}

/** Flags of a guest entry: P RW US A D PS G XD. */
export function guestFlags(v: bigint): string {
  const f: string[] = [];
  for (const [b, n] of [
    [0n, 'P'],
    [1n, 'RW'],
    [2n, 'US'],
    [5n, 'A'],
    [6n, 'D'],
    [7n, 'PS'],
    [8n, 'G'],
    [63n, 'XD'],
  ] as const)
    if ((v >> b) & 1n) f.push(n);
  return f.join(' ') || 'not present';
}

/** Why the cell that ended the walk ended it. */
export function endReason(x: NestedExplanation): string | undefined {
  const end = x.end;
  if (!end) return undefined;
  const row = x.rows[end.row]!;
  const r = x.result;
  if (end.cell === 'guest') {
    if (end.adUpdate) return `the guest's A/D update of this entry is a write its translation does not allow`;
    if (r.ok || 'exit' in r || r.vector !== 14) return undefined;
    if (!(r.errorCode & 1)) return 'guest entry not present (P = 0)';
    if (r.errorCode & 8) return 'guest entry with a reserved bit set';
    return r.errorCode & 0x20 ? 'protection key denies the access' : 'the guest rights (R/W, U/S, XD, SMEP/SMAP) deny the access';
  }
  const v = row.hostEntries[end.cell]!.value;
  if (r.ok || !('exit' in r)) return undefined;
  if (r.exit === 'ept-misconfig')
    return `misconfigured EPT entry (bits 2:0 = ${(v & 7n).toString(2).padStart(3, '0')}b, memory type ${(v >> 3n) & 7n}, or a reserved bit)`;
  if (r.exit === 'ept-violation') return (v & 7n) === 0n ? 'EPT entry not present (bits 2:0 = 000b)' : 'the EPT rights (AND of bits 2:0) deny the access';
  if (!(v & 1n)) return 'nested entry not present (P = 0)';
  return r.exitInfo1 & 8n ? 'nested entry with a reserved bit set' : 'the nested rights (U/S, R/W, NX) deny the access';
}

const HOST_NAMES = ['PTE', 'PDE', 'PDPTE', 'PML4E', 'PML5E'];

/** Column titles of the host levels, top level first. */
export function hostColumns(x: NestedExplanation): string[] {
  const prefix = x.host === 'ept' ? 'EPT ' : 'n';
  return HOST_NAMES.slice(0, x.hostLevels)
    .reverse()
    .map((n) => prefix + n);
}

/** The heading line of a nested walk. */
export function nestedTitle(x: NestedExplanation): string {
  return `nested walk ${hex(x.va)}  ${x.options.kind}  CPL ${x.options.cpl}  guest ${x.mode}  host ${x.host.toUpperCase()} ${x.hostLevels}-level (${x.host === 'ept' ? 'EPTP' : 'nCR3'} ${hex(x.root)})`;
}

/** The grid as text: values, flags, the ending cell marked `*`, then the outcome. */
export function nestedGridText(x: NestedExplanation): string {
  const cols = hostColumns(x);
  const head = ['guest access', 'gpa', ...cols, 'hpa', 'guest entry read'];
  const body = x.rows.map((row, ri) => {
    const mark = (cell: number | 'guest'): string => (x.end && x.end.row === ri && x.end.cell === cell ? ' *' : '');
    return [
      row.what + (row.cached ? ' (TLB)' : ''),
      hex(row.gpa),
      ...cols.map((_, i) => {
        const e = row.hostEntries[i];
        return e ? `${hex(e.value)} ${hostFlags(x.host, e.value)}${mark(i)}` : row.cached ? '·' : '';
      }),
      row.hpa !== undefined ? hex(row.hpa) : 'exit',
      row.guestEntry !== undefined ? `${hex(row.guestEntry)} ${guestFlags(row.guestEntry)}${mark('guest')}` : '',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const why = endReason(x);
  return (
    [
      nestedTitle(x),
      '',
      line(head),
      ...body.map(line),
      '',
      ...(x.end && why ? [`ended at: ${x.rows[x.end.row]!.what}, ${x.end.cell === 'guest' ? 'guest entry' : cols[x.end.cell]} (*): ${why}`] : []),
      `result: ${nestedOutcomeText(x.result)}`,
      `references: ${x.guestRefs} guest + ${x.hostRefs} host = ${x.guestRefs + x.hostRefs}`,
    ].join('\n') + '\n'
  );
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The grid as an SVG picture: a row per guest access, a column per host level, the host-physical
 * address and the guest entry read; the cell that ended the walk in red, cached rows grey.
 */
export function nestedGridSvg(x: NestedExplanation): string {
  const cols = hostColumns(x);
  const head = ['guest access', ...cols, 'hpa', 'guest entry read'];
  const W = [120, ...cols.map(() => 150), 120, 170];
  const H = 44;
  const top = 56;
  const why = endReason(x);
  const foot = [`result: ${nestedOutcomeText(x.result)}`, (why ? `ended: ${why}; ` : '') + `references: ${x.guestRefs} guest + ${x.hostRefs} host`];
  const width = Math.max(W.reduce((a, b) => a + b, 0) + 20, Math.ceil(7.3 * Math.max(...foot.map((l) => l.length))) + 20);
  const height = top + H * (x.rows.length + 1) + 60;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="22" font-size="13" font-weight="bold">${esc(nestedTitle(x))}</text>`,
  );
  const xs = W.map((_, i) => 10 + W.slice(0, i).reduce((a, b) => a + b, 0));
  head.forEach((h, i) => out.push(`<text x="${xs[i]! + 6}" y="${top - 8}" font-weight="bold">${esc(h)}</text>`));
  x.rows.forEach((row, ri) => {
    const y = top + ri * H;
    const cell = (i: number, fill: string, l1: string, l2 = ''): void => {
      out.push(`<rect x="${xs[i]}" y="${y}" width="${W[i]! - 4}" height="${H - 4}" rx="4" fill="${fill}" stroke="#888"/>`);
      out.push(`<text x="${xs[i]! + 6}" y="${y + 16}">${esc(l1)}</text>`);
      if (l2) out.push(`<text x="${xs[i]! + 6}" y="${y + 32}" fill="#555">${esc(l2)}</text>`);
    };
    const ended = (c: number | 'guest'): boolean => !!x.end && x.end.row === ri && x.end.cell === c;
    cell(0, '#eef', row.what + (row.cached ? ' (TLB)' : ''), `gpa ${hex(row.gpa)}`);
    cols.forEach((_, i) => {
      const e = row.hostEntries[i];
      if (e) cell(i + 1, ended(i) ? '#f99' : '#efe', hex(e.value), hostFlags(x.host, e.value));
      else cell(i + 1, row.cached ? '#ddd' : '#fafafa', row.cached ? 'cached' : '');
    });
    cell(cols.length + 1, row.hpa !== undefined ? '#dfd' : '#fcc', row.hpa !== undefined ? hex(row.hpa) : 'exit');
    const g = row.guestEntry;
    cell(cols.length + 2, ended('guest') ? '#f99' : g !== undefined ? '#eef' : '#fafafa', g !== undefined ? hex(g) : '', g !== undefined ? guestFlags(g) : '');
  });
  const yb = top + x.rows.length * H + 18;
  foot.forEach((l, i) => out.push(`<text x="10" y="${yb + 18 * i}">${esc(l)}</text>`));
  out.push('</svg>');
  return out.join('\n') + '\n';
}
