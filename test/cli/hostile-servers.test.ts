/**
 * What a hostile server can make of the CLI: real TLS servers on loopback that answer wrongly (or attest honestly and
 * then lie), against the real CLI in its own process. Every answer, however wrong, must end in one typed error line
 * and its documented exit code, never a stack trace, and no audio may be sent twice to a server that answered.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { startAttestedLiar, startRawTlsServer, startSimulationServer, startTlsServer, type ReferenceServer } from '../../support/servers.js';
import { SCRIPT, scratchDir, speak, tone, wordErrorRate } from '../../support/speech.js';

let reference: ReferenceServer;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let root: string;
let wav: string;
/** A 5.9 MB recording: far more than a socket's buffers, so an early answer comes while most of it is still unsent. */
let longWav: string;

before(async () => {
  scratch = await scratchDir();
  reference = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1 }) });
  root = path.join(scratch.dir, 'root.pem');
  await writeFile(root, reference.provider.rootPem);
  wav = await tone(scratch.dir, 'tone', 2);
  longWav = await tone(scratch.dir, 'long', 185);
});

after(async () => {
  await reference?.close();
  await scratch?.dispose();
});

/** Exit `code`, exactly one verdict line `WORD  CODE: message` (verify prints it on stdout, transcribe on stderr), no stack trace. */
function assertTypedFailure(run: CliResult, code: number, errorCode: string): void {
  const output = run.stdout + run.stderr;
  assert.equal(run.code, code, output);
  assert.doesNotMatch(output, /\n\s+at |Unhandled|internal error|node:events/, output);
  const verdicts = output.split('\n').filter((line) => /^[A-Z]+  [A-Z_]+: /.test(line));
  assert.equal(verdicts.length, 1, output);
  assert.match(verdicts[0]!, new RegExp(`^[A-Z]+  ${errorCode}: `), output);
}

describe('a server answering /attestation with 200 text/html', () => {
  let html: Awaited<ReturnType<typeof startTlsServer>>;
  const paths: string[] = [];
  before(async () => {
    html = await startTlsServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>It works!</body></html>');
    });
  });
  after(() => html?.close());

  it('verify fails with PROTOCOL_ERROR, exit 3', async () => {
    assertTypedFailure(await runCli(['verify', html.url]), 3, 'PROTOCOL_ERROR');
  });

  it('verify --json prints a JSON verdict with PROTOCOL_ERROR, exit 3', async () => {
    const run = await runCli(['verify', html.url, '--json']);
    assert.equal(run.code, 3, run.stderr);
    assert.equal(run.stderr, '');
    assert.deepEqual(JSON.parse(run.stdout), { ok: false, code: 'PROTOCOL_ERROR', message: 'The server answered /attestation with "text/html", not application/cbor.', url: html.url });
  });

  it('transcribe fails with PROTOCOL_ERROR, exit 3, before sending any audio', async () => {
    paths.length = 0;
    assertTypedFailure(await runCli(['transcribe', html.url, wav, '--trust-root', root]), 3, 'PROTOCOL_ERROR');
    assert.ok(paths.length > 0 && paths.every((p) => p.startsWith('/attestation?')), paths.join(' '));
  });
});

describe('other wrong answers to /attestation', () => {
  const cases: { name: string; start: () => Promise<{ url: string; close(): Promise<void> }>; exit: number; code: string }[] = [
    { name: '200 application/cbor of 100 KiB', start: () => startTlsServer((_req, res) => res.writeHead(200, { 'content-type': 'application/cbor' }).end(Buffer.alloc(100 * 1024))), exit: 3, code: 'PROTOCOL_ERROR' },
    { name: '200 application/cbor of garbage', start: () => startTlsServer((_req, res) => res.writeHead(200, { 'content-type': 'application/cbor' }).end('<html>')), exit: 1, code: 'MALFORMED_CBOR' },
    { name: '204 without a body', start: () => startTlsServer((_req, res) => res.writeHead(204).end()), exit: 3, code: 'PROTOCOL_ERROR' },
    { name: '302 to elsewhere', start: () => startTlsServer((_req, res) => res.writeHead(302, { location: 'https://example.invalid/' }).end()), exit: 3, code: 'SERVER_ERROR' },
    { name: 'headers that are not HTTP (Content-Length: nope)', start: () => startRawTlsServer('HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n'), exit: 3, code: 'PROTOCOL_ERROR' },
    { name: 'a body shorter than its Content-Length', start: () => startRawTlsServer('HTTP/1.1 200 OK\r\nContent-Type: application/cbor\r\nContent-Length: 1000\r\n\r\nabc'), exit: 3, code: 'SERVER_UNREACHABLE' },
  ];
  for (const { name, start, exit, code } of cases) {
    it(`${name}: verify ends with ${code}, exit ${exit}`, async () => {
      const server = await start();
      try {
        assertTypedFailure(await runCli(['verify', server.url]), exit, code);
      } finally {
        await server.close();
      }
    });
  }
});

