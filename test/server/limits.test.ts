/**
 * The server's time and connection limits, each met by the client it exists for (raw sockets to the host proxy of
 * an in-process reference server whose limits are set short, so that every case ends in seconds).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { startSimulationServer, type ReferenceServer } from '../../support/servers.js';
import { settle } from '../helpers/process-stats.js';
import { errorCode, exchange, filePartHead, multipartBody, openTcp, openTls, readAnswer, readAnswers, uploadHead } from '../../support/raw-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: ReferenceServer;
const MAX_UPLOAD = 256 * 1024;

before(async () => {
  const engine = await createPocketSphinxEngine({ workers: 1 });
  server = await startSimulationServer({
    engine,
    limits: { maxUploadBytes: MAX_UPLOAD, uploadIdleTimeoutMs: 1_500, uploadMinBytesPerSecond: 4096, uploadPaceGraceMs: 2_000 },
    connections: { headersTimeoutMs: 1_500, handshakeTimeoutMs: 1_000, firstRequestTimeoutMs: 1_000, maxConnections: 6 },
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

/** An upload that keeps a fair pace (32 KiB/s) for about 2 s, then ends; `answer` is what the server said. */
async function slowUpload(): Promise<{ socket: Socket; answer: Promise<Awaited<ReturnType<typeof readAnswer>>> }> {
  const socket = await openTls(server.url);
  socket.on('error', () => {});
  const body = multipartBody(Buffer.alloc(64 * 1024, 0x41));
  const answer = readAnswer(socket, 15_000);
  socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: body.length }));
  void (async () => {
    for (let at = 0; at < body.length && !socket.destroyed; at += 8 * 1024) {
      socket.write(body.subarray(at, at + 8 * 1024));
      await sleep(250);
    }
  })();
  return { socket, answer };
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

  it('a TLS connection that sends no request is closed after the first-request timeout, long before the headers timeout', async () => {
    // A server of its own: with the suite's 1.5 s headers timeout, Node's own check would close the socket as well.
    const patient = await startSimulationServer({ connections: { headersTimeoutMs: 60_000, firstRequestTimeoutMs: 1_000 } });
    try {
      await closedWithin(await openTls(patient.url), 6_000);
    } finally {
      await patient.close();
    }
  });

  it('at the cap, a new connection closes the longest-idle one; running uploads are never closed', async () => {
    const uploads = await Promise.all(Array.from({ length: 2 }, () => slowUpload()));
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 10; i++) idle.push((await openTls(server.url, { timeoutMs: 3_000 })).on('error', () => {}));
      await sleep(300);
      const open = idle.filter((s) => !s.destroyed && !s.readableEnded);
      assert.deepEqual(open, idle.slice(-4), 'the 4 newest idle connections are open beside the 2 uploads');
      const socket = await openTls(server.url);
      socket.write('GET /healthz HTTP/1.1\r\nhost: e\r\n\r\n');
      assert.equal((await readAnswer(socket))?.status, 200, 'a new client is served at the cap');
      for (const u of uploads) assert.equal((await u.answer)?.status, 400, 'each upload ran to its answer (not audio: 400)');
    } finally {
      for (const s of [...idle, ...uploads.map((u) => u.socket)]) s.destroy();
    }
  });

  it('when every connection has a request running, a new one is dropped, and served again once one ends', async () => {
    const uploads = await Promise.all(Array.from({ length: 6 }, () => slowUpload()));
    try {
      const outcome = await openTls(server.url, { timeoutMs: 3_000 }).then(
        (s) => new Promise<string>((resolve) => s.on('error', () => {}).once('close', () => resolve('closed')).resume()),
        () => 'refused',
      );
      assert.ok(['closed', 'refused'].includes(outcome), outcome);
      for (const u of uploads) assert.equal((await u.answer)?.status, 400, 'every upload ran to its answer');
    } finally {
      for (const u of uploads) u.socket.destroy();
    }
    const socket = await openTls(server.url);
    socket.write('GET /healthz HTTP/1.1\r\nhost: e\r\n\r\n');
    assert.equal((await readAnswer(socket))?.status, 200);
  });

  it('a file of exactly the size limit is taken in; one byte more, sent chunked, is a 413 and the server goes on', async () => {
    const exact = multipartBody(Buffer.alloc(MAX_UPLOAD, 0x41));
    const socket = await openTls(server.url);
    socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: exact.length }));
    socket.write(exact);
    const atLimit = await readAnswer(socket);
    assert.equal(errorCode(atLimit), 'UNREADABLE_AUDIO', `a file of exactly the limit reaches the engine: ${atLimit?.body}`);

    const over = await openTls(server.url);
    const chunk = (bytes: Buffer | string) => over.write(Buffer.concat([Buffer.from(`${Buffer.byteLength(bytes).toString(16)}\r\n`), Buffer.from(bytes), Buffer.from('\r\n')]));
    over.write(uploadHead('/v1/audio/transcriptions', { chunked: true }));
    chunk(filePartHead());
    for (let sent = 0; sent <= MAX_UPLOAD; sent += 16 * 1024) chunk(Buffer.alloc(16 * 1024, 0x42));
    const answer = await readAnswer(over);
    assert.equal(answer?.status, 413);
    assert.equal(errorCode(answer), 'FILE_TOO_LARGE');
    const alive = await openTls(server.url);
    alive.write('GET /healthz HTTP/1.1\r\nhost: e\r\n\r\n');
    assert.equal((await readAnswer(alive))?.status, 200, 'the server is still up');
  });

  it('pipelined requests are all answered, in order', async () => {
    const socket = await openTls(server.url);
    const nonce = 'ab'.repeat(32);
    const attestation = `GET /attestation?nonce=${nonce} HTTP/1.1\r\nhost: e\r\n\r\n`;
    const health = 'GET /healthz HTTP/1.1\r\nhost: e\r\n\r\n';
    socket.write(attestation + health + attestation + health + 'GET /healthz HTTP/1.1\r\nhost: e\r\nconnection: close\r\n\r\n');
    const answers = await readAnswers(socket, 10_000);
    assert.deepEqual(answers.map((a) => [a.status, a.headers['content-type']?.split(';')[0]]), [
      [200, 'application/cbor'],
      [200, 'application/json'],
      [200, 'application/cbor'],
      [200, 'application/json'],
      [200, 'application/json'],
    ]);
  });

  it('a connection pipelining more requests than allowed gets the answers before the excess, then a stated refusal and a close', async () => {
    const socket = await openTls(server.url);
    const nonce = 'ab'.repeat(32);
    socket.write(`GET /attestation?nonce=${nonce} HTTP/1.1\r\nhost: e\r\n\r\n`.repeat(50));
    const answers = await readAnswers(socket, 10_000);
    assert.equal(answers.length, 17, answers.map((a) => a.status).join(' '));
    assert.ok(answers.slice(0, 16).every((a) => a.status === 200));
    assert.equal(answers[16]!.status, 429);
    assert.equal(errorCode(answers[16]), 'TOO_MANY_PIPELINED');
    assert.equal(answers[16]!.headers.connection, 'close');
  });

  it('a body nobody reads (a GET with a trickled body) keeps its connection at most a few seconds', async () => {
    const socket = await openTls(server.url);
    socket.write('GET /healthz HTTP/1.1\r\nhost: e\r\ncontent-length: 1000000000\r\n\r\n');
    const drip = setInterval(() => socket.destroyed || socket.write('x'), 500);
    try {
      await closedWithin(socket, 10_000);
    } finally {
      clearInterval(drip);
    }
  });

  it('a parser error on a request pipelined behind a running transcription never takes its answer', async () => {
    const socket = await openTls(server.url);
    const body = multipartBody(Buffer.alloc(1000, 0x41));
    socket.write(Buffer.concat([Buffer.from(uploadHead('/v1/audio/transcriptions', { contentLength: body.length })), body, Buffer.from('GARBAGE \x00\x01\r\n\r\n')]));
    const answer = await readAnswer(socket);
    assert.notEqual(errorCode(answer), 'MALFORMED_REQUEST', 'the answer on the wire is the transcription\'s, or none');
  });

  it("answers a missing Host, an unknown Expect and CONNECT with the protocol's JSON", async () => {
    const cases: Array<[string, string, number, string]> = [
      ['no Host', 'GET /healthz HTTP/1.1\r\n\r\n', 400, 'MISSING_HOST'],
      ['Expect: 200-ok', 'GET /healthz HTTP/1.1\r\nhost: e\r\nexpect: 200-ok\r\n\r\n', 417, 'EXPECTATION_FAILED'],
      ['CONNECT', 'CONNECT evil.example:443 HTTP/1.1\r\nhost: evil.example:443\r\n\r\n', 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [what, bytes, status, code] of cases) {
      const socket = await openTls(server.url);
      socket.write(bytes);
      const answer = await readAnswer(socket);
      assert.equal(answer?.status, status, `${what}: ${answer?.status}`);
      assert.equal(errorCode(answer), code, `${what}: ${answer?.body}`);
    }
  });
});

