/** Which code cache each command line starts from (src/cli/bundle.ts); that V8 takes them is start-up-loads.test.ts's. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codeCacheFor } from '../../src/cli/bundle.js';

describe('codeCacheFor', () => {
  it('gives a command its own cache, or that of the command whose code it shares', () => {
    assert.equal(codeCacheFor(['verify', 'https://enclave.test']), 'verify');
    assert.equal(codeCacheFor(['transcribe', 'https://enclave.test', 'a.wav']), 'verify');
    assert.equal(codeCacheFor(['diagnose', 'https://enclave.test']), 'verify');
    assert.equal(codeCacheFor(['verify-doc', 'doc.cbor']), 'verify-doc');
    assert.equal(codeCacheFor(['verify-receipt', 'r.json']), 'verify-doc');
  });
  it('gives help, the version and unknown commands the help cache, and a --help after -- the command\'s', () => {
    assert.equal(codeCacheFor([]), 'help');
    assert.equal(codeCacheFor(['--version']), 'help');
    assert.equal(codeCacheFor(['verify', 'https://enclave.test', '--help']), 'help');
    assert.equal(codeCacheFor(['verfy']), 'help');
    assert.equal(codeCacheFor(['verify-doc', '--', '--help']), 'verify-doc');
  });
});
