// Linear-memory layout of the core. Guest physical address `pa` lives at RAM_BASE + pa, a
// constant, so that `load<u64>(pa, RAM_BASE)` compiles to one instruction with an immediate
// offset (measured: a base read from a global cost 6-7 % of batched walk speed).
//
//   0 .. 1 MiB            AssemblyScript static data and stack
//   CPU_BASE              per-CPU state, CPU_STRIDE bytes each
//   IO_*                  batch buffers shared by all CPUs
//   RAM_BASE              guest physical RAM (ramBytes)
//   RAM_BASE + ramBytes   frame table (struct of arrays), free stack, then TLBs and PSCs

export const MAX_CPUS: u32 = 64;
export const CPU_BASE: usize = 0x0010_0000;
export const CPU_STRIDE: usize = 0x1000;

export const BATCH_MAX: u32 = 65536;
export const IO_VA: usize = 0x0020_0000; // u64[BATCH_MAX]
export const IO_KIND: usize = 0x0028_0000; // u8[BATCH_MAX]
export const IO_PA: usize = 0x0030_0000; // u64[BATCH_MAX]
export const IO_FAULT: usize = 0x0038_0000; // u32[BATCH_MAX]
export const IO_STEPS: usize = 0x003C_0000; // step records of the stepping walk (8 x STEP_SIZE)
// per-access-kind masks of the fast walk, set by beginAccess: kind k is allowed on a page whose
// folded rights f (access.ts walkInPlace) satisfy (f & MASK[k]) == WANT[k]
export const KTAB: usize = 0x003F_0100;
export const KT_MASK: usize = 0; // u64[3]
export const KT_WANT: usize = 24; // u64[3]
export const KT_EC: usize = 48; // u64[3]: the access's own error-code bits (W/R, U/S, I/D)
// u8[3]: the same verdicts by table, bit i of kind k's byte for the folded rights i = RW | US << 1
// | (no level sets XD) << 2 (PERM_RW | PERM_US | PERM_XD, XD inverted)
export const KT_OK: usize = 72;
// protection keys (fast walk with CR4.PKE/PKS): u32[3] the key-register bits that refuse kind k
// (read: AD; write: AD, and WD for user accesses or with CR0.WP; fetch: none), then one u64:
// PKRS << 32 | PKRU, of each the value that applies (0 without CR4.PKE / PKS; a user access
// never meets PKRS: on a supervisor page it faults first)
export const KT_KEYM: usize = 80;
export const KT_PKR: usize = 96;
// the TLB miss path's quick walks (access.ts quickUpper): u64[4] entry addresses, u32[6] hits per level
export const UP_EA: usize = 0x003F_00B0;
export const UP_HITS: usize = 0x003F_00D0;
// lanes of the interleaved batch walk (access.ts mlpLoop): u64[16] leaf entry addresses, u64[16]
// folded rights, one u64, a counter word, u8[16] lane flags; at +0x200 u32[128] leaf tables seen
// (to 0x003F_0600)
export const LANES: usize = 0x003F_0400;

export const RAM_BASE: usize = 0x0100_0000;

