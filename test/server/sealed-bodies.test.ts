/**
 * Sealed bodies attacked as a relay in the middle would: the client core seals a real upload to the enclave's attested
 * HPKE key (transport/sealed-upload.ts, exactly what it sends through an inspecting proxy), and the relay sends it to a
 * real `serve` process over a raw TLS socket with a bit flipped, a chunk dropped, reordered, replayed or cut off, the
 * encapsulated key swapped, the body moved under another request's headers, or the whole request sent again. Each is
 * refused with its own code; no transcript comes back, and no slot, upload directory or descriptor is left behind.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { FormDataEncoder } from 'form-data-encoder';
import { ChannelError, connect, fileSource, loadRootFile, type AttestedSession } from '../../src/core/index.js';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { MAX_UPLOAD_BYTES } from '../../src/protocol/limits.js';
import { rootsTrusting, startSimulationServer } from '../../support/servers.js';
import { sealUpload } from '../../src/core/transport/sealed-upload.js';
import { ENDPOINTS } from '../../src/protocol/endpoints.js';
import { RECEIPT_NONCE_HEADER } from '../../src/protocol/receipt.js';
import { SEALED_CHUNK_BYTES, SEALED_HEADERS, sealedLength } from '../../src/protocol/sealed-body.js';
import { startServe, type ServeProcess } from '../../support/cli.js';
import { errorCode, openTls, readAnswer, type RawAnswer } from '../../support/raw-client.js';
import { concatenate, SCRIPT, scratchDir, speak, wordErrorRate } from '../../support/speech.js';
import { openFds, settle, uploadDirs } from '../helpers/process-stats.js';

let serve: ServeProcess;
let serverTmp: string;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let session: AttestedSession;
/** The spoken sentence, and it said again and again: long enough for three chunks, which the attacks drop, swap and replay. */
let speech: string;
let wav: string;
let baselineFds: number;

/** One sealed request as the client made it: its headers and its body split into framed chunks. */
interface Sealed {
  readonly headers: Record<string, string>;
  readonly chunks: Buffer[];
}

/** Seals the speech file as the client core does for `/v1/audio/transcriptions`, without sending it. */
async function sealed(): Promise<Sealed> {
  const form = new FormData();
  form.set('response_format', 'text');
  form.set('file', (await fileSource(wav)).blob, 'speech.wav');
  const encoder = new FormDataEncoder(form);
  const nonce = randomBytes(32);
  const attempt = await sealUpload(session.attested, { path: ENDPOINTS.transcriptions, contentType: encoder.contentType, contentLength: Number(encoder.contentLength), receiptNonce: nonce, now: session.clock() }, encoder.encode());
  const parts: Buffer[] = [];
  for await (const part of attempt.body) parts.push(Buffer.from(part as Uint8Array));
  return { headers: { ...attempt.headers, [RECEIPT_NONCE_HEADER]: nonce.toString('hex') }, chunks: frames(Buffer.concat(parts)) };
}

