/**
 * A fleet as it runs in production: three replicas sharing one simulation root (`serve --ca`), behind HAProxy in
 * `mode tcp` round robin, with a fourth backend that terminates TLS itself (a man in the middle forwarding to a real
 * replica). The client must attest every connection it sends audio on: the batch succeeds, every replica serves some
 * of it, and the man in the middle never receives a request body.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, fileSource, loadRootFile, AWS_NITRO_ROOT_G1 } from '../../src/core/index.js';
import { runCli, startServe, type ServeProcess } from '../../support/cli.js';
import { startHaproxy, type Balancer } from '../../support/haproxy.js';
import { startMitmProxy, type RunningServer } from '../../support/servers.js';
import { scratchDir, speak, wordErrorRate } from '../../support/speech.js';
import { FLEET_BATCH, served } from '../helpers/fleet-batch.js';

const WER_BOUND = 0.25;
/** The replicas close idle connections after this long, so that the keep-alive case takes seconds. */
const KEEP_ALIVE_S = 3;

const batch = FLEET_BATCH;

let dir: string;
let speech: Awaited<ReturnType<typeof scratchDir>>;
let files: string[];
let replicas: ServeProcess[] = [];
let mitm: RunningServer;
let balancer: Balancer;
let rootPem: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-fleet-'));
  speech = await scratchDir();
  rootPem = path.join(dir, 'root.pem');
  const ca = path.join(dir, 'ca');
  files = await Promise.all(batch.map(({ voice, text }, i) => speak(speech.dir, voice, text, `clip-${i}`)));
  replicas = await Promise.all(
    [0, 1, 2].map((i) => startServe(['--simulate', '--ca', ca, '--engine', 'pocketsphinx', '--workers', '1', '--keep-alive', String(KEEP_ALIVE_S), ...(i === 0 ? ['--trust-out', rootPem] : [])])),
  );
  mitm = await startMitmProxy(replicas[0]!.url);
  balancer = await startHaproxy([...replicas.map((r) => r.url), mitm.url]);
});

after(async () => {
  await balancer?.stop();
  await mitm?.close();
  await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
  await speech?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('a fleet behind HAProxy (mode tcp, round robin) with a man in the middle among the backends', () => {
  it('replicas started with one --ca chain to one root, each with its own module id', async () => {
    const roots = await loadRootFile(rootPem);
    const session = await connect(balancer.url, { roots: [AWS_NITRO_ROOT_G1, ...roots], maxConnections: 4 });
    try {
      // Four requests at once: four connections, round robin over all four backends.
      const answers = await Promise.all([0, 1, 2, 3].map(() => session.request('/healthz')));
      for (const answer of answers) await answer.body.dump();
      const modules = new Set(session.enclaves.map((e) => e.attestation.moduleId));
      const keys = new Set(session.enclaves.map((e) => e.binding.presentedSpkiSha256));
      assert.ok(modules.size >= 2, `several enclaves attested (${modules.size})`);
      assert.equal(keys.size, modules.size, 'one key per enclave');
    } finally {
      await session.close();
    }
  });

  it('a batch of 8 files with --concurrency 4 through the real CLI: all transcribed, every replica served some, the man in the middle got no body', async () => {
    const out = path.join(dir, 'out');
    const before = replicas.map(served);
    const r = await runCli(['transcribe', balancer.url, ...files, '--concurrency', '4', '--out-dir', out, '--trust-root', rootPem], 180_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n').filter((line) => /^clip-\d+\.wav\t/.test(line));
    assert.equal(lines.length, batch.length, r.stderr);
    for (const line of lines) assert.match(line, /^clip-\d+\.wav\tok\t\d+\.\d s\t/);
    assert.deepEqual((await readdir(out)).sort(), batch.flatMap((_, i) => [`clip-${i}.receipt.json`, `clip-${i}.txt`]).sort(), 'one transcript and its receipt per file, and nothing else');
    for (const [i, { text }] of batch.entries()) {
      const transcript = await readFile(path.join(out, `clip-${i}.txt`), 'utf8');
      const wer = wordErrorRate(text, transcript);
      assert.ok(wer.rate <= WER_BOUND, `clip-${i}: WER ${(wer.rate * 100).toFixed(1)} % for "${transcript.trim()}"`);
    }
    const counts = replicas.map((replica, i) => served(replica) - before[i]!);
    assert.equal(counts.reduce((a, b) => a + b, 0), batch.length, `each file served once: ${counts}`);
    for (const [i, n] of counts.entries()) assert.ok(n > 0, `replica ${i} served some of the batch (${counts})`);
    assert.equal(mitm.seen.bodyBytes, 0, 'the man in the middle received no request body');
    assert.ok(mitm.seen.paths.every((p) => p.startsWith('/attestation?')), `the man in the middle saw only attestation requests: ${mitm.seen.paths}`);
  });

  it('a session reused across transcriptions spaced past the keep-alive timeout keeps working', async () => {
    const roots = await loadRootFile(rootPem);
    const logged: string[] = [];
    const session = await connect(balancer.url, { roots: [AWS_NITRO_ROOT_G1, ...roots], log: (line) => logged.push(line) });
    try {
      const source = await fileSource(files[0]!);
      for (let i = 0; i < 3; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, KEEP_ALIVE_S * 1000 + 500));
        const result = await session.transcribe(source);
        assert.ok(wordErrorRate(batch[0]!.text, result.text).rate <= WER_BOUND, result.text);
      }
      assert.equal(mitm.seen.bodyBytes, 0, 'the man in the middle received no request body');
    } finally {
      await session.close();
    }
  });
});