describe('Expect: 100-continue', () => {
  it('a declared 10 GB body is refused with 413 and no 100 Continue; an admitted upload is invited, then served', async () => {
    const refused = await openTls(server.url);
    const got = readAnswer(refused, 10_000);
    refused.write(uploadHead('/v1/audio/transcriptions', { contentLength: 10 * 1024 ** 3 }).replace('\r\n\r\n', '\r\nexpect: 100-continue\r\n\r\n'));
    const answer = await got;
    assert.equal(answer?.status, 413, `the first answer: ${answer?.status}`);
    assert.equal(errorCode(answer), 'FILE_TOO_LARGE');

    const body = multipartBody(Buffer.alloc(1000, 0x41));
    const invited = await openTls(server.url);
    const first = new Promise<string>((resolve) => invited.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
    invited.write(uploadHead('/v1/audio/transcriptions', { contentLength: body.length }).replace('\r\n\r\n', '\r\nexpect: 100-continue\r\n\r\n'));
    assert.match(await first, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    const rest = readAnswer(invited, 10_000);
    invited.write(body);
    assert.equal(errorCode(await rest), 'UNREADABLE_AUDIO', 'the body sent after the invitation reaches the engine');
  });
});

describe('file names', () => {
  it('a file part with filename="" is refused as MISSING_FILENAME, whatever its size', async () => {
    for (const size of [100, 200 * 1024]) {
      const body = multipartBody(Buffer.alloc(size, 0x41), 'file', '');
      const answer = await exchange(server.url, Buffer.concat([Buffer.from(uploadHead('/v1/audio/transcriptions', { contentLength: body.length })), body]));
      assert.equal(answer?.status, 400, `${size} bytes: ${answer?.body}`);
      assert.equal(errorCode(answer), 'MISSING_FILENAME', `${size} bytes: ${answer?.body}`);
    }
  });
});
