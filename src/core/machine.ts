import type { MachineOptions, TlbGeometry, PscGeometry, CacheGeometry, Vendor, RetentionPolicy, StalePermissionPolicy } from './types.js';
import { compileCore, instantiateCore, type CoreExports } from './wasm.js';
import { PagewalkError } from './errors.js';
import { PhysMem } from './phys.js';
import { FrameTable } from './frames.js';
import { PageTables } from './pagetables.js';
import { Cpu } from './cpu.js';
import { boolOpt, objArg, show } from './validate.js';

export const REALISTIC_TLB: TlbGeometry = { '4k': { sets: 128, ways: 12 }, '2m': { sets: 32, ways: 8 }, '1g': { sets: 4, ways: 4 } };
export const REALISTIC_PSC: PscGeometry = { pde: { sets: 8, ways: 4 }, pdpte: { sets: 4, ways: 4 }, pml4e: { sets: 2, ways: 2 }, pml5e: { sets: 1, ways: 2 } };
export const MAXIMAL_TLB: TlbGeometry = { '4k': { sets: 1024, ways: 16 }, '2m': { sets: 256, ways: 8 }, '1g': { sets: 64, ways: 4 } };
export const MAXIMAL_PSC: PscGeometry = {
  pde: { sets: 256, ways: 8 },
  pdpte: { sets: 64, ways: 8 },
  pml4e: { sets: 64, ways: 8 },
  pml5e: { sets: 16, ways: 8 },
};

export interface ResolvedOptions {
  ramBytes: number;
  cpus: number;
  vendor: Vendor;
  maxPhysAddrBits: number;
  retention: RetentionPolicy;
  stalePermission: StalePermissionPolicy;
  tlb: TlbGeometry | false;
  psc: PscGeometry | false;
  pdpe1gb: boolean;
  pse36: boolean;
}

const MAX_RAM = 2 ** 32 - 2 ** 27;

/**
 * An x86 machine: guest physical RAM, a frame table, and CPUs with TLBs, all in one WASM
 * instance. Create with `await Machine.create(options)`.
 *
 * @example
 * const m = await Machine.create({ ramBytes: 64 << 20, cpus: 2 });
 * const root = m.pageTables.newRoot('4level');
 * m.pageTables.map('4level', root, 0x400000n, 0x200000n, 0x1000, { flags: 0x7n });
 * m.cpus[0].setControl({ cr4: 0x20n, efer: 0x100n, cr3: root, cr0: 0x80000001n });
 * m.cpus[0].access(0x400123n, { kind: 'read', cpl: 3 }); // { ok: true, pa: 0x200123n }
 */
/** @internal What `Machine.snapshot()` saved. */
export interface MachineSnapshot {
  readonly machine: Machine;
  readonly cpus: Uint8Array;
  readonly ram: Uint8Array;
  readonly heap: Uint8Array;
  readonly scalars: Uint8Array;
  readonly writtenHigh: number;
}

export class Machine {
  readonly options: ResolvedOptions;
  readonly cpus: Cpu[];
  readonly phys: PhysMem;
  readonly frames: FrameTable;
  readonly pageTables: PageTables;
  /** Shared batch buffers in linear memory, for zero-copy use with `Cpu.translateInPlace`. */
  readonly io: { va: BigUint64Array; kind: Uint8Array; pa: BigUint64Array; fault: Uint32Array };
  /** Largest batch one WASM call handles. */
  readonly batchMax: number;
  /** @internal */
  readonly core: CoreExports;

  private constructor(core: CoreExports, options: ResolvedOptions) {
    this.core = core;
    this.options = options;
    const buf = core.memory.buffer;
    this.batchMax = core.layoutBatchMax();
    this.io = {
      va: new BigUint64Array(buf, core.layoutIoVa(), this.batchMax),
      kind: new Uint8Array(buf, core.layoutIoKind(), this.batchMax),
      pa: new BigUint64Array(buf, core.layoutIoPa(), this.batchMax),
      fault: new Uint32Array(buf, core.layoutIoFault(), this.batchMax),
    };
    this.phys = new PhysMem(core, options.ramBytes);
    this.frames = new FrameTable(core);
    this.pageTables = new PageTables(core, this.io.pa, this.phys);
    this.cpus = Array.from({ length: options.cpus }, (_, i) => new Cpu(core, i, this.io, options.maxPhysAddrBits));
  }

  /** Compiles the core (once per process) and builds a machine. */
  static async create(options: MachineOptions = {}): Promise<Machine> {
    await compileCore();
    return Machine.createSync(options);
  }

  /** Resolves once the core is compiled; afterwards `createSync` may be used. */
  static async ready(): Promise<void> {
    await compileCore();
  }

