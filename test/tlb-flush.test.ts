/**
 * TLB flushes (assembly/caches.ts tlbFlush) and the full decode (Cpu.tlbEntries): both walk the
 * 4 KiB class's tag bytes, passing several invalid entries per load. Whatever the geometry — fewer than eight entries, a
 * tail that is not a multiple of eight — each kind of flush leaves exactly the entries the SDM
 * keeps: a CR3 load without the no-flush bit drops its PCID's non-global entries, INVPCID types 1
 * to 3 drop one PCID's or every PCID's (with or without the global ones), and toggling CR4.PGE
 * drops everything, in both page-size classes used here.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/index.js';
import type { TlbEntryInfo } from '../src/core/cpu.js';
import { Prng } from '../src/util/prng.js';

const CR4_PAE = 1n << 5n;
const CR4_PGE = 1n << 7n;
const CR4_PCIDE = 1n << 17n;
const NOFLUSH = 1n << 63n;

/** PML4 at 0x1000 -> PDPT 0x2000 -> PD 0x3000: PD[0] -> PT 0x4000 (512 4 KiB pages, every third global), PD[1..3] 2 MiB pages (PD[2] global). */
function machine(sets: number, ways: number): Machine {
  const m = Machine.createSync({ ramBytes: 1 << 23, cpus: 1, tlb: { '4k': { sets, ways }, '2m': { sets: 2, ways: 2 } }, psc: false });
  m.phys.write64(0x1000n, 0x2000n | 0x27n);
  m.phys.write64(0x2000n, 0x3000n | 0x27n);
  m.phys.write64(0x3000n, 0x4000n | 0x27n);
  for (let i = 1; i < 4; i++) m.phys.write64(BigInt(0x3000 + i * 8), (BigInt(i) << 21n) | 0xa7n | (i === 2 ? 0x100n : 0n));
  for (let i = 0; i < 512; i++) m.phys.write64(BigInt(0x4000 + i * 8), (BigInt(0x100 + i) << 12n) | 0x67n | (i % 3 === 0 ? 0x100n : 0n));
  const cpu = m.cpus[0];
  cpu.setControl({ cr0: 1n, cr4: CR4_PAE | CR4_PGE, efer: (1n << 8n) | (1n << 11n), cr3: 0x1000n });
  cpu.setControl({ cr0: (1n << 0n) | (1n << 16n) | (1n << 31n) });
  cpu.setControl({ cr4: CR4_PAE | CR4_PGE | CR4_PCIDE });
  return m;
}

const key = (e: TlbEntryInfo): string => `${e.pcid}:${e.va.toString(16)}:${e.pageSize}:${e.global}`;
const sorted = (es: TlbEntryInfo[]): string[] => es.map(key).sort();

describe('TLB flushes walk the tag bytes and keep exactly what the SDM keeps', () => {
  for (const [sets, ways] of [
    [2, 3],
    [4, 5],
    [16, 4],
  ] as const)
    it(`${sets} sets x ${ways} ways of 4 KiB entries`, () => {
      const m = machine(sets, ways);
      const cpu = m.cpus[0];
      const r = new Prng(sets * 100 + ways);
      let flushed = 0;
      const touched = new Set<bigint>([0n]);
      for (let step = 0; step < 300; step++) {
        const pcid = 1 + r.below(3);
        const x = r.nextFloat();
        if (x < 0.6) {
          cpu.setControl({ cr3: 0x1000n | BigInt(pcid) | NOFLUSH });
          for (let i = 0; i < 1 + r.below(6); i++) {
            const va = r.nextFloat() < 0.8 ? BigInt(r.below(512) * 4096) : BigInt((1 + r.below(3)) << 21);
            touched.add(va);
            expect(cpu.access(va, { kind: 'read', cpl: 0 }).ok).toBe(true);
          }
          continue;
        }
        const before = cpu.tlbEntries();
        // The full decode (led by the tag bytes) finds what the per-address lookups find.
        const each = new Map([...touched].flatMap((va) => cpu.tlbEntriesFor(va)).map((e) => [key(e), e]));
        expect(sorted(before), `step ${step}`).toEqual(sorted([...each.values()]));
        let keep: (e: TlbEntryInfo) => boolean;
        if (x < 0.7) {
          cpu.setControl({ cr3: 0x1000n | BigInt(pcid) }); // MOV CR3 without bit 63
          keep = (e) => e.global || e.pcid !== pcid;
        } else if (x < 0.8) {
          cpu.invpcid(1, pcid);
          keep = (e) => e.global || e.pcid !== pcid;
        } else if (x < 0.87) {
          cpu.invpcid(2, 0);
          keep = () => false;
        } else if (x < 0.94) {
          cpu.invpcid(3, 0);
          keep = (e) => e.global;
        } else {
          const cr4 = cpu.getControl().cr4;
          cpu.setControl({ cr4: cr4 & ~CR4_PGE });
          cpu.setControl({ cr4 });
          keep = () => false;
        }
        const after = cpu.tlbEntries();
        expect(sorted(after), `step ${step}`).toEqual(sorted(before.filter(keep)));
        flushed += before.length - after.length;
        // The flushed slots are usable again: a refill finds them (no stale tag byte left).
        expect(cpu.access(0n, { kind: 'read', cpl: 0 }).ok).toBe(true);
      }
      expect(flushed).toBeGreaterThan(100);
    });
});
