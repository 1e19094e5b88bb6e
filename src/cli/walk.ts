/**
 * `pagewalk walk --image <file> --va <addr> [--kind read|write|exec] [--cpl 0|3] [--mode M]
 * [--ac] [--implicit] [--dry-run] [--query N] [--ept EPTP [--mbec] [--no-execute-only] | --npt nCR3] [--json]`: explains one page walk (cpu.explain)
 * in the terminal. See docs/cli-walk.md.
 */
import type { AccessKind } from '../core/types.js';
import { describeWalk } from '../explain/describe.js';
import { jsonSafe } from '../explain/json.js';
import { isImageMode, parseImage, withMode, type ImageQuery, type PagewalkImage } from '../loader/image.js';
import { machineFromImage } from '../loader/machine-from-image.js';
import { UsageError, addrFlag, intFlag, parseArgs, readUserFile, type FlagSpec } from './args.js';
import { renderWalk } from './walk-render.js';
import { nestedGridSvg, nestedGridText } from '../explain/nested.js';
import type { NestedConfig } from '../core/nested.js';
import { writeFileSync } from 'node:fs';

const SPEC: Record<string, FlagSpec> = {
  image: { type: 'string', help: 'image file (JSON or binary, see docs/image-format.md)' },
  va: { type: 'string', help: 'linear address to walk, e.g. 0x7fff0000' },
  kind: { type: 'string', help: 'read (default), write or exec' },
  cpl: { type: 'string', help: 'current privilege level 0..3 (default 0; 3 = user)' },
  mode: { type: 'string', help: 'force the paging mode: 32bit, pae, 4level or 5level' },
  ac: { type: 'bool', help: 'EFLAGS.AC set (SMAP override)' },
  implicit: { type: 'bool', help: 'implicit supervisor access (GDT/IDT/TSS)' },
  'dry-run': { type: 'bool', help: 'write no accessed/dirty bit' },
  query: { type: 'string', help: "use the image's query number N (0-based) instead of --va/--kind/--cpl" },
  ept: { type: 'string', help: 'walk as a guest under Intel EPT with this EPTP (the image holds guest and EPT tables); prints the 2D grid' },
  npt: { type: 'string', help: 'walk as a guest under AMD NPT (4-level) with this nested CR3; prints the 2D grid' },
  svg: { type: 'string', help: 'with --ept/--npt: also write the grid as an SVG picture to this file' },
  mbec: { type: 'bool', help: 'with --ept: mode-based execute control (bit 10 = user-mode execute)' },
  'no-execute-only': { type: 'bool', help: 'with --ept: the CPU lacks execute-only EPT entries (bits 2:0 = 100b misconfigure)' },
  json: { type: 'bool', help: 'print one JSON object' },
  help: { type: 'bool' },
};

const KINDS: AccessKind[] = ['read', 'write', 'exec'];

function help(): string {
  return [
    'usage: pagewalk walk --image <file> --va <addr> [options]',
    '',
    ...Object.entries(SPEC)
      .filter(([, s]) => s.help)
      .map(([k, s]) => `  --${k.padEnd(9)} ${s.help}`),
  ].join('\n');
}

async function readImage(path: string): Promise<PagewalkImage> {
  const bytes = readUserFile(path, '--image');
  try {
    return parseImage(bytes);
  } catch (e) {
    if (e instanceof Error) e.message = `${path}: ${e.message}`;
    throw e;
  }
}

/** The query asked on the command line, or the image's query number `--query`. */
function queryOf(flags: Record<string, unknown>, image: PagewalkImage): ImageQuery {
  if (flags.query !== undefined) {
    if (flags.va !== undefined) throw new UsageError('give either --va or --query, not both');
    const n = intFlag(flags.query as string, 'query', 0);
    const q = image.queries[n];
    if (!q) throw new UsageError(`--query: the image has ${image.queries.length} queries (0..${image.queries.length - 1}), no number ${n}`);
    return q;
  }
  if (flags.va === undefined) throw new UsageError("--va is required (or --query N to use one of the image's queries)");
  const kind = (flags.kind ?? 'read') as string;
  if (!KINDS.includes(kind as AccessKind)) throw new UsageError(`--kind: expected read, write or exec, got ${JSON.stringify(kind)}`);
  const cpl = intFlag(flags.cpl as string | undefined, 'cpl', 0, 0, 3) as 0 | 1 | 2 | 3;
  return { va: addrFlag(flags.va as string, 'va'), kind: kind as AccessKind, cpl, ac: flags.ac === true, implicit: flags.implicit === true };
}

