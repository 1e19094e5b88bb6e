/**
 * Runs a scenario variant: boots a kernel with the variant's preset (optionally overridden knob
 * by knob), sets up the workload, runs the deterministic scheduler (the scenario's schedule, or a
 * replay of a recorded trace) and collects the findings.
 */
import { Machine } from '../core/machine.js';
import type { CoreMachine } from '../modelcpu/contract.js';
import { configFromPreset } from '../linux/config.js';
import { Kernel } from '../linux/kernel.js';
import { machineOptionsFor } from '../linux/machine.js';
import { faultStats, type FaultStats } from '../linux/fault.js';
import type { KnobValue } from '../presets/index.js';
import type { Finding } from '../sanitizers/finding.js';
import { Scheduler, type RunStatus } from '../scheduler/scheduler.js';
import { ReplayStrategy } from '../scheduler/strategy.js';
import { getScenario, type Variant } from './registry.js';
import './index.js';

export interface ScenarioRunOptions {
  /** Knob overrides on top of the variant's preset. */
  overrides?: Record<string, KnobValue>;
  /** Replay these action codes instead of the scenario's schedule. */
  trace?: readonly number[];
  /** Step limit (default: the scenario's). With a replayed prefix, stop after the prefix. */
  maxSteps?: number;
  /**
   * Reuse this core machine (reset, then booted) instead of creating one: cheaper for many runs.
   * It must have at least the preset's CPUs and exactly its RAM. The previous run's kernel on it
   * is gone afterwards.
   */
  machine?: CoreMachine;
}

export interface ScenarioResult {
  scenario: string;
  variant: Variant;
  preset: string;
  outcome: 'bug' | 'clean';
  findings: Finding[];
  /** Recorded action codes (see src/scheduler/types.ts); replaying them reproduces the run. */
  trace: number[];
  status: RunStatus;
  steps: number;
  /** The whole kernel log (dmesg). */
  dmesg: string[];
  stats: FaultStats;
  /** Names of the interrupt sources, by index (to decode source action codes in `trace`). */
  sources: string[];
}

/** Runs `name` in `variant` (the WASM module must be ready: see `runScenario`). */
export function runScenarioSync(name: string, variant: Variant, opts: ScenarioRunOptions = {}): ScenarioResult & { kernel: Kernel } {
  const sc = getScenario(name);
  const preset = sc.presets[variant];
  const config = configFromPreset(preset, opts.overrides);
  const want = machineOptionsFor(config);
  let m: CoreMachine;
  if (opts.machine) {
    m = opts.machine;
    if (m.ramBytes !== want.ramBytes || m.cpus.length < want.cpus)
      throw new Error(
        `scenario ${name}: the given machine (${m.ramBytes} bytes, ${m.cpus.length} CPUs) does not fit preset ${preset} (${want.ramBytes} bytes, ${want.cpus} CPUs)`,
      );
    m.reset();
  } else {
    m = Machine.createSync(want) as unknown as CoreMachine;
  }
  const k = Kernel.boot(m, config);
  const plan = sc.setup(k, variant);
  const strategy = opts.trace ? new ReplayStrategy(opts.trace) : plan.strategy;
  const r = new Scheduler(k, strategy).run({ maxSteps: opts.maxSteps ?? plan.maxSteps ?? 20_000 });
  const findings = r.finding ? [r.finding] : [];
  return {
    scenario: sc.name,
    variant,
    preset,
    outcome: findings.length > 0 ? 'bug' : 'clean',
    findings,
    trace: r.trace,
    status: r.status,
    steps: r.steps,
    dmesg: k.log.slice(),
    stats: { ...faultStats(k) },
    sources: k.sources.map((s) => s.name),
    kernel: k,
  };
}

/** Runs `name` in `variant`; compiles the WASM core first if needed. */
export async function runScenario(name: string, variant: Variant, opts: ScenarioRunOptions = {}): Promise<ScenarioResult & { kernel: Kernel }> {
  getScenario(name); // fail fast on an unknown name
  await Machine.ready();
  return runScenarioSync(name, variant, opts);
}
