/** The client's one SHA-256: the identity of roots, certificates, keys and documents, as lower-case hex. */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { InputError } from '../errors.js';
import { openRegularFile, shownPath } from './regular-file.js';

/** SHA-256 of bytes (or of a string's UTF-8) as lower-case hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * SHA-256 of a file's bytes, streamed (an audio file may be hundreds of MB). Only regular files: a device or pipe
 * has no fixed content to prove anything about. Throws `InputError` `NOT_A_REGULAR_FILE` or `UNREADABLE_INPUT_FILE`
 * naming `what`.
 */
export async function sha256FileHex(file: string, what: string): Promise<string> {
  const { handle } = await openRegularFile(file, what);
  try {
    const hash = createHash('sha256');
    // The stream closes the handle when it ends or fails.
    await pipeline(handle.createReadStream(), hash);
    return hash.digest('hex');
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw new InputError('UNREADABLE_INPUT_FILE', `cannot read the ${what} ${shownPath(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}
