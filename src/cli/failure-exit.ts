/** The exit code of a client failure, by the core's one rule on what makes a server untrusted. */
import { isUntrustedFailure, type BlindBoxError } from '../core/errors.js';
import { EXIT_REJECTED, EXIT_SERVER } from './exit-codes.js';

/** 1 when the failure means the server is untrusted (the core's one rule), else 3. */
export function exitCodeFor(err: BlindBoxError): number {
  return isUntrustedFailure(err) ? EXIT_REJECTED : EXIT_SERVER;
}
