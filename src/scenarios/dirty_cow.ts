/**
 * CVE-2016-5195, Dirty COW (docs/historical-bugs.md): a FOLL_FORCE write through /proc/self/mem to
 * a read-only private file mapping, racing madvise(MADV_DONTNEED), writes the file's page-cache
 * page. Fixed by 19be0eaffa3a "mm: remove gup_flags FOLL_WRITE games from __get_user_pages()"
 * (4.8.3).
 *
 * SMP, one process with two threads and a one-page file mapped PROT_READ, MAP_PRIVATE at ADDR.
 * Thread "dirtycow" (CPU 0) reads ADDR (the page-cache page is mapped read-only), then writes 8
 * bytes at ADDR through /proc/self/mem (mem_write(): __get_user_pages() with FOLL_FORCE |
 * FOLL_WRITE). Its first lookup refuses the read-only pte; faultin_page() breaks COW
 * (do_wp_page() copies the page into an anonymous page, mapped read-only and dirty) and returns
 * VM_FAULT_WRITE. The forced schedule stops the writer at its next `retry:` (cond_resched()) and
 * runs thread "madviser" (CPU 1): madvise(ADDR, 4096, MADV_DONTNEED) zaps the copy.
 * - buggy (4.8.2): faultin_page() had dropped FOLL_WRITE; the retry is a read lookup, faults the
 *   page-cache page back in read-only and returns it; the write lands in the file. Linux prints
 *   nothing; the model's COW check (check_cow_write(), gup_slow.ts) reports the page.
 * - fixed (4.8.3): FOLL_COW; the retry is still a write lookup, faults (do_cow_fault(): a new
 *   anonymous copy) and writes the copy; the file is unchanged.
 */
import type { Kernel } from '../linux/kernel.js';
import { check_cow_write, mem_write } from '../linux/gup_slow.js';
import { sys_madvise_dontneed } from '../linux/madvise.js';
import { mmap_region_file } from '../linux/mmap.js';
import { down_write, up_write } from '../linux/rwsem.js';
import { LBL_COND_RESCHED } from '../linux/sched.js';
import { LinuxFile, VM_EXEC, VM_READ, type TaskStruct } from '../linux/structs.js';
import { spawnProcess, user_access } from '../linux/user.js';
import { ScriptedStrategy } from '../scheduler/strategy.js';
import { registerScenario, type Scenario } from './registry.js';
import { stepOnCpu1 } from './rules.js';

const CODE = 0x0040_0000n;
const ADDR = 0x1000_0000n;
/** What the process writes: "AAAAAAAA". */
export const DIRTY_COW_VALUE = 0x4141_4141_4141_4141n;

function setupDirtyCow(k: Kernel) {
  const file = new LinuxFile('ro', 4096n);
  const st = { writer: null as TaskStruct | null, madviser: null as TaskStruct | null, go: false, arrivals: 0, atRetry: false };
  st.writer = spawnProcess(k, {
    comm: 'dirtycow',
    cpu: 0,
    vmas: [{ vm_start: CODE, vm_end: CODE + 0x10000n, vm_flags: VM_READ | VM_EXEC }],
    body: function* (t) {
      const cpu = k.cpus[t.cpu];
      const mm = t.mm!;
      // mmap(ADDR, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) of a file opened O_RDONLY
      yield* down_write(k, cpu, mm.mmap_sem);
      yield* mmap_region_file(k, cpu, mm, file, ADDR, 4096n, VM_READ, 0, false);
      up_write(mm.mmap_sem, cpu.curr);
      yield* user_access(cpu, ADDR, 'read');
      st.madviser!.state = 'runnable'; // pthread_create()
      // lseek(/proc/self/mem, ADDR) + write("AAAAAAAA")
      yield* mem_write(k, cpu, mm, ADDR, DIRTY_COW_VALUE, (c, a, page, vma) => check_cow_write(k, c, a, page, vma));
    },
  });
  const mm = st.writer.mm!;
  mm.mm_users++;
  mm.mm_count++;
  st.madviser = k.createTask('madviser', 1, mm, function* (t) {
    const cpu = k.cpus[t.cpu];
    while (!st.go && st.writer!.state !== 'dead') yield* user_access(cpu, CODE, 'exec');
    yield* sys_madvise_dontneed(k, cpu, mm, ADDR, 4096n);
  });
  st.madviser.state = 'blocked';
  const cpu0 = () => k.cpus[0];
  // The writer's second arrival at `retry:` (after the fault that broke COW): run the madviser.
  const rule = () => {
    const at = cpu0().curr === st.writer && cpu0().label() === LBL_COND_RESCHED && cpu0().thread().fnStack.includes('__get_user_pages');
    if (at && !st.atRetry) st.arrivals++;
    st.atRetry = at;
    if (!at || st.arrivals !== 2) return undefined;
    st.go = true;
    const m = st.madviser!;
    return stepOnCpu1(k, m);
  };
  return { strategy: new ScriptedStrategy([rule]), maxSteps: 50_000 };
}

export const scenarioDirtyCow: Scenario = {
  name: 'cve-2016-5195-dirty-cow',
  seed: 'CVE-2016-5195',
  description:
    "Linux (CVE-2016-5195, Dirty COW): a thread writes through /proc/self/mem (get_user_pages() with FOLL_FORCE) to a read-only MAP_PRIVATE file mapping while another thread calls madvise(MADV_DONTNEED) on it. Before the fix faultin_page() drops FOLL_WRITE once a fault broke COW; the madvise zaps the copy, the retried lookup is a read that faults the file's page-cache page back in, and the write lands in the file (Linux prints nothing). After the fix (FOLL_COW) the retry faults a new copy and writes that.",
  presets: { buggy: 'linux-4.8.2-smp', fixed: 'linux-4.8.3-smp' },
  setup: setupDirtyCow,
};

registerScenario(scenarioDirtyCow);
