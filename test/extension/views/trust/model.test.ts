import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trustRows } from '../../../../src/extension/views/trust/model.js';
import type { TrustState } from '../../../../src/extension/trust/trust-state.js';
import { policy, realAttested, verified } from '../../helpers.js';

const SERVER = 'https://enclave.example:8443';

describe('BlindBox view rows', () => {
  const { attested, verifiedAt } = realAttested();

  it('is empty without a server, so the welcome content offers Configure Server…', () => {
    assert.deepEqual(trustRows({ kind: 'unconfigured' }, 0), []);
  });

  it('shows trust state, server, policy, age and every enclave once verified', () => {
    const rows = trustRows(verified(SERVER, attested, policy({ 0: attested.attestation.pcrs[0]! }, 'prod')), verifiedAt + 90_000);
    assert.deepEqual(rows.map((r) => [r.label, r.description]), [
      ['Verified AWS Nitro enclave', undefined],
      ['Server', SERVER],
      ['Policy', 'prod · 1 PCR pinned'],
      ['Verified', '1 min ago'],
      ['Enclave', undefined],
    ]);
    const [enclave] = rows.at(-1)!.children!;
    assert.equal(enclave!.label, attested.attestation.moduleId);
    assert.match(enclave!.description!, /^PCR0 [0-9a-f]{16}… · key [0-9a-f]{16}… · 1 min ago$/);
  });

  it('says SIMULATION, no PCR pinned, and FAILED with its reason', () => {
    const sim = trustRows(verified(SERVER, { ...attested, simulation: true }, policy({}, 'default')), verifiedAt);
    assert.equal(sim[0]!.label, 'SIMULATION — not confidential');
    assert.equal(sim[2]!.description, 'default · no PCR pinned: any code is accepted');
    assert.equal(sim[2]!.icon, 'warning');
    const failed: TrustState = { kind: 'failed', server: SERVER, policy: undefined, failure: { code: 'CHAIN_UNTRUSTED', message: 'x.', untrusted: true }, at: 0 };
    assert.deepEqual(trustRows(failed, 60_000).map((r) => r.label), ['FAILED · untrusted root', 'Server', 'Failed']);
  });
});
