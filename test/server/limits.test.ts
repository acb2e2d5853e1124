/**
 * The server's time and connection limits, each met by the client it exists for (raw sockets to the host proxy of
 * an in-process reference server whose limits are set short, so that every case ends in seconds).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { startSimulationServer, type ReferenceServer } from '../helpers/servers.js';
import { settle } from '../helpers/process-stats.js';
import { errorCode, filePartHead, openTcp, openTls, readAnswer, uploadHead } from '../helpers/raw-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: ReferenceServer;

before(async () => {
  const engine = await createPocketSphinxEngine({ workers: 1 });
  server = await startSimulationServer({
    engine,
    limits: { uploadIdleTimeoutMs: 1_500, uploadMinBytesPerSecond: 4096, uploadPaceGraceMs: 2_000 },
    connections: { headersTimeoutMs: 1_500, handshakeTimeoutMs: 1_000, maxConnections: 6 },
  });
});

after(() => server?.close());

/** Resolves when `socket` closes, or rejects after `ms`. */
async function closedWithin(socket: Socket, ms: number): Promise<void> {
  const timer = setTimeout(() => socket.destroy(new Error(`still open after ${ms} ms`)), ms);
  socket.on('error', () => {}).resume();
  const [hadError] = (await once(socket, 'close')) as [boolean];
  clearTimeout(timer);
  assert.equal(hadError, false, `closed by the server within ${ms} ms`);
}

describe('time and connection limits', () => {
  it('a client that never starts TLS is dropped after the handshake timeout', async () => {
    await closedWithin(await openTcp(server.url), 5_000);
  });

  it('slow-loris headers get a JSON 408 and the connection is closed', async () => {
    const socket = await openTls(server.url);
    const answer = readAnswer(socket, 10_000);
    socket.write('GET /healthz HTTP/1.1\r\nhost: e\r\n');
    for (let i = 0; i < 20 && !socket.destroyed; i++) {
      socket.write(`x-drip-${i}: 1\r\n`);
      await sleep(300);
    }
    const got = await answer;
    assert.equal(got?.status, 408);
    assert.equal(errorCode(got), 'REQUEST_TIMEOUT');
  });

  it('an upload that stalls is refused with BODY_TIMEOUT and frees its slot', async () => {
    const socket = await openTls(server.url);
    const answer = readAnswer(socket, 10_000);
    socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: 100_000 }) + filePartHead() + 'RIFF');
    const got = await answer;
    assert.equal(got?.status, 408);
    assert.equal(errorCode(got), 'BODY_TIMEOUT');
    assert.equal(await settle(async () => server.inFlight(), (n) => n === 0, 2_000), 0);
  });

  it('an upload trickled a few bytes at a time is refused with BODY_TOO_SLOW and frees its slot', async () => {
    const socket = await openTls(server.url);
    const answer = readAnswer(socket, 15_000);
    socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: 100_000 }) + filePartHead());
    const drip = setInterval(() => socket.destroyed || socket.write(Buffer.alloc(100, 1)), 200);
    const got = await answer.finally(() => clearInterval(drip));
    assert.equal(got?.status, 408);
    assert.equal(errorCode(got), 'BODY_TOO_SLOW');
    assert.equal(await settle(async () => server.inFlight(), (n) => n === 0, 2_000), 0);
  });

  it('connections beyond the cap are dropped, and served again once others close', async () => {
    const held: Socket[] = [];
    try {
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => openTls(server.url, { timeoutMs: 3_000 })));
      for (const o of outcomes) if (o.status === 'fulfilled') held.push(o.value);
      assert.ok(held.length <= 6, `${held.length} of 10 connections were accepted, the cap is 6`);
      assert.ok(held.length >= 1, 'the first connections are accepted');
    } finally {
      for (const s of held) s.destroy();
    }
    await sleep(200);
    const socket = await openTls(server.url);
    socket.write('GET /healthz HTTP/1.1\r\nhost: e\r\n\r\n');
    assert.equal((await readAnswer(socket))?.status, 200);
  });
});
