/**
 * Attestation signing is rate-limited per source address: one address flooding `GET /attestation` from 32
 * connections (each document a call to the NSM in an enclave) gets `429 ATTESTATION_RATE_LIMITED` with `Retry-After`,
 * while a legitimate client on another address verifies and transcribes through the real CLI.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startServe, type ServeProcess } from '../helpers/cli.js';
import { attestationFlood } from '../helpers/hostile-load.js';
import { SCRIPT, scratchDir, speak, wordErrorRate } from '../helpers/speech.js';

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
});
