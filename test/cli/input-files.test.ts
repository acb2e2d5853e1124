/**
 * Input files the user names are read only if they are regular files, and with a size cap: `/dev/zero`, a pipe that
 * never ends, a pipe nobody writes to (whose `open()` would wait forever), a regular file that is too large. Each is a
 * usage error (exit 2) that names the file, reached promptly and before any connection (the URL points nowhere),
 * instead of reading until memory runs out or blocking for ever.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../support/cli.js';

const NOWHERE = 'https://127.0.0.1:1';
/** Far more than any of these runs needs; a CLI that reads /dev/zero to the end is killed at this bound and fails. */
const BOUND_MS = 30_000;

let dir: string;
const writers: ChildProcess[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-inputs-'));
  await writeFile(emptyDoc(), '');
});

/** A regular (empty) document, for the commands that read another file after it. */
const emptyDoc = () => path.join(dir, 'empty.cbor');
after(async () => {
  for (const w of writers) w.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** A named pipe with a writer that never stops writing. */
async function endlessFifo(name: string): Promise<string> {
  const fifo = path.join(dir, name);
  const made = spawn('mkfifo', [fifo]);
  await new Promise((resolve) => made.once('exit', resolve));
  writers.push(spawn('sh', ['-c', `exec cat /dev/zero > '${fifo}'`], { stdio: 'ignore' }));
  return fifo;
}

/** A named pipe nobody writes to: a blocking `open()` of it never returns. */
async function silentFifo(name: string): Promise<string> {
  const fifo = path.join(dir, name);
  const made = spawn('mkfifo', [fifo]);
  await new Promise((resolve) => made.once('exit', resolve));
  return fifo;
}

async function assertUsage(args: string[], message: RegExp, boundMs = BOUND_MS): Promise<void> {
  const r = await runCli(args, boundMs);
  assert.equal(r.code, 2, `${args.join(' ')}\n${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, message);
}

describe('input files: regular and capped (exit 2 naming the file, or the judged file rejected)', { concurrency: 2 }, () => {
  it('verify-doc /dev/zero', () => assertUsage(['verify-doc', '/dev/zero'], /the attestation document "\/dev\/zero" is not a regular file \(it is a character device/));

  it('verify-doc of a pipe that never ends', async () => {
    const fifo = await endlessFifo('doc.fifo');
    await assertUsage(['verify-doc', fifo], /the attestation document ".*doc\.fifo" is not a regular file \(it is a named pipe/);
  });

  it('verify-doc of a regular file one byte over the limit: the document is rejected (exit 1, MALFORMED_CBOR), the command line was fine', async () => {
    const big = path.join(dir, 'big.cbor');
    await writeFile(big, Buffer.alloc(64 * 1024 + 1));
    const human = await runCli(['verify-doc', big], BOUND_MS);
    assert.equal(human.code, 1, human.stdout + human.stderr);
    assert.match(human.stdout, /^REJECTED {2}MALFORMED_CBOR: The attestation document ".*big\.cbor" is larger than 64 KiB, more than any attestation document\./);
    const json = await runCli(['verify-doc', big, '--json'], BOUND_MS);
    assert.equal(json.code, 1, json.stdout + json.stderr);
    assert.equal(json.stderr, '');
    const verdict = JSON.parse(json.stdout) as { ok: boolean; code: string; message: string };
    assert.deepEqual([verdict.ok, verdict.code], [false, 'MALFORMED_CBOR']);
    assert.match(verdict.message, /larger than 64 KiB/);
  });

  it('verify-doc --root /dev/zero', () => assertUsage(['verify-doc', emptyDoc(), '--trust-root', '/dev/zero'], /the root certificate file "\/dev\/zero" is not a regular file/));

  it('verify --policy /dev/zero', () => assertUsage(['verify', NOWHERE, '--policy', '/dev/zero'], /the policy file "\/dev\/zero" is not a regular file/));

  it('verify --trust-root /dev/zero', () => assertUsage(['verify', NOWHERE, '--trust-root', '/dev/zero'], /the root certificate file "\/dev\/zero" is not a regular file/));

  it('a policy file naming /dev/zero as a root', async () => {
    const policy = path.join(dir, 'zero-root.json');
    await writeFile(policy, JSON.stringify({ roots: ['/dev/zero'] }));
    await assertUsage(['verify', NOWHERE, '--policy', policy], /the root certificate file "\/dev\/zero" is not a regular file/);
  });

  // Nobody writes to these pipes: a CLI that open()s one waits for ever, and is killed at the bound and fails.
  const SILENT_BOUND_MS = 15_000;
  const silentCases: [what: string, args: (fifo: string) => string[], message: string][] = [
    ['verify-doc <fifo>', (f) => ['verify-doc', f], 'attestation document'],
    ['verify-doc --trust-root <fifo>', (f) => ['verify-doc', emptyDoc(), '--trust-root', f], 'root certificate file'],
    ['verify --policy <fifo>', (f) => ['verify', NOWHERE, '--policy', f], 'policy file'],
    ['verify --trust-root <fifo>', (f) => ['verify', NOWHERE, '--trust-root', f], 'root certificate file'],
    ['verify-receipt <fifo>', (f) => ['verify-receipt', f, '--audio', '/dev/null', '--transcript', '/dev/null'], 'receipt file'],
    ['verify-evidence <fifo>', (f) => ['verify-evidence', f], 'evidence file'],
  ];
  for (const [name, args, what] of silentCases) {
    it(`${name} nobody writes to: refused at once, not waited on`, async () => {
      const fifo = await silentFifo(`silent-${what.replace(/ /g, '-')}-${name.length}.fifo`);
      await assertUsage(args(fifo), new RegExp(`the ${what} ".*\\.fifo" is not a regular file \\(it is a named pipe`), SILENT_BOUND_MS);
    });
  }

  it('verify-receipt --audio or --transcript as a pipe nobody writes to', async () => {
    const fifo = await silentFifo('silent-hashed.fifo');
    const receipt = path.join(dir, 'some.receipt.json');
    await writeFile(receipt, '{}');
    await assertUsage(['verify-receipt', receipt, '--audio', fifo, '--transcript', receipt], /the audio file ".*\.fifo" is not a regular file/, SILENT_BOUND_MS);
    await assertUsage(['verify-receipt', receipt, '--audio', receipt, '--transcript', fifo], /the transcript file ".*\.fifo" is not a regular file/, SILENT_BOUND_MS);
  });

  it('transcribe with /dev/zero or a pipe as audio: not a regular file, refused before attesting', async () => {
    await assertUsage(['transcribe', NOWHERE, '/dev/zero'], /the audio file "\/dev\/zero" is not a regular file/);
    await assertUsage(['transcribe', NOWHERE, await endlessFifo('audio.fifo')], /the audio file ".*audio\.fifo" is not a regular file/);
  });

  it('transcribe of a file that is not audio the server decodes: refused from its first bytes, before attesting', async () => {
    const m4a = path.join(dir, 'voice.m4a');
    await writeFile(m4a, Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypM4A '), Buffer.alloc(64)]));
    await assertUsage(['transcribe', NOWHERE, m4a], /"[^"]*voice\.m4a": MP4\/M4A audio is not supported: send WAV, MP3, FLAC, or Ogg/);
    // A name says nothing: a text file called .wav is refused as what it is.
    const notes = path.join(dir, 'notes.wav');
    await writeFile(notes, 'meeting notes, not a recording\n');
    await assertUsage(['transcribe', NOWHERE, notes], /"[^"]*notes\.wav": The file is not audio in a format this server reads/);
    const tagOnly = path.join(dir, 'tag-only.mp3');
    await writeFile(tagOnly, Buffer.concat([Buffer.from('ID3\x03\x00\x00\x00\x00\x00\x10', 'latin1'), Buffer.alloc(16)]));
    await assertUsage(['transcribe', NOWHERE, tagOnly], /"[^"]*tag-only\.mp3": The file holds an ID3 tag and no audio/);
  });

  it('transcribe of real audio passes the local checks and only then tries the server', async () => {
    const wav = path.join(dir, 'ok.wav');
    await writeFile(wav, Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVE', 'latin1'), Buffer.alloc(64)]));
    const r = await runCli(['transcribe', NOWHERE, wav], BOUND_MS);
    assert.notEqual(r.code, 2, r.stderr);
    assert.match(r.stderr, /127\.0\.0\.1:1/);
  });
});
