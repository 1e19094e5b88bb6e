/**
 * Seed 001 (001_e78b0d52e09d8215.txt): "vmalloc: eagerly clear ptes on vunmap" (2.6.37-rc5).
 *
 * x86_64 Xen PV guest, domain 80. A process ("file", reading a directory over NFS) does, in the
 * kernel, what the NFS client's readdir does with vm_map_ram(): it maps its page array, uses it,
 * unmaps it with vm_unmap_ram(), sixteen times; page A is in every mapping, page C only in the
 * last, page B (also allocated) in none. Then the pages are freed and the process faults at a new
 * address that needs a new pud, pmd and pte page: the page allocator hands back C, B and A.
 * - Before the fix, vm_unmap_ram() left the ptes in place (they would go at the lazy purge, which
 *   never comes with so few pages): C still has one writable alias, A sixteen. xen_alloc_ptpage()
 *   makes the direct-map alias read-only, but the vmap aliases remain: Xen refuses the set_pgd()
 *   ("Bad type (saw 7400000000000001 != exp 3000000000000000)", then as a linear page table
 *   "Attempt to create linear p.t. with write perms") and then the pin of A as an L1 ("Bad type
 *   (saw 7400000000000010 != exp 1000000000000000)", "Error while pinning mfn"), and the guest
 *   BUG()s in pin_pagetable_pfn() (arch/x86/xen/mmu.c:1831).
 * - With the fix the ptes are cleared at once and only the TLB flush is lazy: Xen accepts the
 *   page tables and flushes the stale TLB entries itself when the frames change type.
 */
import { hwAccess } from '../modelcpu/access.js';
import type { Kernel } from '../linux/kernel.js';
import type { LinuxCpu } from '../linux/percpu.js';
import { VM_EXEC, VM_READ, VM_WRITE } from '../linux/structs.js';
import { spawnProcess, user_access } from '../linux/user.js';
import { vm_map_ram, vm_unmap_ram } from '../linux/vmap.js';
import type { KGen } from '../scheduler/types.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import { registerScenario, type Scenario } from './registry.js';
import '../presets/xen.js';
import { traced } from '../scheduler/traced.js';

const CODE = 0x0040_0000n;
/** A fresh pgd slot (index 254): the fault there needs a new pud, pmd and pte page. */
const HEAP = 0x7f00_0000_0000n;
const MAPPINGS = 16;

/** The NFS readdir pattern: map the page array, fill it through the mapping, unmap it. */
function* nfs_readdir_like(k: Kernel, cpu: LinuxCpu): KGen<number[]> {
  return yield* traced(cpu, 'nfs_readdir', function* () {
    const [a, b, c] = [0, 1, 2].map(() => k.m.frames.alloc({ zero: true }));
    for (let i = 0; i < MAPPINGS; i++) {
      const pages = i === MAPPINGS - 1 ? [a, c] : [a];
      const addr = yield* vm_map_ram(k, cpu, pages);
      for (let j = 0; j < pages.length; j++) {
        const pa = yield* hwAccess(cpu, addr + BigInt(j) * 4096n, 'write', 0);
        k.m.phys.write64n(Number(pa), BigInt(i));
      }
      yield* vm_unmap_ram(k, cpu, addr, pages.length);
    }
    return [a, b, c];
  });
}

function setup001(k: Kernel) {
  spawnProcess(k, {
    comm: 'file',
    cpu: 0,
    vmas: [
      { vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC },
      { vm_start: HEAP, vm_end: HEAP + 0x10000n, vm_flags: VM_READ | VM_WRITE },
    ],
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      yield* user_access(cpu, CODE, 'exec');
      const [a, b, c] = yield* nfs_readdir_like(k, cpu);
      // put_page() of the readdir pages: A, then B, then C (the allocator reuses C first).
      for (const pfn of [a, b, c]) k.m.frames.free(pfn);
      yield* user_access(cpu, HEAP, 'write');
    },
  });
  return { strategy: new ScriptedStrategy([]), maxSteps: 50_000 };
}

export const scenario001: Scenario = {
  name: '001-vunmap-lazy-xen-pin',
  seed: '001_e78b0d52e09d8215.txt',
  description:
    'x86_64 Xen PV (domain 80): pages mapped with vm_map_ram() and unmapped with vm_unmap_ram() are freed and reused as page tables of a process. Before the fix the ptes stay until the lazy purge and Xen refuses the pages as page tables (Bad type / linear p.t. / Error while pinning; the guest BUG()s in pin_pagetable_pfn()); with eager pte clearing Xen accepts them and flushes the stale TLB entries itself.',
  presets: { buggy: 'linux-2.6.37-rc4-xen-pv', fixed: 'linux-2.6.37-xen-pv' },
  setup: setup001,
};

registerScenario(scenario001);
