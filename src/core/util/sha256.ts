/** The client's one SHA-256: the identity of roots, certificates, keys and documents, as lower-case hex. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { InputError } from '../errors.js';

/** SHA-256 of bytes (or of a string's UTF-8) as lower-case hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * SHA-256 of a file's bytes, streamed (an audio file may be hundreds of MB). Only regular files: a device or pipe
 * has no fixed content to prove anything about. Throws `InputError` `UNREADABLE_INPUT_FILE` naming `what`.
 */
export async function sha256FileHex(file: string, what: string): Promise<string> {
  const unreadable = (detail: string, cause?: unknown) => new InputError('UNREADABLE_INPUT_FILE', `cannot read the ${what} ${JSON.stringify(file)}: ${detail}`, { cause });
  try {
    if (!(await stat(file)).isFile()) throw unreadable('not a regular file');
    const hash = createHash('sha256');
    await pipeline(createReadStream(file), hash);
    return hash.digest('hex');
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw unreadable((err as NodeJS.ErrnoException).code ?? String(err), err);
  }
}
