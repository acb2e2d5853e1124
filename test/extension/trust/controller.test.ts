/**
 * The TrustController against the reference server in simulation: the state carries its policy, re-attestations by
 * the session reach it without anyone polling, and an outcome a newer question superseded changes nothing.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { connect } from '../../../src/core/index.js';
import { parseSettings } from '../../../src/extension/settings/model.js';
import { Attestor } from '../../../src/extension/trust/attestor.js';
import { TrustController } from '../../../src/extension/trust/controller.js';
import { failure } from '../../../src/extension/common/failure.js';
import { statusPresentation } from '../../../src/extension/views/status/model.js';
import type { TrustState } from '../../../src/extension/trust/trust-state.js';
import { liveTrustedSimulation } from '../helpers.js';
import { startSimulationServer } from '../../../support/servers.js';
import { startEnclaveApp } from '../../../src/server/app.js';
import { createTlsIdentity } from '../../../src/server/tls-identity.js';
import { startFront } from '../../helpers/tcp-front.js';

let now = Date.now();
const clock = () => new Date(now);
// Client and simulated enclave share one clock, so documents are as old as the test says.
const live = liveTrustedSimulation({ clock });
const settings = live.settings;

function controller(): { trust: TrustController; seen: TrustState[] } {
  const trust = new TrustController({ attestor: async () => new Attestor({ connect: (url, options) => connect(url, { ...options, clock }) }) });
  const seen: TrustState[] = [];
  trust.onDidChange((s) => seen.push(s));
  return { trust, seen };
}

describe('TrustController', () => {
  it('goes verifying → verified, with the policy it was checked against inside the state', async () => {
    const { trust, seen } = controller();
    try {
      trust.start(live.server.url);
      const state = await trust.verify(settings({ policy: { name: 'named' } }));
      assert.deepEqual(
        seen.map((s) => s.kind),
        ['unverified', 'verifying', 'verified'],
      );
      assert.equal(state, trust.state);
      assert.ok(state?.kind === 'verified');
      assert.equal(state.policy.name, 'named');
      assert.equal(state.enclaves.length, 1);
      assert.equal(state.enclaves[0].binding.bound, true);
      assert.equal(state.enclaves[0].simulation, true);
    } finally {
      await trust.dispose();
    }
  });

  it('hears of the session’s own re-attestation during a request, with no call from the caller', async () => {
    const { trust, seen } = controller();
    try {
      const s = settings({ policy: { name: 'short', maxAgeSeconds: 60 } });
      const got = await trust.acquire({ ...s, serverUrl: live.server.url }, new AbortController().signal);
      assert.ok(got.ok);
      const first = got.session.attested;
      now += 61_000;
      assert.equal((await got.session.request('/healthz')).statusCode, 200);
      const state = trust.state;
      assert.ok(state.kind === 'verified');
      assert.notEqual(first, got.session.attested, 'the session attested again');
      assert.equal(state.enclaves[0], got.session.attested, 'and the trust state shows the new enclave');
      assert.equal(state.policy.name, 'short');
      assert.equal(seen.at(-1), state);
    } finally {
      await trust.dispose();
    }
  });

  it('a server that stopped answering an upload: FAILED · unreachable, the session dropped, until an attestation succeeds again', async () => {
    const { trust } = controller();
    try {
      const s = { ...settings({}), serverUrl: live.server.url };
      const got = await trust.acquire(s, new AbortController().signal);
      assert.ok(got.ok);
      await trust.uploadFailed(live.server.url, failure('SERVER_UNREACHABLE', 'Cannot talk to the server: ECONNREFUSED.'));
      const state = trust.state;
      assert.ok(state.kind === 'failed' && state.failure.code === 'SERVER_UNREACHABLE');
      assert.equal(statusPresentation(state, Date.now()).text, '$(error) BlindBox: FAILED · unreachable');
      // Audio may have been sent before the server stopped answering: the tooltip must not say nothing was.
      const tooltip = statusPresentation(state, Date.now()).tooltip;
      assert.match(tooltip, /FAILED while sending audio/);
      assert.doesNotMatch(tooltip, /Nothing was sent|verification FAILED/);
      assert.match(tooltip, /no more audio is sent until the server is verified again/);
      // The next upload attests again (the old session is not reused) and the state is verified once it succeeds.
      const again = await trust.acquire(s, new AbortController().signal);
      assert.ok(again.ok && !again.reused && again.session !== got.session);
      assert.equal(trust.state.kind, 'verified');
    } finally {
      await trust.dispose();
    }
  });

  it('holds every enclave the session attests behind one address (a fleet), not just the latest', async () => {
    const other = await startSimulationServer({ clock });
    const otherRoot = path.join(live.dir, 'other-root.pem');
    await writeFile(otherRoot, other.provider.rootPem);
    // The first connection reaches one enclave, every later one another: what a balancer does.
    const front = await startFront((n) => (n === 0 ? live.server.url : other.url));
    const { trust } = controller();
    try {
      const s = parseSettings({ serverUrl: front.url, trustedRoots: [live.rootFile, otherRoot] }, '/home/u');
      const got = await trust.acquire({ ...s, serverUrl: front.url }, new AbortController().signal);
      assert.ok(got.ok);
      // Two requests at once: the second opens (and attests) a second connection.
      const answers = await Promise.all([got.session.request('/healthz'), got.session.request('/healthz')]);
      for (const answer of answers) await answer.body.dump();
      const state = trust.state;
      assert.ok(state.kind === 'verified');
      assert.equal(state.enclaves.length, 2);
      assert.deepEqual(new Set(state.enclaves.map((e) => e.attestation.moduleId)), new Set([live.server.provider.moduleId, other.provider.moduleId]));
    } finally {
      await trust.dispose();
      await front.close();
      await other.close();
    }
  });

  it('no longer says verified once the only attested enclave stopped answering (its server went away)', async () => {
    const own = await startSimulationServer({ clock });
    const ownRoot = path.join(live.dir, 'own-root.pem');
    await writeFile(ownRoot, own.provider.rootPem);
    const { trust, seen } = controller();
    try {
      const s = parseSettings({ serverUrl: own.url, trustedRoots: [ownRoot] }, '/home/u');
      const got = await trust.acquire({ ...s, serverUrl: own.url }, new AbortController().signal);
      assert.ok(got.ok && trust.state.kind === 'verified');
      await own.close();
      await assert.rejects(got.session.request('/healthz'), { code: 'SERVER_UNREACHABLE' });
      const after = trust.state as TrustState;
      assert.deepEqual(after.kind === 'unverified' && after.server, own.url, `a dead enclave is not listed as verified: ${after.kind}`);
      assert.equal(seen.at(-1), after);
    } finally {
      await trust.dispose();
    }
  });

  it('lists only the restarted server’s new enclave, not the dead one beside it, and stays verified', async () => {
    const own = await startSimulationServer({ clock });
    const ownRoot = path.join(live.dir, 'restarted-root.pem');
    await writeFile(ownRoot, own.provider.rootPem);
    const { trust } = controller();
    let restarted: Awaited<ReturnType<typeof startEnclaveApp>> | undefined;
    try {
      const s = parseSettings({ serverUrl: own.url, trustedRoots: [ownRoot] }, '/home/u');
      const got = await trust.acquire({ ...s, serverUrl: own.url }, new AbortController().signal);
      assert.ok(got.ok);
      const before = got.session.attested.binding.presentedSpkiSha256;
      // Same address and attestation provider, a new TLS key: the server restarted.
      const target = own.app.target;
      await own.app.close();
      restarted = await startEnclaveApp({ provider: own.provider, identity: await createTlsIdentity(), service: { service: 'blindbox', version: 'x', engine: 'none', model: 'none', simulation: true } }, target);
      const answer = await got.session.request('/healthz');
      await answer.body.dump();
      const state = trust.state;
      assert.ok(state.kind === 'verified', state.kind);
      assert.equal(state.enclaves.length, 1, 'Enclave, not Enclaves (2)');
      assert.notEqual(state.enclaves[0].binding.presentedSpkiSha256, before);
    } finally {
      await trust.dispose();
      await restarted?.close();
      await own.proxy.close();
    }
  });

  it('drops the outcome of a verification a newer one superseded', async () => {
    const { trust } = controller();
    try {
      const older = trust.verify(settings({ policy: { name: 'older' } }));
      const newer = trust.verify(settings({ policy: { name: 'newer' } }));
      assert.equal(await older, undefined, 'no news');
      const state = await newer;
      assert.ok(state?.kind === 'verified');
      assert.equal(state.policy.name, 'newer');
      assert.equal(trust.state, state);
    } finally {
      await trust.dispose();
    }
  });

  it('fails with the policy in force when the server refuses, and knows the policy of unconfigured settings', async () => {
    const { trust } = controller();
    try {
      const refused = await trust.verify(settings({ trustedRoots: [], policy: { name: 'strict' } }));
      assert.ok(refused?.kind === 'failed');
      assert.equal(refused.failure.code, 'CHAIN_UNTRUSTED');
      assert.equal(refused.policy?.name, 'strict');
      const none = await trust.verify(parseSettings({ policy: { name: 'mine' } }, '/h'));
      assert.deepEqual(none?.kind, 'unconfigured');
      assert.equal(none?.policy?.name, 'mine');
    } finally {
      await trust.dispose();
    }
  });
});
