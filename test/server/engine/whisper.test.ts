/**
 * The Whisper engine against stand-ins for whisper.cpp's server (support/fake-whisper.ts: real HTTP servers on
 * 127.0.0.1 that read only 16-bit WAV, run one request at a time, and as v1.7.6 answer failures with 200 and carry a
 * language over to the next request). The answers' meaning is tested through the real server and the client core
 * (`serve --engine whisper-http` as an operator starts it); fan-out, fairness and cancellation through the engine.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChannelError, connect, fileSource, type TranscribeOptions, type TranscriptResult } from '../../../src/core/index.js';
import { TRANSCRIPT_FORMATS, type TranscriptFormat } from '../../../src/protocol/transcript.js';
import { EngineError, type EngineErrorCode, type TranscriptionEngine } from '../../../src/server/engine/engine.js';
import { wavHeader } from '../../../src/server/engine/whisper/client.js';
import { createWhisperEngine } from '../../../src/server/engine/whisper/engine.js';
import { startEngine } from '../../../src/server/engines.js';
import { rootsTrusting, startSimulationServer, type ReferenceServer } from '../../../support/servers.js';
import { runCli, startServe, type ServeProcess } from '../../../support/cli.js';
import { BOUNDARY, errorCode, exchange, multipartBody, uploadHead } from '../../../support/raw-client.js';
import { startFakeWhisper, type FakeWhisper } from '../../../support/fake-whisper.js';
import { bursts, encode, scratchDir, speak } from '../../../support/speech.js';

const isCode = (code: EngineErrorCode, message?: RegExp) => (err: unknown) => err instanceof EngineError && err.code === code && (!message || message.test(err.message));
const refusedWith = (status: number, code: string) => (err: unknown) => err instanceof ChannelError && err.status === status && err.serverCode === code;

let scratch: Awaited<ReturnType<typeof scratchDir>>;
before(async () => (scratch = await scratchDir()));
after(() => scratch.dispose());

/** A simulation server in front of `engine`, and one transcription through the client core. */
async function serverWith(engine: TranscriptionEngine): Promise<{ server: ReferenceServer; transcribe(file: string, options?: TranscribeOptions): Promise<TranscriptResult> }> {
  const server = await startSimulationServer({ engine });
  return {
    server,
    async transcribe(file, options = {}) {
      const session = await connect(server.url, { roots: rootsTrusting(server) });
      try {
        return await session.transcribe(await fileSource(file), { format: 'verbose_json', ...options });
      } finally {
        await session.close();
      }
    },
  };
}

