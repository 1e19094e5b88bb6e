/**
 * Xen's type references of the page tables in use (XenHypervisor.auditHolders): after a pin, an
 * unpin or a new base pointer, each table held by a pin or a vCPU's base pointer holds at least one
 * type reference per holder. A Xen whose new_guest_cr3() drops the new base's reference instead of
 * the old one's is reported at the next such op; so is a refused pin that leaves the frame marked
 * pinned without the pin's reference (checked after refused ops too); the real Xen is quiet.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/core/machine.js';
import { Coverage } from '../src/fuzz/coverage.js';
import { parseProgram } from '../src/fuzz/program.js';
import { createTarget } from '../src/fuzz/targets.js';
import { MMUEXT_PIN_L1_TABLE, type MmuextOp } from '../src/xen/hypercalls.js';
import { XenHypervisor } from '../src/xen/hypervisor.js';
import '../src/presets/xen.js';

beforeAll(async () => {
  await Machine.ready();
});

const real = XenHypervisor.prototype.new_guest_cr3;
afterEach(() => {
  XenHypervisor.prototype.new_guest_cr3 = real;
});

/** A one-CPU program: `boot`'s operations in a process started at boot, then `forked`'s in its child. */
const oneCpu = (boot: unknown[], forked?: unknown[]) =>
  parseProgram(
    {
      cpus: 1,
      irqs: [],
      tasks: [{ cpu: 0, kthread: false, spawn: 'boot', ops: boot }, ...(forked ? [{ cpu: 0, kthread: false, spawn: 'fork', ops: forked }] : [])],
    },
    'program',
    1,
  );

/** Two processes on one CPU (a fork, writes in both): every switch loads a new base pointer. */
const PROGRAM = oneCpu(
  [
    { op: 'mmap', slot: 0, pages: 1, prot: 'rw', populate: false },
    { op: 'uaccess', slot: 0, page: 0, kind: 'write' },
    { op: 'fork', task: 1 },
    { op: 'schedule' },
    { op: 'uaccess', slot: 0, page: 0, kind: 'write' },
  ],
  [{ op: 'uaccess', slot: 0, page: 0, kind: 'write' }, { op: 'schedule' }],
);

const run = async () => (await createTarget('linux-4.14-xen-pv', {})).run({ program: PROGRAM, schedule: { strategy: 'random', seed: 1 } }, new Coverage());

describe("Xen's type references of the tables in use", () => {
  it('a new base pointer whose type reference is dropped (the new one put instead of the old) is reported', async () => {
    XenHypervisor.prototype.new_guest_cr3 = function (this: XenHypervisor, vcpu: number, mfn: number): boolean {
      const ok = real.call(this, vcpu, mfn);
      if (ok) this.mm.put_page_and_type(mfn); // the planted bug
      return ok;
    };
    const r = await run();
    expect(r.finding?.sanitizer).toBe('xen-pv-escalation');
    expect(r.finding?.signature).toBe('page-table-type-references-undercounted');
    // reported at the first pin, unpin or base switch after the loss (a base held by its pin and two vCPUs)
    const log = r.finding!.log.join('\n');
    expect(log).toMatch(/MMUEXT_(NEW_BASEPTR|PIN_L\d_TABLE|UNPIN_TABLE) mfn [0-9a-f]+ \(vCPU \d\) done/);
    expect(log).toMatch(/a page table in use \(mfn [0-9a-f]+\) that can lose its type while held: 3 holder\(s\), 1 type reference\(s\)/);
    expect(log).toMatch(/l4 validated pinned type_count=1/);
  });

  it('the real Xen is quiet', async () => {
    const r = await run();
    expect(r.finding).toBeUndefined();
    expect(r.status).toBe('finished');
  });
});

/** A hostile guest pins as an L1 table a frame it made writable in its direct map: Xen must refuse ("Bad type"). */
const BAD_PIN = oneCpu([
  { op: 'gpt_alloc', pt: 0, level: 1 },
  { op: 'gpt_lowmem', pt: 0, writable: true },
  { op: 'gpt_pin', pt: 0 },
]);

describe("Xen's type references after a refused op", () => {
  type OneOp = (this: XenHypervisor, vcpu: number, op: MmuextOp) => number;
  const proto = XenHypervisor.prototype as unknown as { one_mmuext_op: OneOp };
  const realOne = proto.one_mmuext_op;
  afterEach(() => {
    proto.one_mmuext_op = realOne;
  });
  const runBadPin = async () =>
    (await createTarget('linux-4.14-xen-pv', {})).run({ program: BAD_PIN, schedule: { strategy: 'random', seed: 1 } }, new Coverage());

  it('a refused pin that leaves the frame marked pinned (no type reference taken) is reported at the refusal', async () => {
    proto.one_mmuext_op = function (this: XenHypervisor, vcpu: number, op: MmuextOp): number {
      const rc = realOne.call(this, vcpu, op);
      if (rc !== 0 && op.cmd === MMUEXT_PIN_L1_TABLE && op.mfn !== undefined) this.mm.test_and_set_pinned(op.mfn); // the planted bug
      return rc;
    };
    const r = await runBadPin();
    expect(r.finding?.sanitizer).toBe('xen-pv-escalation');
    expect(r.finding?.signature).toBe('page-table-holder-not-a-table');
    expect(r.finding!.log.join('\n')).toMatch(/a frame held as a page table \(mfn [0-9a-f]+, 1 holder\(s\)\) typed writable/);
    expect(r.finding!.log.join('\n')).toMatch(/MMUEXT_PIN_L1_TABLE mfn [0-9a-f]+/);
  });

  it('the real Xen refuses the pin and is quiet', async () => {
    const r = await runBadPin();
    expect(r.finding).toBeUndefined();
    expect(r.status).toBe('finished');
  });
});
