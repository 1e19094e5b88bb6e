/**
 * `Cpu.pscEntries(filter)` decodes only the paging-structure-cache entries serving addresses below
 * `filter.below`, or pointing to the table in frame `filter.table`, reading the others' keys as
 * doubles. Its answer must be exactly the full decode filtered afterwards, in every paging mode,
 * for user and kernel halves (4- and 5-level addresses sign-extended from bit 47 or 56), whatever
 * the bound (a page boundary, one past it, one that is not a double, beyond 2^63).
 */
import { describe, expect, it } from 'vitest';
import { Machine, type PscEntryInfo } from '../src/index.js';
import type { TableMode } from '../src/core/pagetables.js';
import { Prng } from '../src/util/prng.js';

const CONTROLS: Record<TableMode, { cr4: bigint; efer: bigint; cr0: bigint }> = {
  '32bit': { cr4: 0x10n, efer: 0n, cr0: 0x8000_0001n },
  pae: { cr4: 0x20n, efer: 0x800n, cr0: 0x8000_0001n },
  '4level': { cr4: 0x20n, efer: 0x900n, cr0: 0x8000_0001n },
  '5level': { cr4: 0x20n | (1n << 12n), efer: 0x900n, cr0: 0x8000_0001n },
};

/** Addresses in both halves of each mode's linear address space (4 KiB pages). */
function addresses(mode: TableMode, r: Prng): bigint[] {
  const bits = mode === '5level' ? 57 : mode === '4level' ? 48 : 32;
  const out: bigint[] = [];
  for (let i = 0; i < 60; i++) {
    let va = (BigInt(r.below(2 ** 30)) * BigInt(r.below(2 ** 30)) * 4096n) % (1n << BigInt(bits));
    if (bits > 32 && va >= 1n << BigInt(bits - 1)) va = BigInt.asUintN(64, BigInt.asIntN(bits, va)); // canonical
    out.push(va & ~0xfffn);
  }
  return out;
}

const key = (p: PscEntryInfo): string => `${p.level}:${p.va.toString(16)}:${p.next.toString(16)}:${p.pcid}:${p.writable}${p.user}${p.nx}`;

describe('pscEntries(filter) is the full decode, filtered', () => {
  for (const mode of ['32bit', 'pae', '4level', '5level'] as const)
    it(mode, () => {
      const m = Machine.createSync({
        ramBytes: 32 << 20,
        cpus: 1,
        psc: { pde: { sets: 8, ways: 4 }, pdpte: { sets: 4, ways: 2 }, pml4e: { sets: 2, ways: 2 }, pml5e: { sets: 1, ways: 2 } },
      });
      const r = new Prng(mode.length * 7919);
      const root = m.pageTables.newRoot(mode);
      const vas = addresses(mode, r);
      for (const va of vas) m.pageTables.map(mode, root, va, 0x100000n + BigInt(r.below(1024)) * 4096n, 4096, { flags: 0x7n });
      const cpu = m.cpus[0];
      cpu.setControl({ ...CONTROLS[mode], cr3: root });
      for (const va of vas) expect(cpu.access(va, { kind: 'read', cpl: 0 }).ok).toBe(true);
      const all = cpu.pscEntries();
      expect(all.length).toBeGreaterThan(8);
      const bounds = new Set<bigint>([0n, 1n, 0xc000_0000n, 0x7fff_ffff_f000n, 1n << 47n, 1n << 52n, (1n << 53n) + 1n, 1n << 63n, (1n << 64n) - 1n]);
      for (const p of all) [p.va, p.va + 1n, p.va - 1n].forEach((b) => b >= 0n && bounds.add(b));
      for (const below of bounds) expect(cpu.pscEntries({ below }).map(key), `below ${below.toString(16)}`).toEqual(all.filter((p) => p.va < below).map(key));
      for (const p of all) {
        const table = Number(p.next >> 12n);
        expect(cpu.pscEntries({ table }).map(key)).toEqual(all.filter((q) => Number(q.next >> 12n) === table).map(key));
      }
      expect(cpu.pscEntries({ table: 1 })).toEqual([]);
    });
});
