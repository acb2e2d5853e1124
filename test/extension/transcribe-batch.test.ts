/** The transcription batch as a pipeline (no editor): one record per file through check → attest → send → document. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttestationError, ChannelError, InputError } from '../../src/core/errors.js';
import type { Failure } from '../../src/extension/common/failure.js';
import { batchSummary, openedDocuments, runBatch, type BatchSteps, type FileRecord } from '../../src/extension/transcribe/batch.js';
import { BatchProgress } from '../../src/extension/transcribe/progress.js';

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
    const h = harness({ sendThrows: { 'a.wav': new ChannelError('SERVER_UNREACHABLE', 'connection reset'), 'b.wav': new AttestationError('SIGNATURE_INVALID') } });
    const abort = new AbortController();
    const end = await runBatch(files('a.wav', 'b.wav', 'c.wav'), h.steps, { concurrency: 1, abort, progress: h.progress });
    assert.deepEqual(end.kind === 'sent' && stages(end.records), ['a.wav: failed SERVER_UNREACHABLE', 'b.wav: failed SIGNATURE_INVALID', 'c.wav: not started']);
    assert.ok(abort.signal.aborted);
    assert.deepEqual(h.reported, ['a.wav SERVER_UNREACHABLE while sending', 'b.wav SIGNATURE_INVALID while sending']);
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
    assert.deepEqual(batchSummary(records, false), { message: 'BlindBox: transcribed 1 of 6 files; 4 failed: b (AUDIO_UNREADABLE), c (X), d (Y), …; 1 not sent.', complete: false });
    assert.equal(batchSummary(records, true).message, 'BlindBox: transcribed 1 of 6 files; 4 failed: b (AUDIO_UNREADABLE), c (X), d (Y), …; 1 cancelled.');
    assert.deepEqual(batchSummary([record('a', { kind: 'opened', document: 'd' })], false), { message: 'BlindBox: transcribed 1 of 1 files.', complete: true });
  });
});

describe('BatchProgress', () => {
  it('one bar for the batch: each file its share, never moving back, summing to 100 %, with the file\'s position', () => {
    const reports: { message?: string; increment?: number }[] = [];
    const progress = new BatchProgress(2, { report: (r) => void reports.push(r) });
    const a = progress.file('a.wav');
    const b = progress.file('b.wav');
    a.update(0.5, 'uploading…');
    a.update(0.2, 'waiting'); // never back
    b.update(1, 'transcribing');
    a.finish();
    b.finish();
    assert.deepEqual(reports.map((r) => r.increment), [25, 0, 50, 25, 0]);
    assert.deepEqual(reports.map((r) => r.message), ['1 of 2 · a.wav · uploading…', '1 of 2 · a.wav · waiting', '1 of 2 · b.wav · transcribing', '2 of 2 · a.wav · done', '2 of 2 · b.wav · done']);
    const single: { message?: string }[] = [];
    const one = new BatchProgress(1, { report: (r) => void single.push(r) });
    one.file('x.wav').update(0.3, 'uploading…');
    assert.equal(single[0]!.message, 'uploading…', 'one file: its name is the title');
  });
});
