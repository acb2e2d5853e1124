/**
 * The app that runs inside the enclave. TLS terminates here, so the host and
 * its proxy only ever see ciphertext. It serves the BlindBox protocol:
 *   GET  /attestation?nonce=<hex>   a fresh Nitro document binding this TLS key
 *   GET  /healthz
 *   POST /whisper/predict            BlindBox's API (multipart field `audio`)
 *   POST /v1/audio/transcriptions    OpenAI-compatible
 *
 * Nothing a client sends may stop the process or hold its resources for good:
 * every request runs inside one promise whose failure becomes a JSON error,
 * protocol errors Node's parser finds are answered as JSON too, connections are
 * capped and timed (idle ones give way to new ones at the cap), and `close` ends within a bounded time.
 */
import { decodedOrRaw, oneLine } from '../shared/text.js';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { ENDPOINTS } from '../protocol/endpoints.js';
import { NONCE_HEX } from '../protocol/limits.js';
import type { ServiceInfo } from '../protocol/service-info.js';
import { SEALED_HEADERS } from '../protocol/sealed-body.js';
import { encodeServiceInfo } from './attestation/service-info.js';
import type { AttestationProvider } from './attestation/provider.js';
import { clientErrorAnswer, rawErrorAnswer } from './http/client-error.js';
import { ConnectionGuard, tcpSocketOf } from './http/connection-guard.js';
import { TokenBuckets, type Rate } from './http/rate-limit.js';
import { readProxyLine } from './proxy-protocol.js';
import { HttpError, sendError, sendJson } from './http/respond.js';
import { parseRequestTarget } from './http/request-target.js';
import type { TlsIdentity } from './tls-identity.js';

/**
 * A route handler; it throws `HttpError` for anything the client did wrong. `signal` aborts when the server shuts
 * down and can no longer wait for the request (its reason is an `HttpError` 503). `source` is the client's address as
 * the host proxy stated it (undefined for a connection made straight to the app), what per-source limits are keyed by.
 */
export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, signal: AbortSignal, source: string | undefined) => Promise<void>;

/** Connection and timing limits of the app's HTTPS server. */
export interface ConnectionLimits {
  /**
   * Connections open at once. One more closes the connection idle the longest (handshaking, or with no request
   * running) to make room; it is dropped only when every connection has a request running.
   */
  readonly maxConnections: number;
  /** A TLS handshake must finish this soon after the connection opens. */
  readonly handshakeTimeoutMs: number;
  /** A TLS connection must send the first byte of its first request this soon after its handshake. */
  readonly firstRequestTimeoutMs: number;
  /** A request's headers must arrive this soon (slow-header clients are answered 408 and dropped). */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  readonly keepAliveTimeoutMs: number;
  /** How long `close` lets running requests finish before aborting them. */
  readonly shutdownGraceMs: number;
  /** Requests one connection may have waiting or running (pipelining, run one at a time in order); one more is refused. */
  readonly maxPipelined: number;
  /** A connection whose unsent answer makes no progress for this long (the client stopped reading) is closed. */
  readonly stalledWriteMs: number;
  /**
   * Attestation documents one source address may have signed (each one a call to the NSM); more are refused with
   * `429 ATTESTATION_RATE_LIMITED` and the `Retry-After` that one more needs.
   */
  readonly attestationsPerSource: Rate;
  /**
   * Attestation documents being signed at once, from all sources (each waits its turn at the NSM, ahead of the
   * transcript receipts queued after it); more are refused with `503 ATTESTATION_BUSY` and `Retry-After: 1`.
   */
  readonly maxAttestationsSigning: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 256,
  handshakeTimeoutMs: 5_000,
  firstRequestTimeoutMs: 5_000,
  headersTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  shutdownGraceMs: 5_000,
  maxPipelined: 16,
  stalledWriteMs: 30_000,
  attestationsPerSource: { perSecond: 5, burst: 20 },
  maxAttestationsSigning: 8,
};

