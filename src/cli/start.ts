/**
 * `pagewalk start` (npm start): until the fuzzer campaign exists, a walk demonstration — one
 * explained 4-level walk, a fault decoded bit by bit, and a short batched-walk throughput line.
 */
import { Machine } from '../core/machine.js';
import { describeWalk } from '../explain/describe.js';
import { renderWalk } from './walk-render.js';

export async function run(_argv: string[]): Promise<number> {
  const m = await Machine.create({ ramBytes: 128 << 20 });
  const cpu = m.cpus[0];
  const root = m.pageTables.newRoot('4level');
  const va = 0x7f12_3456_7000n;
  m.pageTables.map('4level', root, va, 0x30_0000n, 0x1000, { flags: 0x5n }); // P|US: user read-only
  cpu.setControl({ cr4: 0x20n, efer: 0x900n, cr3: root, cr0: 0x8001_0001n }); // PAE, LME|NXE, PG|WP|PE
  const color = process.stdout.isTTY && !process.env.NO_COLOR;
  console.log(renderWalk(describeWalk(cpu.explain(va + 0x123n, { kind: 'read', cpl: 3 })), { color, source: 'demo: user read' }));
  console.log();
  console.log(renderWalk(describeWalk(cpu.explain(va + 0x123n, { kind: 'write', cpl: 3 })), { color, source: 'demo: user write to a read-only page' }));
  console.log();
  console.log(benchmarkLine(m));
  return 0;
}

/** Walks per second over 64 MiB of 4 KiB pages, TLB and caches off (see `npm run bench`). */
function benchmarkLine(m: Machine): string {
  const cpu = m.cpus[0];
  const root = m.pageTables.newRoot('4level');
  const pages = 16384;
  const pas = new BigUint64Array(pages);
  for (let i = 0; i < pages; i++) pas[i] = BigInt(((i * 7919) % pages) + 4096) << 12n;
  m.pageTables.mapPages('4level', root, 0x1000_0000n, pas, { flags: 0x27n, tableFlags: 0x27n });
  cpu.setControl({ cr3: root });
  cpu.configure({ tlb: false, psc: false });
  const n = m.batchMax;
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    m.io.va[i] = 0x1000_0000n + (BigInt(x % pages) << 12n);
    m.io.kind[i] = 0;
  }
  const rounds = 40;
  cpu.translateInPlace(n, { cpl: 0 }); // warm up
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) cpu.translateInPlace(n, { cpl: 0 });
  const secs = (performance.now() - t0) / 1000;
  return `batched 4-level walks, 64 MiB of shuffled 4 KiB pages, TLB off: ${((rounds * n) / secs / 1e6).toFixed(1)} M walks/s (npm run bench for the full comparison)`;
}
