// Builds the web page into dist/web/: index.html, style.css, app.js (one classic script, so the
// page works from file:// as well as from any static server) and pagewalk.js (the package as a
// classic script defining the global `pagewalk`, for embedding without a bundler).
// The fuzzer worker is bundled first and embedded in app.js as a string; the page starts it from
// a Blob URL, which also works from file://. Imported by scripts/build.mjs; `buildWeb()` is
// exported for the browser test.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const web = join(root, 'src', 'web');
const common = { bundle: true, platform: 'browser', target: 'es2022', logLevel: 'warning', absWorkingDir: root };

function examples() {
  return Object.fromEntries(
    ['32bit', 'pae', '4level', '5level', 'nested-ept'].map((m) => [m, JSON.parse(readFileSync(join(root, 'examples', `${m}.json`), 'utf8'))]),
  );
}

/** The bundled fuzzer worker, or '' when this tree has no fuzzer (the panel then says so). */
async function workerSource() {
  const entry = join(web, 'fuzz-worker.ts');
  if (!existsSync(entry) || !existsSync(join(root, 'src', 'fuzz', 'runner.ts'))) return '';
  const r = await build({ ...common, entryPoints: [entry], format: 'iife', write: false, minify: true });
  return r.outputFiles[0].text;
}

/** Builds the page into `outDir` (default dist/web) and returns that directory. */
export async function buildWeb(outDir = join(root, 'dist', 'web')) {
  mkdirSync(outDir, { recursive: true });
  const define = { __PW_EXAMPLES__: JSON.stringify(examples()), __PW_WORKER_SOURCE__: JSON.stringify(await workerSource()) };
  await build({ ...common, entryPoints: [join(web, 'main.ts')], outfile: join(outDir, 'app.js'), format: 'iife', define, minify: true, sourcemap: false });
  await build({ ...common, entryPoints: [join(web, 'global.ts')], outfile: join(outDir, 'pagewalk.js'), format: 'iife', globalName: 'pagewalk', minify: true });
  for (const f of ['index.html', 'style.css', 'embed-example.html']) copyFileSync(join(web, f), join(outDir, f));
  return outDir;
}

await buildWeb();