export interface EnclaveAppOptions {
  readonly provider: AttestationProvider;
  readonly identity: TlsIdentity;
  readonly service: ServiceInfo;
  /** Transcription endpoints; absent until an engine is configured (503). */
  readonly transcription?: { readonly whisperPredict: Handler; readonly openAiTranscriptions: Handler; readonly openAiTranslations: Handler };
  readonly limits?: Partial<ConnectionLimits>;
  /** Called after every request with its outcome, for logs. */
  readonly log?: (line: string) => void;
}

/** Where the app listens: a Unix socket (simulation) or a TCP address. */
export type ListenTarget = { readonly path: string } | { readonly host: string; readonly port: number };

export interface EnclaveApp {
  readonly server: Server;
  /** The bound target (with the real port when 0 was asked for). */
  readonly target: ListenTarget;
  /** Requests being handled now. */
  activeRequests(): number;
  /**
   * Stops accepting, lets running requests finish for the shutdown grace period, then aborts the rest (they answer
   * 503), and closes every connection. Resolves within the grace period plus a few seconds.
   */
  close(): Promise<void>;
}

/** After an error answer, the rest of an unfinished request body is drained for this long, then the connection dropped. */
const DRAIN_MS = 5_000;
/** After aborting what still ran at shutdown, how long the handlers get to answer before connections are cut. */
const ABORT_ANSWER_MS = 2_000;
/** How long the connections get, at the end of a shutdown, to deliver what was written to them before they are cut. */
const FLUSH_ANSWERS_MS = 1_000;

/**
 * `GET /v1/models` as OpenAI answers it (`{object:"list", data:[{id, object:"model", created, owned_by}]}`): the model
 * the service description attests, named as it names it, with its engine beside it.
 */
export function modelList(service: ServiceInfo, created: number): object {
  return { object: 'list', data: [attestedModel(service, created)] };
}

/** The attested model as OpenAI's model object (`models.retrieve` and each entry of the list). */
function attestedModel(service: ServiceInfo, created: number): object {
  return { id: service.model, object: 'model', created, owned_by: 'blindbox', engine: service.engine };
}

