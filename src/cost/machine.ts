/**
 * Builds the emulated machine for one cell: a Machine sized to the tables the stream needs,
 * the sparse tables, a second (empty) address space for context switches, and CPU 0's control
 * registers for the configured paging depth (SDM vol. 3 §4.1: CR0.PG, CR4.PAE/PSE/LA57/PCIDE,
 * EFER.LME), entered in the order the architecture requires (LA57 and LME before PG; PCIDE
 * only with EFER.LMA = 1 and CR3[11:0] = 0).
 */
import { Machine } from '../core/machine.js';
import type { Cpu } from '../core/cpu.js';
import type { MachineConfig } from './config.js';
import { buildTables, framesNeeded, type BuiltTables, type PagePlan, type Regions } from './layout.js';

const CR0_PE = 1n;
const CR0_PG = 1n << 31n;
const CR4_PSE = 1n << 4n;
const CR4_PAE = 1n << 5n;
const CR4_LA57 = 1n << 12n;
const CR4_PCIDE = 1n << 17n;
const EFER_LME = 1n << 8n;
/** CR3 bit 63 with CR4.PCIDE = 1: do not flush the new PCID (SDM §4.10.4.1). */
export const CR3_NOFLUSH = 1n << 63n;

/** PCIDs of the measured address space and of the other one (as Linux's ASIDs, never 0 here). */
export const PCID_A = 1n;
export const PCID_B = 2n;

export interface CellMachine {
  m: Machine;
  cpu: Cpu;
  /** CR3 values of the measured address space and of the other one. */
  cr3A: bigint;
  cr3B: bigint;
  built: BuiltTables;
  ramBytes: number;
}

/** Frames needed plus the other address space's root and a margin, rounded up to 1 MiB. */
function ramFor(frames: number): number {
  const bytes = (frames + 2 + 64) * 4096;
  return Math.max(4 << 20, Math.ceil(bytes / (1 << 20)) * (1 << 20));
}

/** Creates the machine, builds the tables for the touched regions and enables paging. */
export async function setUpMachine(cfg: MachineConfig, plan: PagePlan, regions: Regions): Promise<CellMachine> {
  const ramBytes = ramFor(framesNeeded(regions, plan));
  const m = await Machine.create({ ramBytes, cpus: 1, tlb: cfg.tlb, psc: cfg.psc, retention: 'realistic' });
  const before = m.frames.freeCount;
  const rootA = m.pageTables.newRoot(cfg.paging);
  const built = buildTables(m.pageTables, rootA, regions, plan, () => before - m.frames.freeCount);
  const rootB = m.pageTables.newRoot(cfg.paging);
  const cpu = m.cpus[0];
  enablePaging(cpu, cfg, rootA);
  const pcid = cfg.pcid;
  return {
    m,
    cpu,
    cr3A: pcid ? rootA | PCID_A : rootA,
    cr3B: pcid ? rootB | PCID_B : rootB,
    built,
    ramBytes,
  };
}

/** Enters the configured paging mode on `cpu` with CR3 = root (tables must already be built: PAE loads its PDPTEs here). */
function enablePaging(cpu: Cpu, cfg: MachineConfig, root: bigint): void {
  const long = cfg.paging === '4level' || cfg.paging === '5level';
  let cr4 = cfg.paging === '32bit' ? CR4_PSE : CR4_PAE;
  if (cfg.paging === '5level') cr4 |= CR4_LA57;
  cpu.setControl({ cr3: root });
  cpu.setControl({ cr4 });
  if (long) cpu.setControl({ efer: EFER_LME });
  cpu.setControl({ cr0: CR0_PE | CR0_PG });
  cpu.setControl({ cr3: root }); // PAE: (re)load the PDPTE registers from the built tables
  if (cfg.pcid) {
    cpu.setControl({ cr4: cr4 | CR4_PCIDE });
    cpu.setControl({ cr3: root | PCID_A });
  }
}
