/** The local endpoint's bearer token and its check. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerMatches, newBearerToken } from '../../../src/core/local-endpoint/bearer.js';

describe('the bearer token', () => {
  it('is 32 random bytes, base64url, new each time', () => {
    const [a, b] = [newBearerToken(), newBearerToken()];
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
  });

  it('matches only `Bearer <token>` exactly', () => {
    const token = newBearerToken();
    assert.equal(bearerMatches(`Bearer ${token}`, token), true);
    assert.equal(bearerMatches(`bearer  ${token}`, token), true);
    for (const header of [undefined, '', 'Bearer', 'Bearer ', `Basic ${token}`, `Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Bearer ${token} ${token}`, token]) {
      assert.equal(bearerMatches(header, token), false, String(header));
    }
  });
});
