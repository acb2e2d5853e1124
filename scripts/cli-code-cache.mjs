#!/usr/bin/env node
/**
 * Run by scripts/bundle-cli.mjs: V8's code caches of the CLI bundle (out/bundle/cli/blindbox.cjs.<name>.cache, read by
 * src/cli/bundle.ts). V8 puts in a code cache the functions compiled so far, so each cache is made by its own process
 * that loads the bundle and has it do what people wait for, as they would, against a local attestation-only
 * simulation server (`serve --simulate --engine none`): `help` runs `--help`; `verify` a live `verify` (text and
 * JSON); `verify-doc` checks a document that server signed. Prints one line: each cache's size.
 *
 * A code cache records the V8 flags it was made under, and V8 takes it only under the same: like launch.ts, each
 * process sets the client's `--liftoff-only` (src/cli/baseline-wasm.ts) before it compiles the bundle.
 *
 *   node scripts/cli-code-cache.mjs                       all caches (starts the server, then one process per cache)
 *   node scripts/cli-code-cache.mjs <name> <url> <root>   one cache, from a running server
 */
import { spawnSync } from 'node:child_process';
import { get } from 'node:https';
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { baselineWasmOnly } from '../out/src/cli/baseline-wasm.js';
import { CODE_CACHES, codeCacheFile, loadBundle } from '../out/src/cli/bundle.js';
import { startServe } from '../out/support/cli.js';

/** One attestation document of `url`, as its bytes (unverified: the bundle's verify-doc checks it). */
function fetchDocument(url) {
  return new Promise((resolve, reject) => {
    get(`${url}/attestation?nonce=${'00'.repeat(32)}`, { rejectUnauthorized: false }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d)).on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`GET /attestation: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/** The invocations whose compiled code makes each cache; every one must exit 0. */
async function runsOf(name, url, root, dir) {
  const help = [['--help'], [name === 'help' ? 'verify' : name, '--help']];
  if (name === 'help') return help;
  if (name === 'verify') return [...help, ['verify', url, '--trust-root', root], ['verify', url, '--trust-root', root, '--json']];
  const document = path.join(dir, 'document.cbor');
  writeFileSync(document, await fetchDocument(url));
  return [...help, ['verify-doc', document, '--trust-root', root], ['verify-doc', document, '--trust-root', root, '--json']];
}

/** Makes the cache `name` in this process. */
async function makeOne(name, url, root) {
  const dir = mkdtempSync(path.join(tmpdir(), 'blindbox-code-cache-'));
  try {
    baselineWasmOnly();
    const { main, script } = loadBundle(undefined);
    const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });
    for (const argv of await runsOf(name, url, root, dir)) {
      const code = await main(argv, discard(), discard());
      if (code !== 0) throw new Error(`blindbox ${argv.join(' ')} exited ${code}`);
    }
    const file = codeCacheFile(name);
    writeFileSync(`${file}.tmp`, script.createCachedData());
    renameSync(`${file}.tmp`, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [name, url, root] = process.argv.slice(2);
if (name) {
  if (!CODE_CACHES.includes(name)) throw new Error(`no code cache is called ${name}`);
  await makeOne(name, url, root);
} else {
  const dir = mkdtempSync(path.join(tmpdir(), 'blindbox-code-cache-'));
  const rootPem = path.join(dir, 'root.pem');
  const serve = await startServe(['--simulate', '--engine', 'none', '--port', '0', '--trust-out', rootPem]);
  try {
    for (const cache of CODE_CACHES) {
      const made = spawnSync(process.execPath, [fileURLToPath(import.meta.url), cache, serve.url, rootPem], { stdio: 'inherit' });
      if (made.status !== 0) throw new Error(`the ${cache} code cache could not be made`);
    }
  } finally {
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`code caches ${CODE_CACHES.map((cache) => `${cache} ${(statSync(codeCacheFile(cache)).size / 1024).toFixed(0)} KiB`).join(', ')}`);
}
