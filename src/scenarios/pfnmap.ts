/**
 * CVE-2022-39188 (docs/historical-bugs.md): munmap() of a VM_PFNMAP mapping takes the vma out of
 * the device file's i_mmap (free_pgtables() -> unlink_file_vma()) before it flushes the TLB
 * (tlb_finish_mmu(); x86's tlb_end_vma() is empty), so a driver that revokes its mappings with
 * unmap_mapping_range() finds nothing to zap or flush, and frees frames a CPU still maps. Fixed in
 * stable by "mm: Force TLB flush for PFNMAP mappings before unlink_file_vma()" (4.14.292; upstream
 * b67fbebd4cf9 "mmu_gather: Force tlb-flush VM_PFNMAP vmas", 5.19).
 *
 * SMP, one process with two threads. Thread "unmapper" (CPU 0) mmap()s one page of the model
 * driver's device (src/linux/pfnmap.ts: remap_pfn_range() of the driver's buffer) at ADDR. Thread
 * "user" (CPU 1) writes ADDR (CPU 1's TLB caches the translation). The unmapper munmap()s ADDR;
 * the forced schedule stops it once free_pgtables() has unlinked the vma and freed its page table
 * (the `free_pgtables` point) and runs the user: the driver's release ioctl
 * (pfnmap_dev_free_buffer(): unmap_mapping_range() on the device, then __free_page()), then
 * another write to ADDR.
 * - buggy (4.14.291): nothing was flushed yet; unmap_mapping_range() found an empty i_mmap; the
 *   frame is freed and CPU 1 writes it through its TLB entry. Linux prints nothing; the
 *   frame-lifetime check reports the write (the fuzzer's outcome oracle reports the free itself).
 * - fixed (4.14.292): unmap_region() flushed the range on both CPUs before free_pgtables(); the
 *   write misses the TLB, faults, waits for mmap_sem until munmap() returns and gets SIGSEGV.
 */
import type { Kernel } from '../linux/kernel.js';
import { LBL_FREE_PGTABLES } from '../linux/memory.js';
import { vm_munmap } from '../linux/mmap.js';
import { PfnmapDevice, pfnmap_dev_free_buffer, pfnmap_dev_mmap } from '../linux/pfnmap.js';
import { down_write, up_write } from '../linux/rwsem.js';
import { VM_EXEC, VM_READ, VM_WRITE, type TaskStruct } from '../linux/structs.js';
import { spawnProcess, user_access } from '../linux/user.js';
import { watchFrameLifetime } from '../linux/pt_sanitizers.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import { registerScenario, type Scenario } from './registry.js';
import { stepOnCpu1 } from './rules.js';

const CODE = 0x0040_0000n;
const ADDR = 0x1000_0000n;

function setupPfnmap(k: Kernel) {
  // The frame-lifetime check of every access (the fuzzer's outcome oracle uses the same one); the
  // write through the stale entry is the report, not the driver's free before it.
  watchFrameLifetime(k, { atFree: false });
  const dev = new PfnmapDevice('pfnmap0', 1);
  const st = { user: null as TaskStruct | null, unmapper: null as TaskStruct | null, wrote: false };
  st.unmapper = spawnProcess(k, {
    comm: 'unmapper',
    cpu: 0,
    vmas: [{ vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC }],
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      const mm = t.mm!;
      // mmap(ADDR, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0)
      yield* down_write(k, cpu, mm.mmap_sem);
      yield* pfnmap_dev_mmap(k, cpu, mm, dev, ADDR, 1, VM_READ | VM_WRITE);
      up_write(mm.mmap_sem, cpu.curr);
      st.user!.state = 'runnable'; // pthread_create() of the user, which writes the page
      while (!st.wrote) yield* user_access(cpu, CODE, 'exec');
      yield* vm_munmap(k, cpu, mm, ADDR, 4096n);
    },
  });
  const mm = st.unmapper.mm!;
  mm.mm_users++;
  mm.mm_count++;
  const cpu0 = () => k.cpus[0];
  const stopped = () => cpu0().curr === st.unmapper && cpu0().label() === LBL_FREE_PGTABLES;
  st.user = k.createTask('user', 1, mm, function* (t) {
    const cpu = k.cpus[t.cpu];
    yield* user_access(cpu, ADDR, 'write');
    st.wrote = true;
    while (!stopped() && st.unmapper!.state !== 'dead') yield* user_access(cpu, CODE, 'exec');
    yield* pfnmap_dev_free_buffer(k, cpu, dev); // ioctl(fd, <release the buffer>)
    yield* user_access(cpu, ADDR, 'write');
  });
  st.user.state = 'blocked';
  // Once the unmapper stopped inside free_pgtables(), run the user until it is done or waits.
  const rule = () => {
    const u = st.user!;
    if (!stopped()) return undefined;
    return stepOnCpu1(k, u);
  };
  return { strategy: new ScriptedStrategy([rule]), maxSteps: 50_000 };
}

export const scenarioPfnmap: Scenario = {
  name: 'cve-2022-39188-pfnmap-munmap',
  seed: 'CVE-2022-39188',
  description:
    "Linux (CVE-2022-39188): a thread munmap()s a driver's VM_PFNMAP mapping (remap_pfn_range()) while another thread, whose CPU cached it, has the driver release its buffer. Before the fix munmap() unlinks the vma from the device's i_mmap before it flushes the TLB: the driver's unmap_mapping_range() finds no vma, the driver frees the frame, and the other CPU writes the freed page through its stale TLB entry (use-after-free; Linux prints nothing). After the fix the flush comes before the unlink: the write faults and gets SIGSEGV.",
  presets: { buggy: 'linux-4.14.291-smp', fixed: 'linux-4.14.292-smp' },
  setup: setupPfnmap,
};

registerScenario(scenarioPfnmap);
