/**
 * Bodies sealed to the enclave through a real TLS-inspecting CONNECT proxy on loopback (support/connect-proxy.ts): the
 * proxy terminates TLS with its own CA and records every byte it decrypted. With `allowInspectedTls` and the proxy's
 * CA trusted, the audio goes sealed to the HPKE key the attestation binds, and the proxy decrypted none of it; without
 * the option, or with a CA the system does not trust, nothing but attestation requests crosses it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ChannelError, connect, fileSource } from '../../../src/core/index.js';
import { createPocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import { rootsTrusting, startSimulationServer, type ReferenceServer } from '../../../support/servers.js';
import { enclaveProxies, type ConnectProxy } from '../../../support/connect-proxy.js';
import { audioWindowsIn, requestLines as requestLinesIn } from '../../helpers/cleartext-audio.js';

const SAMPLE = fileURLToPath(new URL('../../../../media/sample.wav', import.meta.url));

let server: ReferenceServer;
let named: string;
let audio: Buffer;
const proxies = enclaveProxies();

before(async () => {
  server = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1, maxQueue: 2 }) });
  named = `https://enclave.test:${new URL(server.url).port}`;
  audio = await readFile(SAMPLE);
});

after(async () => {
  await proxies.closeAll();
  await server?.close();
});

const audioWindowsSeen = (proxy: ConnectProxy) => audioWindowsIn(proxy.decrypted(), audio);
const requestLines = (proxy: ConnectProxy) => requestLinesIn(proxy.decrypted());

describe('bodies sealed to the enclave through a TLS-inspecting proxy', () => {
  it('transcribes with allowInspectedTls and a trusted inspection CA: the proxy decrypted the request but none of the audio', async () => {
    const p = await proxies.start({ inspect: true });
    const session = await connect(named, { roots: rootsTrusting(server), proxy: { proxy: p.url }, allowInspectedTls: true, inspectionCas: [p.caCertificate!.toString()] });
    try {
      assert.equal(session.attested.binding.bound, false);
      assert.match(session.attested.binding.inspectedBy!.issuer, /Example Corp TLS Inspection CA/);
      const result = await session.transcribe(await fileSource(SAMPLE), { format: 'json' });
      assert.ok(result.text.length > 0, 'a transcript');
      assert.equal(result.receipt.verified.content.audioSha256, (await import('node:crypto')).createHash('sha256').update(audio).digest('hex'));
    } finally {
      await session.close();
    }
    assert.deepEqual(requestLines(p), ['GET /attestation?nonce=…', 'POST /v1/audio/transcriptions']);
    const seen = p.decrypted();
    assert.ok(seen.length > audio.length, `the proxy decrypted ${seen.length} bytes: the sealed body crossed it`);
    assert.equal(audioWindowsSeen(p), 0, 'no cleartext audio at the proxy');
    assert.doesNotMatch(seen.toString('latin1'), /RIFF|WAVE|form-data; name="file"/);
  });

  it('is refused as today without allowInspectedTls: TLS_BINDING_MISMATCH, only attestation requests decrypted', async () => {
    const p = await proxies.start({ inspect: true });
    await assert.rejects(connect(named, { roots: rootsTrusting(server), proxy: { proxy: p.url }, inspectionCas: [p.caCertificate!.toString()] }), (e: unknown) => e instanceof ChannelError && e.code === 'TLS_BINDING_MISMATCH');
    assert.ok(requestLines(p).every((line) => line === 'GET /attestation?nonce=…'));
    assert.equal(audioWindowsSeen(p), 0);
  });

  it('refuses an inspecting proxy whose CA the system does not trust, even with allowInspectedTls: INSPECTED_TLS_UNTRUSTED', async () => {
    const p = await proxies.start({ inspect: true });
    await assert.rejects(connect(named, { roots: rootsTrusting(server), proxy: { proxy: p.url }, allowInspectedTls: true }), (e: unknown) => {
      assert.ok(e instanceof ChannelError && e.code === 'INSPECTED_TLS_UNTRUSTED', String(e));
      assert.match(e.message, /Example Corp TLS Inspection CA.*not valid for this system's trust store/);
      return true;
    });
    assert.ok(requestLines(p).every((line) => line === 'GET /attestation?nonce=…'));
  });

  it('on an inspected channel the session sends no unsealed body, whoever asks: TLS_BINDING_MISMATCH, nothing posted', async () => {
    const p = await proxies.start({ inspect: true });
    const session = await connect(named, { roots: rootsTrusting(server), proxy: { proxy: p.url }, allowInspectedTls: true, inspectionCas: [p.caCertificate!.toString()] });
    try {
      await assert.rejects(
        session.request('/v1/audio/transcriptions', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: audio }),
        (e: unknown) => e instanceof ChannelError && e.code === 'TLS_BINDING_MISMATCH' && /inspected by "O=Example Corp \+ CN=Example Corp TLS Inspection CA": only a body sealed to the enclave/.test(e.message),
      );
      // A request without a body is not audio: it may go.
      assert.equal((await session.request('/healthz')).statusCode, 200);
    } finally {
      await session.close();
    }
    assert.deepEqual(requestLines(p), ['GET /attestation?nonce=…', 'GET /healthz']);
    assert.equal(audioWindowsSeen(p), 0);
  });

  it('seals over pinned TLS too when asked (seal: true), and the receipt still binds the plaintext', async () => {
    const session = await connect(server.url, { roots: rootsTrusting(server) });
    try {
      assert.equal(session.attested.binding.bound, true);
      const result = await session.transcribe(await fileSource(SAMPLE), { format: 'text', seal: true });
      assert.ok(result.text.length > 0);
      assert.equal(result.receipt.verified.content.audioBytes, audio.length);
    } finally {
      await session.close();
    }
  });
});

/** An HTTP answer's head (status line and headers, lower-cased names) and body. */
function split(answer: Buffer): { status: string; headers: Map<string, string>; body: Buffer } {
  const end = answer.indexOf('\r\n\r\n');
  const [status, ...lines] = answer.subarray(0, end).toString('latin1').split('\r\n');
  return { status: status!, headers: new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])), body: answer.subarray(end + 4) };
}