/** Entry point of `pagewalk walk`; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, SPEC, 'walk');
  if (flags.help) {
    console.log(help());
    return 0;
  }
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])} (options start with --)`);
  if (typeof flags.image !== 'string') throw new UsageError('--image is required (see docs/image-format.md; examples/4level.json is one)');
  const mode = flags.mode as string | undefined;
  if (mode !== undefined && !isImageMode(mode)) throw new UsageError(`--mode: expected 32bit, pae, 4level or 5level, got ${JSON.stringify(mode)}`);
  const image = await readImage(flags.image);
  const q = queryOf(flags, image);
  if (mode) image.control = withMode(image.control, mode);
  const m = await machineFromImage(image);
  if (flags.ept !== undefined || flags.npt !== undefined) return nestedWalk(m.cpus[0], flags, q, image.vendor);
  if (flags.svg !== undefined) throw new UsageError('--svg draws the 2D grid of a nested walk: give --ept or --npt');
  for (const f of ['mbec', 'no-execute-only']) if (flags[f] !== undefined) throw new UsageError(`--${f} is an EPT control: give --ept`);
  const e = m.cpus[0].explain(q.va, { kind: q.kind, cpl: q.cpl, ac: q.ac, implicit: q.implicit, dryRun: flags['dry-run'] === true });
  const d = describeWalk(e, image);
  if (flags.json) {
    console.log(JSON.stringify(jsonSafe({ image: flags.image, query: q, explanation: e, description: d }), null, 2));
    return 0;
  }
  const color = (process.stdout.isTTY === true || !!process.env.FORCE_COLOR) && !process.env.NO_COLOR;
  process.stdout.write(renderWalk(d, { color, source: flags.image }));
  if (q.note) process.stdout.write(`note: ${q.note}\n`);
  return 0;
}

/** `--ept` / `--npt`: the 2D walk of one query, as a grid (docs/nested.md). */
function nestedWalk(cpu: Awaited<ReturnType<typeof machineFromImage>>['cpus'][number], flags: Record<string, unknown>, q: ImageQuery, vendor: string): number {
  if (flags.ept !== undefined && flags.npt !== undefined) throw new UsageError('give either --ept or --npt, not both');
  if (cpu.mode === 'pae') throw new UsageError('a PAE guest needs its PDPTE registers: use the API (cpu.setNested with pdptes), not --ept/--npt');
  const ept = flags.ept !== undefined;
  const root = addrFlag((ept ? flags.ept : flags.npt) as string, ept ? 'ept' : 'npt');
  if (!ept)
    for (const f of ['mbec', 'no-execute-only']) if (flags[f] !== undefined) throw new UsageError(`--${f} is an Intel EPT control; NPT has no such option`);
  const cfg: NestedConfig = ept
    ? { kind: 'ept', eptp: root, executeOnly: flags['no-execute-only'] !== true, mbec: flags.mbec === true }
    : { kind: 'npt', ncr3: root };
  cpu.setNested(cfg);
  const x = cpu.nestedExplain(q.va, { kind: q.kind, cpl: q.cpl, ac: q.ac, implicit: q.implicit, dryRun: flags['dry-run'] === true });
  if (typeof flags.svg === 'string') {
    try {
      writeFileSync(flags.svg, nestedGridSvg(x));
    } catch (e) {
      throw new UsageError(`--svg: cannot write ${flags.svg}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (flags.json) {
    console.log(JSON.stringify(jsonSafe({ query: q, vendor, explanation: x }), null, 2));
    return 0;
  }
  process.stdout.write(nestedGridText(x));
  if (q.note) process.stdout.write(`note: ${q.note}\n`);
  return 0;
}
