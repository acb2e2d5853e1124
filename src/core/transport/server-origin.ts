/**
 * The one rule for a BlindBox server address, shared by the CLI, the session and the editor's settings: an `https:`
 * origin (TLS terminates inside the enclave) without credentials, path, query or fragment, so the address a user
 * typed is exactly the one attested and shown.
 */
import { InputError } from '../errors.js';

/** Why `text` is not a server origin (a sentence fragment after the setting's name), or undefined when it is one. */
export function serverOriginProblem(text: string): string | undefined {
  return check(text).problem;
}

/** The origin of the server at `value`; throws `InputError` `INVALID_URL` saying what is wrong with it. */
export function parseServerOrigin(value: string | URL): URL {
  const { url, problem } = check(String(value));
  if (problem !== undefined) throw new InputError('INVALID_URL', `The server URL ${problem}`);
  return new URL(url!.origin);
}

function check(text: string): { url?: URL; problem?: string } {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return { problem: `${JSON.stringify(text.trim())} is not a URL` };
  }
  if (url.protocol !== 'https:') return { problem: `must use https: (TLS terminates inside the enclave), not ${url.protocol}` };
  if (url.username || url.password) return { problem: 'must not carry a user name or password' };
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return { problem: 'must be just the server (https://host[:port]), without a path or query' };
  return { url };
}
