/**
 * OpenAI's own Node SDK (`openai`, unchanged) against `serve`'s simulation, as any OpenAI-compatible tool would call
 * it, its requests sent over a BlindBox attested session (test/helpers/attested-fetch.ts: the TLS key pinned to the
 * attested one, the simulation's root trusted). Streamed transcription with the receipt from its events checked by
 * the core's receipt checker, the model list, translations (Whisper through a whisper.cpp stand-in; PocketSphinx's
 * refusal), word timestamps, and the fields an engine ignores said in a header.
 */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { connect, sha256Hex, verifyReceiptDocument, type AttestedSession, type TrustedRoot } from '../../src/core/index.js';
import { IGNORED_FIELDS_HEADER } from '../../src/protocol/endpoints.js';
import type { TranscriptionEngine } from '../../src/server/engine/engine.js';
import { EngineError } from '../../src/server/engine/engine.js';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { createWhisperEngine } from '../../src/server/engine/whisper/engine.js';
import { startFakeWhisper, type FakeWhisper } from '../../support/fake-whisper.js';
import { rootsTrusting, startSimulationServer, type ReferenceServer } from '../../support/servers.js';
import { SCRIPT, scratchDir, spokenRecording } from '../../support/speech.js';
import { attestedFetch } from '../helpers/attested-fetch.js';

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let wav: string;
let audio: Buffer;

before(async () => {
  scratch = await scratchDir();
  const lines = [...SCRIPT.slt, ...SCRIPT.rms].map((text) => ({ voice: 'slt' as const, text }));
  wav = (await spokenRecording(scratch.dir, 'sdk', lines, 1.5)).path;
  audio = await readFile(wav);
});
after(() => scratch?.dispose());

/** A server with `engine`, a session attested to it, and the SDK over that session. */
function sdkAgainst(engine: () => Promise<TranscriptionEngine>) {
  const live = {} as { server: ReferenceServer; session: AttestedSession; roots: TrustedRoot[]; openai: OpenAI };
  before(async () => {
    live.server = await startSimulationServer({ engine: await engine() });
    live.roots = rootsTrusting(live.server);
    live.session = await connect(live.server.url, { roots: live.roots });
    live.openai = new OpenAI({ apiKey: 'not-used', baseURL: `${live.server.url}/v1`, fetch: attestedFetch(live.session), maxRetries: 0 });
  });
  after(async () => {
    await live.session?.close();
    await live.server?.close();
  });
  return live;
}

