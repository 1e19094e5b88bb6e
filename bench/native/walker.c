/*
 * Native C baselines for `npm run bench`. They walk the SAME guest physical memory as the WASM
 * core (the WASM instance's linear memory, handed over as an ArrayBuffer plus the offset of guest
 * physical address 0). Four entry points, one argument list (see walk_batch_common):
 *
 *   walkBatch      the same-semantics walker, written as fast as C can be: a fast path with the
 *                  rights of all levels folded into one AND (QEMU's mmu_translate:
 *                  `f &= pte ^ XD`), one reserved-bit mask per level computed once per call, the
 *                  permission check as one mask compare per access kind, A/D writes in place,
 *                  faults decided in place (branch-free, or as branches in a batch of reads),
 *                  levels unrolled; the rest (entries past RAM, AMD's
 *                  deferred A bits) is redone by the exact generic walker below. Results are
 *                  identical.
 *   walkBatchGeneric  the exact generic walker alone (a loop over levels with branches per check):
 *                  what the fast path bought.
 *   walkBatchLean  the practical limit: a minimal walker checking only P, U/S, R/W, setting A
 *                  (and D on writes), with large pages; no reserved bits, no XD, no SMEP/SMAP.
 *   tlbBatch       a direct-mapped TLB (256 entries per access kind, one tag compare) in front of
 *                  walkBatch's walker: what a TLB hit costs in C. tlbFlush() empties it.
 *
 * Same-semantics checks (docs/paging-semantics.md, restricted to what the benchmark exercises):
 *   - canonical address check -> #GP (vector 13), nothing walked        (SDM vol. 3 3.3.7.1)
 *   - per level: present, reserved bits against MAXPHYADDR (bits 51:M, XD when EFER.NXE = 0,
 *     PS in PML5E/PML4E, AMD: bit 8 of PML5E/PML4E, bits 29:13 of a 1 GiB PDPTE, bits 20:13 of
 *     a 2 MiB PDE)                                                      (SDM 4.5.4, Table 4-20)
 *   - accessed bit set on each entry used (Intel: as the walk passes a non-leaf entry; AMD: only
 *     after a successful walk), dirty bit on the leaf for writes          (SDM 4.8)
 *   - U/S and R/W ANDed, XD ORed over the levels; 4 KiB, 2 MiB and 1 GiB leaves
 *   - leaf permission check: user access to a supervisor page, writes with CR0.WP, XD with
 *     EFER.NXE, SMEP and SMAP (EFLAGS.AC = 0, no implicit accesses)     (SDM 4.6)
 *   - protection keys (CR4.PKE: PKRU on user pages, CR4.PKS: PKRS on supervisor pages; data
 *     accesses only; the key register's AD bit refuses reads and writes, WD refuses writes by user
 *     accesses, or by supervisor ones with CR0.WP), checked after a user access to a supervisor
 *     page and before the other rights                                   (SDM 4.6.2)
 *   - the page-fault error code P, W/R, U/S, RSVD, I/D, PK               (SDM 4.7)
 * Entries at physical addresses at or beyond the end of RAM read as all ones, as in the core.
 * Results: out_pa[i] = physical address (0 on fault), out_fault[i] = 0 or (vector << 16) | error
 * code, exactly the translateBatch format.
 *
 * Built by bench/native.ts as a Node-API addon with the system C compiler:
 *   gcc -O2 -shared -fPIC -I/usr/include/node bench/native/walker.c -o build/walker.node
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_XD (1ull << 63)
#define FRAME_MASK 0x000FFFFFFFFFF000ull

#define PF_P 1u
#define PF_W 2u
#define PF_U 4u
#define PF_RSVD 8u
#define PF_ID 16u
#define PF_PK 32u

/* Configuration bits packed by bench/native.ts into one number (see NATIVE_CFG there). */
#define CFG_LA57 (1u << 0)
#define CFG_NXE (1u << 1)
#define CFG_WP (1u << 2)
#define CFG_SMEP (1u << 3)
#define CFG_SMAP (1u << 4)
#define CFG_AMD (1u << 5)
#define CFG_PDPE1GB (1u << 6)
#define CFG_USER (1u << 7)
#define CFG_PKE (1u << 8)
#define CFG_PKS (1u << 9)
#define CFG_PAE (1u << 10)   /* PAE paging (CR4.PAE, not IA-32e): 8-byte entries, two levels under four PDPTEs */
#define CFG_32 (1u << 11)    /* 32-bit paging: 4-byte entries, two levels */
#define CFG_PSE (1u << 12)   /* CR4.PSE: 4 MiB pages in 32-bit paging */
#define CFG_PSE36 (1u << 13) /* PSE-36: a 4 MiB PDE's bits 20:13 are physical-address bits 39:32 */

typedef struct {
  uint8_t *ram;
  uint64_t ram_bytes;
  uint64_t root;      /* CR3 table address */
  uint64_t rsvd_hi;   /* bits 51:MAXPHYADDR, plus XD when NXE = 0 */
  uint64_t addr_mask; /* bits (M-1):12 */
  unsigned levels;
  unsigned cfg;
  uint32_t pkru, pkrs; /* the key registers that apply (0 without CR4.PKE / CR4.PKS) */
  /* fast path, computed once per call */
  uint64_t rsvd_upper; /* PML5E/PML4E: rsvd_hi | PS (| G on AMD) */
  uint64_t rsvd_1g;    /* extra reserved bits of a 1 GiB leaf (PS itself without 1 GiB pages) */
  uint64_t perm_mask[3], perm_want[3]; /* allowed iff (folded & mask) == want */
  uint64_t ad_need[3];                 /* leaf bits an access of that kind sets */
  uint64_t ec[3];                      /* the access's own error-code bits (W/R, U/S, I/D) */
  uint32_t key_mask[3];                /* key-register bits that refuse a kind (AD; WD for writes) */
  uint64_t pkr2;                       /* PKRS << 32 | PKRU, PKRS as the access meets it (a user
                                          access never does: on a supervisor page it faults first) */
  uint64_t pdpt;                       /* PAE: the PDPT, CR3 bits 31:5 */
  uint64_t rsvd_pae;                   /* PAE entries: bits 62:MAXPHYADDR, XD without NXE */
  uint64_t rsvd_4m;                    /* 32-bit 4 MiB PDE: bit 21, and bits 20:13 at or above MAXPHYADDR */
} walker_t;

/*
 * Protection keys: PF_PK when the key register for the leaf `e` refuses the access, `f` holding
 * the rights folded over the levels (U/S set: a user page, PKRU; else PKRS, 32 bits up in pkr2).
 */
static inline uint32_t key_fault(uint64_t pkr2, uint32_t mask, uint64_t e, uint64_t f) {
  const unsigned sh = (unsigned)((e >> 58) & 30) | (unsigned)((~f & PTE_US) << 3);
  return (uint32_t)(pkr2 >> sh) & mask ? PF_PK : 0;
}

static inline uint64_t read_entry(const walker_t *w, uint64_t pa) {
  uint64_t v;
  if (pa + 8 > w->ram_bytes) return ~0ull;
  memcpy(&v, w->ram + pa, 8);
  return v;
}

