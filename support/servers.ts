/** Servers for transport tests: the real reference server, and liars and men in the middle built from its parts. */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Agent, request } from 'undici';
import { after, before } from 'node:test';
import { AWS_NITRO_ROOT_G1, connect, fileSource, trustedRootsFromPem, type AttestedSession, type TrustedRoot } from '../src/core/index.js';
import { createTlsIdentity, type TlsIdentity } from '../src/server/tls-identity.js';
import { startSimulationServer, type ReferenceServer } from '../src/server/server.js';
import { encodeServiceInfo } from '../src/server/attestation/service-info.js';
import { receiptIssuer, type ReceiptIssuer } from '../src/server/http/receipt.js';
import { RECEIPT_NONCE_HEADER } from '../src/protocol/receipt.js';
import { createHash } from 'node:crypto';

export { startSimulationServer, type ReferenceServer };

/** The AWS root plus `server`'s simulation root: what a user who trusts the simulation passes. */
export function rootsTrusting(server: ReferenceServer): TrustedRoot[] {
  return [AWS_NITRO_ROOT_G1, ...trustedRootsFromPem(server.provider.rootPem, 'simulation root')];
}

/** A recording of what a proxy or server saw. */
export interface Seen {
  readonly paths: string[];
  bodyBytes: number;
}

export interface RunningServer {
  readonly url: string;
  readonly seen: Seen;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server, extra: () => Promise<void> = async () => {}): () => Promise<void> {
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await extra();
  };
}

/**
 * A TLS-terminating man in the middle: its own certificate towards the client,
 * and every request forwarded to `upstream` (which it does not verify). It
 * records each path and how many body bytes it received.
 */
export async function startMitmProxy(upstream: string, identity?: TlsIdentity): Promise<RunningServer> {
  const id = identity ?? (await createTlsIdentity());
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  const seen: Seen = { paths: [], bodyBytes: 0 };
  const server = createHttpsServer({ key: id.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: id.certificatePem }, async (req, res) => {
    seen.paths.push(req.url ?? '');
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      seen.bodyBytes += (chunk as Buffer).length;
      chunks.push(chunk as Buffer);
    }
    try {
      const answer = await request(upstream + req.url, {
        method: req.method as 'GET',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
        body: chunks.length ? Buffer.concat(chunks) : undefined,
        dispatcher,
      });
      const body = Buffer.from(await answer.body.arrayBuffer());
      res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? '') });
      res.end(body);
    } catch {
      res.writeHead(502).end();
    }
  });
  return { url: await listen(server), seen, close: closer(server, () => dispatcher.close()) };
}

/** A TLS server on loopback answering with `handler`; its key is `identity` (default: a fresh one). `openSockets()` counts live connections. */
export async function startTlsServer(handler: RequestListener, identity?: TlsIdentity): Promise<{ url: string; openSockets(): number; close(): Promise<void> }> {
  const id = identity ?? (await createTlsIdentity());
  const server = createHttpsServer({ key: id.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: id.certificatePem }, handler);
  let open = 0;
  server.on('secureConnection', (socket) => {
    open++;
    socket.on('close', () => open--);
  });
  return { url: await listen(server), openSockets: () => open, close: closer(server) };
}

/**
 * A server that answers /attestation with `answer(nonceHex)` and records what it sees; its TLS key is `identity`. Any
 * other path gets 200 "ok", or with `otherRequests: 'reset'` the connection reset without a byte of answer (a send
 * that fails after a good attestation).
 */
export async function startLyingServer(identity: TlsIdentity, answer: (nonceHex: string) => Promise<Uint8Array>, { otherRequests = 'ok' }: { otherRequests?: 'ok' | 'reset' } = {}): Promise<RunningServer> {
  const seen: Seen = { paths: [], bodyBytes: 0 };
  const { url, close } = await startTlsServer(async (req, res) => {
    seen.paths.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'https://x.invalid');
    if (url.pathname !== '/attestation' && otherRequests === 'reset') return void req.socket.destroy();
    for await (const chunk of req) seen.bodyBytes += (chunk as Buffer).length;
    if (url.pathname === '/attestation') {
      const doc = await answer(url.searchParams.get('nonce') ?? '');
      res.writeHead(200, { 'content-type': 'application/cbor' }).end(doc);
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    }
  }, identity);
  return { url, seen, close };
}

