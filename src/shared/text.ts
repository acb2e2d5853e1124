/**
 * Text that someone else wrote (a server's answer, a certificate subject, a document, receipt, evidence or policy
 * field, a file name, a client's file name or error on the server), made safe to show as one line of ours. The one
 * sanitiser of the project: the core applies it to what a server says, the CLI and the extension to everything foreign
 * they display, the server to what a client sends before it logs or answers it. Control characters are escaped,
 * never erased, so a reader sees that something was there and what: `\x1b`, `\n`, `\u009b`, `\u202e`.
 */

/**
 * Characters that could forge a line, move the cursor, set a title or reorder what is read: C0 controls, DEL, C1
 * controls (U+009B is a one-byte CSI), the Arabic letter mark, zero-width and directional marks, line and paragraph
 * separators, bidi embeddings, overrides and isolates, invisible operators, the BOM and interlinear annotations.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;
/** What `JSON.stringify` leaves raw of `UNPRINTABLE` (it escapes C0 itself; its own line breaks must stay). */
const UNPRINTABLE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One unprintable character, visibly: `\n`, `\r`, `\t`, `\xHH` below U+0080, `\uHHHH` above. */
function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED_ESCAPES[c] ?? (code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/** `text` with every unprintable character escaped visibly (see `UNPRINTABLE`); nothing else changes. */
export function escapeControls(text: string): string {
  return text.replace(UNPRINTABLE, escapeOne);
}

/** One printable line: unprintable characters escaped (outer spaces and line breaks trimmed), at most `max` characters (`…` included). */
export function oneLine(text: string, max = 500): string {
  const clean = escapeControls(text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, ''));
  return clean.length > max ? clean.slice(0, max - 1) + '…' : clean;
}

/**
 * Someone else's words as a quotation they cannot close early to speak on their own: made one line (`oneLine`, at
 * most `max` characters), double quotes inside become single.
 */
export function quoteServerText(said: string, max = 500): string {
  return `"${oneLine(said, max).replace(/["\u201c\u201d]/g, "'")}"`;
}

/**
 * `JSON.stringify(value)` with the characters it leaves raw (C1 controls, bidi and zero-width marks, separators)
 * escaped as `\uXXXX`: the same JSON to a parser, and nothing in it can drive a terminal that shows it.
 */
export function jsonText(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(UNPRINTABLE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `value` with every string in it (in arrays and plain objects, at any depth) escaped by `escapeControls`. */
export function escapeStrings<T>(value: T): T {
  if (typeof value === 'string') return escapeControls(value) as T;
  if (Array.isArray(value)) return value.map(escapeStrings) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeControls(k), escapeStrings(v)])) as T;
  }
  return value;
}

/** A file's text without its UTF-8 byte order mark, which editors on Windows write and `JSON.parse` refuses. */
export function withoutBom(text: string): string {
  return text.startsWith('\ufeff') ? text.slice(1) : text;
}

/**
 * `text` as the end of a sentence: a full stop is added unless it already ends with one (also inside a closing
 * parenthesis or quote), so a message that ends with another's never reads "….)." or "…..".
 */
export function endSentence(text: string): string {
  return /[.!?\u2026]['")\]]*$/.test(text) ? text : `${text}.`; // \u2026: …
}

/**
 * An error as "CODE: message" to set inside a sentence of ours (in parentheses, before a semicolon): without the
 * message's own full stop, so that a line never reads "….);" or "….).".
 */
export function errorClause(err: { readonly code: string; readonly message: string }): string {
  return `${err.code}: ${err.message.replace(/(?<!\.)\.(['")\]]*)$/, '$1')}`;
}

/** `segment` percent-decoded (a path segment, such as a model id, may hold spaces); as sent when it does not decode. */
export function decodedOrRaw(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
