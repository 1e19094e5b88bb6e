/**
 * Named cores for `pagewalk cost` (`"core": "skylake"` in a configuration): the two TLB levels,
 * the STLB hit latency, the page walkers, the data caches and memory latency. Every figure names
 * its public source in `sources` (printed by docs/cost.md and docs/provenance.md, "Cost model");
 * a figure marked "not re-read" comes from the named document but was not re-checked against a
 * retrieved copy when the preset was written.
 *
 * Simplifications, the same for every preset: set-associative arrays are indexed by the low bits
 * of the page number (the real L2 TLBs of Zen are skewed-associative, which this does not model);
 * an associativity that does not divide the entry count is rounded to a power-of-two set count
 * with the same number of entries where possible (noted per preset).
 */
import type { PscGeometry } from '../core/types.js';
import type { Policy } from './setassoc.js';

export type PageClass = '4k' | '2m' | '1g';

/** One TLB array: the page sizes it holds, its geometry. */
export interface TlbArray {
  sizes: PageClass[];
  sets: number;
  ways: number;
}

export interface DataCache {
  name: string;
  bytes: number;
  ways: number;
  /** Load-to-use latency of a hit, in core cycles. */
  cycles: number;
}

export interface CorePreset {
  name: string;
  label: string;
  /** L1 DTLB arrays (one per page size on Intel, one for all sizes on AMD). */
  l1: TlbArray[];
  /** Second-level (shared) TLB arrays. A 1 GiB page without a 1g array here is "smashed" into a 2 MiB entry. */
  l2: TlbArray[];
  /** Cycles added by an L1 DTLB miss that hits the STLB (also the miss detection before a walk). */
  l2Latency: number;
  /** Page walks in flight at once. */
  walkers: number;
  caches: DataCache[];
  memory: number;
  psc: PscGeometry;
  tlbPolicy: Policy;
  /** Field -> source. */
  sources: Record<string, string>;
}

const KiB = 1024;
const MiB = 1024 * KiB;

const ORM = 'Intel 64 and IA-32 Architectures Optimization Reference Manual (248966-045, Feb 2022)';
const ORM_SKL_TLB = `${ORM}, Table 2-15 "TLB Parameters of the Skylake Microarchitecture", as quoted by J. McCalpin, Intel community forum thread "TLB information provided by cpuid doesn't make sense to me" (2022)`;
const ORM_SKL_CACHE = `${ORM}, table "Cache Parameters of the Skylake Client Microarchitecture" (fastest latencies; L3 up to 2 MiB per core, 8 MiB = a 4-core part)`;
const PSC_SRC =
  'not documented by Intel or AMD (Intel SDM vol. 3 §4.10.3 gives only their function); of the order reverse-engineered by Gras et al., "ASLR on the Line", NDSS 2017';
const MEM_SRC =
  '~60 ns local DRAM (D. Levinthal, "Performance Analysis Guide for Intel Core i7 Processor and Intel Xeon 5500 processors", Intel, 2009) at ~3.3 GHz';

/** The PSC geometry of every preset (vendors document none). */
const PSC: PscGeometry = {
  pml5e: { sets: 1, ways: 2 },
  pml4e: { sets: 1, ways: 2 },
  pdpte: { sets: 1, ways: 4 },
  pde: { sets: 8, ways: 4 },
};

