/** The attested, pinned channel against the reference server, liars and a man in the middle, all on loopback. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AttestedSession, ChannelError, AttestationError, InputError, connect, decodeServiceInfo, sha256Hex, toHex, type AttestedEnclave } from '../../../src/core/index.js';
import { startEnclaveApp } from '../../../src/server/app.js';
import { createTlsIdentity } from '../../../src/server/tls-identity.js';
import { rootsTrusting, startLyingServer, startMitmProxy, startSimulationServer, startStallingServer, type ReferenceServer, type StallingServer } from '../../../support/servers.js';

async function rejection(work: Promise<unknown>): Promise<AttestationError | ChannelError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof AttestationError || err instanceof ChannelError) return err;
    throw err;
  }
  assert.fail('expected the connection to be refused');
}

let server: ReferenceServer;

before(async () => {
  server = await startSimulationServer();
});
after(() => server.close());

describe('loopback end to end with the simulation server', () => {
  it('verifies with the simulation root trusted, binds the TLS key and says it is a simulation', async () => {
    const session = await connect(server.url, { roots: rootsTrusting(server) });
    try {
      const { attestation, simulation, presentedCertificate, binding, service } = session.attested;
      assert.equal(simulation, true);
      assert.equal(attestation.root.isAwsNitroRoot, false);
      assert.equal(attestation.pcrs[0], toHex(server.provider.pcrs.get(0)!));
      assert.equal(attestation.nonce!.length, 64, 'a 32-byte nonce');
      assert.equal(attestation.publicKey, toHex(await serverSpki()));
      assert.ok(presentedCertificate.raw.length > 100);
      // The binding as the session checked it, carried for every renderer.
      assert.deepEqual(binding, {
        presentedSpkiSha256: sha256Hex(await serverSpki()),
        attestedKeySha256: sha256Hex(await serverSpki()),
        presentedCertificateSha256: sha256Hex(presentedCertificate.raw),
        bound: true,
      });
      assert.equal(attestation.verifiedAt, Date.parse(new Date(attestation.verifiedAt).toISOString()));
      // The enclave's HPKE key (sealed bodies) is attested beside the service description: 32 bytes, new at each start.
      const { hpkePublicKey, ...described } = service!;
      assert.deepEqual(described, { service: 'blindbox', version: '0.1.0', engine: 'none', model: 'none', simulation: true });
      assert.equal(hpkePublicKey?.length, 32);
      assert.deepEqual(decodeServiceInfo(attestation.bytes.userData), service);
      const health = await session.request('/healthz');
      assert.equal(health.statusCode, 200);
      assert.deepEqual(await health.body.json(), { status: 'ok', attestation: 'simulation' });
    } finally {
      await session.close();
    }
  });

  it('refuses with CHAIN_UNTRUSTED when the simulation root is not trusted (the default)', async () => {
    const err = await rejection(connect(server.url));
    assert.equal(err.code, 'CHAIN_UNTRUSTED');
  });

  it('refuses with PCR_MISMATCH under a policy expecting another PCR0', async () => {
    const policy = { name: 'prod', pcrs: { 0: 'ab'.repeat(48) }, maxAgeSeconds: 600 };
    const err = await rejection(connect(server.url, { roots: rootsTrusting(server), policy }));
    assert.equal(err.code, 'PCR_MISMATCH');
  });

  it('accepts a policy that names the server’s real PCR0, PCR1 and PCR2', async () => {
    const pcrs = Object.fromEntries([0, 1, 2].map((i) => [i, toHex(server.provider.pcrs.get(i)!)]));
    const session = await connect(server.url, { roots: rootsTrusting(server), policy: { name: 'exact', pcrs, maxAgeSeconds: 600 } });
    await session.close();
  });

  it('maps an unreachable server and a wrong scheme to clear errors', async () => {
    assert.equal((await rejection(connect('https://127.0.0.1:1'))).code, 'SERVER_UNREACHABLE');
    await assert.rejects(connect(server.url.replace('https:', 'http:')), /must use https/);
    // The settings' rule, not a silently dropped path: the address a user typed is the one attested.
    await assert.rejects(connect(`${server.url}/v1/audio`, { roots: rootsTrusting(server) }), (err: unknown) => err instanceof InputError && err.code === 'INVALID_URL' && /without a path or query/.test(err.message));
  });

  it('answers bad requests with JSON errors and the right status, never 500', async () => {
    const session = await connect(server.url, { roots: rootsTrusting(server) });
    try {
      for (const [path, method, status, code] of [
        ['/attestation?nonce=zz', 'GET', 400, 'INVALID_NONCE'],
        ['/attestation?nonce=abcd', 'GET', 400, 'INVALID_NONCE'],
        ['/attestation', 'GET', 400, 'INVALID_NONCE'],
        ['/nope', 'GET', 404, 'NOT_FOUND'],
        ['/attestation?nonce=' + 'ab'.repeat(32), 'POST', 405, 'METHOD_NOT_ALLOWED'],
        ['/whisper/predict', 'POST', 503, 'ENGINE_NOT_CONFIGURED'],
      ] as const) {
        const res = await session.request(path, { method });
        assert.equal(res.statusCode, status, path);
        assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, code, path);
      }
    } finally {
      await session.close();
    }
  });
});

describe('a TLS-terminating man in the middle', () => {
  it('is refused with TLS_BINDING_MISMATCH, and sees no request after /attestation', async () => {
    const mitm = await startMitmProxy(server.url);
    try {
      const err = await rejection(connect(mitm.url, { roots: rootsTrusting(server) }));
      assert.equal(err.code, 'TLS_BINDING_MISMATCH');
      assert.equal(mitm.seen.paths.length, 1);
      assert.match(mitm.seen.paths[0]!, /^\/attestation\?nonce=[0-9a-f]{64}$/);
      assert.equal(mitm.seen.bodyBytes, 0);
    } finally {
      await mitm.close();
    }
  });
});

describe('lying servers', () => {
  it('a server replaying an old document (another nonce) is refused with NONCE_MISMATCH', async () => {
    const identity = await createTlsIdentity();
    const old = await server.provider.attest({ nonce: new Uint8Array(32).fill(9), publicKey: identity.spki, userData: new Uint8Array() });
    const liar = await startLyingServer(identity, async () => old);
    try {
      assert.equal((await rejection(connect(liar.url, { roots: rootsTrusting(server) }))).code, 'NONCE_MISMATCH');
      assert.deepEqual(liar.seen.paths.map((p) => p.split('?')[0]), ['/attestation']);
    } finally {
      await liar.close();
    }
  });

  it('a server attesting a key other than its TLS key is refused with TLS_BINDING_MISMATCH', async () => {
    const [identity, other] = await Promise.all([createTlsIdentity(), createTlsIdentity()]);
    const liar = await startLyingServer(identity, (nonce) =>
      server.provider.attest({ nonce: Buffer.from(nonce, 'hex'), publicKey: other.spki, userData: new Uint8Array() }),
    );
    try {
      const err = await rejection(connect(liar.url, { roots: rootsTrusting(server) }));
      assert.equal(err.code, 'TLS_BINDING_MISMATCH');
      assert.deepEqual(liar.seen.paths.map((p) => p.split('?')[0]), ['/attestation']);
    } finally {
      await liar.close();
    }
  });

  it('a server attesting no key at all is refused with TLS_BINDING_MISMATCH', async () => {
    const identity = await createTlsIdentity();
    const liar = await startLyingServer(identity, (nonce) =>
      server.provider.attest({ nonce: Buffer.from(nonce, 'hex'), publicKey: new Uint8Array(), userData: new Uint8Array() }),
    );
    try {
      assert.equal((await rejection(connect(liar.url, { roots: rootsTrusting(server) }))).code, 'TLS_BINDING_MISMATCH');
    } finally {
      await liar.close();
    }
  });

  it('a server answering /attestation with something that is not CBOR is refused', async () => {
    const liar = await startLyingServer(await createTlsIdentity(), async () => Buffer.from('<html>hello</html>'));
    try {
      assert.equal((await rejection(connect(liar.url, { roots: rootsTrusting(server) }))).code, 'MALFORMED_CBOR');
    } finally {
      await liar.close();
    }
  });
});

describe('a server that stalls the attestation', () => {
  const TIMEOUT_MS = 2000;
  /** A generous bound that still proves the deadline holds: the dribble alone would take over a thousand seconds. */
  const BOUND_MS = 3 * TIMEOUT_MS;
  const identity = createTlsIdentity();
  /** A genuine document bound to the stalling server's key: only the pace of its delivery is hostile. */
  const genuine = async (nonce: string) => server.provider.attest({ nonce: Buffer.from(nonce, 'hex'), publicKey: (await identity).spki, userData: new Uint8Array() });

  /** Connects with `options` and returns the error and how long it took. */
  async function timed(work: Promise<unknown>): Promise<{ err: AttestationError | ChannelError; ms: number }> {
    const start = performance.now();
    const err = await rejection(work);
    return { err, ms: performance.now() - start };
  }

  /** The client closed its connections: nothing of the failed attempt is left open. */
  async function assertConnectionsClosed(hostile: StallingServer): Promise<void> {
    for (let i = 0; i < 50 && hostile.openConnections() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(hostile.openConnections(), 0, 'the client closed its connection');
  }

  for (const stall of ['dribble', 'headers', 'handshake'] as const) {
    it(`fails with TIMEOUT within the total timeout when the server stalls (${stall})`, async () => {
      const hostile = await startStallingServer(stall, await identity, genuine);
      try {
        const { err, ms } = await timed(connect(hostile.url, { roots: rootsTrusting(server), timeoutMs: TIMEOUT_MS }));
        assert.equal(err.code, 'TIMEOUT', err.message);
        assert.match(err.message, /^The attestation of 127\.0\.0\.1:\d+ did not complete within 2 s\.$/);
        assert.ok(ms < BOUND_MS, `failed after ${Math.round(ms)} ms, not within ${BOUND_MS} ms`);
        await assertConnectionsClosed(hostile);
      } finally {
        await hostile.close();
      }
    });
  }

  it('the document dribbled would take far longer than the bound', async () => {
    assert.ok((await genuine('00'.repeat(32))).length * 1000 > 100 * BOUND_MS);
  });

  it('a caller’s abort during the dribble is CANCELLED, not TIMEOUT', async () => {
    const hostile = await startStallingServer('dribble', await identity, genuine);
    try {
      const { err, ms } = await timed(connect(hostile.url, { roots: rootsTrusting(server), timeoutMs: 60_000, signal: AbortSignal.timeout(500) }));
      assert.equal(err.code, 'CANCELLED', err.message);
      assert.ok(ms < BOUND_MS, `failed after ${Math.round(ms)} ms`);
      await assertConnectionsClosed(hostile);
    } finally {
      await hostile.close();
    }
  });

  it('a re-attestation that dribbles fails with TIMEOUT too, and the request is not sent', async () => {
    let now = Date.now();
    const hostile = await startStallingServer('dribble', await identity, genuine, 1);
    const session = await connect(hostile.url, { roots: rootsTrusting(server), timeoutMs: TIMEOUT_MS, policy: { name: 'short', pcrs: {}, maxAgeSeconds: 60 }, clock: () => new Date(now) });
    try {
      now += 61_000;
      const { err, ms } = await timed(session.request('/healthz'));
      assert.equal(err.code, 'TIMEOUT', err.message);
      assert.match(err.message, /did not complete within 2 s/);
      assert.ok(ms < BOUND_MS, `failed after ${Math.round(ms)} ms`);
      assert.deepEqual(hostile.seen.paths.map((p) => p.split('?')[0]), ['/attestation', '/attestation']);
    } finally {
      await session.close();
      await hostile.close();
    }
  });

  it('refuses a timeout that would disable the deadline (0, Infinity)', async () => {
    for (const timeoutMs of [0, Infinity, -1]) await assert.rejects(connect(server.url, { timeoutMs }), { name: 'InputError', code: 'INVALID_OPTION', message: /the timeout must be more than 0/ });
  });
});

