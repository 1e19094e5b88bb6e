import { describe, expect, it } from 'vitest';
import { DONE, point, setPointSink } from '../src/scheduler/point.js';
import type { KGen } from '../src/scheduler/types.js';

/** Drives `g` to its end, collecting its yields and its result. */
function drive<T>(g: KGen<T>): { labels: string[]; value: T } {
  const labels: string[] = [];
  for (;;) {
    const r = g.next();
    if (r.done) return { labels, value: r.value };
    labels.push(r.value);
  }
}

describe('plain model functions: DONE and point()', () => {
  it('yield* DONE yields nothing and gives undefined, however often it is delegated to', () => {
    function* caller(): KGen<number> {
      yield* DONE;
      yield 'between';
      const v: unknown = yield* DONE;
      return v === undefined ? 7 : -1;
    }
    expect(drive(caller())).toEqual({ labels: ['between'], value: 7 });
    expect(drive(caller())).toEqual({ labels: ['between'], value: 7 });
  });

  it('point() yields its label when the thread must yield (no scheduler stepping: always), and nothing when the sink runs the thread on', () => {
    function* caller(): KGen<void> {
      yield* point('a');
      yield* point('b');
    }
    expect(drive(caller()).labels).toEqual(['a', 'b']);
    const seen: string[] = [];
    const prev = setPointSink({ point: (l) => (seen.push(l), l === 'b') });
    try {
      expect(drive(caller()).labels).toEqual(['b']);
    } finally {
      setPointSink(prev);
    }
    expect(seen).toEqual(['a', 'b']);
  });
});
