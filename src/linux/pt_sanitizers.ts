/**
 * The page-table sanitizers of a kernel instance (src/sanitizers/pt-uaf.ts): one
 * PtUafSanitizer per kernel, created on first use, which model code notifies of page-table
 * frees and software walks.
 */
import { PtUafSanitizer } from '../sanitizers/pt-uaf.js';
import type { Kernel } from './kernel.js';

/** The page-table use-after-free sanitizer of `k`. */
export function ptUafOf(k: Kernel): PtUafSanitizer {
  let s = k.ext.get('pt-uaf') as PtUafSanitizer | undefined;
  if (!s) k.ext.set('pt-uaf', (s = new PtUafSanitizer(k.m)));
  return s;
}