/** A TLS server on loopback that writes `reply` as the raw answer to whatever it is sent, then closes: HTTP no parser should take. */
export async function startRawTlsServer(reply: string): Promise<{ url: string; close(): Promise<void> }> {
  const id = await createTlsIdentity();
  const server = createTlsServer({ key: id.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: id.certificatePem }, (socket) => {
    socket.once('data', () => socket.end(reply));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A server that passes attestation and then lies: `posts()` counts the requests other than /attestation it received. */
export interface AttestedLiar extends Awaited<ReturnType<typeof startTlsServer>> {
  posts(): number;
}

/**
 * A server that attests honestly (a simulation document from `provider`, of the reference server whose root the client
 * trusts, bound to this server's own TLS key) and answers every other request with `handler`, which gets an `issuer`
 * signing real receipts on that key: whatever the client is then told, it is told by an attested enclave.
 */
export async function startAttestedLiar(provider: ReferenceServer['provider'], handler: (req: IncomingMessage, res: ServerResponse, issuer: ReceiptIssuer) => unknown): Promise<AttestedLiar> {
  const identity = await createTlsIdentity();
  const userData = encodeServiceInfo({ service: 'blindbox', version: '0', engine: 'liar', model: 'liar', simulation: true });
  const issuer = receiptIssuer(provider, { engine: 'liar', model: 'liar' });
  let posts = 0;
  const server = await startTlsServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x.invalid');
    if (url.pathname !== '/attestation') {
      posts++;
      await handler(req, res, issuer);
      return;
    }
    const doc = await provider.attest({ nonce: Buffer.from(url.searchParams.get('nonce') ?? '', 'hex'), publicKey: identity.spki, userData });
    res.writeHead(200, { 'content-type': 'application/cbor' }).end(doc);
  }, identity);
  return { ...server, posts: () => posts };
}

/** What a hostile streaming server does after reading the upload: writes events to `res`, with a real receipt signer for any text. */
export type StreamScenario = (res: ServerResponse, receipt: (text: string) => Promise<string>) => Promise<void> | void;

/** Writes one server-sent event (protocol/stream.ts), and one delta event. */
export const streamEvent = (res: ServerResponse, e: object): boolean => res.write(`data: ${JSON.stringify(e)}\n\n`);
export const streamDelta = (res: ServerResponse, text: string, start: number, end: number): boolean => streamEvent(res, { type: 'transcript.text.delta', delta: text, start, end });

/**
 * An attested server (`startAttestedLiar`) that answers every transcription of `audio` with `text/event-stream` and
 * then whatever `scenario()` (read per request) writes, receipts signed for `audio` and the request's nonce.
 */
export function startHostileStreamer(provider: ReferenceServer['provider'], audio: Buffer, scenario: () => StreamScenario): Promise<AttestedLiar> {
  const audioSha256 = createHash('sha256').update(audio).digest();
  return startAttestedLiar(provider, async (req, res, issuer) => {
    for await (const _ of req);
    const nonce = Buffer.from(String(req.headers[RECEIPT_NONCE_HEADER]), 'hex');
    const receipt = (text: string) => issuer.issue(req.socket, { audioSha256, audioBytes: audio.length, body: Buffer.from(text, 'utf8'), format: 'text', endpoint: '/v1/audio/transcriptions', requestTime: Date.now(), nonce });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    await scenario()(res, receipt);
    if (!res.destroyed) res.end();
  });
}

/** A server that answers /attestation at once with headers promising a CBOR document, then sends it one byte every `intervalMs`, forever. */
export function startDribblingServer(intervalMs = 1000): ReturnType<typeof startTlsServer> {
  return startTlsServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/cbor', 'content-length': '65536' });
    res.flushHeaders();
    const timer = setInterval(() => res.write(Buffer.from([0x84])), intervalMs);
    res.on('close', () => clearInterval(timer));
  });
}

/** A server that refuses /attestation with `status` and a JSON error body of its choosing (nothing about it is attested). */
export function startRefusingServer(status: number, body: unknown): ReturnType<typeof startTlsServer> {
  return startTlsServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
}

/** How a hostile server misbehaves on `/attestation`. */
export type Stall =
  /** Accepts TCP connections and never answers the TLS ClientHello. */
  | 'handshake'
  /** Completes TLS, reads the request and never sends response headers. */
  | 'headers'
  /** Sends the headers (with the true content-length) at once, then the document one byte per second. */
  | 'dribble';

export interface StallingServer extends RunningServer {
  /** TCP connections still open on the server's side. */
  openConnections(): number;
}

/**
 * A server that stalls the attestation as `stall` says, after answering the first `honest` attestations whole
 * (to stall a re-attestation). Documents come from `answer(nonceHex)`; any other path gets 200 "ok".
 */
export async function startStallingServer(
  stall: Stall,
  identity: TlsIdentity,
  answer: (nonceHex: string) => Promise<Uint8Array>,
  honest = 0,
): Promise<StallingServer> {
  const seen: Seen = { paths: [], bodyBytes: 0 };
  const timers = new Set<NodeJS.Timeout>();
  let attestations = 0;
  const server =
    stall === 'handshake'
      ? // Reads (and drops) the ClientHello, so that it sees the client hang up.
        createTcpServer((socket) => socket.resume())
      : createHttpsServer({ key: identity.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: identity.certificatePem }, async (req, res) => {
          seen.paths.push(req.url ?? '');
          const url = new URL(req.url ?? '/', 'https://x.invalid');
          if (url.pathname !== '/attestation') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
          const whole = attestations++ < honest;
          if (!whole && stall === 'headers') return;
          const doc = Buffer.from(await answer(url.searchParams.get('nonce') ?? ''));
          res.writeHead(200, { 'content-type': 'application/cbor', 'content-length': doc.length });
          if (whole) return void res.end(doc);
          res.flushHeaders();
          let sent = 0;
          const timer = setInterval(() => {
            res.write(doc.subarray(sent, ++sent));
            if (sent === doc.length) res.end();
          }, 1000);
          timers.add(timer);
          res.on('close', () => (clearInterval(timer), timers.delete(timer)));
        });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    openConnections: () => sockets.size,
    async close() {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A simulation server and a session attested to it, for the suite that calls this (node:test `before`/`after`
 * hooks of the enclosing describe). Read `live.server` and `live.session` inside tests.
 */
export function liveSimulationSession(): { server: ReferenceServer; session: AttestedSession } {
  const live = {} as { server: ReferenceServer; session: AttestedSession };
  before(async () => {
    live.server = await startSimulationServer();
    live.session = await connect(live.server.url, { roots: rootsTrusting(live.server) });
  });
  after(async () => {
    await live.session?.close();
    await live.server?.close();
  });
  return live;
}

/** One transcription of `file` as text, on a fresh attested session to `url` trusting `roots`. */
export async function transcribeText(url: string, roots: readonly TrustedRoot[], file: string): Promise<string> {
  const session = await connect(url, { roots: [...roots] });
  try {
    return (await session.transcribe(await fileSource(file), { format: 'text' })).text;
  } finally {
    await session.close();
  }
}
