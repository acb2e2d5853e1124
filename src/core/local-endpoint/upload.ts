/**
 * A caller's multipart upload, received into a private temporary folder (never held whole in memory): the one audio
 * file and a few short text fields. Whatever happens (bad framing, too large, the caller gone) the promise settles only
 * once the file is closed and parsing has stopped, and the folder is then the caller's to remove.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { LocalRefusal } from './answers.js';

/** The audio on disk and the fields that came with it. */
export interface ReceivedUpload {
  readonly path: string;
  /** The file name the caller gave (what the server is told, cleaned by the core). */
  readonly filename: string;
  readonly fields: ReadonlyMap<string, string>;
}

/** Multipart framing and short fields beside the file: a declared length above the file limit plus this is refused unread. */
const FRAMING_ALLOWANCE = 64 * 1024;

/** Refuses a request that is not multipart, or that declares more bytes than `maxBytes` of audio can take. */
export function checkUploadHead(req: IncomingMessage, maxBytes: number): void {
  if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) throw new LocalRefusal('NOT_MULTIPART', 415);
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes + FRAMING_ALLOWANCE) throw tooLarge(maxBytes);
}

function tooLarge(maxBytes: number): LocalRefusal {
  return new LocalRefusal('UPLOAD_TOO_LARGE', 413, `The audio is larger than the ${Math.round(maxBytes / 1024 / 1024)} MB a server accepts.`);
}

/**
 * Streams the body of `req` into `dir/audio`: the file from `fileField`, at most `maxBytes`. Rejects with a
 * `LocalRefusal` for the caller's mistakes and with `signal.reason` when `signal` aborts (the caller went away).
 */
export async function receiveUpload(req: IncomingMessage, dir: string, fileField: string, maxBytes: number, signal: AbortSignal): Promise<ReceivedUpload> {
  if (signal.aborted) throw signal.reason;
  let parser: busboy.Busboy;
  try {
    // busboy calls a file of exactly `fileSize` bytes truncated: one byte more lets a file of exactly the limit in.
    parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: maxBytes + 1, fields: 16, fieldSize: 4096, parts: 17 } });
  } catch {
    throw new LocalRefusal('MALFORMED_MULTIPART', 400, 'The multipart request has no valid boundary.');
  }
  return new Promise<ReceivedUpload>((resolve, reject) => {
    const fields = new Map<string, string>();
    const file = path.join(dir, 'audio');
    let sink: WriteStream | undefined;
    let written: Promise<string> | undefined;
    let settled = false;
    const onAbort = () => fail(signal.reason);
    /** Stops parsing and closes the file, then rejects (on the next turn: busboy goes on using its state after its events). */
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      req.unpipe(parser);
      setImmediate(() => {
        parser.destroy();
        sink?.destroy();
        const closed = sink && !sink.closed ? new Promise<void>((done) => sink!.once('close', () => done())) : Promise.resolve();
        void closed.then(() => reject(err));
      });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(new LocalRefusal('MALFORMED_MULTIPART', 400, `The field ${JSON.stringify(name.slice(0, 64))} is too long.`));
      // A repeated array field (OpenAI's `timestamp_granularities[]`) keeps every value, comma-separated as a server reads it.
      fields.set(name, name.endsWith('[]') && fields.has(name) ? `${fields.get(name)},${value}` : value);
    });
    parser.on('file', (name, stream, info) => {
      // Stopping the parser destroys the file stream with an error: one without a listener would end the process.
      stream.on('error', () => {});
      if (name !== fileField || written) {
        stream.resume();
        return fail(new LocalRefusal('MALFORMED_MULTIPART', 400, `Send exactly one file, in the field "${fileField}".`));
      }
      stream.on('limit', () => fail(tooLarge(maxBytes)));
      sink = createWriteStream(file, { flags: 'wx', mode: 0o600 });
      written = pipeline(stream, sink).then(() => info.filename || 'audio');
      written.catch(fail);
    });
    for (const event of ['filesLimit', 'partsLimit', 'fieldsLimit', 'error'] as const) {
      parser.on(event, () => fail(new LocalRefusal('MALFORMED_MULTIPART', 400, 'The multipart request has too many parts, or is cut or malformed.')));
    }
    parser.on('close', () => {
      if (settled) return;
      if (!written) return fail(new LocalRefusal('MISSING_FILE', 400, `No file in the field "${fileField}".`));
      written.then((filename) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve({ path: file, filename, fields });
      }, fail);
    });
    req.pipe(parser);
  });
}
