/**
 * `npx tsx scripts/instr-profile.ts [--preset P] [--runs N] [--seeds S] [--top K] [--compare]`:
 * where a fuzzing process spends its machine instructions, JIT-compiled code included — exact
 * counts, the same in every run, unlike a sampling profiler's (docs/fuzzing.md, "Twelfth session").
 * The oracles' cost child (bench/oracle-cost-child.ts, bundled with esbuild into a temporary
 * directory) runs `S` campaign units of `N` executions of preset `P` under Valgrind's callgrind in a
 * deterministic V8 (`--single-threaded`: the optimizing compiler and the garbage collector work on
 * the main thread, and are counted), which writes a map of its generated code
 * (`--perf-basic-prof`; code space not compacted, so an address names one function). Every
 * instruction callgrind counts in generated code is charged to the JavaScript (or WebAssembly)
 * function whose code holds it, the rest to the C++ function or builtin callgrind names.
 *
 * Prints the instructions by kind (TurboFan compiling, garbage collection, optimized JavaScript,
 * baseline JavaScript, builtins such as the inline caches' slow paths, WebAssembly, the rest of V8
 * and libc) and the top `K` functions by their own instructions; with `--compare`, the oracles off
 * and on side by side and the functions whose count differs most. Needs `valgrind`
 * (Debian: `apt-get install valgrind`); about 100 times slower than a normal run.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { intFlag } from '../src/cli/args.js';
import { parseChildArgs, runScript, valgrindChild, withCostChild } from './valgrind-child.js';

/** Runs the bundled cost child under callgrind; its output file and the code map V8 wrote. */
async function callgrind(dir: string, bundle: string, preset: string, mode: 'on' | 'off', runs: number, seeds: number): Promise<{ out: string; map: string }> {
  const out = join(dir, `callgrind.${mode}`);
  const tool = ['--tool=callgrind', '--dump-instr=yes', `--callgrind-out-file=${out}`];
  const report = await valgrindChild('instr-profile', tool, ['--perf-basic-prof', '--no-compact-code-space'], bundle, preset, mode, runs, seeds);
  const pid = /^==(\d+)==/m.exec(report)?.[1];
  if (!pid) throw new Error(`instr-profile: no process id in Valgrind's report:\n${report.slice(-2000)}`);
  // V8 writes the map of a process's generated code to /tmp/perf-<pid>.map (Linux perf's convention).
  return { out, map: `/tmp/perf-${pid}.map` };
}

interface CodeRange {
  start: number;
  end: number;
  name: string;
  /** Order in the map: code allocated where freed code was names the later entry. */
  order: number;
}

/** The generated code ranges of a perf map, sorted by start. */
function readCodeMap(file: string): CodeRange[] {
  const ranges: CodeRange[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1], 16);
    // "JS:*name file:///...:line:col" -> "JS:*name"
    ranges.push({ start, end: start + parseInt(m[2], 16), name: m[3].replace(/ (file|node):\S*$/, ''), order: ranges.length });
  }
  return ranges.sort((a, b) => a.start - b.start);
}

/** The name of the latest code range holding address `a` (among the 200 starting last before it). */
function lookup(ranges: CodeRange[], a: number): string | null {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid].start <= a) lo = mid + 1;
    else hi = mid - 1;
  }
  let best: CodeRange | null = null;
  for (let j = hi; j >= 0 && j > hi - 200; j--) {
    const r = ranges[j];
    if (a < r.end && (!best || r.order > best.order)) best = r;
  }
  return best?.name ?? null;
}

/**
 * Self instructions per function from a callgrind file (`--dump-instr=yes`): cost lines add to
 * the current function, except the line after `calls=` (the call's inclusive cost). Code callgrind
 * cannot name (object `???`: generated code) is charged by address through the code map.
 */
function selfCosts(file: string, code: CodeRange[]): Map<string, number> {
  const names = { ob: new Map<string, string>(), fn: new Map<string, string>(), fl: new Map<string, string>() };
  const name = (kind: keyof typeof names, rest: string): string => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(rest);
    if (!m) return rest;
    if (m[2] !== undefined) names[kind].set(m[1], m[2]);
    return names[kind].get(m[1]) ?? rest;
  };
  const pos = (tok: string, prev: number): number =>
    tok === '*' ? prev : tok[0] === '+' ? prev + parseInt(tok.slice(1)) : tok[0] === '-' ? prev - parseInt(tok.slice(1)) : parseInt(tok);
  const out = new Map<string, number>();
  const add = (k: string, n: number): void => {
    out.set(k, (out.get(k) ?? 0) + n);
  };
  let ob = '';
  let fn = '';
  let skip = false;
  let instr = 0;
  let line = 0;
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    if (!l) continue;
    const c = l.charCodeAt(0);
    if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42) {
      const t = l.split(' ');
      instr = pos(t[0], instr);
      line = pos(t[1], line);
      if (skip) skip = false;
      else if (ob === '???') add(lookup(code, instr) ?? 'generated code (unmapped)', Number(t[2] ?? 0));
      else add(`${fn} (${ob.split('/').pop()})`, Number(t[2] ?? 0));
      continue;
    }
    const eq = l.indexOf('=');
    const key = l.slice(0, eq);
    const rest = l.slice(eq + 1);
    if (key === 'ob') ob = name('ob', rest);
    else if (key === 'fn') fn = name('fn', rest);
    else if (key === 'cob') name('ob', rest);
    else if (key === 'cfn') name('fn', rest);
    else if (key === 'fl' || key === 'fi' || key === 'fe' || key === 'cfi' || key === 'cfl') name('fl', rest);
    else if (key === 'calls') skip = true;
  }
  return out;
}

