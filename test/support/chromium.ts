// Finds Debian's Chromium for the browser test, installing it with apt-get when it is missing and
// this process can (root, apt-get present). Otherwise returns the reason to skip.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export type ChromiumLookup = { path: string; skip?: undefined } | { path?: undefined; skip: string };

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

function found(): string | undefined {
  const fromEnv = process.env.PAGEWALK_CHROMIUM;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((p) => existsSync(p));
}

function aptInstall(): { status: number | null; tail: string } {
  const run = (args: string[]) => spawnSync('apt-get', args, { encoding: 'utf8', timeout: 900_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  let r = run(['install', '-y', 'chromium']);
  if (r.status !== 0) {
    run(['update']);
    r = run(['install', '-y', 'chromium']);
  }
  const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ');
  return { status: r.status, tail };
}

/** The Chromium executable, or why the browser test cannot run here. */
export function ensureChromium(): ChromiumLookup {
  const have = found();
  if (have) return { path: have };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = existsSync('/usr/bin/apt-get');
  if (!root || !apt) {
    return { skip: `Chromium is not installed (${CANDIDATES.join(', ')}) and this process cannot install it (${!apt ? 'no apt-get' : 'not root'}); run 'apt-get install -y chromium' or set PAGEWALK_CHROMIUM to run the browser test` };
  }
  const r = aptInstall();
  const now = found();
  if (now) return { path: now };
  return { skip: `Chromium is missing and 'apt-get install -y chromium' failed (exit ${r.status}): ${r.tail}` };
}