// ---- per-CPU state (offsets inside the CPU block) ----
export const C_CR0: usize = 0;
export const C_CR3: usize = 8;
export const C_CR4: usize = 16;
export const C_EFER: usize = 24;
export const C_PKRU: usize = 32; // u32
export const C_PKRS: usize = 36; // u32
export const C_MODE: usize = 40; // u32: MODE_*
export const C_PCID: usize = 44; // u32: current PCID (0 unless CR4.PCIDE)
export const C_PDPTE: usize = 48; // u64[4], PAE PDPTE registers
export const C_CR2: usize = 80;
export const C_FLAGS: usize = 88; // u32: F_* (cache switches)
// reserved-bit masks of the fast walk (access.ts walkInPlace), set by setControl, each with P
export const C_RSVD_UP: usize = 96; // u64: PML5E/PML4E
export const C_RSVD_LO: usize = 104; // u64: PDPTE/PDE/PTE
export const C_RSVD_1G: usize = 112; // u64: extra bits of a 1 GiB leaf
// statistics, u64 each
export const C_ST_WALKS: usize = 128;
export const C_ST_MEMREFS: usize = 136;
export const C_ST_TLBHITS: usize = 144;
export const C_ST_TLBMISSES: usize = 152;
export const C_ST_PSCHITS: usize = 160;
export const C_ST_FAULTS: usize = 168;
export const C_ST_EVICT: usize = 176;
export const C_ST_PSC_LEVEL: usize = 184; // u64[5] indexed by level of the cached entry (2..5)
// caches: for class i (0 = 4K, 1 = 2M/4M, 2 = 1G) TLB at C_TLB + 16*i; PSC level l (2..5) at C_PSC + 16*(l-2)
export const C_TLB: usize = 256; // {base u32, setMask u32, ways u32, pad: class 0 C_FRONT, classes 1-2 the "ever filled" flag (caches.ts classEmpty)}
export const C_FRONT: usize = C_TLB + 12; // u32: the TLB front cache (caches.ts), in class 0's pad
export const C_PSC: usize = 320; // {base u32, setMask u32, ways u32, pad: level 2 C_TAGS}
export const C_TAGS: usize = C_PSC + 12; // u32: the 4 KiB class's tag bytes, one per entry (caches.ts tagOf)
export const C_FIFO: usize = C_PSC + 28; // u32: the 4 KiB sets' fill-order words (caches.ts fifoWord), in level 3's pad; 0 = none
export const C_FIFO_BAD: usize = C_PSC + 44; // u32: 1 = the fill counter wrapped since the 4 KiB class was last emptied
export const C_STAMP: usize = 384; // u32 fill counter (FIFO replacement)
export const C_RETENTION: usize = 388; // u32 1 = maximal
// permission contexts: the context id in the front cache's fast tags (context.ts)
export const C_CTX_CUR: usize = 392; // u32 current context id (1..255), 0 = none
export const C_CTX_COUNT: usize = 396; // u32
export const C_CTX_TABLE: usize = 400; // 255 x {u32 flags, u32 pkrU, u32 pkrS}
// last walk record (single accesses): entry addresses read
export const C_LAST_N: usize = 3472; // u32
export const C_LAST: usize = 3480; // u64[8]
// stepping walk state
export const C_STEP: usize = 3584; // see step.ts

export const CTX_MAX: u32 = 255;

export const MODE_NONE: u32 = 0;
export const MODE_32: u32 = 1;
export const MODE_PAE: u32 = 2;
export const MODE_4L: u32 = 3;
export const MODE_5L: u32 = 4;

export const F_TLB: u32 = 1;
export const F_PSC: u32 = 2;

// TLB entry (32 bytes, two per cache line): key, page base, permissions, fill stamp
export const TLB_ENTRY: usize = 32;
export const T_KEY: usize = 0; // u64: (vpn << 13) | (pcid << 1) | 1
export const T_PA: usize = 8; // u64
export const T_PERMS: usize = 16; // u32 PERM_*
export const T_STAMP: usize = 20; // u32

