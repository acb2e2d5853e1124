/**
 * Busy servers: the reference server with one slot answers 503 with `Retry-After`, and the client retries until it
 * is served; a hostile server that always answers 429 gets a bounded number of attempts, then a clear error; a
 * cancel during the wait stops at once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client } from 'undici';
import { busyWaitMs, ChannelError, connect, fileSource, sha256Hex, type RetryNotice } from '../../../src/core/index.js';
import { createPocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import { rootsTrusting, startAttestedLiar, startSimulationServer, type AttestedLiar, type ReferenceServer } from '../../../support/servers.js';
import { SCRIPT, scratchDir, speak } from '../../../support/speech.js';
import { runCli } from '../../../support/cli.js';

let server: ReferenceServer;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let wav: string;

before(async () => {
  scratch = await scratchDir();
  wav = await speak(scratch.dir, 'slt', SCRIPT.slt[0]!, 'busy');
  const engine = await createPocketSphinxEngine({ workers: 1, maxQueue: 2 });
  server = await startSimulationServer({ engine, limits: { maxInFlight: 1, busyRetryAfterSeconds: 1, admissionWaitMs: 0 } });
});

after(async () => {
  await server?.close();
  await scratch?.dispose();
});

/** Takes the reference server's only slot with an upload that never ends, until `release()`. */
async function holdSlot(url: string): Promise<{ release(): Promise<void> }> {
  const client = new Client(url, { connect: { rejectUnauthorized: false } });
  const body = new PassThrough();
  body.write('--x\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF');
  const answered = client
    .request({ path: '/v1/audio/transcriptions', method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x', 'blindbox-receipt-nonce': randomBytes(32).toString('hex') }, body })
    .then((r) => r.body.dump(), () => undefined);
  // Admitted once the server has read the headers; wait until it counts the slot.
  for (let i = 0; i < 100 && server.inFlight() !== 1; i++) await new Promise((r) => setTimeout(r, 20));
  return {
    async release() {
      body.destroy();
      await client.destroy();
      await answered;
    },
  };
}

describe('busy answers are retried as the server asks', () => {
  it('the reference server with its only slot taken answers 503 Retry-After 1; the upload is retried and served with a valid receipt', async () => {
    const session = await connect(server.url, { roots: rootsTrusting(server) });
    const slot = await holdSlot(server.url);
    try {
      const notices: RetryNotice[] = [];
      const result = await session.transcribe(await fileSource(wav), {
        onRetry: (notice) => {
          notices.push(notice);
          void slot.release();
        },
      });
      assert.deepEqual(notices, [{ status: 503, retry: 1, maxRetries: 3, waitMs: 1000 }]);
      assert.match(result.text, /\w+/);
      // The retry re-streamed and re-hashed the file: the receipt is over exactly its bytes.
      assert.equal(result.receipt.file.audio.sha256, sha256Hex(await readFile(wav)));
    } finally {
      await slot.release();
      await session.close();
    }
  });
});

describe('a hostile server that is always busy', () => {
  let hostile: AttestedLiar;
  let retryAfter = '0';
  let refusal = { status: 429, code: 'BUSY' };
  before(async () => {
    hostile = await startAttestedLiar(server.provider, async (req, res) => {
      for await (const _ of req);
      res.writeHead(refusal.status, { 'retry-after': retryAfter, 'content-type': 'application/json' }).end(`{"error":{"code":"${refusal.code}","message":"always"}}`);
    });
  });
  after(() => hostile?.close());

  it('gets the bounded number of attempts, then a clear error', async () => {
    const session = await connect(hostile.url, { roots: rootsTrusting(server) });
    try {
      const postsBefore = hostile.posts();
      const notices: RetryNotice[] = [];
      const err = await session.transcribe(await fileSource(wav), { retry: { maxRetries: 2 }, onRetry: (n) => notices.push(n) }).then(() => assert.fail('served'), (e: unknown) => e);
      assert.ok(err instanceof ChannelError);
      assert.equal(err.code, 'SERVER_ERROR');
      assert.equal(err.status, 429);
      assert.match(err.message, /HTTP 429\) after 2 retries\./);
      assert.equal(hostile.posts() - postsBefore, 3);
      assert.deepEqual(notices.map((n) => n.retry), [1, 2]);
    } finally {
      await session.close();
    }
  });

  for (const [status, code, words] of [
    [503, 'INSUFFICIENT_STORAGE', 'it has no room to store the upload now; try again later'],
    [429, 'SOURCE_SHARE_EXCEEDED', "your address already holds its share of the server's capacity while others wait; try again later"],
  ] as const) {
    it(`a ${code} refusal is retried, then said in our words`, async () => {
      const session = await connect(hostile.url, { roots: rootsTrusting(server) });
      try {
        const postsBefore = hostile.posts();
        refusal = { status, code };
        const err = await session.transcribe(await fileSource(wav), { retry: { maxRetries: 1 } }).then(() => assert.fail('served'), (e: unknown) => e);
        assert.ok(err instanceof ChannelError);
        assert.equal(err.serverCode, code);
        assert.ok(err.message.endsWith(`HTTP ${status}) after 1 retry: ${words}.`), err.message);
        assert.equal(hostile.posts() - postsBefore, 2);
      } finally {
        refusal = { status: 429, code: 'BUSY' };
        await session.close();
      }
    });
  }


  it('with no retries allowed, a short Retry-After is refused at once without claiming it was too long', async () => {
    const session = await connect(hostile.url, { roots: rootsTrusting(server) });
    try {
      const postsBefore = hostile.posts();
      const err = await session.transcribe(await fileSource(wav), { retry: { maxRetries: 0 } }).then(() => assert.fail('served'), (e: unknown) => e);
      assert.ok(err instanceof ChannelError);
      assert.match(err.message, /\(HTTP 429\)\.$/);
      assert.equal(hostile.posts() - postsBefore, 1);
    } finally {
      await session.close();
    }
  });

  it('a Retry-After longer than the client waits at most is not retried, and the error says so', async () => {
    const session = await connect(hostile.url, { roots: rootsTrusting(server) });
    try {
      const postsBefore = hostile.posts();
      retryAfter = '3600';
      const err = await session.transcribe(await fileSource(wav)).then(() => assert.fail('served'), (e: unknown) => e);
      assert.ok(err instanceof ChannelError);
      assert.match(err.message, /asked to retry in 3600 s, longer than the 30 s waited at most/);
      assert.equal(hostile.posts() - postsBefore, 1);
    } finally {
      await session.close();
    }
  });

  it('the CLI says each wait on stderr, then exits 3 (server error) with its refusal', async () => {
    retryAfter = '0';
    const root = path.join(scratch.dir, 'root.pem');
    await writeFile(root, server.provider.rootPem);
    const run = await runCli(['transcribe', hostile.url, wav, '--trust-root', root]);
    assert.equal(run.code, 3, run.stderr);
    assert.equal(run.stdout, '');
    for (const n of [1, 2, 3]) assert.ok(run.stderr.includes(`blindbox: busy.wav: HTTP 429, server busy, retrying in 0 s (${n} of 3)\n`), run.stderr);
    assert.match(run.stderr, /HTTP 429\) after 3 retries/);
  });

  it('a cancel during the wait stops at once', async () => {
    const session = await connect(hostile.url, { roots: rootsTrusting(server) });
    try {
      const controller = new AbortController();
      const started = Date.now();
      retryAfter = '20';
      const err = await session
        .transcribe(await fileSource(wav), { signal: controller.signal, retry: { maxWaitMs: 60_000 }, onRetry: () => setTimeout(() => controller.abort(), 50) })
        .then(() => assert.fail('served'), (e: unknown) => e);
      assert.ok(err instanceof ChannelError);
      assert.equal(err.code, 'CANCELLED');
      assert.ok(Date.now() - started < 3_000, 'stopped during the 20 s wait');
    } finally {
      await session.close();
    }
  });
});

