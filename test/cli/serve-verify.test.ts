/** `blindbox serve --simulate` and `blindbox verify` as separate processes, as a user runs them. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startServe, type ServeProcess } from '../../support/cli.js';
import { speak } from '../../support/speech.js';
import { startStallingServer } from '../../support/servers.js';
import { createTlsIdentity } from '../../src/server/tls-identity.js';

let dir: string;
let serve: ServeProcess;
let rootPem: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-cli-'));
  rootPem = path.join(dir, 'sim-root.pem');
  serve = await startServe(['--simulate', '--engine', 'none', '--trust-out', rootPem]);
});
after(() => serve.stop('SIGKILL'));

/** The PCR0 the server announced on stderr. */
function servedPcr0(): string {
  return /PCR0 ([0-9a-f]{96})/.exec(serve.stderr())![1]!;
}

describe('blindbox serve --simulate', () => {
  it('prints exactly one line, listening https://127.0.0.1:<port>, and writes the simulation root', async () => {
    assert.match(serve.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(serve.stdout(), `listening ${serve.url}\n`);
    assert.match(await readFile(rootPem, 'utf8'), /^-----BEGIN CERTIFICATE-----/);
    assert.match(serve.stderr(), /NOT confidential/);
  });

  it('refuses to start without --simulate (exit 2)', async () => {
    const r = await runCli(['serve']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /--simulate/);
  });

  it('stops cleanly on SIGINT and on SIGTERM (exit 0)', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const own = await startServe(['--simulate', '--engine', 'none']);
      assert.equal(await own.stop(signal), 0, own.stderr());
      assert.match(own.stderr(), new RegExp(`${signal}: finishing`));
    }
  });

  it('refuses a --split-seconds that is not a positive number (exit 2)', async () => {
    for (const value of ['0', '-5', 'soon']) {
      const r = await runCli(['serve', '--simulate', '--engine', 'pocketsphinx', `--split-seconds=${value}`]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--split-seconds must be a positive number/);
    }
  });
});

