/**
 * Text that someone else wrote (a server's error answer, a certificate subject, a file name), made safe to show as
 * one line of ours. The one sanitiser of the client: the core applies it to what a server says, the CLI and the
 * extension to everything untrusted they display.
 */

/** Control, line-separator and bidi-override characters: they could forge a new line or reorder what is read. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

/** One printable line: unprintable runs become one space, spaces are collapsed, and at most `max` characters (`…` included). */
export function oneLine(text: string, max = 500): string {
  const clean = text.replace(UNPRINTABLE, ' ').replace(/ {2,}/g, ' ').trim();
  return clean.length > max ? clean.slice(0, max - 1) + '…' : clean;
}

/** The server's words as a quotation it cannot close early to speak on its own: double quotes inside become single. */
export function quoteServerText(said: string): string {
  return `"${said.replace(/["\u201c\u201d]/g, "'")}"`;
}

/**
 * `text` as the end of a sentence: a full stop is added unless it already ends with one (also inside a closing
 * parenthesis or quote), so a message that ends with another's never reads "….)." or "…..".
 */
export function endSentence(text: string): string {
  return /[.!?…]['")\]]*$/.test(text) ? text : `${text}.`;
}

/**
 * An error as "CODE: message" to set inside a sentence of ours (in parentheses, before a semicolon): without the
 * message's own full stop, so that a line never reads "….);" or "….).".
 */
export function errorClause(err: { readonly code: string; readonly message: string }): string {
  return `${err.code}: ${err.message.replace(/(?<!\.)\.(['")\]]*)$/, '$1')}`;
}
