/** What a TLS-inspecting proxy (support/connect-proxy.ts) decrypted, judged: audio in clear, and the requests it saw. */

/**
 * How many 256-byte windows of `audio`, taken every 1 KiB, appear in `seen`: zero means no cleartext audio got through
 * (any run of the file's bytes, wherever the multipart framing put it, would hold several of them).
 */
export function audioWindowsIn(seen: Buffer, audio: Buffer): number {
  let found = 0;
  for (let at = 0; at + 256 <= audio.length; at += 1024) if (seen.includes(audio.subarray(at, at + 256))) found++;
  return found;
}

/** The request lines in `decrypted`, in order, with nonces masked: `GET /attestation?nonce=…`, `POST /v1/audio/transcriptions`. */
export function requestLines(decrypted: Buffer): string[] {
  return [...decrypted.toString('latin1').matchAll(/((?:GET|POST) \/\S*) HTTP\/1\.1\r\n/g)].map((m) => m[1]!.replace(/nonce=[0-9a-f]+/, 'nonce=…'));
}
