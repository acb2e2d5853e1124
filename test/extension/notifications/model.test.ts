/** Which buttons an error notification offers (notifications/model.ts): the fix for its code, then Show Attestation, then Show details. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeFailure } from '../../../src/extension/common/failure.js';
import { AttestationError, ChannelError, InputError } from '../../../src/core/errors.js';
import { COMMANDS, OPEN_USER_SETTINGS } from '../../../src/extension/ids.js';
import { failureActions } from '../../../src/extension/notifications/model.js';
import { validateChain } from '../../../src/core/attestation/chain.js';
import { AWS_NITRO_ROOT_G1, trustedRootsFromPem, type TrustedRoot } from '../../../src/core/attestation/roots.js';
import { issueCertificate, toPem } from '../../../src/server/attestation/certificates.js';
import { createNitroChain, nitroChainSpecs } from '../../../src/server/attestation/nitro-chain.js';

describe('failureActions', () => {
  it('an untrusted chain offers to trust a root and to show the attestation, then the log', () => {
    assert.deepEqual(failureActions(describeFailure(new AttestationError('CHAIN_UNTRUSTED'))), [
      { label: 'Trust a Root…', kind: 'command', command: COMMANDS.trustRoot },
      { label: 'Show Attestation', kind: 'showAttestation' },
      { label: 'Show details', kind: 'showLog' },
    ]);
  });
  it('a new BlindBox SIMULATION root while an old one is trusted offers Replace instead of Trust a Root…; the presented root goes with the command', async () => {
    const [old, fresh] = [await createNitroChain(new Date()), await createNitroChain(new Date())];
    const refused = (trusted: readonly TrustedRoot[]) => {
      try {
        validateChain(fresh.cabundle, fresh.leaf.der, [AWS_NITRO_ROOT_G1, ...trusted], new Date());
      } catch (err) {
        return describeFailure(err);
      }
      return assert.fail('not refused');
    };
    const restarted = failureActions(refused(trustedRootsFromPem(toPem(old.root.der), 'old')));
    assert.equal(restarted[0]!.label, 'Replace the old simulation root…');
    assert.equal(restarted[0]!.kind === 'command' && restarted[0]!.command, COMMANDS.trustRoot);
    const [presented] = (restarted[0] as { args: readonly { der: Uint8Array; kind: string }[] }).args;
    assert.deepEqual([presented!.der, presented!.kind], [fresh.root.der, 'blindbox-simulation']);
    // The first simulation root ever, or another root: adding it is the offer (Trust a Root…).
    assert.equal(failureActions(refused([]))[0]!.label, 'Trust a Root…');
    const other = await issueCertificate({ ...nitroChainSpecs(new Date()).root, subject: [['CN', 'Example Root']] });
    assert.equal(failureActions(refused(trustedRootsFromPem(toPem(other.der), 'other')))[0]!.label, 'Trust a Root…');
  });
  it('bad settings open the user settings; no server offers Configure Server…; other codes (even Object.prototype names) only the log', () => {
    assert.deepEqual(failureActions(describeFailure(new InputError('INVALID_POLICY', 'bad policy'))), [
      { label: 'Open User Settings', kind: 'command', command: OPEN_USER_SETTINGS },
      { label: 'Show details', kind: 'showLog' },
    ]);
    assert.deepEqual(failureActions({ code: 'NOT_CONFIGURED', message: 'No server is configured.', untrusted: false }).map((a) => a.label), ['Configure Server…', 'Show details']);
    assert.deepEqual(failureActions({ code: 'toString', message: 'x', untrusted: false }).map((a) => a.label), ['Show details']);
  });
  it('a proxy that wants credentials opens VS Code\'s proxy settings (where http.proxyAuthorization is)', () => {
    assert.deepEqual(failureActions(describeFailure(new ChannelError('PROXY_AUTH_REQUIRED', 'The proxy http://proxy.test:3128 asked for credentials (HTTP 407).'))), [
      { label: 'Open Proxy Settings', kind: 'command', command: OPEN_USER_SETTINGS, args: ['http.proxy'] },
      { label: 'Show details', kind: 'showLog' },
    ]);
  });
  it('unreachable and TLS inspection offer Network Diagnostics (the step that fails and why), before Show Attestation', () => {
    const diagnostics = { label: 'Network Diagnostics', kind: 'command', command: COMMANDS.networkDiagnostics };
    assert.deepEqual(failureActions(describeFailure(new ChannelError('SERVER_UNREACHABLE', 'Cannot talk to enclave.test:443 directly: ENOTFOUND.'))), [diagnostics, { label: 'Show details', kind: 'showLog' }]);
    assert.deepEqual(failureActions(describeFailure(new ChannelError('TLS_BINDING_MISMATCH', 'The TLS certificate presented … is not the key the enclave attested.', { presented: { subject: 'CN=enclave.test', issuer: 'CN=Example Corp TLS Inspection CA' } }))), [
      diagnostics,
      { label: 'Show Attestation', kind: 'showAttestation' },
      { label: 'Show details', kind: 'showLog' },
    ]);
  });
});
