/**
 * Transcript receipts end to end: the reference server signs one for every answer, the client verifies it before it
 * returns anything, and the receipt file proves the same thing later, offline, to anyone, while any change to what it
 * binds is refused with its code. A hostile TLS server on loopback (attesting honestly, then omitting or forging the
 * receipt) gets no transcript shown.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
// undici's own FormData: the global one belongs to Node's bundled copy, which this undici cannot serialise.
import { Agent, fetch as undiciFetch, FormData as UndiciFormData } from 'undici';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  AttestationError,
  bytesSource,
  connect,
  fileSource,
  parseReceiptFile,
  receiptHashLines,
  ReceiptError,
  receiptFileText,
  sha256Hex,
  TRANSCRIPT_FORMATS,
  trustedRootsFromPem,
  verifyReceiptDocument,
  verifyReceiptFile,
  type AttestedSession,
  type ReceiptFile,
  type TranscriptFormat,
  type TranscriptResult,
  type TrustedRoot,
} from '../../../src/core/index.js';
import { cborEncoder } from '../../../src/shared/cbor.js';
import { RECEIPT_HEADER, RECEIPT_NONCE_HEADER, RECEIPT_VERSION, receiptToMap } from '../../../src/protocol/receipt.js';
import { serviceInfoToMap } from '../../../src/protocol/service-info.js';
import { SimulationAttestationProvider } from '../../../src/server/attestation/simulation.js';
import { createPocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import type { TranscriptionEngine } from '../../../src/server/engine/engine.js';
import { measurePcrs } from '../../../src/server/measurements.js';
import { createTlsIdentity, type TlsIdentity } from '../../../src/server/tls-identity.js';
import { rootsTrusting, startSimulationServer, startTlsServer, type ReferenceServer } from '../../../support/servers.js';
import { scratchDir, speak } from '../../../support/speech.js';
import { errorCode, exchange, multipartBody, uploadHead } from '../../../support/raw-client.js';

const run = promisify(execFile);

let server: ReferenceServer;
let session: AttestedSession;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let wav: string;
let audio: Buffer;
let genuine: TranscriptResult;
let roots: TrustedRoot[];

before(async () => {
  scratch = await scratchDir();
  server = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1 }) });
  roots = rootsTrusting(server);
  session = await connect(server.url, { roots });
  wav = await speak(scratch.dir, 'slt', 'Please send the report to the manager.', 'speech');
  audio = await readFile(wav);
  genuine = await session.transcribe(await fileSource(wav), { format: 'text' });
});

after(async () => {
  await session?.close();
  await server?.close();
  await scratch?.dispose();
});

/** The receipt file as a third party receives it: JSON text, parsed again. */
function reparse(file: ReceiptFile) {
  return parseReceiptFile(receiptFileText(file), 'test');
}

function check(file: ReceiptFile, over: { audio?: Uint8Array; transcript?: Uint8Array | string; roots?: TrustedRoot[]; pcrs?: Record<number, string> } = {}) {
  return verifyReceiptFile(reparse(file), {
    roots: over.roots ?? roots,
    expectedPcrs: over.pcrs,
    audioSha256: sha256Hex(over.audio ?? audio),
    transcriptSha256: sha256Hex(over.transcript ?? genuine.body),
  });
}

function refusedWith(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof ReceiptError || err instanceof AttestationError, String(err));
    assert.equal((err as ReceiptError).code, code, (err as Error).message);
    return true;
  };
}

