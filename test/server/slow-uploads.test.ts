/**
 * Slow uploads holding every slot, as an attacker does it: raw TLS uploads from several loopback addresses, each a
 * little above the server's base pace (so none is cut for its pace alone), take every transcription slot of an
 * in-process reference server. A legitimate client must still be served: an upload that crawls while others wait is
 * cut (`408 BODY_TOO_SLOW`) and its slot goes to the newcomer.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { slowUpload } from '../helpers/hostile-load.js';
import { settle } from '../helpers/process-stats.js';
import { errorCode, type RawAnswer } from '../helpers/raw-client.js';
import { rootsTrusting, startSimulationServer, transcribeText, type ReferenceServer } from '../helpers/servers.js';
import { SCRIPT, scratchDir, speak, wordErrorRate } from '../helpers/speech.js';

const SLOTS = 4;
let server: ReferenceServer;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let wav: string;

before(async () => {
  scratch = await scratchDir();
  wav = await speak(scratch.dir, 'slt', SCRIPT.slt[0]!, 'legit');
  const engine = await createPocketSphinxEngine({ workers: 1 });
  server = await startSimulationServer({ engine, limits: { maxInFlight: SLOTS, uploadContendedWindowMs: 3_000, uploadMinBytesPerSecond: 8 * 1024, busyRetryAfterSeconds: 1 } });
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
