/** The progress notification's words: bytes, rate, time left, a busy server's wait. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uploadLine } from '../../src/extension/transcribe/progress.js';
import { retryLine } from '../../src/core/index.js';

describe('uploadLine', () => {
  it('bytes, rate and time left once the upload is steady', () => {
    assert.equal(uploadLine(12_300_000, 40_000_000, 3000), '12.3 of 40 MB · 4.1 MB/s · 7 s left');
    assert.equal(uploadLine(20_000_000, 40_000_000, 100_000), '20 of 40 MB · 200 KB/s · 1 min left');
    assert.equal(uploadLine(1_000_000, 400_000_000, 10_000), '1 of 400 MB · 100 KB/s · 1 h 6 min left');
  });
  it('only bytes at the start, at the end, and for small files in KB', () => {
    assert.equal(uploadLine(0, 40_000_000, 0), '0 of 40 MB');
    assert.equal(uploadLine(5_000_000, 40_000_000, 100), '5 of 40 MB');
    assert.equal(uploadLine(40_000_000, 40_000_000, 9000), '40 of 40 MB');
    assert.equal(uploadLine(150_000, 300_000, 1000), '150 of 300 KB · 150 KB/s · 1 s left');
  });
});

describe('retryLine', () => {
  it('says the wait and which retry of how many', () => {
    assert.equal(retryLine({ status: 503, retry: 2, maxRetries: 3, waitMs: 4200 }), 'server busy, retrying in 5 s (2 of 3)');
  });
});
