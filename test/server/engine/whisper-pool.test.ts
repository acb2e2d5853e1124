/** The Whisper engine's scheduler: one piece per server, lanes served in turn, a stopped lane drops its pieces. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../../../src/server/engine/engine.js';
import { FairPool } from '../../../src/server/engine/whisper/pool.js';

/** A piece that runs until `finish` is called, logging where it ran. */
function gate() {
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const work = (name: string) => (server: string, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      started.push(`${name}@${server}`);
      finishers.set(name, () => resolve(name));
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  const finish = async (name: string) => {
    finishers.get(name)!();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { started, work, finish };
}

describe('FairPool', () => {
  it('runs one piece per server and takes the lanes in turn: a lane opened later is not behind all of an earlier one', async () => {
    const pool = new FairPool<string, string>(['s1'], { maxLanes: 4 });
    const { started, work, finish } = gate();
    const long = pool.open();
    const longPieces = ['L1', 'L2', 'L3', 'L4'].map((name) => long.submit(work(name)));
    const short = pool.open();
    const shortPiece = short.submit(work('S1'));
    assert.deepEqual(started, ['L1@s1'], 'one piece at a time on a server');
    await finish('L1');
    assert.deepEqual(started, ['L1@s1', 'S1@s1'], 'the short lane goes next, before L2');
    await finish('S1');
    assert.equal(await shortPiece, 'S1');
    for (const name of ['L2', 'L3', 'L4']) await finish(name);
    assert.deepEqual(await Promise.all(longPieces), ['L1', 'L2', 'L3', 'L4']);
  });

  it('stopping a lane aborts its running piece and rejects its waiting ones, and frees the server for others', async () => {
    const pool = new FairPool<string, string>(['s1', 's2'], { maxLanes: 4 });
    const { started, work, finish } = gate();
    const lane = pool.open();
    const pieces = ['A', 'B', 'C'].map((name) => lane.submit(work(name)));
    pieces.forEach((p) => p.catch(() => {}));
    const failure = new EngineError('ENGINE_FAILED');
    lane.stop(failure);
    for (const piece of pieces) await assert.rejects(piece, (err) => err === failure);
    assert.deepEqual(started, ['A@s1', 'B@s2'], 'C never started');
    await assert.rejects(lane.submit(work('D')), (err) => err === failure);
    const other = pool.open().submit(work('E'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(started.at(-1)?.startsWith('E@'), true);
    await finish('E');
    assert.equal(await other, 'E');
  });

  it('refuses a transcription beyond maxLanes with BUSY, and a lane closed by its signal is CANCELLED', async () => {
    const pool = new FairPool<string, string>(['s1'], { maxLanes: 1 });
    const controller = new AbortController();
    const lane = pool.open(controller.signal);
    assert.throws(() => pool.open(), (err) => err instanceof EngineError && err.code === 'BUSY');
    const { work } = gate();
    const piece = lane.submit(work('A'));
    controller.abort();
    await assert.rejects(piece, (err) => err instanceof EngineError && err.code === 'CANCELLED');
    assert.equal(pool.stats().lanes, 0);
    pool.open().stop(new Error('done'));
  });
});
