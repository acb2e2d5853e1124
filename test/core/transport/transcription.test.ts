/**
 * Transcription end to end on loopback: flite speech → attested, pinned upload →
 * the reference server's PocketSphinx engine → transcript; and everything a
 * client can get wrong, or a man in the middle can try, on the way.
 */
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
// undici's own FormData: the global one belongs to Node's bundled copy, which this undici cannot serialise.
import { Client, FormData } from 'undici';
import { BlindBoxError, ChannelError, bytesSource, connect, fileSource, sha256Hex, type AttestedSession } from '../../../src/core/index.js';
import { createPocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import { rootsTrusting, startAttestedLiar, startMitmProxy, startSimulationServer, type AttestedLiar, type ReferenceServer } from '../../../support/servers.js';
import { SCRIPT, encode, scratchDir, speak, concatenate, wordErrorRate } from '../../../support/speech.js';

/** Word error rate bound for flite speech through the whole path (PocketSphinx measures 9–11 % on it). */
const WER_BOUND = 0.25;

let server: ReferenceServer;
let session: AttestedSession;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let speech: { wav: string; text: string };

before(async () => {
  scratch = await scratchDir();
  const engine = await createPocketSphinxEngine({ workers: 2, maxQueue: 4 });
  server = await startSimulationServer({ engine, limits: { maxUploadBytes: 4 * 1024 * 1024, maxInFlight: 6 } });
  session = await connect(server.url, { roots: rootsTrusting(server) });
  const parts = await Promise.all([
    speak(scratch.dir, 'slt', SCRIPT.slt.slice(0, 2).join(' '), 'slt'),
    speak(scratch.dir, 'rms', SCRIPT.rms.slice(0, 2).join(' '), 'rms'),
  ]);
  speech = { wav: await concatenate(parts, path.join(scratch.dir, 'both.wav')), text: [...SCRIPT.slt.slice(0, 2), ...SCRIPT.rms.slice(0, 2)].join(' ') };
});

after(async () => {
  await session?.close();
  await server?.close();
  await scratch?.dispose();
});

describe('transcription over the attested channel', () => {
  for (const format of ['wav', 'mp3', 'flac'] as const) {
    it(`transcribes two voices' speech as ${format.toUpperCase()} within the word error rate bound`, async (t) => {
      const file = format === 'wav' ? speech.wav : await encode(speech.wav, format);
      let progress = 0;
      const result = await session.transcribe(await fileSource(file), { format: 'text', onProgress: (sent) => (progress = sent) });
      const wer = wordErrorRate(speech.text, result.text);
      t.diagnostic(`${format}: WER ${(wer.rate * 100).toFixed(1)} % — "${result.text}"`);
      assert.ok(wer.rate <= WER_BOUND, `WER ${(wer.rate * 100).toFixed(1)} % above ${WER_BOUND * 100} %`);
      assert.equal(progress, (await fileSource(file)).blob.size, 'progress reached the whole file');
    });
  }

  it('verbose_json segments cover the audio in order', async () => {
    const result = await session.transcribe(await fileSource(speech.wav), { format: 'verbose_json' });
    const segments = result.segments!;
    assert.ok(segments.length >= 2, `${segments.length} segments`);
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i]!;
      assert.ok(s.start >= 0 && s.end > s.start && s.end <= result.duration! + 0.05, `segment ${i} inside the audio`);
      if (i > 0) assert.ok(s.start >= segments[i - 1]!.end - 1e-6, `segment ${i} after segment ${i - 1}`);
    }
    assert.ok(segments[0]!.start < 2 && segments.at(-1)!.end > result.duration! - 3, 'the segments span the speech');
    assert.equal(segments.map((s) => s.text).join(' ').replace(/\s+/g, ' ').trim(), result.text.replace(/\s+/g, ' ').trim());
  });

  it('PocketSphinx takes English (en, en-US) and refuses French with 422 LANGUAGE_UNSUPPORTED, not an English transcript of it', async () => {
    const english = await session.transcribe(await fileSource(speech.wav), { language: 'en-US' });
    assert.ok(wordErrorRate(speech.text, english.text).rate <= WER_BOUND);
    const err = await session.transcribe(await fileSource(speech.wav), { language: 'fr' }).then(() => assert.fail('transcribed'), (e: unknown) => e);
    assert.ok(err instanceof ChannelError);
    assert.deepEqual([err.code, err.status, err.serverCode], ['SERVER_ERROR', 422, 'LANGUAGE_UNSUPPORTED']);
    assert.match(err.serverMessage ?? '', /transcribes en only, not "fr"/);
  });

  it('answers srt and vtt, and BlindBox\'s /whisper/predict with plain text', async () => {
    const srt = await session.transcribe(await fileSource(speech.wav), { format: 'srt' });
    assert.match(srt.body, /^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n/);
    const vtt = await session.transcribe(await bytesSource('speech.wav', await readFile(speech.wav)), { format: 'vtt' });
    assert.match(vtt.body, /^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> /);
    const form = new FormData();
    form.set('audio', await openAsBlob(speech.wav), 'speech.wav');
    const res = await session.request('/whisper/predict', { method: 'POST', body: form as never });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.ok(wordErrorRate(speech.text, await res.body.text()).rate <= WER_BOUND);
  });
});

