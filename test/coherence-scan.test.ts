/**
 * The core's boundary scans (assembly/coherence.ts), which the TLB-coherence oracle asks first at
 * every return to user mode and looks no further when they count nothing stale, must count
 * exactly what the oracle's own definitions flag: a user, non-global TLB entry below the bound that
 * a CPL-3 probe contradicts (read faults or maps elsewhere; a write or fetch the entry allows is
 * denied), and a paging-structure-cache entry below the bound that the software walk of the tables
 * in memory (src/fuzz/outcome.ts walkTables) contradicts (stops, points elsewhere, grants less).
 * Random tables in every paging mode, TLB and caches filled, then random entries at every level
 * weakened, cleared or redirected, and in IA-32e mode protection keys switched on.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/index.js';
import type { TableMode } from '../src/core/pagetables.js';
import type { Kernel } from '../src/linux/kernel.js';
import { walkTables } from '../src/fuzz/outcome.js';
import { Prng } from '../src/util/prng.js';

const CONTROLS: Record<TableMode, { cr4: bigint; efer: bigint; cr0: bigint }> = {
  '32bit': { cr4: 0x10n | 0x80n, efer: 0n, cr0: 0x8000_0001n },
  pae: { cr4: 0x20n | 0x80n, efer: 0x800n, cr0: 0x8000_0001n },
  '4level': { cr4: 0x20n | 0x80n, efer: 0x900n, cr0: 0x8000_0001n },
  '5level': { cr4: 0x20n | 0x80n | (1n << 12n), efer: 0x900n, cr0: 0x8000_0001n },
};

const XD = 1n << 63n;

function userAddresses(mode: TableMode, r: Prng, n: number): bigint[] {
  const bits = mode === '5level' ? 56 : mode === '4level' ? 47 : 31; // the lower half (user space)
  const out = new Set<bigint>();
  while (out.size < n) {
    const va = (BigInt(r.below(2 ** 30)) * BigInt(r.below(2 ** 30)) * 4096n) % (1n << BigInt(bits));
    out.add(va & ~0xfffn);
    // neighbours share tables, so that one upper entry serves several cached translations
    out.add((va & ~0xfffn) + 4096n * BigInt(1 + r.below(8)));
  }
  return [...out];
}

describe('the core counts the stale user TLB and paging-structure-cache entries the oracle would flag', () => {
  for (const mode of ['32bit', 'pae', '4level', '5level'] as const)
    it(mode, () => {
      let staleSeen = 0;
      let cleanSeen = 0;
      for (let round = 0; round < 20; round++) {
        const m = Machine.createSync({
          ramBytes: 32 << 20,
          cpus: 1,
          psc: { pde: { sets: 8, ways: 4 }, pdpte: { sets: 4, ways: 2 }, pml4e: { sets: 2, ways: 2 }, pml5e: { sets: 1, ways: 2 } },
        });
        const k = { m } as unknown as Kernel; // walkTables reads k.m.phys and k.m.ramBytes only
        const r = new Prng(round * 131 + mode.length);
        const root = m.pageTables.newRoot(mode);
        // In IA-32e mode, half the rounds with protection keys on (CR4.PKE) and some keys denying access or writes.
        const keys = (mode === '4level' || mode === '5level') && round % 2 === 1;
        const vas = userAddresses(mode, r, 40);
        for (const va of vas) {
          // user pages, some read-only, some XD (not in 32-bit paging), some global, some supervisor
          let flags = 0x1n | (r.below(8) === 0 ? 0n : 0x2n) | (r.below(10) === 0 ? 0n : 0x4n) | (r.below(6) === 0 ? 0x100n : 0n);
          if (mode !== '32bit' && r.below(3) === 0) flags |= XD;
          if (keys) flags |= BigInt(r.below(16)) << 59n; // a protection key
          m.pageTables.map(mode, root, va, 0x100000n + BigInt(r.below(2048)) * 4096n, 4096, { flags });
        }
        const cpu = m.cpus[0];
        cpu.setControl({ ...CONTROLS[mode], cr3: root });
        for (const va of vas) cpu.access(va, { kind: r.below(3) === 0 ? 'write' : 'read', cpl: 3 });
        if (keys) cpu.setControl({ cr4: CONTROLS[mode].cr4 | (1n << 22n), pkru: BigInt(r.below(2 ** 16) * 2 ** 16 + r.below(2 ** 16)) });
        for (const va of vas) cpu.access(va, { kind: 'read', cpl: 0 });
        // Change the tables behind the caches' back: leaves and upper entries, rights and addresses.
        const cr3 = cpu.getCr3();
        for (let i = 0; i < r.below(4); i++) {
          const path: number[] = [];
          walkTables(k, cr3, mode, vas[r.below(vas.length)], 1, path);
          if (path.length === 0) continue;
          const at = path[r.below(path.length)];
          const wide = mode !== '32bit';
          const v = wide ? m.phys.read64n(at) : BigInt(m.phys.read32n(at));
          const how = r.below(5);
          const nv = how === 0 ? v & ~2n : how === 1 ? v & ~4n : how === 2 && wide ? v | XD : how === 3 ? v & ~1n : v ^ 0x1000n;
          if (wide) m.phys.write64n(at, nv);
          else m.phys.write32(BigInt(at), Number(nv));
        }
        for (const below of [1n << 12n, 0x4000_0000n, 0xc000_0000n, 0x7fff_ffff_f000n, 1n << 56n, 1n << 63n]) {
          let held = 0;
          let stale = 0;
          for (const e of cpu.tlbEntries()) {
            if (!e.user || e.global || e.va >= below) continue;
            held++;
            const rd = cpu.probe(e.va, { kind: 'read', cpl: 3 });
            if (
              !rd.ok ||
              rd.pa !== e.pa ||
              (e.writable && !cpu.probe(e.va, { kind: 'write', cpl: 3 }).ok) ||
              (!e.nx && !cpu.probe(e.va, { kind: 'exec', cpl: 3 }).ok)
            )
              stale++;
          }
          let pscStale = 0;
          for (const p of cpu.pscEntries({ below })) {
            const t = walkTables(k, cr3, mode, p.va, p.level);
            if (!t || t.next !== p.next || (p.writable && !t.rw) || (p.user && !t.us) || (!p.nx && t.nx)) pscStale++;
          }
          const scan = cpu.userTlbScan(below);
          expect([Math.floor(scan / 65536), scan & 0xffff], `${mode} round ${round} below ${below.toString(16)}`).toEqual([held, stale]);
          expect(cpu.staleUserPscCount(below), `${mode} round ${round} below ${below.toString(16)} (PSC)`).toBe(pscStale);
          if (stale + pscStale > 0) staleSeen++;
          else if (held > 0) cleanSeen++;
        }
      }
      // The rounds exercised both answers.
      expect(staleSeen).toBeGreaterThan(3);
      expect(cleanSeen).toBeGreaterThan(3);
    });
});
