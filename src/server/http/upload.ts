/**
 * Receiving one multipart upload: the one file field streamed by busboy into a private file (never held whole in
 * memory), small text fields to memory, size- and pace-limited while it arrives.
 *
 * Whatever happens (bad framing, a second file, too large, too slow, the client gone, the request aborted) the
 * promise settles, and it settles only after the file's descriptor is closed and parsing has stopped: the caller may
 * then delete the directory and know nothing of the upload (in an enclave: the user's audio, in RAM) stays behind.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { sealedLength } from '../../protocol/sealed-body.js';
import { HttpError } from './respond.js';

/** An upload on disk and the text fields that came with it. */
export interface Upload {
  readonly path: string;
  readonly filename: string;
  readonly size: number;
  /** SHA-256 of the file's bytes exactly as received (what a transcript receipt binds). */
  readonly sha256: Uint8Array;
  readonly fields: ReadonlyMap<string, string>;
}

export interface UploadLimits {
  /** Largest file accepted (413 above). */
  readonly maxBytes: number;
  /** Longest pause between two pieces of the body (408 after it): a client that stalls frees its slot. */
  readonly idleTimeoutMs: number;
  /**
   * Slowest average pace accepted once `paceGraceMs` have passed (408 below it): a client that trickles a byte at a
   * time must not hold a slot until the request deadline.
   */
  readonly minBytesPerSecond: number;
  /** The pace is judged only after this long (TCP slow start, a slow first round trip). */
  readonly paceGraceMs: number;
}
/** How often the pace is checked. */
const PACE_CHECK_MS = 1_000;

/** A client too slow to keep is not drained either: its connection ends with the answer. */
const CLOSE = { connection: 'close' } as const;

/** A sealed upload opened as it arrives: the plaintext stream, its media type, and how its failures are answered. */
export interface OpenedBody {
  /** The opener the request is piped into; its readable side is the plaintext. */
  readonly body: Duplex;
  readonly contentType: string;
  readonly failure: (err: unknown) => unknown;
}

/** Answered when the client goes away mid-upload (nobody reads it; the status is for the log). */
export function clientGone(): HttpError {
  return HttpError.of('CANCELLED', 'The client went away during the upload.');
}

/** Counts the body's bytes as they arrive. */
export interface UploadMeter {
  /** Throws the `HttpError` that refuses the upload when these bytes cannot be taken (no room to store them). */
  received(bytes: number): void;
}

/**
 * What an upload's head says before any of its body is read: its declared length (undefined when chunked), or the
 * `HttpError` that refuses it (not multipart, or declared larger than `maxBytes` allows).
 */
export function checkUploadHead(req: IncomingMessage, fileField: string, maxBytes: number, sealed?: { readonly contentType: string }): number | undefined {
  // A sealed body's own type says "sealed"; what it holds is named by the sealed head (bound into its context).
  const type = sealed ? sealed.contentType : (req.headers['content-type'] ?? '');
  if (!/^multipart\/form-data/i.test(type)) {
    throw HttpError.of('UNSUPPORTED_MEDIA_TYPE', `Send the audio as multipart/form-data with the file in the field "${fileField}".`);
  }
  if (req.headers['content-length'] === undefined) return undefined;
  const declared = Number(req.headers['content-length']);
  // Multipart framing around the file is a few hundred bytes; 64 KiB leaves room for the text fields.
  const plaintext = maxBytes + 64 * 1024;
  if (declared > (sealed ? sealedLength(plaintext) : plaintext)) throw tooLarge(maxBytes);
  return declared;
}

/**
 * Streams the multipart body of `req` (its head checked by `checkUploadHead`) into `dir/audio`, counting its bytes on
 * `meter`. Rejects with `HttpError` for the client's mistakes, with `signal.reason` when `signal` aborts (the caller's
 * deadline or shutdown, the upload cut for its pace).
 */
