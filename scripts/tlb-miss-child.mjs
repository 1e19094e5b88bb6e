// The child of scripts/tlb-instructions.ts: `node tlb-miss-child.mjs TREE MIB LARGE BATCHES` builds
// 4 KiB page tables mapping MIB MiB (leaves at random frames, tables in the first frames of 256 MiB
// of RAM) with the built package of the pagewalk checkout TREE (its dist/index.js), turns the TLB
// and the paging-structure caches on (realistic geometry), and with LARGE = 1 first reads a 2 MiB
// page so that the 2 MiB TLB class holds an entry, as a kernel's direct map keeps it; then
// translates BATCHES batches of 65,536 random 4 KiB user reads through translateInPlace. Prints
// nothing: the caller counts its instructions.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [tree, mibArg, largeArg, batchesArg] = process.argv.slice(2);
const { Machine } = await import(pathToFileURL(join(tree, 'dist/index.js')).href);
const mib = Number(mibArg);
const batches = Number(batchesArg);
let seed = 7;
/** A uniform integer below n (a 32-bit xorshift: the same addresses in every tree). */
const below = (n) => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const m = await Machine.create({ ramBytes: 256 * 2 ** 20, cpus: 1 });
let next = 1;
const table = () => BigInt(next++ * 4096);
const root = table();
const pdpt = table();
m.phys.write64(root, pdpt | 0x27n);
const pages = (mib * 2 ** 20) / 4096;
let pd = 0n;
let pt = 0n;
for (let i = 0; i < pages; i++) {
  if (i % (512 * 512) === 0) m.phys.write64(pdpt + BigInt(i / (512 * 512)) * 8n, (pd = table()) | 0x27n);
  if (i % 512 === 0) m.phys.write64(pd + BigInt((i / 512) % 512) * 8n, (pt = table()) | 0x27n);
  m.phys.write64(pt + BigInt(i % 512) * 8n, (BigInt(0x100000 + below(0x100000)) << 12n) | 0x67n);
}
// a 2 MiB user page at 512 GiB
const pdpt2 = table();
const pd2 = table();
m.phys.write64(root + 8n, pdpt2 | 0x27n);
m.phys.write64(pdpt2, pd2 | 0x27n);
m.phys.write64(pd2, 0x4000_0000n | 0xe7n);
const cpu = m.cpus[0];
cpu.setControl({ cr0: 1n, cr4: (1n << 5n) | (1n << 7n), efer: (1n << 8n) | (1n << 11n), cr3: root });
cpu.setControl({ cr0: (1n << 0n) | (1n << 16n) | (1n << 31n) });
cpu.configure({ tlb: true, psc: true });
if (largeArg === '1' && !cpu.access(1n << 39n, { kind: 'read', cpl: 3 }).ok) throw new Error('tlb-miss-child: the 2 MiB page does not translate');
const n = 65536;
const pool = new BigUint64Array(n * 24);
for (let i = 0; i < pool.length; i++) pool[i] = BigInt(below(pages)) * 4096n + BigInt(below(4096));
for (let k = 0; k < batches; k++) {
  m.io.va.set(pool.subarray((k % 24) * n, (k % 24) * n + n));
  m.io.kind.fill(0, 0, n);
  cpu.translateInPlace(n, { cpl: 3 });
}
