/**
 * Streamed transcriptions on the wire (`stream=true`, protocol/stream.ts), against the real server and PocketSphinx:
 * deltas told while the engine is still decoding, joined equal to the final text and to the unstreamed answer, the
 * receipt last but one over exactly that text, and a client that goes away stopping the engine's work.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch, FormData } from 'undici';
import { sha256Hex, verifyReceiptDocument, type TrustedRoot } from '../../src/core/index.js';
import { STREAM_EVENTS } from '../../src/protocol/stream.js';
import { createPocketSphinxEngine, type PocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import type { TranscriptionEngine } from '../../src/server/engine/engine.js';
import { rootsTrusting, startSimulationServer, type ReferenceServer } from '../../support/servers.js';
import { SCRIPT, scratchDir, spokenRecording } from '../../support/speech.js';

interface Event {
  readonly type: string;
  readonly [key: string]: unknown;
}

let server: ReferenceServer;
let engine: PocketSphinxEngine;
let roots: TrustedRoot[];
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let audio: Buffer;
/** What each transcription of the engine ended with: the transcript's text, or the error's code. */
const outcomes: string[] = [];
const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });

before(async () => {
  scratch = await scratchDir();
  engine = await createPocketSphinxEngine({ workers: 1 });
  // The real engine, its outcomes recorded: a cancel must reach it.
  const recorded: TranscriptionEngine = {
    name: engine.name,
    model: engine.model,
    languages: engine.languages,
    transcribe: (request) =>
      engine.transcribe(request).then(
        (t) => (outcomes.push('ok'), t),
        (err: { code?: string }) => {
          outcomes.push(err.code ?? 'error');
          throw err;
        },
      ),
    close: () => engine.close(),
  };
  server = await startSimulationServer({ engine: recorded });
  roots = rootsTrusting(server);
  // About 50 s: several utterances (each 10 to 30 s), so several steps of the engine.
  const lines = [...SCRIPT.slt, ...SCRIPT.rms, ...SCRIPT.slt].map((text) => ({ voice: 'slt' as const, text }));
  audio = await readFile((await spokenRecording(scratch.dir, 'long', lines, 1.5)).path);
});

after(async () => {
  await server?.close();
  await dispatcher.close();
  await scratch?.dispose();
});

function form(fields: Record<string, string>): FormData {
  const body = new FormData();
  body.set('file', new Blob([audio]), 'long.wav');
  for (const [name, value] of Object.entries(fields)) body.set(name, value);
  return body;
}

/** Posts a streamed request and reads its events as they come; `onEvent` may stop reading (returning true). */
async function streamEvents(onEvent: (event: Event) => boolean | void = () => {}): Promise<{ status: number; contentType: string; events: Event[] }> {
  const controller = new AbortController();
  const response = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({ stream: 'true', model: 'whisper-1' }), dispatcher, signal: controller.signal });
  const events: Event[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        assert.match(block, /^data: /, 'each event is one data line');
        const event = JSON.parse(block.slice('data: '.length)) as Event;
        events.push(event);
        if (onEvent(event)) controller.abort();
        if (controller.signal.aborted) break;
      }
      if (controller.signal.aborted) break;
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  if (!controller.signal.aborted) assert.equal(buffer, '', 'nothing after the last event');
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', events };
}

describe('stream=true on /v1/audio/transcriptions', () => {
  it('tells each segment while the engine still decodes; deltas, receipt, done; the deltas joined are the text the receipt binds and the unstreamed answer', async () => {
    const busyAtDelta: number[] = [];
    const { status, contentType, events } = await streamEvents((event) => {
      if (event.type === STREAM_EVENTS.delta) busyAtDelta.push(engine.stats().running);
    });
    assert.equal(status, 200);
    assert.match(contentType, /^text\/event-stream/);
    const types = events.map((e) => e.type);
    const deltas = events.filter((e) => e.type === STREAM_EVENTS.delta);
    assert.ok(deltas.length >= 3, `several segments (${deltas.length})`);
    assert.deepEqual(types, [...deltas.map(() => STREAM_EVENTS.delta), STREAM_EVENTS.receipt, STREAM_EVENTS.done]);
    // The first segment came while the worker was still on the file: told as decoded, not at the end.
    assert.equal(busyAtDelta[0], 1, 'the engine was still running when the first delta arrived');
    const joined = deltas.map((d) => d.delta as string).join('');
    const done = events.at(-1)!.text as string;
    assert.equal(joined, done);
    assert.match(done, /weather.*window/);
    for (let i = 1; i < deltas.length; i++) assert.ok((deltas[i]!.start as number) >= (deltas[i - 1]!.end as number), 'segments in order');
    const receipt = verifyReceiptDocument(Buffer.from(events.at(-2)!.receipt as string, 'base64'), { now: new Date(), roots, audioSha256: sha256Hex(audio), transcriptSha256: sha256Hex(Buffer.from(done, 'utf8')), format: 'text' });
    assert.equal(receipt.content.endpoint, '/v1/audio/transcriptions');
    // The same audio unstreamed: the same text.
    const plain = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({ response_format: 'text' }), dispatcher });
    assert.equal(await plain.text(), done);
  });

  it('a client that goes away after the first delta stops the engine (CANCELLED) and frees its slot', async () => {
    outcomes.length = 0;
    const { events } = await streamEvents((event) => event.type === STREAM_EVENTS.delta);
    assert.equal(events.length, 1);
    for (let i = 0; i < 100 && outcomes.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(outcomes, ['CANCELLED']);
    for (let i = 0; i < 50 && engine.stats().running > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(engine.stats().running, 0);
    // The slot is free: a next stream runs to its end.
    const again = await streamEvents();
    assert.equal(again.events.at(-1)!.type, STREAM_EVENTS.done);
  });
});

describe('a split file streamed (PocketSphinx, 2 workers, pieces of about 10 s)', () => {
  it('tells the segments of pieces done on either worker in the order of the audio: the very segments of the unstreamed transcript', async () => {
    const split = await createPocketSphinxEngine({ workers: 2, splitSeconds: 20, pieceSeconds: 10, piecesPerRequest: 2 });
    try {
      const path = `${scratch.dir}/long.wav`;
      const told: { start: number; end: number; text: string }[] = [];
      const streamed = await split.transcribe({ path, onSegment: (segment) => told.push(segment) });
      const plain = await split.transcribe({ path });
      assert.ok(told.length >= 5, `segments (${told.length})`);
      assert.deepEqual(told, streamed.segments);
      assert.equal(streamed.text, plain.text);
      assert.deepEqual(streamed.segments, plain.segments);
    } finally {
      await split.close();
    }
  });
});
