/**
 * Permalinks of the walk explainer: the image and the query live in the URL hash, e.g.
 * `#ex=4level&va=0x11000&kind=write&cpl=3` for an unmodified example, or
 * `#img=<base64url of the image JSON>&va=...` for any other image. Nothing is sent to a server.
 */
import type { AccessKind } from '../core/types.js';
import { hex } from '../loader/hex.js';
import { PagewalkError } from '../core/errors.js';

export interface WalkQuery {
  va: bigint;
  kind: AccessKind;
  cpl: 0 | 1 | 2 | 3;
  ac: boolean;
  implicit: boolean;
  /** Walk as a guest under EPT (root = EPTP) or NPT (root = nested CR3): the 2D grid. */
  host?: { kind: 'ept' | 'npt'; root: bigint };
}

export interface Permalink {
  /** Name of an unmodified example (a key of __PW_EXAMPLES__). */
  example?: string;
  /** JSON text of a custom image. */
  imageJson?: string;
  query?: WalkQuery;
}

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): string {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The hash (with leading '#') for a permalink. */
export function encodePermalink(p: Permalink): string {
  const parts: string[] = [];
  if (p.example) parts.push(`ex=${encodeURIComponent(p.example)}`);
  else if (p.imageJson) parts.push(`img=${toBase64Url(p.imageJson)}`);
  if (p.query) {
    const q = p.query;
    parts.push(`va=${hex(q.va)}`, `kind=${q.kind}`, `cpl=${q.cpl}`);
    if (q.ac) parts.push('ac=1');
    if (q.implicit) parts.push('implicit=1');
    if (q.host) parts.push(`host=${q.host.kind}:${hex(q.host.root)}`);
  }
  return '#' + parts.join('&');
}

function bad(what: string): never {
  throw new PagewalkError('EBAD_INPUT', `permalink: ${what}`);
}

/** Decodes a hash; an empty hash gives `{}`. Bad parts throw EBAD_INPUT naming the part. */
export function decodePermalink(hash: string): Permalink {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const p: Permalink = {};
  const ex = params.get('ex');
  const img = params.get('img');
  if (ex) p.example = ex;
  else if (img) {
    try {
      p.imageJson = fromBase64Url(img);
    } catch {
      bad('img is not base64url');
    }
  }
  const va = params.get('va');
  if (va !== null) {
    if (!/^0x[0-9a-f]+$/i.test(va) || BigInt(va) >= 1n << 64n) bad(`va ${JSON.stringify(va)} is not a 64-bit hex address`);
    const kind = params.get('kind') ?? 'read';
    if (kind !== 'read' && kind !== 'write' && kind !== 'exec') bad(`kind ${JSON.stringify(kind)} is not read, write or exec`);
    const cpl = Number(params.get('cpl') ?? '0');
    if (![0, 1, 2, 3].includes(cpl)) bad(`cpl ${JSON.stringify(params.get('cpl'))} is not 0..3`);
    p.query = { va: BigInt(va), kind, cpl: cpl as WalkQuery['cpl'], ac: params.get('ac') === '1', implicit: params.get('implicit') === '1' };
    const host = params.get('host');
    if (host !== null) {
      const m = /^(ept|npt):(0x[0-9a-f]+)$/i.exec(host);
      if (!m || BigInt(m[2]!) >= 1n << 64n) bad(`host ${JSON.stringify(host)} is not ept:<EPTP> or npt:<nCR3>`);
      p.query.host = { kind: m[1]!.toLowerCase() as 'ept' | 'npt', root: BigInt(m[2]!) };
    }
  }
  return p;
}
