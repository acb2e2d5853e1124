/** The local endpoint's bearer token: random, shown once to whoever started it, compared in constant time. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new token: 32 random bytes, base64url (43 characters, safe in a header and on a command line). */
export function newBearerToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Whether `authorization` (the request's header) is `Bearer <token>`. Both sides are hashed first, so the comparison
 * takes the same time whatever the length or the first differing byte of what was sent.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  const sent = createHash('sha256').update(m?.[1] ?? '').digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(sent, expected) && m !== null;
}
