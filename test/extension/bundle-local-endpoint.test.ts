/**
 * *BlindBox: Start Local Endpoint* in the packaged extension (esbuild bundle) under a fake `vscode`, against a real
 * simulation server whose root the window trusts: the URL and token go to the clipboard, the real OpenAI Node SDK
 * transcribes through it with the receipt verified, and the endpoint stops with the window.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { startSimulationServer, type ReferenceServer } from '../../support/servers.js';
import { createFakeVscode, disposeContext, fakeContext, loadBundle, type FakeVscode, type LoadedExtension } from '../../support/fake-vscode.js';
import { until } from '../../support/processes.js';
import { REPO } from './helpers.js';

const SAMPLE = fileURLToPath(new URL('../../../media/sample.wav', import.meta.url));

let dir: string;
let server: ReferenceServer;
let fake: FakeVscode;
let ext: LoadedExtension;
let context: ReturnType<typeof fakeContext>;
let deactivated = false;

const start = () => fake.executeCommand<{ baseUrl: string; token: string } | undefined>('blindbox.startLocalEndpoint');

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-local-endpoint-'));
  const bundleDir = path.join(dir, 'dist');
  const built = spawnSync(process.execPath, [path.join(REPO, 'scripts/bundle-extension.mjs'), '--outdir', bundleDir], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  server = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1 }) });
  const rootFile = path.join(dir, 'sim-root.pem');
  await writeFile(rootFile, server.provider.rootPem);
  fake = createFakeVscode({ 'blindbox.serverUrl': server.url, 'blindbox.trustedRoots': [rootFile] });
  ext = loadBundle(path.join(bundleDir, 'extension.cjs'), fake);
  context = fakeContext(REPO);
  ext.activate(context);
});

after(async () => {
  if (!deactivated) {
    if (context) disposeContext(context);
    await ext?.deactivate();
  }
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('BlindBox: Start Local Endpoint (bundled extension)', () => {
  it('copies the URL and token; the OpenAI SDK transcribes through it; asked again, the same endpoint; stopped with the window', async () => {
    const started = await start();
    assert.ok(started, JSON.stringify(fake.notifications.at(-1)));
    assert.match(started.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    assert.equal(fake.clipboard, `OPENAI_BASE_URL=${started.baseUrl}\nOPENAI_API_KEY=${started.token}\n`);
    assert.doesNotMatch(JSON.stringify(fake.log), new RegExp(started.token));
    const client = new OpenAI({ baseURL: started.baseUrl, apiKey: started.token, maxRetries: 0 });
    const response = await client.audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1' }).withResponse();
    assert.match(response.data.text, /quick brown fox/);
    assert.equal(response.response.headers.get('blindbox-receipt-verified'), 'true');
    fake.clipboard = '';
    const again = await start();
    assert.deepEqual(again, started);
    assert.match(fake.clipboard, /^OPENAI_BASE_URL=/);
    // The window closes: the endpoint stops listening.
    disposeContext(context);
    await ext.deactivate();
    deactivated = true;
    await until('the endpoint closed', () => fetch(`${started.baseUrl}/models`).then(() => false, () => true), 10_000);
  });
});
