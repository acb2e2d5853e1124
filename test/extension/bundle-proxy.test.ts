/**
 * The packaged extension (esbuild bundle) under a fake `vscode`, behind a real CONNECT proxy on loopback. The server
 * is named `enclave.test`, a name only the proxy resolves, so the direct route always fails: a verification or a
 * transcript proves the connection went through the proxy the settings named, and a failure names the route tried.
 *
 * It also guards the pin inside VS Code's patched extension host: there, `fetch`'s dispatcher is replaced under every
 * `http.proxySupport` value and an `https` Agent under `override` and `fallback`, so an upload or attestation through
 * either would lose its pin in VS Code only, with every other test green. Global `fetch`, `http(s).request`/`get` and
 * the `http(s).Agent` constructors are replaced by recorders before the bundle loads; none may be called.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TranscriptionEngine } from '../../src/server/engine/engine.js';
import { startSimulationServer, type ReferenceServer } from '../../support/servers.js';
import { enclaveProxies, ENCLAVE_NAME, type ConnectProxy } from '../../support/connect-proxy.js';
import { createFakeVscode, disposeContext, fakeContext, installEditorResolver, loadBundle, type FakeEditorResolver, Uri, type FakeVscode, type LoadedExtension } from '../../support/fake-vscode.js';
import { REPO } from './helpers.js';

/** Every call of a path VS Code's extension host would re-route: none is allowed. */
const rerouted: string[] = [];
const restore: (() => void)[] = [];

/** Replaces `target[key]` by a recorder that still calls the original (so nothing else breaks), until `after`. */
function record<T extends object>(target: T, key: keyof T & string, label: string): void {
  const original = target[key] as (...args: unknown[]) => unknown;
  const isClass = /^class\b/.test(Function.prototype.toString.call(original)) || key === 'Agent';
  const replacement = isClass
    ? class extends (original as unknown as new (...args: unknown[]) => object) {
        constructor(...args: unknown[]) {
          rerouted.push(label);
          super(...args);
        }
      }
    : function (this: unknown, ...args: unknown[]) {
        rerouted.push(`${label} ${String(args[0] instanceof URL || typeof args[0] === 'string' ? args[0] : (args[0] as { host?: string })?.host)}`);
        return original.apply(this, args);
      };
  (target as Record<string, unknown>)[key] = replacement;
  restore.push(() => ((target as Record<string, unknown>)[key] = original));
}

const engine: TranscriptionEngine = {
  name: 'fake',
  model: 'fixed transcript',
  languages: ['en'],
  transcribe: async (request) => {
    const segment = { start: 0, end: 1, text: 'Through the proxy.' };
    // Told as engines tell it (engine.ts): a streamed answer sends it.
    request.onSegment?.(segment);
    return { text: segment.text, segments: [segment], duration: 1, language: 'en' };
  },
  close: async () => undefined,
};

let dir: string;
let server: ReferenceServer;
let named: string;
let target: string;
let rootFile: string;
let wav: string;
let fake: FakeVscode;
let ext: LoadedExtension;
let context: ReturnType<typeof fakeContext>;
const proxies = enclaveProxies();
/** The proxy the first test verified through. */
let first: ConnectProxy;
const WAV_BYTES = 200_000;
const savedEnv = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
/**
 * A stand-in for VS Code's own copy of @vscode/proxy-agent in its installation (`vscode.env.appRoot`), where VS Code's
 * extension host leaves its proxy resolver: what it answers (a system or PAC proxy) and the URLs it was asked about.
 */
let editorResolver: FakeEditorResolver;