/** The kind of work a function's instructions are. */
function kindOf(f: string): string {
  if (/compiler::|turboshaft::|\bZone\b|JSHeapBroker|OptimizedCompilationJob|PipelineImpl/.test(f)) return 'TurboFan compiling';
  if (/Scaveng|MarkCompact|Marking|Sweep|Evacuat|heap::base|Heap::|IteratePointers|LiveObject|RememberedSet/.test(f)) return 'garbage collection';
  if (f.startsWith('JS:wasm')) return 'WebAssembly';
  if (f.startsWith('JS:*')) return 'optimized JavaScript';
  if (f.startsWith('JS:^') || f.startsWith('JS:~')) return 'baseline/interpreted JavaScript';
  if (f.startsWith('Builtins_') || f.startsWith('Builtin:') || f.startsWith('BytecodeHandler:')) return 'builtins (ICs, interpreter)';
  if (/\((libc|libstdc|libm)/.test(f)) return 'libc';
  return 'rest of V8 and Node';
}

async function main(argv: string[]): Promise<void> {
  const { flags, preset, runs } = parseChildArgs(
    argv,
    {
      seeds: { type: 'string', help: 'campaign units (seeds 1..S, default 6)' },
      top: { type: 'string', help: 'functions listed (default 30)' },
      compare: { type: 'bool', help: 'the oracles off and on (default: on only)' },
    },
    'instr-profile',
  );
  const seeds = intFlag(flags.seeds, 'seeds', 6, 1, 1000);
  const top = intFlag(flags.top, 'top', 30, 1, 10_000);
  const modes = flags.compare ? (['off', 'on'] as const) : (['on'] as const);
  const maps: string[] = [];
  try {
    await withCostChild('instr-profile', async (dir, bundle) => {
      process.stderr.write(`instr-profile: ${modes.length} callgrind run(s) of ${preset}, ${seeds} x ${runs} executions\n`);
      const runsDone = await Promise.all(modes.map((m) => callgrind(dir, bundle, preset, m, runs, seeds)));
      maps.push(...runsDone.map((r) => r.map));
      const costs = runsDone.map((r) => selfCosts(r.out, readCodeMap(r.map)));
      const g = (n: number): string => `${(n / 1e9).toFixed(3)} G`.padStart(10);
      const kinds = new Set<string>();
      const byKind = costs.map((c) => {
        const k = new Map<string, number>();
        for (const [f, n] of c) {
          const kind = kindOf(f);
          kinds.add(kind);
          k.set(kind, (k.get(kind) ?? 0) + n);
        }
        return k;
      });
      const total = byKind.map((k) => [...k.values()].reduce((a, b) => a + b, 0));
      console.log(`${preset}, ${seeds * runs} executions (start-up and boot included), instructions by kind (oracles ${modes.join(' / ')}):`);
      for (const k of [...kinds].sort((a, b) => (byKind[0].get(b) ?? 0) - (byKind[0].get(a) ?? 0)))
        console.log(`  ${k.padEnd(32)}${byKind.map((m) => g(m.get(k) ?? 0)).join('')}`);
      console.log(`  ${'total'.padEnd(32)}${total.map(g).join('')}`);
      const last = costs[costs.length - 1];
      const first = costs[0];
      const keys = [...new Set([...first.keys(), ...last.keys()])];
      const score = (f: string): number => (costs.length > 1 ? Math.abs((last.get(f) ?? 0) - (first.get(f) ?? 0)) : (last.get(f) ?? 0));
      console.log(costs.length > 1 ? `functions whose own instructions differ most (off / on):` : `functions by their own instructions:`);
      for (const f of keys.sort((a, b) => score(b) - score(a)).slice(0, top))
        console.log(`${costs.map((c) => g(c.get(f) ?? 0)).join('')}  ${f.length > 120 ? f.slice(0, 117) + '...' : f}`);
    });
  } finally {
    for (const m of maps) rmSync(m, { force: true });
  }
}

runScript(main);
