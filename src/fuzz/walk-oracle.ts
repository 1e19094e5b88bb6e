/**
 * Oracle: the WASM walker agrees with the reference walker (src/reference, written from Intel
 * SDM vol. 3 ch. 4) on sampled accesses of fuzz runs. Both walk the page tables in memory (the
 * WASM side through `explain(..., { dryRun: true })`, which bypasses the TLB and writes no A/D
 * bit; the reference side over a read-only view of RAM), with the CPU's current control
 * registers; in PAE mode the reference uses the PDPTE registers the WASM walk reports. A
 * difference in outcome, physical address, vector or error code is a finding.
 */
import type { Cpu } from '../core/cpu.js';
import type { AccessOptions, WalkExplanation } from '../core/types.js';
import { referenceAccess, type RefConfig, type RefMemory } from '../reference/index.js';
import type { Finding } from '../sanitizers/finding.js';

interface PhysLike {
  read64(pa: bigint): bigint;
  read32(pa: bigint): number;
}

/** Reads RAM, drops writes (the reference walker's A/D updates must not change the run). */
class ReadOnlyMemory implements RefMemory {
  constructor(private readonly phys: PhysLike) {}
  read64(pa: bigint): bigint {
    return this.phys.read64(pa);
  }
  read32(pa: bigint): number {
    return this.phys.read32(pa);
  }
  write64(): void {}
  write32(): void {}
}

function outcome(r: Outcome): string {
  if (r.ok) return `ok pa=0x${r.pa!.toString(16)}`;
  return r.vector === 14 ? `#PF ec=0x${r.errorCode!.toString(16)}` : `#GP`;
}

type Outcome = { ok: boolean; pa?: bigint; vector?: number; errorCode?: number };

/** `outcome(a) === outcome(b)`, without building the strings (this runs on every sampled access). */
function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.ok !== b.ok) return false;
  if (a.ok) return a.pa === b.pa;
  const pfA = a.vector === 14;
  if (pfA !== (b.vector === 14)) return false;
  return !pfA || a.errorCode === b.errorCode;
}

/** Compares one access on both walkers; a finding when they disagree, else null. */
export function checkWalkAgreement(cpu: Cpu, phys: PhysLike, cfg: RefConfig, va: bigint, opts: AccessOptions): Finding | null {
  // The outcome alone (probe) unless the reference needs the PDPTE register the walk used (PAE);
  // the step-by-step explanation only for a report.
  const pae = cpu.mode === 'pae';
  let got: WalkExplanation | null = pae ? cpu.explain(va, { ...opts, dryRun: true }) : null;
  const result = got ? got.result : cpu.probe(va, opts);
  const regs = cpu.getControl();
  const pdptes = got ? pdptesOf(got) : undefined;
  if (pae && !pdptes) return null; // walk ended before the PDPTE register: nothing to compare
  const want = referenceAccess(new ReadOnlyMemory(phys), { ...regs, pdptes }, va, opts, cfg);
  if (sameOutcome(result, want)) return null;
  const g = outcome(result as never);
  const w = outcome(want as never);
  got ??= cpu.explain(va, { ...opts, dryRun: true });
  const lines = [
    `pagewalk: walker disagreement on CPU#${cpu.index}: ${opts.kind} at 0x${va.toString(16)} cpl ${opts.cpl} in ${cpu.mode} mode`,
    `pagewalk:   WASM walker:      ${g}`,
    `pagewalk:   reference walker: ${w}`,
    ...got.steps.map((s) => `pagewalk:   WASM ${s.name} @0x${s.entryAddress.toString(16)} = 0x${s.value.toString(16)} (${s.decision})`),
    ...want.steps.map((s) => `pagewalk:   ref  ${s.name} @0x${s.entryAddress.toString(16)} = 0x${s.value.toString(16)} (${s.decision})`),
  ];
  return {
    sanitizer: 'walker-mismatch',
    signature: `walker disagreement (${cpu.mode}, ${opts.kind}, cpl ${opts.cpl}): WASM ${g.split(' ')[0]} vs reference ${w.split(' ')[0]}`,
    log: lines,
  };
}

/** The four PDPTE register values, when the WASM walk shows them (PAE). */
function pdptesOf(e: WalkExplanation): bigint[] | undefined {
  const s = e.steps.find((x) => x.decision === 'pdpte-register' || x.name === 'PDPTE');
  if (!s) return undefined;
  // Only the register used by this walk is known; the others do not influence this access.
  const out = [0n, 0n, 0n, 0n];
  out[s.index] = s.value;
  return out;
}
