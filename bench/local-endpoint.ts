/**
 * `node out/bench/local-endpoint.js`: what `blindbox proxy`'s local endpoint adds to a transcription. The same ≈ 5 s of
 * flite speech is transcribed alternately (so a noisy machine slows both alike) directly by the client core on an
 * attested session, and by a caller of the endpoint over loopback (multipart through undici, as `curl -F` sends it),
 * which receives the upload into a temporary file and sends it on its own attested session. The server is the
 * reference server (real uploads, real receipts) with an engine that answers at once, so that decoding time (seconds,
 * and noisy on a shared machine) does not hide what the endpoint adds; one PocketSphinx transcription of the same
 * audio is timed as the yardstick. Prints figures only.
 */
import { openAsBlob } from 'node:fs';
import { FormData, request } from 'undici';
import { connect, fileSource, type ConnectOptions } from '../src/core/index.js';
import { startLocalEndpoint } from '../src/core/local-endpoint/endpoint.js';
import { newBearerToken } from '../src/core/local-endpoint/bearer.js';
import { parseListenAddress } from '../src/core/local-endpoint/listen-address.js';
import { connectingSource } from '../src/core/local-endpoint/upstream.js';
import { DEFAULT_POLICY } from '../src/core/policy.js';
import { createPocketSphinxEngine } from '../src/server/engine/pocketsphinx/engine.js';
import type { TranscriptionEngine } from '../src/server/engine/engine.js';
import { rootsTrusting, startSimulationServer } from '../support/servers.js';
import { SCRIPT, scratchDir, speak } from '../support/speech.js';
import { ms, quantile, table } from './stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);

const SAID = SCRIPT.slt[0]!;
/** Answers every upload at once with the script's words: the server's own path minus decoding. */
const instant: TranscriptionEngine = { name: 'instant', model: 'bench', transcribe: async () => ({ text: SAID, segments: [{ start: 0, end: 5, text: SAID }], duration: 5, language: 'en' }), close: async () => {} };

const scratch = await scratchDir();
const server = await startSimulationServer({ engine: instant });
try {
  const wav = await speak(scratch.dir, 'slt', SAID, 'slt');
  const options: ConnectOptions & { policy: typeof DEFAULT_POLICY } = { roots: rootsTrusting(server), policy: DEFAULT_POLICY };
  const session = await connect(server.url, options);
  const token = newBearerToken();
  const endpoint = await startLocalEndpoint({ listen: parseListenAddress('127.0.0.1:0'), token, upstream: connectingSource(server.url, options) });
  const direct = async () => (await session.transcribe(await fileSource(wav), { format: 'json' })).text;
  const viaEndpoint = async () => {
    const form = new FormData();
    form.set('file', await openAsBlob(wav), 'speech.wav');
    const r = await request(`${endpoint.baseUrl}/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    if (r.statusCode !== 200) throw new Error(`the endpoint answered ${r.statusCode}: ${await r.body.text()}`);
    return ((await r.body.json()) as { text: string }).text;
  };
  // Warm both: attestation, the engine, the endpoint's session.
  const [a, b] = [await direct(), await viaEndpoint()];
  if (a !== b) throw new Error(`different transcripts: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  const times: { direct: number[]; endpoint: number[] } = { direct: [], endpoint: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, run] of (i % 2 === 0 ? [['direct', direct], ['endpoint', viaEndpoint]] : [['endpoint', viaEndpoint], ['direct', direct]]) as [keyof typeof times, () => Promise<string>][]) {
      const start = performance.now();
      await run();
      times[name].push(performance.now() - start);
    }
  }
  await endpoint.close();
  await session.close();
  const yardstick = await pocketSphinxOnce(wav);
  const p50 = (v: number[]) => quantile(v, 0.5);
  console.log(`local endpoint (blindbox proxy) vs a direct attested transcription, instant engine (${ROUNDS} rounds, interleaved)`);
  console.log(
    table([
      ['path', 'p50', 'p95'],
      ['direct: core session.transcribe', ms(p50(times.direct)), ms(quantile(times.direct, 0.95))],
      ['through the endpoint (undici multipart)', ms(p50(times.endpoint)), ms(quantile(times.endpoint, 0.95))],
    ]),
  );
  const added = p50(times.endpoint) - p50(times.direct);
  console.log(`added per request: ${ms(added)} ms p50, ratio ${(p50(times.endpoint) / p50(times.direct)).toFixed(2)} ×; against one PocketSphinx transcription of the same audio (${ms(yardstick)} ms) ${((100 * added) / yardstick).toFixed(1)} %`);
} finally {
  await server.close();
  await scratch.dispose();
}

/** One direct transcription of `wav` by a PocketSphinx reference server (attested session, warm engine), in ms. */
async function pocketSphinxOnce(wav: string): Promise<number> {
  const real = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1 }) });
  try {
    const session = await connect(real.url, { roots: rootsTrusting(real) });
    await session.transcribe(await fileSource(wav), { format: 'json' });
    const start = performance.now();
    await session.transcribe(await fileSource(wav), { format: 'json' });
    const elapsed = performance.now() - start;
    await session.close();
    return elapsed;
  } finally {
    await real.close();
  }
}