describe('the OpenAI SDK against serve --simulate (PocketSphinx)', () => {
  const live = sdkAgainst(() => createPocketSphinxEngine({ workers: 1 }));

  it('audio.transcriptions.create({ stream: true }): deltas in order, joined equal to the done text, the receipt event verifies', async () => {
    const stream = await live.openai.audio.transcriptions.create({ file: createReadStream(wav), model: 'whisper-1', stream: true });
    const events: { type: string; delta?: string; text?: string; receipt?: string }[] = [];
    for await (const event of stream) events.push(event as never);
    const types = events.map((e) => e.type);
    const deltas = events.filter((e) => e.type === 'transcript.text.delta');
    assert.ok(deltas.length >= 2, `several deltas (${deltas.length})`);
    assert.deepEqual(types, [...deltas.map(() => 'transcript.text.delta'), 'blindbox.receipt', 'transcript.text.done']);
    const done = events.at(-1)!.text!;
    assert.equal(deltas.map((d) => d.delta).join(''), done);
    assert.match(done, /weather.*children/);
    const receipt = verifyReceiptDocument(Buffer.from(events.at(-2)!.receipt!, 'base64'), {
      now: new Date(),
      roots: live.roots,
      expectedPcrs: live.session.attested.attestation.pcrs,
      publicKeySha256: live.session.attested.binding.presentedSpkiSha256,
      audioSha256: sha256Hex(audio),
      transcriptSha256: sha256Hex(Buffer.from(done, 'utf8')),
      format: 'text',
    });
    assert.equal(receipt.content.engine, 'pocketsphinx');
  });

  it('models.list(): the attested engine\'s model, as OpenAI lists models', async () => {
    const models = [];
    for await (const model of live.openai.models.list()) models.push(model);
    assert.equal(models.length, 1);
    assert.equal(models[0]!.id, live.session.attested.service?.model);
    assert.equal(models[0]!.object, 'model');
    assert.equal((models[0] as unknown as { engine: string }).engine, 'pocketsphinx');
  });

  it('models.retrieve: the attested model by its id; another id is 404', async () => {
    const id = live.session.attested.service!.model;
    const model = await live.openai.models.retrieve(id);
    assert.deepEqual([model.id, model.object, (model as unknown as { engine: string }).engine], [id, 'model', 'pocketsphinx']);
    const err = await live.openai.models.retrieve('whisper-1').then(() => assert.fail('found'), (e: unknown) => e);
    assert.ok(err instanceof APIError, String(err));
    assert.deepEqual([err.status, err.code], [404, 'NOT_FOUND']);
  });

  it('audio.translations.create: 422 TRANSLATION_UNSUPPORTED, raised by the SDK as an APIError', async () => {
    const err = await live.openai.audio.translations.create({ file: createReadStream(wav), model: 'whisper-1' }).then(() => assert.fail('translated'), (e: unknown) => e);
    assert.ok(err instanceof APIError, String(err));
    assert.equal(err.status, 422);
    assert.equal(err.code, 'TRANSLATION_UNSUPPORTED');
  });

  it('verbose_json with timestamp_granularities word and segment: every word timed, in order; prompt and temperature said to be ignored', async () => {
    const { data, response } = await live.openai.audio.transcriptions
      .create({ file: createReadStream(wav), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'], prompt: 'weather', temperature: 0.3 })
      .withResponse();
    assert.ok(data.words && data.words.length > 20, `words (${data.words?.length})`);
    assert.equal(data.words.map((w) => w.word).join(' '), data.text);
    for (let i = 1; i < data.words.length; i++) assert.ok(data.words[i]!.start >= data.words[i - 1]!.end && data.words[i]!.end >= data.words[i]!.start, `word ${i} in order`);
    assert.ok((data.segments?.length ?? 0) >= 2);
    assert.equal(response.headers.get(IGNORED_FIELDS_HEADER), 'prompt, temperature');
    const plain = await live.openai.audio.transcriptions.create({ file: createReadStream(wav), model: 'whisper-1', response_format: 'verbose_json' }).withResponse();
    assert.equal(plain.data.words, undefined, 'no words unless asked');
    assert.equal(plain.response.headers.get(IGNORED_FIELDS_HEADER), null, 'nothing ignored when nothing was given');
  });

  it('timestamp_granularities with json: 400 INVALID_TIMESTAMP_GRANULARITY', async () => {
    const err = await live.openai.audio.transcriptions.create({ file: createReadStream(wav), model: 'whisper-1', response_format: 'json', timestamp_granularities: ['word'] }).then(() => assert.fail('accepted'), (e: unknown) => e);
    assert.ok(err instanceof APIError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'INVALID_TIMESTAMP_GRANULARITY');
  });
});

describe('the OpenAI SDK against serve --simulate (Whisper, through a whisper.cpp stand-in)', () => {
  let fake: FakeWhisper;
  const live = sdkAgainst(async () => {
    fake = await startFakeWhisper({ version: '1.8.5' });
    return createWhisperEngine({ upstreams: [fake.url], timeoutMs: 30_000 });
  });
  after(() => fake?.close());

  it('audio.translations.create: whisper.cpp is asked to translate; verbose_json says task translate and the receipt names the endpoint', async () => {
    const before = fake.requests.length;
    const { data, response } = await live.openai.audio.translations.create({ file: createReadStream(wav), model: 'whisper-1', response_format: 'verbose_json', prompt: 'a prompt', temperature: 0.4 }).withResponse();
    const sent = fake.requests.slice(before);
    assert.ok(sent.length >= 1);
    for (const request of sent) assert.deepEqual([request.fields.translate, request.fields.prompt, request.fields.temperature], ['true', 'a prompt', '0.4']);
    assert.equal((data as unknown as { task: string }).task, 'translate');
    assert.equal(response.headers.get(IGNORED_FIELDS_HEADER), null, 'whisper uses prompt and temperature');
    const receipt = verifyReceiptDocument(Buffer.from(response.headers.get('blindbox-receipt')!, 'base64'), { now: new Date(), roots: live.roots, audioSha256: sha256Hex(audio), transcriptSha256: sha256Hex(Buffer.from(JSON.stringify(data))), format: 'verbose_json' });
    assert.equal(receipt.content.endpoint, '/v1/audio/translations');
  });

  it('word timestamps from whisper.cpp\'s timed tokens, joined into words', async () => {
    const data = await live.openai.audio.transcriptions.create({ file: createReadStream(wav), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word'] });
    assert.ok(data.words && data.words.length === data.segments!.length, `one word per segment (${data.words?.length})`);
    data.words.forEach((w, i) => {
      assert.equal(w.word, 'speech');
      assert.ok(Math.abs(w.start - data.segments![i]!.start) < 0.01 && Math.abs(w.end - data.segments![i]!.end) < 0.01, `word ${i} spans its segment`);
    });
  });

  it('audio.transcriptions.create({ stream: true }): the stand-in\'s segments as deltas, the receipt verifies', async () => {
    const stream = await live.openai.audio.transcriptions.create({ file: createReadStream(wav), model: 'whisper-1', stream: true });
    const events: { type: string; delta?: string; text?: string; receipt?: string }[] = [];
    for await (const event of stream) events.push(event as never);
    const done = events.at(-1)!;
    assert.equal(done.type, 'transcript.text.done');
    assert.equal(events.filter((e) => e.type === 'transcript.text.delta').map((e) => e.delta).join(''), done.text);
    assert.match(done.text!, /^speech( speech)+$/);
    verifyReceiptDocument(Buffer.from(events.at(-2)!.receipt!, 'base64'), { now: new Date(), roots: live.roots, audioSha256: sha256Hex(audio), transcriptSha256: sha256Hex(Buffer.from(done.text!, 'utf8')), format: 'text' });
  });
});

describe('the OpenAI SDK, an engine that fails after its first segment', () => {
  const live = sdkAgainst(async () => ({
    name: 'failing',
    model: 'failing',
    transcribe: async (request) => {
      request.onSegment?.({ start: 0, end: 1, text: 'first words' });
      throw new EngineError('ENGINE_FAILED', 'The transcription server broke.');
    },
    close: async () => {},
  }));

  it('the stream began: the failure is its last event, which the SDK raises as an APIError after the first delta', async () => {
    const stream = await live.openai.audio.transcriptions.create({ file: createReadStream(wav), model: 'whisper-1', stream: true });
    const events: { type: string; delta?: string }[] = [];
    const err = await (async () => {
      for await (const event of stream) events.push(event as never);
    })().then(() => assert.fail('the stream ended without the error'), (e: unknown) => e);
    assert.deepEqual(events, [{ type: 'transcript.text.delta', delta: 'first words', start: 0, end: 1 }]);
    assert.ok(err instanceof APIError, String(err));
    assert.equal(err.code, 'ENGINE_FAILED');
    // The slot is given back (once the upload's directory is removed, just after the answer ends).
    for (let i = 0; i < 50 && live.server.inFlight() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(live.server.inFlight(), 0);
  });
});
