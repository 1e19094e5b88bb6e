/**
 * Read-write semaphores (kernel/rwsem.c, lib/rwsem.c in 3.x): the model's mm->mmap_sem. Many
 * readers or one writer; a task that cannot take it sleeps (`rwsem_down_read_failed()` /
 * `rwsem_down_write_failed()` put it on the wait list and schedule()), and the release wakes the
 * waiters, which then retry. Holders are tasks; a task never sleeps on a semaphore it holds.
 */
import type { KGen } from '../scheduler/types.js';
import type { Kernel } from './kernel.js';
import type { LinuxCpu } from './percpu.js';
import { schedule_blocked, wake_up_process } from './sched.js';
import type { RwSemaphore, TaskStruct } from './structs.js';
import { enterFn } from '../scheduler/traced.js';

/** down_read_trylock(): true when taken (no writer holds it). */
export function down_read_trylock(sem: RwSemaphore, task: TaskStruct): boolean {
  if (sem.writer) return false;
  sem.readers.set(task, (sem.readers.get(task) ?? 0) + 1);
  return true;
}

/** down_write_trylock(): true when taken (nobody holds it). */
export function down_write_trylock(sem: RwSemaphore, task: TaskStruct): boolean {
  if (sem.writer || sem.readers.size > 0) return false;
  sem.writer = task;
  return true;
}

/** down_read(): sleeps while a writer holds the semaphore. */
export function* down_read(k: Kernel, cpu: LinuxCpu, sem: RwSemaphore): KGen<void> {
  while (!down_read_trylock(sem, cpu.curr)) yield* rwsem_sleep(k, cpu, sem, 'rwsem_down_read_failed');
}

/** down_write(): sleeps while anyone holds the semaphore. */
export function* down_write(k: Kernel, cpu: LinuxCpu, sem: RwSemaphore): KGen<void> {
  while (!down_write_trylock(sem, cpu.curr)) yield* rwsem_sleep(k, cpu, sem, 'rwsem_down_write_failed');
}

/** up_read(): drops `task`'s read hold and wakes the waiters. */
export function up_read(sem: RwSemaphore, task: TaskStruct): void {
  const n = sem.readers.get(task);
  if (!n) throw new Error(`up_read(${sem.name}) by ${task.comm}, which does not hold it`);
  if (n > 1) sem.readers.set(task, n - 1);
  else sem.readers.delete(task);
  if (sem.readers.size === 0) rwsem_wake(sem);
}

/** up_write(): drops the write hold and wakes the waiters. */
export function up_write(sem: RwSemaphore, task: TaskStruct): void {
  if (sem.writer !== task) throw new Error(`up_write(${sem.name}) by ${task.comm}, which does not hold it`);
  sem.writer = null;
  rwsem_wake(sem);
}

function* rwsem_sleep(k: Kernel, cpu: LinuxCpu, sem: RwSemaphore, fn: string): KGen<void> {
  const fns = enterFn(cpu.curr, fn);
  try {
    sem.waiters.push(cpu.curr); // queued and marked blocked with no interleaving point between: no lost wake-up
    yield* schedule_blocked(k, cpu);
  } finally {
    fns.pop();
  }
}

/** __rwsem_do_wake(): every waiter retries (the model does not hand the lock over). */
function rwsem_wake(sem: RwSemaphore): void {
  for (const t of sem.waiters.splice(0)) wake_up_process(t);
}
