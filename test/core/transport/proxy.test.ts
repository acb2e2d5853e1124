/**
 * The attested channel through a real CONNECT proxy on loopback. The server is named `enclave.test`, a name only the
 * proxy can resolve (its own hosts table maps it to the reference server on 127.0.0.1): the direct route fails, so a
 * success proves the connection went through the proxy, with the TLS inside the tunnel pinned as on a direct one.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ChannelError, connect, fileSource } from '../../../src/core/index.js';
import { createPocketSphinxEngine } from '../../../src/server/engine/pocketsphinx/engine.js';
import { rootsTrusting, startSimulationServer, type ReferenceServer } from '../../../support/servers.js';
import { enclaveProxies } from '../../../support/connect-proxy.js';

const SAMPLE = fileURLToPath(new URL('../../../../media/sample.wav', import.meta.url));

let server: ReferenceServer;
let named: string;
const proxies = enclaveProxies();
const proxy = proxies.start;
const failure = (code: string, pattern: RegExp) => (e: unknown) => e instanceof ChannelError && e.code === code && pattern.test(e.message);

before(async () => {
  server = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1, maxQueue: 2 }) });
  named = `https://enclave.test:${new URL(server.url).port}`;
});

after(async () => {
  await proxies.closeAll();
  await server?.close();
});

describe('the attested channel through a CONNECT proxy', () => {
  it('attests and uploads through the proxy, the TLS inside the tunnel pinned to the attested key', async () => {
    const p = await proxy();
    const session = await connect(named, { roots: rootsTrusting(server), proxy: { proxy: p.url } });
    try {
      assert.deepEqual(session.route, { kind: 'proxy', proxy: p.url, authorization: undefined, source: 'setting' });
      const result = await session.transcribe(await fileSource(SAMPLE), { format: 'text' });
      assert.ok(result.text.length > 0);
      assert.equal(session.attested.binding.presentedSpkiSha256, result.enclave.binding.presentedSpkiSha256);
    } finally {
      await session.close();
    }
    assert.ok(p.tunnels.length >= 1 && p.tunnels.every((t) => t.target === `enclave.test:${new URL(server.url).port}` && t.status === 200), JSON.stringify(p.tunnels));
    // The audio crossed the proxy, as TLS records.
    assert.ok(p.fromClients() > (await stat(SAMPLE)).size, `${p.fromClients()} bytes relayed`);
  });

  it('follows HTTPS_PROXY from the environment it is given, and NO_PROXY sends it direct, which names the route it tried', async () => {
    const p = await proxy();
    const session = await connect(named, { roots: rootsTrusting(server), environment: { HTTPS_PROXY: p.url } });
    await session.close();
    assert.equal(p.tunnels.length, 1);
    await assert.rejects(
      connect(named, { roots: rootsTrusting(server), environment: { HTTPS_PROXY: p.url, NO_PROXY: '.test' }, attempts: 1 }),
      failure('SERVER_UNREACHABLE', new RegExp(`^Cannot talk to enclave\\.test:${new URL(server.url).port} directly: (ENOTFOUND|EAI_AGAIN)\\.$`)),
    );
    assert.equal(p.tunnels.length, 1);
  });

  it('sends the credentials in the proxy URL, and reports a 407 as PROXY_AUTH_REQUIRED naming the proxy but not the password', async () => {
    const p = await proxy({ auth: { user: 'alice', password: 's3cret' } });
    const withCredentials = `http://alice:s3cret@${new URL(p.url).host}`;
    const session = await connect(named, { roots: rootsTrusting(server), proxy: { proxy: withCredentials } });
    await session.close();
    for (const given of [p.url, `http://alice:wrong-s3cret@${new URL(p.url).host}`]) {
      const before = p.tunnels.length;
      await assert.rejects(connect(named, { roots: rootsTrusting(server), proxy: { proxy: given } }), (e: unknown) => {
        assert.ok(failure('PROXY_AUTH_REQUIRED', new RegExp(`^The proxy ${p.url.replaceAll('.', '\\.')} asked for credentials \\(HTTP 407\\)`))(e), String(e));
        assert.doesNotMatch((e as Error).message, /s3cret|alice/);
        return true;
      });
      // Not retried: asking again without other credentials cannot help.
      assert.deepEqual(p.tunnels.slice(before).map((t) => t.status), [407]);
    }
  });

  it('names the proxy it could not reach, and the proxy that could not reach the server', async () => {
    const p = await proxy();
    await p.close();
    await assert.rejects(connect(named, { roots: rootsTrusting(server), proxy: { proxy: p.url }, attempts: 1 }), failure('SERVER_UNREACHABLE', new RegExp(`through proxy ${p.url.replaceAll('.', '\\.')}: the proxy cannot be reached \\(ECONNREFUSED\\)`)));
    const q = await proxy();
    await assert.rejects(connect('https://elsewhere.test', { roots: rootsTrusting(server), proxy: { proxy: q.url }, attempts: 1 }), failure('SERVER_UNREACHABLE', /^Cannot talk to elsewhere\.test:443 through proxy .*: the proxy refused the tunnel \(HTTP 502\)\.$/));
  });

  it('refuses a TLS-inspecting proxy after the attestation request, naming the certificate it presented and what to ask for', async () => {
    const p = await proxy({ inspect: true });
    const port = new URL(server.url).port;
    await assert.rejects(connect(named, { roots: rootsTrusting(server), proxy: { proxy: p.url } }), (e: unknown) => {
      assert.ok(e instanceof ChannelError && e.code === 'TLS_BINDING_MISMATCH', String(e));
      assert.match(e.message, /subject "CN=enclave\.test", issued by "O=Example Corp \+ CN=Example Corp TLS Inspection CA"/);
      assert.match(e.message, /a TLS-inspecting proxy or firewall between you and the enclave terminates TLS/);
      assert.match(e.message, new RegExp(`exempt enclave\\.test:${port} from TLS inspection`));
      return true;
    });
    // What the proxy decrypted: attestation requests (retried on new connections), nothing else.
    const seen = p.decrypted().toString('latin1');
    const requests = seen.split('\r\n\r\n').filter(Boolean);
    assert.ok(requests.length >= 1 && requests.every((r) => /^GET \/attestation\?nonce=[0-9a-f]{64} HTTP\/1\.1\r\n/.test(r)), seen);
  });
});
