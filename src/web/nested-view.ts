/**
 * DOM rendering of a nested (2D) walk (`cpu.nestedExplain`): the grid as a table — a row per
 * guest-physical address translated, a column per host level, the host-physical address and the
 * guest entry each row read — with the cell that ended the walk marked and the exit (or the
 * guest's #PF) decoded. Cells and texts come from src/explain/nested.ts, as on the command line.
 */
import type { NestedExplanation } from '../core/nested.js';
import { endReason, guestFlags, hostColumns, hostFlags, nestedOutcomeText, nestedTitle } from '../explain/nested.js';
import { hex } from '../loader/hex.js';
import { h } from './dom.js';

export function nestedView(x: NestedExplanation): HTMLElement {
  const cols = hostColumns(x);
  const ended = (ri: number, c: number | 'guest'): boolean => !!x.end && x.end.row === ri && x.end.cell === c;
  const cell = (end: boolean, value: string, flags: string): HTMLElement =>
    h('td', { class: `mono${end ? ' ended' : ''}`, ...(end ? { 'data-ended': '1' } : {}) }, value, flags ? h('div', { class: 'flags muted' }, flags) : null);
  const rows = x.rows.map((row, ri) =>
    h(
      'tr',
      { 'data-row': row.what, class: row.cached ? 'cached' : '' },
      h('th', {}, row.what + (row.cached ? ' (TLB)' : ''), h('div', { class: 'mono muted' }, `gpa ${hex(row.gpa)}`)),
      ...cols.map((_, i) => {
        const e = row.hostEntries[i];
        return e ? cell(ended(ri, i), hex(e.value), hostFlags(x.host, e.value)) : cell(false, row.cached ? 'cached' : '', '');
      }),
      cell(false, row.hpa !== undefined ? hex(row.hpa) : 'exit', ''),
      row.guestEntry !== undefined ? cell(ended(ri, 'guest'), hex(row.guestEntry), guestFlags(row.guestEntry)) : cell(false, '', ''),
    ),
  );
  const why = endReason(x);
  return h(
    'div',
    { class: 'nested' },
    h('p', { class: 'mono' }, nestedTitle(x)),
    h(
      'table',
      { class: 'grid', 'data-testid': 'nested-grid' },
      h('thead', {}, h('tr', {}, ...['guest access', ...cols, 'hpa', 'guest entry read'].map((c) => h('th', {}, c)))),
      h('tbody', {}, ...rows),
    ),
    why && x.end
      ? h('p', { 'data-testid': 'nested-end' }, `Ended at ${x.rows[x.end.row]!.what}, ${x.end.cell === 'guest' ? 'guest entry' : cols[x.end.cell]}: ${why}.`)
      : null,
    h('p', { class: 'outcome', 'data-testid': 'outcome' }, nestedOutcomeText(x.result)),
    h('p', { class: 'muted' }, `${x.guestRefs} guest + ${x.hostRefs} host references = ${x.guestRefs + x.hostRefs}`),
  );
}
