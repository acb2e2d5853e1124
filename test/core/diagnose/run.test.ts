/**
 * The core's diagnosis in process, against servers that stall at each stage: every step ends within its time limit
 * with a TIMEOUT that says which stage, and leaves no connection open behind it.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { runDiagnostics } from '../../../src/core/diagnose/run.js';
import type { DiagnosticReport } from '../../../src/core/diagnose/report.js';
import { createTlsIdentity, type TlsIdentity } from '../../../src/server/tls-identity.js';
import { startStallingServer, type Stall, type StallingServer } from '../../../support/servers.js';

const STEP_MS = 500;
let identity: TlsIdentity;
const started: StallingServer[] = [];

before(async () => {
  identity = await createTlsIdentity();
});

after(async () => {
  await Promise.all(started.map((s) => s.close()));
});

async function stalling(stall: Stall): Promise<StallingServer> {
  const server = await startStallingServer(stall, identity, () => new Promise(() => undefined));
  started.push(server);
  return server;
}

/** Waits (at most `withinMs`) until the server has no connection open: the diagnosis let go of everything. */
async function drained(server: StallingServer, withinMs = 5_000): Promise<void> {
  const until = Date.now() + withinMs;
  while (server.openConnections() > 0 && Date.now() < until) await delay(20);
  assert.equal(server.openConnections(), 0, `a connection was still open ${withinMs} ms after the report`);
}

const failedStep = (report: DiagnosticReport) => report.steps.find((s) => s.status === 'failed');

describe('runDiagnostics: every step is bounded and leaves nothing open', () => {
  it('a proxy that never answers CONNECT: the connect step times out, naming the tunnel', async () => {
    const server = await stalling('handshake');
    const proxy = `http://127.0.0.1:${new URL(server.url).port}`;
    const report = await runDiagnostics('https://enclave.test', { proxy: { proxy }, timeoutMs: 2_000 });
    assert.equal(failedStep(report)?.id, 'connect');
    assert.deepEqual(failedStep(report)?.error, { code: 'TIMEOUT', message: `The tunnel to enclave.test:443 through proxy ${proxy} did not complete within 2 s.` });
    await drained(server, 1_000);
  });

  it('a server that never answers the ClientHello: the TLS step times out', async () => {
    const server = await stalling('handshake');
    const report = await runDiagnostics(server.url, { timeoutMs: STEP_MS });
    assert.deepEqual(failedStep(report)?.error, { code: 'TIMEOUT', message: `The TLS handshake with ${new URL(server.url).host} did not complete within 0.5 s.` });
    assert.deepEqual(report.steps.slice(5).map((s) => s.status), ['skipped', 'skipped']);
    await drained(server);
  });

  it('a server that never answers the attestation request: the attestation step times out', async () => {
    const server = await stalling('headers');
    const report = await runDiagnostics(server.url, { timeoutMs: STEP_MS });
    assert.equal(failedStep(report)?.id, 'attestation');
    assert.equal(failedStep(report)?.error?.code, 'TIMEOUT');
    assert.equal(report.steps.find((s) => s.id === 'tls')?.status, 'ok');
    assert.equal(server.seen.paths.length, 1);
    assert.match(server.seen.paths[0]!, /^\/attestation\?nonce=[0-9a-f]{64}$/);
    await drained(server);
  });

  it('cancelled while the proxy has not answered CONNECT: the connection to the proxy closes at once', async () => {
    const server = await stalling('handshake');
    const controller = new AbortController();
    const cancel = setTimeout(() => controller.abort(), 300);
    const report = await runDiagnostics('https://enclave.test', { proxy: { proxy: `http://127.0.0.1:${new URL(server.url).port}` }, timeoutMs: 30_000, signal: controller.signal });
    clearTimeout(cancel);
    assert.equal(failedStep(report)?.id, 'connect');
    assert.equal(failedStep(report)?.error?.code, 'CANCELLED');
    await drained(server, 2_000);
  });

  it('a cancelled diagnosis stops at the step it was in', async () => {
    const server = await stalling('handshake');
    const controller = new AbortController();
    const report = await runDiagnostics(server.url, { timeoutMs: 30_000, signal: controller.signal, onStep: (step) => step.id === 'connect' && controller.abort() });
    assert.deepEqual(failedStep(report)?.error, { code: 'CANCELLED', message: 'The request was cancelled.' });
    assert.equal(failedStep(report)?.id, 'tls');
    await drained(server);
  });
});
