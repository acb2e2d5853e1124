/**
 * `blindbox transcribe --stream`, run as a user runs it: the text printed segment by segment as the server sends it,
 * its receipt kept and checked offline by `verify-receipt`, and a stream whose receipt fails ending in exit 1 with
 * the code, the printed text said to be unverified.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256Hex } from '../../src/core/index.js';
import { RECEIPT_NONCE_HEADER } from '../../src/protocol/receipt.js';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { CLI, runCli } from '../../support/cli.js';
import { startAttestedLiar, startSimulationServer, type AttestedLiar, type ReferenceServer } from '../../support/servers.js';
import { SCRIPT, scratchDir, spokenRecording } from '../../support/speech.js';

let server: ReferenceServer;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let wav: string;
let audio: Buffer;
let rootPem: string;

before(async () => {
  scratch = await scratchDir();
  server = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1 }) });
  rootPem = path.join(scratch.dir, 'root.pem');
  await writeFile(rootPem, server.provider.rootPem);
  const lines = [...SCRIPT.slt, ...SCRIPT.rms].map((text) => ({ voice: 'rms' as const, text }));
  wav = (await spokenRecording(scratch.dir, 'stream', lines, 1.5)).path;
  audio = await readFile(wav);
});

after(async () => {
  await server?.close();
  await scratch?.dispose();
});

describe('blindbox transcribe --stream', () => {
  it('prints the text; with --receipt, exactly the bytes the receipt binds, which verify-receipt then proves', async () => {
    const receipt = path.join(scratch.dir, 'stream.receipt.json');
    const run = await runCli(['transcribe', server.url, wav, '--trust-root', rootPem, '--stream', '--receipt', receipt]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /weather.*children/);
    const transcript = path.join(scratch.dir, 'stream.txt');
    await writeFile(transcript, run.stdout);
    const check = await runCli(['verify-receipt', receipt, '--audio', wav, '--transcript', transcript, '--trust-root', rootPem]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /^VERIFIED/);
  });

  it('refuses --stream with several files, --out-dir or another format (exit 2)', async () => {
    for (const extra of [[wav], ['--out-dir', scratch.dir], ['--format', 'srt']]) {
      const run = await runCli(['transcribe', server.url, wav, '--trust-root', rootPem, '--stream', ...extra]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /--stream prints the text of one file/);
    }
  });

  describe('against an attested server that lies in its stream', () => {
    let liar: AttestedLiar;
    let release: () => void = () => {};
    let signedText = 'hello world';
    before(async () => {
      liar = await startAttestedLiar(server.provider, async (req, res, issuer) => {
        for await (const _ of req);
        const nonce = Buffer.from(String(req.headers[RECEIPT_NONCE_HEADER]), 'hex');
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ type: 'transcript.text.delta', delta: 'hello', start: 0, end: 1 })}\n\n`);
        // The rest only once the test has seen the first segment printed.
        await new Promise<void>((resolve) => (release = resolve));
        res.write(`data: ${JSON.stringify({ type: 'transcript.text.delta', delta: ' world', start: 1, end: 2 })}\n\n`);
        const document = await issuer.issue(req.socket, { audioSha256: Buffer.from(sha256Hex(audio), 'hex'), audioBytes: audio.length, body: Buffer.from(signedText), format: 'text', endpoint: '/v1/audio/transcriptions', requestTime: Date.now(), nonce });
        res.write(`data: ${JSON.stringify({ type: 'blindbox.receipt', receipt: document })}\n\n`);
        res.end(`data: ${JSON.stringify({ type: 'transcript.text.done', text: 'hello world' })}\n\n`);
      });
    });
    after(() => liar?.close());

    /** Runs the CLI, releasing the server's rest once the first segment is on stdout (else it would wait for ever). */
    const runStreaming = async () => {
      const child = spawn(process.execPath, [CLI, 'transcribe', liar.url, wav, '--trust-root', rootPem, '--stream'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let printedBeforeRest: string | undefined;
      child.stdout.on('data', (d) => {
        stdout += d;
        if (printedBeforeRest === undefined) {
          printedBeforeRest = stdout;
          release();
        }
      });
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const [code] = (await once(child, 'close')) as [number | null];
      clearTimeout(timer);
      return { code, stdout, stderr, printedBeforeRest };
    };

    it('prints the first segment before the server has sent the rest; exit 0 when the receipt holds', async () => {
      signedText = 'hello world';
      const run = await runStreaming();
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.printedBeforeRest, 'hello');
      assert.equal(run.stdout, 'hello world\n');
    });

    it('a receipt for other text: exit 1 TRANSCRIPT_MISMATCH, the printed text said to be not verified', async () => {
      signedText = 'hello mallory';
      const run = await runStreaming();
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stdout, 'hello world');
      assert.match(run.stderr, /the text printed above is NOT verified: TRANSCRIPT_MISMATCH/);
      assert.match(run.stderr, /TRANSCRIPT_MISMATCH/);
    });
  });
});
