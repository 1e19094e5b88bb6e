// docs/nested.md's grid figures (text and SVG) are the tool's own output, current with the code:
// regenerate with `npx tsx scripts/gen-nested-figures.ts`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseImage } from '../src/loader/image.js';
import { nestedFigures, withFigures } from '../src/explain/nested-figures.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('docs/nested.md figures', () => {
  it('are what the tool prints and draws today', async () => {
    const figures = await nestedFigures(parseImage(readFileSync(join(root, 'examples', 'nested-ept.json'))));
    const md = readFileSync(join(root, 'docs', 'nested.md'), 'utf8');
    expect(md, 'stale: run npx tsx scripts/gen-nested-figures.ts').toBe(withFigures(md, figures));
    for (const f of figures) expect(readFileSync(join(root, 'docs', f.svgFile), 'utf8'), `docs/${f.svgFile}`).toBe(f.svg);
    expect(figures[1]!.text).toContain('ended at: PDE, EPT PTE (*)');
  });
});
