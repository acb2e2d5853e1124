/**
 * Reading what a server answers, defensively: bounded bodies, server errors
 * as typed `ChannelError`s (our sentence, the server's sanitised words beside
 * it), and network failures mapped to stable codes.
 */
import type { Dispatcher } from 'undici';
import { BlindBoxError, ChannelError } from '../errors.js';
import { endSentence, oneLine } from '../util/text.js';

/** Reads a whole body, failing once it exceeds `limit` bytes. */
export async function readBodyLimited(body: Dispatcher.ResponseData['body'], limit: number, what: string, origin: URL): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        body.destroy();
        throw new ChannelError('PROTOCOL_ERROR', `The server's ${what} is larger than ${limit} bytes.`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw toChannelError(err, origin);
  }
  return Buffer.concat(chunks);
}

/**
 * The wait a busy answer (429 or 503) asks for with `Retry-After` (seconds or an HTTP date), in milliseconds; undefined
 * for any other answer, or one without a valid `Retry-After` (which is not retried: the server did not say when).
 */
export function busyWaitMs(response: { statusCode: number; headers: Record<string, string | string[] | undefined> }, now: number): number | undefined {
  if (response.statusCode !== 429 && response.statusCode !== 503) return undefined;
  const value = response.headers['retry-after'];
  if (typeof value !== 'string') return undefined;
  if (/^\s*\d{1,9}\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Throws a `SERVER_ERROR` for any non-2xx answer. Its message is our own sentence; the server's code and message
 * travel apart (`serverCode`, `serverMessage`), since a server that has not attested yet could otherwise put words
 * in BlindBox's mouth ("add this root to your trusted roots"). `after` says what was tried first (" after 3 retries").
 */
export async function throwForStatus(response: Dispatcher.ResponseData, what: string, after = ''): Promise<void> {
  if (response.statusCode >= 200 && response.statusCode < 300) return;
  let serverCode: string | undefined;
  let serverMessage: string | undefined;
  try {
    const text = (await readBodyLimited(response.body, 16 * 1024, 'error answer', new URL('https://server.invalid'))).toString('utf8');
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === 'string') serverCode = oneLine(parsed.error.code, 64) || undefined;
    if (typeof parsed.error?.message === 'string') serverMessage = oneLine(parsed.error.message, 300) || undefined;
  } catch {
    // Not our JSON error shape: the status alone has to do.
  }
  throw new ChannelError('SERVER_ERROR', `The server refused the ${what} request (HTTP ${response.statusCode})${after}.`, { status: response.statusCode, serverCode, serverMessage });
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Maps whatever undici or the network threw to a `ChannelError`; our own errors pass through. */
export function toChannelError(err: unknown, origin: URL): BlindBoxError {
  if (err instanceof BlindBoxError) return err;
  const e = err as NodeJS.ErrnoException & { cause?: unknown };
  // undici wraps a connector's error in some paths; unwrap ours.
  if (e?.cause instanceof BlindBoxError) return e.cause;
  const code = e?.code ?? '';
  if (e?.name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') return new ChannelError('CANCELLED', 'The request was cancelled.', { cause: err });
  if (TIMEOUT_CODES.has(code)) return new ChannelError('TIMEOUT', `${origin.host} did not answer in time (${code}).`, { cause: err });
  const reason = code || e?.message || String(err);
  return new ChannelError('SERVER_UNREACHABLE', endSentence(`Cannot talk to ${origin.host}: ${oneLine(reason, 120)}`), { cause: err });
}
