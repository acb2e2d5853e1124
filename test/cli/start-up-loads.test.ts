/**
 * What a command loads before it refuses its arguments: a usage error of `serve` loads no server code, and one of
 * `verify` or `transcribe` no HTTP client (the modules a process loaded, recorded by support/module-trace.ts). How long
 * a start takes is bench/startup.ts's to measure; this checks which code a refusal pays for, and that the bundle's
 * trimmed HTTP client still does a whole job.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CODE_CACHES } from '../../src/cli/bundle.js';
import { EXIT_INTERNAL } from '../../src/cli/exit-codes.js';
import { BIN, CLI, IGNORE_V8_FLAGS, runCli, runCliTracingModules, startServe, type ServeProcess } from '../../support/cli.js';

const SAMPLE = fileURLToPath(new URL('../../../media/sample.wav', import.meta.url));

const serverModules = (modules: readonly string[]) => modules.filter((url) => /\/out\/src\/server\//.test(url) && !url.endsWith('/engine-names.js'));
const httpClient = (modules: readonly string[]) => modules.filter((url) => /\/node_modules\/undici\/|\/out\/src\/core\/transport\/session\.js$/.test(url));

describe('a usage error loads only what judges the arguments', { concurrency: true }, () => {
  for (const [entry, label] of [[CLI, 'tsc output'], [BIN, 'the bundle']] as const) {
    for (const args of [['serve', '--port', 'x'], ['serve', '--engine', 'whisper-http'], ['serve', '--trust-out', 'root.pem']]) {
      it(`serve ${args.slice(1).join(' ')} (${label}): exit 2, no server module loaded`, async () => {
        const r = await runCliTracingModules(args, entry);
        assert.equal(r.code, 2, r.stderr);
        assert.ok(r.modules.some((url) => url.endsWith('/out/src/cli/serve.js')), `the command ran: ${r.modules.join(' ')}`);
        assert.deepEqual(serverModules(r.modules), []);
      });
    }
  }

  const refusals = [
    ['verify', 'https://127.0.0.1:1', '--max-age', 'x'],
    ['verify', 'https://127.0.0.1:1', '--proxy', 'nonsense'],
    ['transcribe', 'https://127.0.0.1:1', '/nonexistent/a.wav'],
    ['transcribe', 'https://127.0.0.1:1', 'a.wav', '--concurrency', '0'],
    ['proxy', 'https://127.0.0.1:1', '--listen', '0.0.0.0:1'],
  ];
  for (const args of refusals) {
    it(`${args.join(' ')}: exit 2, no HTTP client loaded`, async () => {
      const r = await runCliTracingModules(args);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.modules.some((url) => url.endsWith(`/out/src/cli/${args[0]!}.js`)), `the command ran: ${r.modules.join(' ')}`);
      assert.deepEqual(httpClient(r.modules), []);
    });
  }

  it('a client command through the package bin starts no ES module of the package (CommonJS from the bin file on)', async () => {
    const r = await runCliTracingModules(['verify', 'https://127.0.0.1:1', '--max-age', 'x'], BIN);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.modules.some((url) => url.endsWith('/bin/blindbox.cjs')), `the trace saw the bin: ${r.modules.join(' ')}`);
    assert.deepEqual(r.modules.filter((url) => /\/out\/src\//.test(url)), []);
  });

  it('the package bin without a build says so in one line and exits EXIT_INTERNAL', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-unbuilt-'));
    try {
      await mkdir(path.join(dir, 'bin'));
      await copyFile(BIN, path.join(dir, 'bin/blindbox.cjs'));
      const r = spawnSync(process.execPath, [path.join(dir, 'bin/blindbox.cjs'), 'verify-doc', 'doc.cbor'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, EXIT_INTERNAL, r.stderr);
      assert.equal(r.stderr, 'blindbox: the blindbox CLI is not built (out/bundle/cli/launch.cjs is missing): run npm run build\n');
      assert.equal(r.stdout, '');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the trace sees the HTTP client when a command does connect (a closed port: exit 3)', async () => {
    const r = await runCliTracingModules(['verify', 'https://127.0.0.1:1', '--timeout', '5']);
    assert.equal(r.code, 3, r.stderr);
    assert.notDeepEqual(httpClient(r.modules), []);
  });
});

describe('V8 flags a command sets before it loads', { concurrency: true }, () => {
  // Calls v8.setFlagsFromString as before, and also tells stderr which flags it was given.
  const recordFlags = `data:text/javascript,${encodeURIComponent(
    "import v8 from 'node:v8'; import { syncBuiltinESMExports } from 'node:module'; const set = v8.setFlagsFromString; v8.setFlagsFromString = (f) => { process.stderr.write('[v8 flag] ' + f + '\\n'); set(f); }; syncBuiltinESMExports();",
  )}`;
  const flags = (stderr: string) => [...stderr.matchAll(/^\[v8 flag\] (.*)$/gm)].map((m) => m[1]);
  for (const [entry, label] of [[CLI, 'tsc output'], [BIN, 'the bundle']] as const) {
    it(`a client command compiles WebAssembly with the baseline compiler only (${label})`, async () => {
      const r = await runCli(['verify', 'https://127.0.0.1:1', '--max-age', 'x'], 60_000, undefined, ['--import', recordFlags], entry);
      assert.equal(r.code, 2, r.stderr);
      assert.deepEqual(flags(r.stderr), ['--liftoff-only']);
    });
    it(`serve keeps V8's optimising WebAssembly compiler for its audio decoders (${label})`, async () => {
      const r = await runCli(['serve', '--port', 'x'], 60_000, undefined, ['--import', recordFlags], entry);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes('--port'), r.stderr);
      assert.deepEqual(flags(r.stderr), []);
    });
  }
});

describe('the bundle\'s code cache (src/cli/bundle.ts)', { concurrency: true }, () => {
  /** Whether V8 took each code cache when a process (one per cache: V8 keeps what it compiled) compiled the bundle after `flags`. */
  const taken = (flags: string) => {
    const bundle = JSON.stringify(fileURLToPath(new URL('../../src/cli/bundle.js', import.meta.url)));
    return CODE_CACHES.map((cache) => {
      const script = `import v8 from 'node:v8'; import { loadBundle } from ${bundle}; ${flags} process.stdout.write(String(loadBundle(${JSON.stringify(cache)}).cached));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return [cache, r.stdout === 'true'];
    });
  };
  it('each is taken when the bundle is compiled as launch.ts compiles it (the client\'s V8 flag set first)', () => {
    assert.deepEqual(taken("v8.setFlagsFromString('--liftoff-only');"), CODE_CACHES.map((c) => [c, true]));
  });
  it('each is refused by V8 under other flags, and the bundle then compiles afresh and runs as well', async () => {
    assert.deepEqual(taken(''), CODE_CACHES.map((c) => [c, false]));
    const version = await runCli(['--version'], 60_000, undefined, ['--import', IGNORE_V8_FLAGS], BIN);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^blindbox \d+\.\d+\.\d+\n$/);
  });
});

describe('the bundle, whose HTTP client is undici\'s Client alone (scripts/undici-client.cjs), against a live server', () => {
  let serve: ServeProcess;
  let dir: string;
  let rootPem: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'blindbox-bundle-'));
    rootPem = path.join(dir, 'root.pem');
    serve = await startServe(['--simulate', '--workers', '1', '--trust-out', rootPem]);
  });
  after(async () => {
    await serve?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies the server, transcribes through it and keeps a receipt that verifies offline, as tsc\'s output does', async () => {
    const verified = await runCli(['verify', serve.url, '--trust-root', rootPem, '--json'], 60_000, undefined, [], BIN);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal((JSON.parse(verified.stdout) as { simulation: boolean }).simulation, true);
    const receipt = path.join(dir, 'sample.receipt.json');
    const [viaBin, viaMain] = await Promise.all([
      runCli(['transcribe', serve.url, SAMPLE, '--trust-root', rootPem, '--receipt', receipt], 120_000, undefined, [], BIN),
      runCli(['transcribe', serve.url, SAMPLE, '--trust-root', rootPem, '--receipt', path.join(dir, 'main.receipt.json')], 120_000),
    ]);
    assert.equal(viaBin.code, 0, viaBin.stderr);
    assert.match(viaBin.stdout, /\w/);
    assert.equal(viaBin.stdout, viaMain.stdout);
    const transcript = path.join(dir, 'sample.txt');
    await writeFile(transcript, viaBin.stdout);
    const checked = await runCli(['verify-receipt', receipt, '--audio', SAMPLE, '--transcript', transcript, '--trust-root', rootPem], 60_000, undefined, [], BIN);
    assert.equal(checked.code, 0, checked.stderr);
  });
});
