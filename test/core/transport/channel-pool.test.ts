/**
 * The pool of attested connections against real servers behind a switching TCP front (what a balancer does to a
 * client): a reconnect that lands on an unattested key is refused before a byte, retries are bounded, requests run
 * in parallel up to the bound, and nothing is left open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type AttestedSession, type ChannelError } from '../../../src/core/index.js';
import { openFds, settle } from '../../helpers/process-stats.js';
import { startFront } from '../../helpers/tcp-front.js';
import { createTlsIdentity } from '../../../src/server/tls-identity.js';
import { rootsTrusting, startLyingServer, startMitmProxy, startSimulationServer, type ReferenceServer, type RunningServer } from '../../../support/servers.js';

let server: ReferenceServer;
let mitm: RunningServer;
const log: string[] = [];

before(async () => {
  // Idle connections close within a second (the server announces 3 s; undici closes its side 2 s earlier), so the
  // next request after a pause reconnects, and the front may route it elsewhere.
  server = await startSimulationServer({ connections: { keepAliveTimeoutMs: 3000 }, log: (line) => log.push(line) });
  mitm = await startMitmProxy(server.url);
});
after(async () => {
  await mitm.close();
  await server.close();
});

const rejection = async (work: Promise<unknown>) => {
  try {
    await work;
  } catch (err) {
    return err as ChannelError;
  }
  assert.fail('expected a rejection');
};
const idle = () => new Promise((resolve) => setTimeout(resolve, 1300));
const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
/** A retry line with the port and the certificate fingerprint of this run left out. */
const shape = (line: string) => line.replace(/127\.0\.0\.1:\d+/g, 'HOST').replace(/SHA-256 [0-9a-f]{16}…/, 'SHA-256 …');

