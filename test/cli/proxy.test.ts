/**
 * The CLI behind a real CONNECT proxy (support/connect-proxy.ts) on loopback, against `serve --simulate`. The server is
 * addressed as `enclave.test`, a name only the proxy resolves: the direct route fails, only the proxy route works.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../support/cli.js';
import { startNamedSimulation, type NamedSimulation } from '../helpers/named-simulation.js';
import { enclaveProxies } from '../../support/connect-proxy.js';

const SAMPLE = fileURLToPath(new URL('../../../media/sample.wav', import.meta.url));
/** This process's environment without any proxy variable: each test sets the ones it means. */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(https?|no)_proxy$/i.test(name)));

let sim: NamedSimulation;
let rootPem: string;
let named: string;
let hostPort: string;
const proxies = enclaveProxies();
const proxy = proxies.start;
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, 120_000, { ...CLEAN_ENV, ...env });

before(async () => {
  sim = await startNamedSimulation(['--engine', 'pocketsphinx', '--workers', '1']);
  ({ rootPem, named, hostPort } = sim);
});

after(async () => {
  await proxies.closeAll();
  await sim?.close();
});

describe('blindbox through a CONNECT proxy', () => {
  it('transcribe follows HTTPS_PROXY: the audio goes through the tunnel and the transcript comes back', async () => {
    const p = await proxy();
    const r = await cli(['transcribe', named, SAMPLE, '--trust-root', rootPem], { HTTPS_PROXY: p.url });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(r.stdout.trim().length > 0);
    assert.ok(p.tunnels.length >= 1 && p.tunnels.every((t) => t.target === hostPort && t.status === 200), JSON.stringify(p.tunnels));
    assert.ok(p.fromClients() > (await stat(SAMPLE)).size, `${p.fromClients()} bytes relayed`);
  });

  it('--proxy wins over the environment; NO_PROXY and --no-proxy go direct and say so', async () => {
    const p = await proxy();
    const r = await cli(['verify', named, '--trust-root', rootPem, '--proxy', p.url], { HTTPS_PROXY: 'http://127.0.0.1:1' });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(p.tunnels.length, 1);
    const direct = new RegExp(`^UNREACHABLE  SERVER_UNREACHABLE: Cannot talk to ${hostPort.replace('.', '\\.')} directly: (ENOTFOUND|EAI_AGAIN)\\.\\n$`);
    for (const [args, env] of [
      [[], { HTTPS_PROXY: p.url, NO_PROXY: 'localhost,enclave.test' }],
      [['--no-proxy'], { https_proxy: p.url }],
    ] as const) {
      const d = await cli(['verify', named, '--trust-root', rootPem, ...args], env);
      assert.equal(d.code, 3, d.stderr);
      assert.match(d.stdout, direct);
    }
    assert.equal(p.tunnels.length, 1);
  });

  it('a proxy that wants credentials: 407 is PROXY_AUTH_REQUIRED naming the proxy; credentials in the URL work', async () => {
    const p = await proxy({ auth: { user: 'bob', password: 'hunter2' } });
    const refused = await cli(['verify', named, '--trust-root', rootPem, '--proxy', `http://bob:wrong-hunter2@${new URL(p.url).host}`]);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stdout, new RegExp(`^FAILED  PROXY_AUTH_REQUIRED: The proxy ${p.url.replaceAll('.', '\\.')} asked for credentials \\(HTTP 407\\) and refused the ones given`));
    assert.doesNotMatch(refused.stdout + refused.stderr, /hunter2/);
    const ok = await cli(['verify', named, '--trust-root', rootPem], { HTTPS_PROXY: `http://bob:hunter2@${new URL(p.url).host}` });
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  });

  it('a TLS-inspecting proxy is refused before any audio: it decrypts attestation requests only, and the issuer is named', async () => {
    const p = await proxy({ inspect: true });
    const r = await cli(['transcribe', named, SAMPLE, '--trust-root', rootPem, '--proxy', p.url]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const said = r.stdout + r.stderr;
    assert.match(said, /TLS_BINDING_MISMATCH/);
    assert.match(said, /issued by "O=Example Corp \+ CN=Example Corp TLS Inspection CA"/);
    assert.match(said, /TLS-inspecting proxy or firewall/);
    assert.match(said, new RegExp(`exempt ${hostPort.replace('.', '\\.')} from TLS inspection`));
    const seen = p.decrypted().toString('latin1');
    const requests = seen.split('\r\n\r\n').filter(Boolean);
    assert.ok(requests.length >= 1 && requests.every((q) => /^GET \/attestation\?nonce=[0-9a-f]{64} HTTP\/1\.1\r\n/.test(q)), seen);
    // Every decrypted byte is accounted for by those requests' heads: not one byte of the audio.
    assert.equal(p.fromClients(), seen.length);
    assert.ok(p.fromClients() < 512 * requests.length, `${p.fromClients()} bytes decrypted`);
  });

  it('--proxy with --no-proxy, or a proxy that is not http://, is a usage error before anything is sent', async () => {
    for (const args of [['--proxy', 'http://127.0.0.1:1', '--no-proxy'], ['--proxy', 'socks5://127.0.0.1:1'], ['--proxy', '127.0.0.1:3128']]) {
      const r = await cli(['verify', named, '--trust-root', rootPem, ...args]);
      assert.equal(r.code, 2, r.stderr + r.stdout);
      assert.match(r.stderr, /--proxy/);
    }
  });
});
