/**
 * `pagewalk cost --calibrate` (src/cost/calibrate.ts): the pointer chase runs and is printed
 * beside the model. Small footprints and few loads keep it quick; the native runner is skipped,
 * saying why, where there is no C compiler.
 */
import { describe, expect, it } from 'vitest';
import { calibrate, calibrationSvg, findCompiler, formatCalibration } from '../src/cost/calibrate.js';

const cc = findCompiler();

describe('calibration', () => {
  it('the WebAssembly pointer chase times every footprint and the model prices the same chase', async () => {
    const c = await calibrate({ footprints: [64 * 1024, 4 * 2 ** 20], loads: 50_000, core: 'skylake', ghz: 3, runner: 'wasm' });
    expect(c.runner).toBe('wasm');
    expect(c.points.map((p) => [p.footprint, p.pages])).toEqual([
      [65536, '4k'],
      [4194304, '4k'],
    ]);
    for (const p of c.points) {
      expect(p.measuredNs).toBeGreaterThan(0);
      expect(p.modelNs).toBeCloseTo((p.modelTranslation + p.modelData) / 3, 10);
    }
    // 64 KiB fits the L1 DTLB and L2: no translation cost; 4 MiB pays the STLB on most loads.
    expect(c.points[0].modelTranslation).toBe(0);
    expect(c.points[1].modelTranslation).toBeGreaterThan(7);
    const text = formatCalibration(c);
    expect(text).toMatch(/measured with WebAssembly; model: preset skylake, 3\.00 GHz \(--ghz\)/);
    expect(text).toMatch(/\n\s+4M\s+4k\s+[\d.]+\s+[\d.]+/);
    expect(calibrationSvg(c).match(/<polyline /g)).toHaveLength(2);
  });

  it.skipIf(!cc)(`the native C pointer chase (${cc ?? 'skipped: no C compiler (cc, gcc, clang) on this machine'}) gives 4 KiB and 2 MiB rows`, async () => {
    const c = await calibrate({ footprints: [64 * 1024, 2 ** 21], loads: 50_000, core: 'zen2', ghz: 3 });
    expect(c.runner).toBe('native');
    expect(c.how).toMatch(/^C, .* -O2$/);
    expect(c.points.map((p) => p.pages)).toEqual(['4k', '2m', '4k', '2m']);
    for (const p of c.points) expect(p.measuredNs).toBeGreaterThan(0.1);
  });
});
