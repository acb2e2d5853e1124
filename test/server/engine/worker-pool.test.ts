/**
 * The worker pool's start-up deadline (src/server/engine/worker-pool.ts) with real worker threads: a worker that never
 * becomes ready fails the pool's start with a sentence that says so, and is terminated, not left running.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { EngineError } from '../../../src/server/engine/engine.js';
import { WorkerPool } from '../../../src/server/engine/worker-pool.js';

/** This process's threads (Linux): the main one, V8's and libuv's, and one per live worker thread. */
const threads = () => Number(/^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

describe('a worker pool whose workers never become ready', () => {
  it('fails its start with UNAVAILABLE, "not ready within", and terminates them', { timeout: 60_000 }, async () => {
    const before = threads();
    await assert.rejects(
      WorkerPool.start<string, string>({ script: new URL('./fixtures/never-ready-worker.js', import.meta.url), size: 2, maxQueue: 1, startTimeoutMs: 500 }),
      (err: unknown) => err instanceof EngineError && err.code === 'UNAVAILABLE' && /failed to start: it was not ready within 0\.5 s/.test(err.message),
    );
    // A terminated worker's thread ends a moment after its exit event.
    for (let i = 0; i < 100 && threads() > before; i++) await sleep(50);
    assert.equal(threads(), before, 'no worker thread is left running');
  });
});