/** The answer put back together, its Content-Length that of `body`. */
function join(status: string, headers: Map<string, string>, body: Buffer): Buffer {
  headers.set('content-length', String(body.length));
  return Buffer.concat([Buffer.from(`${status}\r\n${[...headers].map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

const isTranscription = (answer: Buffer) => split(answer).headers.has('blindbox-response-nonce');

describe('an inspecting relay that alters the sealed answer: SEALED_RESPONSE_INVALID, no transcript', () => {
  const attacks: Record<string, (answer: Buffer, earlier: Buffer | undefined) => Buffer> = {
    'a bit flipped in the sealed transcript': (answer) => {
      const { status, headers, body } = split(answer);
      const flipped = Buffer.from(body);
      flipped[flipped.length - 20]! ^= 0x04;
      return join(status, headers, flipped);
    },
    'the final chunk cut off': (answer) => {
      const { status, headers, body } = split(answer);
      return join(status, headers, body.subarray(0, body.length - 1));
    },
    'the seal stripped, a plain transcript put in its place': (answer) => {
      const { status, headers } = split(answer);
      headers.delete('blindbox-response-nonce');
      headers.set('content-type', 'text/plain; charset=utf-8');
      return join(status, headers, Buffer.from('a transcript the relay wrote'));
    },
    'another response nonce': (answer) => {
      const { status, headers, body } = split(answer);
      headers.set('blindbox-response-nonce', 'ab'.repeat(32));
      return join(status, headers, body);
    },
    'the answer to an earlier request (its own receipt included)': (answer, earlier) => earlier ?? answer,
  };
  for (const [name, attack] of Object.entries(attacks)) {
    it(name, async () => {
      let earlier: Buffer | undefined;
      let altered = 0;
      const p = await proxies.start({
        inspect: true,
        rewriteAnswer: (answer) => {
          if (!isTranscription(answer)) return answer;
          // The first transcription goes through untouched and is kept; later ones are altered.
          if (!earlier) {
            earlier = Buffer.from(answer);
            return answer;
          }
          altered++;
          return attack(answer, earlier);
        },
      });
      const session = await connect(named, { roots: rootsTrusting(server), proxy: { proxy: p.url }, allowInspectedTls: true, inspectionCas: [p.caCertificate!.toString()] });
      try {
        assert.ok((await session.transcribe(await fileSource(SAMPLE), { format: 'text' })).text.length > 0, 'the untouched answer opens');
        await assert.rejects(session.transcribe(await fileSource(SAMPLE), { format: 'text' }), (e: unknown) => {
          assert.ok(e instanceof ChannelError && e.code === 'SEALED_RESPONSE_INVALID', String(e));
          return true;
        });
      } finally {
        await session.close();
      }
      assert.equal(altered, 1, 'the relay altered the second answer');
      assert.equal(audioWindowsSeen(p), 0);
    });
  }
});

describe('an enclave restarted behind the inspecting proxy (a new HPKE key, the same address)', () => {
  it('the body sealed to the old key is refused unread (422 HPKE_KEY_UNKNOWN), and the session attests again and transcribes', async () => {
    const caDir = await mkdtemp(path.join(tmpdir(), 'blindbox-restart-ca-'));
    const engine = () => createPocketSphinxEngine({ workers: 1, maxQueue: 2 });
    let first: ReferenceServer | undefined = await startSimulationServer({ engine: await engine(), caDir });
    const port = Number(new URL(first.url).port);
    let second: ReferenceServer | undefined;
    const p = await proxies.start({ inspect: true });
    const logged: string[] = [];
    const session = await connect(`https://enclave.test:${port}`, { roots: rootsTrusting(first), proxy: { proxy: p.url }, allowInspectedTls: true, inspectionCas: [p.caCertificate!.toString()], log: (line) => logged.push(line) });
    try {
      const before = session.attested.service!.hpkePublicKey!;
      assert.ok((await session.transcribe(await fileSource(SAMPLE))).text.length > 0);
      await first.close();
      first = undefined;
      second = await startSimulationServer({ engine: await engine(), caDir, port });
      const result = await session.transcribe(await fileSource(SAMPLE));
      assert.ok(result.text.length > 0);
      assert.notDeepEqual(result.enclave.service!.hpkePublicKey, before, 'sealed to the new key, from a new attestation');
      assert.ok(logged.some((line) => /was refused \(SERVER_ERROR: .*no longer holds the HPKE key/.test(line)), logged.join('\n'));
      assert.equal(audioWindowsSeen(p), 0);
    } finally {
      await session.close();
      await first?.close();
      await second?.close();
      await rm(caDir, { recursive: true, force: true });
    }
  });
});
