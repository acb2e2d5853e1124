/**
 * `blindbox serve --engine whisper` with the REAL whisper-server (built by npm run setup from the pinned whisper.cpp
 * source) and a tiny ggml model the tests write (support/whisper-tiny-model.ts: every 30 s window decodes as " tiny",
 * whatever the audio; plumbing, not accuracy). The server, its children and the CLI run as separate processes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Decoder } from 'cbor-x';
import { runCli, startServe, type ServeProcess } from '../../../../support/cli.js';
import { childrenOf, cpuTicks, running, until } from '../../../../support/processes.js';
import { TINY_MODEL_WORD, tinyWhisperModel } from '../../../../support/whisper-tiny-model.js';
import { WHISPER_SERVER_BINARY } from '../../../../src/server/engine/whisper/binary.js';
import { applicationPcrValue, measureApplication } from '../../../../src/server/application-pcr.js';
import { SERVER_VERSION } from '../../../../src/server/server.js';

const SAMPLE = path.resolve('media/sample.wav');

let dir: string;
let rootPem: string;
let modelEn: string;

async function whisperChildren(serve: ServeProcess): Promise<number[]> {
  return (await childrenOf(serve.child.pid!)).filter((c) => c.command === 'whisper-server').map((c) => c.pid);
}

async function serveWhisper(model: string, ...more: string[]): Promise<ServeProcess> {
  return startServe(['--simulate', '--trust-out', rootPem, '--engine', 'whisper', '--model-file', model, '--whisper-threads', '1', ...more]);
}

before(async () => {
  assert.ok(existsSync(WHISPER_SERVER_BINARY), `whisper-server is not built at ${WHISPER_SERVER_BINARY}: run npm run setup`);
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-whisper-'));
  rootPem = path.join(dir, 'root.pem');
  modelEn = await tinyWhisperModel({ englishOnly: true });
});

describe('serve --engine whisper (real whisper-server, tiny model)', () => {
  let serve: ServeProcess;
  before(async () => {
    serve = await serveWhisper(modelEn);
  });
  after(() => serve.stop('SIGKILL'));

  it('transcribes a WAV end to end through the CLI, and attests engine whisper with the model and its SHA-256', async () => {
    const r = await runCli(['transcribe', serve.url, SAMPLE, '--trust-root', rootPem, '--format', 'verbose_json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { text: string; segments: { start: number; end: number; text: string }[]; language: string };
    assert.equal(json.text, TINY_MODEL_WORD.trim());
    assert.equal(json.segments.length, 1);
    assert.equal(json.segments[0]!.start, 0);

    const v = await runCli(['verify', serve.url, '--trust-root', rootPem, '--json']);
    assert.equal(v.code, 0, v.stderr);
    const sha256 = createHash('sha256').update(await readFile(modelEn)).digest('hex');
    const service = new Decoder({ mapsAsObjects: false, useRecords: false }).decode(Buffer.from(JSON.parse(v.stdout).userData, 'hex')) as Map<string, unknown>;
    assert.equal(service.get('engine'), 'whisper');
    assert.equal(service.get('model'), `${path.basename(modelEn)} (sha256 ${sha256})`);
  });

  it('measures the model file into PCR16, and a client pinning another PCR16 sends nothing', async () => {
    const label = `${path.basename(modelEn)} (sha256 ${createHash('sha256').update(await readFile(modelEn)).digest('hex')})`;
    const expected = applicationPcrValue(await measureApplication({ engine: 'whisper', model: label, version: SERVER_VERSION, modelPaths: [modelEn] }));
    const printed = /PCR16 ([0-9a-f]{96})/.exec(serve.stderr())?.[1];
    assert.equal(printed, Buffer.from(expected).toString('hex'));
    const other = Buffer.from(applicationPcrValue(await measureApplication({ engine: 'whisper', model: label, version: SERVER_VERSION, modelPaths: [await tinyWhisperModel({ englishOnly: false })] }))).toString('hex');
    const r = await runCli(['transcribe', serve.url, SAMPLE, '--trust-root', rootPem, '--pcr', `16=${other}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout + r.stderr, /PCR_MISMATCH/);
  });

  it('refuses another language on an English-only model (422 LANGUAGE_UNSUPPORTED)', async () => {
    const r = await runCli(['transcribe', serve.url, SAMPLE, '--trust-root', rootPem, '--language', 'fr']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /LANGUAGE_UNSUPPORTED|language/i);
  });

  it('a child killed mid-request: that request fails with ENGINE_FAILED, the child is restarted, the next request is served', async () => {
    const [pid] = await whisperChildren(serve);
    assert.ok(pid, 'a whisper-server child runs');
    // Long audio keeps the child busy: 9 minutes of the sample, eighteen 30 s windows. It is killed once it computes.
    const long = path.join(dir, 'long.wav');
    await writeFile(long, await repeatWav(SAMPLE, 60));
    const idle = await cpuTicks(pid);
    const request = runCli(['transcribe', serve.url, long, '--trust-root', rootPem]);
    await until('the child to start transcribing', async () => (await cpuTicks(pid)) > idle + 5, 30_000);
    process.kill(pid, 'SIGKILL');
    const r = await request;
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /ENGINE_FAILED|stopped while transcribing/);
    const [again] = await until('a restarted child', async () => {
      const pids = await whisperChildren(serve);
      return pids.length === 1 && pids[0] !== pid ? pids : undefined;
    });
    assert.notEqual(again, pid);
    assert.match(serve.stderr(), /whisper-server #0 .* stopped \(SIGKILL\): restarting/);
    const next = await until('a transcript after the restart', async () => {
      const t = await runCli(['transcribe', serve.url, SAMPLE, '--trust-root', rootPem]);
      return t.code === 0 ? t : undefined;
    });
    assert.equal(next.stdout.trim(), TINY_MODEL_WORD.trim());
  });
});

describe('serve --engine whisper with a multilingual model', () => {
  it('takes any language, with whisper-server detecting it when none is named', async () => {
    const serve = await serveWhisper(await tinyWhisperModel({ englishOnly: false }));
    try {
      for (const language of [[], ['--language', 'fr']]) {
        const r = await runCli(['transcribe', serve.url, SAMPLE, '--trust-root', rootPem, ...language]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), TINY_MODEL_WORD.trim());
      }
    } finally {
      await serve.stop('SIGKILL');
    }
  });
});

describe('serve --engine whisper: no child outlives the server', () => {
  it('SIGTERM stops every child (2 instances) and the server exits 0', async () => {
    const serve = await serveWhisper(modelEn, '--whisper-instances', '2');
    const pids = await whisperChildren(serve);
    assert.equal(pids.length, 2, serve.stderr());
    assert.equal(await serve.stop('SIGTERM'), 0, serve.stderr());
    for (const pid of pids) assert.equal(await running(pid), false, `whisper-server ${pid} still runs`);
  });

  it('a SIGKILLed server takes its children with it (parent-death signal)', async () => {
    const serve = await serveWhisper(modelEn);
    const pids = await whisperChildren(serve);
    assert.equal(pids.length, 1);
    await serve.stop('SIGKILL');
    for (const pid of pids) await until(`whisper-server ${pid} to die`, async () => !(await running(pid)), 5_000);
  });
});

describe('whisper-server as npm run setup builds it', () => {
  it('links no OpenMP runtime and no whisper/ggml shared library (the enclave image ships neither)', async () => {
    const { stdout } = await promisify(execFile)('ldd', [WHISPER_SERVER_BINARY]);
    assert.match(stdout, /libc\.so/);
    assert.doesNotMatch(stdout, /libgomp|libwhisper|libggml/);
  });
});

describe('serve --engine whisper: usage', () => {
  it('refuses a missing whisper-server, a bad instance count and whisper flags on another engine (exit 2)', async () => {
    const cases = [
      [['--engine', 'whisper', '--model-file', modelEn, '--whisper-server', path.join(dir, 'absent')], /whisper-server is not at .*absent.*npm run setup/],
      [['--engine', 'whisper', '--model-file', modelEn, '--whisper-instances', '0'], /--whisper-instances must be a whole number from 1 to 64/],
      [['--engine', 'pocketsphinx', '--whisper-threads', '2'], /--whisper-threads goes with --engine whisper/],
      [['--engine', 'whisper'], /the whisper engine needs --model-file/],
    ] as const;
    for (const [args, message] of cases) {
      const r = await runCli(['serve', '--simulate', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
  });
});

describe('serve --engine whisper: a model file that is not a model', () => {
  it('is refused at start-up with one line, exit 2, and no child started', async () => {
    const notModel = path.join(dir, 'not-a-model.bin');
    await writeFile(notModel, Buffer.alloc(4096, 7));
    const r = await runCli(['serve', '--simulate', '--engine', 'whisper', '--model-file', notModel]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^blindbox serve: the model file ".*not-a-model\.bin" is not a ggml Whisper model: it does not start with the ggml magic\n$/);
  });

  it('a missing file and a truncated model are refused the same way', async () => {
    const truncated = path.join(dir, 'truncated.bin');
    await writeFile(truncated, (await readFile(modelEn)).subarray(0, 100));
    for (const [file, why] of [[path.join(dir, 'absent.bin'), /cannot be read \(ENOENT\)/], [truncated, /ends inside its mel filters/]] as const) {
      const r = await runCli(['serve', '--simulate', '--engine', 'whisper', '--model-file', file]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, why);
    }
  });
});

/** A WAV of `times` copies of a 16-bit PCM WAV's samples (its 44-byte canonical header rewritten). */
async function repeatWav(file: string, times: number): Promise<Buffer> {
  const wav = await readFile(file);
  const dataAt = wav.indexOf('data') + 8;
  const header = Buffer.from(wav.subarray(0, dataAt));
  const pcm = wav.subarray(dataAt, dataAt + wav.readUInt32LE(dataAt - 4));
  header.writeUInt32LE(pcm.length * times, dataAt - 4);
  header.writeUInt32LE(dataAt - 8 + pcm.length * times, 4);
  return Buffer.concat([header, ...Array.from({ length: times }, () => pcm)]);
}
