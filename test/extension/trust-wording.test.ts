/**
 * One wording of the trust state on every surface (trust/checks.ts): the attestation view, the BlindBox view, the
 * status bar and the notifications say SIMULATION for a chain that ended in a simulation root in every state, verified
 * or refused, and never "Genuine hardware: Passed" for it; a PCR mismatch shows both values in full (or cut at the
 * first difference, marked) and offers to pin and copy the attested one. The refusals are real: the reference server
 * in simulation refused under a wrong PCR0, and a real AWS Nitro document refused the same way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttestationError, verifyAttestation } from '../../src/core/index.js';
import { toHex } from '../../src/core/util/hex.js';
import { describeFailure } from '../../src/extension/common/failure.js';
import { failureActions, failureNotice } from '../../src/extension/notifications/model.js';
import { repinnedPolicy } from '../../src/extension/setup/model.js';
import { attestedPcr, chainRootOf, policyRefused, simulationRoot, trustChecks } from '../../src/extension/trust/checks.js';
import { Attestor } from '../../src/extension/trust/attestor.js';
import type { TrustState } from '../../src/extension/trust/trust-state.js';
import { attestationViewModel } from '../../src/extension/views/attestation/model.js';
import { statusPresentation } from '../../src/extension/views/status/model.js';
import { trustRows, type TrustRow } from '../../src/extension/views/trust/model.js';
import { COMMANDS } from '../../src/extension/ids.js';
import { loadRealDocuments } from '../../support/fixtures.js';
import { liveTrustedSimulation, policy, realAttested, verified } from './helpers.js';

const live = liveTrustedSimulation();

/** The server's PCR0 with one digit changed late (digit 41): the two values share a long prefix, as after a small rebuild. */
function nearMiss(pcr0: string): string {
  return pcr0.slice(0, 40) + (pcr0[40] === 'a' ? 'b' : 'a') + pcr0.slice(41);
}

/** Every label, description and tooltip of the BlindBox view, children included. */
function treeText(rows: readonly TrustRow[]): string {
  return rows.map((r) => [r.label, r.description ?? '', r.tooltip ?? '', treeText(r.children ?? [])].join('\n')).join('\n');
}

/** What each surface says about SIMULATION and the hardware check, for one state. */
function surfaces(state: TrustState, now: number) {
  const view = attestationViewModel(state, new Date(now));
  const status = statusPresentation(state, now);
  const rows = trustRows(state, now);
  return {
    hardware: trustChecks(state, now).find((c) => c.id === 'hardware'),
    banner: view.simulationBanner,
    viewHardware: view.checks.find((c) => c.id === 'hardware'),
    status: status?.text ?? '',
    statusTooltip: status?.tooltip ?? '',
    tree: treeText(rows),
    notice: state.kind === 'failed' ? failureNotice(state.failure) : '',
    view,
    rows,
  };
}

