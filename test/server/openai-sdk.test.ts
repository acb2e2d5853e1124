/**
 * Plain clients keep working: OpenAI's own Node SDK (`openai`) transcribes through the reference server's
 * OpenAI-compatible endpoint exactly as it would through OpenAI's, over TLS, with no sealing (the server takes sealed
 * bodies only when a request says so by its headers), and its answer carries a receipt it can ignore.
 */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { startSimulationServer, type ReferenceServer } from '../../support/servers.js';

const SAMPLE = fileURLToPath(new URL('../../../media/sample.wav', import.meta.url));

let server: ReferenceServer;
// The simulation's certificate is self-signed: a plain client that does not attest can only skip the CA check.
const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });

before(async () => {
  server = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1, maxQueue: 2 }) });
});

after(async () => {
  await dispatcher.close();
  await server?.close();
});

describe("OpenAI's Node SDK against the reference server", () => {
  it('audio.transcriptions.create gives the transcript as JSON and as text, unsealed', async () => {
    const client = new OpenAI({
      apiKey: 'not-needed',
      baseURL: `${server.url}/v1`,
      fetch: ((url: string, init: Record<string, unknown>) => undiciFetch(url, { ...init, dispatcher })) as unknown as typeof globalThis.fetch,
      maxRetries: 0,
    });
    const json = await client.audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1' });
    assert.ok(json.text.trim().split(/\s+/).length >= 3, json.text);
    const { data, response } = await client.audio.transcriptions.create({ file: createReadStream(SAMPLE), model: 'whisper-1', response_format: 'text' }).withResponse();
    assert.equal(String(data).trim(), json.text.trim());
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(response.headers.get('blindbox-response-nonce'), null, 'not sealed');
    assert.ok((response.headers.get('blindbox-receipt') ?? '').length > 1000, 'with its receipt');
  });
});