static inline void write_entry(const walker_t *w, uint64_t pa, uint64_t v) {
  if (pa + 8 > w->ram_bytes) return; /* dropped, as writes to unbacked memory are in the core */
  memcpy(w->ram + pa, &v, 8);
}

static inline int is_canonical(uint64_t va, unsigned shift) {
  return (uint64_t)(((int64_t)(va << shift)) >> shift) == va;
}

/* The exact generic walk. Returns the fault word (0 on success) and stores the physical address. */
static uint32_t walk_generic(const walker_t *w, uint64_t va, unsigned kind, uint64_t *pa_out) {
  const unsigned cfg = w->cfg;
  const int user = (cfg & CFG_USER) != 0;
  const int write = kind == 1, exec = kind == 2;
  const uint32_t ec_base = (write ? PF_W : 0) | (user ? PF_U : 0) |
                           (exec && (cfg & (CFG_SMEP | CFG_NXE)) ? PF_ID : 0);
  uint64_t used[5];
  unsigned nused = 0;
  *pa_out = 0;
  if (!is_canonical(va, w->levels == 5 ? 7 : 16)) return 13u << 16;
  uint64_t table = w->root;
  uint64_t rw = PTE_RW, us = PTE_US, xd = 0;
  for (unsigned lvl = w->levels;; lvl--) {
    const unsigned shift = 12 + 9 * (lvl - 1);
    const uint64_t epa = table + (((va >> shift) & 511) << 3);
    uint64_t e = read_entry(w, epa);
    if (!(e & PTE_P)) return (14u << 16) | ec_base;
    uint64_t rsvd = w->rsvd_hi;
    const int ps = (e & PTE_PS) != 0;
    int leaf = lvl == 1;
    if (lvl >= 4) {
      rsvd |= PTE_PS | ((cfg & CFG_AMD) ? PTE_G : 0);
    } else if (lvl == 3 && ps) {
      rsvd |= (cfg & CFG_PDPE1GB) ? 0x3FFFE000ull /* bits 29:13 */ : PTE_PS;
      leaf = 1;
    } else if (lvl == 2 && ps) {
      rsvd |= 0x1FE000ull; /* bits 20:13 */
      leaf = 1;
    }
    if (e & rsvd) return (14u << 16) | PF_P | PF_RSVD | ec_base;
    rw &= e;
    us &= e;
    xd |= e & PTE_XD;
    if (leaf) {
      const int sup_user_page = !user && us;
      if (user && !us) return (14u << 16) | PF_P | ec_base;
      if (key_fault(w->pkr2, w->key_mask[kind], e, us)) return (14u << 16) | PF_P | PF_PK | ec_base;
      int ok;
      if (exec) ok = !xd && (user || !(sup_user_page && (cfg & CFG_SMEP)));
      else {
        ok = !(sup_user_page && (cfg & CFG_SMAP)); /* EFLAGS.AC = 0 */
        if (write) ok = ok && (rw || (!user && !(cfg & CFG_WP)));
      }
      if (!ok) return (14u << 16) | PF_P | ec_base;
      if (cfg & CFG_AMD) {
        for (unsigned i = 0; i < nused; i++) {
          uint64_t u = read_entry(w, used[i]);
          if (!(u & PTE_A)) write_entry(w, used[i], u | PTE_A);
        }
      }
      const uint64_t want = PTE_A | (write ? PTE_D : 0);
      if ((e & want) != want) write_entry(w, epa, e | want);
      const uint64_t off_mask = (1ull << shift) - 1;
      *pa_out = (e & w->addr_mask & ~off_mask) | (va & off_mask);
      return 0;
    }
    if (cfg & CFG_AMD) used[nused++] = epa;
    else if (!(e & PTE_A)) write_entry(w, epa, e | PTE_A);
    table = e & w->addr_mask;
  }
}

#define FAULT (1ull << 63)
#define PF(code) (FAULT | (14u << 16) | (code))

/*
 * The fast path's constants, copied out of the walker once per call into a local that never has
 * its address taken: the compiler keeps them in registers (a store to guest RAM through a byte
 * pointer could otherwise alias the walker's fields and force reloads).
 */
typedef struct {
  uint8_t *ram;
  uint64_t ram_bytes, root, up, lo, rsvd_1g;
  uint64_t perm_mask[3], perm_want[3], ad_need[3], ec[3];
  uint32_t key_mask[3];
  uint64_t pkr2;
  uint64_t lo_pae, pdpt, rsvd_4m; /* legacy modes: PAE mask test (P and reserved bits), the PDPT, 4 MiB reserved bits */
  int amd, pse;
} fast_t;

static inline fast_t fast_of(const walker_t *w) {
  fast_t c;
  c.ram = w->ram;
  c.ram_bytes = w->ram_bytes;
  c.root = w->root;
  c.up = w->rsvd_upper | PTE_P;
  c.lo = w->rsvd_hi | PTE_P;
  c.rsvd_1g = w->rsvd_1g;
  for (unsigned k = 0; k < 3; k++) {
    c.perm_mask[k] = w->perm_mask[k];
    c.perm_want[k] = w->perm_want[k];
    c.ad_need[k] = w->ad_need[k];
    c.ec[k] = w->ec[k];
    c.key_mask[k] = w->key_mask[k];
  }
  c.pkr2 = w->pkr2;
  c.lo_pae = w->rsvd_pae | PTE_P;
  c.pdpt = w->pdpt;
  c.rsvd_4m = w->rsvd_4m;
  c.pse = (w->cfg & CFG_PSE) != 0;
  c.amd = (w->cfg & CFG_AMD) != 0;
  return c;
}

static void setup_fast(walker_t *w) {
  const unsigned cfg = w->cfg;
  const int user = (cfg & CFG_USER) != 0;
  w->rsvd_upper = w->rsvd_hi | PTE_PS | ((cfg & CFG_AMD) ? PTE_G : 0);
  w->rsvd_1g = (cfg & CFG_PDPE1GB) ? 0x3FFFE000ull : PTE_PS;
  /* Folded rights: RW and US set when every level allows, XD (bit 63) set when no level forbids. */
  const uint64_t smap = !user && (cfg & CFG_SMAP) ? PTE_US : 0; /* supervisor data access to a user page */
  const uint64_t smep = !user && (cfg & CFG_SMEP) ? PTE_US : 0;
  const uint64_t wp = user || (cfg & CFG_WP) ? PTE_RW : 0;
  const uint64_t us = user ? PTE_US : 0;
  w->perm_mask[0] = us | smap;        w->perm_want[0] = us;
  w->perm_mask[1] = us | smap | wp;   w->perm_want[1] = us | wp;
  w->perm_mask[2] = us | smep | PTE_XD; w->perm_want[2] = us | PTE_XD;
  w->ad_need[0] = w->ad_need[2] = PTE_A;
  w->ad_need[1] = PTE_A | PTE_D;
  for (unsigned k = 0; k < 3; k++)
    w->ec[k] = (k == 1 ? PF_W : 0) | (user ? PF_U : 0) | (k == 2 && (cfg & (CFG_SMEP | CFG_NXE)) ? PF_ID : 0);
  w->key_mask[0] = 1;
  w->key_mask[1] = wp ? 3 : 1;
  w->key_mask[2] = 0;
  w->pkr2 = (uint64_t)(user ? 0 : w->pkrs) << 32 | w->pkru;
}

