/**
 * Nested-walk speed (docs/nested.md): the same random reads of a 16 MiB 4-level guest translated
 * by the 1D walk (translateBatch, TLB off: the guest's tables read as physical) and by the 2D
 * walk under 4-level EPT and NPT mapping guest-physical = host-physical with 4 KiB host pages
 * (nestedTranslateBatch): the exact walk and the fast paths (assembly/nested.ts eptFast /
 * nptFast) in alternating rounds of one process, then with the nested TLB on. Prints accesses per
 * second (medians of 7 rounds) and references per access. Run: npx tsx bench/nested.ts
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

function rate(run: () => number): number {
  const t = performance.now();
  const faults = run();
  if (faults) throw new Error(`${faults} faults`);
  return N / ((performance.now() - t) / 1000);
}

function show(name: string, rates: number[]): number {
  const r = median(rates);
  console.log(`${name.padEnd(34)} ${(r / 1e6).toFixed(2)} M accesses/s`);
  return r;
}

const ROUNDS = 7;
const r1 = Array.from({ length: ROUNDS }, () => rate(() => cpu.translateBatch(vas, kinds, out, { cpl: 3 })));
show('1D walk (translateBatch)', r1);
cpu.resetStats();
cpu.translateBatch(vas, kinds, out, { cpl: 3 });
console.log(`  refs/access ${(cpu.stats.memRefs / cpu.stats.walks).toFixed(1)}`);
for (const [name, cfg] of [
  ['EPT 4-level', { kind: 'ept', eptp: ept | 0x1en }],
  ['NPT 4-level', { kind: 'npt', ncr3: npt }],
] as const) {
  cpu.setNested(cfg);
  // exact and fast rounds alternate, so that load on the machine hits both alike
  const exact: number[] = [];
  const fast: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    m.core.nestedFastPaths(0);
    exact.push(rate(() => cpu.nestedTranslateBatch(vas, kinds, out, { cpl: 3 })));
    m.core.nestedFastPaths(1);
    fast.push(rate(() => cpu.nestedTranslateBatch(vas, kinds, out, { cpl: 3 })));
  }
  const e = show(`2D walk, ${name}, exact`, exact);
  const f = show(`2D walk, ${name}, fast paths`, fast);
  console.log(`  fast / exact ${(f / e).toFixed(2)}x`);
  cpu.resetNestedStats();
  cpu.nestedTranslateBatch(vas, kinds, out, { cpl: 3 });
  const s = cpu.nestedStats;
  console.log(`  refs/access ${(s.guestRefs / s.accesses).toFixed(1)} guest + ${(s.hostRefs / s.accesses).toFixed(1)} host`);
  // the nested TLB: 512 entries over 4096 pages (combined mappings miss; guest-physical ones serve the guest tables)
  cpu.setNested({ ...cfg, tlb: { sets: 64, ways: 8 } });
  cpu.nestedTranslateBatch(vas, kinds, out, { cpl: 3 });
  show(
    `2D walk, ${name}, nested TLB 64x8`,
    Array.from({ length: ROUNDS }, () => rate(() => cpu.nestedTranslateBatch(vas, kinds, out, { cpl: 3 }))),
  );
  cpu.resetNestedStats();
  cpu.nestedTranslateBatch(vas, kinds, out, { cpl: 3 });
  const t = cpu.nestedStats;
  console.log(
    `  refs/access ${(t.guestRefs / t.accesses).toFixed(1)} guest + ${(t.hostRefs / t.accesses).toFixed(1)} host; combined hits ${((100 * t.tlbHits) / t.accesses).toFixed(1)} %, guest-physical hits ${(t.gpaHits / t.accesses).toFixed(1)}/access`,
  );
  cpu.setNested({ ...cfg, tlb: false });
}
