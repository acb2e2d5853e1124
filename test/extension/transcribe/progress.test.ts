/** The progress notification's words: bytes, rate, time left, the time elapsed and the estimate, a busy server's wait. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchProgress, EngineSpeeds, transcribingFraction, transcribingLine, uploadFraction, uploadLine } from '../../../src/extension/transcribe/progress.js';
import { retryLine } from '../../../src/core/index.js';

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

describe('the transcription’s time', () => {
  it('elapsed, and what is left of the estimate; past it, says so; without one, says why', () => {
    assert.equal(transcribingLine(72_000, 60_000, 180_000, 600), 'transcribing on the enclave… · 1 min elapsed · about 2 min left');
    assert.equal(transcribingLine(5_000, 4_500, 5_000, 20), 'transcribing on the enclave… · 5 s elapsed · about 1 s left');
    assert.equal(transcribingLine(95_000, 90_000, 60_000, 600), 'transcribing on the enclave… · 1 min elapsed · longer than the 1 min estimated');
    assert.equal(transcribingLine(3_000, 1_000, undefined, 600), 'transcribing on the enclave… · 3 s elapsed · estimate unknown until a file is timed on this server');
    assert.equal(transcribingLine(3_000, 1_000, undefined, undefined), 'transcribing on the enclave… · 3 s elapsed · estimate unknown (the file does not state its length)');
  });

  it('the bar: a tenth for the upload, the rest following the estimate, never full before the answer', () => {
    assert.equal(uploadFraction(50, 100), 0.05);
    assert.equal(uploadFraction(100, 100), 0.1);
    assert.equal(transcribingFraction(0, 10_000), 0.1);
    assert.equal(transcribingFraction(5_000, 10_000), 0.55);
    assert.ok(transcribingFraction(60_000, 10_000) < 1, 'past the estimate: short of done');
    assert.equal(transcribingFraction(60_000, undefined), 0.1, 'no estimate: the bar does not pretend');
  });

  it('the speed: measured per server on earlier files, none before any', () => {
    const speeds = new EngineSpeeds();
    assert.equal(speeds.estimateMs('https://a', 600), undefined);
    speeds.record('https://a', 60, 30_000);
    speeds.record('https://a', 140, 70_000);
    assert.equal(speeds.realTimeFactor('https://a'), 0.5);
    assert.equal(speeds.estimateMs('https://a', 600), 300_000);
    assert.equal(speeds.estimateMs('https://a', undefined), undefined, 'a file of unknown length');
    assert.equal(speeds.estimateMs('https://b', 600), undefined, 'another server is not measured');
  });

  it('one file: the notification’s title names it, its messages do not again', () => {
    const reports: { message?: string }[] = [];
    const one = new BatchProgress(1, { report: (r) => reports.push(r) });
    const file = one.file('meeting-recording.wav', 1);
    file.update(0.5, 'transcribing on the enclave… · 3 s elapsed');
    file.finish();
    assert.deepEqual(reports.map((r) => r.message), ['transcribing on the enclave… · 3 s elapsed', 'done']);
  });
});