  /** Builds a machine synchronously (Node, workers; browsers main thread only after `ready()`). */
  static createSync(options: MachineOptions = {}): Machine {
    const o = resolveOptions(options);
    const core = instantiateCore();
    const ok = core.machineInit(
      BigInt(o.ramBytes),
      o.vendor === 'amd' ? 1 : 0,
      o.maxPhysAddrBits,
      o.pdpe1gb ? 1 : 0,
      o.pse36 ? 1 : 0,
      o.stalePermission === 'rewalk' ? 1 : 0,
      o.cpus,
    );
    if (!ok) throw new PagewalkError('ENOMEM_FRAMES', `cannot allocate ${o.ramBytes} bytes of guest RAM in WASM linear memory`);
    const tlb = o.tlb || (o.retention === 'maximal' ? MAXIMAL_TLB : REALISTIC_TLB);
    const psc = o.psc || (o.retention === 'maximal' ? MAXIMAL_PSC : REALISTIC_PSC);
    const pairs: CacheGeometry[] = [tlb['4k'], tlb['2m'], tlb['1g'], psc.pde, psc.pdpte, psc.pml4e, psc.pml5e];
    const flags = (o.tlb ? 1 : 0) | (o.psc ? 2 : 0);
    for (let i = 0; i < o.cpus; i++) {
      const g = new Uint32Array(core.memory.buffer, core.layoutIoPa(), 14);
      pairs.forEach((p, k) => {
        g[2 * k] = p.sets;
        g[2 * k + 1] = p.ways;
      });
      if (!core.cpuInit(i, flags, o.retention === 'maximal' ? 1 : 0)) throw new PagewalkError('ENOMEM_FRAMES', `cannot allocate the caches of CPU ${i}`);
    }
    return new Machine(core, o);
  }

  /**
   * The WASM linear memory and the offset of guest physical address 0 in it, for native or
   * worker code that walks guest RAM in place (the benchmark's C baseline does).
   */
  get linearMemory(): { memory: WebAssembly.Memory; ramOffset: number } {
    return { memory: this.core.memory, ramOffset: this.core.layoutRamBase() };
  }

  get ramBytes(): number {
    return this.options.ramBytes;
  }
  get vendor(): Vendor {
    return this.options.vendor;
  }
  get maxPhysAddrBits(): number {
    return this.options.maxPhysAddrBits;
  }
  /** Writes to unbacked physical addresses, dropped. */
  get droppedWrites(): number {
    return this.phys.droppedWrites;
  }

  /**
   * @internal A snapshot of the machine's whole state (CPU registers and caches, RAM, frame
   * table and allocator), for `restore()`: the fuzzer boots a kernel once and restores the booted
   * machine before each execution. RAM is saved up to its high-water mark only, and a restore
   * copies back that part and zeroes what was written above it since.
   */
  snapshot(): MachineSnapshot {
    const core = this.core;
    const mem = new Uint8Array(core.memory.buffer);
    const ramBase = core.layoutRamBase();
    const ramHigh = Math.min(this.options.ramBytes, Math.max(Number(core.ramHighMark()), this.phys.writtenHigh));
    const heapStart = ramBase + this.options.ramBytes;
    const cpuBase = core.layoutCpuBase();
    if (this.cpus.some((c) => c.nestedEnabled)) throw new PagewalkError('EINVAL_ARG', 'Machine.snapshot: not supported with nested paging on');
    const scratch = core.layoutIoPa();
    core.coreSaveScalars(scratch);
    return {
      machine: this,
      cpus: mem.slice(cpuBase, cpuBase + this.cpus.length * core.layoutCpuStride()),
      ram: mem.slice(ramBase, ramBase + ramHigh),
      heap: mem.slice(heapStart, core.layoutHeapTop()),
      scalars: mem.slice(scratch, scratch + 32),
      writtenHigh: this.phys.writtenHigh,
    };
  }

  /** @internal Puts the machine back in the state `s` (taken of this machine) recorded. */
  restore(s: MachineSnapshot): void {
    if (s.machine !== this) throw new PagewalkError('EINVAL_ARG', 'Machine.restore: the snapshot was taken of another machine');
    const core = this.core;
    const mem = new Uint8Array(core.memory.buffer);
    const ramBase = core.layoutRamBase();
    const high = Math.min(this.options.ramBytes, Math.max(Number(core.ramHighMark()), this.phys.writtenHigh));
    mem.set(s.ram, ramBase);
    if (high > s.ram.length) mem.fill(0, ramBase + s.ram.length, ramBase + high);
    mem.set(s.cpus, core.layoutCpuBase());
    mem.set(s.heap, ramBase + this.options.ramBytes);
    const scratch = core.layoutIoPa();
    mem.set(s.scalars, scratch);
    core.coreLoadScalars(scratch);
    this.phys.writtenHigh = s.writtenHigh;
    for (let i = 0; i < this.cpus.length; i++) core.nestedStatsReset(i);
  }

