/**
 * `npx tsx scripts/oracle-share.ts <profile.cpuprofile | directory>`: the share of a campaign's
 * main-thread time spent inside the outcome oracles, from a V8 CPU profile of the oracles' cost
 * child, e.g.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/oracle-cost-child.ts linux-4.14-hyperv on 300 20
 *   npx tsx scripts/oracle-share.ts /tmp/prof
 *
 * A sample counts once, for the outermost oracle frame on its stack (an oracle calling the core's
 * TLB queries is charged with them). Oracle frames: every function of src/fuzz/outcome.ts, the
 * frame-lifetime check's hooks and checks (src/linux/pt_sanitizers.ts), and the process view's
 * functions in the interpreter (src/fuzz/interp.ts) — listed below by name, to be kept in step with
 * them. Prints the share, then the time per outermost oracle frame and per function inside them.
 * What a profile cannot charge to a function (allocation, compilation of more code, hooks inlined
 * into the model's functions) is not counted: the share is a lower bound of the cost
 * (docs/fuzzing.md, "Tenth session").
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const FRAME_LIFETIME =
  /^(onAccess|walkedTables|checkFreed|checkTableFreed|recordFree|doubleFree|reset|install|uninstall|filledPages|fillersOf|reachedAsTable|fillOf|live|)$/;
const PROCESS_VIEW = /^(judge|o\.onUser|seenAtFork|checkUser|revoking|k\.observers\..*)$/;

function isOracle(n: ProfileNode): boolean {
  const { url, functionName: f } = n.callFrame;
  if (url.endsWith('src/fuzz/outcome.ts')) return true;
  if (url.endsWith('src/linux/pt_sanitizers.ts')) return FRAME_LIFETIME.test(f);
  if (url.endsWith('src/fuzz/interp.ts')) return PROCESS_VIEW.test(f);
  return false;
}

function load(path: string): Profile | string {
  let file = path;
  try {
    if (statSync(path).isDirectory()) {
      const f = readdirSync(path).find((x) => x.endsWith('.cpuprofile'));
      if (!f) return `oracle-share: no .cpuprofile file in ${path}`;
      file = join(path, f);
    }
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    if (!Array.isArray(p.nodes) || !Array.isArray(p.samples) || !Array.isArray(p.timeDeltas))
      return `oracle-share: ${file} is not a V8 CPU profile (no nodes, samples, timeDeltas)`;
    return p;
  } catch (e) {
    return `oracle-share: cannot read ${file}: ${(e as Error).message}`;
  }
}

function main(path: string | undefined): number {
  if (!path) {
    process.stderr.write('usage: npx tsx scripts/oracle-share.ts <profile.cpuprofile | directory holding one>\n');
    return 2;
  }
  const p = load(path);
  if (typeof p === 'string') {
    process.stderr.write(p + '\n');
    return 2;
  }
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const name = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}`;
  let busy = 0;
  let inside = 0;
  const outer = new Map<string, number>();
  const within = new Map<string, number>();
  // Iterative walk: (node, outermost oracle frame above it or null).
  const stack: [ProfileNode, string | null][] = [[p.nodes[0], null]];
  while (stack.length) {
    const [n, top] = stack.pop()!;
    const t = self.get(n.id) ?? 0;
    const idle = /^\((idle|program)\)$/.test(n.callFrame.functionName);
    const o = top ?? (isOracle(n) ? name(n) : null);
    if (!idle) {
      busy += t;
      if (o) {
        inside += t;
        outer.set(o, (outer.get(o) ?? 0) + t);
        within.set(name(n), (within.get(name(n)) ?? 0) + t);
      }
    }
    for (const c of n.children ?? []) stack.push([byId.get(c)!, o]);
  }
  const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
  console.log(`main thread busy ${ms(busy)} ms; inside the outcome oracles ${ms(inside)} ms = ${((100 * inside) / busy).toFixed(1)} %`);
  console.log('by outermost oracle frame (ms):');
  for (const [k, v] of [...outer].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${ms(v)}  ${k}`);
  console.log('by function, inside oracle frames (ms):');
  for (const [k, v] of [...within].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${ms(v)}  ${k}`);
  return 0;
}

process.exitCode = main(process.argv[2]);
