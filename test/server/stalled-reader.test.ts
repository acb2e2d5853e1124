/**
 * A client that asks for answers and never reads them (the stalled-output rule of `http/connection-guard.ts`), met
 * over a raw TLS socket to an in-process reference server with pipelining left unbounded, so that the answers pile
 * up and only that rule can act. Its own file: it needs a server of its own, with its own limits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimulationServer, type ReferenceServer } from '../../support/servers.js';
import type { Socket } from 'node:net';
import { openTls } from '../../support/raw-client.js';
import { settle } from '../helpers/process-stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a client that stops reading', () => {
  let patient: ReferenceServer;
  before(async () => {
    patient = await startSimulationServer({ connections: { maxPipelined: 100_000, stalledWriteMs: 1_000 } });
  });
  after(() => patient?.close());

  it('is disconnected once the answers it asked for stop moving, and the server lets go of them', async () => {
    // The server's end of the connection: a client that does not read would not see the close either.
    const serverSide = new Promise<Socket>((resolve) => patient.app.server.once('secureConnection', resolve));
    const socket = await openTls(patient.url);
    socket.pause(); // never read
    socket.on('error', () => {});
    const ours = await serverSide;
    const closed = new Promise<void>((resolve) => ours.once('close', () => resolve()));
    const nonce = 'cd'.repeat(32);
    const request = `GET /attestation?nonce=${nonce} HTTP/1.1\r\nhost: e\r\n\r\n`;
    for (let i = 0; i < 30 && !ours.destroyed; i++) {
      socket.write(request.repeat(100));
      await sleep(100);
    }
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise<string>((r) => (timer = setTimeout(() => r('still open after 30 s'), 30_000)))]);
    clearTimeout(timer);
    socket.destroy();
    assert.equal(outcome, 'closed', 'the server closed the connection');
    assert.equal(await settle(async () => patient.app.activeRequests(), (n) => n === 0, 5_000), 0, 'no request is left running');
  });
});