describe('a genuine receipt', () => {
  it('binds the audio sent, the body received, the format, the engine and the connection key', () => {
    const { verified, file } = genuine.receipt;
    const enclave = genuine.enclave;
    assert.equal(verified.content.version, RECEIPT_VERSION);
    assert.equal(verified.content.audioSha256, sha256Hex(audio));
    assert.equal(verified.content.audioBytes, audio.length);
    assert.equal(verified.content.transcriptSha256, sha256Hex(genuine.body));
    assert.equal(verified.content.format, 'text');
    assert.equal(verified.content.engine, 'pocketsphinx');
    assert.equal(verified.content.endpoint, '/v1/audio/transcriptions');
    assert.equal(sha256Hex(verified.attestation.bytes.publicKey!), enclave.binding.presentedSpkiSha256);
    assert.deepEqual(verified.attestation.pcrs, enclave.attestation.pcrs);
    assert.equal(file.audio.name, 'speech.wav');
    assert.equal(file.connectionKeySha256, enclave.binding.presentedSpkiSha256);
    assert.match(genuine.text, /report|manager/i);
  });

  it('comes with every response format', async () => {
    for (const format of TRANSCRIPT_FORMATS) {
      const result = await session.transcribe(await bytesSource('speech.wav', audio), { format });
      assert.equal(result.receipt.verified.content.format, format);
      assert.equal(result.receipt.verified.content.transcriptSha256, sha256Hex(result.body));
    }
  });

  it('verifies offline a day later, past the leaf certificate, at the document\'s own time', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 24 * 3600_000 });
    // Checked at the (moved) current time, the three-hour leaf has expired...
    assert.throws(
      () => verifyReceiptDocument(reparse(genuine.receipt.file).documentBytes, { now: new Date(), roots, audioSha256: sha256Hex(audio), transcriptSha256: sha256Hex(genuine.body) }),
      refusedWith('CERT_EXPIRED'),
    );
    // ...but the receipt file proves what it proves at the time it was signed.
    const verified = check(genuine.receipt.file, { pcrs: { 0: genuine.enclave.attestation.pcrs[0]! } });
    assert.equal(verified.content.audioSha256, sha256Hex(audio));
  });

  it('is the plain client\'s too: /whisper/predict answers text with a receipt header it need not read', async () => {
    const form = new UndiciFormData();
    form.set('audio', new Blob([audio]), 'speech.wav');
    const response = await session.request('/whisper/predict', { method: 'POST', body: form });
    assert.equal(response.statusCode, 200);
    const body = Buffer.from(await response.body.arrayBuffer());
    const verified = verifyReceiptDocument(Buffer.from(String(response.headers[RECEIPT_HEADER]), 'base64'), { now: new Date(), roots, audioSha256: sha256Hex(audio), transcriptSha256: sha256Hex(body) });
    assert.equal(verified.content.endpoint, '/whisper/predict');
    assert.equal(verified.content.format, 'text');
    assert.match(body.toString('utf8'), /report|manager/i);
  });
});

describe('plain clients keep working (the receipt is one header they ignore)', () => {
  it('Python requests: requests.post(…/whisper/predict, files={"audio": …})', async () => {
    const script = [
      'import json, sys, requests, urllib3',
      'urllib3.disable_warnings()',
      // The simulation certificate is self-signed: a plain client does not verify it (BlindBox's client attests instead).
      'r = requests.post(sys.argv[1] + "/whisper/predict", files={"audio": open(sys.argv[2], "rb")}, verify=False, timeout=60)',
      'print(json.dumps({"status": r.status_code, "text": r.text, "receipt": r.headers.get("blindbox-receipt", "")}))',
    ].join('\n');
    // Debian's interpreter, for which the set-up installs python3-requests (a python3 earlier on PATH may lack it).
    const { stdout } = await run('/usr/bin/python3', ['-c', script, server.url, wav], { timeout: 60_000 });
    const answer = JSON.parse(stdout) as { status: number; text: string; receipt: string };
    assert.equal(answer.status, 200);
    assert.match(answer.text, /report|manager/i);
    const verified = verifyReceiptDocument(Buffer.from(answer.receipt, 'base64'), { now: new Date(), roots, audioSha256: sha256Hex(audio), transcriptSha256: sha256Hex(answer.text) });
    assert.equal(verified.content.endpoint, '/whisper/predict');
  });

  it('fetch with a multipart form, as the OpenAI SDK sends it: JSON answer, receipt header beside it', async () => {
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    try {
      const form = new UndiciFormData();
      form.set('file', new Blob([audio]), 'speech.wav');
      form.set('model', 'whisper-1');
      const response = await undiciFetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form, dispatcher });
      assert.equal(response.status, 200);
      const json = (await response.json()) as { text: string };
      assert.match(json.text, /report|manager/i);
      assert.ok((response.headers.get(RECEIPT_HEADER) ?? '').length > 1000);
    } finally {
      await dispatcher.close();
    }
  });
});

