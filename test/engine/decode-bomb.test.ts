/**
 * Decode bombs: FLAC files of a few kilobytes that hold hours of silence (65,535 samples in ~12 bytes a frame). They
 * must be refused from their header when it states their length, stopped as they decode when it does not (without
 * the memory the whole decode would take), and a cancelled long decode must free its worker in bounded time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { EngineError, type EngineErrorCode } from '../../src/server/engine/engine.js';
import { createPocketSphinxEngine, type PocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { WorkerPool } from '../../src/server/engine/worker-pool.js';
import { SCRIPT, scratchDir, speak, wordErrorRate } from '../helpers/speech.js';

const run = promisify(execFile);
const isKind = (kind: EngineErrorCode) => (err: unknown) => err instanceof EngineError && err.code === kind;
/** 20 minutes of 48 kHz silence: 57.6 M samples (230 MB as floats) in a 19 KB file. */
const BOMB_SECONDS = 20 * 60;
const RATE = 48_000;

/** FLAC silence in frames of the largest block size, as the tester made it; `unknownLength` zeroes STREAMINFO's total. */
async function silentFlac(dir: string, name: string, unknownLength = false): Promise<string> {
  const out = path.join(dir, `${name}.flac`);
  const flac = `flac --silent --force-raw-format --endian=little --sign=signed --channels=1 --bps=16 --sample-rate=${RATE} --lax -b 65535 -o ${out} -`;
  await run('sh', ['-c', `head -c ${RATE * 2 * BOMB_SECONDS} /dev/zero | ${flac}`]);
  if (unknownLength) {
    const bytes = await readFile(out);
    bytes[21]! &= 0xf0; // the low 4 of total_samples' 36 bits share a byte with the bit depth
    bytes.fill(0, 22, 26);
    await writeFile(out, bytes);
  }
  return out;
}

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let stated: string;
let unknown: string;
before(async () => {
  scratch = await scratchDir();
  [stated, unknown] = await Promise.all([silentFlac(scratch.dir, 'stated'), silentFlac(scratch.dir, 'unknown', true)]);
});
after(() => scratch?.dispose());

/** Runs `use` on a fresh one-worker engine (a fresh worker: memory one job grew does not hide another's). */
async function withEngine(options: Parameters<typeof createPocketSphinxEngine>[0], use: (engine: PocketSphinxEngine) => Promise<void>): Promise<void> {
  const engine = await createPocketSphinxEngine({ workers: 1, ...options });
  try {
    await use(engine);
  } finally {
    await engine.close();
  }
}

describe('a FLAC decode bomb, with a 1-minute limit', () => {
  it('whose header states its length is refused TOO_LONG from the header, before it takes a worker', async () => {
    let jobsStarted = 0;
    await withEngine({ maxSeconds: 60, onJobStart: () => jobsStarted++ }, async (engine) => {
      await assert.rejects(engine.transcribe({ path: stated }), isKind('TOO_LONG'));
    });
    assert.equal(jobsStarted, 0);
  });

  it('whose header does not is refused TOO_LONG as it decodes, without the memory of the whole decode', async () => {
    await withEngine({ maxSeconds: 60 }, async (engine) => {
      const before = process.memoryUsage().rss;
      let peak = before;
      // The workers are threads of this process: their memory is in its RSS, sampled while this thread waits.
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      try {
        await assert.rejects(engine.transcribe({ path: unknown }), isKind('TOO_LONG'));
      } finally {
        clearInterval(sampler);
      }
      // Measured: about 30 MB; decoded at once, as it was, the same file took 450 MB.
      const grewMB = (peak - before) / 2 ** 20;
      assert.ok(grewMB < 150, `RSS grew by ${grewMB.toFixed(0)} MB decoding the bomb`);
    });
  });
});

describe('a cancelled long decode', () => {
  it('frees its worker within seconds, and the next job runs', async () => {
    const controller = new AbortController();
    await withEngine({ onJobStart: () => setTimeout(() => controller.abort(), 500) }, async (engine) => {
      const text = SCRIPT.slt[0]!;
      const clip = await speak(scratch.dir, 'slt', text, 'clip');
      await assert.rejects(engine.transcribe({ path: unknown, signal: controller.signal }), isKind('CANCELLED'));
      const cancelledAt = Date.now();
      const next = await engine.transcribe({ path: clip });
      const waitedMs = Date.now() - cancelledAt;
      assert.ok(waitedMs < 10_000, `the next job finished ${waitedMs} ms after the cancel`);
      assert.ok(wordErrorRate(text, next.text).rate <= 0.25, next.text);
    });
  });
});

describe('a worker that does not answer a cancel', () => {
  it('is terminated after the grace and replaced, and the next job runs on the replacement', { timeout: 20_000 }, async () => {
    const pool = await WorkerPool.start<string, string>({ script: new URL('./fixtures/stuck-worker.js', import.meta.url), size: 1, maxQueue: 1, cancelGraceMs: 200 });
    try {
      const controller = new AbortController();
      const stuck = pool.run('stuck', controller.signal);
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(stuck, isKind('CANCELLED'));
      const started = Date.now();
      assert.equal(await pool.run('next'), 'next');
      assert.ok(Date.now() - started < 5_000, `the next job waited ${Date.now() - started} ms`);
      assert.equal(pool.stats().workers, 1);
    } finally {
      await pool.close();
    }
  });
});