describe('a server rate-limiting attestation (429 ATTESTATION_RATE_LIMITED)', () => {
  let limited: ReferenceServer;
  before(async () => (limited = await startSimulationServer({ connections: { attestationsPerSource: { perSecond: 1, burst: 1 } } })));
  after(() => limited?.close());

  it('the attestation is asked again after the Retry-After, on a new connection, and succeeds', async () => {
    const first = await connect(limited.url, { roots: rootsTrusting(limited) });
    await first.close();
    const started = Date.now();
    const second = await connect(limited.url, { roots: rootsTrusting(limited) });
    await second.close();
    assert.ok(Date.now() - started >= 900, 'it waited the second the server asked');
  });

  it('a wait that does not fit in the attestation timeout is not made: the 429 is the error', async () => {
    const first = await connect(limited.url, { roots: rootsTrusting(limited) });
    await first.close();
    const err = await connect(limited.url, { roots: rootsTrusting(limited), timeoutMs: 500 }).then(() => assert.fail('attested'), (e: unknown) => e);
    assert.ok(err instanceof ChannelError);
    assert.equal(err.status, 429);
    assert.equal(err.serverCode, 'ATTESTATION_RATE_LIMITED');
  });
});

describe('busyWaitMs', () => {
  const at = Date.parse('2026-01-01T00:00:00Z');
  it('reads seconds and HTTP dates on 429 and 503 only', () => {
    assert.equal(busyWaitMs({ statusCode: 503, headers: { 'retry-after': '7' } }, at), 7000);
    assert.equal(busyWaitMs({ statusCode: 429, headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:12 GMT' } }, at), 12_000);
    assert.equal(busyWaitMs({ statusCode: 429, headers: { 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' } }, at), 0);
    assert.equal(busyWaitMs({ statusCode: 429, headers: { 'retry-after': 'soon' } }, at), undefined);
    assert.equal(busyWaitMs({ statusCode: 429, headers: {} }, at), undefined);
    assert.equal(busyWaitMs({ statusCode: 500, headers: { 'retry-after': '1' } }, at), undefined);
  });
});