describe('the receipt nonce a client sends', () => {
  it('a malformed one is refused before the upload is read (400 INVALID_RECEIPT_NONCE); a given one is what the document carries', async () => {
    const body = multipartBody(audio);
    const head = (nonce: string) => uploadHead('/v1/audio/transcriptions', { contentLength: body.length }).replace('\r\n\r\n', `\r\nconnection: close\r\n${RECEIPT_NONCE_HEADER}: ${nonce}\r\n\r\n`);
    for (const nonce of ['zz'.repeat(16), 'ab'.repeat(8), 'ab'.repeat(65)]) {
      const answer = await exchange(server.url, Buffer.concat([Buffer.from(head(nonce)), body]));
      assert.equal(answer?.status, 400);
      assert.equal(errorCode(answer), 'INVALID_RECEIPT_NONCE');
    }
    const nonce = 'cd'.repeat(32);
    const answer = await exchange(server.url, Buffer.concat([Buffer.from(head(nonce)), body]), 60_000);
    assert.equal(answer?.status, 200);
    const verified = verifyReceiptDocument(Buffer.from(answer!.headers[RECEIPT_HEADER]!, 'base64'), { now: new Date(), roots, nonce: Buffer.from(nonce, 'hex'), audioSha256: sha256Hex(audio), transcriptSha256: sha256Hex(answer!.body) });
    assert.equal(verified.attestation.nonce, nonce);
  });
});

describe('a receipt file is refused, each with its code, when', () => {
  it('one byte of the audio changed', () => {
    const changed = Buffer.from(audio);
    changed[changed.length >> 1]! ^= 1;
    assert.throws(() => check(genuine.receipt.file, { audio: changed }), refusedWith('AUDIO_MISMATCH'));
  });

  it('the transcript was edited in any way (one character, a trailing newline)', () => {
    assert.throws(() => check(genuine.receipt.file, { transcript: genuine.body.replace(/.$/s, (c) => (c === 'x' ? 'y' : 'x')) }), refusedWith('TRANSCRIPT_MISMATCH'));
    assert.throws(() => check(genuine.receipt.file, { transcript: genuine.body + '\n' }), refusedWith('TRANSCRIPT_MISMATCH'));
  });

  it('says in words which file differs from what was signed (audio ✓ / transcript ✗, and the other cases), the hashes apart', () => {
    const edited = genuine.body + '\n';
    const changed = Buffer.from(audio);
    changed[changed.length >> 1]! ^= 1;
    const refusal = (what: { audio?: Uint8Array; transcript?: string }) => {
      try {
        check(genuine.receipt.file, what);
      } catch (err) {
        if (err instanceof ReceiptError) return err;
        throw err;
      }
      assert.fail('refused');
    };
    const transcript = refusal({ transcript: edited });
    assert.equal(transcript.code, 'TRANSCRIPT_MISMATCH');
    assert.equal(transcript.message, 'The transcript changed after the enclave signed it; the audio matches.');
    assert.deepEqual(transcript.hashes, {
      audio: { checked: sha256Hex(audio), signed: sha256Hex(audio) },
      transcript: { checked: sha256Hex(edited), signed: sha256Hex(genuine.body) },
    });
    assert.deepEqual(receiptHashLines(transcript.hashes!), [`audio SHA-256 ${sha256Hex(audio)} (as signed)`, `transcript SHA-256 ${sha256Hex(edited)}, signed ${sha256Hex(genuine.body)}`]);
    const audioOnly = refusal({ audio: changed });
    assert.deepEqual([audioOnly.code, audioOnly.message], ['AUDIO_MISMATCH', 'The audio is not the recording the enclave signed for; the transcript matches.']);
    const both = refusal({ audio: changed, transcript: edited });
    assert.deepEqual([both.code, both.message], ['AUDIO_MISMATCH', 'Neither the audio nor the transcript is what the enclave signed for: the receipt belongs to other files.']);
    for (const err of [transcript, audioOnly, both]) assert.doesNotMatch(err.message, /[0-9a-f]{64}/, 'no hash in the sentence');
  });

  it('the expected PCR0 is another', () => {
    assert.throws(() => check(genuine.receipt.file, { pcrs: { 0: 'ab'.repeat(48) } }), refusedWith('PCR_MISMATCH'));
  });

  it('it chains to a root the checker does not trust', () => {
    assert.throws(() => check(genuine.receipt.file, { roots: [roots[0]!] }), refusedWith('CHAIN_UNTRUSTED'));
  });

  it('its document is signed for another key than the connection it records', () => {
    assert.throws(() => check({ ...genuine.receipt.file, connectionKeySha256: sha256Hex('another key') }), refusedWith('RECEIPT_KEY_MISMATCH'));
  });

  it('one character of its signed content changed', () => {
    const document = Buffer.from(genuine.receipt.file.document, 'base64');
    // Flip one bit of the audio hash inside the signed payload: still well-formed, no longer what was signed.
    const at = document.indexOf(Buffer.from(genuine.receipt.verified.content.audioSha256, 'hex'));
    assert.ok(at > 0);
    document[at]! ^= 1;
    assert.throws(() => check({ ...genuine.receipt.file, document: document.toString('base64') }), refusedWith('SIGNATURE_INVALID'));
  });

  it('its readable copy of a hash was edited to match other audio', () => {
    const other = Buffer.from(audio);
    other[100]! ^= 1;
    const edited = { ...genuine.receipt.file, audio: { ...genuine.receipt.file.audio, sha256: sha256Hex(other) } };
    assert.throws(() => check(edited, { audio: other }), refusedWith('AUDIO_MISMATCH'));
    assert.throws(() => check(edited), refusedWith('RECEIPT_MALFORMED'));
  });
});

