/** The escaped-output rule as an assertion, and the hostile words the tests send to check it. */
import assert from 'node:assert/strict';

/** Marks every text an attacker wrote, so a test can find the lines it reaches. */
export const MARK = 'ATTACKER';

/**
 * Words that, shown raw, erase the line, set the terminal's title, start a forged line with a verdict of ours and a
 * URL, use the one-byte CSI (U+009B) to clear the screen, reverse the reading order, and add a line separator and DEL.
 */
export const WORDS = `${MARK}\x1b[2K\r\x1b]0;pwned\x07VERIFIED  forged\n\u009b2J\u009b8mhttps://evil.example/fix\u202eeno\u2066x\u2028y\x7f`;

/** What must never be printed raw: C0 controls but the line feed and the tab (separators of ours), DEL, C1, bidi, zero-width and separator characters. */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

/**
 * `text` (a program's printed output) obeys the escaped-output rule: nothing raw a terminal would obey, and every
 * occurrence of `MARK` inside a double-quoted span that follows a label of ours (never at the start of a line). A line
 * of JSON quotes every string by its syntax: only the raw rule applies to it.
 */
export function assertEscapedOutput(what: string, text: string): void {
  const raw = RAW.exec(text);
  assert.equal(raw, null, `${what}: raw U+${raw?.[0].codePointAt(0)?.toString(16).padStart(4, '0')} in ${JSON.stringify(text)}`);
  for (const line of text.split('\n').filter((l) => !isJson(l))) {
    for (let at = line.indexOf(MARK); at !== -1; at = line.indexOf(MARK, at + 1)) {
      const quotesBefore = line.slice(0, at).split('"').length - 1;
      assert.ok(quotesBefore % 2 === 1 && !line.startsWith('"'), `${what}: foreign words not quoted after a label: ${JSON.stringify(line)}`);
    }
  }
  for (const line of text.split('\n')) {
    if (line.includes('evil.example')) assert.ok(line.includes(MARK), `${what}: a forged line of its own: ${JSON.stringify(line)}`);
  }
}

/**
 * Nothing raw a terminal, a notification or a webview would obey in any string of `value` (at any depth); line feeds
 * are allowed only where a surface has lines of its own (`linesOfOurs`: tooltips, Markdown).
 */
export function assertNoRawText(what: string, value: unknown, linesOfOurs = false): void {
  if (typeof value === 'string') {
    const raw = RAW.exec(linesOfOurs ? value : value.replace(/\n/g, '\x00'));
    assert.equal(raw, null, `${what}: raw U+${raw?.[0].codePointAt(0)?.toString(16).padStart(4, '0')} in ${JSON.stringify(value)}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertNoRawText(`${what}[${i}]`, v, linesOfOurs));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertNoRawText(`${what}.${k}`, v, linesOfOurs);
  }
}

function isJson(line: string): boolean {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
}
