/**
 * The PocketSphinx engine's worker pool under pressure, with real workers and real speech: a full queue, cancelled
 * jobs (waiting and running), a worker killed mid-job, and a graceful close.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { EngineError, type EngineErrorCode, type Transcript } from '../../../src/server/engine/engine.js';
import { createPocketSphinxEngine, type PocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import { SCRIPT, scratchDir, speak, wordErrorRate } from '../../../support/speech.js';

const WER_BOUND = 0.25;
const isCode = (code: EngineErrorCode) => (err: unknown) => err instanceof EngineError && err.code === code;

describe('the PocketSphinx worker pool (1 worker, 1 waiting job)', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let engine: PocketSphinxEngine;
  let clip: { readonly path: string; readonly text: string };
  /** What the next job start (only) does with its worker. */
  let onJobStart: ((worker: Worker) => void) | undefined;
  const nextJobStart = (worker: Worker) => {
    const action = onJobStart;
    onJobStart = undefined;
    action?.(worker);
  };
  /**
   * Waits until the pool holds `running` and `queued` jobs. A request probes its file before it joins the pool, so two
   * requests made back to back may join in either order: tests wait for each to join before making the next.
   */
  const until = async (running: number, queued: number) => {
    while (engine.stats().running !== running || engine.stats().queued !== queued) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  /** The pool's workers and jobs (the engine's other counts are about split requests). */
  const jobCounts = () => {
    const { workers, running, queued } = engine.stats();
    return { workers, running, queued };
  };

  before(async () => {
    scratch = await scratchDir();
    const text = SCRIPT.rms[1]!;
    clip = { path: await speak(scratch.dir, 'rms', text, 'clip'), text };
    engine = await createPocketSphinxEngine({ workers: 1, maxQueue: 1, onJobStart: nextJobStart });
  });
  after(async () => {
    await engine?.close();
    await scratch?.dispose();
  });

  const transcribe = (signal?: AbortSignal) => engine.transcribe({ path: clip.path, signal });
  const assertGood = async (job: Promise<{ text: string }>) => {
    const { text } = await job;
    assert.ok(wordErrorRate(clip.text, text).rate <= WER_BOUND, `"${text}"`);
  };

  it('refuses jobs beyond the queue at once with BUSY while the others complete', async () => {
    const settled: boolean[] = [];
    const jobs = Array.from({ length: 4 }, () =>
      transcribe().then(
        (r) => (settled.push(true), r),
        (err) => (settled.push(false), Promise.reject(err)),
      ),
    );
    const outcomes = await Promise.allSettled(jobs);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    const done = outcomes.filter((o): o is PromiseFulfilledResult<Transcript> => o.status === 'fulfilled');
    assert.equal(refused.length, 2);
    for (const o of refused) assert.ok(isCode('BUSY')(o.reason), String(o.reason));
    for (const o of done) await assertGood(Promise.resolve(o.value));
    // The refusals came before any transcription finished.
    assert.deepEqual(settled, [false, false, true, true]);
    assert.deepEqual(jobCounts(), { workers: 1, running: 0, queued: 0 });
  });

  it('drops a waiting job whose request is aborted, and finishes the running one', async () => {
    const running = transcribe();
    await until(1, 0);
    const controller = new AbortController();
    const waiting = transcribe(controller.signal);
    await until(1, 1);
    controller.abort();
    await assert.rejects(waiting, isCode('CANCELLED'));
    assert.equal(engine.stats().queued, 0);
    await assertGood(running);
  });

  it('answers an aborted running job at once, and frees its worker when the worker has stopped', async () => {
    const controller = new AbortController();
    const aborted = transcribe(controller.signal);
    await until(1, 0);
    const next = transcribe();
    await until(1, 1);
    controller.abort();
    await assert.rejects(
      aborted.catch((err) => {
        // Answered while the worker still holds the job (it stops at its next step) and the next job waits for it.
        assert.deepEqual(jobCounts(), { workers: 1, running: 1, queued: 1 });
        throw err;
      }),
      isCode('CANCELLED'),
    );
    await assertGood(next);
  });

  it('fails the job of a worker that dies mid-job with UNAVAILABLE, replaces the worker, and runs the next job', async () => {
    onJobStart = (worker) => setTimeout(() => void worker.terminate(), 100);
    const killed = transcribe();
    await assert.rejects(killed, isCode('UNAVAILABLE'));
    await assertGood(transcribe());
    assert.equal(engine.stats().workers, 1);
  });

  it('on close, finishes the running job, refuses the waiting one and any new one, then stops', async () => {
    const running = transcribe();
    await until(1, 0);
    const waiting = transcribe();
    await until(1, 1);
    const closed = engine.close();
    await assert.rejects(waiting, isCode('UNAVAILABLE'));
    await assert.rejects(transcribe(), isCode('UNAVAILABLE'));
    await assertGood(running);
    await closed;
    assert.equal(engine.stats().running, 0);
  });
});

describe('starting the PocketSphinx engine', () => {
  it('fails with UNAVAILABLE, saying why, when the workers cannot load the model', async () => {
    await assert.rejects(createPocketSphinxEngine({ workers: 2, modelDir: '/nonexistent/model' }), isCode('UNAVAILABLE'));
    await assert.rejects(createPocketSphinxEngine({ workers: 1, modelDir: '/nonexistent/model' }), /could not load its model/);
  });
});
