/**
 * In-place snapshots of a JavaScript object graph: `GraphSnapshot.capture(root)` records, for every
 * object reachable from `root` through properties and collection elements, what it holds (own
 * enumerable properties, array elements, Map entries, Set members, typed-array contents);
 * `restore()` puts those back into the same objects (and deletes keys added since to plain objects;
 * class instances keep the fields their class declares). Object identities stay, so references held
 * by closures and by objects outside the graph stay valid; objects created after the capture are
 * dropped by the restore simply by being no longer referenced.
 *
 * Not restorable, hence refused at capture with the path where they were found: generators
 * (unless `allowGenerator` accepts them; the owner re-creates them after a restore), promises,
 * weak collections. Functions are kept as references and not entered: state a closure captures
 * in its own variables is invisible here (model state belongs in objects, e.g. kernel state
 * registered with `defineKernelState`). Frozen objects are entered but not recorded.
 */

/** Options of `GraphSnapshot.capture`. */
export interface CaptureOptions {
  /** Objects neither recorded nor entered (their owner restores them another way). */
  skip?: ReadonlySet<object>;
  /** Typed arrays and DataViews over this buffer are skipped (e.g. WASM linear memory). */
  skipBuffer?: ArrayBufferLike;
  /** Accepts a generator found in the graph (its owner re-creates it after a restore). */
  allowGenerator?: (g: Generator) => boolean;
}

/** A plain object (object literal): its keys may change, so a restore deletes added ones. */
const OBJ = 0;
const ARR = 1;
const MAP = 2;
const SET = 3;
const TYPED = 4;
/**
 * A class instance: every declared field exists from its construction (ES2022 class fields), so a
 * restore only puts values back (a property added outside the class's declaration would stay).
 */
const INST = 5;

type TypedArray = Uint8Array | Int32Array | Uint32Array | Float64Array | BigUint64Array | BigInt64Array | Uint16Array | Int16Array | Int8Array | Float32Array;

const GeneratorProto = Object.getPrototypeOf(function* () {}.prototype) as object;

function isGenerator(o: object): o is Generator {
  let p = Object.getPrototypeOf(o) as object | null;
  while (p !== null) {
    if (p === GeneratorProto) return true;
    p = Object.getPrototypeOf(p) as object | null;
  }
  return false;
}

export class GraphSnapshot {
  /** Recorded objects, their kinds, and what each held (keys and values, or elements). */
  private readonly objs: object[] = [];
  private readonly kinds: number[] = [];
  private readonly keys: (string[] | null)[] = [];
  private readonly vals: unknown[][] = [];
  private readonly typed: (TypedArray | null)[] = [];

  private constructor() {}

  /** Number of objects recorded. */
  get size(): number {
    return this.objs.length;
  }

  /** Records every object reachable from `root`. */
  static capture(root: object, opts: CaptureOptions = {}): GraphSnapshot {
    const snap = new GraphSnapshot();
    const seen = new Set<object>();
    const queue: object[] = [root];
    const paths: string[] = ['root'];
    const visit = (v: unknown, path: string): void => {
      if ((typeof v !== 'object' && typeof v !== 'function') || v === null) return;
      if (typeof v === 'function' || seen.has(v) || opts.skip?.has(v)) return;
      seen.add(v);
      queue.push(v);
      paths.push(path);
    };
    seen.add(root);
    for (let qi = 0; qi < queue.length; qi++) {
      const o = queue[qi];
      const path = paths[qi];
      if (ArrayBuffer.isView(o)) {
        if (o.buffer === opts.skipBuffer) continue;
        if (o instanceof DataView) throw new Error(`graph snapshot: a DataView at ${path} (not restorable)`);
        snap.push(o, TYPED, null, [], (o as TypedArray).slice());
        continue;
      }
      if (o instanceof ArrayBuffer) throw new Error(`graph snapshot: an ArrayBuffer at ${path} (not restorable)`);
      if (isGenerator(o)) {
        if (opts.allowGenerator?.(o)) continue;
        throw new Error(`graph snapshot: a generator at ${path} (not restorable; re-create it after a restore and allow it)`);
      }
      if (o instanceof Promise || o instanceof WeakMap || o instanceof WeakSet || o instanceof WeakRef)
        throw new Error(`graph snapshot: a ${o.constructor.name} at ${path} (not restorable)`);
      if (Array.isArray(o)) {
        const items = o.slice();
        if (!Object.isFrozen(o)) snap.push(o, ARR, null, items, null);
        for (let i = 0; i < items.length; i++) visit(items[i], `${path}[${i}]`);
        continue;
      }
      if (o instanceof Map) {
        const flat: unknown[] = [];
        for (const [k, v] of o) flat.push(k, v);
        snap.push(o, MAP, null, flat, null);
        for (let i = 0; i < flat.length; i += 2) {
          visit(flat[i], `${path}.key(${i / 2})`);
          visit(flat[i + 1], `${path}.get(${typeof flat[i] === 'string' || typeof flat[i] === 'number' ? String(flat[i]) : i / 2})`);
        }
        continue;
      }
      if (o instanceof Set) {
        const items = [...o];
        snap.push(o, SET, null, items, null);
        for (let i = 0; i < items.length; i++) visit(items[i], `${path}.member(${i})`);
        continue;
      }
      const rec = o as Record<string, unknown>;
      const keys = Object.keys(rec);
      const values = keys.map((k) => rec[k]);
      const proto = Object.getPrototypeOf(o) as object | null;
      if (!Object.isFrozen(o)) snap.push(o, proto === Object.prototype || proto === null ? OBJ : INST, keys, values, null);
      for (let i = 0; i < keys.length; i++) visit(values[i], `${path}.${keys[i]}`);
    }
    return snap;
  }

  private push(o: object, kind: number, keys: string[] | null, vals: unknown[], typed: TypedArray | null): void {
    this.objs.push(o);
    this.kinds.push(kind);
    this.keys.push(keys);
    this.vals.push(vals);
    this.typed.push(typed);
  }

  /** Puts back what every recorded object held at the capture. */
  restore(): void {
    const { objs, kinds, keys, vals, typed } = this;
    for (let i = 0; i < objs.length; i++) {
      const v = vals[i];
      switch (kinds[i]) {
        case INST: {
          const o = objs[i] as Record<string, unknown>;
          const ks = keys[i]!;
          for (let j = 0; j < ks.length; j++) o[ks[j]] = v[j];
          break;
        }
        case OBJ: {
          const o = objs[i] as Record<string, unknown>;
          const ks = keys[i]!;
          for (let j = 0; j < ks.length; j++) o[ks[j]] = v[j];
          let n = 0;
          for (const _ in o) n++; // a plain object: its prototype (Object.prototype or null) adds no enumerable key
          if (n !== ks.length) for (const k of Object.keys(o)) if (!ks.includes(k)) delete o[k];
          break;
        }
        case ARR: {
          const a = objs[i] as unknown[];
          a.length = v.length;
          for (let j = 0; j < v.length; j++) a[j] = v[j];
          break;
        }
        case MAP: {
          const m = objs[i] as Map<unknown, unknown>;
          m.clear();
          for (let j = 0; j < v.length; j += 2) m.set(v[j], v[j + 1]);
          break;
        }
        case SET: {
          const s = objs[i] as Set<unknown>;
          s.clear();
          for (let j = 0; j < v.length; j++) s.add(v[j]);
          break;
        }
        default:
          (objs[i] as TypedArray).set(typed[i]! as never);
      }
    }
  }
}
