/**
 * Attestation signing is rate-limited per source address: one address flooding `GET /attestation` from 32
 * connections (each document a call to the NSM in an enclave) gets `429 ATTESTATION_RATE_LIMITED` with `Retry-After`,
 * while a legitimate client on another address verifies and transcribes through the real CLI.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startServe, type ServeProcess } from '../../support/cli.js';
import { attestationFlood } from '../../support/hostile-load.js';
import { openTls, readAnswer } from '../../support/raw-client.js';
import { SCRIPT, scratchDir, speak, wordErrorRate } from '../../support/speech.js';

const FLOOD_MS = 8_000;

let serve: ServeProcess;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let root: string;
let wav: string;

before(async () => {
  scratch = await scratchDir();
  root = path.join(scratch.dir, 'root.pem');
  wav = await speak(scratch.dir, 'slt', SCRIPT.slt[0]!, 'legit');
  serve = await startServe(['--simulate', '--engine', 'pocketsphinx', '--workers', '1', '--trust-out', root]);
});

after(async () => {
  await serve?.stop('SIGKILL');
  await scratch?.dispose();
});

describe('attestation rate per source', () => {
  it('a flood from one address gets 429 ATTESTATION_RATE_LIMITED; another address verifies and transcribes', async (t) => {
    const stop = new AbortController();
    const started = Date.now();
    const flood = attestationFlood({ url: serve.url, source: '127.0.0.2', signal: stop.signal });
    let verify, transcribe;
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      verify = await runCli(['verify', serve.url, '--trust-root', root]);
      transcribe = await runCli(['transcribe', serve.url, wav, '--trust-root', root]);
      await new Promise((r) => setTimeout(r, Math.max(0, FLOOD_MS - (Date.now() - started))));
    } finally {
      stop.abort();
    }
    const counts = await flood;
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(`flood: ${JSON.stringify(counts)} in ${seconds.toFixed(1)} s`);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(transcribe.code, 0, transcribe.stderr);
    assert.ok(wordErrorRate(SCRIPT.slt[0]!, transcribe.stdout).rate <= 0.25, transcribe.stdout);
    assert.ok(counts.limited > 0, 'the flood was refused with 429 ATTESTATION_RATE_LIMITED and a Retry-After');
    // The default rate: 20 at once, then 5 per second.
    assert.ok(counts.signed <= 20 + 5 * seconds + 5, `${counts.signed} documents signed for one address in ${seconds.toFixed(1)} s`);
  });

  it('serve --attestations-per-source sets the rate (4 times it at once); out of range is a usage error', async () => {
    const slow = await startServe(['--simulate', '--engine', 'none', '--attestations-per-source', '1']);
    try {
      const statuses: (number | undefined)[] = [];
      for (let i = 0; i < 6; i++) {
        const socket = await openTls(slow.url, { localAddress: '127.0.0.3' });
        socket.write(`GET /attestation?nonce=${'ab'.repeat(16)} HTTP/1.1\r\nhost: e\r\n\r\n`);
        statuses.push((await readAnswer(socket))?.status);
      }
      assert.deepEqual(statuses.slice(0, 4), [200, 200, 200, 200]);
      assert.ok(statuses.slice(4).includes(429), statuses.join(', '));
    } finally {
      await slow.stop('SIGKILL');
    }
    const bad = await runCli(['serve', '--attestations-per-source', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--attestations-per-source must be a whole number from 1 to 10000/);
  });
});
