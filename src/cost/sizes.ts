/** Byte sizes written as numbers or as "4K", "2M", "1G", "16GiB", "512KB" (binary multiples). */

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parses a size; returns null when the text is not a size. */
export function parseSize(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(v);
  if (!m) return null;
  const n = Number(m[1]) * UNITS[m[2].toUpperCase()];
  return Number.isSafeInteger(n) ? n : null;
}

/** Formats bytes as the largest exact binary unit: 1048576 -> "1M", 1536 -> "1.5K". */
export function formatSize(bytes: number): string {
  for (const u of ['T', 'G', 'M', 'K']) {
    const q = bytes / UNITS[u];
    if (q >= 1) return `${Number.isInteger(q) ? q : q.toFixed(1)}${u}`;
  }
  return `${bytes}B`;
}