/** What a hostile server signs its receipts with: its own provider (trusted by the client's session). */
interface HostileSigner {
  readonly provider: SimulationAttestationProvider;
  sign(p: SimulationAttestationProvider, nonce: Uint8Array, publicKey: Uint8Array, body: string, format?: TranscriptFormat): Promise<string>;
}

/**
 * A hostile server: a real TLS server on loopback that attests honestly (its own simulation chain, its own key, the
 * reference server's PCRs) and then answers transcriptions with `receipt(...)`'s header, or none.
 */
async function hostileServer(receipt: (ctx: { nonce: Uint8Array; body: string; identity: TlsIdentity }, own: HostileSigner) => Promise<string | undefined>) {
  const identity = await createTlsIdentity();
  const pcrs = await measurePcrs({ engine: 'pocketsphinx', model: 'm', version: '0.1.0' });
  const provider = await SimulationAttestationProvider.create(pcrs);
  const service = cborEncoder.encode(serviceInfoToMap({ service: 'blindbox', version: '0.1.0', engine: 'pocketsphinx', model: 'm', simulation: true }));
  const sign = async (p: SimulationAttestationProvider, nonce: Uint8Array, publicKey: Uint8Array, body: string, format: TranscriptFormat = 'text') =>
    Buffer.from(
      await p.attest({
        nonce,
        publicKey,
        userData: cborEncoder.encode(
          receiptToMap({ version: RECEIPT_VERSION, audioSha256: createHash('sha256').update(audio).digest(), audioBytes: audio.length, transcriptSha256: createHash('sha256').update(body).digest(), format, endpoint: '/v1/audio/transcriptions', engine: 'pocketsphinx', model: 'm', requestTime: Date.now() }),
        ),
      }),
    ).toString('base64');
  const tls = await startTlsServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://x');
    for await (const chunk of req) void chunk;
    if (url.pathname === '/attestation') {
      const document = await provider.attest({ nonce: Buffer.from(url.searchParams.get('nonce')!, 'hex'), publicKey: identity.spki, userData: service });
      res.writeHead(200, { 'content-type': 'application/cbor' }).end(document);
      return;
    }
    const body = 'hello world';
    const nonce = Buffer.from(String(req.headers[RECEIPT_NONCE_HEADER]), 'hex');
    const header = await receipt({ nonce, body, identity }, { provider, sign });
    res.writeHead(200, { 'content-type': 'text/plain', ...(header ? { [RECEIPT_HEADER]: header } : {}) }).end(body);
  }, identity);
  return { tls, roots: [roots[0]!, ...trustedRootsFromPem(provider.rootPem, 'hostile')] };
}

