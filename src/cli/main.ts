/**
 * `pagewalk` command line. Each subcommand lives in its own module under src/cli/ and exports
 * `run(argv: string[]): Promise<number>` (the exit code). Usage errors exit 2 with one clear line.
 */
import { UsageError } from './args.js';
import { PagewalkError } from '../core/errors.js';

interface Command {
  summary: string;
  load: () => Promise<{ run(argv: string[]): Promise<number> }>;
}

// Register subcommands here, one line each.
const COMMANDS: Record<string, Command> = {
  start: { summary: 'the main job on its embedded default', load: () => import('./start.js') },
  walk: { summary: 'explain one page walk of an image (docs/cli-walk.md)', load: () => import('./walk.js') },
  scenario: { summary: 'list and run the seed bug scenarios, buggy vs fixed (docs/linux-model.md)', load: () => import('./scenario.js') },
  presets: { summary: 'kernel presets and knobs of the Linux model (docs/linux-model.md)', load: () => import('./presets.js') },
  fuzz: { summary: 'fuzz a preset: find, shrink and save races in page-table code (docs/fuzzing.md)', load: () => import('./fuzz.js') },
  replay: { summary: 'replay a fuzzer trace exactly and explain it step by step (docs/fuzzing.md)', load: () => import('./replay.js') },
  cost: { summary: 'walk-cost microbenchmarks: TLB/PSC hits, refs per walk, cycles (docs/cost.md)', load: () => import('./cost.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return ['usage: pagewalk <command> [options]', '', 'commands:', ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    console.error(`pagewalk: no command given (known: ${Object.keys(COMMANDS).join(', ')}; pagewalk --help for more)`);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    console.error(`pagewalk: unknown command '${name}' (known: ${Object.keys(COMMANDS).join(', ')}; pagewalk --help for more)`);
    return 2;
  }
  try {
    return await (await cmd.load()).run(rest);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof PagewalkError && e.userError)) {
      // One line naming the problem (a subcommand's own "name: " prefix is not repeated).
      const msg = e.message.startsWith(`${name}: `) ? e.message.slice(name.length + 2) : e.message;
      console.error(`pagewalk ${name}: ${msg.split('\n')[0]}`);
      return 2;
    }
    throw e;
  }
}

// `npx pagewalk` runs the bin through a symlink named `pagewalk` (node_modules/.bin/pagewalk).
const isEntry = typeof process !== 'undefined' && process.argv[1] && /(cli\.(js|ts)|[\\/]pagewalk)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e instanceof Error ? e.stack : String(e));
      process.exit(1);
    },
  );
}
