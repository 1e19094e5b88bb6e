/**
 * Reading a file a user named (an image, a trace, a cost config, an address file): refusals are
 * PagewalkErrors naming the file and the problem (the CLI prints them as one line and exits 2).
 */
import { readFileSync, statSync } from 'node:fs';
import { PagewalkError } from '../core/errors.js';

/** Reads `path` whole; `what` names it in errors (e.g. '--config'). */
export function readUserFile(path: string, what: string, maxBytes = 64 * 2 ** 20): Buffer {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new PagewalkError('EBAD_INPUT', `${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isFile()) throw new PagewalkError('EBAD_INPUT', `${what}: ${path} is not a regular file`);
  if (st.size > maxBytes) throw new PagewalkError('EBAD_INPUT', `${what}: ${path} is too large (${st.size} bytes, at most ${maxBytes})`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new PagewalkError('EBAD_INPUT', `${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
