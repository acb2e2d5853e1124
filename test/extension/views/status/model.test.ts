import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration } from '../../../../src/core/util/format-duration.js';
import { STATUS_TEXT_BUDGET, statusPresentation } from '../../../../src/extension/views/status/model.js';
import { ATTESTATION_ERROR_CODES, CHANNEL_ERROR_CODES, RECEIPT_ERROR_CODES } from '../../../../src/core/errors.js';
import { EXTENSION_ERROR_CODES } from '../../../../src/extension/common/errors.js';
import type { TrustState } from '../../../../src/extension/trust/trust-state.js';
import { policy, realAttested, verified } from '../../helpers.js';
import { trustChecks } from '../../../../src/extension/trust/checks.js';
import { escapeMarkdown } from '../../../../src/core/util/markdown.js';

describe('status bar text', () => {
  const { attested, verifiedAt } = realAttested();
  const server = 'https://enclave.example:8443';

  it('hides without a server and says "not verified" before the first attestation', () => {
    assert.equal(statusPresentation({ kind: 'unconfigured' }, 0), undefined);
    const unverified = statusPresentation({ kind: 'unverified', server }, 0)!;
    assert.equal(unverified.text, '$(unverified) BlindBox: not verified');
    assert.equal(unverified.background, undefined);
  });

  it('spins while verifying', () => {
    assert.equal(statusPresentation({ kind: 'verifying', server }, 0).text, '$(loading~spin) BlindBox: verifying…');
  });

  it('names the policy and the age once verified, with server, module, PCR0 and time in the tooltip', () => {
    const p = statusPresentation(verified(server, attested, policy({ 0: attested.attestation.pcrs[0]! }, 'production')), verifiedAt + 125_000);
    assert.equal(p.text, '$(verified-filled) BlindBox: verified · 2 min');
    assert.match(p.tooltip, /Policy: production · 1 PCR pinned/, 'the policy is named in the tooltip (the text stays short for narrow windows)');
    assert.equal(p.background, undefined);
    assert.equal(p.command, 'blindbox.showAttestation');
    assert.ok(p.tooltip.includes('`https://enclave.example:8443`'));
    assert.ok(p.tooltip.includes(attested.attestation.moduleId));
    assert.ok(p.tooltip.includes(attested.attestation.pcrs[0]!.slice(0, 16)));
    assert.ok(p.tooltip.includes(new Date(verifiedAt).toISOString()));
  });

  it('says TLS is inspected, by whom, and that the audio is end-to-end encrypted to the enclave, in the tooltip and the channel check', () => {
    const inspectedBy = { subject: 'CN=enclave.example', issuer: 'O=Example Corp + CN=Example Corp TLS Inspection CA' };
    const inspected = { ...attested, binding: { ...attested.binding, presentedSpkiSha256: 'ab'.repeat(32), bound: false, inspectedBy } };
    const state = verified(server, inspected, policy({ 0: attested.attestation.pcrs[0]! }, 'production'));
    const sentence = 'TLS inspected by “O=Example Corp + CN=Example Corp TLS Inspection CA”; audio end-to-end encrypted to the enclave';
    assert.ok(statusPresentation(state, verifiedAt).tooltip.includes(escapeMarkdown(sentence)), statusPresentation(state, verifiedAt).tooltip);
    const channel = trustChecks(state, verifiedAt).find((c) => c.id === 'channel')!;
    assert.equal(channel.state, 'warn');
    assert.equal(channel.stateText, 'TLS inspected');
    assert.ok(channel.summary.startsWith(sentence), channel.summary);
    // A bound channel says nothing of inspection.
    assert.doesNotMatch(statusPresentation(verified(server, attested), verifiedAt).tooltip, /inspected/);
    assert.equal(trustChecks(verified(server, attested), verifiedAt).find((c) => c.id === 'channel')!.state, 'pass');
  });

  it('shouts SIMULATION with the warning colour for a simulation root', () => {
    const p = statusPresentation(verified(server, { ...attested, simulation: true }, policy({ 0: attested.attestation.pcrs[0]! }, 'e2e')), verifiedAt + 60_000);
    assert.equal(p.text, '$(warning) BlindBox: SIMULATION · 1 min');
    assert.equal(p.background, 'warning');
    assert.match(p.tooltip, /not confidential/);
  });

  it('says when no PCR is pinned, verified or SIMULATION', () => {
    const open = policy({}, 'default');
    assert.equal(statusPresentation(verified(server, attested, open), verifiedAt).text, '$(verified-filled) BlindBox: verified · unpinned · 0 s');
    const sim = statusPresentation(verified(server, { ...attested, simulation: true }, open), verifiedAt);
    assert.equal(sim.text, '$(warning) BlindBox: SIMULATION · unpinned · 0 s');
    assert.match(sim.tooltip, /no PCR pinned: any code is accepted — \*\*any code running in a genuine enclave is accepted\*\*/);
    assert.match(sim.accessibilityLabel, /no PCR pinned/);
  });

  it('lists every enclave of a fleet in the tooltip, with module, PCR0, key and age, and is as old as the oldest proof', () => {
    const second = { ...attested, attestation: { ...attested.attestation, moduleId: 'i-second-enc', verifiedAt: verifiedAt - 300_000 }, binding: { ...attested.binding, attestedKeySha256: 'ee'.repeat(32) } };
    const state: TrustState = { kind: 'verified', server, policy: policy({ 0: attested.attestation.pcrs[0]! }, 'prod'), enclaves: [attested, second] };
    const p = statusPresentation(state, verifiedAt);
    assert.equal(p.text, '$(verified-filled) BlindBox: verified · 5 min');
    assert.match(p.tooltip, /Enclaves \(2\):/);
    assert.ok(p.tooltip.includes(`- \`${attested.attestation.moduleId}\` · PCR0 \`${attested.attestation.pcrs[0]!.slice(0, 16)}…\` · key \`${attested.binding.attestedKeySha256.slice(0, 16)}…\` · 0 s ago`));
    assert.ok(p.tooltip.includes('- `i-second-enc` · PCR0'));
    assert.ok(p.tooltip.includes('key `eeeeeeeeeeeeeeee…` · 5 min ago'));
  });

  it('says FAILED with a short reason and the error colour; the tooltip carries code and sentence, escaped', () => {
    const result: TrustState = {
      kind: 'failed',
      server,
      policy: undefined,
      at: 0,
      failure: { code: 'CHAIN_UNTRUSTED', message: 'The chain starts at "<img src=x onerror=alert(1)> [x](command:evil)".', untrusted: true },
    };
    const p = statusPresentation(result, 1000);
    assert.equal(p.text, '$(error) BlindBox: FAILED · untrusted root');
    assert.equal(p.background, 'error');
    assert.ok(p.tooltip.includes('`CHAIN_UNTRUSTED`'));
    assert.ok(p.tooltip.includes('\\<img src=x onerror=alert\\(1\\)\\>'), 'markup is backslash-escaped');
    assert.doesNotMatch(p.tooltip, /(^|[^\\])</, 'no unescaped <');
    assert.ok(p.tooltip.includes('\\[x\\]\\(command:evil\\)'), 'links from the message are defused');
    assert.match(p.tooltip, /No audio will be sent/);
    assert.equal(statusPresentation({ ...result, failure: { code: 'SERVER_UNREACHABLE', message: 'x', untrusted: false } }, 0).text, '$(error) BlindBox: FAILED · unreachable');
    assert.equal(statusPresentation({ ...result, failure: { code: 'SOMETHING_NEW', message: 'x', untrusted: false } }, 0).text, '$(error) BlindBox: FAILED · SOMETHING_NEW');
  });

  it('keeps its words within the budget a 760 px window leaves it, in every state, at any age; the tooltip keeps the rest', () => {
    const ages = [0, 59_000, 3_540_000, 86_340_000, 3 * 86_400_000];
    const states: TrustState[] = [];
    for (const sim of [false, true]) {
      const enclave = { ...attested, simulation: sim };
      for (const pcrs of [{}, { 0: attested.attestation.pcrs[0]! }] as Record<number, string>[]) states.push(verified(server, enclave, policy(pcrs, 'a-rather-long-policy-name-for-production')));
      for (const code of Object.keys({ ...ATTESTATION_ERROR_CODES, ...CHANNEL_ERROR_CODES, ...RECEIPT_ERROR_CODES, ...EXTENSION_ERROR_CODES })) {
        states.push({ kind: 'failed', server, policy: undefined, at: 0, failure: { code, message: 'x', untrusted: true, ...(sim ? { chainRoot: { label: 'sim', simulation: true } } : {}) } });
      }
    }
    for (const state of states) {
      for (const age of ages) {
        const p = statusPresentation(state, verifiedAt + age)!;
        const words = p.text.replace(/^\$\([\w~-]+\) /, '');
        assert.ok(words.length <= STATUS_TEXT_BUDGET, `${words.length} characters: ${p.text}`);
        if (state.kind === 'failed' && state.failure.chainRoot) assert.match(words, /^BlindBox: SIMULATION · /);
        if (state.kind === 'failed') assert.ok(p.tooltip.includes(`\`${state.failure.code}\``));
      }
    }
    assert.equal(statusPresentation(verified(server, { ...attested, simulation: true }, policy()), verifiedAt + 7_500_000).text, '$(warning) BlindBox: SIMULATION · unpinned', 'the age moves to the tooltip');
  });

  it('only links to its own commands', () => {
    const states: Exclude<TrustState, { kind: 'unconfigured' }>[] = [verified(server, attested), { kind: 'unverified', server }];
    const commands = states.flatMap((s) => [...statusPresentation(s, verifiedAt).tooltip.matchAll(/\(command:([^)]+)\)/g)].map((m) => m[1]));
    assert.deepEqual([...new Set(commands)].sort(), ['blindbox.showAttestation', 'blindbox.verify']);
  });

  it('formats ages compactly', () => {
    assert.deepEqual([0, 59_999, 60_000, 3_599_000, 3_600_000, 3_660_000, 86_400_000, 90_000_000, -5].map(formatDuration), ['0 s', '59 s', '1 min', '59 min', '1 h', '1 h 1 min', '1 d', '1 d 1 h', '0 s']);
  });
});