/** The framed chunks of a sealed body (uint32 length, top bit final, then the ciphertext). */
function frames(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const length = body.readUInt32BE(at) & 0x7fff_ffff;
    out.push(body.subarray(at, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

/** Sends `headers` and `body` as the relay would, on a new TLS connection, and reads the answer. */
async function relay(headers: Record<string, string>, body: Buffer): Promise<RawAnswer | undefined> {
  const socket = await openTls(serve.url);
  const head = Object.entries({ ...headers, 'content-length': String(body.length) }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`POST ${ENDPOINTS.transcriptions} HTTP/1.1\r\nhost: enclave\r\n${head}\r\n`);
  socket.write(body);
  return readAnswer(socket, 30_000);
}

function refusedWith(answer: RawAnswer | undefined, status: number, code: string): void {
  assert.equal(answer?.status, status, `${code}: ${answer?.status} ${answer?.body}`);
  assert.equal(errorCode(answer), code, answer?.body);
  assert.equal(answer!.headers[SEALED_HEADERS.responseNonce], undefined, 'no sealed answer');
  assert.equal(answer!.headers['blindbox-receipt'], undefined, 'no receipt, no transcript');
}

before(async () => {
  scratch = await scratchDir();
  serverTmp = await mkdtemp(path.join(tmpdir(), 'blindbox-sealed-tmp-'));
  speech = await speak(scratch.dir, 'slt', SCRIPT.slt[0]!, 'speech');
  wav = await concatenate(Array<string>(Math.ceil((2 * SEALED_CHUNK_BYTES + 1) / (await stat(speech)).size) + 1).fill(speech), path.join(scratch.dir, 'long-speech.wav'));
  serve = await startServe(['--simulate', '--engine', 'pocketsphinx', '--workers', '1', '--trust-out', path.join(scratch.dir, 'root.pem')], { TMPDIR: serverTmp });
  session = await connect(serve.url, { roots: await loadRootFile(path.join(scratch.dir, 'root.pem')) });
  baselineFds = (await openFds(serve.child.pid!)).length;
});

after(async () => {
  await session?.close();
  await serve?.stop('SIGKILL');
  await scratch?.dispose();
  if (serverTmp) await rm(serverTmp, { recursive: true, force: true });
});

describe('a relay tampering with a sealed upload is refused by the enclave', () => {
  it('the sealed request as the client made it is transcribed, and its answer is sealed', async () => {
    const request = await sealed();
    assert.ok(request.chunks.length >= 3, `${request.chunks.length} chunks`);
    const answer = await relay(request.headers, Buffer.concat(request.chunks));
    assert.equal(answer?.status, 200, answer?.body);
    assert.match(answer!.headers[SEALED_HEADERS.responseNonce] ?? '', /^[0-9a-f]{64}$/);
    assert.equal(answer!.headers['content-type'], 'application/vnd.blindbox.hpke-body');
    // No word of four letters or more that was spoken is in the answer as sent (random bytes could hold a short one).
    for (const word of SCRIPT.slt[0]!.toLowerCase().match(/[a-z]{4,}/g)!) assert.ok(!answer!.body.toLowerCase().includes(word), `the transcript is not in clear: ${word}`);
    // The same request sent again (on another connection) is a replay.
    refusedWith(await relay(request.headers, Buffer.concat(request.chunks)), 400, 'SEALED_REQUEST_REPLAYED');
  });

  it('a chunk flipped, dropped, reordered, replayed, marked final early, or a swapped key: SEALED_BODY_INVALID', async () => {
    const attacks: Record<string, (r: Sealed) => { headers?: Record<string, string>; body: Buffer[] }> = {
      'a bit flipped in chunk 1': (r) => {
        const flipped = Buffer.from(r.chunks[1]!);
        flipped[100]! ^= 0x01;
        return { body: [r.chunks[0]!, flipped, ...r.chunks.slice(2)] };
      },
      'chunk 1 dropped': (r) => ({ body: [r.chunks[0]!, ...r.chunks.slice(2)] }),
      'chunks 0 and 1 swapped': (r) => ({ body: [r.chunks[1]!, r.chunks[0]!, ...r.chunks.slice(2)] }),
      'chunk 0 replayed': (r) => ({ body: [r.chunks[0]!, r.chunks[0]!, ...r.chunks.slice(1)] }),
      'chunk 0 marked final': (r) => {
        const marked = Buffer.from(r.chunks[0]!);
        marked[0]! |= 0x80;
        return { body: [marked] };
      },
      'the encapsulated key of another request': (r) => ({ headers: { ...r.headers, [SEALED_HEADERS.encapsulatedKey]: randomBytes(32).toString('hex') }, body: r.chunks }),
    };
    for (const [name, attack] of Object.entries(attacks)) {
      const request = await sealed();
      const { headers, body } = attack(request);
      const answer = await relay(headers ?? request.headers, Buffer.concat(body));
      assert.equal(errorCode(answer), 'SEALED_BODY_INVALID', `${name}: ${answer?.status} ${answer?.body}`);
      refusedWith(answer, 400, 'SEALED_BODY_INVALID');
    }
  });

  it('a body moved under another request\'s headers (its nonce, its time) is SEALED_BODY_INVALID', async () => {
    const [a, b] = [await sealed(), await sealed()];
    refusedWith(await relay(b.headers, Buffer.concat(a.chunks)), 400, 'SEALED_BODY_INVALID');
    refusedWith(await relay({ ...a.headers, [RECEIPT_NONCE_HEADER]: b.headers[RECEIPT_NONCE_HEADER]! }, Buffer.concat(a.chunks)), 400, 'SEALED_BODY_INVALID');
    const time = String(Number(a.headers[SEALED_HEADERS.requestTime]) + 1);
    refusedWith(await relay({ ...a.headers, [SEALED_HEADERS.requestTime]: time }, Buffer.concat(a.chunks)), 400, 'SEALED_BODY_INVALID');
  });

  it('cut before its final chunk, bytes after it, a wrong length: SEALED_BODY_TRUNCATED, SEALED_BODY_MALFORMED', async () => {
    const r = await sealed();
    refusedWith(await relay(r.headers, Buffer.concat(r.chunks.slice(0, -1))), 400, 'SEALED_BODY_TRUNCATED');
    const s = await sealed();
    refusedWith(await relay(s.headers, Buffer.concat([...s.chunks, Buffer.from('after the end')])), 400, 'SEALED_BODY_MALFORMED');
    const t = await sealed();
    const short = Buffer.from(t.chunks[0]!.subarray(0, 4 + 1000));
    short.writeUInt32BE(1000, 0);
    refusedWith(await relay(t.headers, Buffer.concat([short, ...t.chunks.slice(1)])), 400, 'SEALED_BODY_MALFORMED');
  });

  it('sealed to another key, dated far away, or with a malformed head: HPKE_KEY_UNKNOWN, SEALED_REQUEST_EXPIRED, MALFORMED_SEALED_REQUEST', async () => {
    const r = await sealed();
    const body = Buffer.concat(r.chunks);
    refusedWith(await relay({ ...r.headers, [SEALED_HEADERS.hpkeKey]: randomBytes(32).toString('hex') }, body), 422, 'HPKE_KEY_UNKNOWN');
    refusedWith(await relay({ ...r.headers, [SEALED_HEADERS.requestTime]: String(Number(r.headers[SEALED_HEADERS.requestTime]) - 6 * 60_000) }, body), 400, 'SEALED_REQUEST_EXPIRED');
    refusedWith(await relay({ ...r.headers, [SEALED_HEADERS.encapsulatedKey]: 'zz' }, body), 400, 'MALFORMED_SEALED_REQUEST');
    const { [RECEIPT_NONCE_HEADER]: _nonce, ...withoutNonce } = r.headers;
    refusedWith(await relay(withoutNonce, body), 400, 'MALFORMED_SEALED_REQUEST');
    refusedWith(await relay({ ...r.headers, 'content-type': 'multipart/form-data; boundary=x' }, body), 400, 'MALFORMED_SEALED_REQUEST');
  });

  it('the size limits hold on the sealed length (declared) and on the plaintext (as it is opened): FILE_TOO_LARGE', async () => {
    const r = await sealed();
    // Declared over the sealed length of the largest upload: refused from the head, before a byte of the body is read.
    const socket = await openTls(serve.url);
    const head = Object.entries({ ...r.headers, 'content-length': String(sealedLength(MAX_UPLOAD_BYTES + 64 * 1024) + 1) }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`POST ${ENDPOINTS.transcriptions} HTTP/1.1\r\nhost: enclave\r\n${head}\r\n`);
    refusedWith(await readAnswer(socket, 30_000), 413, 'FILE_TOO_LARGE');
    // A server whose limit is below this audio: the plaintext opened from the sealed chunks passes it, and is refused.
    const small = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1, maxQueue: 1 }), limits: { maxUploadBytes: 100_000 } });
    const own = await connect(small.url, { roots: rootsTrusting(small) });
    try {
      await assert.rejects(own.transcribe(await fileSource(wav), { format: 'text', seal: true }), (e: unknown) => e instanceof ChannelError && e.status === 413 && e.serverCode === 'FILE_TOO_LARGE');
      assert.equal(small.inFlight(), 0, 'its slot is given back');
    } finally {
      await own.close();
      await small.close();
    }
  });

  it('leaves no slot, upload directory or descriptor behind: a sealed transcription still works after them all', async () => {
    await sleep(6_000);
    const left = await settle(async () => ({ fds: await openFds(serve.child.pid!), tmp: await uploadDirs(serverTmp) }), (v) => v.fds.length <= baselineFds && v.tmp.length === 0, 10_000);
    assert.deepEqual(left.tmp, []);
    assert.ok(left.fds.length <= baselineFds, `descriptors back to ${baselineFds}: ${left.fds.length}`);
    const fresh = await connect(serve.url, { roots: await loadRootFile(path.join(scratch.dir, 'root.pem')) });
    try {
      const text = (await fresh.transcribe(await fileSource(speech), { format: 'text', seal: true })).text;
      assert.ok(wordErrorRate(SCRIPT.slt[0]!, text).rate <= 0.25, text);
    } finally {
      await fresh.close();
    }
  });
});
