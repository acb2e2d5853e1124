import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIO_EXTENSIONS, AUDIO_WHEN_CLAUSE, baseName, isAudioPath } from '../../../src/extension/common/audio.js';
import { readRepoFile } from '../helpers.js';

describe('audio file matching', () => {
  it('accepts every supported extension in any case', () => {
    for (const ext of AUDIO_EXTENSIONS) {
      assert.ok(isAudioPath(`/w/talk.${ext}`), ext);
      assert.ok(isAudioPath(`/w/TALK.${ext.toUpperCase()}`), ext.toUpperCase());
      assert.ok(isAudioPath(`C:\\rec\\Take 1.${ext[0]!.toUpperCase()}${ext.slice(1)}`));
    }
  });

  it('refuses other files, names without an extension and folders named like audio', () => {
    for (const p of ['/w/notes.txt', '/w/wav', '/w/.wav.bak', '/w/a.wav/', '/w/a.aiff', '/w/a.mp4', '/w/a.wave', '']) assert.equal(isAudioPath(p), false, p);
  });

  it('the explorer menu uses the same list, case-insensitively, and its regex agrees with isAudioPath', () => {
    const pkg = JSON.parse(readRepoFile('package.json'));
    const entry = pkg.contributes.menus['explorer/context'].find((m: { command: string }) => m.command === 'blindbox.transcribeFromExplorer');
    assert.ok(entry.when.startsWith(AUDIO_WHEN_CLAUSE), entry.when);
    const m = /resourceExtname =~ \/(.+)\/(\w*)/.exec(entry.when)!;
    const re = new RegExp(m[1]!, m[2]);
    assert.equal(m[2], 'i');
    for (const ext of AUDIO_EXTENSIONS) {
      assert.ok(re.test(`.${ext}`) && re.test(`.${ext.toUpperCase()}`), ext);
    }
    for (const ext of ['.txt', '.wave', '.mp4', 'wav', '.wav.bak']) assert.equal(re.test(ext), false, ext);
  });

  it('names files by their last path segment', () => {
    assert.equal(baseName('/a/b/talk.wav'), 'talk.wav');
    assert.equal(baseName('C:\\x\\y.mp3'), 'y.mp3');
    assert.equal(baseName('plain.ogg'), 'plain.ogg');
  });
});