describe('trust wording: the same facts on every surface', () => {
  it('a PCR mismatch under a simulation root: SIMULATION everywhere, the banner kept, both values in full, Pin and Copy offered', async () => {
    const pcr0 = toHex(live.server.provider.pcrs.get(0)!);
    const expected = nearMiss(pcr0);
    const attestor = new Attestor();
    let state: TrustState;
    try {
      const outcome = await attestor.verify(live.settings({ policy: { name: 'rebuilt', pcrs: { 0: expected } } }));
      assert.ok(!outcome.ok);
      assert.equal(outcome.failure.code, 'PCR_MISMATCH');
      state = { kind: 'failed', server: live.server.url, policy: outcome.policy, failure: outcome.failure, at: Date.now(), ...(outcome.observed ? { observed: outcome.observed } : {}) };
    } finally {
      await attestor.dispose();
    }
    const s = surfaces(state, Date.now());
    // SIMULATION, never a passed hardware check, on every surface.
    assert.equal(typeof simulationRoot(state), 'string');
    assert.equal(s.hardware!.state, 'warn');
    assert.equal(s.hardware!.stateText, 'SIMULATION');
    assert.deepEqual(s.viewHardware, s.hardware, 'the view shows the one wording');
    assert.match(s.banner!, /^SIMULATION — NOT CONFIDENTIAL/);
    assert.match(s.view.verdict.title, /FAILED — SIMULATION/);
    assert.equal(s.status, '$(error) BlindBox: SIMULATION · PCR mismatch');
    assert.match(s.statusTooltip, /SIMULATION — not confidential/);
    assert.match(s.tree, /SIMULATION — not confidential/);
    assert.match(s.tree, /Genuine hardware: SIMULATION/);
    assert.match(s.notice, /SIMULATION — not confidential/);
    for (const text of [s.tree, s.notice, s.statusTooltip, JSON.stringify(s.view.checks)]) assert.doesNotMatch(text, /Genuine hardware: Passed|"state":"pass","stateText":"Passed","summary":"A real AWS/);

    // Both values, distinguishable: in full in the view, the status tooltip and the tree's tooltips; cut at the first
    // difference with the digit marked in the toast and the tree's descriptions.
    assert.deepEqual(s.view.mismatch && [s.view.mismatch.actual, s.view.mismatch.expected, s.view.mismatch.at], [pcr0, expected, 40]);
    assert.equal(s.view.pcrs.find((r) => r.index === 0)!.diffAt, 40);
    assert.ok(s.statusTooltip.includes(pcr0) && s.statusTooltip.includes(expected));
    const actualRow = s.rows.find((r) => r.id === 'pcr-actual')!;
    const expectedRow = s.rows.find((r) => r.id === 'pcr-expected')!;
    assert.ok(actualRow.tooltip!.includes(pcr0) && actualRow.tooltip!.includes(expected));
    assert.equal(actualRow.description, `…${pcr0.slice(32, 40)}[${pcr0[40]}]${pcr0.slice(41, 49)}…`);
    assert.equal(expectedRow.description, `…${expected.slice(32, 40)}[${expected[40]}]${expected.slice(41, 49)}…`);
    assert.equal(actualRow.command, COMMANDS.pinAttestedPcr);
    assert.ok(s.notice.includes(`the enclave has …${pcr0.slice(32, 40)}[${pcr0[40]}]`), s.notice);
    assert.ok(s.notice.includes(`the policy expects …${expected.slice(32, 40)}[${expected[40]}]`), s.notice);
    assert.doesNotMatch(s.notice, new RegExp(`${pcr0.slice(0, 16)}….*${pcr0.slice(0, 16)}…`), 'never two identical-looking prefixes');
    assert.deepEqual(
      failureActions(state.kind === 'failed' ? state.failure : describeFailure(null)).map((a) => [a.label, a.kind === 'copy' ? a.value : a.kind === 'command' ? a.command : a.kind]),
      [
        ["Pin the server's PCR0…", COMMANDS.pinAttestedPcr],
        ['Copy', pcr0],
        ['Show Attestation', 'showAttestation'],
      ],
    );

    // Configure… then neither preselects the refused policy nor leaves PCR0 empty; the pin keeps the policy's name.
    assert.equal(policyRefused(state), true);
    assert.equal(attestedPcr(state, live.server.url, 0), pcr0);
    assert.equal(attestedPcr(state, 'https://other.example', 0), undefined);
    assert.deepEqual(repinnedPolicy(state.policy, live.server.url, 0, pcr0.toUpperCase()), { name: 'rebuilt', pcrs: { 0: pcr0 }, maxAgeSeconds: state.policy!.maxAgeSeconds });
  });

  it('the same refusal from a real AWS Nitro document: genuine hardware passed, no SIMULATION anywhere', () => {
    const real = loadRealDocuments().find((d) => d.name === 'real_3')!;
    const now = new Date(real.timestampMs);
    const pcr0 = verifyAttestation(real.bytes, { now }).pcrs[0]!;
    let err: unknown;
    try {
      verifyAttestation(real.bytes, { now, expectedPcrs: { 0: nearMiss(pcr0) } });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof AttestationError && err.code === 'PCR_MISMATCH');
    const state: TrustState = { kind: 'failed', server: 'https://enclave.example', policy: policy({ 0: nearMiss(pcr0) }, 'prod'), failure: describeFailure(err), at: real.timestampMs };
    assert.deepEqual(chainRootOf(state), { label: 'AWS Nitro Enclaves Root G1', simulation: false });
    const s = surfaces(state, real.timestampMs);
    assert.equal(s.hardware!.state, 'pass');
    assert.equal(s.banner, null);
    assert.equal(s.status, '$(error) BlindBox: FAILED · PCR mismatch');
    for (const text of [s.tree, s.notice, s.statusTooltip, s.view.verdict.title]) assert.doesNotMatch(text, /SIMULATION/);
  });

  it('in every state, SIMULATION on one surface is SIMULATION on all of them, and its hardware check never passes', () => {
    const { attested, verifiedAt } = realAttested();
    const sim = { ...attested, simulation: true, attestation: { ...attested.attestation, root: { ...attested.attestation.root, label: 'sim root', isAwsNitroRoot: false } } };
    const server = 'https://enclave.example';
    const refusal = (code: string, chainRoot?: { label: string; simulation: boolean }): TrustState => ({
      kind: 'failed',
      server,
      policy: policy({ 0: 'ab'.repeat(48) }),
      failure: { code, message: 'Refused.', untrusted: true, ...(chainRoot ? { chainRoot } : {}) },
      at: verifiedAt,
    });
    const states: [string, TrustState, boolean][] = [
      ['unverified', { kind: 'unverified', server }, false],
      ['verifying', { kind: 'verifying', server }, false],
      ['verified AWS', verified(server, attested), false],
      ['verified simulation', verified(server, sim), true],
      ['fleet with one simulation enclave', { kind: 'verified', server, policy: policy(), enclaves: [attested, sim] }, true],
      ['PCR mismatch, simulation root', refusal('PCR_MISMATCH', { label: 'sim root', simulation: true }), true],
      ['PCR mismatch, diagnostic document from a simulation root', { ...refusal('PCR_MISMATCH'), observed: sim } as TrustState, true],
      ['nonce refused, simulation root', refusal('NONCE_MISMATCH', { label: 'sim root', simulation: true }), true],
      ['TLS key not attested, simulation root', refusal('TLS_BINDING_MISMATCH', { label: 'sim root', simulation: true }), true],
      ['TLS key not attested, AWS root', refusal('TLS_BINDING_MISMATCH', { label: 'AWS Nitro Enclaves Root G1', simulation: false }), false],
      ['PCR mismatch, root not named', refusal('PCR_MISMATCH'), false],
      ['untrusted chain', refusal('CHAIN_UNTRUSTED'), false],
      ['unreachable', refusal('SERVER_UNREACHABLE'), false],
    ];
    for (const [name, state, simulation] of states) {
      const s = surfaces(state, verifiedAt);
      const says = [s.banner !== null, /SIMULATION/.test(s.status), /SIMULATION — not confidential/.test(s.tree), s.hardware?.stateText === 'SIMULATION' || (s.hardware?.state === 'fail' && s.hardware.facts.some((f) => /SIMULATION/.test(f)))];
      assert.deepEqual(says, [simulation, simulation, simulation, simulation], `${name}: banner, status, tree, hardware check`);
      if (state.kind === 'failed') assert.equal(/SIMULATION/.test(s.notice), simulation && state.failure.chainRoot !== undefined, `${name}: notification`);
      // Genuine hardware passes only where the facts name AWS's root.
      const aws = chainRootOf(state)?.simulation === false;
      if (s.hardware?.state === 'pass') assert.ok(aws, `${name}: hardware passed without an AWS root`);
    }
  });
});
