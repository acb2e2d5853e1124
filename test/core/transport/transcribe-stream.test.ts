/**
 * The client's streamed transcription (core/transport/transcribe-stream.ts): segments told as they come from the real
 * server, and every hostile stream refused with its own code, each sent by a real attested server that signs real
 * receipts on its own key (support/servers.ts `startAttestedLiar`) and breaks the protocol one way.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { BlindBoxError, connect, fileSource, sha256Hex, type StreamedSegment } from '../../../src/core/index.js';
import { MAX_STREAM_BYTES } from '../../../src/protocol/stream.js';
import { createPocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import { rootsTrusting, startHostileStreamer, startSimulationServer, streamDelta, streamEvent, type AttestedLiar, type ReferenceServer, type StreamScenario as Scenario } from '../../../support/servers.js';
import { SCRIPT, scratchDir, spokenRecording } from '../../../support/speech.js';

let server: ReferenceServer;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let wav: string;
let audio: Buffer;

before(async () => {
  scratch = await scratchDir();
  server = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1 }) });
  const lines = [...SCRIPT.slt, ...SCRIPT.rms].map((text) => ({ voice: 'slt' as const, text }));
  wav = (await spokenRecording(scratch.dir, 'stream', lines, 1.5)).path;
  audio = await readFile(wav);
});

after(async () => {
  await server?.close();
  await scratch?.dispose();
});

describe('transcribeStream against the reference server', () => {
  it('tells each segment as it comes, then resolves with the verified transcript: the segments joined are its text', async () => {
    const session = await connect(server.url, { roots: rootsTrusting(server) });
    try {
      const told: StreamedSegment[] = [];
      const result = await session.transcribeStream(await fileSource(wav), { onSegment: (s) => told.push(s) });
      assert.ok(told.length >= 2, `several segments (${told.length})`);
      assert.deepEqual(told.map((s) => s.index), told.map((_, i) => i));
      assert.equal(told.map((s) => s.text).join(' '), result.text);
      assert.match(result.text, /weather.*children/);
      assert.equal(result.format, 'text');
      assert.equal(result.receipt.verified.content.format, 'text');
      assert.equal(result.receipt.file.audio.sha256, sha256Hex(audio));
      assert.equal(result.receipt.file.transcript.sha256, sha256Hex(Buffer.from(result.body, 'utf8')));
      assert.deepEqual(result.segments, told.map(({ start, end, text }) => ({ start, end, text })));
    } finally {
      await session.close();
    }
  });
});

describe('a hostile stream is refused with its own code', () => {
  let liar: AttestedLiar;
  let scenario: Scenario = () => {};
  const event = streamEvent;
  const delta = streamDelta;

  before(async () => {
    liar = await startHostileStreamer(server.provider, audio, () => scenario);
  });
  after(() => liar?.close());

  const refused = async (code: string, play: Scenario): Promise<StreamedSegment[]> => {
    scenario = play;
    const session = await connect(liar.url, { roots: rootsTrusting(server) });
    const told: StreamedSegment[] = [];
    try {
      const err = await session.transcribeStream(await fileSource(wav), { onSegment: (s) => told.push(s) }).then(() => assert.fail('a hostile stream was accepted'), (e: unknown) => e);
      assert.ok(err instanceof BlindBoxError, String(err));
      assert.equal(err.code, code, err.message);
      return told;
    } finally {
      await session.close();
    }
  };

  it('the honest shape from the same server is accepted (the scenarios below differ from it in one thing each)', async () => {
    scenario = async (res, receipt) => {
      delta(res, 'hello', 0, 1);
      delta(res, ' world', 1.5, 2);
      event(res, { type: 'blindbox.receipt', receipt: await receipt('hello world') });
      event(res, { type: 'transcript.text.done', text: 'hello world' });
    };
    const session = await connect(liar.url, { roots: rootsTrusting(server) });
    try {
      assert.equal((await session.transcribeStream(await fileSource(wav))).text, 'hello world');
    } finally {
      await session.close();
    }
  });

  it('a delta after the receipt: STREAM_OUT_OF_ORDER', async () => {
    await refused('STREAM_OUT_OF_ORDER', async (res, receipt) => {
      delta(res, 'hello', 0, 1);
      event(res, { type: 'blindbox.receipt', receipt: await receipt('hello world') });
      delta(res, ' world', 1.5, 2);
      event(res, { type: 'transcript.text.done', text: 'hello world' });
    });
  });

  it('segments whose times go back: STREAM_OUT_OF_ORDER', async () => {
    await refused('STREAM_OUT_OF_ORDER', async (res, receipt) => {
      delta(res, 'hello', 5, 6);
      delta(res, ' world', 1, 2);
      event(res, { type: 'blindbox.receipt', receipt: await receipt('hello world') });
      event(res, { type: 'transcript.text.done', text: 'hello world' });
    });
  });

  it('an event after done: STREAM_OUT_OF_ORDER', async () => {
    await refused('STREAM_OUT_OF_ORDER', async (res, receipt) => {
      delta(res, 'hello', 0, 1);
      event(res, { type: 'blindbox.receipt', receipt: await receipt('hello') });
      event(res, { type: 'transcript.text.done', text: 'hello' });
      delta(res, ' and more', 1, 2);
    });
  });

  it('an event of an unknown type: STREAM_MALFORMED', async () => {
    await refused('STREAM_MALFORMED', (res) => {
      event(res, { type: 'transcript.text.surprise', delta: 'x' });
    });
  });

  it('a receipt signed for other text than the one streamed and done: TRANSCRIPT_MISMATCH', async () => {
    const told = await refused('TRANSCRIPT_MISMATCH', async (res, receipt) => {
      delta(res, 'pay alice', 0, 1);
      event(res, { type: 'blindbox.receipt', receipt: await receipt('pay mallory') });
      event(res, { type: 'transcript.text.done', text: 'pay alice' });
    });
    assert.deepEqual(told.map((s) => s.text), ['pay alice'], 'told as it came, then refused');
  });

  it('deltas that are not the done text the receipt binds: STREAM_TEXT_MISMATCH', async () => {
    await refused('STREAM_TEXT_MISMATCH', async (res, receipt) => {
      delta(res, 'pay mallory', 0, 1);
      event(res, { type: 'blindbox.receipt', receipt: await receipt('pay alice') });
      event(res, { type: 'transcript.text.done', text: 'pay alice' });
    });
  });

  it('done without a receipt: RECEIPT_MISSING', async () => {
    await refused('RECEIPT_MISSING', (res) => {
      delta(res, 'hello', 0, 1);
      event(res, { type: 'transcript.text.done', text: 'hello' });
    });
  });

  it('a stream cut before done: STREAM_INCOMPLETE', async () => {
    await refused('STREAM_INCOMPLETE', async (res, receipt) => {
      delta(res, 'hello', 0, 1);
      event(res, { type: 'blindbox.receipt', receipt: await receipt('hello') });
    });
  });

  it('a stream cut inside an event: STREAM_INCOMPLETE', async () => {
    await refused('STREAM_INCOMPLETE', (res) => {
      res.write('data: {"type":"transcript.text.delta","delta":"hel');
    });
  });

  it('an endless stream: STREAM_TOO_LONG once past the bound, and the server stops being read', async () => {
    let written = 0;
    await refused('STREAM_TOO_LONG', async (res) => {
      const line = `data: ${JSON.stringify({ type: 'transcript.text.delta', delta: ' word'.repeat(200), start: 0, end: 0 })}\n\n`;
      // Bounded here too: four times the client's limit, then the test's server gives up.
      while (!res.destroyed && written < 4 * MAX_STREAM_BYTES) {
        written += line.length;
        if (!res.write(line)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
      }
    });
    assert.ok(written < 2 * MAX_STREAM_BYTES, `the client stopped reading (${written} bytes written)`);
  });

  it('one event longer than an event may be: STREAM_TOO_LONG', async () => {
    await refused('STREAM_TOO_LONG', (res) => {
      res.write(`data: {"type":"transcript.text.delta","delta":"${'x'.repeat(128 * 1024)}`);
    });
  });

  it('an error event: SERVER_ERROR with the server\'s code', async () => {
    scenario = (res) => {
      event(res, { type: 'error', error: { code: 'ENGINE_FAILED', message: 'broke' } });
    };
    const session = await connect(liar.url, { roots: rootsTrusting(server) });
    try {
      const err = await session.transcribeStream(await fileSource(wav)).then(() => assert.fail('accepted'), (e: unknown) => e as { code: string; serverCode: string });
      assert.equal(err.code, 'SERVER_ERROR');
      assert.equal(err.serverCode, 'ENGINE_FAILED');
    } finally {
      await session.close();
    }
  });
});
