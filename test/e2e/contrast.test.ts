import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contrastRatio, effectiveBackground, parseColor } from './contrast.js';

describe('WCAG contrast of computed colours', () => {
  it('reads rgb(), rgba() and hex colours', () => {
    assert.deepEqual(parseColor('rgb(31, 31, 31)'), { r: 31, g: 31, b: 31, a: 1 });
    assert.deepEqual(parseColor('rgba(255, 0, 0, 0.5)'), { r: 255, g: 0, b: 0, a: 0.5 });
    assert.deepEqual(parseColor('#fff'), { r: 255, g: 255, b: 255, a: 1 });
    assert.deepEqual(parseColor('#00000080'), { r: 0, g: 0, b: 0, a: 128 / 255 });
    assert.throws(() => parseColor('color(display-p3 1 0 0)'));
  });

  it('gives the WCAG ratios of known pairs', () => {
    const white = parseColor('#ffffff');
    assert.equal(contrastRatio(parseColor('#000'), white).toFixed(1), '21.0');
    assert.equal(contrastRatio(white, white), 1);
    // The example: the Light Modern green icon colour as text on white is far below AA.
    assert.ok(contrastRatio(parseColor('#73c991'), white) < 2.1);
    assert.ok(contrastRatio(parseColor('#116329'), white) > 4.5);
  });

  it('composes translucent layers over the base', () => {
    const bg = effectiveBackground([parseColor('rgba(0, 0, 0, 0)'), parseColor('rgba(255, 255, 255, 0.5)')], parseColor('#000'));
    assert.deepEqual(bg, { r: 127.5, g: 127.5, b: 127.5, a: 1 });
  });
});
