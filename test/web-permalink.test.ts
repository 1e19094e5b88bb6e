// Permalinks of the walk explainer (src/web/permalink.ts): round trips and errors naming the part.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { imageToJsonText, parseImage } from '../src/loader/image.js';
import { decodePermalink, encodePermalink } from '../src/web/permalink.js';

describe('permalinks', () => {
  it('links an example by name and a query by value', () => {
    const hash = encodePermalink({ example: '4level', query: { va: 0xffffffff80001234n, kind: 'exec', cpl: 0, ac: true, implicit: false } });
    expect(hash).toBe('#ex=4level&va=0xffffffff80001234&kind=exec&cpl=0&ac=1');
    expect(decodePermalink(hash)).toEqual({ example: '4level', query: { va: 0xffffffff80001234n, kind: 'exec', cpl: 0, ac: true, implicit: false } });
  });

  it('carries a custom image by value (base64url of its JSON, non-ASCII notes included)', () => {
    const img = parseImage(readFileSync(new URL('../examples/pae.json', import.meta.url)));
    img.writes[0].note = 'PDPTE[0] → PD (é)';
    const json = imageToJsonText(img);
    const hash = encodePermalink({ imageJson: json, query: { va: 0x10123n, kind: 'write', cpl: 3, ac: false, implicit: true } });
    expect(hash).toMatch(/^#img=[A-Za-z0-9_-]+&va=0x10123&kind=write&cpl=3&implicit=1$/);
    const back = decodePermalink(hash);
    expect(back.imageJson).toBe(json);
    expect(parseImage(back.imageJson!)).toEqual(img);
  });

  it('carries the host of a nested walk', () => {
    const query = { va: 0x123n, kind: 'write' as const, cpl: 3 as const, ac: false, implicit: false, host: { kind: 'npt' as const, root: 0x10000n } };
    const hash = encodePermalink({ example: 'nested-ept', query });
    expect(hash).toBe('#ex=nested-ept&va=0x123&kind=write&cpl=3&host=npt:0x10000');
    expect(decodePermalink(hash)).toEqual({ example: 'nested-ept', query });
  });

  it('an empty hash is an empty permalink', () => {
    expect(decodePermalink('')).toEqual({});
  });

  it.each([
    ['#ex=4level&va=zz', 'permalink: va "zz" is not a 64-bit hex address'],
    ['#ex=4level&va=0x10000000000000000', 'permalink: va "0x10000000000000000" is not a 64-bit hex address'],
    ['#ex=4level&va=0x1000&kind=fetch', 'permalink: kind "fetch" is not read, write or exec'],
    ['#ex=4level&va=0x1000&cpl=7', 'permalink: cpl "7" is not 0..3'],
    ['#img=%%%', 'permalink: img is not base64url'],
    ['#ex=4level&va=0x1000&host=vmx:0x1', 'permalink: host "vmx:0x1" is not ept:<EPTP> or npt:<nCR3>'],
  ])('rejects %s naming the part', (hash, message) => {
    expect(() => decodePermalink(hash)).toThrow(message);
  });
});