describe('a server that will not sign for its transcript gets none shown', () => {
  const cases: [string, string, (h: HostileSigner, ctx: { nonce: Uint8Array; body: string; identity: TlsIdentity }, state: { last?: string }) => Promise<string | undefined>][] = [
    ['omits the receipt', 'RECEIPT_MISSING', async () => undefined],
    ['sends garbage', 'RECEIPT_MALFORMED', async () => 'not base64!'],
    ['signs for another key', 'RECEIPT_KEY_MISMATCH', async (h, c) => h.sign(h.provider, c.nonce, (await createTlsIdentity()).spki, c.body)],
    ['signs for another response format', 'RECEIPT_MISMATCH', async (h, c) => h.sign(h.provider, c.nonce, c.identity.spki, c.body, 'json')],
    ['forges the transcript hash', 'TRANSCRIPT_MISMATCH', async (h, c) => h.sign(h.provider, c.nonce, c.identity.spki, 'another transcript')],
    ['replays the receipt of another request', 'RECEIPT_REPLAYED', async (h, c, state) => (state.last ??= await h.sign(h.provider, c.nonce, c.identity.spki, c.body))],
    ['signs with a chain the session does not trust', 'CHAIN_UNTRUSTED', async (_h, c) => {
      const other = await SimulationAttestationProvider.create(await measurePcrs({ engine: 'pocketsphinx', model: 'm', version: '0.1.0' }));
      return Buffer.from(await other.attest({ nonce: c.nonce, publicKey: c.identity.spki, userData: new Uint8Array([0xa0]) })).toString('base64');
    }],
  ];
  for (const [what, code, answer] of cases) {
    it(`${what}: ${code}`, async () => {
      const state: { last?: string } = {};
      const hostile = await hostileServer((ctx, own) => answer(own, ctx, state));
      const client = await connect(hostile.tls.url, { roots: hostile.roots });
      try {
        if (code === 'RECEIPT_REPLAYED') {
          // The first answer carries a genuine receipt (for that request); the second carries the same one again.
          const first = await client.transcribe(await bytesSource(path.basename(wav), audio), { format: 'text' });
          assert.equal(first.body, 'hello world');
        }
        await assert.rejects(client.transcribe(await bytesSource(path.basename(wav), audio), { format: 'text' }), refusedWith(code));
      } finally {
        await client.close();
        await hostile.tls.close();
      }
    });
  }
});

describe('the live receipt check', () => {
  it('judges the receipt’s age by the session’s clock, as the session judged the attestation', async () => {
    // Server and client share a clock two hours behind the machine's: by the session's own time every document
    // is fresh, so a check that read the machine's clock instead would call the receipt two hours old.
    const behind = new Date(Date.now() - 2 * 3600_000);
    const clock = () => behind;
    const engine: TranscriptionEngine = { name: 'fixed', model: 'words', languages: ['en'], transcribe: async () => ({ text: 'hello', segments: [], duration: 1, language: 'en' }), close: async () => {} };
    const own = await startSimulationServer({ engine, clock });
    const client = await connect(own.url, { roots: rootsTrusting(own), clock });
    try {
      const result = await client.transcribe(await bytesSource('speech.wav', audio), { format: 'text' });
      assert.equal(result.text, 'hello');
      assert.equal(result.receipt.verified.attestation.timestamp, behind.getTime());
    } finally {
      await client.close();
      await own.close();
    }
  });
});
