// Makes Debian's Chromium available for the browser test (test/browser.test.ts): finds it
// ($PAGEWALK_CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser) or installs it with
// `apt-get install -y chromium` when this process can (root, apt-get present). Says what it did.
//
//   npm run setup:browser      # prints the path, or why there is no browser (exit 1)
//
// The test calls setupBrowser() in its beforeAll and logs the outcome; nothing happens at import.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

function found() {
  const fromEnv = process.env.PAGEWALK_CHROMIUM;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((p) => existsSync(p));
}

function aptGet(args, log) {
  log(`browser setup: apt-get ${args.join(' ')}`);
  const r = spawnSync('apt-get', args, { encoding: 'utf8', timeout: 900_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ');
  return { status: r.status ?? (r.error ? r.error.message : 'killed'), tail };
}

/**
 * The Chromium executable, or why the browser test cannot run here.
 * @param {{ log?: (line: string) => void }} [opts]
 * @returns {{ path: string, how: 'found' | 'installed', skip?: undefined } | { path?: undefined, how?: undefined, skip: string }}
 */
export function setupBrowser(opts = {}) {
  const log = opts.log ?? ((line) => console.error(line));
  const have = found();
  if (have) return { path: have, how: 'found' };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = existsSync('/usr/bin/apt-get');
  if (!root || !apt) {
    return {
      skip:
        `Chromium is not installed (${CANDIDATES.join(', ')}, $PAGEWALK_CHROMIUM) and this process cannot install it ` +
        `(${!apt ? 'no apt-get' : 'not root'}); run 'apt-get install -y chromium' as root, or set PAGEWALK_CHROMIUM`,
    };
  }
  let r = aptGet(['install', '-y', 'chromium'], log);
  if (r.status !== 0) {
    aptGet(['update'], log);
    r = aptGet(['install', '-y', 'chromium'], log);
  }
  const now = found();
  if (now) return { path: now, how: 'installed' };
  return { skip: `Chromium is missing and 'apt-get install -y chromium' failed (exit ${r.status}): ${r.tail}` };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = setupBrowser();
  if (r.skip) {
    console.error(`browser setup: no browser: ${r.skip}`);
    process.exit(1);
  }
  console.log(`browser setup: ${r.how === 'installed' ? 'installed' : 'found'} Chromium at ${r.path}`);
}