describe('a pinned session', () => {
  it('attests a restarted enclave’s new key on the new connection before writing the next request to it', async () => {
    const own = await startSimulationServer();
    const session = await connect(own.url, { roots: rootsTrusting(own) });
    try {
      const first = await session.request('/healthz');
      assert.equal(first.statusCode, 200);
      await first.body.dump();
      const told: AttestedEnclave[] = [];
      session.onAttested((enclave) => told.push(enclave));
      const lists: (readonly AttestedEnclave[])[] = [];
      session.onEnclavesChanged((enclaves) => lists.push(enclaves));
      // Same host proxy and socket path, same attestation provider, new TLS key: a "restarted" enclave.
      const target = own.app.target;
      await own.app.close();
      const seen: string[] = [];
      const restarted = await startEnclaveApp(
        { provider: own.provider, identity: await createTlsIdentity(), service: { service: 'blindbox', version: 'x', engine: 'none', model: 'none', simulation: true }, log: (l) => seen.push(l) },
        target,
      );
      try {
        const second = await session.request('/healthz');
        assert.equal(second.statusCode, 200);
        await second.body.dump();
        // The old channel's reconnect was refused before a byte; a new connection attested the new key first.
        assert.deepEqual(seen, ['GET /attestation 200', 'GET /healthz 200']);
        assert.equal(told.length, 1);
        assert.equal(second.enclave, told[0], 'the answer names the enclave whose key carried it');
        assert.notEqual(second.enclave.binding.presentedSpkiSha256, first.enclave.binding.presentedSpkiSha256);
        // The old key no longer answers: only the restarted enclave is listed, and listeners heard of the change.
        assert.deepEqual(session.enclaves, [second.enclave]);
        assert.deepEqual(lists.at(-1), [second.enclave]);
      } finally {
        await restarted.close();
      }
    } finally {
      await session.close();
      await own.proxy.close();
    }
  });

  it('lists no enclave once the server stopped answering (connection refused after it went away)', async () => {
    const own = await startSimulationServer();
    const session = await connect(own.url, { roots: rootsTrusting(own), attempts: 2 });
    try {
      const first = await session.request('/healthz');
      await first.body.dump();
      assert.equal(session.enclaves.length, 1);
      const lists: (readonly AttestedEnclave[])[] = [];
      session.onEnclavesChanged((enclaves) => lists.push(enclaves));
      await own.close();
      assert.equal((await rejection(session.request('/healthz'))).code, 'SERVER_UNREACHABLE');
      assert.deepEqual(session.enclaves, [], 'the enclave whose key no longer answers left the list');
      assert.deepEqual(lists, [[]]);
    } finally {
      await session.close();
    }
  });

  it('attests again on a new connection once the policy’s maximum age has passed', async () => {
    // Client and simulated enclave share one clock, so documents are as old as the test says.
    let now = Date.now();
    const clock = () => new Date(now);
    const log: string[] = [];
    const own = await startSimulationServer({ clock, log: (l) => log.push(l) });
    const session = await connect(own.url, { roots: rootsTrusting(own), policy: { name: 'short', pcrs: {}, maxAgeSeconds: 60 }, clock });
    try {
      const first = session.attested;
      const told: unknown[] = [];
      session.onAttested((enclave) => told.push(enclave));
      assert.equal((await session.request('/healthz')).statusCode, 200);
      assert.equal(session.attested, first, 'no re-attestation within the maximum age');
      assert.deepEqual(told, []);
      now += 61_000;
      assert.ok(session.remainingMs <= 0);
      assert.equal((await session.request('/healthz')).statusCode, 200);
      assert.notEqual(session.attested, first);
      assert.deepEqual(told, [session.attested], 'listeners hear of the re-attestation once, with the new enclave');
      assert.notEqual(session.attested.attestation.nonce, first.attestation.nonce, 'a fresh nonce');
      // The log names each request by its path (never its query: nonces are not log material).
      assert.deepEqual(log.map((l) => l.split(' ')[1]), ['/attestation', '/healthz', '/attestation', '/healthz']);
    } finally {
      await session.close();
      await own.close();
    }
  });

  it('fails requests after close with CANCELLED', async () => {
    const session = await AttestedSession.connect(server.url, { roots: rootsTrusting(server) });
    await session.close();
    assert.equal((await rejection(session.request('/healthz'))).code, 'CANCELLED');
  });
});

/** The SPKI the reference server presents, read from its certificate over a throwaway connection. */
async function serverSpki(): Promise<Uint8Array> {
  const { connect: tlsConnect } = await import('node:tls');
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate()!;
      socket.destroy();
      resolve(new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' })));
    });
    socket.on('error', reject);
  });
}
