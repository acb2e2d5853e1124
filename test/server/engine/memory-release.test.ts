/**
 * Memory given back when requests end: a worker collects its garbage and trims the malloc arenas once it has gone
 * through `releaseSeconds` of audio (by what the jobs heard, not by time), so a long split request ends with a release
 * on every worker that ran a piece of it, and a short request does not pay for one. No RSS is asserted here: the
 * figures are bench/split.ts's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { trimMemory } from '../../../src/server/engine/pocketsphinx/addon.js';
import { createPocketSphinxEngine, type PocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import { fullCollection, MemoryReleaser } from '../../../src/server/engine/pocketsphinx/memory-release.js';
import { scratchDir, spokenRecording, type SpokenRecording } from '../../../support/speech.js';

describe('when a worker releases memory', () => {
  it('once the audio its jobs went through adds up to releaseSeconds, counted across jobs', () => {
    let releases = 0;
    const releaser = new MemoryReleaser(60, () => releases++);
    assert.deepEqual([30, 20, 15, 5, 120, 59.9].map((s) => releaser.jobEnded(s)), [false, false, true, false, true, false]);
    assert.equal(releases, 2);
    const everyJob = new MemoryReleaser(0, () => releases++);
    assert.deepEqual([0, 1].map((s) => everyJob.jobEnded(s)), [true, true]);
    assert.throws(() => new MemoryReleaser(Number.NaN, () => {}), RangeError);
  });

  it('collects what nothing references any more, without --expose-gc, and trims the arenas on glibc', async () => {
    const collect = fullCollection();
    const ref = (() => new WeakRef(new Float32Array(1 << 20)))();
    await nextTurn(); // a WeakRef holds its target until the end of the task that made it
    collect();
    assert.equal(ref.deref(), undefined, 'the full collection left an unreferenced array alive');
    assert.equal(typeof trimMemory(), 'boolean');
  });
});

describe('a PocketSphinx engine', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let long: SpokenRecording;
  let short: SpokenRecording;
  let engine: PocketSphinxEngine;

  before(async () => {
    scratch = await scratchDir();
    const lines = [
      { voice: 'slt', text: 'Please send the report to the manager before the end of the week.' },
      { voice: 'rms', text: 'He forgot his keys at home and had to wait outside for an hour.' },
      { voice: 'slt', text: 'She opened the window and listened to the birds singing in the garden.' },
      { voice: 'rms', text: 'The children played in the park until the sun went down.' },
    ] as const;
    [long, short] = await Promise.all([spokenRecording(scratch.dir, 'long', lines, 0.7), spokenRecording(scratch.dir, 'short', [lines[0]], 0.3)]);
    // Pieces of 4 s, and a release after 4 s of audio (the default: pieceSeconds): every piece job releases.
    engine = await createPocketSphinxEngine({ workers: 2, utterance: { minSeconds: 2, maxSeconds: 4 }, splitSeconds: 8, pieceSeconds: 4 });
  });
  after(async () => Promise.all([engine?.close(), scratch?.dispose()]));

  it('gives memory back as a split request ends (its first pass and its pieces), and not after a short request', async () => {
    assert.ok((await engine.transcribe({ path: short.path })).duration < 4);
    assert.equal(engine.stats().memoryReleases, 0, 'a 4-second request made a worker release');
    await engine.transcribe({ path: long.path });
    const split = engine.stats().memoryReleases;
    // The first pass heard the whole recording, and every piece handed out at least 4 s.
    assert.ok(split >= 2, `${split} releases for a split request on two workers`);
  });
});
