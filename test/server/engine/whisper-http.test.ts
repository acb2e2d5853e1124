/**
 * The whisper-http engine against a stand-in for whisper.cpp's server: a real HTTP server on 127.0.0.1 that parses
 * the multipart upload with busboy and answers as whisper.cpp does (`verbose_json`, or an error).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import busboy from 'busboy';
import { EngineError, type EngineErrorCode, type TranscriptionEngine } from '../../../src/server/engine/engine.js';
import { createWhisperHttpEngine } from '../../../src/server/engine/whisper-http.js';
import { scratchDir } from '../../../support/speech.js';

/** What the stand-in received in one request. */
interface Received {
  readonly path: string;
  readonly fields: Record<string, string>;
  readonly file?: { readonly filename: string; readonly bytes: number; readonly sha256: string };
}

type Answer = (req: Received, res: ServerResponse) => void;

/** whisper.cpp's verbose_json: a leading space in texts, the language by name, more fields than we read. */
const WHISPER_CPP_ANSWER = {
  task: 'transcribe',
  language: 'english',
  duration: 4.2,
  text: ' Hello there. General Kenobi.',
  segments: [
    { id: 0, text: ' Hello there.', start: 0.0, end: 1.5, tokens: [50364, 2425], temperature: 0, avg_logprob: -0.2, no_speech_prob: 0.01 },
    { id: 1, text: ' General Kenobi.', start: 1.5, end: 4.4, tokens: [50439, 6996], temperature: 0, avg_logprob: -0.3, no_speech_prob: 0.02 },
  ],
};

function parse(req: IncomingMessage): Promise<Received> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: Received['file'];
    const form = busboy({ headers: req.headers });
    form.on('field', (name, value) => (fields[name] = value));
    form.on('file', (_name, stream, info) => {
      const hash = createHash('sha256');
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      stream.on('end', () => (file = { filename: info.filename ?? '', bytes, sha256: hash.digest('hex') }));
    });
    form.on('close', () => resolve({ path: req.url ?? '', fields, file }));
    form.on('error', reject);
    req.pipe(form);
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const isCode = (code: EngineErrorCode, message?: RegExp) => (err: unknown) => err instanceof EngineError && err.code === code && (!message || message.test(err.message));

describe('whisper-http engine', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let server: Server;
  let upstream: URL;
  let answer: Answer;
  const received: Received[] = [];
  let audio: string;
  const engines: TranscriptionEngine[] = [];
  const engine = (timeoutMs = 5_000) => {
    const e = createWhisperHttpEngine({ upstream, model: 'ggml-base.en', timeoutMs });
    engines.push(e);
    return e;
  };

  before(async () => {
    scratch = await scratchDir();
    audio = path.join(scratch.dir, 'clip.wav');
    await writeFile(audio, Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4000, 7)]));
    server = createServer((req, res) => {
      parse(req).then(
        (r) => {
          received.push(r);
          answer(r, res);
        },
        () => res.writeHead(400).end('bad multipart'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // A path prefix, as when the server sits behind a route: the engine appends /v1/audio/transcriptions to it.
    upstream = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/whisper`);
  });
  beforeEach(() => {
    received.length = 0;
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(WHISPER_CPP_ANSWER));
  });
  after(async () => {
    await Promise.all(engines.map((e) => e.close()));
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await scratch.dispose();
  });

  it('uploads the file with model, language and response_format=verbose_json, and maps the answer to a transcript', async () => {
    const e = engine();
    assert.equal(e.name, 'whisper-http');
    assert.equal(e.model, 'ggml-base.en');
    const transcript = await e.transcribe({ path: audio, filename: 'memo.wav', language: 'en' });
    assert.deepEqual(transcript, {
      text: 'Hello there. General Kenobi.',
      segments: [
        { start: 0, end: 1.5, text: 'Hello there.' },
        { start: 1.5, end: 4.2, text: 'General Kenobi.' },
      ],
      duration: 4.2,
      language: 'en',
    });
    assert.equal(received.length, 1);
    const [r] = received;
    assert.equal(r!.path, '/whisper/v1/audio/transcriptions');
    assert.deepEqual(r!.fields, { model: 'ggml-base.en', response_format: 'verbose_json', language: 'en' });
    assert.deepEqual(r!.file, { filename: 'memo.wav', bytes: 4004, sha256: sha256(await readFile(audio)) });
  });

  it('uploads a 128 MB file whole, named "audio" when no name is given (its memory is measured by bench/memory.ts)', async () => {
    const big = path.join(scratch.dir, 'big.wav');
    const size = 128 * 1024 * 1024;
    const out = await open(big, 'w');
    const block = Buffer.alloc(1024 * 1024, 1);
    for (let i = 0; i < size / block.length; i++) await out.write(block);
    await out.close();
    await engine().transcribe({ path: big });
    assert.equal(received[0]!.file!.bytes, size);
    assert.equal(received[0]!.file!.filename, 'audio');
  });

  const statuses: [number, EngineErrorCode][] = [
    [400, 'UNREADABLE_AUDIO'],
    [415, 'UNSUPPORTED_FORMAT'],
    [429, 'BUSY'],
    [500, 'UNAVAILABLE'],
    [503, 'UNAVAILABLE'],
  ];
  for (const [status, code] of statuses) {
    it(`maps an upstream ${status} to ${code}, with the upstream's message`, async () => {
      answer = (_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'failed to read the audio data', type: 'invalid_request_error' } }));
      await assert.rejects(engine().transcribe({ path: audio }), isCode(code, /failed to read the audio data/));
    });
  }

  it('maps an answer that is not verbose_json to UNAVAILABLE', async () => {
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('Hello there.');
    await assert.rejects(engine().transcribe({ path: audio }), isCode('UNAVAILABLE', /not JSON|other than/));
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: 42 }));
    await assert.rejects(engine().transcribe({ path: audio }), isCode('UNAVAILABLE', /verbose_json/));
  });

  it('gives up with TIMEOUT when the server takes longer than timeoutMs', async () => {
    answer = (_req, res) => setTimeout(() => res.writeHead(200).end('{}'), 1_000);
    await assert.rejects(engine(200).transcribe({ path: audio }), isCode('TIMEOUT'));
  });

  it('reports an unreachable server as UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const e = createWhisperHttpEngine({ upstream: new URL(`http://127.0.0.1:${port}`), timeoutMs: 5_000 });
    engines.push(e);
    await assert.rejects(e.transcribe({ path: audio }), isCode('UNAVAILABLE', /unreachable/));
  });

  it('stops with CANCELLED when the request is aborted', async () => {
    const controller = new AbortController();
    answer = () => controller.abort(); // the server never answers; the client goes away meanwhile
    await assert.rejects(engine().transcribe({ path: audio, signal: controller.signal }), isCode('CANCELLED'));
  });

  it('refuses an empty file without calling the server', async () => {
    const empty = path.join(scratch.dir, 'empty.wav');
    await writeFile(empty, Buffer.alloc(0));
    await assert.rejects(engine().transcribe({ path: empty }), isCode('EMPTY_AUDIO'));
    assert.equal(received.length, 0);
  });

  it('on close, lets a running transcription finish and refuses new ones', async () => {
    answer = (_req, res) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(WHISPER_CPP_ANSWER)), 200);
    const e = engine();
    const running = e.transcribe({ path: audio });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = e.close();
    await assert.rejects(e.transcribe({ path: audio }), isCode('UNAVAILABLE'));
    assert.equal((await running).text, 'Hello there. General Kenobi.');
    await closed;
  });
});
