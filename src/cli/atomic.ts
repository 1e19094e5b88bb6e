import { renameSync, writeFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

/** Writes `data` to `path` atomically (temp file, then rename). */
export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}-${threadId}-${Math.floor(performance.now() * 1000)}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