export const PRESETS: Record<string, CorePreset> = {
  skylake: {
    name: 'skylake',
    label: 'Intel Skylake (client)',
    l1: [
      { sizes: ['4k'], sets: 16, ways: 4 },
      { sizes: ['2m'], sets: 8, ways: 4 },
      { sizes: ['1g'], sets: 1, ways: 4 },
    ],
    l2: [
      { sizes: ['4k', '2m'], sets: 128, ways: 12 },
      { sizes: ['1g'], sets: 4, ways: 4 },
    ],
    l2Latency: 9,
    walkers: 2,
    caches: [
      { name: 'L1', bytes: 32 * KiB, ways: 8, cycles: 4 },
      { name: 'L2', bytes: 256 * KiB, ways: 4, cycles: 12 },
      { name: 'L3', bytes: 8 * MiB, ways: 16, cycles: 44 },
    ],
    memory: 200,
    psc: PSC,
    tlbPolicy: 'lru',
    sources: {
      l1: `DTLB 4 KiB 64 entries 4-way, 2/4 MiB 32 entries 4-way, 1 GiB 4 entries 4-way: ${ORM_SKL_TLB}`,
      l2: `STLB 1536 entries 12-way shared by 4 KiB and 2 MiB pages, 1 GiB 16 entries 4-way: ${ORM_SKL_TLB}; the 12-way STLB also in WikiChip "Skylake (client)" (key changes from Broadwell)`,
      l2Latency:
        '9 cycles: 7-cpu.com "Intel Skylake" (L1 DTLB miss penalty) — not re-read; nearest re-read measurements: 12 cycles on Haswell, 11 on Ivy Bridge (PC Watch, Haswell microbenchmarks, 2013-06-21, "D-TLB Size")',
      walkers: `two page walks in parallel (earlier cores one): ${ORM}, Skylake client "Cache and Memory Subsystem" enhancements`,
      caches: `L1D 32 KiB 8-way 4 cycles, L2 256 KiB 4-way 12 cycles, L3 16-way 44 cycles: ${ORM_SKL_CACHE}`,
      memory: MEM_SRC,
      psc: PSC_SRC,
      tlbPolicy: 'LRU (Intel documents no policy; the tlbPolicy option switches to bit pseudo-LRU or FIFO)',
    },
  },
  icelake: {
    name: 'icelake',
    label: 'Intel Ice Lake (Sunny Cove, client)',
    l1: [
      { sizes: ['4k'], sets: 16, ways: 4 },
      { sizes: ['2m'], sets: 8, ways: 4 },
      { sizes: ['1g'], sets: 1, ways: 8 },
    ],
    l2: [
      { sizes: ['4k', '2m'], sets: 128, ways: 16 },
      { sizes: ['1g'], sets: 256, ways: 4 },
    ],
    l2Latency: 9,
    walkers: 4,
    caches: [
      { name: 'L1', bytes: 48 * KiB, ways: 12, cycles: 5 },
      { name: 'L2', bytes: 512 * KiB, ways: 8, cycles: 13 },
      { name: 'L3', bytes: 8 * MiB, ways: 16, cycles: 40 },
    ],
    memory: 200,
    psc: PSC,
    tlbPolicy: 'lru',
    sources: {
      l1: `DTLB 64 4 KiB / 32 2 MiB / 8 1 GiB entries: ${ORM}, table "TLB Parameters of the Ice Lake Client Microarchitecture" — not re-read`,
      l2: `STLB 2048 entries for 4 KiB and 2 MiB pages, 1024 for 1 GiB: ${ORM}, Ice Lake client TLB table — not re-read`,
      l2Latency: 'assumed equal to Skylake (9 cycles); no re-read measurement for Sunny Cove',
      walkers: `four page walkers: ${ORM}, Ice Lake client memory subsystem — not re-read`,
      caches:
        'L1D 48 KiB 12-way, L2 512 KiB 8-way, L3 2 MiB/core 16-way: AnandTech, "Examining Intel\'s Ice Lake Processors" (2019), cache comparison table (re-read); latencies 5/13/~40 cycles from the same article\'s latency chart — not re-read',
      memory: MEM_SRC,
      psc: PSC_SRC,
      tlbPolicy: 'LRU (not documented)',
    },
  },
  goldencove: {
    name: 'goldencove',
    label: 'Intel Golden Cove (Alder Lake P-core)',
    l1: [
      { sizes: ['4k'], sets: 16, ways: 6 },
      { sizes: ['2m'], sets: 8, ways: 4 },
      { sizes: ['1g'], sets: 1, ways: 8 },
    ],
    l2: [{ sizes: ['4k', '2m', '1g'], sets: 128, ways: 16 }],
    l2Latency: 8,
    walkers: 4,
    caches: [
      { name: 'L1', bytes: 48 * KiB, ways: 12, cycles: 5 },
      { name: 'L2', bytes: 1280 * KiB, ways: 10, cycles: 15 },
      { name: 'L3', bytes: 30 * MiB, ways: 12, cycles: 60 },
    ],
    memory: 250,
    psc: PSC,
    tlbPolicy: 'plru',
    sources: {
      l1: 'DTLB 96 4 KiB entries 6-way, 32 2 MiB 4-way, 8 1 GiB 8-way, pseudo-LRU: Hennessy & Patterson, Computer Architecture 7th ed., §2.6 "Intel Core i9 12900 (Alder Lake)" (re-read via study notes of that section)',
      l2: 'STLB 2048 entries 16-way for 4 KiB, 2 MiB and 1 GiB pages, pseudo-LRU: same source',
      l2Latency: '8-cycle STLB access (9-cycle total L1 DTLB miss penalty): same source',
      walkers: 'up to four parallel page walks: same source',
      caches:
        'L1D 48 KiB; L2 1.25 MiB per P-core (overclock-then-game.com Alder Lake review, re-read for the 48 KiB L1D); associativities and latencies (L1 5, L2 15, L3 ~60 cycles) from Intel Architecture Day 2021 material — not re-read',
      memory: 'DDR5 is slower than DDR4 in latency; 250 cycles is an estimate, not a measured figure',
      psc: PSC_SRC,
      tlbPolicy: 'pseudo-LRU: Hennessy & Patterson 7th ed. §2.6 (as for l1)',
    },
  },
  zen2: {
    name: 'zen2',
    label: 'AMD Zen 2',
    l1: [{ sizes: ['4k', '2m', '1g'], sets: 1, ways: 64 }],
    l2: [{ sizes: ['4k', '2m'], sets: 128, ways: 16 }],
    l2Latency: 7,
    walkers: 2,
    caches: [
      { name: 'L1', bytes: 32 * KiB, ways: 8, cycles: 4 },
      { name: 'L2', bytes: 512 * KiB, ways: 8, cycles: 12 },
      { name: 'L3', bytes: 16 * MiB, ways: 16, cycles: 39 },
    ],
    memory: 250,
    psc: PSC,
    tlbPolicy: 'lru',
    sources: {
      l1: 'fully associative L1 DTLB, 64 entries, 4 KiB/2 MiB/1 GiB pages: WikiChip "Zen 2" (memory subsystem), after AMD\'s Software Optimization Guide for Family 17h Models 30h (56305)',
      l2: 'L2 DTLB 2048 entries for 4 KiB and 2 MiB pages; 1 GiB pages smashed into 2 MiB entries: same source. Modelled as 128 sets × 16 ways (the real array is 12-way skewed-associative, which a set count cannot express)',
      l2Latency: '7 cycles: 7-cpu.com "AMD Zen 2" — not re-read (the re-read part of that page gives only cache geometry)',
      walkers: 'two hardware page table walkers: WikiChip "Zen 2"',
      caches:
        'L1D 32 KiB 8-way, L2 512 KiB 8-way, L3 16 MiB per CCX 16-way: 7-cpu.com "AMD Zen2" (re-read); latencies 4/12/39 cycles from the same page — not re-read',
      memory: 'estimate (~65 ns at ~3.9 GHz); not a measured figure',
      psc: `${PSC_SRC}; AMD's PDE cache in the L2 TLB (WikiChip "Zen 2") is approximated by the PDE cache`,
      tlbPolicy: 'LRU (not documented)',
    },
  },
  zen3: {
    name: 'zen3',
    label: 'AMD Zen 3',
    l1: [{ sizes: ['4k', '2m', '1g'], sets: 1, ways: 64 }],
    l2: [{ sizes: ['4k', '2m', '1g'], sets: 128, ways: 16 }],
    l2Latency: 7,
    walkers: 6,
    caches: [
      { name: 'L1', bytes: 32 * KiB, ways: 8, cycles: 4 },
      { name: 'L2', bytes: 512 * KiB, ways: 8, cycles: 12 },
      { name: 'L3', bytes: 32 * MiB, ways: 16, cycles: 46 },
    ],
    memory: 250,
    psc: PSC,
    tlbPolicy: 'lru',
    sources: {
      l1: 'L1 DTLB 64 entries, fully associative, all page sizes: AMD Software Optimization Guide for Family 19h (56665) — not re-read',
      l2: 'L2 DTLB 2048 entries, 1 GiB pages held: AMD SOG Family 19h (56665) — not re-read',
      l2Latency: 'assumed equal to Zen 2 (7 cycles)',
      walkers: 'six table walkers (four added to Zen 2\'s two): AnandTech, "AMD Zen 3 Ryzen Deep Dive Review" (A. Frumusanu, 2020), load/store page (re-read)',
      caches:
        'L2 12 and L3 46 cycles: airvers.com report of the AMD Zen 3/Zen 4 cache latency table posted by Chiakokhua (2022, re-read); sizes (L1D 32 KiB, L2 512 KiB, L3 32 MiB per CCD) from AMD SOG Family 19h — not re-read',
      memory: 'estimate, not a measured figure',
      psc: PSC_SRC,
      tlbPolicy: 'LRU (not documented)',
    },
  },
  zen4: {
    name: 'zen4',
    label: 'AMD Zen 4',
    l1: [{ sizes: ['4k', '2m', '1g'], sets: 1, ways: 72 }],
    l2: [{ sizes: ['4k', '2m', '1g'], sets: 256, ways: 12 }],
    l2Latency: 7,
    walkers: 6,
    caches: [
      { name: 'L1', bytes: 32 * KiB, ways: 8, cycles: 4 },
      { name: 'L2', bytes: 1 * MiB, ways: 8, cycles: 14 },
      { name: 'L3', bytes: 32 * MiB, ways: 16, cycles: 50 },
    ],
    memory: 280,
    psc: PSC,
    tlbPolicy: 'lru',
    sources: {
      l1: 'L1 DTLB 72 entries, fully associative: AMD Software Optimization Guide for Family 19h Model 61h (57647) — not re-read',
      l2: 'L2 DTLB 3072 entries: same guide — not re-read',
      l2Latency: 'assumed equal to Zen 2 (7 cycles)',
      walkers: 'six page table walkers: same guide — not re-read',
      caches:
        'L2 1 MiB per core, 8-way (meterpreter.org report of AMD documents, re-read); L3 4 MiB per core, 32 MiB per CCD (AMD figure in EE Times Japan, re-read); L2 14 and L3 50 cycles (airvers.com report of the Zen 3/Zen 4 latency table, re-read)',
      memory: 'DDR5 estimate, not a measured figure',
      psc: PSC_SRC,
      tlbPolicy: 'LRU (not documented)',
    },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);

/** Entries of the STLB arrays that hold `size`. */
export function entriesFor(arrays: TlbArray[], size: PageClass): number {
  return arrays.filter((a) => a.sizes.includes(size)).reduce((n, a) => n + a.sets * a.ways, 0);
}
