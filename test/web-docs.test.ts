// The embedding examples of docs/web.md are real: the Node one runs (importing the package by its
// name) and prints what its comments say; the browser one is the script of embed-example.html,
// which test/browser.test.ts runs in Chromium.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const doc = readFileSync(join(root, 'docs', 'web.md'), 'utf8');

/** The first fenced block of `lang` after the heading `heading`. */
function blockAfter(heading: string, lang: string): string {
  const at = doc.indexOf(heading);
  expect(at).toBeGreaterThanOrEqual(0);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(doc.slice(at));
  if (!m) throw new Error(`no ${lang} block after ${heading}`);
  return m[1];
}

describe('docs/web.md embedding examples', () => {
  it('the Node example runs and prints what its comments say', () => {
    const code = blockAfter('### Node (10 lines)', 'js');
    expect(code.trimEnd().split('\n').length).toBeLessThanOrEqual(10);
    expect(existsSync(join(root, 'dist', 'index.js'))).toBe(true);
    mkdirSync(join(root, 'test-output'), { recursive: true });
    const file = join(root, 'test-output', 'embed-node.mjs'); // inside the package: 'pagewalk' resolves to itself
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const promised = code
      .split('\n')
      .filter((l) => l.startsWith('console.log('))
      .map((l) => l.replace(/^.*\/\/\s*/, ''));
    expect(r.stdout.trim().split('\n')).toEqual(promised);
  });

  it('the browser example is the script of embed-example.html', () => {
    const html = blockAfter('### Browser (10 lines)', 'html');
    const page = readFileSync(join(root, 'src', 'web', 'embed-example.html'), 'utf8');
    const script = html.split('\n').filter((l) => l.trim() && !l.startsWith('<pre'));
    for (const line of script) expect(page).toContain(line);
  });
});
