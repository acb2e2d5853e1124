/**
 * `blindbox serve --engine whisper` with the REAL whisper-server and the tiny model (support/whisper-tiny-model.ts:
 * every window decodes as " tiny"): every upload format the server decodes reaches whisper.cpp as audio of the right
 * length, and the request's language reaches it mapped (`en-US` → `en`) or left for it to detect (`auto`).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startServe, type ServeProcess } from '../../../../support/cli.js';
import { encode, scratchDir, SCRIPT, speak, SPEECH_HZ } from '../../../../support/speech.js';
import { TINY_MODEL_WORD, tinyWhisperModel } from '../../../../support/whisper-tiny-model.js';
import { WHISPER_SERVER_BINARY } from '../../../../src/server/engine/whisper/binary.js';
import { WHISPER_LANGUAGES } from '../../../../src/server/engine/whisper/languages.js';

interface VerboseJson {
  readonly text: string;
  readonly language: string;
  readonly duration: number;
  readonly segments: readonly { readonly start: number; readonly end: number; readonly text: string }[];
}

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let rootPem: string;
let speech: string;

async function serveWhisper(englishOnly: boolean): Promise<ServeProcess> {
  const model = await tinyWhisperModel({ englishOnly });
  return startServe(['--simulate', '--trust-out', rootPem, '--engine', 'whisper', '--model-file', model, '--whisper-threads', '1']);
}

async function transcribe(serve: ServeProcess, file: string, ...more: string[]): Promise<VerboseJson> {
  const r = await runCli(['transcribe', serve.url, file, '--trust-root', rootPem, '--format', 'verbose_json', ...more]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as VerboseJson;
}

/** A 16-bit mono WAV's length in seconds, from its data chunk. */
async function wavSeconds(wav: string): Promise<number> {
  const bytes = await readFile(wav);
  return bytes.readUInt32LE(bytes.indexOf('data') + 4) / 2 / SPEECH_HZ;
}

before(async () => {
  assert.ok(existsSync(WHISPER_SERVER_BINARY), `whisper-server is not built at ${WHISPER_SERVER_BINARY}: run npm run setup`);
  scratch = await scratchDir();
  rootPem = path.join(await mkdtemp(path.join(tmpdir(), 'blindbox-whisper-inputs-')), 'root.pem');
  speech = await speak(scratch.dir, 'slt', SCRIPT.slt[0]!, 'speech');
});
after(() => scratch.dispose());

describe('serve --engine whisper: every upload format (real whisper-server, English-only tiny model)', () => {
  let serve: ServeProcess;
  before(async () => {
    serve = await serveWhisper(true);
  });
  after(() => serve.stop('SIGKILL'));

  for (const encoding of ['flac', 'mp3', 'ogg', 'opus'] as const) {
    it(`transcribes ${encoding}: decoded by the server to the recording's length, one segment from whisper.cpp`, async () => {
      const seconds = await wavSeconds(speech);
      const json = await transcribe(serve, await encode(speech, encoding));
      assert.equal(json.text, TINY_MODEL_WORD.trim());
      assert.equal(json.segments.length, 1);
      assert.equal(json.segments[0]!.start, 0);
      // The duration is what the server decoded (whisper.cpp's segment ends at the audio's end): lossy encoders pad a little.
      assert.ok(Math.abs(json.duration - seconds) < 0.1, `${encoding}: ${json.duration} s decoded, ${seconds} s spoken`);
      assert.ok(Math.abs(json.segments[0]!.end - json.duration) < 0.1, `${encoding}: the segment ends at ${json.segments[0]!.end} s of ${json.duration} s`);
    });
  }

  it('takes en-US on the English-only model (as en) and transcribes', async () => {
    const json = await transcribe(serve, speech, '--language', 'en-US');
    assert.equal(json.text, TINY_MODEL_WORD.trim());
    assert.equal(json.language, 'en');
  });
});

describe('serve --engine whisper: languages on a multilingual model (real whisper-server)', () => {
  let serve: ServeProcess;
  before(async () => {
    serve = await serveWhisper(false);
  });
  after(() => serve.stop('SIGKILL'));

  it('auto, or no language: whisper.cpp detects one and the transcript names it', async () => {
    for (const language of [['--language', 'auto'], []]) {
      const json = await transcribe(serve, speech, ...language);
      assert.equal(json.text, TINY_MODEL_WORD.trim());
      assert.ok(WHISPER_LANGUAGES.includes(json.language), json.language);
      // The tiny model's detector hears Dutch in anything: English here would mean no detection ran (a default of en).
      assert.notEqual(json.language, 'en');
    }
  });

  it('en-US is sent as en (whisper.cpp knows no en-US) and named so, between two detected requests', async () => {
    const before = await transcribe(serve, speech);
    const json = await transcribe(serve, speech, '--language', 'en-US');
    assert.equal(json.text, TINY_MODEL_WORD.trim());
    assert.equal(json.language, 'en');
    // The next request without a language is detected again, not left in the previous one's English.
    assert.equal((await transcribe(serve, speech)).language, before.language);
  });
});
