// docs/core-api.md is true: every function, method and `m.` property it names exists in the public
// API (src/index.ts) on the object its section documents, and PageTables.lookup behaves as written.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

const doc = readFileSync(new URL('../docs/core-api.md', import.meta.url), 'utf8');

/** The names each `## Section` of the doc calls (name followed by `(`) or reads as `m.name`. */
function namesBySection(): Map<string, { calls: Set<string>; props: Set<string> }> {
  const out = new Map<string, { calls: Set<string>; props: Set<string> }>();
  let cur: { calls: Set<string>; props: Set<string> } | undefined;
  for (const line of doc.split('\n')) {
    const h = /^## (\w+)/.exec(line);
    if (h) out.set(h[1], (cur = { calls: new Set(), props: new Set() }));
    if (!cur) continue;
    for (const [, span] of line.matchAll(/`([^`]+)`/g)) {
      for (const [, owner, name] of span.matchAll(/(?:^|[^\w.])(?:(\w+)\.)?([A-Za-z_]\w*)\(/g)) cur.calls.add(owner ? `${owner}.${name}` : name);
      const prop = /^m\.(\w+)(?::|$)/.exec(span);
      if (prop) cur.props.add(prop[1]);
    }
  }
  return out;
}

describe('docs/core-api.md', () => {
  it('names only functions and properties that exist', async () => {
    const m = await api.Machine.create({ ramBytes: 1 << 20 });
    const cpu = m.cpus[0];
    const owners: Record<string, object[]> = {
      Machine: [m],
      PhysMem: [m.phys],
      FrameTable: [m.frames],
      PageTables: [m.pageTables],
      // `step()` is the method of the object walkStepper() returns.
      Cpu: [cpu, cpu.walkStepper(0n, { kind: 'read', cpl: 0 })],
    };
    const qualified: Record<string, object> = { Machine: api.Machine, m, cpu };
    const sections = namesBySection();
    expect([...sections.keys()]).toEqual(Object.keys(owners));
    const missing: string[] = [];
    let checked = 0;
    for (const [section, { calls, props }] of sections) {
      for (const name of calls) {
        const dot = name.indexOf('.');
        const objs = dot > 0 ? [qualified[name.slice(0, dot)]] : owners[section];
        const member = name.slice(dot + 1);
        checked++;
        if (!objs.some((o) => o !== undefined && typeof (o as Record<string, unknown>)[member] === 'function')) missing.push(`${section}: ${name}()`);
      }
      for (const p of props) {
        checked++;
        if (!(p in m)) missing.push(`${section}: m.${p}`);
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });

  it('PageTables.lookup(mode, root, va) returns the leaf entry, or null where the walk stops', async () => {
    const m = await api.Machine.create({ ramBytes: 4 << 20 });
    const pt = m.pageTables;
    for (const mode of ['32bit', 'pae', '4level', '5level'] as const) {
      const root = pt.newRoot(mode);
      pt.map(mode, root, 0x40_0000n, 0x10_0000n, 0x2000, { flags: 0x7n });
      const leaf = pt.lookup(mode, root, 0x40_1234n);
      expect(leaf).toMatchObject({ level: 1, value: 0x10_1007n });
      expect(m.phys.read32(leaf!.entryAddress)).toBe(0x10_1007);
      expect(pt.lookup(mode, root, 0x40_2000n)).toBeNull(); // the next PTE is not present
      expect(pt.lookup(mode, root, 0x8000_0000n)).toBeNull(); // no table on the way
    }
    const root = m.pageTables.newRoot('4level');
    pt.map('4level', root, 0x20_0000n, 0x20_0000n, 0x20_0000, { pageSize: '2m', flags: 0x3n });
    expect(pt.lookup('4level', root, 0x3f_fff8n)).toMatchObject({ level: 2, value: 0x20_0083n });
  });
});