export async function startEnclaveApp(options: EnclaveAppOptions, listen: ListenTarget): Promise<EnclaveApp> {
  const startedAt = Math.floor(Date.now() / 1000);
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const userData = encodeServiceInfo(options.service);
  // A routing hint, never trusted by a client (it takes the key from the document): an L7 balancer can stick sealed
  // requests, which carry the same header, to the replica whose key they are sealed to.
  const hpkeKeyHeader = options.service.hpkePublicKey ? { [SEALED_HEADERS.hpkeKey]: Buffer.from(options.service.hpkePublicKey).toString('hex') } : {};
  const notConfigured: Handler = async () => {
    throw HttpError.of('ENGINE_NOT_CONFIGURED');
  };
  /** Each connection's source address, as the host proxy stated it (absent for a connection made straight to the app). */
  const sources = new WeakMap<Socket, string>();
  const attestations = new TokenBuckets(limits.attestationsPerSource);
  let signing = 0;
  const routes: Record<string, Partial<Record<string, Handler>>> = {
    [ENDPOINTS.attestation]: {
      GET: async (_req, res, url, _signal, source) => {
        const nonce = url.searchParams.get('nonce');
        if (nonce === null || !NONCE_HEX.test(nonce)) throw HttpError.of('INVALID_NONCE');
        const waitSeconds = attestations.take(source ?? 'direct');
        if (waitSeconds > 0) {
          throw HttpError.of('ATTESTATION_RATE_LIMITED', undefined, { retryAfterSeconds: Math.ceil(waitSeconds) });
        }
        if (signing >= limits.maxAttestationsSigning) {
          throw HttpError.of('ATTESTATION_BUSY', undefined, { retryAfterSeconds: 1 });
        }
        signing++;
        let document: Uint8Array;
        try {
          document = await options.provider.attest({ nonce: Buffer.from(nonce, 'hex'), publicKey: options.identity.spki, userData });
        } finally {
          signing--;
        }
        res.writeHead(200, { 'content-type': 'application/cbor', 'content-length': document.length, 'cache-control': 'no-store', ...hpkeKeyHeader });
        res.end(document);
      },
    },
    [ENDPOINTS.health]: { GET: async (_req, res) => sendJson(res, 200, { status: 'ok', attestation: options.provider.kind }) },
    [ENDPOINTS.whisperPredict]: { POST: options.transcription?.whisperPredict ?? notConfigured },
    [ENDPOINTS.transcriptions]: { POST: options.transcription?.openAiTranscriptions ?? notConfigured },
    [ENDPOINTS.translations]: { POST: options.transcription?.openAiTranslations ?? notConfigured },
    // OpenAI's list, of the one model this server attests (an OpenAI client asks before it names one).
    [ENDPOINTS.models]: { GET: async (_req, res) => sendJson(res, 200, modelList(options.service, startedAt)) },
  };

  /** `GET /v1/models/{id}` (OpenAI's `models.retrieve`): the attested model by its id, 404 for any other. */
  const modelRoute: Partial<Record<string, Handler>> = {
    GET: async (_req, res, url) => {
      const id = decodedOrRaw(url.pathname.slice(ENDPOINTS.models.length + 1));
      if (id !== options.service.model) throw HttpError.of('NOT_FOUND', `This server attests one model, ${JSON.stringify(options.service.model)}; not ${JSON.stringify(oneLine(id, 80))}.`);
      sendJson(res, 200, attestedModel(options.service, startedAt));
    },
  };

  /** Requests running now, each with the controller that aborts it at shutdown. */
  const active = new Map<IncomingMessage, AbortController>();
  const settledWaiters = new Set<() => void>();

  /** What the log calls a request: its path once parsed (no query: nonces are not log material), else the raw target. */
  const logNames = new WeakMap<IncomingMessage, string>();
  const logName = (req: IncomingMessage) => logNames.get(req) ?? JSON.stringify(req.url);

  async function handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const url = parseRequestTarget(req.url ?? '');
    logNames.set(req, url.pathname);
    // Node's own check would answer without the protocol's JSON body.
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
      throw HttpError.of('MISSING_HOST');
    }
    const byMethod = routes[url.pathname] ?? (url.pathname.startsWith(`${ENDPOINTS.models}/`) ? modelRoute : undefined);
    const handler = byMethod?.[req.method ?? ''];
    if (!handler) {
      throw byMethod
        ? HttpError.of('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}.`, { headers: { allow: Object.keys(byMethod).join(', ') } })
        : HttpError.of('NOT_FOUND', `There is no ${url.pathname} on this server.`);
    }
    await handler(req, res, url, signal, sources.get(tcpSocketOf(req.socket)));
  }

  /**
   * A body the handler did not read (an error answered early, or a GET with a body) is discarded for at most
   * `DRAIN_MS`, so that the client can read the answer instead of meeting a reset connection, and no client can keep
   * a connection by trickling a body nobody wants.
   */
  function drainBriefly(req: IncomingMessage): void {
    if (req.complete || req.destroyed) return;
    req.resume();
    const limit = setTimeout(() => req.destroy(), DRAIN_MS);
    limit.unref();
    req.once('close', () => clearTimeout(limit));
  }

  /** Answers a failed request; never throws (nothing from a request may reach the process). */
  function answerFailure(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const httpError = err instanceof HttpError ? err : HttpError.of('INTERNAL');
    if (!(err instanceof HttpError)) options.log?.(`internal error on ${req.method} ${logName(req)}: ${(err as Error)?.stack ?? String(err)}`);
    try {
      sendError(res, httpError);
    } catch (sendFailure) {
      options.log?.(`could not answer ${req.method} ${logName(req)}: ${String(sendFailure)}`);
      res.destroy();
    }
  }

  const server = createServer(
    {
      key: options.identity.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      cert: options.identity.certificatePem,
      minVersion: 'TLSv1.2',
      handshakeTimeout: limits.handshakeTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      // The body's pace is the transcription handler's business (idle timeout, whole-request deadline).
      requestTimeout: 0,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often Node checks headersTimeout; its default (30 s) would let a slow-header client stay twice as long.
      connectionsCheckingInterval: 1_000,
      // Checked in `handle`, so that the refusal carries the protocol's JSON.
      requireHostHeader: false,
    },
    (req, res) => {
      const admitted = guard.admit(req);
      if (admitted === 'ignore') return;
      if (admitted === 'refuse') {
        sendError(res, HttpError.of('TOO_MANY_PIPELINED', `More than ${limits.maxPipelined} requests were pipelined on this connection: this one and those after it are not answered; send them again after reading the answers.`, { headers: { connection: 'close' } }));
        return;
      }
      const controller = new AbortController();
      active.set(req, controller);
      admitted.turn
        .then(() => {
          // Aborted while it waited behind the requests before it (shutdown): not started at all.
          if (controller.signal.aborted) throw controller.signal.reason;
          return handle(req, res, controller.signal);
        })
        .catch((err: unknown) => answerFailure(req, res, err))
        .finally(() => {
          // The one drain for every outcome: after an error answer or a success that left the body unread.
          drainBriefly(req);
          guard.release(req);
          active.delete(req);
          for (const wake of settledWaiters) wake();
          options.log?.(`${req.method} ${logName(req)} ${res.statusCode}`);
        });
    },
  );
  // The cap is the guard's (it makes room by closing idle connections); Node's own would drop new ones regardless.
  const guard = new ConnectionGuard(server, limits);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const answer = clientErrorAnswer(err, socket, guard.owesAnswer(socket));
    if (answer) socket.end(answer);
    else socket.destroy();
  });
  // Without this listener Node sends `100 Continue` before any handler runs, inviting a body it may refuse (a declared
  // 10 GB, no slot, no storage): handlers that read a body send it once they have admitted it (transcription.ts).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
  // Without these listeners Node answers `Expect: <anything but 100-continue>` and CONNECT itself, without a body.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) =>
    sendError(res, HttpError.of('EXPECTATION_FAILED')),
  );
  server.on('connect', (_req: IncomingMessage, socket: Socket) => socket.end(rawErrorAnswer('METHOD_NOT_ALLOWED', 'CONNECT is not allowed on this server.')));
  // A failed or stalled handshake (handshakeTimeout) only emits this event: the socket must be ended here, or a client
  // that never sends its ClientHello keeps its descriptors for good.
  server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());

  // The app listens through a plain TCP front that reads the host proxy's PROXY line (the client's address) before
  // handing the connection to the HTTPS server, whose TLS then starts with the bytes after it.
  const front = createNetServer((socket) => {
    void readProxyLine(socket, limits.handshakeTimeoutMs).then((source) => {
      if (socket.destroyed) return;
      if (source !== undefined) sources.set(socket, source);
      server.emit('connection', socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    if ('path' in listen) front.listen(listen.path, resolve);
    else front.listen(listen.port, listen.host, resolve);
  });
  // The HTTPS server never listens itself: this starts what it does on listening (the header-timeout checks).
  server.emit('listening');
  const address = front.address();
  const target: ListenTarget = typeof address === 'string' || address === null ? { path: String(address) } : { host: (address as AddressInfo).address, port: (address as AddressInfo).port };

  /** Resolves once no request runs, or after `ms`. */
  const settled = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        if (active.size > 0) return;
        clearTimeout(timer);
        settledWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        settledWaiters.delete(done);
        resolve();
      }, ms);
      settledWaiters.add(done);
      done();
    });

  let closing: Promise<void> | undefined;
  return {
    server,
    target,
    activeRequests: () => active.size,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => front.close(() => resolve()));
        server.close();
        server.closeIdleConnections();
        await settled(limits.shutdownGraceMs);
        if (active.size > 0) {
          options.log?.(`shutdown: aborting ${active.size} request(s) still running after ${limits.shutdownGraceMs} ms`);
          const reason = HttpError.of('SHUTTING_DOWN', undefined, { retryAfterSeconds: 5 });
          for (const controller of active.values()) controller.abort(reason);
          await settled(ABORT_ANSWER_MS);
        }
        await guard.endAll(FLUSH_ANSWERS_MS);
        server.closeAllConnections();
        await closed;
      })()),
  };
}
