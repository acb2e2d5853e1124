/** Where the local endpoint may listen: decided without binding anything or looking any name up. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../../src/core/errors.js';
import { httpOrigin, isLoopback, parseListenAddress } from '../../../src/core/local-endpoint/listen-address.js';

describe('parseListenAddress', () => {
  it('takes loopback addresses: 127.0.0.0/8, ::1, localhost as 127.0.0.1', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0, loopback: true });
    assert.deepEqual(parseListenAddress('127.9.8.7:8080'), { host: '127.9.8.7', port: 8080, loopback: true });
    assert.deepEqual(parseListenAddress('[::1]:65535'), { host: '::1', port: 65535, loopback: true });
    assert.deepEqual(parseListenAddress('LocalHost:1'), { host: '127.0.0.1', port: 1, loopback: true });
  });

  it('refuses every other address with INVALID_OPTION, unless allowed, and then says it is not loopback', () => {
    for (const text of ['0.0.0.0:8080', '192.0.2.1:1', '[::]:1', '[::ffff:10.0.0.1]:1', '128.0.0.1:1']) {
      assert.throws(() => parseListenAddress(text), (e: unknown) => e instanceof InputError && e.code === 'INVALID_OPTION' && /is not loopback/.test(e.message), text);
      assert.equal(parseListenAddress(text, { allowRemote: true }).loopback, false, text);
    }
  });

  it('refuses names (no lookup decides who may connect), a missing or out-of-range port, IPv6 without brackets', () => {
    for (const text of ['example.com:80', 'my-host:80', '127.0.0.1', '127.0.0.1:65536', '127.0.0.1:-1', '::1:80', '[127.0.0.1]:80', '']) {
      assert.throws(() => parseListenAddress(text, { allowRemote: true }), (e: unknown) => e instanceof InputError && e.code === 'INVALID_OPTION', text);
    }
  });

  it('isLoopback and httpOrigin', () => {
    assert.deepEqual(['127.0.0.1', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '10.0.0.1', '::', 'localhost'].map(isLoopback), [true, true, true, true, false, false, false]);
    assert.equal(httpOrigin('::1', 80), 'http://[::1]:80');
    assert.equal(httpOrigin('127.0.0.1', 80), 'http://127.0.0.1:80');
  });
});
