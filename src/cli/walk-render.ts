/**
 * Terminal rendering of an explained walk for `pagewalk walk`. With colour (a TTY without
 * NO_COLOR) decisive bits are shown in inverse video and bits the walk set in green; without,
 * plain-text markers: `[RW]` decisive and set, `[!RW]` decisive and clear, `+A` set by the walk.
 */
import type { FlagToken, WalkDescription } from '../explain/describe.js';
import { hex } from '../loader/hex.js';

export interface RenderOptions {
  color: boolean;
  /** Shown in the header, e.g. the image file name. */
  source?: string;
}

const ESC = '\x1b[';
const paint = (on: boolean, code: string, s: string): string => (on ? `${ESC}${code}m${s}${ESC}0m` : s);

function token(t: FlagToken, color: boolean): string {
  if (!t.set) return color ? paint(true, '1;7;31', `!${t.name}`) : `[!${t.name}]`;
  if (t.decisive) return color ? paint(true, '1;7', t.name) + (t.changed ? paint(true, '32', '+') : '') : `[${t.name}]${t.changed ? '+' : ''}`;
  if (t.changed) return color ? paint(true, '32', `+${t.name}`) : `+${t.name}`;
  return t.name;
}

/** Visible width of a string with ANSI colour codes. */
function width(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}

function pad(s: string, n: number): string {
  return s + ' '.repeat(Math.max(0, n - width(s)));
}

function fieldsLine(d: WalkDescription): string {
  return d.fields
    .map((f) => {
      const digits = Math.ceil((f.hi - f.lo + 1) / 4);
      return `${f.name}[${f.hi}:${f.lo}]=${hex(f.value, Math.min(digits, 16))}`;
    })
    .join('  ');
}

function tableLines(d: WalkDescription, color: boolean): string[] {
  if (d.rows.length === 0) return [d.source === 'tlb' ? '(translation from the TLB: no levels walked)' : '(no levels walked)'];
  const head = ['level', 'index', 'entry address', 'value', 'flags', 'decision'];
  const rows = d.rows.map((r) => [
    r.name,
    hex(r.index, 3),
    r.entryAddress,
    r.value !== r.valueAfter ? `${r.value} -> ${r.valueAfter}` : r.value,
    r.flags.map((t) => token(t, color)).join(' '),
    r.decision + (r.cached ? ' (cached)' : ''),
  ]);
  const widths = head.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i]))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]))).join('  ');
  return [line(head.map((h) => paint(color, '1', h))), ...rows.map(line)];
}

function resultLines(d: WalkDescription, color: boolean): string[] {
  const out = [`result: ${paint(color, d.pa ? '1;32' : '1;31', d.outcome)}  — ${d.summary}`];
  if (d.errorBits) {
    out.push(`error code ${hex(d.errorCode ?? 0, 4)}:`);
    for (const b of d.errorBits) out.push(`  bit ${b.bit}  ${b.name.padEnd(4)}  ${b.set ? paint(color, '1', '1') : '0'}  ${b.meaning}`);
    out.push(`CR2 = ${d.cr2}`);
  }
  return out;
}

function adLines(d: WalkDescription): string[] {
  if (d.adChanges.length === 0) return ['A/D bits set by this walk: none'];
  return [
    'A/D bits set by this walk:',
    ...d.adChanges.map((c) => `  ${c.name.padEnd(5)} at ${c.entryAddress}: ${c.bits.join('+')}  (${c.before} -> ${c.after})`),
  ];
}

/** The full text explanation, one string with trailing newline. */
export function renderWalk(d: WalkDescription, opts: RenderOptions): string {
  const c = opts.color;
  const lines = [
    `${paint(c, '1', 'walk')} ${d.va}  ${d.kind}  CPL ${d.cpl}  mode ${d.mode}${opts.source ? `  image ${opts.source}` : ''}`,
    '',
    `address  ${fieldsLine(d)}`,
    '',
    ...tableLines(d, c),
    '',
    ...resultLines(d, c),
    ...adLines(d),
  ];
  if (!c) lines.push('', 'legend: [X] decisive bit (set), [!X] decisive bit (clear), +X set by this walk');
  return lines.join('\n') + '\n';
}
