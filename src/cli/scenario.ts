/**
 * `pagewalk scenario list [--json]` and `pagewalk scenario run <name> --variant buggy|fixed
 * [--json] [--set knob=value]... [--replay result.json]`: the seed scenarios (docs/linux-model.md).
 */
import { actionSlot, describeAction, SLOT_STEP } from '../scheduler/types.js';
import { parseKnobText, type KnobValue } from '../presets/index.js';
import { getScenario, listScenarios, type Variant } from '../scenarios/index.js';
import { runScenario, type ScenarioResult } from '../scenarios/runner.js';
import { parseArgs, readUserFile, UsageError } from './args.js';

const USAGE =
  'usage: pagewalk scenario list [--json] | pagewalk scenario run <name> --variant buggy|fixed [--json] [--set knob=value]... [--replay result.json]';

/** Entry point of the subcommand. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(rest);
  if (sub === 'run') return runOne(rest);
  if (sub === undefined) throw new UsageError('missing subcommand (expected list or run; pagewalk scenario --help for usage)');
  if (sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return 0;
  }
  throw new UsageError(`unknown subcommand '${sub}' (expected list or run; pagewalk scenario --help for usage)`);
}

function list(argv: string[]): number {
  const { flags, positional } = parseArgs(argv, { json: { type: 'bool' } }, 'scenario list');
  if (positional.length > 0) throw new UsageError(`scenario list takes no arguments, got '${positional[0]}'`);
  const rows = listScenarios().map((s) => ({
    name: s.name,
    seed: s.seed,
    description: s.description,
    presets: { buggy: s.presets.buggy, fixed: s.presets.fixed },
  }));
  if (flags.json) {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  for (const r of rows) {
    console.log(`${r.name}  (seed ${r.seed})`);
    console.log(`  buggy: ${r.presets.buggy}   fixed: ${r.presets.fixed}`);
    console.log(`  ${r.description}`);
  }
  return 0;
}

function parseSets(values: string[] | undefined): Record<string, KnobValue> {
  const out: Record<string, KnobValue> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set: expected knob=value, got ${JSON.stringify(v)}`);
    out[v.slice(0, eq)] = parseKnobText(v.slice(0, eq), v.slice(eq + 1));
  }
  return out;
}

function readTrace(path: string): number[] {
  const text = readUserFile(path, '--replay').toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--replay: ${path} is not JSON: ${(e as Error).message}`);
  }
  const trace = Array.isArray(data) ? data : data !== null && typeof data === 'object' ? (data as { trace?: unknown }).trace : undefined;
  if (!Array.isArray(trace) || !trace.every((x) => Number.isInteger(x) && x >= 0))
    throw new UsageError(`--replay: ${path} has no 'trace' array of action codes`);
  return trace as number[];
}

async function runOne(argv: string[]): Promise<number> {
  const spec = { variant: { type: 'string' }, json: { type: 'bool' }, set: { type: 'multi' }, replay: { type: 'string' } } as const;
  const { flags, positional } = parseArgs(argv, spec, 'scenario run');
  if (positional.length !== 1)
    throw new UsageError(
      `scenario run needs exactly one scenario name (known: ${listScenarios()
        .map((s) => s.name)
        .join(', ')})`,
    );
  const name = positional[0];
  getScenario(name);
  const variant = flags.variant;
  if (variant !== 'buggy' && variant !== 'fixed') throw new UsageError(`--variant: expected buggy or fixed, got ${JSON.stringify(variant ?? null)}`);
  const overrides = parseSets(flags.set as string[] | undefined);
  const trace = typeof flags.replay === 'string' ? readTrace(flags.replay) : undefined;
  const r = await runScenario(name, variant as Variant, { overrides, trace });
  if (flags.json) {
    const { scenario, outcome, preset, findings, status, steps, stats, sources } = r;
    console.log(JSON.stringify({ scenario, variant, preset, outcome, findings, trace: r.trace, sources, status, steps, stats, dmesg: r.dmesg }, null, 2));
  } else {
    console.log(report(r));
  }
  return 0;
}

/** The readable report. */
export function report(r: ScenarioResult): string {
  const sc = getScenario(r.scenario);
  const out = [`scenario ${r.scenario} (seed ${sc.seed}), variant ${r.variant}, preset ${r.preset}`];
  if (r.outcome === 'bug') {
    for (const f of r.findings) {
      out.push(`outcome: BUG (${f.sanitizer}) ${f.signature}`, '');
      for (const l of f.log) out.push(`  ${l}`);
      out.push('');
    }
  } else {
    out.push(`outcome: clean (run ${r.status})`);
  }
  out.push(`steps: ${r.steps}; faults: ${r.stats.userFaults} user, ${r.stats.vmallocFaults} vmalloc_fault() handled, ${r.stats.vmallocSyncs} pgd syncs`);
  const events = r.trace.filter((c) => actionSlot(c) !== SLOT_STEP).map((c) => describeAction(c, r.sources));
  out.push(`schedule: ${r.trace.length} choices${events.length ? `; events: ${events.join(', ')}` : ''} (--json for the full trace)`);
  return out.join('\n');
}
