/**
 * Reading what a server answers, defensively: bounded bodies, server errors
 * as typed `ChannelError`s (our sentence, the server's sanitised words beside
 * it), and network failures mapped to stable codes.
 */
import { maxHeaderSize } from 'node:http';
import type { Dispatcher } from 'undici';
import { RETRY_STATUSES, serverErrorSpec } from '../../protocol/server-errors.js';
import { BlindBoxError, ChannelError } from '../errors.js';
import { endSentence, oneLine } from '../../shared/text.js';
import { startDeadline } from './deadline.js';

/**
 * Stops reading a body that will not be read to its end. undici's body emits 'error' (RequestAbortedError) when
 * destroyed before its end, and with no listener that error would end the process: the caller already has its own,
 * typed error to throw.
 */
export function abandonBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** How much of a body is read, and for how long. */
export interface BodyBounds {
  /** Most bytes; more is a `PROTOCOL_ERROR`. */
  readonly maxBytes: number;
  /** The whole body, from now to its last byte: more is a `TIMEOUT`. */
  readonly timeoutMs: number;
  /** What the body is, for messages ("transcript"). */
  readonly what: string;
  readonly origin: URL;
}

/**
 * Reads a whole body within `bounds`. undici's `bodyTimeout` is the pause between two chunks, so a server dribbling
 * its answer a byte at a time would hold the caller for as long as it likes: the whole body has `timeoutMs`.
 */
export async function readBodyLimited(body: Dispatcher.ResponseData['body'], bounds: BodyBounds): Promise<Buffer> {
  const { maxBytes, timeoutMs, what, origin } = bounds;
  const deadline = startDeadline(timeoutMs, `Reading the ${what} from ${origin.host}`);
  const stop = () => abandonBody(body);
  deadline.signal.addEventListener('abort', stop, { once: true });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        abandonBody(body);
        throw new ChannelError('PROTOCOL_ERROR', `The server's ${what} is larger than ${maxBytes} bytes.`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw deadline.failure() ?? toChannelError(err, origin);
  } finally {
    deadline.signal.removeEventListener('abort', stop);
    deadline.dispose();
  }
  return Buffer.concat(chunks);
}

/**
 * The wait a busy answer (429 or 503: the statuses of the codes that retry) asks for with `Retry-After` (seconds or an HTTP date), in milliseconds; undefined
 * for any other answer, or one without a valid `Retry-After` (which is not retried: the server did not say when).
 */
export function busyWaitMs(response: { statusCode: number; headers: Record<string, string | string[] | undefined> }, now: number): number | undefined {
  if (!RETRY_STATUSES.has(response.statusCode)) return undefined;
  const value = response.headers['retry-after'];
  if (typeof value !== 'string') return undefined;
  if (/^\s*\d{1,9}\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Throws a `SERVER_ERROR` for any non-2xx answer. Its message is our own sentence; the server's code and message
 * travel apart (`serverCode`, `serverMessage`), since a server that has not attested yet could otherwise put words
 * in BlindBox's mouth ("add this root to your trusted roots"). `after` says what was tried first (" after 3 retries");
 * the error answer is read within `timeoutMs`.
 */
export async function throwForStatus(response: Dispatcher.ResponseData, what: string, { origin, timeoutMs, after = '' }: { origin: URL; timeoutMs: number; after?: string }): Promise<void> {
  if (response.statusCode >= 200 && response.statusCode < 300) return;
  let serverCode: string | undefined;
  let serverMessage: string | undefined;
  try {
    const text = (await readBodyLimited(response.body, { maxBytes: 16 * 1024, timeoutMs, what: 'error answer', origin })).toString('utf8');
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === 'string') serverCode = oneLine(parsed.error.code, 64) || undefined;
    if (typeof parsed.error?.message === 'string') serverMessage = oneLine(parsed.error.message, 300) || undefined;
  } catch {
    // Not our JSON error shape (or not within its bounds): the status alone has to do.
  }
  const why = serverCode === undefined ? undefined : serverErrorSpec(serverCode)?.clientReason;
  throw new ChannelError('SERVER_ERROR', `The server refused the ${what} request (HTTP ${response.statusCode})${after}${why ? `: ${why}` : ''}.`, { status: response.statusCode, serverCode, serverMessage });
}

/**
 * Our sentence for undici's failures that mean an answer arrived but is not HTTP the client takes (the server answered,
 * wrongly: nothing says it cannot be reached), or undefined for any other failure.
 */
function malformedAnswer(e: { name?: string; code?: string; message?: string } | undefined, origin: URL): string | undefined {
  const code = e?.code ?? '';
  if (code === 'UND_ERR_HEADERS_OVERFLOW') return `${origin.host} answered with headers larger than the ${maxHeaderSize / 1024} KiB a client accepts.`;
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return `${origin.host} answered with a body whose length is not the one its Content-Length header declares.`;
  // llhttp's reason (a fixed text, e.g. "Invalid character in Content-Length") ends undici's message, in parentheses.
  if (e?.name === 'HTTPParserError' || code.startsWith('HPE_')) return `${origin.host} answered with a malformed HTTP response (${oneLine(/\(([^()]+)\)$/.exec(e?.message ?? '')?.[1] ?? code, 80)}).`;
  return undefined;
}

/** undici's and the network's codes for a phase that took too long. */
export const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Maps whatever undici or the network threw to a `ChannelError`; our own errors pass through. */
export function toChannelError(err: unknown, origin: URL): BlindBoxError {
  if (err instanceof BlindBoxError) return err;
  const e = err as NodeJS.ErrnoException & { cause?: unknown };
  // undici wraps a connector's error in some paths; unwrap ours.
  if (e?.cause instanceof BlindBoxError) return e.cause;
  const code = e?.code ?? '';
  const malformed = malformedAnswer(e, origin);
  if (malformed) return new ChannelError('PROTOCOL_ERROR', malformed, { cause: err });
  if (e?.name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') return new ChannelError('CANCELLED', 'The request was cancelled.', { cause: err });
  if (TIMEOUT_CODES.has(code)) return new ChannelError('TIMEOUT', `${origin.host} did not answer in time (${code}).`, { cause: err });
  const reason = code || e?.message || String(err);
  return new ChannelError('SERVER_UNREACHABLE', endSentence(`Cannot talk to ${origin.host}: ${oneLine(reason, 120)}`), { cause: err });
}
