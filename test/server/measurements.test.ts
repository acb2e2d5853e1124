/**
 * PCR0 measures the server's code only: the server package and the protocol and shared modules it imports. A change to
 * the client (core, extension, CLI: code the enclave never runs) must not move it; a change to the server must.
 * Rewording a client error sentence, for one, must not change the enclave's measurement.
 * Measured over a temporary copy of the compiled tree, edited file by file.
 */
import assert from 'node:assert/strict';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CODE_ROOT, measureCode, measuredModules } from '../../src/server/measurements.js';
import { toHex } from '../../src/core/index.js';

describe('PCR0 (the simulated enclave image measurement)', () => {
  let copy: string;
  let baseline: string;
  const pcr0 = async () => toHex(await measureCode(copy));
  /** PCR0 after appending a comment to `file` (relative to the code root). */
  const afterEditing = async (file: string) => {
    await appendFile(path.join(copy, file), '\n// edited\n');
    return pcr0();
  };

  before(async () => {
    copy = await mkdtemp(path.join(tmpdir(), 'blindbox-measure-'));
    await cp(CODE_ROOT, copy, { recursive: true });
    baseline = await pcr0();
  });
  after(() => rm(copy, { recursive: true, force: true }));

  it('covers the server package and what it imports, and no client core, extension or CLI module', async () => {
    const files = await measuredModules();
    assert.ok(files.includes('server/app.js') && files.includes('server/engine/pocketsphinx/worker.js'));
    assert.ok(files.includes('protocol/endpoints.js') && files.includes('shared/cose.js') && files.includes('shared/cbor.js'), 'imported protocol and shared modules');
    assert.deepEqual(files.filter((f) => !/^(server|protocol|shared)\//.test(f)), []);
  });

  it('does not move when only the extension or the CLI changes', async () => {
    assert.equal(await afterEditing('extension/main.js'), baseline);
    assert.equal(await afterEditing('cli/main.js'), baseline);
    assert.equal(await afterEditing('core/transport/session.js'), baseline);
    assert.equal(await afterEditing('core/errors.js'), baseline);
    assert.equal(await afterEditing('core/attestation/cose.js'), baseline);
  });

  it('moves when the server, or a protocol or shared module it imports, changes', async () => {
    const server = await afterEditing('server/http/transcription.js');
    assert.notEqual(server, baseline);
    const protocol = await afterEditing('protocol/limits.js');
    assert.notEqual(protocol, server);
    assert.notEqual(await afterEditing('shared/cose.js'), protocol);
  });
});
