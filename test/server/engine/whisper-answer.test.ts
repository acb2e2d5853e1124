/** What whisper.cpp's answers mean: only a well-formed verbose_json is a transcript, and pieces join in time. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../../../src/server/engine/engine.js';
import { joinPieces, pieceTranscript } from '../../../src/server/engine/whisper/answer.js';

const failed = (message: RegExp) => (err: unknown) => err instanceof EngineError && err.code === 'ENGINE_FAILED' && message.test(err.message);

describe('whisper.cpp answers', () => {
  it('an error body, even under HTTP 200, is ENGINE_FAILED with its message', () => {
    assert.throws(() => pieceTranscript('{"error":"failed to read WAV file"}', 5), failed(/error: failed to read WAV file/));
    assert.throws(() => pieceTranscript('{"error":{"message":"no file","type":"invalid_request_error"}}', 5), failed(/error: no file/));
  });

  it('anything but verbose_json with segments is ENGINE_FAILED, never an empty transcript', () => {
    for (const body of ['Hello there.', '', '[]', '{"text":"Hello there."}', '{"text":"Hello.","segments":[]}', '{"text":42,"segments":[]}', '{"segments":[{"start":"0","end":1,"text":"a"}]}']) {
      assert.throws(() => pieceTranscript(body, 5), failed(/./), body);
    }
  });

  it('silence (no segments) is an empty transcript; segments are ordered, trimmed, kept within the piece and apart', () => {
    assert.deepEqual(pieceTranscript('{"text":"","segments":[],"language":"english"}', 5), { segments: [], language: 'en' });
    const body = { language: 'french', segments: [{ start: 2, end: 6.5, text: ' deux ' }, { start: 0, end: 2.5, text: ' un' }, { start: 3, end: 3.5, text: '  ' }] };
    assert.deepEqual(pieceTranscript(JSON.stringify(body), 5), { segments: [{ start: 0, end: 2.5, text: 'un' }, { start: 2.5, end: 5, text: 'deux' }], language: 'fr' });
  });

  it("the models' captions for what is not speech ([BLANK_AUDIO], [MUSIC], (wind blowing), ♪) are no transcript text", () => {
    const segments = (...texts: string[]) => JSON.stringify({ language: 'en', segments: texts.map((text, i) => ({ start: i, end: i + 1, text })) });
    // Silence as whisper.cpp answers it with a real model: one segment saying [BLANK_AUDIO]. Heard nothing: empty.
    assert.deepEqual(pieceTranscript(segments(' [BLANK_AUDIO]'), 5), { segments: [], language: 'en' });
    assert.deepEqual(pieceTranscript(segments(' [MUSIC]', ' (wind blowing)', ' ♪ ♪', ' [ Silence ]', ' [Music] (upbeat music)'), 5).segments, []);
    // Beside speech, a bracketed caption goes and the words stay; words in parentheses beside speech are kept.
    assert.deepEqual(
      pieceTranscript(segments(' [BLANK_AUDIO] Hello there.', ' [MUSIC]', ' So (as I said) we stay.'), 5).segments,
      [
        { start: 0, end: 1, text: 'Hello there.' },
        { start: 2, end: 3, text: 'So (as I said) we stay.' },
      ],
    );
  });

  it('joins pieces in time order with their offsets, and reports the language of the first piece with speech', () => {
    const transcript = joinPieces(
      [
        { start: 30, transcript: { segments: [{ start: 1, end: 2, text: 'b' }], language: 'de' } },
        { start: 0, transcript: { segments: [], language: 'en' } },
        { start: 60, transcript: { segments: [{ start: 0, end: 10, text: 'c' }], language: 'de' } },
      ],
      65,
      'und',
    );
    assert.deepEqual(transcript, { text: 'b c', segments: [{ start: 31, end: 32, text: 'b' }, { start: 60, end: 65, text: 'c' }], duration: 65, language: 'de' });
    assert.equal(joinPieces([], 3, 'und').language, 'und');
  });
});
