/**
 * `blindbox proxy`, run as a user runs it, against `serve --simulate` reached through a CONNECT proxy that counts what
 * it relays (support/connect-proxy.ts: the server is `enclave.test`, a name only that proxy resolves, so every byte the
 * endpoint sends the server is counted). Its callers are the real OpenAI Node SDK and undici's multipart.
 */
import assert from 'node:assert/strict';
import { createReadStream, openAsBlob } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { FormData, request } from 'undici';
import { AWS_NITRO_ROOT_G1, decodeReceiptContent, sha256Hex, trustedRootsFromPem, verifyAttestation, type VerifiedReport } from '../../src/core/index.js';
import { documentFromBase64 } from '../../src/core/receipt/verify.js';
import { runCli, startProxyCommand, type ProxyProcess } from '../../support/cli.js';
import { enclaveProxies, type ConnectProxy } from '../../support/connect-proxy.js';
import { startAttestedLiar, startSimulationServer, type ReferenceServer } from '../../support/servers.js';
import { until } from '../../support/processes.js';
import { startNamedSimulation, type NamedSimulation } from '../helpers/named-simulation.js';
import { audioWindowsIn, requestLines } from '../helpers/cleartext-audio.js';

const SAMPLE = fileURLToPath(new URL('../../../media/sample.wav', import.meta.url));
/** This process's environment without any proxy variable: the endpoint is told its route by --proxy. */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(https?|no)_proxy$/i.test(name)));
const WRONG_PCR0 = 'ab'.repeat(48);

let sim: NamedSimulation;
let relay: ConnectProxy;
let endpoint: ProxyProcess;
/** The endpoint's private TMPDIR: where uploads are received. */
let endpointTmp: string;
const proxies = enclaveProxies();
const started: ProxyProcess[] = [];

/** `blindbox proxy` reaching `sim` through `via`, with `extra` flags; stopped after the file. */
async function startEndpoint(via: ConnectProxy, extra: readonly string[] = [], env: Record<string, string> = {}): Promise<ProxyProcess> {
  const p = await startProxyCommand([sim.named, '--trust-root', sim.rootPem, '--proxy', via.url, ...extra], { ...CLEAN_ENV, ...env });
  started.push(p);
  return p;
}

function sdk(p: ProxyProcess, apiKey = p.token): OpenAI {
  return new OpenAI({ baseURL: p.baseUrl, apiKey, maxRetries: 0, timeout: 120_000 });
}

/** What the SDK threw: its status and the error body's code (an APIError, never a network failure). */
async function sdkFailure(call: Promise<unknown>): Promise<{ status: number | undefined; code: unknown; error: Record<string, unknown> }> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof APIError, `not an APIError: ${String(err)}`);
    return { status: err.status, code: err.code, error: err.error as Record<string, unknown> };
  }
  assert.fail('the SDK call succeeded');
}

before(async () => {
  sim = await startNamedSimulation(['--engine', 'pocketsphinx', '--workers', '1']);
  relay = await proxies.start();
  endpointTmp = await mkdtemp(path.join(tmpdir(), 'blindbox-endpoint-tmp-'));
  endpoint = await startEndpoint(relay, [], { TMPDIR: endpointTmp });
});

after(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await proxies.closeAll();
  await sim?.close();
  if (endpointTmp) await rm(endpointTmp, { recursive: true, force: true });
});

