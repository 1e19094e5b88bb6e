/**
 * The pagewalk image: a machine's physical memory contents (as a list of 64-bit or 32-bit
 * physical writes) plus one CPU's control registers — enough to reproduce a page walk.
 * Documented in docs/image-format.md. Shared types, limits and paging-mode helpers.
 */
import type { AccessKind, ControlRegs, PagingMode, Vendor } from '../core/types.js';

/** The `format` tag of the JSON form. */
export const IMAGE_FORMAT = 'pagewalk-image/1';

/** Largest RAM the core accepts (MachineOptions.ramBytes: at most 4 GiB − 128 MiB). */
export const MAX_RAM_BYTES = 4 * 2 ** 30 - 128 * 2 ** 20;

/** One physical write: `value` stored little-endian at `pa` as 8 bytes (or 4 when `size` is 4). */
export interface ImageWrite {
  pa: bigint;
  value: bigint;
  size: 4 | 8;
  /** Free text shown by the page and `pagewalk walk --json`, e.g. "PML4E[0] -> PDPT at 0x2000". */
  note?: string;
}

/** A suggested walk stored with an image (the README, tests and the page use them). */
export interface ImageQuery {
  va: bigint;
  kind: AccessKind;
  cpl: 0 | 1 | 2 | 3;
  ac: boolean;
  implicit: boolean;
  note?: string;
  /** Expected outcome in the form printed by `outcomeString`: `pa 0x11000`, `#PF 0x7` or `#GP`. */
  expect?: string;
}

/** A parsed, validated image. All 64-bit quantities are bigints. */
export interface PagewalkImage {
  name?: string;
  description?: string;
  ramBytes: number;
  vendor: Vendor;
  maxPhysAddrBits: number;
  pdpe1gb: boolean;
  pse36: boolean;
  control: ControlRegs;
  writes: ImageWrite[];
  queries: ImageQuery[];
}

/** Paging modes an image can select (not 'none'). */
export const IMAGE_MODES = ['32bit', 'pae', '4level', '5level'] as const;
export type ImageMode = (typeof IMAGE_MODES)[number];

// Control-register bits used to derive the paging mode (Intel SDM vol. 3, 2.5 and 4.1.1).
import { CR0_PE, CR0_WP, CR0_PG, CR4_PSE, CR4_PAE, CR4_LA57, EFER_LME, EFER_LMA, EFER_NXE } from '../core/control.js';
export { CR0_PE, CR0_WP, CR0_PG, CR4_PSE, CR4_PAE, CR4_LA57, EFER_LME, EFER_LMA, EFER_NXE } from '../core/control.js';

/** The paging mode selected by CR0.PG, CR4.PAE, EFER.LME and CR4.LA57 (docs/paging-semantics.md "Modes"). */
export function modeOfControl(c: Pick<ControlRegs, 'cr0' | 'cr4' | 'efer'>): PagingMode {
  if (!(c.cr0 & CR0_PG)) return 'none';
  if (!(c.cr4 & CR4_PAE)) return '32bit';
  if (!(c.efer & EFER_LME)) return 'pae';
  return c.cr4 & CR4_LA57 ? '5level' : '4level';
}

/**
 * Default CR0/CR4/EFER for a mode, used when an image gives `mode` but not those registers:
 * PE|WP|PG; PSE for 32-bit; PAE (+LA57) and NXE for the others; LME|LMA in IA-32e modes.
 */
export function defaultModeRegs(mode: ImageMode): Pick<ControlRegs, 'cr0' | 'cr4' | 'efer'> {
  const cr0 = CR0_PE | CR0_WP | CR0_PG;
  switch (mode) {
    case '32bit':
      return { cr0, cr4: CR4_PSE, efer: 0n };
    case 'pae':
      return { cr0, cr4: CR4_PAE, efer: EFER_NXE };
    case '4level':
      return { cr0, cr4: CR4_PAE, efer: EFER_LME | EFER_LMA | EFER_NXE };
    case '5level':
      return { cr0, cr4: CR4_PAE | CR4_LA57, efer: EFER_LME | EFER_LMA | EFER_NXE };
  }
}

/**
 * Rewrites only the mode-selecting bits (CR0.PE/PG, CR4.PAE/LA57, EFER.LME/LMA) so that the
 * registers select `mode`, keeping every other bit (WP, SMEP, SMAP, PKE, NXE, ...).
 */
export function withMode(c: ControlRegs, mode: ImageMode): ControlRegs {
  const long = mode === '4level' || mode === '5level';
  const cr0 = c.cr0 | CR0_PE | CR0_PG;
  let cr4 = mode === '32bit' ? c.cr4 & ~CR4_PAE : c.cr4 | CR4_PAE;
  cr4 = mode === '5level' ? cr4 | CR4_LA57 : cr4 & ~CR4_LA57;
  const efer = long ? c.efer | EFER_LME | EFER_LMA : c.efer & ~(EFER_LME | EFER_LMA);
  return { ...c, cr0, cr4, efer };
}

export function isImageMode(s: string): s is ImageMode {
  return (IMAGE_MODES as readonly string[]).includes(s);
}
