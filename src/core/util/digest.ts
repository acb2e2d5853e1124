/** The one SHA-256 helper of the core, the CLI and the extension: digests name documents, keys and certificates. */
import { createHash } from 'node:crypto';

/** SHA-256 of bytes as lower-case hex. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
