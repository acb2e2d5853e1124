/** Hex helpers shared by the core, the CLI and the extension. */
import { InputError, type InputErrorCode } from '../errors.js';

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Lower-case hex of bytes, or null. */
export function toHexOrNull(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : toHex(bytes);
}

/**
 * Parses hex (any case, optional `0x`, optional `:` separators as in fingerprints).
 * Throws an `InputError` (`code`, by default `INVALID_HEX`) naming `what` when it is not hex: a caller's mistake, not
 * an attestation failure. Callers that know what the value is (a PCR) pass the code that names it.
 */
export function fromHex(hex: string, what: string, code: InputErrorCode = 'INVALID_HEX'): Uint8Array {
  const clean = hex.trim().replace(/^0x/i, '').replaceAll(':', '');
  if (clean.length === 0 || clean.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(clean)) {
    throw new InputError(code, `${what} is not an even-length hex string: ${JSON.stringify(hex.length > 40 ? hex.slice(0, 40) + '…' : hex)}`);
  }
  return new Uint8Array(Buffer.from(clean, 'hex'));
}
