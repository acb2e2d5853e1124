/**
 * A `fetch` for OpenAI's SDK that sends every request over a BlindBox attested session: on a connection whose TLS key
 * the enclave's attestation bound (the simulation's root trusted, as a user trusts it), so the SDK's traffic takes
 * the same checked path as the extension's. Bodies go as bytes; answers come back as streams (server-sent events
 * are read as they arrive).
 */
import { Readable } from 'node:stream';
import type { AttestedSession } from '../../src/core/index.js';

export function attestedFetch(session: AttestedSession): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const answer = await session.request(url.pathname + url.search, {
      method: request.method as 'GET' | 'POST',
      headers: Object.fromEntries(request.headers),
      body,
      signal: init?.signal ?? undefined,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
    }
    return new Response(Readable.toWeb(answer.body) as ReadableStream<Uint8Array>, { status: answer.statusCode, headers });
  };
}
