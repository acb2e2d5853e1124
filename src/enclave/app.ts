/**
 * The app that runs inside the enclave. TLS terminates here, so the host and
 * its proxy only ever see ciphertext. It serves the BlindBox protocol:
 *   GET  /attestation?nonce=<hex>   a fresh Nitro document binding this TLS key
 *   GET  /healthz
 *   POST /whisper/predict            BlindBox's API (multipart field `audio`)
 *   POST /v1/audio/transcriptions    OpenAI-compatible
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeServiceInfo, type ServiceInfo } from '../core/attestation/service-info.js';
import type { AttestationProvider } from './attestation/provider.js';
import { HttpError, sendError, sendJson } from './http/respond.js';
import type { TlsIdentity } from './tls-identity.js';

/** A route handler; it throws `HttpError` for anything the client did wrong. */
export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export interface EnclaveAppOptions {
  readonly provider: AttestationProvider;
  readonly identity: TlsIdentity;
  readonly service: ServiceInfo;
  /** Transcription endpoints; absent until an engine is configured (503). */
  readonly transcription?: { readonly whisperPredict: Handler; readonly openAiTranscriptions: Handler };
  /** Called after every request with its outcome, for logs. */
  readonly log?: (line: string) => void;
}

/** Where the app listens: a Unix socket (simulation) or a TCP address. */
export type ListenTarget = { readonly path: string } | { readonly host: string; readonly port: number };

export interface EnclaveApp {
  readonly server: Server;
  /** The bound target (with the real port when 0 was asked for). */
  readonly target: ListenTarget;
  /** Stops accepting, lets running requests finish, then resolves. */
  close(): Promise<void>;
}

/** Nonces are 16..64 bytes of hex (32..128 characters). */
const NONCE = /^(?:[0-9a-fA-F]{2}){16,64}$/;

export async function startEnclaveApp(options: EnclaveAppOptions, listen: ListenTarget): Promise<EnclaveApp> {
  const userData = encodeServiceInfo(options.service);
  const notConfigured: Handler = async () => {
    throw new HttpError(503, 'ENGINE_NOT_CONFIGURED', 'No speech engine is configured on this server.');
  };
  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/attestation': {
      GET: async (_req, res, url) => {
        const nonce = url.searchParams.get('nonce');
        if (nonce === null || !NONCE.test(nonce)) throw new HttpError(400, 'INVALID_NONCE', 'The nonce must be 32 to 128 hexadecimal characters (16 to 64 bytes).');
        const document = await options.provider.attest({ nonce: Buffer.from(nonce, 'hex'), publicKey: options.identity.spki, userData });
        res.writeHead(200, { 'content-type': 'application/cbor', 'content-length': document.length, 'cache-control': 'no-store' });
        res.end(document);
      },
    },
    '/healthz': { GET: async (_req, res) => sendJson(res, 200, { status: 'ok', attestation: options.provider.kind }) },
    '/whisper/predict': { POST: options.transcription?.whisperPredict ?? notConfigured },
    '/v1/audio/transcriptions': { POST: options.transcription?.openAiTranscriptions ?? notConfigured },
  };

  const server = createServer({ key: options.identity.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: options.identity.certificatePem, minVersion: 'TLSv1.2' }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://enclave.invalid');
    const byMethod = routes[url.pathname];
    const handler = byMethod?.[req.method ?? ''];
    const run = handler
      ? handler(req, res, url)
      : Promise.reject(
          byMethod
            ? new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}.`, { allow: Object.keys(byMethod).join(', ') })
            : new HttpError(404, 'NOT_FOUND', `There is no ${url.pathname} on this server.`),
        );
    run
      .catch((err: unknown) => {
        const httpError = err instanceof HttpError ? err : new HttpError(500, 'INTERNAL', 'The server failed to handle the request.');
        if (!(err instanceof HttpError)) options.log?.(`internal error on ${url.pathname}: ${(err as Error)?.stack ?? String(err)}`);
        // The client may still be sending: answer at once, and discard the rest of its body (bounded in time) so that it
        // can read the answer instead of meeting a reset connection.
        if (!req.complete) {
          req.resume();
          const limit = setTimeout(() => req.destroy(), 30_000);
          req.once('close', () => clearTimeout(limit));
        }
        sendError(res, httpError);
      })
      .finally(() => options.log?.(`${req.method} ${url.pathname} ${res.statusCode}`));
  });
  server.on('tlsClientError', () => {}); // a client that aborts its handshake is not the server's problem

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in listen) server.listen(listen.path, resolve);
    else server.listen(listen.port, listen.host, resolve);
  });
  const address = server.address();
  const target: ListenTarget = typeof address === 'string' || address === null ? { path: String(address) } : { host: (address as AddressInfo).address, port: (address as AddressInfo).port };

  return {
    server,
    target,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
