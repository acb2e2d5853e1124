/** Finding VS Code's own proxy resolver in its installation, and asking it within a time bound. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { editorProxyFor, editorProxyResolver } from '../../src/extension/trust/editor-proxy.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** An installation folder with `@vscode/proxy-agent` copies: `code` for each of node_modules.asar and node_modules. */
async function installation(copies: Partial<Record<'node_modules.asar' | 'node_modules', string>>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'blindbox-approot-'));
  dirs.push(root);
  for (const [folder, code] of Object.entries(copies)) {
    const dir = path.join(root, folder, '@vscode', 'proxy-agent');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'index.js'), code);
  }
  return root;
}

describe("VS Code's proxy resolver", () => {
  it('is the copy that carries resolveProxyURL (code-server has an unpatched node_modules.asar folder beside node_modules)', async () => {
    const root = await installation({ 'node_modules.asar': 'exports.other = 1;\n', node_modules: 'exports.resolveProxyURL = async (url) => "http://pac.example:8080#" + url;\n' });
    assert.equal(await editorProxyFor(editorProxyResolver(root), 'https://e.test'), 'http://pac.example:8080#https://e.test');
  });

  it('is absent without an installation or without the resolver: only the settings decide', async () => {
    assert.equal(editorProxyResolver(undefined), undefined);
    assert.equal(editorProxyResolver(await installation({ node_modules: 'exports.createProxyResolver = () => {};\n' })), undefined);
    assert.equal(editorProxyResolver(await installation({})), undefined);
    assert.equal(await editorProxyFor(undefined, 'https://e.test'), undefined);
  });

  // A resolver that never answers would hang here without the bound: the test's own timeout turns that into a failure.
  it('answers nothing when it fails, says DIRECT (undefined or empty) or never answers', { timeout: 10_000 }, async () => {
    assert.equal(await editorProxyFor(() => Promise.reject(new Error('PAC failed')), 'https://e.test'), undefined);
    assert.equal(await editorProxyFor(async () => '  ', 'https://e.test'), undefined);
    assert.equal(await editorProxyFor(() => new Promise(() => undefined), 'https://e.test', 100), undefined);
  });
});
