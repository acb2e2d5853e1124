/**
 * The audio file's name as it travels in the multipart `Content-Disposition` header. A local name may hold any
 * character but `/` and NUL: raw control characters there make a parser (busboy's, the reference server's) take the
 * part header as cut short, and non-ASCII bytes are read in whatever charset the server assumes. RFC 7578 (4.2) has
 * the name percent-encoded (and forbids RFC 5987's `filename*` in form data), so everything outside printable ASCII,
 * and `%`, `"` and `\`, is sent as `%XX` of its UTF-8 bytes: the header is plain ASCII and the name recoverable.
 */
export function wireFileName(name: string): string {
  return name.replace(/[^\x20-\x7e]|[%"\\]/gu, (char) => [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}