/*
 * One address. The fast path: per level one mask test (present and reserved bits together), the
 * rights folded into `f`, the accessed bit set in place as the walk passes (Intel; on AMD a
 * missing one goes to the exact walker, which defers it). The leaf's access check is branch-free
 * (the result is selected, so a fault costs what a translation costs) unless `branchy`: then a
 * fault is a branch, the cheaper choice where faults are rare (full_loop: batches of reads).
 * The result is written here, not packed into a word for the caller to unpack. Entries past RAM
 * and AMD's deferred A bits go to the exact walker (the only writes before it are A bits it also
 * sets). `levels`, `branchy` and `keys` (protection keys apply) are constants after inlining.
 */
static inline __attribute__((always_inline)) uint32_t walk_any(const walker_t *w, const fast_t *c, uint64_t va, unsigned kind, unsigned levels, uint64_t *pao, int branchy, int keys) {
  /* canonical: bits 63:47 (63:56) all equal, i.e. va + 2^47 (2^56) below 2^48 (2^57) */
  if (__builtin_expect((va + (1ull << (levels == 5 ? 56 : 47))) >> (levels == 5 ? 57 : 48), 0)) return walk_generic(w, va, kind, pao);
  const uint64_t ram = c->ram_bytes;
  const uint64_t ec = c->ec[kind];
  uint64_t f = ~0ull, t = c->root, ea, e, pa;
#define LEVEL(SHIFT, MASK)                                                        \
  ea = t + ((va >> (SHIFT)) & 0xFF8);                                             \
  if (__builtin_expect(ea >= ram, 0)) return walk_generic(w, va, kind, pao);      \
  memcpy(&e, c->ram + ea, 8);                                                     \
  if (__builtin_expect((e & (MASK)) != PTE_P, 0)) {                               \
    *pao = 0;                                                                     \
    return (14u << 16) | (uint32_t)((e & PTE_P) ? ec | PF_P | PF_RSVD : ec);      \
  }
#define PASS()                                                                    \
  if (__builtin_expect(!(e & PTE_A), 0)) {                                        \
    if (c->amd) return walk_generic(w, va, kind, pao);                            \
    e |= PTE_A;                                                                   \
    memcpy(c->ram + ea, &e, 8);                                                   \
  }                                                                               \
  f &= e ^ PTE_XD;                                                                \
  t = e & FRAME_MASK;
#define RSVD_LEAF(BITS)                                                           \
  if (__builtin_expect((e & (BITS)) != 0, 0)) {                                   \
    *pao = 0;                                                                     \
    return (14u << 16) | (uint32_t)(ec | PF_P | PF_RSVD);                         \
  }
  if (levels == 5) { LEVEL(45, c->up) PASS() }
  LEVEL(36, c->up) PASS()
  LEVEL(27, c->lo)
  if (e & PTE_PS) {
    RSVD_LEAF(c->rsvd_1g)
    pa = (e & FRAME_MASK & ~0x3FFFFFFFull) | (va & 0x3FFFFFFFull);
  } else {
    PASS()
    LEVEL(18, c->lo)
    if (e & PTE_PS) {
      RSVD_LEAF(0x1FE000ull)
      pa = (e & FRAME_MASK & ~0x1FFFFFull) | (va & 0x1FFFFFull);
    } else {
      PASS()
      LEVEL(9, c->lo)
      pa = (e & FRAME_MASK) | (va & 0xFFF);
    }
  }
#undef LEVEL
#undef PASS
#undef RSVD_LEAF
  f &= e ^ PTE_XD;
  const uint32_t pk = keys ? key_fault(c->pkr2, c->key_mask[kind], e, f) : 0;
  if (branchy) {
    if (__builtin_expect(pk != 0 || (f & c->perm_mask[kind]) != c->perm_want[kind], 0)) {
      *pao = 0;
      return (14u << 16) | (uint32_t)(ec | PF_P | pk);
    }
    const uint64_t set = ~e & c->ad_need[kind];
    if (__builtin_expect(set != 0, 0)) {
      e |= set;
      memcpy(c->ram + ea, &e, 8);
    }
    *pao = pa;
    return 0;
  }
  /* all ones when the access is allowed: masks, not branches, from here on */
  const uint64_t okm = -(uint64_t)(((f & c->perm_mask[kind]) == c->perm_want[kind]) & (pk == 0));
  const uint64_t set = ~e & c->ad_need[kind] & okm;
  if (__builtin_expect(set != 0, 0)) {
    e |= set;
    memcpy(c->ram + ea, &e, 8);
  }
  *pao = pa & okm;
  return (uint32_t)(((14u << 16) | ec | PF_P | pk) & ~okm);
}

static inline __attribute__((always_inline)) uint32_t walk_full(const walker_t *w, const fast_t *c, uint64_t va, unsigned kind, unsigned levels, uint64_t *pao, int keys) {
  return keys ? walk_any(w, c, va, kind, levels, pao, 0, 1) : walk_any(w, c, va, kind, levels, pao, 0, 0);
}

/*
 * The walkBatch loops, one function per level count, fault handling, kind source and keys
 * (registers for each): KIND is the access kind of address i (`kd[i]`, valid kinds; `0`: a batch
 * of reads; or clamped, for a batch holding invalid kinds, read as reads); K: protection keys apply.
 */
#define FULL_LOOP(NAME, L, B, KIND, K)                                                                 \
  static __attribute__((noinline)) uint32_t NAME(const walker_t *w, const uint64_t *va, const uint8_t *kd, uint64_t *opa, uint32_t *of, size_t n) { \
    const fast_t fc = fast_of(w);                                                                      \
    uint32_t faults = 0;                                                                               \
    for (size_t i = 0; i < n; i++) faults += (of[i] = walk_any(w, &fc, va[i], (KIND), L, &opa[i], B, K)) != 0; \
    return faults;                                                                                     \
  }
