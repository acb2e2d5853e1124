/**
 * What a command loads before it refuses its arguments: a usage error of `serve` loads no server code, and one of
 * `verify` or `transcribe` no HTTP client (the modules a process loaded, recorded by support/module-trace.ts). How long
 * a start takes is bench/startup.ts's to measure; this checks which code a refusal pays for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BIN, CLI, runCliTracingModules } from '../../support/cli.js';

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
  ];
  for (const args of refusals) {
    it(`${args.join(' ')}: exit 2, no HTTP client loaded`, async () => {
      const r = await runCliTracingModules(args);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.modules.some((url) => url.endsWith(`/out/src/cli/${args[0]!}.js`)), `the command ran: ${r.modules.join(' ')}`);
      assert.deepEqual(httpClient(r.modules), []);
    });
  }

  it('the trace sees the HTTP client when a command does connect (a closed port: exit 3)', async () => {
    const r = await runCliTracingModules(['verify', 'https://127.0.0.1:1', '--timeout', '5']);
    assert.equal(r.code, 3, r.stderr);
    assert.notDeepEqual(httpClient(r.modules), []);
  });
});
