// End-to-end test of the web page in real Chromium (playwright-core driving Debian's
// /usr/bin/chromium): builds the page, serves dist/web on 127.0.0.1, explains known walks, checks
// the decoded #PF error code on screen, follows a permalink, loads the page from file://, runs the
// fuzzer worker until it reports a finding, and saves test-output/browser-walk.png.
// Chromium comes from the setup step scripts/setup-browser.mjs (`npm run setup:browser`), which
// beforeAll calls and logs; when Chromium is missing and cannot be installed there, every test here
// is skipped with the reason.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBinaryImage, parseImage } from '../src/loader/image.js';
import { setupBrowser } from '../scripts/setup-browser.mjs';
import { serveStatic, type StaticServer } from './support/static-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const webDir = join(root, 'dist', 'web');
const shot = join(root, 'test-output', 'browser-walk.png');
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];

let chrome: ReturnType<typeof setupBrowser> = { skip: 'the browser setup step did not run' };
let server: StaticServer;
let context: BrowserContext;
let profile: string;
const pageErrors: string[] = [];

async function open(url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${url}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${url}: console: ${m.text()}`);
  });
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(url);
  await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
  expect(await page.getAttribute('body', 'data-ready')).toBe('1');
  return page;
}

/** Waits until the page has finished its queued loads and walks. */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => !document.body.dataset.busy, undefined, { timeout: 30_000 });
}

async function walkOn(page: Page, va: string, kind: string, cpl: string): Promise<string> {
  await page.fill('[data-testid=va]', va);
  await page.selectOption('[data-testid=kind]', kind);
  await page.selectOption('[data-testid=cpl]', cpl);
  await page.click('[data-testid=walk]');
  await settled(page);
  return (await page.textContent('[data-testid=outcome]')) ?? '';
}

beforeAll(async () => {
  chrome = setupBrowser({ log: (line) => console.log(line) });
  if (chrome.skip) {
    console.warn(`browser test skipped: ${chrome.skip}`);
    return;
  }
  console.log(`browser setup: ${chrome.how} Chromium at ${chrome.path}`);
  await import('../src/web/build.mjs'); // builds dist/web
  server = await serveStatic(webDir);
  profile = mkdtempSync(join(tmpdir(), 'pagewalk-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: chrome.path, headless: true, args: ARGS });
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('web page in Chromium', () => {
  it('explains a successful write: four levels, A and D bits set, physical address', async (ctx) => {
    if (chrome.skip) ctx.skip(chrome.skip);
    const page = await open(`${server.url}/index.html`);
    expect(await page.textContent('[data-testid=image-info]')).toContain('4-level paging');
    expect(await walkOn(page, '0x10123', 'write', '3')).toBe('pa 0x10123');
    const levels = await page.$$eval('[data-testid=levels] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-level')));
    expect(levels).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE']);
    const pte = await page.textContent('[data-testid=levels] tr[data-level=PTE]');
    expect(pte).toContain('0x0000000000010007 → 0x0000000000010067');
    expect(await page.textContent('[data-testid=ad-changes]')).toContain('PTE at 0x4080: A+D');
    const fields = await page.$$eval('[data-testid=fields] .field', (fs) => fs.map((f) => f.getAttribute('data-field')));
    expect(fields).toEqual(['sign', 'PML4', 'PDPT', 'PD', 'PT', 'offset']);
    // A second walk on the same memory sees the bits the first one set.
    await walkOn(page, '0x10123', 'write', '3');
    expect(await page.textContent('[data-testid=ad-changes]')).toContain('none');
    await page.close();
  });

  it('decodes the error code of a known fault on screen, and its permalink reproduces it', async (ctx) => {
    if (chrome.skip) ctx.skip(chrome.skip);
    const page = await open(`${server.url}/index.html`);
    await page.click('[data-testid=queries] button[data-query="1"]'); // 0x11000 write CPL3
    await settled(page);
    expect(await page.textContent('[data-testid=outcome]')).toBe('#PF 0x7');
    expect(await page.textContent('[data-testid=error-code]')).toBe('0x0007');
    const bits = await page.$$eval('[data-testid=error-bits] tbody tr', (rows) => rows.map((r) => [r.getAttribute('data-bit'), r.className, r.textContent]));
    expect(bits.map(([name, cls]) => `${name}=${cls === 'on' ? 1 : 0}`)).toEqual(['P=1', 'W/R=1', 'U/S=1', 'RSVD=0', 'I/D=0', 'PK=0']);
    expect(bits[1][2]).toContain('the access was a write');
    // The decisive bit: R/W clear in the PTE.
    expect(await page.textContent('[data-testid=levels] tr[data-level=PTE] .flag.decisive.clear')).toBe('!RW');
    mkdirSync(join(root, 'test-output'), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    const href = await page.getAttribute('[data-testid=permalink]', 'href');
    expect(href).toBe('#ex=4level&va=0x11000&kind=write&cpl=3');
    await page.close();
    const again = await open(`${server.url}/index.html${href}`);
    await settled(again);
    expect(await again.textContent('[data-testid=outcome]')).toBe('#PF 0x7');
    await again.close();
  });

  it('shows a nested walk as its 2D grid, with the cell that ended it, and links it', async (ctx) => {
    if (chrome.skip) ctx.skip(chrome.skip);
    const page = await open(`${server.url}/index.html`);
    await page.selectOption('[data-testid=mode]', 'nested-ept');
    await settled(page);
    expect(await page.inputValue('[data-testid=host-root]')).toBe('0x1001e');
    await page.click('[data-testid=queries] button[data-query="0"]');
    await settled(page);
    const rows = await page.$$eval('[data-testid=nested-grid] tbody tr', (rs) => rs.map((r) => [r.getAttribute('data-row'), r.querySelectorAll('td').length]));
    expect(rows).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE', 'GPA'].map((w) => [w, 6])); // 4 EPT levels, hpa, guest entry
    expect(await page.textContent('[data-testid=outcome]')).toBe('pa 0x209123 (guest-physical 0x9123)');
    await page.fill('[data-testid=host-root]', '0x1005e'); // EPT A/D on: the guest PDE's page is read-only
    await page.click('[data-testid=walk]');
    await settled(page);
    expect(await page.textContent('[data-testid=outcome]')).toContain('EPT violation at guest-physical 0x3000');
    expect(await page.$$eval('[data-testid=nested-grid] td[data-ended]', (cs) => cs.map((c) => c.textContent))).toEqual(['0x203035R-X']);
    const href = await page.getAttribute('[data-testid=permalink]', 'href');
    expect(href).toBe('#ex=nested-ept&va=0x123&kind=write&cpl=3&host=ept:0x1005e');
    await page.close();
  });

  it('loads a custom image from the JSON editor, names a malformed field, and links it by value', async (ctx) => {
    if (chrome.skip) ctx.skip(chrome.skip);
    const page = await open(`${server.url}/index.html`);
    await page.selectOption('[data-testid=mode]', '32bit');
    await settled(page);
    await page.click('#image-editor summary');
    const json = await page.inputValue('#image-json');
    await page.fill('#image-json', json.replace('"pa":"0x1004"', '"pa":4100'));
    await page.click('#image-apply');
    await settled(page);
    expect(await page.textContent('[data-testid=error]')).toBe('image.writes[1].pa: not a hex string (expected like "0x1000", got 4100)');
    await page.fill('#image-json', json.replace('"value":"0x400087"', '"value":"0x400085"')); // the 4 MiB page becomes read-only
    await page.click('#image-apply');
    await settled(page);
    expect(await page.textContent('[data-testid=error]')).toBe('');
    expect(await walkOn(page, '0x400123', 'write', '3')).toBe('#PF 0x7');
    const href = (await page.getAttribute('[data-testid=permalink]', 'href')) ?? '';
    expect(href).toMatch(/^#img=[A-Za-z0-9_-]+&va=0x400123&kind=write&cpl=3$/);
    await page.close();
    const again = await open(`${server.url}/index.html${href}`);
    await settled(again);
    expect(await again.textContent('[data-testid=outcome]')).toBe('#PF 0x7');
    await again.close();
  });

  it('loads a binary image file', async (ctx) => {
    if (chrome.skip) ctx.skip(chrome.skip);
    const page = await open(`${server.url}/index.html`);
    const bin = encodeBinaryImage(parseImage(readFileSync(join(root, 'examples', '5level.json'))));
    await page.setInputFiles('#image-file', { name: '5level.pwimg', mimeType: 'application/octet-stream', buffer: Buffer.from(bin) });
    await settled(page);
    expect(await page.textContent('[data-testid=error]')).toBe('');
    expect(await page.textContent('[data-testid=image-info]')).toContain('custom image · 5level · 9 writes');
    expect(await walkOn(page, '0x40001234', 'write', '3')).toBe('pa 0x40001234');
    await page.close();
  });

  it('builds an image from mappings and walks it', async (ctx) => {
    if (chrome.skip) ctx.skip(chrome.skip);
    const page = await open(`${server.url}/index.html`);
    await page.click('#builder summary');
    await page.selectOption('#b-mode', '5level');
    await page.click('#m-build');
    await settled(page);
    expect(await page.textContent('[data-testid=error]')).toBe('');
    expect(await page.textContent('[data-testid=image-info]')).toContain('built 5level image · 5level');
    expect(await walkOn(page, '0x10080', 'write', '3')).toBe('pa 0x10080');
    expect(await page.$$eval('[data-testid=levels] tbody tr', (rows) => rows.length)).toBe(5);
    expect(await walkOn(page, '0x11000', 'exec', '3')).toBe('#PF 0x15'); // second default mapping: US, XD, read-only
    await page.close();
  });

  it('works from file:// (page and embedding example) and loads nothing from elsewhere', async (ctx) => {
    if (chrome.skip) ctx.skip(chrome.skip);
    const base = pathToFileURL(join(webDir, 'index.html')).href;
    const page = await open(`${base}#ex=pae&va=0xc0001234&kind=read&cpl=3`);
    await settled(page);
    expect(await page.textContent('[data-testid=outcome]')).toBe('#PF 0x5');
    expect(await page.textContent('[data-testid=image-info]')).toContain('PAE paging');
    // The fuzzer's Web Worker starts from a Blob URL under file:// too: it answers with the presets.
    expect(await page.$('[data-testid=fuzzer-missing]')).toBeNull();
    await page.waitForSelector('[data-testid=preset] option', { state: 'attached', timeout: 30_000 });
    const outside = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .map((e) => e.name)
        .filter((n) => !n.startsWith('file:') && !n.startsWith('blob:')),
    );
    expect(outside).toEqual([]);
    await page.close();
    const embed = await context.newPage();
    embed.on('pageerror', (e) => pageErrors.push(`embed: ${e.message}`));
    await embed.goto(pathToFileURL(join(webDir, 'embed-example.html')).href);
    await embed.waitForFunction(() => document.getElementById('out')?.textContent !== '');
    expect(await embed.textContent('#out')).toBe('pa 0x200123, #PF 0x4');
    await embed.close();
    expect(server.requests.every((p) => !p.includes('..'))).toBe(true);
  });

  it('runs the fuzzer in a Web Worker on a buggy preset until it shows a finding', async (ctx) => {
    if (chrome.skip) ctx.skip(chrome.skip);
    const page = await open(`${server.url}/index.html`);
    expect(await page.$('[data-testid=fuzzer-missing]'), 'the page was built without its fuzzer worker').toBeNull();
    await page.waitForSelector('[data-testid=preset] option', { state: 'attached', timeout: 30_000 }); // the worker's answer to hello
    const presets = await page.$$eval('[data-testid=preset] option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(presets.length).toBeGreaterThan(1);
    // Seed 003's kernel before the fix (PREEMPT_RT, UP): the fuzzer finds its fault livelock in seconds.
    const buggy = 'linux-3.2-rt-up';
    expect(presets).toContain(buggy);
    await page.selectOption('[data-testid=preset]', buggy);
    await page.click('[data-testid=fuzz-start]');
    await page.waitForSelector('[data-testid=finding]', { timeout: 100_000 });
    expect(Number(await page.textContent('[data-testid=executions]'))).toBeGreaterThan(0);
    await page.click('[data-testid=open-finding]');
    await page.waitForSelector('[data-testid=timeline] .ev');
    const lanes = await page.$$eval('[data-testid=timeline] .lane-head', (hs) => hs.map((x) => x.textContent));
    expect(lanes[0]).toBe('step');
    expect(lanes.slice(1).every((l) => /^CPU \d+$/.test(l ?? ''))).toBe(true);
    // The trace the page offers is the CLI's trace file: `pagewalk replay` reproduces the finding.
    const sanitizer = ((await page.textContent('[data-testid=finding] strong')) ?? '').replace(/^#\d+ /, '');
    const traceText = await page.evaluate(async () => (await fetch((document.querySelector('[data-testid=trace-download]') as HTMLAnchorElement).href)).text());
    const trace = JSON.parse(traceText);
    expect([trace.format, trace.preset, trace.finding.sanitizer, trace.shrunk]).toEqual(['pagewalk-trace', buggy, sanitizer, true]);
    const traceFile = join(root, 'test-output', 'browser-finding.json');
    writeFileSync(traceFile, traceText);
    const replay = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'replay', traceFile, '--json'], { encoding: 'utf8' });
    expect(replay.stderr).toBe('');
    expect(replay.status).toBe(0);
    expect(JSON.parse(replay.stdout).reproduced).toBe(true);
    // Findings are grouped by bug: once a second seed found the same bug, it is still one row
    // (its count and seeds go up), and the chart shows executions, coverage and findings.
    await page.waitForSelector('[data-testid=finding][data-seeds="2"]', { timeout: 120_000 });
    const keys = await page.$$eval('[data-testid=finding]', (rows) => rows.map((r) => (r as HTMLElement).dataset.key));
    expect(new Set(keys).size).toBe(keys.length);
    expect(Number(await page.$eval('[data-testid=finding][data-seeds="2"]', (r) => (r as HTMLElement).dataset.count))).toBeGreaterThanOrEqual(2);
    expect(await page.textContent('[data-testid=finding-count]')).toBe(String(keys.length));
    await page.click('[data-testid=fuzz-stop]');
    const series = await page.$$eval('[data-testid=fuzz-chart] svg g[data-series]', (gs) =>
      gs.map((g) => [(g as SVGGElement).dataset.series, g.querySelector('polyline')?.getAttribute('points')?.split(' ').length ?? 0]),
    );
    expect(series.map((x) => x[0])).toEqual(['executions', 'coverage', 'findings']);
    for (const [, n] of series) expect(n).toBeGreaterThan(2);
    await page.screenshot({ path: join(root, 'test-output', 'browser-fuzzer.png'), fullPage: true });
    await page.close();
  }, 280_000);

  it('raised no page errors', (ctx) => {
    if (chrome.skip) ctx.skip(chrome.skip);
    expect(pageErrors).toEqual([]);
  });
});
