/**
 * A fleet behind an L7 balancer that terminates TLS: HAProxy in `mode http` with its own certificate (issued by a CA
 * the client is told to trust for inspection), round robin over two replicas, a request sealed to one enclave's HPKE key
 * sticking to that enclave by its `blindbox-hpke-key` header (support/haproxy.ts `startHttpHaproxy`). Between HAProxy
 * and each replica sits a relay that takes HAProxy's plain HTTP, records it, and opens TLS to the replica: it sees
 * exactly what the balancer forwards. The real CLI transcribes 8 files with --allow-inspected-tls: all transcribed,
 * both replicas served some, and not one byte of cleartext audio went from HAProxy towards the replicas.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startServe, type ServeProcess } from '../../support/cli.js';
import { inspectionCa } from '../../support/connect-proxy.js';
import { startHttpHaproxy, type Balancer } from '../../support/haproxy.js';
import { scratchDir, speak, wordErrorRate } from '../../support/speech.js';
import { FLEET_BATCH, served } from '../helpers/fleet-batch.js';
import { audioWindowsIn } from '../helpers/cleartext-audio.js';

const WER_BOUND = 0.25;
const batch = FLEET_BATCH;

/** A plain-HTTP-in, TLS-out relay in front of one replica, keeping every byte it was sent. */
interface Relay {
  readonly url: string;
  readonly seen: () => Buffer;
  close(): Promise<void>;
}

async function startRelay(replica: string): Promise<Relay> {
  const seen: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((plain) => {
    const tls = tlsConnect({ host: '127.0.0.1', port: Number(new URL(replica).port), rejectUnauthorized: false });
    for (const s of [plain, tls]) {
      sockets.add(s);
      s.on('error', () => {
        plain.destroy();
        tls.destroy();
      }).on('close', () => sockets.delete(s));
    }
    plain.on('data', (d: Buffer) => seen.push(Buffer.from(d)));
    plain.pipe(tls).pipe(plain);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen: () => Buffer.concat(seen),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let dir: string;
let speech: Awaited<ReturnType<typeof scratchDir>>;
let files: string[];
let replicas: ServeProcess[] = [];
let relays: Relay[] = [];
let balancer: Balancer;
let rootPem: string;
let caPem: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-l7-fleet-'));
  speech = await scratchDir();
  rootPem = path.join(dir, 'root.pem');
  caPem = path.join(dir, 'balancer-ca.pem');
  files = await Promise.all(batch.map(({ voice, text }, i) => speak(speech.dir, voice, text, `clip-${i}`)));
  const ca = path.join(dir, 'ca');
  replicas = await Promise.all([0, 1].map((i) => startServe(['--simulate', '--ca', ca, '--engine', 'pocketsphinx', '--workers', '1', ...(i === 0 ? ['--trust-out', rootPem] : [])])));
  relays = await Promise.all(replicas.map((r) => startRelay(r.url)));
  const issuer = await inspectionCa(['localhost']);
  await writeFile(caPem, issuer.ca.toString());
  const leaf = issuer.leafFor('localhost');
  // HAProxy talks to the relays; they are plain HTTP, so the backends lose `ssl verify none`.
  balancer = await startHttpHaproxy(relays.map((r) => r.url), { name: 'localhost', pem: leaf.pem + leaf.key }, { backendTls: false });
});

after(async () => {
  await balancer?.stop();
  await Promise.all(relays.map((r) => r.close()));
  await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
  await speech?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('a fleet behind HAProxy in mode http, terminating TLS with its own certificate', () => {
  it('the CLI with --allow-inspected-tls transcribes 8 files through it: all transcribed, both replicas served, no cleartext audio past HAProxy', async () => {
    const out = path.join(dir, 'out');
    const r = await runCli(['transcribe', balancer.url, ...files, '--concurrency', '4', '--out-dir', out, '--trust-root', rootPem, '--allow-inspected-tls', '--inspection-ca', caPem], 240_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /TLS inspected by "O=Example Corp \+ CN=Example Corp TLS Inspection CA"; audio end-to-end encrypted to the enclave/);
    assert.deepEqual((await readdir(out)).sort(), batch.flatMap((_, i) => [`clip-${i}.receipt.json`, `clip-${i}.txt`]).sort());
    for (const [i, { text }] of batch.entries()) {
      const transcript = await readFile(path.join(out, `clip-${i}.txt`), 'utf8');
      assert.ok(wordErrorRate(text, transcript).rate <= WER_BOUND, `clip-${i}: "${transcript.trim()}"`);
    }
    const counts = replicas.map(served);
    assert.equal(counts.reduce((a, b) => a + b, 0), batch.length, `each file served once: ${counts}`);
    for (const [i, n] of counts.entries()) assert.ok(n > 0, `replica ${i} served some of the batch (${counts})`);
    // What HAProxy forwarded towards the replicas, in clear HTTP: every upload, none of the audio.
    const forwarded = Buffer.concat(relays.map((relay) => relay.seen()));
    assert.equal(forwarded.toString('latin1').split('POST /v1/audio/transcriptions HTTP/1.1\r\n').length - 1, batch.length, 'every upload crossed the relays');
    for (const file of files) assert.equal(audioWindowsIn(forwarded, await readFile(file)), 0, `no cleartext audio of ${path.basename(file)} past HAProxy`);
  });
});