const status = () => fake.statusItems.find((i) => i.id === 'blindbox.status')!;

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; status: ${status().text}; log:\n${fake.log.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Changes settings and waits until a verification under them has ended (the status leaves "verifying…"). */
async function settle(settings: Record<string, unknown>, expected: RegExp): Promise<void> {
  const verifications = fake.log.filter((l) => /\battesting https:/.test(l)).length;
  fake.setSettings(settings);
  await waitFor(`a new verification ending in ${expected}`, () => fake.log.filter((l) => /\battesting https:/.test(l)).length > verifications && expected.test(status().text));
}

async function transcribe(): Promise<number> {
  const before = fake.documents.length;
  const opened = await fake.executeCommand<unknown[]>('blindbox.transcribe', Uri.file(wav));
  assert.equal(opened.length, 1, JSON.stringify(fake.notifications.at(-1)));
  assert.match(fake.documents.at(-1)!.content, /Through the proxy\.\n$/);
  return fake.documents.length - before;
}

/** The BlindBox view's channel check: its label and its tooltip (summary and facts). */
function channelRow(): { label: string; tooltip: string } {
  type Row = { id: string; label: string; tooltip: string };
  const view = fake.treeProviders.get('blindbox.trust') as { getChildren(row?: Row): Row[] };
  // The checks are the children of the state row.
  const channel = view.getChildren(view.getChildren()[0]).find((r) => r.id === 'check-channel');
  assert.ok(channel, JSON.stringify(view.getChildren()));
  return channel;
}

const tunnelsTo = (p: ConnectProxy) => p.tunnels.filter((t) => t.target === target && t.status === 200).length;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-proxy-'));
  const bundleDir = path.join(dir, 'dist');
  const built = spawnSync(process.execPath, [path.join(REPO, 'scripts/bundle-extension.mjs'), '--outdir', bundleDir], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  server = await startSimulationServer({ engine });
  target = `${ENCLAVE_NAME}:${new URL(server.url).port}`;
  named = `https://${target}`;
  rootFile = path.join(dir, 'sim-root.pem');
  await writeFile(rootFile, server.provider.rootPem);
  wav = path.join(dir, 'memo.wav');
  await writeFile(wav, Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'), randomBytes(WAV_BYTES - 12)]));
  delete process.env.HTTPS_PROXY;
  delete process.env.NO_PROXY;
  // Before the bundle loads, so that a reference it took at load time is a recorder too.
  record(globalThis, 'fetch', 'fetch');
  for (const [name, mod] of [['http', http], ['https', https]] as const) {
    record(mod, 'request', `${name}.request`);
    record(mod, 'get', `${name}.get`);
    record(mod, 'Agent', `new ${name}.Agent`);
  }
  const appRoot = path.join(dir, 'vscode-app');
  editorResolver = await installEditorResolver(appRoot);
  fake = createFakeVscode();
  (fake.api.env as { appRoot?: string }).appRoot = appRoot;
  ext = loadBundle(path.join(bundleDir, 'extension.cjs'), fake);
  context = fakeContext(REPO);
  ext.activate(context);
});

after(async () => {
  for (const undo of restore.splice(0)) undo();
  for (const [name, value] of Object.entries(savedEnv)) if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  if (process.env.BLINDBOX_TEST_LOG) console.log(fake?.log.join('\n'));
  if (context) disposeContext(context);
  await ext?.deactivate();
  await proxies.closeAll();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the bundled extension behind a CONNECT proxy', () => {
  it('http.proxy: attests and transcribes through the proxy, which sees only CONNECT and TLS records', async () => {
    const p = (first = await proxies.start());
    await settle({ 'blindbox.serverUrl': named, 'blindbox.trustedRoots': [rootFile], 'http.proxy': p.url }, /SIMULATION/);
    assert.ok(tunnelsTo(p) >= 1, JSON.stringify(p.tunnels));
    assert.ok(fake.log.some((l) => l.includes(`verified ${named} (connected through proxy ${p.url})`)), fake.log.join('\n'));
    assert.match(channelRow().tooltip, new RegExp(`\nRoute: via proxy ${new URL(p.url).host.replaceAll('.', '\\.')} \\(http\\.proxy\\), which relays the pinned TLS without ending it$`));
    const relayed = p.fromClients();
    await transcribe();
    // The audio crossed the proxy inside the tunnel (the proxy relays TLS records: it cannot read them).
    assert.ok(p.fromClients() - relayed > WAV_BYTES, `${p.fromClients() - relayed} bytes relayed`);
    assert.ok(p.tunnels.every((t) => t.target === target), JSON.stringify(p.tunnels));
  });

  it('a change of http.proxy starts a new session through the new proxy; the old one carries no more audio', async () => {
    const p = await proxies.start();
    await settle({ 'http.proxy': p.url }, /SIMULATION/);
    assert.ok(tunnelsTo(p) >= 1);
    const oldBytes = first.fromClients();
    await transcribe();
    assert.equal(first.fromClients(), oldBytes, 'nothing more went through the old proxy');
    assert.ok(p.fromClients() > WAV_BYTES);
  });

  it('http.proxySupport "off" goes direct, and the failure names the route it tried', async () => {
    await settle({ 'http.proxySupport': 'off' }, /FAILED/);
    assert.equal(status().text, '$(error) BlindBox: FAILED · unreachable');
    assert.ok(fake.log.some((l) => new RegExp(`Cannot talk to ${target.replace('.', '\\.')} directly: (ENOTFOUND|EAI_AGAIN)`).test(l)), fake.log.join('\n'));
    await settle({ 'http.proxySupport': 'override' }, /SIMULATION/);
  });

  it('the extension host’s HTTPS_PROXY when http.proxy is not set; http.noProxy wins over it (and sends the name direct)', async () => {
    const p = await proxies.start();
    process.env.HTTPS_PROXY = p.url;
    await settle({ 'http.proxy': undefined }, /SIMULATION/);
    assert.ok(tunnelsTo(p) >= 1, JSON.stringify(p.tunnels));
    const tunnels = p.tunnels.length;
    await settle({ 'http.noProxy': ['.test'] }, /FAILED · unreachable/);
    assert.equal(p.tunnels.length, tunnels, 'the proxy was not asked');
    assert.ok(fake.log.some((l) => new RegExp(`Cannot talk to ${target.replace('.', '\\.')} directly`).test(l)));
    await settle({ 'http.noProxy': undefined }, /SIMULATION/);
  });

  it('a proxy that wants credentials: PROXY_AUTH_REQUIRED naming it; http.proxyAuthorization supplies them', async () => {
    const p = await proxies.start({ auth: { user: 'alice', password: 's3cret' } });
    await settle({ 'http.proxy': p.url }, /FAILED/);
    assert.ok(fake.log.some((l) => l.includes(`PROXY_AUTH_REQUIRED: The proxy ${p.url} asked for credentials (HTTP 407)`)), fake.log.join('\n'));
    await settle({ 'http.proxyAuthorization': `Basic ${Buffer.from('alice:s3cret').toString('base64')}` }, /SIMULATION/);
    await transcribe();
    assert.ok(p.fromClients() > WAV_BYTES);
    assert.ok(!fake.log.some((l) => l.includes('s3cret') || l.includes(Buffer.from('alice:s3cret').toString('base64'))), 'the credentials are never logged');
  });

  it('a TLS-inspecting proxy: refused before any audio, the channel check names the certificate it presented', async () => {
    const p = await proxies.start({ inspect: true });
    await settle({ 'http.proxy': p.url, 'http.proxyAuthorization': undefined }, /FAILED/);
    assert.ok(fake.log.some((l) => l.includes('TLS_BINDING_MISMATCH') && l.includes('TLS-inspecting proxy or firewall')), fake.log.join('\n'));
    const row = channelRow();
    assert.match(row.label, /FAILED/);
    assert.match(row.tooltip, /\nPresented certificate: “CN=enclave\.test[^”]*”\nIssued by: “[^”]*CN=Example Corp TLS Inspection CA[^”]*”/);
    // The attestation view's channel check says the same (the webview renders each fact as text).
    await fake.executeCommand('blindbox.showAttestation');
    (fake as unknown as { panel: { receive(m: unknown): void } }).panel.receive({ type: 'ready' });
    const { checks } = (fake.webviewMessages.at(-1) as { model: { checks: { id: string; state: string; facts: string[] }[] } }).model;
    const channel = checks.find((c) => c.id === 'channel')!;
    assert.equal(channel.state, 'fail');
    assert.ok(channel.facts.some((f) => /^Issued by: “.*Example Corp TLS Inspection CA/.test(f)), JSON.stringify(channel));
    const docs = fake.documents.length;
    assert.deepEqual(await fake.executeCommand<unknown[]>('blindbox.transcribe', Uri.file(wav)), []);
    assert.equal(fake.documents.length, docs);
    // The proxy read the attestation request it terminated, and nothing of the audio.
    assert.match(p.decrypted().toString('latin1'), /^GET \/attestation/);
    assert.ok(!p.decrypted().includes(Buffer.from('RIFF')), 'no audio decrypted');
    assert.doesNotMatch(channelRow().tooltip, /Route:/, 'a refused channel states no route as proven');
  });

  it('a system or PAC proxy that only VS Code knows (no http.proxy, no HTTPS_PROXY): asked of VS Code’s resolver and taken', async () => {
    const p = await proxies.start();
    delete process.env.HTTPS_PROXY;
    editorResolver.answer = p.url;
    try {
      await settle({ 'http.proxy': undefined }, /SIMULATION/);
      assert.ok(editorResolver.asked.includes(named), JSON.stringify(editorResolver.asked));
      assert.ok(tunnelsTo(p) >= 1, JSON.stringify(p.tunnels));
      assert.match(channelRow().tooltip, /\nRoute: via proxy 127\.0\.0\.1:\d+ \(system or PAC, as VS Code resolved it\)/);
      await transcribe();
      assert.ok(p.fromClients() > WAV_BYTES);
      // http.proxySupport "off" does not even ask: direct, as VS Code goes.
      const asked = editorResolver.asked.length;
      await settle({ 'http.proxySupport': 'off' }, /FAILED · unreachable/);
      assert.equal(editorResolver.asked.length, asked);
    } finally {
      editorResolver.answer = undefined;
    }
  });

  it('nothing went through global fetch, http(s).request/get or an http(s) Agent: VS Code cannot re-route the pinned channel', () => {
    assert.ok(fake.documents.length >= 4, 'the guard watched real transcriptions');
    assert.deepEqual(rerouted, []);
    // VS Code also patches `require('undici')` for extensions: the bundle carries its own, and never asks for `https`
    // (its undici reads constants from `http`, whose request and Agent the recorders above watched).
    assert.ok(!ext.requested.some((m) => /^(node:)?(undici|https)$/.test(m)), ext.requested.join(', '));
  });
});
