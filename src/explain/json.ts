/**
 * JSON-safe copies of explanation objects: bigints become `0x` hex strings, so that
 * `pagewalk walk --json` and the page's permalinks never lose precision.
 */

/** Deep copy of `v` with every bigint replaced by its `0x` hex string. */
export function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return '0x' + v.toString(16);
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}
