// Bundles the package entry (platform-neutral ESM), the CLI (Node) and the web page.
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';

mkdirSync('dist', { recursive: true });
await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
});
await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  banner: { js: '#!/usr/bin/env node\nimport { createRequire as __pwCreateRequire } from "node:module"; const require = __pwCreateRequire(import.meta.url);' },
});
if (existsSync('src/cli/worker.ts')) {
  await build({
    entryPoints: ['src/cli/worker.ts'],
    outfile: 'dist/worker.js',
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
}
if (existsSync('src/web/build.mjs')) {
  await import('../src/web/build.mjs');
}
