/** `pagewalk presets [--json]`: the kernel presets and every knob (docs/linux-model.md). */
import { listKnobs, listPresets, resolvePreset } from '../presets/index.js';
import { listPvBackends } from '../linux/paravirt.js';
import '../linux/native.js';
import { parseArgs, UsageError } from './args.js';

/** Entry point of the subcommand. */
export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { json: { type: 'bool' }, help: { type: 'bool' } }, 'presets');
  if (flags.help) {
    console.log('usage: pagewalk presets [--json]\n  the kernel presets and every knob, with meaning and default (docs/linux-model.md)');
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`presets takes no arguments, got '${positional[0]}'`);
  const knobs = listKnobs().map((k) => ({
    name: k.name,
    group: k.group,
    type: k.type,
    values: k.values,
    min: k.min,
    max: k.max,
    default: k.default,
    description: k.description,
  }));
  const presets = listPresets().map((p) => ({
    name: p.name,
    description: p.description,
    base: p.base ?? null,
    knobs: p.knobs,
    resolved: resolvePreset(p.name),
  }));
  if (flags.json) {
    console.log(JSON.stringify({ presets, knobs, paravirtBackends: listPvBackends() }, null, 2));
    return 0;
  }
  console.log('presets:');
  for (const p of presets) {
    console.log(`  ${p.name}${p.base ? ` (from ${p.base})` : ''}`);
    console.log(`    ${p.description}`);
    console.log(
      `    ${Object.entries(p.knobs)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  }
  console.log('\nknobs:');
  for (const k of knobs) {
    const dom = k.type === 'enum' ? k.values!.join('|') : k.type === 'int' ? `${k.min}..${k.max}` : k.type;
    console.log(`  ${k.name} (${dom}, default ${k.default}): ${k.description}`);
  }
  return 0;
}