describe('through a TLS-terminating man in the middle', () => {
  it('is refused, and the proxy receives zero bytes of audio', async () => {
    const mitm = await startMitmProxy(server.url);
    try {
      const source = await fileSource(speech.wav);
      await assert.rejects(
        (async () => (await connect(mitm.url, { roots: rootsTrusting(server) })).transcribe(source))(),
        (err: unknown) => err instanceof ChannelError && err.code === 'TLS_BINDING_MISMATCH',
      );
      assert.equal(mitm.seen.bodyBytes, 0);
      assert.deepEqual(mitm.seen.paths.map((p) => p.split('?')[0]), ['/attestation']);
    } finally {
      await mitm.close();
    }
  });
});

describe('robustness', () => {
  async function post(fields: Array<[string, Blob | string, string?]>, pathName = '/v1/audio/transcriptions') {
    const form = new FormData();
    for (const [name, value, filename] of fields) {
      if (typeof value === 'string') form.append(name, value);
      else form.append(name, value, filename);
    }
    const res = await session.request(pathName, { method: 'POST', body: form as never });
    const body = (await res.body.json()) as { error: { code: string; message: string } };
    return { status: res.statusCode, code: body.error?.code, message: body.error?.message };
  }

  it('a wrong field name is a 400 naming the right one', async () => {
    const r = await post([['audio', new Blob([Buffer.alloc(10)]), 'a.wav']]);
    assert.equal(r.status, 400);
    assert.match(r.message, /"file"/);
  });

  it('non-audio bytes are a 400 (or 415), a 0-byte file a 400', async () => {
    const junk = await post([['file', new Blob(['this is not audio at all, just text '.repeat(200)]), 'notes.wav']]);
    assert.ok([400, 415].includes(junk.status), `${junk.status} ${junk.code}`);
    const empty = await post([['file', new Blob([]), 'empty.wav']]);
    assert.equal(empty.status, 400);
    assert.equal(empty.code, 'EMPTY_FILE');
  });

  it('an unknown response_format is a 400, a non-multipart body a 415', async () => {
    assert.equal((await post([['response_format', 'docx'], ['file', new Blob([Buffer.alloc(100)]), 'a.wav']])).code, 'INVALID_RESPONSE_FORMAT');
    const res = await session.request('/v1/audio/transcriptions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.statusCode, 415);
    await res.body.dump();
  });

  it('an oversize file is a 413, and the connection stays usable for the next request', async () => {
    const big = path.join(scratch.dir, 'big.wav');
    await writeFile(big, Buffer.alloc(5 * 1024 * 1024, 1));
    const r = await post([['file', await openAsBlob(big), 'big.wav']]);
    assert.equal(r.status, 413);
    assert.equal(r.code, 'FILE_TOO_LARGE');
    assert.equal((await session.request('/healthz')).statusCode, 200);
  });

  it('a truncated upload gets a 400 and no transcript', async () => {
    // Declares a multipart body, then ends it in the middle of the file part.
    const boundary = 'xxBOUNDARYxx';
    const head = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\ncontent-type: audio/wav\r\n\r\n`;
    const res = await session.request('/v1/audio/transcriptions', {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Buffer.concat([Buffer.from(head), Buffer.alloc(1000, 7)]),
    });
    assert.equal(res.statusCode, 400);
    assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'MALFORMED_MULTIPART');
  });

  it('20 concurrent requests against 2 workers: each answered, or cleanly refused with 429/503', async () => {
    const clip = await speak(scratch.dir, 'slt', SCRIPT.slt[2]!, 'clip');
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async () => {
        try {
          const r = await session.transcribe(await fileSource(clip));
          return wordErrorRate(SCRIPT.slt[2]!, r.text).rate <= WER_BOUND ? 'ok' : 'bad transcript';
        } catch (err) {
          if (err instanceof ChannelError && (err.status === 429 || err.status === 503)) return `refused ${err.status}`;
          throw err;
        }
      }),
    );
    const ok = outcomes.filter((o) => o === 'ok').length;
    assert.ok(ok >= 2, `at least the workers' share succeeded: ${outcomes.join(', ')}`);
    assert.ok(outcomes.every((o) => o === 'ok' || o.startsWith('refused')), outcomes.join(', '));
    assert.equal((await session.request('/healthz')).statusCode, 200, 'the server is still up');
  });

  it('cancelling mid-upload frees the server slot', async () => {
    const slow = new Client(server.url, { connect: { rejectUnauthorized: false } });
    try {
      const controller = new AbortController();
      const boundary = 'cancelB';
      async function* chunks() {
        yield Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\n\r\n`);
        for (let i = 0; i < 20; i++) {
          yield Buffer.alloc(16 * 1024, 1);
          await new Promise((r) => setTimeout(r, 20));
        }
        controller.abort();
        await new Promise((r) => setTimeout(r, 1000));
      }
      const started = slow.request({ path: '/v1/audio/transcriptions', method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: Readable.from(chunks()), signal: controller.signal });
      await assert.rejects(started);
      // The server notices the closed connection and releases the upload's slot.
      const deadline = Date.now() + 5000;
      while (server.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(server.inFlight(), 0, 'the cancelled upload no longer holds a slot');
      assert.ok(wordErrorRate(speech.text, (await session.transcribe(await fileSource(speech.wav))).text).rate <= WER_BOUND, 'the next transcription works');
    } finally {
      await slow.close();
    }
  });
});

describe('what a transcription asks: its fields and its task', () => {
  /** What the liar was sent last: the path and the multipart body as text. */
  let seen = { path: '', body: '' };
  let liar: AttestedLiar;
  /** The endpoint the liar's receipt names. */
  let receiptEndpoint = '/v1/audio/translations';
  before(async () => {
    liar = await startAttestedLiar(server.provider, async (req, res, issuer) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      seen = { path: String(req.url), body: Buffer.concat(chunks).toString('latin1') };
      const audio = await readFile(speech.wav);
      const body = Buffer.from('in english');
      const receipt = await issuer.issue(req.socket, { audioSha256: Buffer.from(sha256Hex(audio), 'hex'), audioBytes: audio.length, body, format: 'text', endpoint: receiptEndpoint, requestTime: Date.now(), nonce: Buffer.from(String(req.headers['blindbox-receipt-nonce']), 'hex') });
      res.writeHead(200, { 'content-type': 'text/plain', 'blindbox-receipt': receipt, 'blindbox-ignored-fields': 'prompt, temperature' }).end(body);
    });
  });
  after(() => liar?.close());

  const field = (name: string) => [...seen.body.matchAll(new RegExp(`name="${name.replace(/[[\]]/g, '\\$&')}"\\r\\n\\r\\n([^\\r]*)\\r\\n`, 'g'))].map((m) => m[1]);

  it('prompt, temperature and timestamp_granularities[] go as the server reads them; translate goes to /v1/audio/translations; the ignored fields are said', async () => {
    const liarSession = await connect(liar.url, { roots: rootsTrusting(server) });
    try {
      receiptEndpoint = '/v1/audio/translations';
      const result = await liarSession.transcribe(await fileSource(speech.wav), { format: 'text', task: 'translate', prompt: 'weather', temperature: 0.4, timestampGranularities: ['word', 'segment'] });
      assert.equal(result.text, 'in english');
      assert.equal(seen.path, '/v1/audio/translations');
      assert.deepEqual([field('prompt'), field('temperature'), field('timestamp_granularities[]')], [['weather'], ['0.4'], ['word', 'segment']]);
      assert.deepEqual(result.ignoredFields, ['prompt', 'temperature']);
    } finally {
      await liarSession.close();
    }
  });

  it('a translation answered with a receipt for a transcription: RECEIPT_MISMATCH; a temperature above 1: INVALID_OPTION before anything is sent', async () => {
    const liarSession = await connect(liar.url, { roots: rootsTrusting(server) });
    try {
      receiptEndpoint = '/v1/audio/transcriptions';
      const err = await liarSession.transcribe(await fileSource(speech.wav), { format: 'text', task: 'translate' }).then(() => assert.fail('accepted'), (e: unknown) => e);
      assert.ok(err instanceof BlindBoxError);
      assert.equal(err.code, 'RECEIPT_MISMATCH', err.message);
      const posts = liar.posts();
      const hot = await liarSession.transcribe(await fileSource(speech.wav), { temperature: 1.5 }).then(() => assert.fail('accepted'), (e: unknown) => e);
      assert.ok(hot instanceof BlindBoxError);
      assert.equal(hot.code, 'INVALID_OPTION');
      assert.equal(liar.posts(), posts);
    } finally {
      await liarSession.close();
    }
  });
});
