/** The request-target of an HTTP request, read as a URL without letting a malformed one throw past the handler. */
import { HttpError } from './respond.js';

/** Base for origin-form targets: only the path and query are used. */
const BASE = 'https://enclave.invalid';

/**
 * Parses origin-form (`/path?query`) and absolute-form (`https://host/path`) request-targets. Origin-form is taken as
 * path and query only, so `//[` is the path `//[` rather than an authority; anything the WHATWG parser refuses (or
 * that is not http(s)) is the client's mistake: `HttpError` 400 `INVALID_REQUEST_TARGET`.
 */
export function parseRequestTarget(target: string): URL {
  if (target.startsWith('/')) {
    const url = URL.parse(BASE + target);
    if (url) return url;
  } else {
    const url = URL.parse(target);
    if (url && (url.protocol === 'https:' || url.protocol === 'http:')) return url;
  }
  throw HttpError.of('INVALID_REQUEST_TARGET');
}