// TLB front cache: FRONT_SETS direct-mapped slots of one cache line, each an entry {fast tag u64,
// 4 KiB page base u64} per access kind (a page's three entries on one line: a fill and a drop touch
// one line, not three); a fast tag is ((va >> 12) << 8) | context id (context.ts), present only
// when the 4 KiB TLB entry for vpn allows that access kind in that context
export const FRONT_SETS: u32 = 256;
export const FRONT_ENTRY: usize = 16; // one kind's entry
export const FRONT_SLOT: usize = 64; // a slot: the three kinds' entries (and 16 bytes unused)
// after the slots, a bitmap of the slots written since the last clear (frontClear clears only those)
export const FRONT_MAP: usize = usize(FRONT_SETS) * FRONT_SLOT;
// then the same for 2 MiB and 1 GiB pages (IA-32e): LFRONT_SETS slots indexed by the page
// number, fast tags (caches.ts largeKey: the page number and the class) << 8 | context id, present only when
// the large TLB entry allows that kind in that context; consulted after the 4 KiB set (and for a
// 1 GiB page the 2 MiB class) rules out an entry missPath would find first (access.ts quickMiss);
// and its bitmap (one u64)
export const LFRONT_SETS: u32 = 64;
export const LFRONT: usize = FRONT_MAP + 64;
export const LFRONT_MAP: usize = LFRONT + usize(LFRONT_SETS) * FRONT_SLOT;
export const FRONT_BYTES: usize = LFRONT_MAP + 8;

// PSC entry (32 bytes)
export const PSC_ENTRY: usize = 32;
export const P_KEY: usize = 0; // u64: (prefix << 13) | (pcid << 1) | 1
export const P_NEXT: usize = 8; // u64 next table physical address
export const P_PERMS: usize = 16; // u32 rights accumulated down to this level
export const P_STAMP: usize = 20;

// combined permissions, as cached
export const PERM_RW: u32 = 1;
export const PERM_US: u32 = 2;
export const PERM_XD: u32 = 4;
export const PERM_D: u32 = 8;
export const PERM_G: u32 = 16;
export const PERM_KEY_SHIFT: u32 = 5; // rights fit in 9 bits: RW US XD D G key[4]

// page-fault error code bits
export const PF_P: u32 = 1;
export const PF_W: u32 = 2;
export const PF_U: u32 = 4;
export const PF_RSVD: u32 = 8;
export const PF_ID: u32 = 16;
export const PF_PK: u32 = 32;
export const VEC_PF: u32 = 14;
export const VEC_GP: u32 = 13;

// entry bits
export const E_P: u64 = 1;
export const E_RW: u64 = 2;
export const E_US: u64 = 4;
export const E_A: u64 = 0x20;
export const E_D: u64 = 0x40;
export const E_PS: u64 = 0x80;
export const E_G: u64 = 0x100;
export const E_XD: u64 = 0x8000_0000_0000_0000;

// result encoding of walks: bit 63 set = fault, low 32 bits = (vector << 16) | error code;
// otherwise bits 51:0 the physical address, bits 53:52 the TLB class (0 4K, 1 2M/4M, 2 1G) and
// bits 62:54 the cacheable rights (PERM_*), so that walks need no side channel.
export const FAULT_BIT: u64 = 0x8000_0000_0000_0000;
export const PA_MASK: u64 = 0x000F_FFFF_FFFF_FFFF;
export const R_CLASS_SHIFT: u64 = 52;
export const R_PERMS_SHIFT: u64 = 54;

// access flags, the `flags` argument of accessOne / translateBatch / stepBegin (src/core/cpu.ts
// accessFlags packs them)
export const AF_CPL: u32 = 3; // bits 1:0, the CPL
export const AF_AC: u32 = 4; // EFLAGS.AC (SMAP does not block explicit supervisor data accesses)
export const AF_IMPLICIT: u32 = 8; // an implicit supervisor access (e.g. a descriptor-table read)

// access-context bits (context.ts acCx), passed to walkers as one local
export const CX_USER: u32 = 1;
export const CX_SMAP: u32 = 2; // SMAP blocks data accesses to user pages
export const CX_WP: u32 = 4;
export const CX_SMEP: u32 = 8;
export const CX_NXE: u32 = 16; // XD honoured (EFER.NXE and not 32-bit paging)
export const CX_PGE: u32 = 32;
export const CX_AMD: u32 = 64;
export const CX_IDEN: u32 = 128; // I/D reported in error codes

// frame table fields (struct of arrays after RAM)
export const FS_FREE: u8 = 0;
export const FS_ALLOCATED: u8 = 1;
export const FS_RESERVED: u8 = 2;
