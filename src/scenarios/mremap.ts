/**
 * CVE-2018-18281 (docs/historical-bugs.md): mremap() drops the page-table lock of a moved pte
 * before it flushes the TLB of the old address; a concurrent ftruncate() frees the page meanwhile.
 * Fixed by "mremap: properly flush TLB before releasing the page" (eb66ae030829, 4.19-rc8; 4.14.78).
 *
 * SMP, one process with two threads sharing a MAP_SHARED, read-only mapping of a one-page
 * in-memory file at OLD. Thread "reader" on CPU 1 reads OLD (the fault maps the page-cache page
 * read-only and clean; CPU 1's TLB caches it). Thread "mover" on CPU 0 calls mremap(OLD, 4096,
 * 4096, MREMAP_MAYMOVE|MREMAP_FIXED, NEW). The forced schedule stops the mover right after
 * move_ptes() dropped the pte lock and runs the reader: ftruncate(fd, 0) (unmap_mapping_range()
 * finds the new vma in the file's i_mmap, zaps the pte at NEW, flushes NEW and frees the page),
 * then another read of OLD.
 * - buggy ('deferred'): the clean pte was not flushed before the lock was dropped: CPU 1 still
 *   translates OLD to the freed frame and reads it. Linux prints nothing; the frame-lifetime
 *   check (the fuzzer's outcome oracle of the same name does the same) reports the read.
 * - fixed ('under-ptl'): move_ptes() flushed OLD on every CPU before dropping the lock; the read
 *   of OLD faults, waits for mmap_sem until mremap() returns, and gets SIGSEGV (OLD is unmapped).
 *
 * The frame-lifetime check is the one the fuzzer's outcome oracle uses (src/linux/pt_sanitizers.ts:
 * the model has no KASAN for user pages), here without its judgement of frees, so that the report
 * is the read through the stale entry.
 */
import type { Kernel } from '../linux/kernel.js';
import { LBL_MOVE_PTES, MREMAP_FIXED, MREMAP_MAYMOVE, sys_mremap } from '../linux/mremap.js';
import { mmap_region_file } from '../linux/mmap.js';
import { watchFrameLifetime } from '../linux/pt_sanitizers.js';
import { LinuxFile, VM_EXEC, VM_READ, type TaskStruct } from '../linux/structs.js';
import { do_sys_ftruncate } from '../linux/truncate.js';
import { spawnProcess, user_access } from '../linux/user.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import { registerScenario, type Scenario } from './registry.js';
import { stepOnCpu1 } from './rules.js';

const CODE = 0x0040_0000n;
const OLD = 0x1000_0000n;
const NEW = 0x1020_0000n;

function setupMremap(k: Kernel) {
  // The frame-lifetime check of every access (the fuzzer's outcome oracle uses the same one); the
  // read through the stale entry is the report, not the truncation's free before it.
  watchFrameLifetime(k, { atFree: false });
  const file = new LinuxFile('data', 4096n);
  const st = { reader: null as TaskStruct | null, mover: null as TaskStruct | null, faulted: false };
  st.mover = spawnProcess(k, {
    comm: 'mover',
    cpu: 0,
    vmas: [{ vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC }],
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      const mm = t.mm!;
      yield* mmap_region_file(k, cpu, mm, file, OLD, 4096n, VM_READ, 0); // mmap(OLD, 4096, PROT_READ, MAP_SHARED|MAP_FIXED, fd, 0)
      st.reader!.state = 'runnable'; // pthread_create() of the reader, which reads the page
      while (!st.faulted) yield* user_access(cpu, CODE, 'exec');
      yield* sys_mremap(k, cpu, mm, OLD, 4096n, 4096n, MREMAP_MAYMOVE | MREMAP_FIXED, NEW);
    },
  });
  const mm = st.mover.mm!;
  mm.mm_users++;
  mm.mm_count++;
  st.reader = k.createTask('reader', 1, mm, function* (t) {
    const cpu = k.cpus[t.cpu];
    yield* user_access(cpu, OLD, 'read');
    st.faulted = true;
    while (cpu0().label() !== LBL_MOVE_PTES && st.mover!.state !== 'dead') yield* user_access(cpu, CODE, 'exec');
    yield* do_sys_ftruncate(k, cpu, file, 0n);
    yield* user_access(cpu, OLD, 'read');
  });
  st.reader.state = 'blocked';
  const cpu0 = () => k.cpus[0];
  // Once the mover stopped after move_ptes(), run the reader until it is done or waits.
  const rule = () => {
    const r = st.reader!;
    if (cpu0().curr !== st.mover || cpu0().label() !== LBL_MOVE_PTES) return undefined;
    return stepOnCpu1(k, r);
  };
  return { strategy: new ScriptedStrategy([rule]), maxSteps: 50_000 };
}

export const scenarioMremap: Scenario = {
  name: 'cve-2018-18281-mremap-truncate',
  seed: 'CVE-2018-18281',
  description:
    'Linux (CVE-2018-18281): a thread mremap()s a read-only MAP_SHARED file mapping while another thread, whose CPU cached the old address, ftruncate()s the file. Before the fix move_ptes() drops the pte lock before the TLB of a clean moved pte is flushed: the truncation zaps the pte at the new address, flushes only that address and frees the page, and the other CPU reads the freed page through its stale TLB entry of the old address (use-after-free; Linux prints nothing). After the fix the flush comes first: the read faults and gets SIGSEGV.',
  presets: { buggy: 'linux-4.14.77-smp', fixed: 'linux-4.14.78-smp' },
  setup: setupMremap,
};

registerScenario(scenarioMremap);
