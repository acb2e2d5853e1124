/**
 * *BlindBox: Network Diagnostics* in the packaged extension (esbuild bundle) under a fake `vscode`, against a real
 * simulation server named `enclave.test`, a name only the CONNECT proxies on loopback resolve: the report follows the
 * window's proxy settings and VS Code's own resolver, as a verification does, and opens as a plain-text document.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSimulationServer, type ReferenceServer } from '../../support/servers.js';
import { enclaveProxies, ENCLAVE_NAME } from '../../support/connect-proxy.js';
import { createFakeVscode, disposeContext, fakeContext, installEditorResolver, loadBundle, type FakeEditorResolver, type FakeVscode, type LoadedExtension } from '../../support/fake-vscode.js';
import type { WindowDiagnosis } from '../../src/extension/diagnose/run.js';
import { REPO } from './helpers.js';

let dir: string;
let server: ReferenceServer;
let named: string;
let target: string;
let rootFile: string;
let fake: FakeVscode;
let ext: LoadedExtension;
let context: ReturnType<typeof fakeContext>;
const proxies = enclaveProxies();
const savedEnv = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
/** A stand-in for VS Code's own @vscode/proxy-agent in its installation: what its resolver answers. */
let editorResolver: FakeEditorResolver;

const diagnose = () => fake.executeCommand<WindowDiagnosis | undefined>('blindbox.networkDiagnostics');
const fact = (d: WindowDiagnosis, id: string, label: string) => d.report.steps.find((s) => s.id === id)?.facts.find(([l]) => l === label)?.[1];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-diagnose-'));
  const bundleDir = path.join(dir, 'dist');
  const built = spawnSync(process.execPath, [path.join(REPO, 'scripts/bundle-extension.mjs'), '--outdir', bundleDir], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  server = await startSimulationServer();
  target = `${ENCLAVE_NAME}:${new URL(server.url).port}`;
  named = `https://${target}`;
  rootFile = path.join(dir, 'sim-root.pem');
  await writeFile(rootFile, server.provider.rootPem);
  delete process.env.HTTPS_PROXY;
  delete process.env.NO_PROXY;
  const appRoot = path.join(dir, 'vscode-app');
  editorResolver = await installEditorResolver(appRoot);
  fake = createFakeVscode({ 'blindbox.serverUrl': named, 'blindbox.trustedRoots': [rootFile] });
  (fake.api.env as { appRoot?: string }).appRoot = appRoot;
  ext = loadBundle(path.join(bundleDir, 'extension.cjs'), fake);
  context = fakeContext(REPO);
  ext.activate(context);
});

after(async () => {
  for (const [name, value] of Object.entries(savedEnv)) if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  if (context) disposeContext(context);
  await ext?.deactivate();
  await proxies.closeAll();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('BlindBox: Network Diagnostics (bundled extension)', () => {
  it('through http.proxy: every step passes, the report opens as plain text, is logged, and progress names each step', async () => {
    const p = await proxies.start();
    fake.setSettings({ 'http.proxy': p.url });
    const documents = fake.documents.length;
    const d = await diagnose();
    assert.ok(d, JSON.stringify(fake.notifications.at(-1)));
    assert.equal(d.report.ok, true, d.text);
    assert.equal(fact(d, 'route', 'route'), `through proxy ${p.url}`);
    assert.match(fact(d, 'route', 'why')!, /http\.proxy/);
    assert.equal(d.report.steps.find((s) => s.id === 'resolve')!.status, 'skipped');
    assert.ok(p.tunnels.filter((t) => t.target === target && t.status === 200).length >= 2, JSON.stringify(p.tunnels));
    const doc = fake.documents.at(-1)!;
    assert.equal(fake.documents.length, documents + 1);
    assert.equal(doc.language, 'plaintext');
    assert.equal(doc.content, d.text);
    assert.match(doc.content, /^----- BlindBox network diagnostics -----\nserver {4}https:\/\/enclave\.test:\d+\n/);
    const { version } = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    assert.ok(doc.content.includes(`\nclient    BlindBox for VS Code ${version} (VS Code 1.100.0, desktop)\nresult `), doc.content);
    assert.deepEqual(fake.shown.at(-1), { uri: doc.uri, preview: false });
    assert.ok(fake.log.some((l) => l.includes('result    every step passed')), fake.log.join('\n'));
    const record = fake.progress.at(-1)!;
    assert.match(record.title, /^BlindBox: diagnosing the way to https:\/\/enclave\.test:\d+$/);
    assert.deepEqual(record.reports.map((r) => r.message?.replace(/: [^:]+$/, '')), d.report.steps.map((s, i) => `${i + 1} of 7: ${s.title}`));
  });

  it('VS Code\'s resolver (a system or PAC proxy) is followed when no setting names one; a TLS-inspecting proxy is named with its issuer', async () => {
    const p = await proxies.start({ inspect: true });
    fake.setSettings({ 'http.proxy': undefined });
    editorResolver.answer = p.url;
    const d = (await diagnose())!;
    assert.ok(editorResolver.asked.includes(named), JSON.stringify(editorResolver.asked));
    assert.equal(fact(d, 'route', 'route'), `through proxy ${p.url}`);
    assert.match(fact(d, 'route', 'why')!, /system or PAC proxy/);
    assert.equal(d.report.ok, false);
    assert.match(fake.documents.at(-1)!.content, /TLS_BINDING_MISMATCH: TLS inspection: the network presents a certificate issued by "O=Example Corp \+ CN=Example Corp TLS Inspection CA"/);
    // Nothing but attestation requests reached the inspecting proxy in clear.
    const requests = p.decrypted().toString('latin1').split('\r\n\r\n').filter(Boolean);
    assert.ok(requests.every((q) => /^GET \/attestation\?nonce=[0-9a-f]{64} HTTP\/1\.1\r\n/.test(q)), requests.join('|'));
    editorResolver.answer = undefined;
  });

  it('proxySupport off goes direct (the resolver is not asked) and fails at name resolution; Cancel opens nothing', async () => {
    fake.setSettings({ 'http.proxySupport': 'off' });
    const asked = editorResolver.asked.length;
    const d = (await diagnose())!;
    assert.equal(editorResolver.asked.length, asked);
    assert.match(d.text, /result {4}FAILED at step 3: Name resolution\n/);
    assert.match(d.text, /why +proxies are switched off/);
    const documents = fake.documents.length;
    fake.onProgressReport = (record) => record.cancel();
    try {
      assert.equal(await diagnose(), undefined);
    } finally {
      fake.onProgressReport = undefined;
    }
    assert.equal(fake.documents.length, documents);
    assert.ok(fake.log.some((l) => l.includes('network diagnostics cancelled')));
  });
});
