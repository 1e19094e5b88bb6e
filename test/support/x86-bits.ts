/**
 * Architectural bits for hand-built page tables in tests (Intel SDM vol. 3: CR0/CR4 in 2.5,
 * IA32_EFER in 2.2.1, entry bits in Tables 4-4 … 4-20), written down here once for the tests,
 * apart from the constants of the core and of the reference walker they check.
 */
export const P = 1n,
  RW = 2n,
  US = 4n,
  A = 0x20n,
  D = 0x40n,
  PS = 0x80n,
  G = 0x100n,
  XD = 1n << 63n;
export const CR0_PE = 1n,
  CR0_WP = 1n << 16n,
  CR0_PG = 1n << 31n;
export const CR4_PSE = 1n << 4n,
  CR4_PAE = 1n << 5n,
  CR4_PGE = 1n << 7n,
  CR4_LA57 = 1n << 12n,
  CR4_PCIDE = 1n << 17n,
  CR4_SMEP = 1n << 20n,
  CR4_SMAP = 1n << 21n,
  CR4_PKE = 1n << 22n,
  CR4_PKS = 1n << 24n;
export const EFER_LME = 1n << 8n,
  EFER_LMA = 1n << 10n,
  EFER_NXE = 1n << 11n;
