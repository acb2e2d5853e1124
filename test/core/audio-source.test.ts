/**
 * Audio checked before anything is attested, and read when it is sent: a file behind a whole-file reader (VS Code's
 * `workspace.fs`) is read once for its check and once on its turn, and what changed in between is refused then.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkedFile, checkedWhole, InputError, type WholeFileReader } from '../../src/core/index.js';

const WAV = new Uint8Array(Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'), Buffer.alloc(4096, 7)]));
const TEXT = new TextEncoder().encode('Minutes of the meeting, typed, not recorded.\n');

/** A reader over `current.bytes` (undefined: the file is gone), counting stats and reads. */
function reader(bytes: Uint8Array | undefined): WholeFileReader & { current: { bytes: Uint8Array | undefined }; stats: number; reads: number } {
  const r = {
    current: { bytes },
    stats: 0,
    reads: 0,
    async size() {
      r.stats++;
      if (!r.current.bytes) throw new Error('FileNotFound');
      return r.current.bytes.length;
    },
    async read() {
      r.reads++;
      if (!r.current.bytes) throw new Error('FileNotFound');
      return new Uint8Array(r.current.bytes);
    },
  };
  return r;
}

const refused = (code: string, message: RegExp) => (err: unknown) => err instanceof InputError && err.code === code && message.test(err.message);

describe('checkedWhole: checked now, read again when sent', () => {
  it('reads the file once to check it and again on open, sending what is there then', async () => {
    const file = reader(WAV);
    const audio = await checkedWhole('talk.wav', file);
    assert.deepEqual({ stats: file.stats, reads: file.reads }, { stats: 1, reads: 1 });
    const changed = new Uint8Array([...WAV, 1, 2, 3]);
    file.current.bytes = changed;
    const source = await audio.open();
    assert.deepEqual({ stats: file.stats, reads: file.reads }, { stats: 2, reads: 2 });
    assert.equal(source.name, 'talk.wav');
    assert.deepEqual(new Uint8Array(await source.blob.arrayBuffer()), changed);
  });

  it('keep: the bytes of the check are sent (read once), whatever the file holds by then', async () => {
    const file = reader(WAV);
    const audio = await checkedWhole('talk.wav', file, { keep: true });
    file.current.bytes = TEXT;
    const source = await audio.open();
    assert.deepEqual({ stats: file.stats, reads: file.reads }, { stats: 1, reads: 1 });
    assert.deepEqual(new Uint8Array(await source.blob.arrayBuffer()), WAV);
    // Kept for one open only: another one reads (and checks) again.
    await assert.rejects(audio.open(), refused('UNSUPPORTED_AUDIO', /changed after it was checked/));
  });

  it('refuses a file too large from its size alone, and one that is not audio from its first bytes', async () => {
    const huge = { ...reader(WAV), size: async () => 201 * 1024 * 1024 };
    await assert.rejects(checkedWhole('huge.wav', huge), refused('INVALID_AUDIO_FILE', /more than the 200 MB/));
    assert.equal(huge.reads, 0, 'never read');
    await assert.rejects(checkedWhole('minutes.wav', reader(TEXT)), refused('UNSUPPORTED_AUDIO', /"minutes\.wav": The file is not audio in a format/));
    await assert.rejects(checkedWhole('empty.wav', reader(new Uint8Array(0))), refused('INVALID_AUDIO_FILE', /is empty/));
  });

  it('a file that became text, too large or empty, or vanished, fails on open with its code and says it changed', async () => {
    const cases: [Uint8Array | undefined | 'huge', string, RegExp][] = [
      [TEXT, 'UNSUPPORTED_AUDIO', /not audio in a format.* \(the file changed after it was checked\)$/],
      [new Uint8Array(0), 'INVALID_AUDIO_FILE', /is empty \(the file changed after it was checked\)$/],
      ['huge', 'INVALID_AUDIO_FILE', /more than the 200 MB.* \(the file changed after it was checked\)$/],
    ];
    for (const [now, code, message] of cases) {
      const file = reader(WAV);
      const audio = await checkedWhole('talk.wav', file);
      if (now === 'huge') file.size = async () => 201 * 1024 * 1024;
      else file.current.bytes = now;
      await assert.rejects(audio.open(), refused(code, message), String(code));
      if (now === 'huge') assert.equal(file.reads, 1, 'a file grown too large is not read again');
    }
    // What the reader throws that is not a refusal (the caller's own wording) passes through as it is.
    const gone = reader(WAV);
    const audio = await checkedWhole('talk.wav', gone);
    gone.current.bytes = undefined;
    await assert.rejects(audio.open(), /^Error: FileNotFound$/);
  });
});

describe('checkedFile: a file on disk, streamed', () => {
  it('is checked at once and again on open, which streams what is on disk then', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-audio-'));
    try {
      const wav = path.join(dir, 'talk.wav');
      await writeFile(wav, WAV);
      const audio = await checkedFile(wav);
      assert.equal(audio.name, 'talk.wav');
      const source = await audio.open();
      assert.equal(source.name, 'talk.wav');
      assert.deepEqual(new Uint8Array(await source.blob.arrayBuffer()), WAV);
      await writeFile(path.join(dir, 'minutes.wav'), TEXT);
      await assert.rejects(checkedFile(path.join(dir, 'minutes.wav')), refused('UNSUPPORTED_AUDIO', /not audio in a format/));
      // Changed, then removed, after the check.
      await writeFile(wav, TEXT);
      await assert.rejects(audio.open(), refused('UNSUPPORTED_AUDIO', /not audio in a format.* \(the file changed after it was checked\)$/));
      await rm(wav);
      await assert.rejects(audio.open(), refused('INVALID_AUDIO_FILE', /ENOENT \(the file changed after it was checked\)$/));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