describe('the pool of attested connections', () => {
  it('refuses a reconnect to an unattested key before any byte, tries a bounded number of new connections, and leaks nothing', async () => {
    // The first connection reaches the enclave; every later one the man in the middle.
    const front = await startFront((n) => (n === 0 ? server.url : mitm.url));
    try {
      const retries: string[] = [];
      const fdsBefore = (await openFds(process.pid)).length;
      const session = await connect(front.url, { roots: rootsTrusting(server), attempts: 3, log: (line) => retries.push(line) });
      try {
        await (await session.request('/healthz')).body.dump();
        await idle();
        const err = await rejection(session.request('/v1/audio/transcriptions', { method: 'POST', body: () => 'not audio', headers: { 'content-type': 'text/plain' } }));
        assert.equal(err.code, 'TLS_BINDING_MISMATCH', err.message);
        // Its own attestation request is all the man in the middle ever received: it answered with the enclave's
        // document, which binds another key, so its key was refused from then on before a byte.
        assert.equal(mitm.seen.paths.length, 1, String(mitm.seen.paths));
        assert.match(mitm.seen.paths[0]!, /^\/attestation\?nonce=[0-9a-f]{64}$/);
        assert.equal(mitm.seen.bodyBytes, 0);
        // Three attempts in all: the pooled connection's reconnect, then two new connections (the first attested and
        // refused, the second refused at once); no more.
        assert.equal(front.connections.get(mitm.url), 3);
        assert.deepEqual(retries.map(shape), [
          'attempt 1 of 3 of POST /v1/audio/transcriptions failed before an answer (TLS_BINDING_MISMATCH: The server presented a TLS key (certificate SHA-256 …, subject "O=BlindBox enclave + CN=blindbox-enclave", issued by "O=BlindBox enclave + CN=blindbox-enclave") other than the attested one: it is not the attested enclave, or a TLS-inspecting proxy or firewall sits in between); trying a new connection',
          'attempt 2 of 3 to attest a connection to HOST failed (TLS_BINDING_MISMATCH: The TLS certificate presented on the attested connection (subject "O=BlindBox enclave + CN=blindbox-enclave", issued by "O=BlindBox enclave + CN=blindbox-enclave") is not the key the enclave attested: a TLS-inspecting proxy or firewall between you and the enclave terminates TLS. No audio was sent. Ask your IT department to exempt HOST from TLS inspection); trying a new connection',
        ]);
      } finally {
        await session.close();
      }
      assert.equal(await settle(async () => front.open(), (open) => open === 0, 3000), 0, 'every connection closed');
      const fdsAfter = await settle(async () => (await openFds(process.pid)).length, (count) => count <= fdsBefore, 3000);
      assert.ok(fdsAfter <= fdsBefore, `descriptors: ${fdsBefore} before, ${fdsAfter} after`);
    } finally {
      await front.close();
    }
  });

  it('spends one budget per request however its connections fail: attempts connections in all, not attempts per retried send', async () => {
    // An honest server whose every request is reset after its attestation succeeded, reached by every fourth
    // connection; the others reach the man in the middle. Each send that fails would once have started a new round
    // of attestation attempts: up to attempts² connections for one request.
    const identity = await createTlsIdentity();
    const resetter = await startLyingServer(identity, async (nonce) => server.provider.attest({ nonce: Buffer.from(nonce, 'hex'), publicKey: identity.spki, userData: new Uint8Array() }), { otherRequests: 'reset' });
    const front = await startFront((n) => (n === 0 ? server.url : n % 4 === 0 ? resetter.url : mitm.url));
    const retries: string[] = [];
    const session = await connect(front.url, { roots: rootsTrusting(server), attempts: 4, log: (line) => retries.push(line) });
    try {
      assert.equal(total(front.connections), 1);
      // The pooled connection closes, so that every attempt of the request opens a connection of its own.
      await idle();
      const err = await rejection(session.request('/healthz'));
      assert.equal(err.code, 'SERVER_UNREACHABLE', err.message);
      assert.equal(total(front.connections) - 1, 4, String([...front.connections]));
      assert.deepEqual(Object.fromEntries(front.connections), { [server.url]: 1, [mitm.url]: 3, [resetter.url]: 1 });
      // The only request the resetter saw after its attestation was the one it reset.
      assert.deepEqual(resetter.seen.paths.map((p) => p.split('?')[0]), ['/attestation', '/healthz']);
      assert.deepEqual(retries.map(shape), [
        'attempt 1 of 4 of GET /healthz failed before an answer (TLS_BINDING_MISMATCH: The server presented a TLS key (certificate SHA-256 …, subject "O=BlindBox enclave + CN=blindbox-enclave", issued by "O=BlindBox enclave + CN=blindbox-enclave") other than the attested one: it is not the attested enclave, or a TLS-inspecting proxy or firewall sits in between); trying a new connection',
        'attempt 2 of 4 to attest a connection to HOST failed (TLS_BINDING_MISMATCH: The TLS certificate presented on the attested connection (subject "O=BlindBox enclave + CN=blindbox-enclave", issued by "O=BlindBox enclave + CN=blindbox-enclave") is not the key the enclave attested: a TLS-inspecting proxy or firewall between you and the enclave terminates TLS. No audio was sent. Ask your IT department to exempt HOST from TLS inspection); trying a new connection',
        'attempt 3 of 4 to attest a connection to HOST failed (TLS_BINDING_MISMATCH: The TLS certificate presented on the attested connection (subject "O=BlindBox enclave + CN=blindbox-enclave", issued by "O=BlindBox enclave + CN=blindbox-enclave") is not the key the enclave attested: a TLS-inspecting proxy or firewall between you and the enclave terminates TLS. No audio was sent. Ask your IT department to exempt HOST from TLS inspection); trying a new connection',
      ]);
    } finally {
      await session.close();
      await front.close();
      await resetter.close();
    }
  });

  it('retries a refused reconnect on a new connection, attested on that connection, and the request succeeds', async () => {
    // Connection 1 reaches the man in the middle; the others the enclave.
    const front = await startFront((n) => (n === 1 ? mitm.url : server.url));
    const seenBefore = mitm.seen.paths.length;
    const session = await connect(front.url, { roots: rootsTrusting(server) });
    try {
      log.length = 0;
      await idle();
      const answer = await session.request('/healthz');
      assert.equal(answer.statusCode, 200);
      await answer.body.dump();
      // The pooled connection's reconnect reached the man in the middle, whose key is not the pinned one: dropped
      // before a byte, and the request went on a new connection that attested the enclave first.
      assert.equal(front.connections.get(mitm.url), 1);
      assert.equal(mitm.seen.paths.length - seenBefore, 0, 'the man in the middle received nothing');
      assert.deepEqual(log, ['GET /attestation 200', 'GET /healthz 200'], 'the new connection was attested before the request');
    } finally {
      await session.close();
      await front.close();
    }
  });

  it('runs requests in parallel on separate attested connections, never more than maxConnections', async () => {
    const front = await startFront(() => server.url);
    let session: AttestedSession | undefined;
    try {
      session = await connect(front.url, { roots: rootsTrusting(server), maxConnections: 2 });
      log.length = 0;
      let peak = 0;
      const answers = await Promise.all(
        Array.from({ length: 6 }, async () => {
          const answer = await session!.request('/healthz');
          peak = Math.max(peak, front.open());
          await answer.body.dump();
          return answer;
        }),
      );
      assert.ok(answers.every((a) => a.statusCode === 200));
      assert.equal(front.connections.get(server.url), 2, 'two connections, each attested once');
      assert.equal(log.filter((l) => l.startsWith('GET /attestation')).length, 1, 'the second connection was attested on itself');
      assert.ok(peak <= 2);
    } finally {
      await session?.close();
      await front.close();
    }
  });

  it('refuses a pool bound or attempt count that is not a small whole number', async () => {
    for (const maxConnections of [0, 1.5, 1000]) await assert.rejects(connect(server.url, { maxConnections }), { code: 'INVALID_OPTION' });
    for (const attempts of [0, -1, 100]) await assert.rejects(connect(server.url, { attempts }), { code: 'INVALID_OPTION' });
  });
});
