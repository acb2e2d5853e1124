/** The transcription batch as a pipeline (no editor): one record per file through check → attest → send → document. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttestationError, ChannelError, InputError } from '../../../src/core/errors.js';
import type { Failure } from '../../../src/extension/common/failure.js';
import { batchSummary, openedDocuments, runBatch, type BatchSteps, type FileRecord } from '../../../src/extension/transcribe/batch.js';
import { BatchProgress } from '../../../src/extension/transcribe/progress.js';

type Steps = BatchSteps<string, string, string, string, string>;

/** A batch over `names` whose steps follow `script` (by file name) and record what they were called with. */
function harness(script: { readonly badAudio?: readonly string[]; readonly sendThrows?: Readonly<Record<string, Error>>; readonly attest?: Failure; readonly onSend?: (name: string) => void } = {}) {
  const calls: string[] = [];
  const reported: string[] = [];
  const steps: Steps = {
    check: async (file, keep) => {
      calls.push(`check ${file}${keep ? ' (kept)' : ''}`);
      if (script.badAudio?.includes(file)) throw new InputError('INVALID_AUDIO_FILE', `${file} is not audio`);
      return `audio of ${file}`;
    },
    attest: async () => {
      calls.push('attest');
      return script.attest ? { ok: false, failure: script.attest } : { ok: true, session: 'session' };
    },
    send: async (record, audio, session, progress) => {
      calls.push(`send ${audio} over ${session}`);
      progress.update(0.5, 'uploading…');
      script.onSend?.(record.name);
      const thrown = script.sendThrows?.[record.file];
      if (thrown) throw thrown;
      return `answer for ${record.file}`;
    },
    document: async (_record, answer) => `document of ${answer}`,
    failed: (record, failure, sending) => void reported.push(`${record.name} ${failure.code}${sending ? ' while sending' : ''}`),
    cancelled: (record) => void reported.push(`${record.name} cancelled`),
  };
  const messages: string[] = [];
  const progress = new BatchProgress(3, { report: ({ message }) => message && messages.push(message) });
  return { steps, calls, reported, messages, progress };
}

const files = (...names: string[]) => names.map((name) => ({ file: name, name }));
const stages = (records: readonly FileRecord<string, string, string>[]) => records.map((r) => `${r.name}: ${r.stage.kind}${r.stage.kind === 'failed' ? ` ${r.stage.failure.code}` : ''}`);