#define FULL_LOOPS(SUFFIX, K)                                      \
  FULL_LOOP(sel_loop4##SUFFIX, 4, 0, kd[i], K)                     \
  FULL_LOOP(sel_loop5##SUFFIX, 5, 0, kd[i], K)                     \
  FULL_LOOP(br_loop4##SUFFIX, 4, 1, kd[i], K)                      \
  FULL_LOOP(br_loop5##SUFFIX, 5, 1, kd[i], K)                      \
  FULL_LOOP(read_loop4##SUFFIX, 4, 1, 0, K)                        \
  FULL_LOOP(read_loop5##SUFFIX, 5, 1, 0, K)                        \
  FULL_LOOP(clamp_loop4##SUFFIX, 4, 0, kd[i] > 2 ? 0 : kd[i], K)   \
  FULL_LOOP(clamp_loop5##SUFFIX, 5, 0, kd[i] > 2 ? 0 : kd[i], K)
FULL_LOOPS(, 0)
FULL_LOOPS(k, 1)
#undef FULL_LOOPS
#undef FULL_LOOP

#define FULL_BLOCK 256

/*
 * One pass over the kinds (vectorized) picks the loop: a batch of reads walks with the kind a
 * constant and its rare faults as branches. With writes or fetches the fault rate decides, per
 * block of FULL_BLOCK addresses from the block before: below 1/8 (branches predict well) the
 * faults are branches, above it (read-only and XD pages met by writes and fetches: frequent,
 * unpredictable) the leaf check selects its result without branches. Either way the same results.
 */
#define FULL_LOOP_FN(NAME, SUFFIX)                                                                     \
  static uint32_t NAME(const walker_t *w, unsigned levels, const uint64_t *va, const uint8_t *kd, uint64_t *opa, uint32_t *of, size_t n) { \
    /* eight kinds at a time: any non-zero; any above 2 (bit 7 of each byte, no carries) */        \
    uint64_t any = 0, bad = 0;                                                                     \
    size_t i = 0;                                                                                  \
    for (; i + 8 <= n; i += 8) {                                                                   \
      uint64_t x;                                                                                  \
      memcpy(&x, kd + i, 8);                                                                       \
      any |= x;                                                                                    \
      bad |= ((x & 0x7F7F7F7F7F7F7F7Full) + 0x7D7D7D7D7D7D7D7Dull) | x;                            \
    }                                                                                              \
    bad &= 0x8080808080808080ull;                                                                  \
    for (; i < n; i++) any |= kd[i], bad |= kd[i] > 2;                                             \
    if (bad) return levels == 5 ? clamp_loop5##SUFFIX(w, va, kd, opa, of, n) : clamp_loop4##SUFFIX(w, va, kd, opa, of, n); \
    if (!any) return levels == 5 ? read_loop5##SUFFIX(w, va, kd, opa, of, n) : read_loop4##SUFFIX(w, va, kd, opa, of, n); \
    uint32_t faults = 0;                                                                           \
    int branchy = 1;                                                                               \
    for (i = 0; i < n; i += FULL_BLOCK) {                                                          \
      const size_t m = n - i < FULL_BLOCK ? n - i : FULL_BLOCK;                                    \
      const uint32_t f = levels == 5 ? (branchy ? br_loop5##SUFFIX : sel_loop5##SUFFIX)(w, va + i, kd + i, opa + i, of + i, m) \
                                     : (branchy ? br_loop4##SUFFIX : sel_loop4##SUFFIX)(w, va + i, kd + i, opa + i, of + i, m); \
      faults += f;                                                                                 \
      branchy = f * 8 < m;                                                                         \
    }                                                                                              \
    return faults;                                                                                 \
  }
FULL_LOOP_FN(full_loop, )
FULL_LOOP_FN(full_loop_keys, k)
#undef FULL_LOOP_FN

/*
 * The interleaved walker (information: what the WASM core's interleaved batch loop does, in C).
 * Per group of MLP_K addresses: each address walked down to its 4 KiB leaf entry's address
 * (large pages finished there), then the leaf reads back to back so that their cache misses
 * overlap, then the leaf checks. Anything else (faults above the leaf, entries past RAM, AMD's
 * deferred A bits) goes through walk_full. A/D bits are ORed into the current entry, so the
 * order of walks across addresses does not matter (results never depend on A/D bits).
 */
#define MLP_K 16
#define LANE_DONE 1ull

static inline __attribute__((always_inline)) uint64_t leaf_result(const fast_t *c, uint64_t va, unsigned kind, uint64_t e, uint64_t ea, uint64_t f, uint64_t off, int keys) {
  f &= e ^ PTE_XD;
  const uint32_t pk = keys ? key_fault(c->pkr2, c->key_mask[kind], e, f) : 0;
  const uint64_t okm = -(uint64_t)(((f & c->perm_mask[kind]) == c->perm_want[kind]) & (pk == 0));
  const uint64_t set = ~e & c->ad_need[kind] & okm;
  if (__builtin_expect(set != 0, 0)) {
    uint64_t x;
    memcpy(&x, c->ram + ea, 8);
    x |= set;
    memcpy(c->ram + ea, &x, 8);
  }
  const uint64_t pa = (e & FRAME_MASK & ~off) | (va & off);
  return (pa & okm) | (PF(c->ec[kind] | PF_P | pk) & ~okm);
}

static inline __attribute__((always_inline)) void set_a(const fast_t *c, uint64_t ea) {
  uint64_t x;
  memcpy(&x, c->ram + ea, 8);
  x |= PTE_A;
  memcpy(c->ram + ea, &x, 8);
}

/* Down to the 4 KiB leaf entry's address (f: the rights above), a finished large-page walk
   (*res, returns LANE_DONE), or 0 for walk_full. */
static inline __attribute__((always_inline)) uint64_t walk_upper(const fast_t *c, uint64_t va, unsigned kind, unsigned levels, uint64_t *fo, uint64_t *res, int keys) {
  const uint64_t ram = c->ram_bytes;
  uint64_t f = ~0ull, t = c->root, ea, e;
  if (!is_canonical(va, levels == 5 ? 7 : 16)) return 0;
#define LEVEL(SHIFT, MASK)                                  \
  ea = t + ((va >> (SHIFT)) & 0xFF8);                       \
  if (__builtin_expect(ea >= ram, 0)) return 0;             \
  memcpy(&e, c->ram + ea, 8);                               \
  if (__builtin_expect((e & (MASK)) != PTE_P, 0)) return 0;
#define PASS()                                              \
  if (__builtin_expect(!(e & PTE_A), 0)) {                  \
    if (c->amd) return 0;                                   \
    set_a(c, ea);                                           \
  }                                                         \
  f &= e ^ PTE_XD;                                          \
  t = e & FRAME_MASK;
  if (levels == 5) { LEVEL(45, c->up) PASS() }
  LEVEL(36, c->up) PASS()
  LEVEL(27, c->lo)
  if (e & PTE_PS) {
    if (e & c->rsvd_1g) return 0;
    *res = leaf_result(c, va, kind, e, ea, f, (1ull << 30) - 1, keys);
    return LANE_DONE;
  }
  PASS()
  LEVEL(18, c->lo)
  if (e & PTE_PS) {
    if (e & 0x1FE000ull) return 0;
    *res = leaf_result(c, va, kind, e, ea, f, (1ull << 21) - 1, keys);
    return LANE_DONE;
  }
  PASS()
#undef LEVEL
#undef PASS
  *fo = f;
  ea = t + ((va >> 9) & 0xFF8);
  return ea >= ram ? 0 : ea;
}

static inline __attribute__((always_inline)) uint32_t store_result(uint64_t r, uint64_t *pa) {
  const uint64_t fm = -(r >> 63);
  *pa = r & ~fm;
  return (uint32_t)(r & fm);
}

static __attribute__((noinline)) uint32_t mlp_loop(const walker_t *w, unsigned levels, const uint64_t *va, const uint8_t *kd, uint64_t *opa, uint32_t *of, size_t n) {
  const fast_t fc = fast_of(w);
  const int keys = (w->pkru | w->pkrs) != 0;
  const fast_t *c = &fc;
  uint32_t faults = 0;
  size_t i = 0;
  for (; i + MLP_K <= n; i += MLP_K) {
    uint64_t lea[MLP_K], lf[MLP_K], le[MLP_K];
    unsigned pending = 0;
    for (unsigned j = 0; j < MLP_K; j++) {
      const unsigned kind = kd[i + j] > 2 ? 0 : kd[i + j];
      uint64_t r = 0;
      const uint64_t leaf = levels == 5 ? walk_upper(c, va[i + j], kind, 5, &lf[j], &r, keys) : walk_upper(c, va[i + j], kind, 4, &lf[j], &r, keys);
      lea[j] = 0;
      if (leaf == 0) faults += (of[i + j] = walk_full(w, c, va[i + j], kind, levels, &opa[i + j], keys)) != 0;
      else if (leaf == LANE_DONE) faults += (of[i + j] = store_result(r, &opa[i + j])) != 0;
      else lea[j] = leaf, pending++;
    }
    if (!pending) continue;
    for (unsigned j = 0; j < MLP_K; j++) memcpy(&le[j], c->ram + lea[j], 8);
    for (unsigned j = 0; j < MLP_K; j++) {
      if (!lea[j]) continue;
      const unsigned kind = kd[i + j] > 2 ? 0 : kd[i + j];
      if ((le[j] & c->lo) != PTE_P) faults += (of[i + j] = walk_full(w, c, va[i + j], kind, levels, &opa[i + j], keys)) != 0;
      else faults += (of[i + j] = store_result(leaf_result(c, va[i + j], kind, le[j], lea[j], lf[j], 0xFFF, keys), &opa[i + j])) != 0;
    }
  }
  for (; i < n; i++) faults += (of[i] = walk_full(w, c, va[i], kd[i] > 2 ? 0 : kd[i], levels, &opa[i], keys)) != 0;
  return faults;
}

/* The minimal walker: P, U/S, R/W, A (D on writes), large pages. Nothing else is checked. */
static inline __attribute__((always_inline)) uint32_t walk_lean(const walker_t *w, uint64_t va, unsigned kind, unsigned levels, uint64_t *pa) {
  const int user = (w->cfg & CFG_USER) != 0;
  const uint32_t ec = (kind == 1 ? PF_W : 0) | (user ? PF_U : 0);
  uint64_t t = w->root, rights = PTE_RW | PTE_US;
  unsigned shift = 12 + 9 * (levels - 1);
#pragma GCC unroll 5
  for (unsigned l = levels; l >= 1; l--, shift -= 9) {
    const uint64_t ea = t + ((va >> shift) & 511) * 8;
    uint64_t e = read_entry(w, ea);
    if (!(e & PTE_P)) { *pa = 0; return (14u << 16) | ec; }
    rights &= e;
    const int leaf = l == 1 || (l <= 3 && (e & PTE_PS));
    if (leaf) {
      if ((user && !(rights & PTE_US)) || (kind == 1 && !(rights & PTE_RW))) { *pa = 0; return (14u << 16) | PF_P | ec; }
      const uint64_t need = kind == 1 ? PTE_A | PTE_D : PTE_A;
      if ((e & need) != need) write_entry(w, ea, e | need);
      const uint64_t off = (1ull << shift) - 1;
      *pa = (e & FRAME_MASK & ~off) | (va & off);
      return 0;
    }
    if (!(e & PTE_A)) write_entry(w, ea, e | PTE_A);
    t = e & FRAME_MASK;
  }
  return 0;
}

/*
 * PAE and 32-bit paging (CFG_PAE, CFG_32): linear addresses are va's bits 31:0. PAE: the PDPTE for
 * bits 31:30 from the 32-byte table at CR3 (the CPU's PDPTE registers, loaded at the CR3 write:
 * the benchmark never changes them), then the PDE (PS: a 2 MiB page) and the PTE, 8-byte entries
 * whose bits 62:MAXPHYADDR (and XD without NXE) are reserved. 32-bit: the PDE (PS with CR4.PSE:
 * a 4 MiB page, bits 20:13 address bits 39:32 under PSE-36, those at or above MAXPHYADDR (40 at
 * most) and bit 21 reserved) and the PTE, 4-byte entries, no XD. No protection keys (IA-32e only).
 */
static inline uint64_t read_entry32(const walker_t *w, uint64_t pa) {
  uint32_t v;
  if (pa + 4 > w->ram_bytes) return 0xFFFFFFFFull;
  memcpy(&v, w->ram + pa, 4);
  return v;
}

static inline void write_entry32(const walker_t *w, uint64_t pa, uint64_t v) {
  if (pa + 4 > w->ram_bytes) return;
  const uint32_t x = (uint32_t)v;
  memcpy(w->ram + pa, &x, 4);
}

/* The exact generic legacy walk (as walk_generic: the fault word, the physical address). */
static uint32_t walk_legacy_generic(const walker_t *w, uint64_t va, unsigned kind, uint64_t *pa_out) {
  const unsigned cfg = w->cfg;
  const int pae = (cfg & CFG_PAE) != 0;
  const int user = (cfg & CFG_USER) != 0;
  const int write = kind == 1, exec = kind == 2;
  const int nxe = pae && (cfg & CFG_NXE);
  const uint32_t ec = (write ? PF_W : 0) | (user ? PF_U : 0) | (exec && ((cfg & CFG_SMEP) || nxe) ? PF_ID : 0);
  const uint64_t rsvd = pae ? w->rsvd_pae : 0;
  va &= 0xFFFFFFFFull;
  *pa_out = 0;
  uint64_t pde_pa, pde, e, ea, page, off;
  if (pae) {
    const uint64_t pdpte = read_entry(w, w->pdpt + ((va >> 30) & 3) * 8);
    if (!(pdpte & PTE_P)) return (14u << 16) | ec;
    pde_pa = (pdpte & w->addr_mask) + ((va >> 21) & 511) * 8;
    pde = read_entry(w, pde_pa);
  } else {
    pde_pa = (w->root & 0xFFFFF000ull) + (va >> 22) * 4;
    pde = read_entry32(w, pde_pa);
  }
  if (!(pde & PTE_P)) return (14u << 16) | ec;
  uint64_t rw = pde & PTE_RW, us = pde & PTE_US, xd = nxe ? pde & PTE_XD : 0;
  int pde_a_pending = 0;
  if ((pde & PTE_PS) && (pae || (cfg & CFG_PSE))) {
    if (pae ? (pde & (rsvd | 0x1FE000ull)) : (pde & w->rsvd_4m)) return (14u << 16) | PF_P | PF_RSVD | ec;
    e = pde, ea = pde_pa;
    off = pae ? 0x1FFFFF : 0x3FFFFF;
    page = pae ? pde & w->addr_mask & ~off : (pde & 0xFFC00000ull) | (((pde >> 13) & 0xFF) << 32);
  } else {
    if (pae && (pde & rsvd)) return (14u << 16) | PF_P | PF_RSVD | ec;
    if (!(pde & PTE_A)) {
      if (cfg & CFG_AMD) pde_a_pending = 1;
      else if (pae) write_entry(w, pde_pa, pde | PTE_A);
      else write_entry32(w, pde_pa, pde | PTE_A);
    }
    ea = pae ? (pde & w->addr_mask) + ((va >> 12) & 511) * 8 : (pde & 0xFFFFF000ull) + ((va >> 12) & 1023) * 4;
    e = pae ? read_entry(w, ea) : read_entry32(w, ea);
    if (!(e & PTE_P)) return (14u << 16) | ec;
    if (pae && (e & rsvd)) return (14u << 16) | PF_P | PF_RSVD | ec;
    rw &= e, us &= e, xd |= nxe ? e & PTE_XD : 0;
    off = 0xFFF;
    page = pae ? e & w->addr_mask : e & 0xFFFFF000ull;
  }
  if (user && !us) return (14u << 16) | PF_P | ec;
  const int sup_user_page = !user && us;
  int ok;
  if (exec) ok = !xd && (user || !(sup_user_page && (cfg & CFG_SMEP)));
  else {
    ok = !(sup_user_page && (cfg & CFG_SMAP));
    if (write) ok = ok && (rw || (!user && !(cfg & CFG_WP)));
  }
  if (!ok) return (14u << 16) | PF_P | ec;
  if (pde_a_pending) {
    const uint64_t x = pae ? read_entry(w, pde_pa) : read_entry32(w, pde_pa);
    if (pae) write_entry(w, pde_pa, x | PTE_A);
    else write_entry32(w, pde_pa, x | PTE_A);
  }
  const uint64_t want = PTE_A | (write ? PTE_D : 0);
  if ((e & want) != want) {
    if (pae) write_entry(w, ea, e | want);
    else write_entry32(w, ea, e | want);
  }
  *pa_out = page | (va & off);
  return 0;
}

/*
 * The legacy fast path (PAE constant): walk_any's techniques over two levels — one mask test per
 * level, rights folded (`f &= e ^ XD`), the access check one compare per kind, A/D in place,
 * branch-free leaf unless `branchy`; entries past RAM and AMD's deferred A bit to the generic walk.
 */
static inline __attribute__((always_inline)) uint32_t walk_legacy(const walker_t *w, const fast_t *c, uint64_t va, unsigned kind, int pae, uint64_t *pao, int branchy) {
  const uint64_t ram = c->ram_bytes;
  const uint64_t ec = c->ec[kind];
  const uint64_t lo = c->lo_pae;
  uint64_t f = ~0ull, ea, e, pa;
  va &= 0xFFFFFFFFull;
  if (pae) {
    uint64_t pdpte;
    memcpy(&pdpte, c->ram + c->pdpt + ((va >> 27) & 0x18), 8);
    if (__builtin_expect(!(pdpte & PTE_P), 0)) return walk_legacy_generic(w, va, kind, pao);
    ea = (pdpte & FRAME_MASK) + ((va >> 18) & 0xFF8);
    if (__builtin_expect(ea >= ram, 0)) return walk_legacy_generic(w, va, kind, pao);
    memcpy(&e, c->ram + ea, 8);
    if (__builtin_expect((e & lo) != PTE_P, 0)) { *pao = 0; return (14u << 16) | (uint32_t)((e & PTE_P) ? ec | PF_P | PF_RSVD : ec); }
    if (e & PTE_PS) {
      if (__builtin_expect((e & 0x1FE000ull) != 0, 0)) { *pao = 0; return (14u << 16) | (uint32_t)(ec | PF_P | PF_RSVD); }
      pa = (e & FRAME_MASK & ~0x1FFFFFull) | (va & 0x1FFFFFull);
    } else {
      if (__builtin_expect(!(e & PTE_A), 0)) {
        if (c->amd) return walk_legacy_generic(w, va, kind, pao);
        e |= PTE_A;
        memcpy(c->ram + ea, &e, 8);
      }
      f = e ^ PTE_XD;
      ea = (e & FRAME_MASK) + ((va >> 9) & 0xFF8);
      if (__builtin_expect(ea >= ram, 0)) return walk_legacy_generic(w, va, kind, pao);
      memcpy(&e, c->ram + ea, 8);
      if (__builtin_expect((e & lo) != PTE_P, 0)) { *pao = 0; return (14u << 16) | (uint32_t)((e & PTE_P) ? ec | PF_P | PF_RSVD : ec); }
      pa = (e & FRAME_MASK) | (va & 0xFFF);
    }
  } else {
    uint32_t x;
    ea = c->root + ((va >> 20) & 0xFFC);
    if (__builtin_expect(ea >= ram, 0)) return walk_legacy_generic(w, va, kind, pao);
    memcpy(&x, c->ram + ea, 4);
    e = x;
    if (__builtin_expect(!(e & PTE_P), 0)) { *pao = 0; return (14u << 16) | (uint32_t)ec; }
    if ((e & PTE_PS) && c->pse) {
      if (__builtin_expect((e & c->rsvd_4m) != 0, 0)) { *pao = 0; return (14u << 16) | (uint32_t)(ec | PF_P | PF_RSVD); }
      pa = (e & 0xFFC00000ull) | (((e >> 13) & 0xFF) << 32) | (va & 0x3FFFFFull);
    } else {
      if (__builtin_expect(!(e & PTE_A), 0)) {
        if (c->amd) return walk_legacy_generic(w, va, kind, pao);
        x |= PTE_A;
        memcpy(c->ram + ea, &x, 4);
      }
      f = e ^ PTE_XD;
      ea = (e & 0xFFFFF000ull) + ((va >> 10) & 0xFFC);
      if (__builtin_expect(ea >= ram, 0)) return walk_legacy_generic(w, va, kind, pao);
      memcpy(&x, c->ram + ea, 4);
      e = x;
      if (__builtin_expect(!(e & PTE_P), 0)) { *pao = 0; return (14u << 16) | (uint32_t)ec; }
      pa = (e & 0xFFFFF000ull) | (va & 0xFFF);
    }
  }
  f &= e ^ PTE_XD;
  const int allowed = (f & c->perm_mask[kind]) == c->perm_want[kind];
  if (branchy) {
    if (__builtin_expect(!allowed, 0)) { *pao = 0; return (14u << 16) | (uint32_t)(ec | PF_P); }
    const uint64_t set = ~e & c->ad_need[kind];
    if (__builtin_expect(set != 0, 0)) {
      if (pae) { e |= set; memcpy(c->ram + ea, &e, 8); }
      else { const uint32_t x = (uint32_t)(e | set); memcpy(c->ram + ea, &x, 4); }
    }
    *pao = pa;
    return 0;
  }
  const uint64_t okm = -(uint64_t)allowed;
  const uint64_t set = ~e & c->ad_need[kind] & okm;
  if (__builtin_expect(set != 0, 0)) {
    if (pae) { e |= set; memcpy(c->ram + ea, &e, 8); }
    else { const uint32_t x = (uint32_t)(e | set); memcpy(c->ram + ea, &x, 4); }
  }
  *pao = pa & okm;
  return (uint32_t)(((14u << 16) | ec | PF_P) & ~okm);
}

#define LEGACY_LOOP(NAME, PAE, B, KIND)                                                                \
  static __attribute__((noinline)) uint32_t NAME(const walker_t *w, const uint64_t *va, const uint8_t *kd, uint64_t *opa, uint32_t *of, size_t n) { \
    const fast_t fc = fast_of(w);                                                                      \
    uint32_t faults = 0;                                                                               \
    for (size_t i = 0; i < n; i++) faults += (of[i] = walk_legacy(w, &fc, va[i], (KIND), PAE, &opa[i], B)) != 0; \
    return faults;                                                                                     \
  }
LEGACY_LOOP(pae_sel, 1, 0, kd[i] > 2 ? 0 : kd[i])
LEGACY_LOOP(pae_read, 1, 1, 0)
LEGACY_LOOP(l32_sel, 0, 0, kd[i] > 2 ? 0 : kd[i])
LEGACY_LOOP(l32_read, 0, 1, 0)
#undef LEGACY_LOOP

/* A batch of reads with branches (rare faults), else the branch-free leaf. */
static uint32_t legacy_loop(const walker_t *w, const uint64_t *va, const uint8_t *kd, uint64_t *opa, uint32_t *of, size_t n) {
  uint64_t any = 0;
  for (size_t i = 0; i < n; i++) any |= kd[i];
  const int pae = (w->cfg & CFG_PAE) != 0;
  if (!any) return pae ? pae_read(w, va, kd, opa, of, n) : l32_read(w, va, kd, opa, of, n);
  return pae ? pae_sel(w, va, kd, opa, of, n) : l32_sel(w, va, kd, opa, of, n);
}

/* The minimal legacy walker: P, U/S, R/W, A (D on writes), large pages. */
static inline uint32_t walk_legacy_lean(const walker_t *w, uint64_t va, unsigned kind, uint64_t *pa) {
  const int pae = (w->cfg & CFG_PAE) != 0;
  const int user = (w->cfg & CFG_USER) != 0;
  const uint32_t ec = (kind == 1 ? PF_W : 0) | (user ? PF_U : 0);
  va &= 0xFFFFFFFFull;
  uint64_t ea, e;
  if (pae) {
    const uint64_t pdpte = read_entry(w, w->pdpt + ((va >> 30) & 3) * 8);
    if (!(pdpte & PTE_P)) { *pa = 0; return (14u << 16) | ec; }
    ea = (pdpte & FRAME_MASK) + ((va >> 21) & 511) * 8;
    e = read_entry(w, ea);
  } else {
    ea = (w->root & 0xFFFFF000ull) + (va >> 22) * 4;
    e = read_entry32(w, ea);
  }
  if (!(e & PTE_P)) { *pa = 0; return (14u << 16) | ec; }
  uint64_t rights = e;
  uint64_t page, off;
  if ((e & PTE_PS) && (pae || (w->cfg & CFG_PSE))) {
    off = pae ? 0x1FFFFF : 0x3FFFFF;
    page = pae ? e & FRAME_MASK & ~off : (e & 0xFFC00000ull) | (((e >> 13) & 0xFF) << 32);
  } else {
    if (!(e & PTE_A)) { if (pae) write_entry(w, ea, e | PTE_A); else write_entry32(w, ea, e | PTE_A); }
    ea = pae ? (e & FRAME_MASK) + ((va >> 12) & 511) * 8 : (e & 0xFFFFF000ull) + ((va >> 12) & 1023) * 4;
    e = pae ? read_entry(w, ea) : read_entry32(w, ea);
    if (!(e & PTE_P)) { *pa = 0; return (14u << 16) | ec; }
    rights &= e;
    off = 0xFFF;
    page = pae ? e & FRAME_MASK : e & 0xFFFFF000ull;
  }
  if ((user && !(rights & PTE_US)) || (kind == 1 && !(rights & PTE_RW))) { *pa = 0; return (14u << 16) | PF_P | ec; }
  const uint64_t need = kind == 1 ? PTE_A | PTE_D : PTE_A;
  if ((e & need) != need) { if (pae) write_entry(w, ea, e | need); else write_entry32(w, ea, e | need); }
  *pa = page | (va & off);
  return 0;
}

/* The direct-mapped TLB of tlbBatch: per access kind, tag = vpn << 1 | 1, and the page base. */
#define DM_SETS 256
static struct {
  uint64_t tag[3][DM_SETS];
  uint64_t base[3][DM_SETS];
  uint64_t root;
  unsigned cfg;
  const uint8_t *ram;
} dm;

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

enum { MODE_FULL, MODE_GENERIC, MODE_LEAN, MODE_TLB, MODE_MLP };

/*
 * fn(memory: ArrayBuffer, ramBase: number, ramBytes: number, cr3: bigint, maxPhysAddrBits: number,
 *    cfg: number, vas: BigUint64Array, kinds: Uint8Array, outPa: BigUint64Array,
 *    outFault: Uint32Array[, pkru: number, pkrs: number]) -> number of faults
 * (PKRU applies with CFG_PKE, PKRS with CFG_PKS; both 0 when omitted.)
 */
static napi_value walk_batch_common(napi_env env, napi_callback_info info, int mode) {
  size_t argc = 12;
  napi_value argv[12];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || (argc != 10 && argc != 12))
    return throw_error(env, "walkBatch: expected 10 or 12 arguments");
  double pkru = 0, pkrs = 0;
  if (argc == 12 && (napi_get_value_double(env, argv[10], &pkru) != napi_ok || napi_get_value_double(env, argv[11], &pkrs) != napi_ok ||
                     pkru < 0 || pkru > 4294967295.0 || pkrs < 0 || pkrs > 4294967295.0))
    return throw_error(env, "walkBatch: pkru and pkrs must be numbers in 0..2^32-1");
  void *mem;
  size_t mem_len;
  if (napi_get_arraybuffer_info(env, argv[0], &mem, &mem_len) != napi_ok)
    return throw_error(env, "walkBatch: argument 1 (memory) must be an ArrayBuffer");
  double ram_base, ram_bytes, maxpa, cfg;
  if (napi_get_value_double(env, argv[1], &ram_base) != napi_ok ||
      napi_get_value_double(env, argv[2], &ram_bytes) != napi_ok ||
      napi_get_value_double(env, argv[4], &maxpa) != napi_ok ||
      napi_get_value_double(env, argv[5], &cfg) != napi_ok)
    return throw_error(env, "walkBatch: ramBase, ramBytes, maxPhysAddrBits and cfg must be numbers");
  if (ram_base < 0 || ram_bytes < 0 || ram_base + ram_bytes > (double)mem_len)
    return throw_error(env, "walkBatch: guest RAM [ramBase, ramBase + ramBytes) lies outside the memory buffer");
  if (maxpa < 32 || maxpa > 52) return throw_error(env, "walkBatch: maxPhysAddrBits must be 32..52");
  uint64_t cr3;
  bool lossless;
  if (napi_get_value_bigint_uint64(env, argv[3], &cr3, &lossless) != napi_ok)
    return throw_error(env, "walkBatch: cr3 must be a bigint");

  napi_typedarray_type t;
  size_t n, nk, npa, nf;
  void *vas, *kinds, *out_pa, *out_fault;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, argv[6], &t, &n, &vas, &ab, &off) != napi_ok || t != napi_biguint64_array)
    return throw_error(env, "walkBatch: vas must be a BigUint64Array");
  if (napi_get_typedarray_info(env, argv[7], &t, &nk, &kinds, &ab, &off) != napi_ok || t != napi_uint8_array)
    return throw_error(env, "walkBatch: kinds must be a Uint8Array");
  if (napi_get_typedarray_info(env, argv[8], &t, &npa, &out_pa, &ab, &off) != napi_ok || t != napi_biguint64_array)
    return throw_error(env, "walkBatch: outPa must be a BigUint64Array");
  if (napi_get_typedarray_info(env, argv[9], &t, &nf, &out_fault, &ab, &off) != napi_ok || t != napi_uint32_array)
    return throw_error(env, "walkBatch: outFault must be a Uint32Array");
  if (nk < n || npa < n || nf < n) return throw_error(env, "walkBatch: kinds/outPa/outFault shorter than vas");

  walker_t w;
  const unsigned m = (unsigned)maxpa;
  w.ram = (uint8_t *)mem + (size_t)ram_base;
  w.ram_bytes = (uint64_t)ram_bytes;
  w.cfg = (unsigned)cfg;
  w.levels = (w.cfg & CFG_LA57) ? 5 : 4;
  w.addr_mask = ((1ull << m) - 1) & ~0xFFFull;
  w.rsvd_hi = (((1ull << 52) - 1) & ~((1ull << m) - 1)) | ((w.cfg & CFG_NXE) ? 0 : PTE_XD);
  w.root = cr3 & w.addr_mask;
  w.pdpt = cr3 & 0xFFFFFFE0ull;
  w.rsvd_pae = (((1ull << 63) - 1) & ~((1ull << m) - 1)) | ((w.cfg & CFG_NXE) ? 0 : PTE_XD);
  {
    const unsigned m4 = (w.cfg & CFG_PSE36) ? (m < 40 ? m : 40) : 32;
    w.rsvd_4m = (1ull << 21) | (0x1FE000ull & ~((1ull << (13 + m4 - 32)) - 1));
  }
  if ((w.cfg & (CFG_PAE | CFG_32)) == (CFG_PAE | CFG_32)) return throw_error(env, "walkBatch: cfg sets both PAE and 32-bit paging");
  const int legacy = (w.cfg & (CFG_PAE | CFG_32)) != 0;
  w.pkru = (w.cfg & CFG_PKE) ? (uint32_t)pkru : 0;
  w.pkrs = (w.cfg & CFG_PKS) ? (uint32_t)pkrs : 0;
  setup_fast(&w);

  const uint64_t *va = (const uint64_t *)vas;
  const uint8_t *kd = (const uint8_t *)kinds;
  uint64_t *opa = (uint64_t *)out_pa;
  uint32_t *of = (uint32_t *)out_fault;
  uint32_t faults = 0;
  if (legacy && mode != MODE_TLB) {
    /* PAE / 32-bit: the fast loop (also for MODE_MLP: two levels, nothing to interleave), the generic or the lean walk */
    if (mode == MODE_GENERIC) for (size_t i = 0; i < n; i++) faults += (of[i] = walk_legacy_generic(&w, va[i], kd[i] > 2 ? 0 : kd[i], &opa[i])) != 0;
    else if (mode == MODE_LEAN) for (size_t i = 0; i < n; i++) faults += (of[i] = walk_legacy_lean(&w, va[i], kd[i], &opa[i])) != 0;
    else faults = legacy_loop(&w, va, kd, opa, of, n);
  } else if (mode == MODE_FULL) {
    faults = (w.pkru | w.pkrs) ? full_loop_keys(&w, w.levels, va, kd, opa, of, n) : full_loop(&w, w.levels, va, kd, opa, of, n);
  } else if (mode == MODE_MLP) {
    faults = mlp_loop(&w, w.levels, va, kd, opa, of, n);
  } else if (mode == MODE_GENERIC) {
    for (size_t i = 0; i < n; i++) faults += (of[i] = walk_generic(&w, va[i], kd[i] > 2 ? 0 : kd[i], &opa[i])) != 0;
  } else if (mode == MODE_LEAN) {
    if (w.levels == 5) for (size_t i = 0; i < n; i++) faults += (of[i] = walk_lean(&w, va[i], kd[i], 5, &opa[i])) != 0;
    else for (size_t i = 0; i < n; i++) faults += (of[i] = walk_lean(&w, va[i], kd[i], 4, &opa[i])) != 0;
  } else {
    const fast_t fc = fast_of(&w);
    const int keys = (w.pkru | w.pkrs) != 0;
    if (dm.root != w.root || dm.cfg != w.cfg || dm.ram != w.ram) {
      memset(&dm, 0, sizeof dm);
      dm.root = w.root;
      dm.cfg = w.cfg;
      dm.ram = w.ram;
    }
    for (size_t i = 0; i < n; i++) {
      const uint64_t v = legacy ? va[i] & 0xFFFFFFFFull : va[i];
      const unsigned k = kd[i] > 2 ? 0 : kd[i];
      const uint64_t vpn = v >> 12, slot = vpn & (DM_SETS - 1);
      if (dm.tag[k][slot] == ((vpn << 1) | 1)) {
        opa[i] = dm.base[k][slot] | (v & 0xFFF);
        of[i] = 0;
        continue;
      }
      const uint32_t f = legacy ? ((w.cfg & CFG_PAE) ? walk_legacy(&w, &fc, v, k, 1, &opa[i], 0) : walk_legacy(&w, &fc, v, k, 0, &opa[i], 0))
                                : walk_full(&w, &fc, v, k, w.levels, &opa[i], keys);
      of[i] = f;
      faults += f != 0;
      if (!f) {
        dm.tag[k][slot] = (vpn << 1) | 1;
        dm.base[k][slot] = opa[i] & ~0xFFFull;
      }
    }
  }
  napi_value ret;
  napi_create_uint32(env, faults, &ret);
  return ret;
}

static napi_value walk_batch(napi_env env, napi_callback_info info) { return walk_batch_common(env, info, MODE_FULL); }
static napi_value walk_batch_generic(napi_env env, napi_callback_info info) { return walk_batch_common(env, info, MODE_GENERIC); }
static napi_value walk_batch_lean(napi_env env, napi_callback_info info) { return walk_batch_common(env, info, MODE_LEAN); }
static napi_value walk_batch_interleaved(napi_env env, napi_callback_info info) { return walk_batch_common(env, info, MODE_MLP); }
static napi_value tlb_batch(napi_env env, napi_callback_info info) { return walk_batch_common(env, info, MODE_TLB); }

static napi_value tlb_flush(napi_env env, napi_callback_info info) {
  (void)info;
  memset(&dm, 0, sizeof dm);
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value init(napi_env env, napi_value exports) {
  const struct { const char *name; napi_callback cb; } fns[] = {
    { "walkBatch", walk_batch }, { "walkBatchGeneric", walk_batch_generic },
    { "walkBatchLean", walk_batch_lean }, { "tlbBatch", tlb_batch }, { "walkBatchInterleaved", walk_batch_interleaved }, { "tlbFlush", tlb_flush },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
