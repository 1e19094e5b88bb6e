// Regenerates the figures of docs/nested.md (the 2D grid as SVG and as text) from the tool itself:
// `npx tsx scripts/gen-nested-figures.ts`. test/nested-docs.test.ts fails when they are stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseImage } from '../src/loader/image.js';
import { nestedFigures, withFigures } from '../src/explain/nested-figures.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const figures = await nestedFigures(parseImage(readFileSync(join(root, 'examples', 'nested-ept.json'))));
for (const f of figures) writeFileSync(join(root, 'docs', f.svgFile), f.svg);
const md = join(root, 'docs', 'nested.md');
writeFileSync(md, withFigures(readFileSync(md, 'utf8'), figures));
console.log(`wrote ${figures.map((f) => `docs/${f.svgFile}`).join(', ')} and the figures of docs/nested.md`);