describe('runBatch', () => {
  it('keeps each outcome on its own file: a bad file fails its check, the others are sent and opened, in order', async () => {
    const h = harness({ badAudio: ['b.txt'] });
    const end = await runBatch(files('a.wav', 'b.txt', 'c.wav'), h.steps, { concurrency: 2, abort: new AbortController(), progress: h.progress });
    assert.equal(end.kind, 'sent');
    if (end.kind !== 'sent') return;
    assert.deepEqual(stages(end.records), ['a.wav: opened', 'b.txt: failed AUDIO_UNREADABLE', 'c.wav: opened']);
    assert.deepEqual(openedDocuments(end.records), ['document of answer for a.wav', 'document of answer for c.wav']);
    // Only the first `concurrency` files keep their bytes from the check; attestation comes after every check.
    assert.deepEqual(h.calls.slice(0, 4), ['check a.wav (kept)', 'check b.txt (kept)', 'check c.wav', 'attest']);
    assert.deepEqual(h.reported, ['b.txt AUDIO_UNREADABLE']);
  });

  it('attests nothing when no file passes its check, and sends nothing when the user cancelled during the checks', async () => {
    const none = harness({ badAudio: ['a.txt'] });
    const end = await runBatch(files('a.txt'), none.steps, { concurrency: 1, abort: new AbortController(), progress: none.progress });
    assert.deepEqual(end.kind === 'checked' && stages(end.records), ['a.txt: failed AUDIO_UNREADABLE']);
    assert.ok(!none.calls.includes('attest'));

    const abort = new AbortController();
    const cancelled = harness();
    cancelled.steps.check = async (file) => {
      abort.abort();
      return file;
    };
    const end2 = await runBatch(files('a.wav', 'b.wav'), cancelled.steps, { concurrency: 2, abort, progress: cancelled.progress });
    assert.deepEqual(end2.kind === 'checked' && stages(end2.records), ['a.wav: not started', 'b.wav: not started']);
    assert.ok(!cancelled.calls.includes('attest'));
  });

  it('ends with the attestation failure and sends nothing when the server does not prove itself', async () => {
    const failure: Failure = { code: 'PCR_MISMATCH', message: 'PCR0 differs', untrusted: true };
    const h = harness({ attest: failure });
    const end = await runBatch(files('a.wav'), h.steps, { concurrency: 1, abort: new AbortController(), progress: h.progress });
    assert.deepEqual(end, { kind: 'not attested', failure });
    assert.ok(!h.calls.some((c) => c.startsWith('send')));
  });

  it('stops sending once a file shows the server untrusted; an ordinary failure does not stop the others', async () => {
    const h = harness({ sendThrows: { 'a.wav': new ChannelError('SERVER_ERROR', 'refused'), 'b.wav': new AttestationError('SIGNATURE_INVALID') } });
    const abort = new AbortController();
    const end = await runBatch(files('a.wav', 'b.wav', 'c.wav'), h.steps, { concurrency: 1, abort, progress: h.progress });
    assert.deepEqual(end.kind === 'sent' && stages(end.records), ['a.wav: failed SERVER_ERROR', 'b.wav: failed SIGNATURE_INVALID', 'c.wav: not started']);
    assert.ok(abort.signal.aborted);
    assert.deepEqual(h.reported, ['a.wav SERVER_ERROR while sending', 'b.wav SIGNATURE_INVALID while sending']);
  });

  it('stops at the first file the server does not answer: one stop, the rest not sent (not failed one by one)', async () => {
    const gone = new ChannelError('SERVER_UNREACHABLE', 'Cannot talk to 127.0.0.1:1: ECONNREFUSED.');
    const h = harness({ badAudio: ['b.txt'], sendThrows: { 'd.wav': gone } });
    const abort = new AbortController();
    const end = await runBatch(files('a.wav', 'b.txt', 'c.wav', 'd.wav', 'e.wav', 'f.wav'), h.steps, { concurrency: 1, abort, progress: h.progress });
    assert.equal(end.kind, 'sent');
    if (end.kind !== 'sent') return;
    assert.deepEqual(stages(end.records), ['a.wav: opened', 'b.txt: failed AUDIO_UNREADABLE', 'c.wav: opened', 'd.wav: failed SERVER_UNREACHABLE', 'e.wav: not started', 'f.wav: not started']);
    assert.equal(end.stopped?.code, 'SERVER_UNREACHABLE');
    assert.ok(abort.signal.aborted);
    assert.deepEqual(h.calls.filter((c) => c.startsWith('send')).length, 3, 'nothing sent after the server stopped answering');
    const summary = batchSummary(end.records, false, end.stopped);
    assert.equal(summary.message, 'BlindBox: the server stopped answering after 2 files; 3 were not sent; 1 failed: b.txt (AUDIO_UNREADABLE).');
    assert.deepEqual(summary.remaining, ['d.wav', 'e.wav', 'f.wav']);
    assert.deepEqual(summary.failed, ['b.txt']);
    assert.equal(summary.complete, false);
  });

  it('a timeout stops the batch too; a file the server refused (SERVER_ERROR) does not', async () => {
    const timeout = harness({ sendThrows: { 'a.wav': new ChannelError('TIMEOUT', 'no answer') } });
    const end = await runBatch(files('a.wav', 'b.wav'), timeout.steps, { concurrency: 1, abort: new AbortController(), progress: timeout.progress });
    assert.deepEqual(end.kind === 'sent' && [stages(end.records), end.stopped?.code], [['a.wav: failed TIMEOUT', 'b.wav: not started'], 'TIMEOUT']);

    const refused = harness({ sendThrows: { 'a.wav': new ChannelError('SERVER_ERROR', 'too long') } });
    const end2 = await runBatch(files('a.wav', 'b.wav'), refused.steps, { concurrency: 1, abort: new AbortController(), progress: refused.progress });
    assert.deepEqual(end2.kind === 'sent' && [stages(end2.records), end2.stopped], [['a.wav: failed SERVER_ERROR', 'b.wav: opened'], undefined]);
    if (end2.kind !== 'sent') return;
    const summary = batchSummary(end2.records, false, end2.stopped);
    assert.deepEqual([summary.failed, summary.remaining], [['a.wav'], []]);
  });

  it('the counter names the file it counts: "3 of 4 · c.wav", with files in flight at once', async () => {
    const h = harness({ badAudio: ['b.wav'] });
    await runBatch(files('a.wav', 'b.wav', 'c.wav', 'd.wav'), h.steps, { concurrency: 2, abort: new AbortController(), progress: new BatchProgress(4, { report: ({ message }) => message && h.messages.push(message) }) });
    const counted = h.messages.filter((m) => / of 4 · /.test(m));
    assert.ok(counted.length >= 7, counted.join('\n'));
    for (const m of counted) {
      const [, n, name] = /^(\d) of 4 · (\w)\.wav · /.exec(m) ?? [];
      assert.equal(name, 'abcd'[Number(n) - 1], m);
    }
  });

  it('a file whose answer arrives after Cancel is cancelled, not opened; one that throws on Cancel is reported cancelled', async () => {
    const abort = new AbortController();
    const h = harness({ onSend: (name) => name === 'a.wav' && abort.abort() });
    const end = await runBatch(files('a.wav'), h.steps, { concurrency: 1, abort, progress: h.progress });
    assert.deepEqual(end.kind === 'sent' && stages(end.records), ['a.wav: cancelled']);
    assert.deepEqual(h.reported, []);

    const thrown = harness({ sendThrows: { 'a.wav': Object.assign(new Error('aborted'), { name: 'AbortError' }) } });
    const end2 = await runBatch(files('a.wav'), thrown.steps, { concurrency: 1, abort: new AbortController(), progress: thrown.progress });
    assert.deepEqual(end2.kind === 'sent' && stages(end2.records), ['a.wav: cancelled']);
    assert.deepEqual(thrown.reported, ['a.wav cancelled']);
  });
});

