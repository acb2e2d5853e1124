/**
 * The enclave app's connection capacity against an attacker spread over 8 loopback addresses, each holding the host
 * proxy's per-source cap (32) of idle connections: together they reach the app's process-wide cap (256). A
 * legitimate `blindbox verify` (the real CLI, its own process) must still succeed, whether the idle connections never
 * send a byte or finish TLS and send no request. The attacker reopens every connection the server closes, as long as
 * the check runs, so short timeouts alone cannot pass this.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startServe, type ServeProcess } from '../../support/cli.js';
import { idleConnectionFill } from '../../support/hostile-load.js';
import { scratchDir } from '../../support/speech.js';

let serve: ServeProcess;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let root: string;

before(async () => {
  scratch = await scratchDir();
  root = path.join(scratch.dir, 'root.pem');
  serve = await startServe(['--simulate', '--engine', 'none', '--trust-out', root]);
});

after(async () => {
  await serve?.stop('SIGKILL');
  await scratch?.dispose();
});

/** Runs `verify` while the fill holds (and keeps refilling) every connection it can; returns the CLI's result. */
async function verifyUnderFill(kind: 'tcp' | 'tls') {
  const stop = new AbortController();
  const fill = idleConnectionFill({ url: serve.url, kind, signal: stop.signal });
  try {
    await new Promise((r) => setTimeout(r, kind === 'tcp' ? 2_000 : 6_000)); // 256 connections open
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await runCli(['verify', serve.url, '--trust-root', root, '--json'], 60_000));
    return results;
  } finally {
    stop.abort();
    await fill;
  }
}

describe('idle connections from a few addresses cannot lock legitimate clients out', () => {
  for (const kind of ['tcp', 'tls'] as const) {
    it(`8 addresses × 32 idle ${kind === 'tcp' ? 'TCP connections (no byte sent)' : 'TLS connections (no request sent)'}: verify still succeeds`, async () => {
      const results = await verifyUnderFill(kind);
      for (const [i, r] of results.entries()) assert.equal(r.code, 0, `verify ${i + 1}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      assert.equal(serve.child.exitCode, null, 'the server is alive');
    });
  }
});