  /** Zeroes RAM, frees every frame, and resets every CPU (registers, caches, statistics). */
  reset(): void {
    this.core.machineReset(BigInt(this.phys.writtenHigh));
    this.phys.writtenHigh = 0;
    for (let i = 0; i < this.cpus.length; i++) {
      this.core.cpuReset(i);
      this.core.nestedStatsReset(i);
    }
  }
}

function resolveOptions(o: MachineOptions): ResolvedOptions {
  const bad = (msg: string): never => {
    throw new PagewalkError('EINVAL_ARG', `Machine options: ${msg}`);
  };
  objArg('Machine options', 'options', o);
  for (const k of Object.keys(o)) if (!KNOWN_OPTIONS.includes(k)) bad(`unknown option ${show(k)} (known: ${KNOWN_OPTIONS.join(', ')})`);
  boolOpt('Machine options', 'pdpe1gb', o.pdpe1gb);
  boolOpt('Machine options', 'pse36', o.pse36);
  for (const k of ['tlb', 'psc'] as const)
    if (o[k] !== undefined && o[k] !== false && (typeof o[k] !== 'object' || o[k] === null))
      bad(`${k} must be false or an object of cache geometries, got ${show(o[k])}`);
  const ramBytes = o.ramBytes ?? 64 * 2 ** 20;
  if (!Number.isInteger(ramBytes) || ramBytes < 2 ** 16 || ramBytes % 4096 || ramBytes > MAX_RAM)
    bad(`ramBytes ${ramBytes} must be a multiple of 4096 between 64 KiB and ${MAX_RAM}`);
  const cpus = o.cpus ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 64) bad(`cpus ${cpus} must be 1..64`);
  const vendor = o.vendor ?? 'intel';
  if (vendor !== 'intel' && vendor !== 'amd') bad(`vendor '${vendor}' must be 'intel' or 'amd'`);
  const maxPhysAddrBits = o.maxPhysAddrBits ?? 46;
  if (!Number.isInteger(maxPhysAddrBits) || maxPhysAddrBits < 32 || maxPhysAddrBits > 52) bad(`maxPhysAddrBits ${maxPhysAddrBits} must be 32..52`);
  const retention = o.retention ?? 'realistic';
  if (retention !== 'realistic' && retention !== 'maximal') bad(`retention '${retention}' must be 'realistic' or 'maximal'`);
  const stalePermission = o.stalePermission ?? (vendor === 'amd' ? 'rewalk' : 'fault');
  if (stalePermission !== 'fault' && stalePermission !== 'rewalk') bad(`stalePermission '${stalePermission}' must be 'fault' or 'rewalk'`);
  const base = retention === 'maximal' ? { tlb: MAXIMAL_TLB, psc: MAXIMAL_PSC } : { tlb: REALISTIC_TLB, psc: REALISTIC_PSC };
  const tlb = o.tlb === false ? false : { ...base.tlb, ...(o.tlb ?? {}) };
  const psc = o.psc === false ? false : { ...base.psc, ...(o.psc ?? {}) };
  if (tlb) for (const [k, g] of Object.entries(tlb)) checkGeometry(`tlb.${k}`, g, bad);
  if (psc) for (const [k, g] of Object.entries(psc)) checkGeometry(`psc.${k}`, g, bad);
  return { ramBytes, cpus, vendor, maxPhysAddrBits, retention, stalePermission, tlb, psc, pdpe1gb: o.pdpe1gb ?? true, pse36: o.pse36 ?? true };
}

const KNOWN_OPTIONS = ['ramBytes', 'cpus', 'vendor', 'maxPhysAddrBits', 'retention', 'stalePermission', 'tlb', 'psc', 'pdpe1gb', 'pse36'];

function checkGeometry(name: string, g: CacheGeometry, bad: (m: string) => never): void {
  if (!g || typeof g !== 'object') bad(`${name} must be { sets, ways }, got ${show(g)}`);
  if (!Number.isInteger(g.sets) || g.sets < 1 || g.sets > 1 << 20 || (g.sets & (g.sets - 1)) !== 0) bad(`${name}.sets must be a power of two (1..2^20)`);
  if (!Number.isInteger(g.ways) || g.ways < 1 || g.ways > 64) bad(`${name}.ways must be 1..64`);
}
