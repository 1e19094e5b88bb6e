/**
 * Builds and loads the native C baseline walker (bench/native/walker.c) as a Node-API addon,
 * compiled directly with the system C compiler (no node-gyp). When no compiler or no Node-API
 * headers exist, `loadNativeWalker` says why instead of failing, and the benchmark skips it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'bench', 'native', 'walker.c');
const OUTPUT = join(ROOT, 'build', 'walker.node');

/** Bits of the `cfg` argument of walkBatch; must match the CFG_* macros in walker.c. */
export const NATIVE_CFG = {
  LA57: 1,
  NXE: 2,
  WP: 4,
  SMEP: 8,
  SMAP: 16,
  AMD: 32,
  PDPE1GB: 64,
  USER: 128,
  PKE: 256,
  PKS: 512,
  PAE: 1024,
  PAGING32: 2048,
  PSE: 4096,
  PSE36: 8192,
} as const;

/** One batch entry point of the addon: returns the number of faults (see walker.c). */
export type NativeBatchFn = (
  memory: ArrayBuffer,
  ramBase: number,
  ramBytes: number,
  cr3: bigint,
  maxPhysAddrBits: number,
  cfg: number,
  vas: BigUint64Array,
  kinds: Uint8Array,
  outPa: BigUint64Array,
  outFault: Uint32Array,
  /** PKRU (applies with NATIVE_CFG.PKE) and PKRS (with NATIVE_CFG.PKS): both or neither; default 0. */
  ...pkeys: [] | [pkru: number, pkrs: number]
) => number;

/** The addon (see walker.c for the exact contracts). */
export interface NativeWalker {
  /** The same-semantics walker, as fast as C can be (fast path + exact generic walk). */
  walkBatch: NativeBatchFn;
  /** The exact generic walker alone. */
  walkBatchGeneric: NativeBatchFn;
  /** The same-semantics walker interleaving the leaf reads of 16 addresses (memory-level parallelism). */
  walkBatchInterleaved: NativeBatchFn;
  /** The minimal walker: P, U/S, R/W, A/D, large pages only. */
  walkBatchLean: NativeBatchFn;
  /** A direct-mapped TLB (256 entries per access kind) in front of walkBatch's walker. */
  tlbBatch: NativeBatchFn;
  /** Empties tlbBatch's TLB (after the tables change). */
  tlbFlush(): void;
}

export type NativeLoad = { ok: true; walker: NativeWalker; compiler: string } | { ok: false; reason: string };

function findCompiler(): string | null {
  for (const cc of [process.env.CC, 'gcc', 'cc', 'clang'].filter((c): c is string => !!c)) {
    try {
      execFileSync(cc, ['--version'], { stdio: 'ignore' });
      return cc;
    } catch {
      /* try the next one */
    }
  }
  return null;
}

function findNodeHeaders(): string | null {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  return candidates.find((d) => existsSync(join(d, 'node_api.h'))) ?? null;
}

/** Compiles walker.c to build/walker.node when missing or older than the source, then loads it. */
export function loadNativeWalker(): NativeLoad {
  const cc = findCompiler();
  if (!cc) return { ok: false, reason: 'no C compiler found (tried $CC, gcc, cc, clang)' };
  const include = findNodeHeaders();
  if (!include)
    return { ok: false, reason: 'Node-API headers (node_api.h) not found in <node prefix>/include/node, /usr/include/node or /usr/local/include/node' };
  try {
    if (!existsSync(OUTPUT) || statSync(OUTPUT).mtimeMs < statSync(SOURCE).mtimeMs) {
      mkdirSync(dirname(OUTPUT), { recursive: true });
      // Compile to a private name, then rename: concurrent builds (tests, bench) never see half a file.
      const tmp = `${OUTPUT}.${process.pid}.tmp`;
      execFileSync(cc, ['-O2', '-shared', '-fPIC', `-I${include}`, SOURCE, '-o', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(tmp, OUTPUT);
    }
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    return { ok: false, reason: `compiling ${SOURCE} with ${cc} failed: ${stderr || (e as Error).message}` };
  }
  try {
    const walker = createRequire(import.meta.url)(OUTPUT) as NativeWalker;
    return { ok: true, walker, compiler: `${cc} -O2` };
  } catch (e) {
    return { ok: false, reason: `loading ${OUTPUT} failed: ${(e as Error).message}` };
  }
}
