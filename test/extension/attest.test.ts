/** The Attestor against the reference server in simulation: reuse, re-attestation on settings change, failures. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toHex } from '../../src/core/index.js';
import { Attestor, loadTrust, REUSE_MARGIN_MS } from '../../src/extension/attest.js';
import { parseSettings, type RawSettings } from '../../src/extension/settings.js';
import { startSimulationServer, type ReferenceServer } from '../helpers/servers.js';

let server: ReferenceServer;
let dir: string;
let rootFile: string;

before(async () => {
  server = await startSimulationServer();
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-attest-'));
  rootFile = path.join(dir, 'sim-root.pem');
  await writeFile(rootFile, server.provider.rootPem);
});
after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const settings = (raw: RawSettings = {}) => parseSettings({ serverUrl: server.url, trustedRoots: [rootFile], ...raw }, '/home/u');

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
      assert.ok(lines.some((l) => l.includes('trusted roots: AWS Nitro Enclaves Root G1, ' + rootFile)));
    } finally {
      await attestor.dispose();
    }
  });

  it('attests anew (and closes the old session) when a trust setting changes or the session is too old', async () => {
    const attestor = new Attestor();
    try {
      const first = await attestor.verify(settings());
      assert.ok(first.ok);
      const pcr0 = toHex(server.provider.pcrs.get(0)!);
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
      assert.equal(outcome.observed!.attestation.pcrs[0], toHex(server.provider.pcrs.get(0)!));
      assert.equal(attestor.session, undefined);
    } finally {
      await attestor.dispose();
    }
  });

  it('reports unreadable root or policy files as settings errors naming the setting', async () => {
    const attestor = new Attestor();
    try {
      const missing = await attestor.verify(settings({ trustedRoots: [path.join(dir, 'nope.pem')] }));
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
    const policyFile = path.join(dir, 'policy.json');
    await writeFile(policyFile, JSON.stringify({ name: 'from-file', pcrs: { 0: toHex(server.provider.pcrs.get(0)!) }, maxAgeSeconds: 60, roots: ['sim-root.pem'] }));
    const s = parseSettings({ serverUrl: server.url, policyFile }, '/h');
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
});
