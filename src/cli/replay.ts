/**
 * `pagewalk replay <trace.json> [--json]` — re-runs a finding's trace exactly (the recorded
 * scheduler choices) and explains it step by step: which CPU ran which model function, where an
 * interrupt came, which operation each task performed; then the report as the kernel or Xen
 * printed it, and whether it reproduced (exit 0) or not (exit 1). Unreadable or corrupted traces
 * exit 2.
 */
import { Coverage } from '../fuzz/coverage.js';
import { formatProgram } from '../fuzz/program.js';
import { createTarget, presetCpus } from '../fuzz/targets.js';
import { parseTraceText, type TraceFile } from '../fuzz/trace.js';
import type { ExecResult } from '../fuzz/target.js';
import { parseArgs, readUserFile, UsageError } from './args.js';

const SPEC = { json: { type: 'bool' as const }, help: { type: 'bool' as const } };
const USAGE = 'usage: pagewalk replay <trace.json> [--json]';

/** Reads and validates a trace file (user errors name the file and the problem). */
export function readTrace(path: string): TraceFile {
  const text = readUserFile(path, 'replay').toString('utf8');
  try {
    return parseTraceText(text, presetCpus);
  } catch (e) {
    throw new UsageError(`replay: ${path}: ${(e as Error).message}`);
  }
}

/** Re-runs a trace exactly, with the explanation recorded. */
export async function replayTrace(t: TraceFile): Promise<ExecResult> {
  const target = await createTarget(t.preset, t.overrides);
  return target.run({ program: t.program, schedule: t.schedule, replay: t.choices, replayFallback: false, explain: true }, new Coverage());
}

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, SPEC, 'replay');
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (positional.length !== 1) throw new UsageError(`expected one trace file (${USAGE})`);
  const t = readTrace(positional[0]);
  let r: ExecResult;
  try {
    r = await replayTrace(t);
  } catch (e) {
    throw new UsageError(`replay: ${positional[0]}: ${(e as Error).message}`);
  }
  const reproduced = r.finding?.signature === t.finding.signature;
  if (flags.json) {
    console.log(
      JSON.stringify({
        preset: t.preset,
        overrides: t.overrides,
        reproduced,
        expected: t.finding,
        finding: r.finding ?? null,
        status: r.status,
        steps: r.steps,
        events: r.events,
      }),
    );
    return reproduced ? 0 : 1;
  }
  const out: string[] = [];
  out.push(
    `trace: ${t.finding.sanitizer} on preset ${t.preset}${
      Object.keys(t.overrides).length
        ? ` (${Object.entries(t.overrides)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')})`
        : ''
    }, found by seed ${t.found.seed} at execution ${t.found.execution}${t.shrunk ? ', shrunk' : ''}`,
  );
  out.push('', 'program:', ...formatProgram(t.program).map((l) => `  ${l}`));
  out.push('', `schedule: ${t.choices.length} recorded scheduler choices (${t.schedule.strategy} seed ${t.schedule.seed})`, '', 'run:');
  for (const e of r.events ?? []) out.push(`  ${String(e.step).padStart(5)}  CPU${e.cpu}  ${e.bad ? '!! ' : ''}${e.text}`);
  out.push('');
  if (r.finding) out.push(...r.finding.log, '');
  out.push(
    reproduced
      ? `pagewalk: reproduced: ${t.finding.signature}`
      : `pagewalk: NOT reproduced: expected '${t.finding.signature}', got ${r.finding ? `'${r.finding.signature}'` : `no finding (run ${r.status})`}`,
  );
  console.log(out.join('\n'));
  return reproduced ? 0 : 1;
}
