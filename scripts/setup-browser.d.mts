/** Finds Debian's Chromium or installs it with apt-get (root); otherwise says why not. */
export function setupBrowser(opts?: {
  log?: (line: string) => void;
}): { path: string; how: 'found' | 'installed'; skip?: undefined } | { path?: undefined; how?: undefined; skip: string };