describe('an attested server that answers the upload with 10,000 headers', () => {
  it('is a PROTOCOL_ERROR saying its headers were too large (exit 3), and the audio is uploaded to it once', async () => {
    const liar = await startAttestedLiar(reference.provider, async (req, res) => {
      for await (const _ of req);
      res.writeHead(200, Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`x-filler-${i}`, 'x'])));
      res.end('hello');
    });
    try {
      const run = await runCli(['transcribe', liar.url, wav, '--trust-root', root]);
      assertTypedFailure(run, 3, 'PROTOCOL_ERROR');
      assert.match(run.stderr, /answered with headers larger than the 16 KiB a client accepts\./);
      assert.doesNotMatch(run.stderr, /Cannot talk to|trying a new connection/);
      assert.equal(liar.posts(), 1, 'uploads the hostile server received');
    } finally {
      await liar.close();
    }
  });
});

describe('an attested server that dribbles the transcript at 1 byte every 2 s', () => {
  it('transcribe --timeout 5 stops with TIMEOUT (exit 3) soon after the answer began, not when the server is done', async () => {
    const liar = await startAttestedLiar(reference.provider, async (req, res) => {
      for await (const _ of req);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
      res.flushHeaders();
      const timer = setInterval(() => res.write('a'), 2000);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const started = Date.now();
      const run = await runCli(['transcribe', liar.url, wav, '--trust-root', root, '--timeout', '5'], 40_000);
      const seconds = (Date.now() - started) / 1000;
      assertTypedFailure(run, 3, 'TIMEOUT');
      assert.match(run.stderr, /Reading the transcript from 127\.0\.0\.1:\d+ did not complete within 5 s\./);
      // 5 s from the headers, plus the attestation and upload; the server would need 2,000 s.
      assert.ok(seconds < 25, `${seconds.toFixed(1)} s`);
    } finally {
      await liar.close();
    }
  });
});

describe('an attested server that answers 200 after reading 256 KiB of a 5.9 MB upload', () => {
  it('is refused with UPLOAD_INCOMPLETE (exit 1), its receipt never checked against a prefix, the transcript not shown', async () => {
    const liar = await startAttestedLiar(reference.provider, async (req, res, issuer) => {
      // Reads 256 KiB and no more (leaving the connection open: the client is still uploading).
      const read: Buffer[] = [];
      let size = 0;
      await new Promise<void>((enough) => {
        const onData = (chunk: Buffer) => {
          read.push(chunk);
          size += chunk.length;
          if (size < 256 * 1024) return;
          req.off('data', onData).pause();
          enough();
        };
        req.on('data', onData);
      });
      // A real receipt, signed on this connection's key for the client's nonce, over the audio the server did read.
      const prefix = Buffer.concat(read);
      const body = Buffer.from('a transcript of the first eight seconds\n');
      const receipt = await issuer.issue(req.socket, {
        audioSha256: createHash('sha256').update(prefix).digest(),
        audioBytes: prefix.length,
        body,
        format: 'text',
        endpoint: '/v1/audio/transcriptions',
        requestTime: Date.now(),
        nonce: Buffer.from(String(req.headers['blindbox-receipt-nonce']), 'hex'),
      });
      res.writeHead(200, { 'content-type': 'text/plain', 'blindbox-receipt': receipt }).end(body);
    });
    try {
      const run = await runCli(['transcribe', liar.url, longWav, '--trust-root', root]);
      assertTypedFailure(run, 1, 'UPLOAD_INCOMPLETE');
      assert.match(run.stderr, /answered before it had received the whole audio \(\d+ of 5920\d{3} bytes sent\)/);
      assert.match(run.stderr, /the transcript is not shown/);
      assert.equal(run.stdout, '');
      assert.equal(liar.posts(), 1);
    } finally {
      await liar.close();
    }
  });
});

describe('an audio file whose name holds control characters and a quote', () => {
  it('transcribes end to end against the real server: the name travels encoded, not as raw bytes in the multipart header', async () => {
    const spoken = await speak(scratch.dir, 'slt', SCRIPT.slt[0]!, 'spoken');
    const hostile = path.join(scratch.dir, 'a\nb\rc\u001b[2Jd"e\u009b.wav');
    await copyFile(spoken, hostile);
    const run = await runCli(['transcribe', reference.url, hostile, '--trust-root', root]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(wordErrorRate(SCRIPT.slt[0]!, run.stdout).rate <= 0.5, run.stdout);
  });

  it('the part header a server receives is printable ASCII, and the name decodes back from it', async () => {
    const name = 'a\nb\rc\u001b[2Jd"e\u009bé 100%.wav';
    const hostile = path.join(scratch.dir, name);
    await copyFile(wav, hostile);
    let head = '';
    const liar = await startAttestedLiar(reference.provider, async (req, res) => {
      for await (const chunk of req) if (head.length < 1024) head += (chunk as Buffer).toString('latin1');
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"code":"SEEN","message":"seen"}}');
    });
    try {
      await runCli(['transcribe', liar.url, hostile, '--trust-root', root]);
    } finally {
      await liar.close();
    }
    const disposition = /content-disposition: form-data; name="file"; filename="([^"]*)"\r\n/i.exec(head);
    assert.ok(disposition, head.slice(0, 400));
    assert.match(disposition[1]!, /^[\x20-\x7e]*$/);
    assert.equal(decodeURIComponent(disposition[1]!), name);
  });
});
