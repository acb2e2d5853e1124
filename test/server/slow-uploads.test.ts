/**
 * Uploads holding every slot, as an attacker does it: raw TLS uploads through the real host proxy take every
 * transcription slot of an in-process reference server, and a legitimate client from 127.0.0.1 must still be served.
 *
 * - From several loopback addresses, each a little above the server's base pace (so none is cut for its pace alone):
 *   an upload that crawls while others wait is cut (`408 BODY_TOO_SLOW`) and its slot goes to the newcomer.
 * - From one address (127.0.0.2), each faster than the contended pace (so none is ever cut for its pace) and far too
 *   long to end during the test, as many as there are slots, and as many more as fill the waiting line: the legitimate
 *   client must find a place in the full line (the attacker's newest waiting request gives it up), be admitted at
 *   once, ahead of the attacker's waiting requests, and transcribe. The attacker keeps its share of the slots, and
 *   what it holds beyond that is cut (`429 SOURCE_SHARE_EXCEEDED`, `Retry-After`, connection closed).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { connect, fileSource } from '../../src/core/index.js';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { slowUpload } from '../../support/hostile-load.js';
import { settle } from '../helpers/process-stats.js';
import { errorCode, type RawAnswer } from '../../support/raw-client.js';
import { rootsTrusting, startSimulationServer, transcribeText, type ReferenceServer } from '../../support/servers.js';
import { SCRIPT, scratchDir, speak, wordErrorRate } from '../../support/speech.js';

const SLOTS = 4;
/** The attacker's requests waiting in line behind its uploads when the legitimate client arrives: the line is full. */
const QUEUED = 4 * SLOTS;
const ATTACKER = '127.0.0.2';
/** An upload at this pace (above the 64 KiB/s contended pace) of this size would take 5 minutes. */
const PACE = 96 * 1024;
const UPLOAD_BYTES = 300 * PACE;
let server: ReferenceServer;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let wav: string;

before(async () => {
  scratch = await scratchDir();
  wav = await speak(scratch.dir, 'slt', SCRIPT.slt[0]!, 'legit');
  const engine = await createPocketSphinxEngine({ workers: 1 });
  server = await startSimulationServer({ engine, limits: { maxInFlight: SLOTS, uploadContendedWindowMs: 3_000, uploadMinBytesPerSecond: 8 * 1024, admissionWaitMs: 20_000, busyRetryAfterSeconds: 1 } });
});

after(async () => {
  await server?.close();
  await scratch?.dispose();
});

it('uploads at 9 KiB/s from several addresses holding every slot do not keep a legitimate transcription out', async () => {
  let going = true;
  const holders = Array.from({ length: SLOTS }, (_, i) => slowUpload(server.url, { bytes: 4 * 1024 * 1024, bytesPerSecond: 9 * 1024, localAddress: `127.0.0.${i + 2}`, going: () => going }));
  try {
    assert.equal(await settle(async () => server.inFlight(), (n) => n === SLOTS, 5_000), SLOTS, 'the slow uploads hold every slot');
    await new Promise((r) => setTimeout(r, 1_000));
    const text = await transcribeText(server.url, rootsTrusting(server), wav);
    assert.ok(wordErrorRate(SCRIPT.slt[0]!, text).rate <= 0.25, `the legitimate transcript: ${text}`);
  } finally {
    going = false;
  }
  const answers = (await Promise.all(holders)).filter((a): a is RawAnswer => a !== undefined);
  assert.ok(answers.length >= 1, 'at least one slow upload was cut');
  for (const a of answers) {
    assert.equal(a.status, 408, a.body);
    assert.equal(errorCode(a), 'BODY_TOO_SLOW');
    assert.equal(a.headers.connection, 'close');
  }
  assert.equal(await settle(async () => server.inFlight(), (n) => n === 0, 5_000), 0, 'every slot comes back');
});

it('uploads from one address holding every slot give a legitimate client from another address its slot at once', async (t) => {
  let going = true;
  const upload = () => slowUpload(server.url, { bytes: UPLOAD_BYTES, bytesPerSecond: PACE, localAddress: ATTACKER, going: () => going });
  const holders = Array.from({ length: SLOTS }, upload);
  let answers: RawAnswer[];
  try {
    assert.equal(await settle(async () => server.inFlight(), (n) => n === SLOTS, 5_000), SLOTS, 'the attacker holds every slot');
    const queued = Array.from({ length: QUEUED }, upload);
    holders.push(...queued);
    await new Promise((r) => setTimeout(r, 2_000));
    const retries: number[] = [];
    const started = Date.now();
    const session = await connect(server.url, { roots: rootsTrusting(server) });
    try {
      // No retry allowed: the legitimate request must be admitted on its first try, not after waiting out the line.
      const result = await session.transcribe(await fileSource(wav), { format: 'text', retry: { maxRetries: 0 }, onRetry: (n) => retries.push(n.waitMs) });
      assert.ok(wordErrorRate(SCRIPT.slt[0]!, result.text).rate <= 0.25, `the legitimate transcript: ${result.text}`);
    } finally {
      await session.close();
    }
    assert.deepEqual(retries, []);
    t.diagnostic(`the legitimate transcription took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    going = false;
    answers = (await Promise.all(holders)).filter((a): a is RawAnswer => a !== undefined);
  }
  const cut = answers.filter((a) => errorCode(a) === 'SOURCE_SHARE_EXCEEDED');
  t.diagnostic(`the attacker's answers: ${answers.map((a) => `${a.status} ${errorCode(a)}`).join(', ')}`);
  assert.ok(cut.length >= 1, `an upload beyond the attacker's share was cut: ${answers.map((a) => a.status).join(', ')}`);
  for (const a of cut) {
    assert.equal(a.status, 429, a.body);
    assert.ok(Number(a.headers['retry-after']) > 0, 'with Retry-After');
    assert.equal(a.headers.connection, 'close');
  }
  const displaced = answers.filter((a) => errorCode(a) === 'SERVER_BUSY');
  assert.equal(displaced.length, 1, 'one waiting request gave its place in the full line to the legitimate one');
  assert.equal(displaced[0]!.status, 503);
  assert.ok(Number(displaced[0]!.headers['retry-after']) > 0, 'with Retry-After');
  assert.equal(await settle(async () => server.inFlight(), (n) => n === 0, 5_000), 0, 'every slot comes back');
});
