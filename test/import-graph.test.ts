// The import graph of src/ (docs/architecture.md): no cycles, and dependencies point one way,
// core <- models <- fuzz <- front ends. Only value imports count: `import type` (and an import of
// types only) is erased by the compiler and creates no dependency at run time.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** Layer of each top-level directory (or file) of src/: a module may import its layer and below. */
const LAYERS: Record<string, number> = {
  core: 0,
  reference: 0,
  util: 0,
  modelcpu: 1,
  scheduler: 1,
  sanitizers: 1,
  presets: 1,
  linux: 1,
  xen: 1,
  loader: 1,
  explain: 1,
  scenarios: 1,
  cost: 1,
  fuzz: 2,
  cli: 3,
  web: 3,
  'index.ts': 3,
};
const LAYER_NAMES = ['core', 'models', 'fuzz', 'front ends'];

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

/** The relative value imports of a source text, as written. */
function valueImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3] ?? m[4];
    if (!spec.startsWith('.') || m[1]) continue;
    const clause = m[2] ?? '';
    const named = /^\{([^}]*)\}$/.exec(clause.trim());
    if (
      named &&
      named[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith('type '))
    )
      continue;
    out.push(spec);
  }
  return out;
}

function resolveSpec(from: string, spec: string): string {
  const p = resolve(dirname(from), spec).replace(/\.js$/, '.ts');
  if (existsSync(p)) return p;
  const idx = p.replace(/\.ts$/, '/index.ts');
  return existsSync(idx) ? idx : p;
}

function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of sources(SRC))
    g.set(
      f,
      valueImports(readFileSync(f, 'utf8')).map((s) => resolveSpec(f, s)),
    );
  return g;
}

const rel = (p: string) => relative(SRC, p);
const top = (p: string) => rel(p).split('/')[0];

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
function cycles(g: Map<string, string[]>): string[][] {
  let n = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(rel(w));
      } while (w !== v);
      if (c.length > 1 || (g.get(v) ?? []).includes(v)) out.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('import graph of src/', () => {
  const g = graph();

  it('the checker sees value imports and ignores type-only ones', () => {
    expect(
      valueImports(
        `import { a } from './a.js';\nimport type { B } from './b.js';\nimport { type C, type D } from './c.js';\nimport { type E, f } from './e.js';\nimport './side.js';\nexport { g } from './g.js';\nexport type { H } from './h.js';\nimport x from 'node:fs';`,
      ),
    ).toEqual(['./a.js', './e.js', './side.js', './g.js']);
    expect(
      cycles(
        new Map([
          ['/a', ['/b']],
          ['/b', ['/a']],
          ['/c', ['/a']],
        ]),
      ).length,
    ).toBe(1);
    expect(g.size).toBeGreaterThan(100);
  });

  it('every source file is in a known layer', () => {
    const unknown = [...new Set([...g.keys()].map(top))].filter((d) => !(d in LAYERS));
    expect(unknown).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(cycles(g)).toEqual([]);
  });

  it('has no upward imports (core <- models <- fuzz <- cli/web)', () => {
    const bad: string[] = [];
    for (const [f, deps] of g) {
      for (const d of deps) {
        const from = LAYERS[top(f)];
        const to = LAYERS[top(d)];
        if (to > from) bad.push(`${rel(f)} (${LAYER_NAMES[from]}) imports ${rel(d)} (${LAYER_NAMES[to]})`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('presets are plain data and linux/config depends only on the preset registry', () => {
    const presets = [...g.entries()]
      .filter(([f]) => top(f) === 'presets')
      .flatMap(([f, deps]) => deps.filter((d) => !['presets', 'core'].includes(top(d))).map((d) => `${rel(f)} -> ${rel(d)}`));
    expect(presets).toEqual([]);
    const config = g.get(join(SRC, 'linux/config.ts'))!.map(rel);
    expect(config.filter((d) => !d.startsWith('presets/') && d !== 'core/errors.ts')).toEqual([]);
  });
});
