/** The policy JSON format (policy files, the extension's `blindbox.policy`): what it refuses, and why. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MAX_MAX_AGE_SECONDS, normalisePcrPolicy, parsePolicy } from '../../src/core/index.js';

const PCR = 'ab'.repeat(48);

describe('parsePolicy: PCR indices', () => {
  it('accepts the canonical indices 0..31', () => {
    const pcrs = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [String(i), PCR]));
    assert.equal(normalisePcrPolicy(parsePolicy({ pcrs }, 'p.json').pcrs).size, 32);
  });

  it('refuses "00", "000" and "07": each aliases a canonical index, and one of two entries would silently win', () => {
    for (const key of ['00', '000', '07']) {
      assert.throws(() => parsePolicy({ pcrs: { 0: PCR, [key]: 'cd'.repeat(48) } }, 'p.json'), {
        name: 'InputError',
        code: 'INVALID_POLICY',
        message: new RegExp(`^p\\.json: PCR index "${key}" is not an integer from 0 to 31 in canonical form \\(write ${Number(key)}: .*leading zeros\\)`),
      });
    }
  });

  it('refuses signs, spaces, fractions and indices above 31', () => {
    for (const key of ['+1', '-0', ' 1', '1 ', '1.0', '0x1', '32', '']) {
      assert.throws(() => parsePolicy({ pcrs: { [key]: PCR } }, 'p.json'), { name: 'InputError', code: 'INVALID_POLICY', message: /canonical form/ }, JSON.stringify(key));
    }
  });
});

describe('parsePolicy: maxAgeSeconds', () => {
  it('accepts up to one day', () => {
    assert.equal(parsePolicy({ maxAgeSeconds: MAX_MAX_AGE_SECONDS }, 'p.json').maxAgeSeconds, 86_400);
  });

  it('refuses more than one day, e.g. 1e306 (Infinity once in milliseconds: never attest again)', () => {
    for (const maxAgeSeconds of [86_400.5, 1e306]) {
      assert.throws(() => parsePolicy({ maxAgeSeconds }, 'p.json'), { name: 'InputError', code: 'INVALID_POLICY', message: /^p\.json: "maxAgeSeconds" is .*more than the 86400 s \(one day\) allowed$/ });
    }
  });

  it('the extension’s settings schema states the same maximum', () => {
    const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8'));
    assert.equal(manifest.contributes.configuration.properties['blindbox.policy'].properties.maxAgeSeconds.maximum, MAX_MAX_AGE_SECONDS);
  });
});
