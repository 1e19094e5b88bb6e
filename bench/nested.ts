/**
 * Nested-walk speed (docs/nested.md): the same random reads of a 16 MiB 4-level guest translated
 * by the 1D walk (translateBatch, TLB off: the guest's tables read as physical) and by the 2D
 * walk under 4-level EPT and NPT mapping guest-physical = host-physical with 4 KiB host pages
 * (nestedTranslateBatch). Prints accesses per second (median of 5 rounds, same process) and
 * references per access. Run: npx tsx bench/nested.ts
 */
import { Machine } from '../src/index.js';
import { uniformSource } from '../src/util/prng.js';

const RAM = 128 << 20;
const m = Machine.createSync({ ramBytes: RAM, tlb: false, psc: false });
const cpu = m.cpus[0]!;
const root = m.pageTables.newRoot('4level');
const BASE = 0x4000_0000n;
const PAGES = 4096;
m.pageTables.map('4level', root, BASE, 0x100_0000n, PAGES * 4096, { flags: 0x7n });
cpu.setControl({ cr0: 0x80010001n, cr4: 0x20n, efer: 0xd00n, cr3: root });
// host tables: identity map of the first 64 MiB with 4 KiB pages, EPT (RWX WB) and NPT (P RW US) at once
function hostTables(leaf: bigint, table: bigint): bigint {
  const alloc = (): bigint => BigInt(m.frames.alloc()) << 12n;
  const top = alloc(),
    pdpt = alloc(),
    pd = alloc();
  m.phys.write64(top, pdpt | table);
  m.phys.write64(pdpt, pd | table);
  for (let i = 0n; i < 32n; i++) {
    const pt = alloc();
    m.phys.write64(pd + i * 8n, pt | table);
    for (let j = 0n; j < 512n; j++) m.phys.write64(pt + j * 8n, ((i * 512n + j) << 12n) | leaf);
  }
  return top;
}
const ept = hostTables(0x37n, 0x7n);
const npt = hostTables(0x67n, 0x27n);
const N = 1 << 16;
const rand = uniformSource(7);
const vas = new BigUint64Array(N).map(() => BASE + BigInt(Math.floor(rand() * PAGES * 4096)));
const kinds = new Uint8Array(N);
const out = { pa: new BigUint64Array(N), fault: new Uint32Array(N) };

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
}

function time(name: string, run: () => number): void {
  const rates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    const faults = run();
    if (faults) throw new Error(`${name}: ${faults} faults`);
    rates.push(N / ((performance.now() - t) / 1000));
  }
  console.log(`${name.padEnd(28)} ${(median(rates) / 1e6).toFixed(2)} M accesses/s`);
}

cpu.resetStats();
time('1D walk (translateBatch)', () => cpu.translateBatch(vas, kinds, out, { cpl: 3 }));
console.log(`  refs/access ${(cpu.stats.memRefs / cpu.stats.walks).toFixed(1)}`);
for (const [name, cfg] of [
  ['2D walk, EPT 4-level', { kind: 'ept', eptp: ept | 0x1en }],
  ['2D walk, NPT 4-level', { kind: 'npt', ncr3: npt }],
] as const) {
  cpu.setNested(cfg);
  cpu.resetNestedStats();
  time(name, () => cpu.nestedTranslateBatch(vas, kinds, out, { cpl: 3 }));
  const s = cpu.nestedStats;
  console.log(`  refs/access ${(s.guestRefs / s.accesses).toFixed(1)} guest + ${(s.hostRefs / s.accesses).toFixed(1)} host`);
}
