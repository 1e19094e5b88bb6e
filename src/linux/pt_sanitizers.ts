/**
 * The page-table sanitizers of a kernel instance (src/sanitizers/pt-uaf.ts): one
 * PtUafSanitizer per kernel, created on first use, which model code notifies of page-table
 * frees and software walks.
 */
import { PtUafSanitizer } from '../sanitizers/pt-uaf.js';
import { defineKernelState } from './kstate.js';

/** The page-table use-after-free sanitizer of `k`. */
export const ptUafOf = defineKernelState((k) => new PtUafSanitizer(k.m));
