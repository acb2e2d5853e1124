/** The client's one SHA-256: the identity of roots, certificates, keys and documents, as lower-case hex. */
import { createHash } from 'node:crypto';

/** SHA-256 of bytes (or of a string's UTF-8) as lower-case hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
