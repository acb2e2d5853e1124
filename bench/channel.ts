/**
 * Benchmark of the attested channel against plain HTTPS to the same simulation
 * server in the same run: connect + attest latency, and requests per second
 * over one kept-alive connection. Prints figures; asserts nothing.
 */
import { Client } from 'undici';
import { connect } from '../src/core/index.js';
import { startSimulationServer } from '../src/server/server.js';
import { rootsTrusting } from '../support/servers.js';
import { median, ms, table } from './stats.js';

const CONNECTS = 40;
const REQUESTS = 2000;

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function main(): Promise<void> {
  const server = await startSimulationServer();
  const roots = rootsTrusting(server);
  const plainClient = () => new Client(server.url, { connect: { rejectUnauthorized: false, maxCachedSessions: 0 } });

  // Warm both paths (module JIT, certificate caches), then alternate so machine noise hits both alike.
  for (let i = 0; i < 5; i++) {
    await (await connect(server.url, { roots })).close();
    const c = plainClient();
    await (await c.request({ path: '/healthz', method: 'GET' })).body.dump();
    await c.close();
  }
  const attestMs: number[] = [];
  const plainMs: number[] = [];
  for (let i = 0; i < CONNECTS; i++) {
    attestMs.push(await timeAsync(async () => (await connect(server.url, { roots })).close()));
    plainMs.push(
      await timeAsync(async () => {
        const c = plainClient();
        await (await c.request({ path: '/healthz', method: 'GET' })).body.dump();
        await c.close();
      }),
    );
  }

  const session = await connect(server.url, { roots });
  const plain = plainClient();
  const pinnedRequest = async () => (await session.request('/healthz')).body.dump();
  const plainRequest = async () => (await plain.request({ path: '/healthz', method: 'GET' })).body.dump();
  // Alternate single requests so that load from anything else on the machine falls on both alike.
  const pinnedMs: number[] = [];
  const plainReqMs: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    pinnedMs.push(await timeAsync(pinnedRequest));
    plainReqMs.push(await timeAsync(plainRequest));
  }
  const pinnedRate = 1000 / median(pinnedMs);
  const plainRate = 1000 / median(plainReqMs);
  await session.close();
  await plain.close();
  await server.close();

  const connectRatio = median(attestMs) / median(plainMs);
  const rateRatio = pinnedRate / plainRate;
  console.log('\nAttested channel vs plain HTTPS (same simulation server, same run, loopback through the host proxy)\n');
  console.log(
    table([
      ['measure', 'attested', 'plain HTTPS', 'ratio', 'goal'],
      [`connect (median of ${CONNECTS})`, `${ms(median(attestMs))} ms`, `${ms(median(plainMs))} ms`, `${connectRatio.toFixed(2)}×`, 'attest+connect < 2× TLS connect + 1 request'],
      [`request latency (median of ${REQUESTS})`, `${ms(median(pinnedMs))} ms`, `${ms(median(plainReqMs))} ms`, `${(median(pinnedMs) / median(plainReqMs)).toFixed(3)}×`, ''],
      ['requests/s (1 / median latency)', pinnedRate.toFixed(0), plainRate.toFixed(0), `${rateRatio.toFixed(3)}×`, 'pinned within 5 % of plain'],
    ]),
  );
  console.log(`\nverdict: connect ${connectRatio < 2 ? 'meets' : 'misses'} its goal; per-request overhead ${((1 - rateRatio) * 100).toFixed(1)} % (${rateRatio >= 0.95 ? 'meets' : 'misses'} the 5 % goal)`);
}

await main();
