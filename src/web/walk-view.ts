/**
 * DOM rendering of an explained walk (a WalkDescription from src/explain/describe.ts): the
 * address split into index fields, one table row per level, the outcome with the #PF error code
 * decoded bit by bit, and the accessed/dirty bits the walk set (animated).
 */
import type { AddressField, FlagToken, LevelRow, WalkDescription } from '../explain/describe.js';
import { hex } from '../loader/hex.js';
import { h } from './dom.js';

const LEVEL_CLASS: Record<number, string> = { 5: 'l5', 4: 'l4', 3: 'l3', 2: 'l2', 1: 'l1', 0: 'off', [-1]: 'sign' };
const TABLE_LEVEL: Record<string, number> = { PML5E: 5, PML4E: 4, PDPTE: 3, PDE: 2, PTE: 1 };

function fieldBox(f: AddressField): HTMLElement {
  const digits = Math.min(16, Math.ceil((f.hi - f.lo + 1) / 4));
  return h(
    'div',
    { class: `field ${LEVEL_CLASS[f.level]}`, 'data-field': f.name },
    h('div', { class: 'field-name' }, f.name),
    h('div', { class: 'field-bits' }, `${f.hi}:${f.lo}`),
    h('div', { class: 'field-value mono' }, hex(f.value, digits)),
  );
}

function flagSpan(t: FlagToken): HTMLElement {
  const cls = ['flag', t.set ? 'set' : 'clear', t.decisive ? 'decisive' : '', t.changed ? 'changed' : ''].filter(Boolean).join(' ');
  const title = [t.set ? `${t.name} = 1` : `${t.name} = 0`, t.decisive ? 'decided the outcome here' : '', t.changed ? 'set by this walk' : '']
    .filter(Boolean)
    .join('; ');
  return h('span', { class: cls, title }, t.set ? t.name : `!${t.name}`);
}

function valueCell(r: LevelRow): HTMLElement {
  if (r.value === r.valueAfter) return h('td', { class: 'mono' }, r.value);
  return h(
    'td',
    { class: 'mono' },
    h('span', { class: 'before' }, r.value),
    h('span', { class: 'arrow' }, ' → '),
    h('span', { class: 'after changed' }, r.valueAfter),
  );
}

function rowView(r: LevelRow, notes: ReadonlyMap<string, string>): HTMLElement {
  const lvl = TABLE_LEVEL[r.name] ?? r.level;
  return h(
    'tr',
    { class: `decision-${r.decision}`, 'data-level': r.name },
    h('td', { class: `lvl ${LEVEL_CLASS[lvl]}` }, r.name),
    h('td', { class: 'mono' }, hex(r.index, 3)),
    h('td', { class: 'mono' }, r.entryAddress),
    valueCell(r),
    h('td', { class: 'flags' }, ...r.flags.flatMap((t) => [flagSpan(t), ' '])),
    h('td', {}, r.decision + (r.cached ? ' (cached)' : '')),
    h('td', { class: 'note muted' }, notes.get(r.entryAddress) ?? ''),
  );
}

function levelsView(d: WalkDescription, notes: ReadonlyMap<string, string>): HTMLElement {
  if (d.rows.length === 0) return h('p', { class: 'muted' }, d.source === 'tlb' ? 'Translated by the TLB: no level walked.' : 'No level walked.');
  return h(
    'table',
    { class: 'levels', 'data-testid': 'levels' },
    h('thead', {}, h('tr', {}, ...['level', 'index', 'entry address', 'value', 'flags', 'decision', 'image note'].map((c) => h('th', {}, c)))),
    h('tbody', {}, ...d.rows.map((r) => rowView(r, notes))),
  );
}

function errorCodeView(d: WalkDescription): HTMLElement | null {
  if (!d.errorBits) return null;
  return h(
    'div',
    { class: 'errcode' },
    h(
      'h4',
      {},
      'Page-fault error code ',
      h('span', { class: 'mono', 'data-testid': 'error-code' }, hex(d.errorCode ?? 0, 4)),
      ` · CR2 = `,
      h('span', { class: 'mono' }, d.cr2 ?? ''),
    ),
    h(
      'table',
      { class: 'errbits', 'data-testid': 'error-bits' },
      h('thead', {}, h('tr', {}, h('th', {}, 'bit'), h('th', {}, 'name'), h('th', {}, 'value'), h('th', {}, 'meaning'))),
      h(
        'tbody',
        {},
        ...d.errorBits.map((b) =>
          h(
            'tr',
            { class: b.set ? 'on' : 'off', 'data-bit': b.name },
            h('td', {}, b.bit),
            h('td', {}, b.name),
            h('td', { class: 'mono' }, b.set ? '1' : '0'),
            h('td', {}, b.meaning),
          ),
        ),
      ),
    ),
  );
}

function adView(d: WalkDescription): HTMLElement {
  if (d.adChanges.length === 0) return h('p', { class: 'ad muted', 'data-testid': 'ad-changes' }, 'Accessed/dirty bits set by this walk: none.');
  return h(
    'div',
    { class: 'ad', 'data-testid': 'ad-changes' },
    h('h4', {}, 'Accessed/dirty bits set by this walk'),
    h(
      'ul',
      {},
      ...d.adChanges.map((c) =>
        h(
          'li',
          {},
          `${c.name} at `,
          h('span', { class: 'mono' }, c.entryAddress),
          ': ',
          h('span', { class: 'flag set changed' }, c.bits.join('+')),
          '  ',
          h('span', { class: 'mono muted' }, `${c.before} → ${c.after}`),
        ),
      ),
    ),
  );
}

/**
 * The whole explanation as one element. `notes` maps entry addresses (as `hex()` prints them) to
 * the image's note for the write that stored that entry.
 */
export function walkView(d: WalkDescription, notes: ReadonlyMap<string, string> = new Map()): HTMLElement {
  const kind = d.pa ? 'ok' : d.outcome === '#GP' ? 'gp' : 'pf';
  return h(
    'div',
    { class: 'walk' },
    h('div', { class: 'walk-head' }, h('span', { class: 'mono' }, d.va), ` · ${d.kind} · CPL ${d.cpl} · ${d.mode}`),
    h('div', { class: 'fields', 'data-testid': 'fields' }, ...d.fields.map(fieldBox)),
    levelsView(d, notes),
    h(
      'div',
      { class: `result ${kind}`, 'data-testid': 'result' },
      h('strong', { class: 'mono', 'data-testid': 'outcome' }, d.outcome),
      h('span', {}, ` — ${d.summary}`),
    ),
    errorCodeView(d),
    adView(d),
  );
}
