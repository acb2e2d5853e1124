/**
 * The CLI's exit codes, one meaning each, shared by every command (scripts branch on them):
 * 0 ok, 1 the server is not (provably) the attested enclave (or a receipt does not prove what it should), 2 usage error or unreadable input,
 * 3 the server or the network failed, 70 a failure the CLI did not foresee.
 */
import { isUntrustedFailure, type BlindBoxError } from '../core/errors.js';

export const EXIT_OK = 0;
/** The attestation was rejected or the TLS key is not the attested one: nothing was (or may be) sent. */
export const EXIT_REJECTED = 1;
export const EXIT_USAGE = 2;
/** Unreachable, refusing, too slow or speaking another protocol: says nothing about the server's identity. */
export const EXIT_SERVER = 3;
/** Not "rejected", not "usage", not "server": a bug (sysexits' EX_SOFTWARE). */
export const EXIT_INTERNAL = 70;

/** 1 when the failure means the server is untrusted (the core's one rule), else 3. */
export function exitCodeFor(err: BlindBoxError): number {
  return isUntrustedFailure(err) ? EXIT_REJECTED : EXIT_SERVER;
}