describe('blindbox proxy: an attested OpenAI-compatible endpoint', () => {
  it('prints the base URL and the token as its first two lines, on loopback, then what it attested', async () => {
    assert.match(endpoint.stdout(), /^http:\/\/127\.0\.0\.1:\d+\/v1\ntoken [A-Za-z0-9_-]{43}\n$/);
    await until('the attestation reported', async () => /SIMULATION server/.test(endpoint.stderr()));
    assert.match(endpoint.stderr(), /^blindbox proxy: attested \S+ \(pocketsphinx, .+\) at https:\/\/enclave\.test:\d+ under policy "default": forwarding$/m);
  });

  it('the OpenAI SDK transcribes through it; the answer carries the receipt the enclave signed for exactly this audio and this body', async () => {
    const client = sdk(endpoint);
    const before = relay.fromClients();
    const response = await client.audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1' }).asResponse();
    assert.equal(response.status, 200);
    const body = await response.text();
    assert.match((JSON.parse(body) as { text: string }).text, /quick brown fox/);
    assert.equal(response.headers.get('blindbox-receipt-verified'), 'true');
    // The receipt is the enclave's own document: under the server's root, for this audio and these body bytes.
    const document = documentFromBase64(response.headers.get('blindbox-receipt') ?? '', 'receipt');
    const attestation = verifyAttestation(document, { roots: [AWS_NITRO_ROOT_G1, ...trustedRootsFromPem(await readFile(sim.rootPem, 'utf8'), 'simulation root')] });
    const content = decodeReceiptContent(attestation.bytes.userData);
    assert.equal(Buffer.from(content.audioSha256).toString('hex'), sha256Hex(await readFile(SAMPLE)));
    assert.equal(Buffer.from(content.transcriptSha256).toString('hex'), sha256Hex(Buffer.from(body)));
    assert.equal(content.format, 'json');
    // The audio went to the server, through the counted tunnel.
    assert.ok(relay.fromClients() - before > (await stat(SAMPLE)).size, `${relay.fromClients() - before} bytes relayed`);
    const text = await client.audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1', response_format: 'text' });
    assert.match(text, /quick brown fox/);
  });

  it('GET /v1/models and /v1/verification say what was attested, as `blindbox verify --json` does', async () => {
    const models = await sdk(endpoint).models.list();
    assert.deepEqual(models.data.map((m) => [m.id, m.owned_by]), [['cmusphinx en-us (pocketsphinx 5prealpha)', 'blindbox pocketsphinx']]);
    const verification = await getJson(endpoint, '/v1/verification');
    assert.equal(verification.status, 200);
    const doc = verification.body as { verified: boolean; server: string; policy: { name: string }; enclaves: (VerifiedReport & { simulation: boolean; ageSeconds: number; tlsKeySha256: string })[]; failure: unknown };
    const verified = await runCli(['verify', sim.named, '--trust-root', sim.rootPem, '--proxy', relay.url, '--json'], 60_000, CLEAN_ENV);
    const direct = JSON.parse(verified.stdout) as VerifiedReport;
    assert.equal(doc.verified, true);
    assert.equal(doc.server, sim.named);
    assert.equal(doc.policy.name, 'default');
    assert.equal(doc.failure, null);
    assert.equal(doc.enclaves.length, 1);
    assert.deepEqual(doc.enclaves[0]!.pcrs, direct.pcrs);
    assert.equal(doc.enclaves[0]!.moduleId, direct.moduleId);
    assert.equal(doc.enclaves[0]!.simulation, true);
    assert.ok(doc.enclaves[0]!.ageSeconds >= 0 && doc.enclaves[0]!.ageSeconds <= 600);
    assert.match(doc.enclaves[0]!.tlsKeySha256, /^[0-9a-f]{64}$/);
  });

  it('audio.transcriptions.create({ stream: true }): OpenAI\'s events in order, the deltas joined are the done text, the relayed receipt is the enclave\'s for that text', async () => {
    const stream = await sdk(endpoint).audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1', stream: true });
    const events: { type: string; delta?: string; text?: string; receipt?: string; start?: number }[] = [];
    for await (const event of stream) events.push(event as never);
    const deltas = events.filter((e) => e.type === 'transcript.text.delta');
    assert.ok(deltas.length >= 1, `deltas (${deltas.length})`);
    assert.deepEqual(events.map((e) => e.type), [...deltas.map(() => 'transcript.text.delta'), 'blindbox.receipt', 'transcript.text.done']);
    const done = events.at(-1)!.text!;
    assert.match(done, /quick brown fox/);
    assert.equal(deltas.map((d) => d.delta).join(''), done);
    assert.equal(typeof deltas[0]!.start, 'number');
    const document = documentFromBase64(events.at(-2)!.receipt!, 'receipt');
    const content = decodeReceiptContent(verifyAttestation(document, { roots: trustedRootsFromPem(await readFile(sim.rootPem, 'utf8'), 'simulation root') }).bytes.userData);
    assert.equal(Buffer.from(content.transcriptSha256).toString('hex'), sha256Hex(Buffer.from(done, 'utf8')));
    assert.equal(Buffer.from(content.audioSha256).toString('hex'), sha256Hex(await readFile(SAMPLE)));
  });

  it('stream: true behind a TLS-inspecting proxy (--allow-inspected-tls): the core does not stream a sealed body, so the verified transcript comes whole as one delta, and the proxy saw no audio', async () => {
    const inspecting = await proxies.start({ inspect: true });
    const caFile = path.join(endpointTmp, 'inspection-ca.pem');
    await writeFile(caFile, inspecting.caCertificate!.toString());
    const p = await startEndpoint(inspecting, ['--allow-inspected-tls', '--inspection-ca', caFile]);
    const stream = await sdk(p).audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1', stream: true });
    const events: { type: string; delta?: string; text?: string; receipt?: string }[] = [];
    for await (const event of stream) events.push(event as never);
    assert.deepEqual(events.map((e) => e.type), ['transcript.text.delta', 'blindbox.receipt', 'transcript.text.done']);
    assert.match(events[2]!.text!, /quick brown fox/);
    assert.equal(events[0]!.delta, events[2]!.text);
    const content = decodeReceiptContent(verifyAttestation(documentFromBase64(events[1]!.receipt!, 'receipt'), { roots: trustedRootsFromPem(await readFile(sim.rootPem, 'utf8'), 'simulation root') }).bytes.userData);
    assert.deepEqual([content.format, Buffer.from(content.transcriptSha256).toString('hex')], ['text', sha256Hex(Buffer.from(events[2]!.text!, 'utf8'))]);
    assert.deepEqual(requestLines(inspecting.decrypted()).filter((line) => line.startsWith('POST')), ['POST /v1/audio/transcriptions']);
    assert.equal(audioWindowsIn(inspecting.decrypted(), await readFile(SAMPLE)), 0, 'no cleartext audio at the proxy');
  });

  it('models.retrieve: the attested model by its id; another id is 404 MODEL_NOT_FOUND', async () => {
    const id = 'cmusphinx en-us (pocketsphinx 5prealpha)';
    const model = await sdk(endpoint).models.retrieve(id);
    assert.deepEqual([model.id, model.object, model.owned_by], [id, 'model', 'blindbox pocketsphinx']);
    const other = await sdkFailure(sdk(endpoint).models.retrieve('whisper-1'));
    assert.deepEqual([other.status, other.code], [404, 'MODEL_NOT_FOUND']);
  });

  it('translations.create: PocketSphinx cannot translate; the server\'s 422 TRANSLATION_UNSUPPORTED reaches the SDK as an APIError', async () => {
    const failure = await sdkFailure(sdk(endpoint).audio.translations.create({ file: createReadStream(SAMPLE), model: 'whisper-1' }));
    assert.deepEqual([failure.status, failure.code, failure.error.untrusted], [422, 'SERVER_ERROR', false]);
    assert.match(String(failure.error.message), /TRANSLATION_UNSUPPORTED/);
  });

  it('prompt, temperature and timestamp_granularities reach the server: words timed, and the fields PocketSphinx ignored said, streamed or not', async () => {
    const { data, response } = await sdk(endpoint)
      .audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'], prompt: 'fox', temperature: 0.2 })
      .withResponse();
    assert.ok(data.words && data.words.length >= 5, `words (${data.words?.length})`);
    assert.equal(data.words.map((w) => w.word).join(' '), data.text);
    assert.ok((data.segments?.length ?? 0) >= 1);
    assert.equal(response.headers.get('blindbox-ignored-fields'), 'prompt, temperature');
    const plain = await sdk(endpoint).audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1', response_format: 'verbose_json' }).withResponse();
    assert.equal(plain.data.words, undefined, 'no words unless asked');
    assert.equal(plain.response.headers.get('blindbox-ignored-fields'), null);
    const streamed = await sdk(endpoint).audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1', stream: true, prompt: 'fox' }).withResponse();
    assert.equal(streamed.response.headers.get('blindbox-ignored-fields'), 'prompt', 'a stream says it too, in its head');
    for await (const event of streamed.data) if (event.type === 'transcript.text.done') assert.match(event.text, /\w/);
    const hot = await sdkFailure(sdk(endpoint).audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1', temperature: 1.5 }));
    assert.deepEqual([hot.status, hot.code], [400, 'INVALID_OPTION']);
  });

  it('a wrong or missing token is 401 UNAUTHORIZED, and nothing reaches the server', async () => {
    const before = relay.fromClients();
    const wrong = endpoint.token.slice(0, -1) + (endpoint.token.endsWith('A') ? 'B' : 'A');
    for (const key of [wrong, 'x', `${endpoint.token}x`]) {
      const failure = await sdkFailure(sdk(endpoint, key).audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1' }));
      assert.deepEqual([failure.status, failure.code], [401, 'UNAUTHORIZED']);
    }
    assert.deepEqual([(await getJson(endpoint, '/v1/verification', null)).status, (await getJson(endpoint, '/v1/models', `Basic ${endpoint.token}`)).status], [401, 401]);
    assert.equal(relay.fromClients(), before);
  });

  it('curl-style multipart through undici: /whisper/predict answers text, /v1/audio/transcriptions the format asked for', async () => {
    const form = (field: string, extra: Record<string, string> = {}) => openAsBlob(SAMPLE).then((blob) => {
      const f = new FormData();
      for (const [name, value] of Object.entries(extra)) f.set(name, value);
      f.set(field, blob, 'sample.wav');
      return f;
    });
    const auth = { authorization: `Bearer ${endpoint.token}` };
    const predict = await request(new URL('/whisper/predict', endpoint.baseUrl), { method: 'POST', headers: auth, body: await form('audio') });
    assert.equal(predict.statusCode, 200);
    assert.match(String(predict.headers['content-type']), /^text\/plain/);
    assert.match(await predict.body.text(), /quick brown fox/);
    assert.equal(predict.headers['blindbox-receipt-verified'], 'true');
    const verbose = await request(new URL('/v1/audio/transcriptions', endpoint.baseUrl), { method: 'POST', headers: auth, body: await form('file', { response_format: 'verbose_json' }) });
    assert.equal(verbose.statusCode, 200);
    const json = (await verbose.body.json()) as { segments: unknown[]; text: string };
    assert.ok(json.segments.length > 0 && /quick brown fox/.test(json.text));
  });

  it('refuses, before anything is sent: not audio (the core\'s UNSUPPORTED_AUDIO), an upload declared over 200 MB (413)', async () => {
    const before = relay.fromClients();
    const notAudio = path.join(endpointTmp, 'notes.txt');
    await writeFile(notAudio, 'these are not the words you are looking for\n');
    const failure = await sdkFailure(sdk(endpoint).audio.transcriptions.create({ file: createReadStream(notAudio), model: 'whisper-1' }));
    assert.deepEqual([failure.status, failure.code], [400, 'UNSUPPORTED_AUDIO']);
    assert.match(String(failure.error.message), /"notes\.txt"/);
    const huge = await rawPost(endpoint, '/v1/audio/transcriptions', { 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(300 * 1024 * 1024) });
    assert.deepEqual([huge.status, (huge.body as { error: { code: string } }).error.code], [413, 'UPLOAD_TOO_LARGE']);
    assert.equal(relay.fromClients(), before);
  });

  it('a caller that goes away mid-upload leaves no file behind', async () => {
    const socketGone = new Promise<void>((resolve) => {
      const req = httpRequest(new URL('/v1/audio/transcriptions', endpoint.baseUrl), { method: 'POST', headers: { authorization: `Bearer ${endpoint.token}`, 'content-type': 'multipart/form-data; boundary=b', 'content-length': String(4 * 1024 * 1024) } });
      req.on('error', () => resolve());
      req.write('--b\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\ncontent-type: audio/wav\r\n\r\n');
      req.write(Buffer.alloc(512 * 1024, 1));
      // The part is on disk once the endpoint's folder holds a file of it; then the caller vanishes.
      void until('the upload being received', async () => (await uploadFiles()).length > 0).then(() => {
        req.destroy();
        resolve();
      });
    });
    await socketGone;
    await until('the upload folder removed', async () => (await uploadFiles()).length === 0, 10_000);
  });

  it('stops on SIGTERM with exit 0', async () => {
    const p = await startEndpoint(relay);
    assert.equal(await p.stop('SIGTERM'), 0);
    assert.match(p.stderr(), /SIGTERM: stopping/);
  });
});

describe('blindbox proxy in front of a server that does not prove what it must', () => {
  it('a PCR the server does not have: the SDK gets PCR_MISMATCH (502, untrusted, not retried) and the server receives no audio', async () => {
    const counted = await proxies.start();
    const p = await startEndpoint(counted, ['--pcr', `0=${WRONG_PCR0}`]);
    const client = new OpenAI({ baseURL: p.baseUrl, apiKey: p.token, timeout: 120_000 });
    const failure = await sdkFailure(client.audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1' }));
    assert.deepEqual([failure.status, failure.code, failure.error.untrusted], [502, 'PCR_MISMATCH', true]);
    // It did talk to the server (attestation only): far fewer bytes than the audio.
    assert.ok(counted.tunnels.length >= 1, 'the endpoint never tried the server');
    assert.ok(counted.fromClients() < (await stat(SAMPLE)).size / 10, `${counted.fromClients()} bytes relayed`);
    const verification = await getJson(p, '/v1/verification');
    assert.equal(verification.status, 502);
    assert.deepEqual([(verification.body as { verified: boolean }).verified, (verification.body as { failure: { code: string } }).failure.code], [false, 'PCR_MISMATCH']);
    assert.match(p.stderr(), /REJECTED {2}PCR_MISMATCH/);
  });

  describe('an attested server whose receipt is for another transcript, or that streams', () => {
    let reference: ReferenceServer;
    let rootPem: string;
    before(async () => {
      reference = await startSimulationServer();
      rootPem = path.join(endpointTmp, 'liar-root.pem');
      await writeFile(rootPem, reference.provider.rootPem);
    });
    after(() => reference?.close());

    it('the SDK gets TRANSCRIPT_MISMATCH (502), not the transcript', async () => {
      const liar = await startAttestedLiar(reference.provider, async (req, res, issuer) => {
        for await (const chunk of req) void chunk;
        const receipt = await issuer.issue(req.socket, {
          audioSha256: new Uint8Array(32),
          audioBytes: 1,
          body: Buffer.from('{"text":"what the enclave said"}'),
          format: 'json',
          endpoint: '/v1/audio/transcriptions',
          requestTime: Date.now(),
          nonce: Buffer.from(String(req.headers['blindbox-receipt-nonce']), 'hex'),
        });
        res.writeHead(200, { 'content-type': 'application/json', 'blindbox-receipt': receipt }).end('{"text":"what the liar says"}');
      });
      try {
        const p = await startProxyCommand([liar.url, '--trust-root', rootPem], CLEAN_ENV);
        started.push(p);
        const failure = await sdkFailure(sdk(p).audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1' }));
        assert.equal(failure.status, 502);
        assert.match(String(failure.code), /^(AUDIO|TRANSCRIPT)_MISMATCH$/);
        assert.doesNotMatch(String(failure.error.message), /what the liar says/);
        assert.equal(liar.posts(), 1);
      } finally {
        await liar.close();
      }
    });

    /** A liar that streams as `play` says, after reading the upload; its request's nonce for the receipt. */
    const streamingLiar = (play: (res: ServerResponse, receipt: (text: string) => Promise<string>) => Promise<void>) =>
      startAttestedLiar(reference.provider, async (req, res, issuer) => {
        const audio: Buffer[] = [];
        for await (const chunk of req) audio.push(chunk as Buffer);
        const nonce = Buffer.from(String(req.headers['blindbox-receipt-nonce']), 'hex');
        const sample = await readFile(SAMPLE);
        const receipt = (text: string) => issuer.issue(req.socket, { audioSha256: Buffer.from(sha256Hex(sample), 'hex'), audioBytes: sample.length, body: Buffer.from(text, 'utf8'), format: 'text', endpoint: '/v1/audio/transcriptions', requestTime: Date.now(), nonce });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        await play(res, receipt);
        if (!res.destroyed) res.end();
      });
    const event = (res: ServerResponse, e: object) => res.write(`data: ${JSON.stringify(e)}\n\n`);

    it('a receipt for other text than the streamed one: the delta came, then the SDK raises TRANSCRIPT_MISMATCH, never done', async () => {
      const liar = await streamingLiar(async (res, receipt) => {
        event(res, { type: 'transcript.text.delta', delta: 'pay alice', start: 0, end: 1 });
        event(res, { type: 'blindbox.receipt', receipt: await receipt('pay mallory') });
        event(res, { type: 'transcript.text.done', text: 'pay alice' });
      });
      try {
        const p = await startProxyCommand([liar.url, '--trust-root', rootPem], CLEAN_ENV);
        started.push(p);
        const stream = await sdk(p).audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1', stream: true });
        const events: { type: string }[] = [];
        const err = await (async () => {
          for await (const e of stream) events.push(e as never);
        })().then(() => assert.fail('the stream ended without the error'), (e: unknown) => e);
        assert.deepEqual(events.map((e) => e.type), ['transcript.text.delta']);
        assert.ok(err instanceof APIError, String(err));
        assert.equal(err.code, 'TRANSCRIPT_MISMATCH');
      } finally {
        await liar.close();
      }
    });

    it('a caller that goes away mid-stream: the endpoint cancels its request to the server', async () => {
      let serverSawClose!: () => void;
      const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
      const liar = await streamingLiar(async (res) => {
        event(res, { type: 'transcript.text.delta', delta: 'one', start: 0, end: 1 });
        // Then nothing more, until the request is cancelled (bounded: the test ends it either way).
        await new Promise<void>((resolve) => {
          res.once('close', () => (serverSawClose(), resolve()));
          setTimeout(resolve, 30_000).unref();
        });
      });
      try {
        const p = await startProxyCommand([liar.url, '--trust-root', rootPem], CLEAN_ENV);
        started.push(p);
        const caller = new AbortController();
        const stream = await sdk(p).audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1', stream: true }, { signal: caller.signal });
        for await (const e of stream) {
          assert.equal((e as { type: string }).type, 'transcript.text.delta');
          caller.abort();
          break;
        }
        const outcome = await Promise.race([closed.then(() => 'cancelled'), new Promise((resolve) => setTimeout(resolve, 10_000, 'still running'))]);
        assert.equal(outcome, 'cancelled');
      } finally {
        await liar.close();
      }
    });
  });
});

describe('blindbox proxy --listen', () => {
  it('refuses an address that is not loopback with exit 2, before listening or attesting', async () => {
    for (const listen of ['0.0.0.0:8080', '192.0.2.1:0', '[::]:0', 'example.com:80', '127.0.0.1']) {
      const r = await runCli(['proxy', 'https://127.0.0.1:9', '--listen', listen], 30_000, CLEAN_ENV);
      assert.equal(r.code, 2, `${listen}: ${r.stderr}`);
      assert.equal(r.stdout, '', `${listen}: it printed an address, so it listened`);
      assert.match(r.stderr, /^blindbox proxy: the listen address "[^"]+" (is not loopback|must be an IP address|is not HOST:PORT)/);
    }
  });

  it('takes another loopback address', async () => {
    const p = await startEndpoint(relay, ['--listen', '127.0.0.2:0']);
    assert.match(p.baseUrl, /^http:\/\/127\.0\.0\.2:\d+\/v1$/);
    assert.equal((await getJson(p, '/v1/models')).status, 200);
  });
});

/** Files in the endpoint's upload folders. */
async function uploadFiles(): Promise<string[]> {
  const dirs = (await readdir(endpointTmp)).filter((name) => name.startsWith('blindbox-endpoint-'));
  return (await Promise.all(dirs.map(async (d) => (await readdir(path.join(endpointTmp, d)).catch(() => [])).map((f) => path.join(d, f))))).flat().concat(dirs);
}

/** GET with `authorization` (default: the endpoint's token; null: none). */
async function getJson(p: ProxyProcess, pathname: string, authorization: string | null = `Bearer ${p.token}`): Promise<{ status: number; body: unknown }> {
  const r = await request(new URL(pathname, p.baseUrl), { headers: authorization === null ? {} : { authorization } });
  return { status: r.statusCode, body: await r.body.json() };
}

/** A POST whose head only is sent: what the endpoint answers before reading a body. */
function rawPost(p: ProxyProcess, pathname: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(pathname, p.baseUrl), { method: 'POST', headers: { ...headers, authorization: `Bearer ${p.token}` } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}