describe('batchSummary', () => {
  const record = (name: string, stage: FileRecord<string, string, string>['stage']) => ({ file: name, name, stage });
  it('counts the opened, names up to three failures with their codes, and says what was left', () => {
    const failed = (code: string) => ({ kind: 'failed' as const, failure: { code, message: '', untrusted: false } });
    const records = [record('a', { kind: 'opened', document: 'd' }), record('b', failed('AUDIO_UNREADABLE')), record('c', failed('X')), record('d', failed('Y')), record('e', failed('Z')), record('f', { kind: 'not started' })];
    assert.deepEqual(batchSummary(records, false), { message: 'BlindBox: transcribed 1 of 6 files; 4 failed: b (AUDIO_UNREADABLE), c (X), d (Y), …; 1 not sent.', complete: false, failed: ['b', 'c', 'd', 'e'], remaining: ['f'] });
    assert.equal(batchSummary(records, true).message, 'BlindBox: transcribed 1 of 6 files; 4 failed: b (AUDIO_UNREADABLE), c (X), d (Y), …; 1 cancelled.');
    assert.deepEqual(batchSummary([record('a', { kind: 'opened', document: 'd' })], false), { message: 'BlindBox: transcribed 1 of 1 files.', complete: true, failed: [], remaining: [] });
  });

  it('after Cancel, the files not transcribed are the remaining ones; the failed ones are retried apart', () => {
    const records = [record('a', { kind: 'opened', document: 'd' }), record('b', { kind: 'failed', failure: { code: 'AUDIO_UNREADABLE', message: '', untrusted: false } }), record('c', { kind: 'cancelled' }), record('d', { kind: 'not started' })];
    const summary = batchSummary(records, true);
    assert.equal(summary.message, 'BlindBox: transcribed 1 of 4 files; 1 failed: b (AUDIO_UNREADABLE); 2 cancelled.');
    assert.deepEqual([summary.failed, summary.remaining], [['b'], ['c', 'd']]);
  });
});

describe('BatchProgress', () => {
  it('one bar for the batch: each file its share, never moving back, summing to 100 %, with the file\'s position', () => {
    const reports: { message?: string; increment?: number }[] = [];
    const progress = new BatchProgress(2, { report: (r) => void reports.push(r) });
    const a = progress.file('a.wav', 1);
    const b = progress.file('b.wav', 2);
    a.update(0.5, 'uploading…');
    a.update(0.2, 'waiting'); // never back
    b.update(1, 'transcribing');
    a.finish();
    b.finish();
    assert.deepEqual(reports.map((r) => r.increment), [25, 0, 50, 25, 0]);
    assert.deepEqual(reports.map((r) => r.message), ['1 of 2 · a.wav · uploading…', '1 of 2 · a.wav · waiting', '2 of 2 · b.wav · transcribing', '1 of 2 · a.wav · done', '2 of 2 · b.wav · done']);
    const single: { message?: string }[] = [];
    const one = new BatchProgress(1, { report: (r) => void single.push(r) });
    one.file('x.wav', 1).update(0.3, 'uploading…');
    assert.equal(single[0]!.message, 'uploading…', 'one file: its name is the title');
  });
});