describe('whisper-http through the server, against whisper.cpp 1.7.6 and 1.8.5', () => {
  const fakes: Partial<Record<'1.7.6' | '1.8.5', FakeWhisper>> = {};
  const servers: Partial<Record<'1.7.6' | '1.8.5', Awaited<ReturnType<typeof serverWith>>>> = {};
  let clip: string;
  let three: { path: string; bursts: { start: number; end: number }[] };

  before(async () => {
    clip = await speak(scratch.dir, 'slt', 'The quick brown fox jumps over the lazy dog.', 'fox');
    three = await bursts(scratch.dir, 'three', 3);
    for (const version of ['1.7.6', '1.8.5'] as const) {
      fakes[version] = await startFakeWhisper({ version });
      servers[version] = await serverWith(await startEngine({ engine: 'whisper-http', upstream: fakes[version].url }));
    }
  });
  after(async () => {
    for (const version of ['1.7.6', '1.8.5'] as const) {
      await servers[version]?.server.close();
      await fakes[version]?.close();
    }
  });

  for (const version of ['1.7.6', '1.8.5'] as const) {
    it(`${version}: an error answer (HTTP 200 {"error"} from 1.7.6) fails the request with 502 ENGINE_FAILED, never an empty transcript`, async () => {
      fakes[version]!.fail('error');
      await assert.rejects(servers[version]!.transcribe(clip), refusedWith(502, 'ENGINE_FAILED'));
    });
  }

  it('1.7.6: every request names its language, so a French request leaves nothing behind: the next one is detected', async () => {
    const fake = fakes['1.7.6']!;
    const first = fake.requests.length;
    const french = await servers['1.7.6']!.transcribe(clip, { language: 'fr' });
    const detected = await servers['1.7.6']!.transcribe(clip);
    assert.deepEqual(fake.requests.slice(first).map((r) => r.fields.language), ['fr', 'auto']);
    assert.equal(french.language, 'fr');
    assert.equal(detected.language, 'en', 'the stand-in detects English; 1.7.6 would have kept French');
  });

  it('sends BCP 47 tags as Whisper codes (en-US → en, pt-BR → pt, jv → jw) and refuses a tag Whisper lacks with 422 before any audio goes', async () => {
    const fake = fakes['1.8.5']!;
    const first = fake.requests.length;
    for (const tag of ['en-US', 'pt-BR', 'jv']) await servers['1.8.5']!.transcribe(clip, { language: tag });
    assert.deepEqual(fake.requests.slice(first).map((r) => r.fields.language), ['en', 'pt', 'jw']);
    const bytes = fake.audioBytes();
    const started = fake.started();
    await assert.rejects(servers['1.8.5']!.transcribe(clip, { language: 'tlh' }), refusedWith(422, 'LANGUAGE_UNSUPPORTED'));
    assert.equal(fake.started(), started, 'no request reached whisper.cpp');
    assert.equal(fake.audioBytes(), bytes);
  });

  for (const encoding of ['mp3', 'flac', 'ogg', 'opus'] as const) {
    it(`hands whisper.cpp a 16 kHz mono 16-bit WAV for a ${encoding} upload, with language=auto and response_format=verbose_json`, async () => {
      const fake = fakes['1.8.5']!;
      const first = fake.requests.length;
      const result = await servers['1.8.5']!.transcribe(await encode(clip, encoding));
      assert.ok(result.text.length > 0 && (result.segments?.length ?? 0) > 0, 'heard something');
      const [request] = fake.requests.slice(first);
      assert.equal(request!.wav?.rate, 16_000);
      assert.equal(request!.wav?.channels, 1);
      assert.equal(request!.wav?.bits, 16);
      assert.equal(request!.fields.language, 'auto');
      assert.equal(request!.fields.response_format, 'verbose_json');
    });
  }

  it('times the segments from the recording and feeds them to every format; silence is an empty transcript, not an error', async () => {
    const result = await servers['1.8.5']!.transcribe(three.path);
    assert.equal(result.segments?.length, 3);
    result.segments!.forEach((s, i) => {
      assert.ok(Math.abs(s.start - three.bursts[i]!.start) < 0.05 && Math.abs(s.end - three.bursts[i]!.end) < 0.05, `segment ${i}: ${s.start}–${s.end}`);
    });
    const third: Record<TranscriptFormat, RegExp> = {
      text: /^speech speech speech$/,
      json: /^\{"text":"speech speech speech"\}$/,
      verbose_json: /"start":6,"end":8,"text":"speech"/,
      srt: /\n3\n00:00:06,000 --> 00:00:08,000\nspeech\n/,
      vtt: /\n00:00:06\.000 --> 00:00:08\.000\nspeech\n/,
    };
    for (const format of TRANSCRIPT_FORMATS) assert.match((await servers['1.8.5']!.transcribe(three.path, { format })).body, third[format], format);
    const silent = path.join(scratch.dir, 'silent.wav');
    await writeFile(silent, Buffer.concat([wavHeader(32_000), Buffer.alloc(64_000)]));
    const quiet = await servers['1.8.5']!.transcribe(silent);
    assert.equal(quiet.text, '');
    assert.deepEqual(quiet.segments, []);
  });

  it('passes an OpenAI temperature on to whisper.cpp, and refuses one out of [0, 1] with 400 before any audio goes', async () => {
    const fake = fakes['1.8.5']!;
    const upload = (temperature: string) => {
      const body = Buffer.concat([Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="temperature"\r\n\r\n${temperature}\r\n`), multipartBody(readFileSync(three.path))]);
      return exchange(servers['1.8.5']!.server.url, Buffer.concat([Buffer.from(uploadHead('/v1/audio/transcriptions', { contentLength: body.length })), body]));
    };
    const answer = await upload('0.4');
    assert.equal(answer?.status, 200, answer?.body);
    assert.equal(fake.requests.at(-1)?.fields.temperature, '0.4');
    const started = fake.started();
    for (const bad of ['1.5', '-0.1', 'hot']) assert.equal(errorCode(await upload(bad)), 'INVALID_TEMPERATURE', bad);
    assert.equal(fake.started(), started);
  });

  it('an upstream that drops the connection mid-request fails the request with 502 ENGINE_FAILED; the next one is served', async () => {
    fakes['1.8.5']!.fail('drop');
    await assert.rejects(servers['1.8.5']!.transcribe(clip), refusedWith(502, 'ENGINE_FAILED'));
    assert.ok((await servers['1.8.5']!.transcribe(clip)).text.length > 0);
  });
});

describe('an English-only model', () => {
  let fake: FakeWhisper;
  let served: Awaited<ReturnType<typeof serverWith>>;
  let clip: string;
  before(async () => {
    clip = await speak(scratch.dir, 'rms', 'Hello there.', 'hello');
    fake = await startFakeWhisper({ version: '1.8.5' });
    served = await serverWith(createWhisperEngine({ name: 'whisper', upstreams: [fake.url], model: { name: 'ggml-base.en.bin', englishOnly: true }, timeoutMs: 10_000 }));
  });
  after(async () => {
    await served.server.close();
    await fake.close();
  });

  it('refuses French with 422 LANGUAGE_UNSUPPORTED, as PocketSphinx does, and no audio reaches whisper.cpp', async () => {
    await assert.rejects(served.transcribe(clip, { language: 'fr' }), refusedWith(422, 'LANGUAGE_UNSUPPORTED'));
    assert.equal(fake.started(), 0);
    assert.equal(fake.audioBytes(), 0);
  });

  it('takes en-US, auto or no language as English', async () => {
    for (const language of ['en-US', 'auto', undefined]) assert.equal((await served.transcribe(clip, { language })).language, 'en');
    assert.deepEqual(fake.requests.map((r) => r.fields.language), ['en', 'en', 'en']);
  });
});

describe('long files and many users over two whisper.cpp servers', () => {
  const fakes: FakeWhisper[] = [];
  const engines: TranscriptionEngine[] = [];
  let long: Awaited<ReturnType<typeof bursts>>;
  let short: Awaited<ReturnType<typeof bursts>>;
  /** An engine that splits audio over 20 s into pieces of about 10 s. */
  const engine = (upstreams: readonly FakeWhisper[]) => {
    const e = createWhisperEngine({ upstreams: upstreams.map((f) => f.url), timeoutMs: 10_000, splitSeconds: 20, pieceSeconds: 10 });
    engines.push(e);
    return e;
  };
  const fake = async (msPerAudioSecond: number) => {
    const f = await startFakeWhisper({ version: '1.8.5', msPerAudioSecond });
    fakes.push(f);
    return f;
  };
  const waitFor = async (condition: () => boolean) => {
    for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(condition(), 'timed out waiting');
  };

  before(async () => {
    long = await bursts(scratch.dir, 'long', 40); // 120 s
    short = await bursts(scratch.dir, 'short', 2);
  });
  after(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(fakes.map((f) => f.close()));
  });

  it('splits a long file at pauses over both servers and joins the pieces with their times offset', async () => {
    const [a, b] = [await fake(2), await fake(2)];
    const transcript = await engine([a, b]).transcribe({ path: long.path });
    assert.ok(a.requests.length >= 2 && b.requests.length >= 2, `pieces on each server: ${a.requests.length}, ${b.requests.length}`);
    assert.equal(transcript.duration, 120);
    assert.equal(transcript.segments.length, long.bursts.length, 'no burst lost or doubled at a seam');
    transcript.segments.forEach((s, i) => {
      assert.ok(Math.abs(s.start - long.bursts[i]!.start) < 0.05 && Math.abs(s.end - long.bursts[i]!.end) < 0.05, `segment ${i}: ${s.start}–${s.end}`);
    });
  });

  it('streamed: tells each piece\'s segments in the order of the audio as soon as the pieces before are in, though a slower server finishes its pieces later', async () => {
    const [fast, slow] = [await fake(2), await fake(40)];
    const told: { start: number; end: number; text: string }[] = [];
    let sentAtFirst: number | undefined;
    const transcript = await engine([fast, slow]).transcribe({
      path: long.path,
      onSegment: (segment) => {
        sentAtFirst ??= slow.started() + fast.started();
        told.push(segment);
      },
    });
    assert.ok(slow.requests.length >= 1 && fast.requests.length >= 2, `pieces on each server: ${slow.requests.length}, ${fast.requests.length}`);
    assert.deepEqual(told, transcript.segments);
    assert.equal(transcript.text, told.map((s) => s.text).join(' '));
    assert.equal(told.length, long.bursts.length);
    for (let i = 1; i < told.length; i++) assert.ok(told[i]!.start >= told[i - 1]!.end, `segment ${i} in order`);
    // Told as it came: the first segment before every piece had even been sent.
    assert.ok(sentAtFirst! < slow.started() + fast.started(), `${sentAtFirst} pieces sent at the first segment, ${slow.started() + fast.started()} in all`);
  });

  it('a short request that arrives during a long split one finishes first', async () => {
    const servers = [await fake(20), await fake(20)];
    const e = engine(servers);
    const finished: string[] = [];
    const longJob = e.transcribe({ path: long.path }).then(() => finished.push('long'));
    await waitFor(() => servers.every((s) => s.started() > 0));
    const shortJob = e.transcribe({ path: short.path }).then(() => finished.push('short'));
    await Promise.all([longJob, shortJob]);
    assert.deepEqual(finished, ['short', 'long']);
  });

  it('cancelling stops the pieces still to come and cuts the running one', async () => {
    const server = await fake(50);
    const controller = new AbortController();
    const job = engine([server]).transcribe({ path: long.path, signal: controller.signal });
    await waitFor(() => server.started() > 0);
    controller.abort();
    await assert.rejects(job, isCode('CANCELLED'));
    await waitFor(() => server.abandoned() === 1);
    const sent = server.started();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(server.started(), sent, 'no piece was sent after the cancel');
    assert.ok(sent <= 2, `${sent} pieces of about 12 were sent`);
  });

  it('a failing piece fails the request and stops its other pieces', async () => {
    const servers = [await fake(20), await fake(20)];
    servers[1]!.fail('error');
    await assert.rejects(engine(servers).transcribe({ path: long.path }), isCode('ENGINE_FAILED', /failed to process audio/));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = servers[0]!.started() + servers[1]!.started();
    assert.ok(sent <= 4, `${sent} pieces of about 12 were sent`);
  });
});

describe('a client that goes away', () => {
  it('stops its long transcription: the running piece is cut and no other piece is sent', async () => {
    const fake = await startFakeWhisper({ version: '1.8.5', msPerAudioSecond: 50 });
    const served = await serverWith(createWhisperEngine({ upstreams: [fake.url], timeoutMs: 10_000, splitSeconds: 20, pieceSeconds: 10 }));
    try {
      const long = await bursts(scratch.dir, 'gone', 40);
      const controller = new AbortController();
      const job = served.transcribe(long.path, { signal: controller.signal });
      for (let i = 0; i < 500 && fake.started() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      controller.abort();
      await assert.rejects(job);
      for (let i = 0; i < 300 && fake.abandoned() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(fake.abandoned(), 1, 'the running piece was cut');
      const sent = fake.started();
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(fake.started(), sent, 'no piece was sent after the client left');
      assert.ok(sent <= 2, `${sent} pieces of about 12 were sent`);
    } finally {
      await served.server.close();
      await fake.close();
    }
  });
});

describe('whisper engine edges', () => {
  let clip: string;
  before(async () => (clip = (await bursts(scratch.dir, 'edge', 2)).path));

  it('gives up with TIMEOUT when the server takes longer than timeoutMs', async () => {
    const slow = await startFakeWhisper({ version: '1.8.5', msPerAudioSecond: 1_000 });
    const e = createWhisperEngine({ upstreams: [slow.url], timeoutMs: 200 });
    await assert.rejects(e.transcribe({ path: clip }), isCode('TIMEOUT'));
    await e.close();
    await slow.close();
  });

  /** A loopback URL where nothing listens. */
  const nobody = async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    return new URL(`http://127.0.0.1:${port}`);
  };

  it('reports an unreachable server as UNAVAILABLE', async () => {
    const e = createWhisperEngine({ upstreams: [await nobody()], timeoutMs: 5_000 });
    await assert.rejects(e.transcribe({ path: clip }), isCode('UNAVAILABLE', /unreachable/));
    await e.close();
  });

  it('gives the pieces a server that cannot be reached (a child restarting) to the others, and fails only when none can be', async () => {
    const fake = await startFakeWhisper({ version: '1.8.5' });
    const long = await bursts(scratch.dir, 'around', 20);
    const e = createWhisperEngine({ upstreams: [await nobody(), fake.url], timeoutMs: 5_000, splitSeconds: 20, pieceSeconds: 10 });
    assert.equal((await e.transcribe({ path: long.path })).segments.length, 20);
    assert.ok(fake.requests.length >= 4, `${fake.requests.length} pieces`);
    const down = createWhisperEngine({ upstreams: [await nobody(), await nobody()], timeoutMs: 5_000 });
    await assert.rejects(down.transcribe({ path: clip }), isCode('UNAVAILABLE', /unreachable/));
    await Promise.all([e.close(), down.close()]);
    await fake.close();
  });

  it('keeps a path prefix of the upstream URL and sends the model name and a temperature', async () => {
    let seen = '';
    let body = '';
    const server = createServer((req, res) => {
      seen = req.url ?? '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('latin1')));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: '', segments: [] })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const e = createWhisperEngine({ upstreams: [new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/whisper`)], model: { name: 'ggml-small.bin', englishOnly: false }, timeoutMs: 5_000 });
    await e.transcribe({ path: clip, temperature: 0.2 });
    assert.equal(seen, '/whisper/v1/audio/transcriptions');
    assert.match(body, /name="model"\r\n\r\nggml-small\.bin\r\n/);
    assert.match(body, /name="temperature"\r\n\r\n0\.2\r\n/);
    await e.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('on close, lets a running transcription finish and refuses new ones', async () => {
    const fake = await startFakeWhisper({ version: '1.8.5', msPerAudioSecond: 50 });
    const e = createWhisperEngine({ upstreams: [fake.url], timeoutMs: 5_000 });
    const running = e.transcribe({ path: clip });
    for (let i = 0; i < 200 && fake.started() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const closed = e.close();
    await assert.rejects(e.transcribe({ path: clip }), isCode('UNAVAILABLE'));
    assert.equal((await running).segments.length, 2);
    await closed;
    await fake.close();
  });
});

describe('blindbox serve --engine whisper-http --upstream <whisper.cpp 1.7.6>, with the CLI', () => {
  let fake: FakeWhisper;
  let serve: ServeProcess;
  let root: string;
  let clip: string;
  before(async () => {
    clip = (await bursts(scratch.dir, 'cli', 2)).path;
    fake = await startFakeWhisper({ version: '1.7.6' });
    root = path.join(scratch.dir, 'root.pem');
    serve = await startServe(['--simulate', '--engine', 'whisper-http', '--upstream', fake.url.href, '--trust-out', root]);
  });
  after(async () => {
    await serve?.stop();
    await fake?.close();
  });
  const transcribe = (...flags: string[]) => runCli(['transcribe', serve.url, clip, '--trust-root', root, ...flags]);

  it('an error answered with HTTP 200 fails the transcription (HTTP 502) instead of printing an empty transcript', async () => {
    fake.fail('error');
    const r = await transcribe();
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /HTTP 502/);
    assert.equal(r.stdout, '');
  });

  it('a French request is followed by one that detects the language again', async () => {
    const first = fake.requests.length;
    assert.equal((await transcribe('--language', 'fr')).code, 0);
    assert.equal((await transcribe()).code, 0);
    assert.deepEqual(fake.requests.slice(first).map((r) => [r.fields.language, r.language]), [['fr', 'fr'], ['auto', 'en']]);
  });
});
