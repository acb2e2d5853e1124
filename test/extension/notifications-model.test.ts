/** Which buttons an error notification offers (notifications/model.ts): the fix for its code, then Show Attestation, then Show details. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeFailure } from '../../src/extension/common/failure.js';
import { AttestationError, InputError } from '../../src/core/errors.js';
import { COMMANDS, OPEN_USER_SETTINGS } from '../../src/extension/ids.js';
import { failureActions } from '../../src/extension/notifications/model.js';

describe('failureActions', () => {
  it('an untrusted chain offers to trust a root and to show the attestation, then the log', () => {
    assert.deepEqual(failureActions(describeFailure(new AttestationError('CHAIN_UNTRUSTED'))), [
      { label: 'Trust a Root…', kind: 'command', command: COMMANDS.trustRoot },
      { label: 'Show Attestation', kind: 'showAttestation' },
      { label: 'Show details', kind: 'showLog' },
    ]);
  });
  it('bad settings open the user settings; no server offers Configure Server…; other codes (even Object.prototype names) only the log', () => {
    assert.deepEqual(failureActions(describeFailure(new InputError('INVALID_POLICY', 'bad policy'))), [
      { label: 'Open User Settings', kind: 'command', command: OPEN_USER_SETTINGS },
      { label: 'Show details', kind: 'showLog' },
    ]);
    assert.deepEqual(failureActions({ code: 'NOT_CONFIGURED', message: 'No server is configured.', untrusted: false }).map((a) => a.label), ['Configure Server…', 'Show details']);
    assert.deepEqual(failureActions({ code: 'toString', message: 'x', untrusted: false }).map((a) => a.label), ['Show details']);
  });
});
