/**
 * Loading the WASM core. The binary is embedded as base64 by the build (scripts/build-wasm.mjs),
 * so the same ESM module works in Node and in browsers with no fetch and no server step.
 */
import { WASM_BASE64 } from './wasm-binary.generated.js';
import { PagewalkError } from './errors.js';

/** Raw exports of the AssemblyScript core (assembly/index.ts). usize/u32/bool are numbers, u64 bigint. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  machineInit(ram: bigint, amd: number, mpa: number, gb: number, p36: number, rewalk: number, cpus: number): number;
  machineReset(hostHigh: bigint): void;
  cpuInit(i: number, flags: number, maximal: number): number;
  cpuReset(i: number): void;
  cpuSetFlags(i: number, flags: number): void;
  cpuAddr(i: number): number;
  coreSaveScalars(p: number): void;
  coreLoadScalars(p: number): void;
  layoutHeapTop(): number;
  layoutCpuBase(): number;
  layoutCpuStride(): number;
  ramHighMark(): bigint;
  accessOne(cpu: number, va: bigint, kind: number, flags: number, exact: number): bigint;
  translateBatch(cpu: number, n: number, flags: number): number;
  batchBadKind(): number;
  setControl(cpu: number, cr0: bigint, cr3: bigint, cr4: bigint, efer: bigint, cr3Written: number): number;
  setPkeys(cpu: number, pkru: number, pkrs: number): void;
  invlpg(cpu: number, va: bigint): void;
  invpcid(cpu: number, type: number, pcid: number, va: bigint): void;
  flushEverything(cpu: number): void;
  frameAlloc(level: number, owner: number, zero: number): number;
  frameFree(pfn: number): number;
  frameReserve(pfn: number): number;
  ptNewRoot(mode: number): bigint;
  ptMap(mode: number, root: bigint, va: bigint, pa: bigint, count: number, level: number, flags: bigint, tableFlags: bigint): number;
  ptMapPages(mode: number, root: bigint, va: bigint, n: number, flags: bigint, tableFlags: bigint): number;
  ptUnmap(mode: number, root: bigint, va: bigint, pages: bigint): number;
  ptProtect(mode: number, root: bigint, va: bigint, pages: bigint, set: bigint, clear: bigint): number;
  stepBegin(cpu: number, va: bigint, kind: number, flags: number, dry: number): bigint;
  stepNext(cpu: number): number;
  stepResult(cpu: number): bigint;
  probeWalk(cpu: number, va: bigint, kind: number, flags: number): bigint;
  tlbStaleUser(cpu: number, below: bigint): number;
  pscStaleUser(cpu: number, below: bigint): number;
  stepRecordAddr(cpu: number): number;
  physWrite64(pa: bigint, v: bigint): void;
  nestedSet(i: number, kind: number, root: bigint, flags: number, tag: number): void;
  nestedTlbConfig(i: number, sets: number, ways: number): number;
  nestedFlush(i: number, sel: number, tag: bigint, ep4ta: bigint, pcid: number, va: bigint): void;
  nestedEvictions(i: number): bigint;
  nestedLastSource(): number;
  nestedExplainWalk(on: number): void;
  nestedFastPaths(on: number): void;
  nestedAccess(cpu: number, va: bigint, kind: number, flags: number): bigint;
  nestedBatch(cpu: number, n: number, flags: number): number;
  nestedBadKind(): number;
  nestedExitKind(): number;
  nestedExitInfo(): bigint;
  nestedExitGpa(): bigint;
  nestedStat(i: number, k: number): bigint;
  nestedStatsReset(i: number): void;
  nestedRows(): number;
  nestedRowWord(r: number, w: number): bigint;
  physWrite32(pa: bigint, v: number): void;
  layoutRamBase(): number;
  layoutIoVa(): number;
  layoutIoKind(): number;
  layoutIoPa(): number;
  layoutIoFault(): number;
  layoutBatchMax(): number;
  layoutLastWalk(): number;
  layoutLastWalkN(): number;
  getDroppedWrites(): bigint;
  framesCount(): number;
  framesFree(): number;
  ftStateAddr(): number;
  ftLevelAddr(): number;
  ftOwnerAddr(): number;
  ftGenAddr(): number;
  ftRefAddr(): number;
  ftTypeAddr(): number;
}

let compiled: WebAssembly.Module | null = null;
let compiling: Promise<WebAssembly.Module> | null = null;

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Compiles the embedded module once per process (or page). */
export async function compileCore(): Promise<WebAssembly.Module> {
  if (compiled) return compiled;
  compiling ??= WebAssembly.compile(decodeBase64(WASM_BASE64) as BufferSource).then((m) => (compiled = m));
  return compiling;
}

/** Synchronous compile for environments that allow it (Node, workers). */
function compileCoreSync(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(decodeBase64(WASM_BASE64) as BufferSource);
  return compiled;
}

/** A fresh instance with its own linear memory. */
export function instantiateCore(): CoreExports {
  const module = compileCoreSync();
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new PagewalkError('WASM_TRAP', `internal error in the WASM core (abort at ${line}:${col})`);
      },
    },
  });
  return instance.exports as unknown as CoreExports;
}
