/**
 * A client that asks for answers and never reads them (the stalled-output rule of `http/connection-guard.ts`), met
 * over a raw TLS socket to an in-process reference server with pipelining left unbounded, so that the answers pile
 * up and only that rule can act. Its own file: it needs a server of its own, with its own limits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimulationServer, type ReferenceServer } from '../helpers/servers.js';
import { openTls } from '../helpers/raw-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a client that stops reading', () => {
  let patient: ReferenceServer;
  before(async () => {
    patient = await startSimulationServer({ connections: { maxPipelined: 100_000, stalledWriteMs: 1_000 } });
  });
  after(() => patient?.close());

  it('is disconnected once the answers it asked for stop moving, and the server lets go of them', async () => {
    const socket = await openTls(patient.url);
    socket.pause(); // never read
    socket.on('error', () => {});
    const closed = new Promise<boolean>((resolve) => socket.once('close', resolve));
    const timer = setTimeout(() => socket.destroy(new Error('still open after 20 s')), 20_000);
    const nonce = 'cd'.repeat(32);
    const request = `GET /attestation?nonce=${nonce} HTTP/1.1\r\nhost: e\r\n\r\n`;
    for (let i = 0; i < 30 && !socket.destroyed; i++) {
      socket.write(request.repeat(100));
      await sleep(100);
    }
    const hadError = await closed;
    clearTimeout(timer);
    assert.ok(!hadError || !/still open/.test(String(socket.errored)), 'closed by the server');
    assert.equal(patient.app.activeRequests(), 0, 'no request is left running');
  });
});
