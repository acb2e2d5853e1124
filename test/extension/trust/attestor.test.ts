/**
 * The Attestor against the reference server in simulation: reuse, re-attestation on settings or trust-file change,
 * failures; and against a hostile server that dribbles its document: the time bound, supersession and cancellation.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toHex } from '../../../src/core/index.js';
import { createTlsIdentity } from '../../../src/server/tls-identity.js';
import { Attestor, loadTrust, REUSE_MARGIN_MS, VERIFY_MARGIN_MS } from '../../../src/extension/trust/attestor.js';
import { parseSettings } from '../../../src/extension/settings/model.js';
import { startDribblingServer } from '../../../support/servers.js';
import { liveTrustedSimulation } from '../helpers.js';

const live = liveTrustedSimulation();
const settings = live.settings;

describe('Attestor', () => {
  it('attests once and reuses the session while it is young, under the same settings', async () => {
    const lines: string[] = [];
    const attestor = new Attestor({ log: (l) => lines.push(l) });
    try {
      const first = await attestor.verify(settings());
      assert.ok(first.ok);
      assert.equal(first.reused, false);
      assert.equal(first.session.attested.simulation, true);
      const again = await attestor.acquire(settings());
      assert.ok(again.ok && again.reused);
      assert.equal(again.session, first.session);
      assert.ok(lines.some((l) => l.startsWith('reusing the attested session')));
      assert.ok(lines.some((l) => l.includes('trusted roots: AWS Nitro Enclaves Root G1, ' + live.rootFile)));
    } finally {
      await attestor.dispose();
    }
  });

  it('attests anew (and closes the old session) when a trust setting changes or the session is too old', async () => {
    const attestor = new Attestor();
    try {
      const first = await attestor.verify(settings());
      assert.ok(first.ok);
      const pcr0 = toHex(live.server.provider.pcrs.get(0)!);
      const second = await attestor.acquire(settings({ policy: { name: 'pinned', pcrs: { 0: pcr0 } } }));
      assert.ok(second.ok && !second.reused);
      assert.notEqual(second.session, first.session);
      await assert.rejects(first.session.request('/healthz'), { code: 'CANCELLED' });
      // A policy whose max age is within the reuse margin never reuses.
      const short = settings({ policy: { maxAgeSeconds: REUSE_MARGIN_MS / 1000 } });
      const a = await attestor.acquire(short);
      const b = await attestor.acquire(short);
      assert.ok(a.ok && b.ok && !b.reused && a.session !== b.session);
    } finally {
      await attestor.dispose();
    }
  });

  it('refuses a simulation root that is not listed, and forgets the session it had', async () => {
    const attestor = new Attestor();
    try {
      assert.ok((await attestor.verify(settings())).ok);
      const refused = await attestor.verify(settings({ trustedRoots: [] }));
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.failure.code, 'CHAIN_UNTRUSTED');
      assert.equal(!refused.ok && refused.failure.untrusted, true);
      assert.equal(attestor.session, undefined);
    } finally {
      await attestor.dispose();
    }
  });

  it('on PCR_MISMATCH shows the server’s real measurements (a diagnostic document, never a session)', async () => {
    const attestor = new Attestor();
    try {
      const outcome = await attestor.verify(settings({ policy: { name: 'wrong', pcrs: { 0: 'ab'.repeat(48) } } }));
      assert.equal(outcome.ok, false);
      if (outcome.ok) return;
      assert.equal(outcome.failure.code, 'PCR_MISMATCH');
      assert.equal(outcome.policy!.name, 'wrong');
      assert.equal(outcome.observed!.attestation.pcrs[0], toHex(live.server.provider.pcrs.get(0)!));
      assert.equal(attestor.session, undefined);
    } finally {
      await attestor.dispose();
    }
  });

  it('reports unreadable root or policy files as settings errors naming the setting', async () => {
    const attestor = new Attestor();
    try {
      const missing = await attestor.verify(settings({ trustedRoots: [path.join(live.dir, 'nope.pem')] }));
      assert.ok(!missing.ok);
      assert.equal(missing.failure.code, 'SETTINGS_INVALID');
      assert.match(missing.failure.message, /^blindbox\.trustedRoots: cannot read the root certificate/);
      const noServer = await attestor.verify(parseSettings({}, '/h'));
      assert.ok(!noServer.ok && noServer.failure.code === 'NOT_CONFIGURED');
    } finally {
      await attestor.dispose();
    }
  });

  it('reads a policy file with its own roots', async () => {
    const policyFile = path.join(live.dir, 'policy.json');
    await writeFile(policyFile, JSON.stringify({ name: 'from-file', pcrs: { 0: toHex(live.server.provider.pcrs.get(0)!) }, maxAgeSeconds: 60, roots: ['sim-root.pem'] }));
    const s = parseSettings({ serverUrl: live.server.url, policyFile }, '/h');
    const trust = await loadTrust(s);
    assert.equal(trust.policy.name, 'from-file');
    assert.equal(trust.policy.source, policyFile);
    assert.equal(trust.roots.length, 2);
    const attestor = new Attestor();
    try {
      const outcome = await attestor.verify(s);
      assert.ok(outcome.ok);
      assert.equal(outcome.policy.name, 'from-file');
    } finally {
      await attestor.dispose();
    }
  });

  it('joins an attestation already running under the same settings', async () => {
    const attestor = new Attestor();
    try {
      const [a, b] = await Promise.all([attestor.verify(settings()), attestor.verify(settings())]);
      assert.ok(a.ok && b.ok && a.session === b.session);
    } finally {
      await attestor.dispose();
    }
  });

  it('does not reuse a session once the policy file on disk pins other PCRs: PCR_MISMATCH before any audio', async () => {
    const policyFile = path.join(live.dir, 'changing-policy.json');
    const write = (pcr0: string) => writeFile(policyFile, JSON.stringify({ name: 'on-disk', pcrs: { 0: pcr0 }, roots: ['sim-root.pem'] }));
    await write(toHex(live.server.provider.pcrs.get(0)!));
    const s = parseSettings({ serverUrl: live.server.url, policyFile }, '/h');
    const attestor = new Attestor();
    try {
      const first = await attestor.verify(s);
      assert.ok(first.ok);
      assert.ok((await attestor.acquire(s)).ok, 'unchanged files: reused');
      await write('ab'.repeat(48));
      const next = await attestor.acquire(s);
      assert.ok(!next.ok, 'the session attested under the old PCRs is not reused');
      assert.equal(next.failure.code, 'PCR_MISMATCH');
      assert.equal(attestor.session, undefined);
      await assert.rejects(first.session.request('/healthz'), { code: 'CANCELLED' });
    } finally {
      await attestor.dispose();
    }
  });

  it('does not reuse a session once a trusted root file on disk holds another certificate', async () => {
    const root = path.join(live.dir, 'changing-root.pem');
    await writeFile(root, live.server.provider.rootPem);
    const s = settings({ trustedRoots: [root] });
    const attestor = new Attestor();
    try {
      assert.ok((await attestor.verify(s)).ok);
      await writeFile(root, (await createTlsIdentity()).certificatePem);
      const next = await attestor.acquire(s);
      assert.ok(!next.ok);
      assert.equal(next.failure.code, 'CHAIN_UNTRUSTED');
      assert.equal(attestor.session, undefined);
    } finally {
      await attestor.dispose();
    }
  });
});

describe('Attestor against a server that dribbles its attestation document (one byte a second)', () => {
  let dribbler: Awaited<ReturnType<typeof startDribblingServer>>;
  before(async () => {
    dribbler = await startDribblingServer(1000);
  });
  after(() => dribbler?.close());
  const slow = (seconds: number) => parseSettings({ serverUrl: dribbler.url, requestTimeoutSeconds: seconds }, '/h');

  async function closed(): Promise<void> {
    const deadline = Date.now() + 2000;
    while (dribbler.openSockets() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(dribbler.openSockets(), 0, 'the connection is closed');
  }
  async function connected(): Promise<void> {
    while (dribbler.openSockets() === 0) await new Promise((r) => setTimeout(r, 20));
  }

  it('ends in TIMEOUT within the request timeout plus a margin, its connection closed', { timeout: 20_000 }, async () => {
    const attestor = new Attestor();
    try {
      const started = Date.now();
      const outcome = await attestor.verify(slow(2));
      const elapsed = Date.now() - started;
      assert.ok(!outcome.ok);
      assert.equal(outcome.failure.code, 'TIMEOUT');
      // The core's own deadline (the request timeout, 2 s) or the extension's (plus its margin) ends it: either way, TIMEOUT.
      assert.match(outcome.failure.message, /^The attestation of 127\.0\.0\.1:\d+ did not complete within [24] s\.$/);
      assert.ok(elapsed >= 2000 && elapsed < 2000 + VERIFY_MARGIN_MS + 1000, `${elapsed} ms`);
      await closed();
    } finally {
      await attestor.dispose();
    }
  });

  it('is aborted, its connection closed, when a newer verification under other settings supersedes it', { timeout: 20_000 }, async () => {
    const attestor = new Attestor();
    try {
      const superseded = attestor.verify(slow(30));
      await connected();
      const started = Date.now();
      const newer = attestor.verify(settings());
      const outcome = await superseded;
      assert.ok(!outcome.ok);
      assert.equal(outcome.failure.code, 'CANCELLED');
      assert.equal(outcome.failure.message, 'A newer verification replaced this one.');
      assert.ok(Date.now() - started < 1000);
      await closed();
      assert.ok((await newer).ok);
    } finally {
      await attestor.dispose();
    }
  });

  it('is CANCELLED at once when its only caller cancels, or when the Attestor is disposed', { timeout: 20_000 }, async () => {
    const attestor = new Attestor();
    const abort = new AbortController();
    const cancelledByCaller = attestor.verify(slow(30), abort.signal);
    await connected();
    abort.abort();
    const outcome = await cancelledByCaller;
    assert.ok(!outcome.ok && outcome.failure.code === 'CANCELLED');
    await closed();

    const disposed = attestor.verify(slow(30));
    await connected();
    await attestor.dispose();
    const last = await disposed;
    assert.ok(!last.ok && last.failure.code === 'CANCELLED');
    await closed();
  });

  it('keeps running for a caller still waiting when another one that joined it cancels', { timeout: 20_000 }, async () => {
    const attestor = new Attestor();
    try {
      const abort = new AbortController();
      const stays = attestor.verify(slow(2));
      const leaves = attestor.verify(slow(2), abort.signal);
      await connected();
      abort.abort();
      assert.equal((await leaves).ok, false);
      assert.equal(dribbler.openSockets(), 1, 'still attesting for the other caller');
      const outcome = await stays;
      assert.ok(!outcome.ok && outcome.failure.code === 'TIMEOUT');
    } finally {
      await attestor.dispose();
    }
  });
});