export async function receiveUpload(
  req: IncomingMessage,
  dir: string,
  fileField: string,
  limits: UploadLimits,
  meter: UploadMeter,
  signal: AbortSignal,
  sealed?: OpenedBody,
): Promise<Upload> {
  // The request may have ended while the caller prepared (a directory, a slot): no event would tell us now.
  if (signal.aborted) throw signal.reason;
  if (req.destroyed && !req.complete) throw clientGone();

  let parser: busboy.Busboy;
  try {
    // busboy calls a file of exactly `fileSize` bytes truncated: one byte more lets a file of exactly the limit in.
    const headers = sealed ? { ...req.headers, 'content-type': sealed.contentType } : req.headers;
    parser = busboy({ headers, limits: { files: 1, fileSize: limits.maxBytes + 1, fields: 12, fieldSize: 1024, parts: 14 } });
  } catch {
    throw HttpError.of('MALFORMED_MULTIPART', 'The multipart request has no valid boundary.');
  }

  // A sealed body reaches the parser opened (sealed-request.ts); the meter and the pace still count what arrives.
  const source: Readable = sealed?.body ?? req;
  return new Promise<Upload>((resolve, reject) => {
    const fields = new Map<string, string>();
    const file = path.join(dir, 'audio');
    let sink: WriteStream | undefined;
    let written: Promise<{ filename: string; size: number; sha256: Uint8Array }> | undefined;
    let settled = false;
    const started = Date.now();
    let received = 0;
    let lastData = started;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      lastData = Date.now();
      try {
        meter.received(chunk.length);
      } catch (err) {
        fail(err);
      }
    };
    const pace = setInterval(() => {
      const now = Date.now();
      if (now - lastData >= limits.idleTimeoutMs) {
        fail(HttpError.of('BODY_TIMEOUT', `No upload data arrived for ${Math.round(limits.idleTimeoutMs / 1000)} s.`, { headers: CLOSE }));
      } else if (now - started >= limits.paceGraceMs && received / ((now - started) / 1000) < limits.minBytesPerSecond) {
        fail(HttpError.of('BODY_TOO_SLOW', `The upload arrives slower than the ${limits.minBytesPerSecond} bytes per second this server requires.`, { headers: CLOSE }));
      }
    }, PACE_CHECK_MS);
    const onAbort = () => fail(signal.reason);
    const onClose = () => {
      if (!req.complete) fail(clientGone());
    };
    const onSealedError = (err: unknown) => fail(sealed!.failure(err));
    const detach = () => {
      clearInterval(pace);
      signal.removeEventListener('abort', onAbort);
      req.off('data', onData);
      req.off('close', onClose);
      sealed?.body.off('error', onSealedError);
    };
    /**
     * Stops parsing, closes the file, then rejects: nothing of the upload is open when the caller hears of it. The
     * parser is destroyed on the next turn: `fail` runs inside busboy's own events, and busboy goes on using its
     * state after emitting them (a file stream destroyed under its `limit` event throws in the request's data handler).
     */
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      detach();
      source.unpipe(parser);
      // The request stops feeding the opener: what follows is drained by the app, not decrypted into a buffer.
      if (sealed) req.unpipe(sealed.body);
      setImmediate(() => {
        parser.destroy(); // destroys the file stream too, which makes the pipeline destroy the sink
        sealed?.body.destroy();
        sink?.destroy();
        const closed = sink && !sink.closed ? new Promise<void>((done) => sink!.once('close', () => done())) : Promise.resolve();
        void closed.then(() => reject(err));
      });
    };
    const succeed = (upload: Upload) => {
      if (settled) return;
      settled = true;
      detach();
      resolve(upload);
    };

    signal.addEventListener('abort', onAbort, { once: true });
    req.on('data', onData);
    req.on('close', onClose);
    sealed?.body.on('error', onSealedError);

    parser.on('field', (name, value, info) => {
      // busboy takes a part without a file name (`filename=""` included) for a text field, whatever it holds.
      if (name === fileField) return fail(HttpError.of('MISSING_FILENAME', `The part "${fileField}" has no file name: send the audio as a file part with a non-empty filename="…".`));
      if (info.valueTruncated) return fail(HttpError.of('FIELD_TOO_LONG', `The field "${name}" is too long.`));
      // A repeated array field (`timestamp_granularities[]`) keeps every value, comma-separated; any other, its last.
      const before = name.endsWith('[]') ? fields.get(name) : undefined;
      fields.set(name, before === undefined ? value : `${before},${value}`);
    });
    parser.on('file', (name, stream, info) => {
      // Stopping the parser destroys the file stream with an error: one without a listener would end the process.
      stream.on('error', () => {});
      if (name !== fileField || written) {
        stream.resume();
        return fail(HttpError.of('UNEXPECTED_FILE', `Unexpected file field "${name}": send exactly one file, in the field "${fileField}".`));
      }
      let size = 0;
      let truncated = false;
      const hash = createHash('sha256');
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
      });
      stream.on('limit', () => {
        truncated = true;
        fail(tooLarge(limits.maxBytes));
      });
      sink = createWriteStream(file, { flags: 'wx', mode: 0o600 });
      written = pipeline(stream, sink).then(() => {
        if (truncated) throw tooLarge(limits.maxBytes);
        return { filename: info.filename ?? 'audio', size, sha256: new Uint8Array(hash.digest()) };
      });
      written.catch(fail);
    });
    parser.on('filesLimit', () => fail(HttpError.of('UNEXPECTED_FILE', `Send exactly one file, in the field "${fileField}".`)));
    parser.on('partsLimit', () => fail(HttpError.of('MALFORMED_MULTIPART', 'The request has too many parts.')));
    parser.on('fieldsLimit', () => fail(HttpError.of('MALFORMED_MULTIPART', 'The request has too many fields.')));
    parser.on('error', () => fail(HttpError.of('MALFORMED_MULTIPART')));
    parser.on('close', () => {
      if (settled) return;
      if (!written) return fail(HttpError.of('MISSING_FILE', `No file in the field "${fileField}".`));
      written.then(({ filename, size, sha256 }) => {
        if (size === 0) return fail(HttpError.of('EMPTY_FILE'));
        succeed({ path: file, filename, size, sha256, fields });
      }, fail);
    });
    source.pipe(parser);
  });
}

function tooLarge(maxBytes: number): HttpError {
  return HttpError.of('FILE_TOO_LARGE', `The upload is larger than the ${Math.round(maxBytes / 1024 / 1024)} MB this server accepts.`);
}