describe('blindbox verify', () => {
  it('verifies with the written root: exit 0, the verify-doc JSON plus url and simulation', async () => {
    const r = await runCli(['verify', serve.url, '--trust-root', rootPem, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(json).sort(), ['chain', 'digest', 'moduleId', 'nonce', 'ok', 'pcrs', 'publicKey', 'simulation', 'timestamp', 'url', 'userData'].sort());
    assert.equal(json.ok, true);
    assert.equal(json.url, serve.url);
    assert.equal(json.simulation, true);
    assert.equal(json.chain.length, 5);
    assert.match(json.pcrs['0'], /^[0-9a-f]{96}$/);
    assert.match(serve.stderr(), new RegExp(`PCR0 ${json.pcrs['0']}`));
  });

  it('rejects without the root: exit 1, CHAIN_UNTRUSTED', async () => {
    const r = await runCli(['verify', serve.url, '--json']);
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).code, 'CHAIN_UNTRUSTED');
  });

  it('rejects a wrong PCR0 from --pcr or from a policy file: exit 1, PCR_MISMATCH', async () => {
    const r = await runCli(['verify', serve.url, '--trust-root', rootPem, '--pcr', `0=${'ab'.repeat(48)}`, '--json']);
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).code, 'PCR_MISMATCH');
    const policy = path.join(dir, 'wrong.json');
    await writeFile(policy, JSON.stringify({ name: 'wrong', pcrs: { 0: 'cd'.repeat(48) }, maxAgeSeconds: 60, roots: ['sim-root.pem'] }));
    const p = await runCli(['verify', serve.url, '--policy', policy, '--json']);
    assert.equal(p.code, 1);
    assert.equal(JSON.parse(p.stdout).code, 'PCR_MISMATCH');
  });

  it('verifies under a policy file that names the real PCR0 and the root relative to itself', async () => {
    const first = JSON.parse((await runCli(['verify', serve.url, '--trust-root', rootPem, '--json'])).stdout);
    const policy = path.join(dir, 'exact.json');
    await writeFile(policy, JSON.stringify({ name: 'exact', pcrs: { 0: first.pcrs['0'] }, maxAgeSeconds: 60, roots: ['sim-root.pem'] }));
    const r = await runCli(['verify', serve.url, '--policy', policy]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /VERIFIED/);
    assert.match(r.stdout, /NOT an AWS root/);
    assert.match(r.stdout, /  0  [0-9a-f]{96}  match/);
  });

  it('refuses a policy file whose PCR key "00" aliases PCR0 (it used to override --pcr 0=): exit 2, before any connection', async () => {
    const policy = path.join(dir, 'alias.json');
    // The file vouches for the server's real PCR0 under "00"; the user demands another PCR0 on the command line.
    await writeFile(policy, JSON.stringify({ name: 'alias', pcrs: { '00': servedPcr0() }, roots: ['sim-root.pem'] }));
    const r = await runCli(['verify', serve.url, '--policy', policy, '--pcr', `0=${'ab'.repeat(48)}`, '--json']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /alias\.json: PCR index "00" is not an integer from 0 to 31 in canonical form \(write 0/);
  });

  it('refuses the same PCR twice on the command line: exit 2 naming it', async () => {
    const r = await runCli(['verify', serve.url, '--trust-root', rootPem, '--pcr', `0=${servedPcr0()}`, '--pcr', `0=${'ab'.repeat(48)}`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /--pcr names PCR0 twice/);
  });

  it('--pcr replaces the policy file’s value for the same PCR (the documented override)', async () => {
    const policy = path.join(dir, 'override.json');
    await writeFile(policy, JSON.stringify({ name: 'override', pcrs: { 0: 'cd'.repeat(48) }, roots: ['sim-root.pem'] }));
    const r = await runCli(['verify', serve.url, '--policy', policy, '--pcr', `0=${servedPcr0()}`, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('refuses a policy file with maxAgeSeconds 1e306 (Infinity in ms, never re-attesting): exit 2', async () => {
    const policy = path.join(dir, 'forever.json');
    await writeFile(policy, JSON.stringify({ name: 'forever', maxAgeSeconds: 1e306, roots: ['sim-root.pem'] }));
    const r = await runCli(['verify', serve.url, '--policy', policy]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /"maxAgeSeconds" is 1e\+306, more than the 86400 s \(one day\) allowed/);
  });

  it('gives up on a server that dribbles the attestation once --timeout has passed in total: exit 3, TIMEOUT, and the process ends', async () => {
    // Headers at once, then one byte a second: idle timeouts never fire, and the 4 KiB would take over an hour.
    const hostile = await startStallingServer('dribble', await createTlsIdentity(), async () => randomBytes(4096));
    try {
      const start = performance.now();
      // runCli kills the process at its bound: a process kept alive by a leaked timer or socket fails here.
      const r = await runCli(['verify', hostile.url, '--timeout', '2', '--json'], 20_000);
      const ms = performance.now() - start;
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { ok: false, code: 'TIMEOUT', message: `The attestation of ${new URL(hostile.url).host} did not complete within 2 s.`, url: hostile.url });
      // Generous: 3 × the timeout plus the start of a Node process on a busy machine.
      assert.ok(ms < 10_000, `exited after ${Math.round(ms)} ms`);
    } finally {
      await hostile.close();
    }
  });

  it('refuses a --timeout of 0 or that is not a number: exit 2', async () => {
    for (const t of ['0', 'soon', '-1']) {
      const r = await runCli(['verify', serve.url, '--timeout', t]);
      assert.equal(r.code, 2, `--timeout ${t}: ${r.stderr}`);
      assert.match(r.stderr, /--timeout/);
    }
  });

  it('exit 3 for an unreachable server; exit 2 for an http URL, a missing URL or an unreadable policy', async () => {
    const down = await runCli(['verify', 'https://127.0.0.1:1', '--json']);
    assert.equal(down.code, 3);
    assert.equal(JSON.parse(down.stdout).code, 'SERVER_UNREACHABLE');
    for (const args of [['verify', serve.url.replace('https', 'http')], ['verify'], ['verify', serve.url, '--policy', path.join(dir, 'none.json')], ['verify', serve.url, '--pcr', '0=zz']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }
  });
});

describe('blindbox transcribe with several files', () => {
  /** Two short WAV files of flite speech (this server has no engine and refuses every transcription). */
  async function twoFiles(): Promise<[string, string]> {
    return [await speak(dir, 'slt', 'one', 'one'), await speak(dir, 'rms', 'two', 'two')];
  }

  it('refuses several files without --out-dir: exit 2, before any connection', async () => {
    const [a, b] = await twoFiles();
    const r = await runCli(['transcribe', 'https://127.0.0.1:1', a, b]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /several audio files need --out-dir/);
  });

  it('refuses two inputs that would write one transcript: exit 2', async () => {
    const [a] = await twoFiles();
    const other = path.join(dir, 'sub');
    await mkdir(other, { recursive: true });
    await writeFile(path.join(other, 'one.mp3'), Buffer.from('fffb9064', 'hex')); // an MPEG audio frame header
    const r = await runCli(['transcribe', 'https://127.0.0.1:1', a, path.join(other, 'one.mp3'), '--out-dir', path.join(dir, 'o')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /would both be written to/);
  });

  it('reports each failed file on its own line, exits with the first failure’s code, and leaves no file behind', async () => {
    const [a, b] = await twoFiles();
    const out = path.join(dir, 'failed-out');
    const r = await runCli(['transcribe', serve.url, a, b, '--out-dir', out, '--concurrency', '2', '--trust-root', rootPem]);
    assert.equal(r.code, 3, r.stderr);
    for (const name of ['one.wav', 'two.wav']) assert.match(r.stderr, new RegExp(`^${name.replace('.', '\\.')}\\tFAILED SERVER_ERROR: .*\\t\\d+\\.\\d s$`, 'm'));
    assert.deepEqual(await readdir(out), [], 'no transcript, no temporary file');
  });
});
