/**
 * Two REAL whisper-server children behind one Whisper engine (tiny model, support/whisper-tiny-model.ts): two
 * requests are transcribed at once, one on each child; a short request sent while a long file is split over both
 * finishes first; and SIGTERM during that work stops the server within its bound with no child left running.
 * Ordering and process evidence only, no timing thresholds but the stop's promised bound.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startServe } from '../../../../support/cli.js';
import { cpuTicks, processesOf, until } from '../../../../support/processes.js';
import { bursts, scratchDir } from '../../../../support/speech.js';
import { TINY_MODEL_WORD, tinyWhisperModel } from '../../../../support/whisper-tiny-model.js';
import { WHISPER_SERVER_BINARY } from '../../../../src/server/engine/whisper/binary.js';
import { readWhisperModelFile } from '../../../../src/server/engine/whisper/model-file.js';
import { createSupervisedWhisperEngine, type SupervisedWhisperEngine } from '../../../../src/server/engine/whisper/supervised-engine.js';

let scratch: Awaited<ReturnType<typeof scratchDir>>;
/** The tiny English-only model, copied to a path of this test's own: its children are found by it in /proc. */
let model: string;
/** whisper-server's real path, as /proc/<pid>/exe names it. */
let binary: string;
/** Six minutes of tone bursts with pauses: split into about a dozen pieces. */
let long: string;
/** 6 s: one piece. */
let short: string;

before(async () => {
  assert.ok(existsSync(WHISPER_SERVER_BINARY), `whisper-server is not built at ${WHISPER_SERVER_BINARY}: run npm run setup`);
  scratch = await scratchDir();
  binary = await realpath(WHISPER_SERVER_BINARY);
  model = path.join(scratch.dir, 'ggml-tiny-test.en.bin');
  await copyFile(await tinyWhisperModel({ englishOnly: true }), model);
  long = (await bursts(scratch.dir, 'long', 120)).path;
  short = (await bursts(scratch.dir, 'short', 2)).path;
});
after(() => scratch.dispose());

describe('the whisper engine on 2 real whisper-server instances', () => {
  let engine: SupervisedWhisperEngine;
  before(async () => {
    engine = await createSupervisedWhisperEngine({ binary: WHISPER_SERVER_BINARY, model: await readWhisperModelFile(model), instances: 2, threads: 1, timeoutMs: 60_000 });
  });
  after(() => engine.close());

  it('transcribes two requests at once: both children busy together, each one working', async () => {
    const pids = engine.servers.pids();
    assert.equal(pids.length, 2);
    const idle = await Promise.all(pids.map(cpuTicks));
    // 60 s each: under the split length, so each request is one piece, and two pieces can only run at once on two children.
    const minute = (await bursts(scratch.dir, 'minute', 20)).path;
    let busiest = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        busiest = Math.max(busiest, engine.stats().busy);
        await new Promise(setImmediate);
      }
    })();
    const both = await Promise.all([engine.transcribe({ path: minute }), engine.transcribe({ path: minute })]);
    sampling = false;
    await sampler;
    assert.equal(busiest, 2, 'both children held a request at the same time');
    for (const transcript of both) assert.deepEqual(transcript.segments.map((s) => s.text), [TINY_MODEL_WORD.trim(), TINY_MODEL_WORD.trim()]);
    const worked = await Promise.all(pids.map(cpuTicks));
    pids.forEach((pid, i) => assert.ok(worked[i]! > idle[i]!, `whisper-server ${pid} did no work`));
    assert.deepEqual(engine.servers.pids(), pids, 'no child restarted');
  });

  it('a short request sent while a long file is split over both children finishes before the long one', async () => {
    const order: string[] = [];
    const longDone = engine.transcribe({ path: long }).then((t) => (order.push('long'), t));
    await until('the long file on both children', async () => engine.stats().busy === 2);
    const shorts = [];
    for (let i = 0; i < 2; i++) shorts.push(await engine.transcribe({ path: short }).then((t) => (order.push(`short ${i}`), t)));
    const longTranscript = await longDone;
    assert.deepEqual(order, ['short 0', 'short 1', 'long']);
    for (const s of shorts) assert.equal(s.text, TINY_MODEL_WORD.trim());
    // The long file was really split: one segment per piece, monotonic, over its whole length.
    assert.ok(longTranscript.segments.length >= 10, `${longTranscript.segments.length} pieces`);
    longTranscript.segments.forEach((s, i) => assert.ok(i === 0 || s.start >= longTranscript.segments[i - 1]!.end));
    assert.ok(longTranscript.segments.at(-1)!.end > 350, `the last segment ends at ${longTranscript.segments.at(-1)!.end} s`);
  });
});

describe('serve --engine whisper --whisper-instances 2: SIGTERM while both children transcribe', () => {
  it('stops the server within its bound (exit 0), ends the running request, and leaves no whisper-server running', async () => {
    const rootPem = path.join(scratch.dir, 'root.pem');
    const serve = await startServe(['--simulate', '--trust-out', rootPem, '--engine', 'whisper', '--model-file', model, '--whisper-instances', '2', '--whisper-threads', '1']);
    try {
      const pids = await processesOf(binary, model);
      assert.equal(pids.length, 2, serve.stderr());
      const idle = await Promise.all(pids.map(cpuTicks));
      const request = runCli(['transcribe', serve.url, long, '--trust-root', rootPem]);
      await until('both children to transcribe', async () => (await Promise.all(pids.map(cpuTicks))).every((t, i) => t > idle[i]! + 2));
      const signalled = Date.now();
      const code = await serve.stop('SIGTERM');
      const stoppedMs = Date.now() - signalled;
      assert.equal(code, 0, serve.stderr());
      assert.doesNotMatch(serve.stderr(), /did not stop within/);
      assert.ok(stoppedMs < 15_000, `stopped after ${stoppedMs} ms, beyond the 15 s a supervisor is promised`);
      // The running request ends, finished within the grace period or failed with a named error: never left hanging.
      const r = await request;
      if (r.code !== 0) assert.match(r.stderr, /\b[A-Z]+_[A-Z_]+\b/, r.stderr);
      assert.deepEqual(await processesOf(binary, model), [], 'a whisper-server child outlived the server');
    } finally {
      await serve.stop('SIGKILL');
    }
  });
});
