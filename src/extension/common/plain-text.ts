/**
 * Putting a failure, and the untrusted words in it, into plain text that VS Code
 * linkifies (notifications render `[label](target)`, the output channel makes
 * URLs clickable): a certificate subject or a server's answer must not become a
 * link or pass for BlindBox's own advice. Markdown surfaces use markdown.ts.
 */
import { oneLine, quoteServerText } from '../../shared/text.js';
import type { Failure } from './failure.js';

/** `CODE: sentence`, then what the server said, if anything, quoted (the log and notifications). */
export function failureLine(failure: Failure): string {
  const said = failure.serverSaid ? ` ${serverSaidLine(failure.serverSaid)}` : '';
  return `${failure.code}: ${defuseLinks(failure.message)}${said}`;
}

/** Text for a notification: `BlindBox: CODE: sentence`, links defused as in `failureLine`. */
export function notificationText(failure: Failure): string {
  return `BlindBox: ${failureLine(failure)}`;
}

/**
 * `Server said: "…"`: attributed, quoted so that it cannot pass for our sentence, and with links defused and URLs
 * defanged (`https[:]//`) so none is clickable.
 */
export function serverSaidLine(said: string): string {
  return `Server said: ${quoteServerText(defangUrls(defuseLinks(oneLine(said))))}`;
}

/** Breaks `[label](target)` apart, so that no bracket-paren pair renders as a link. */
export function defuseLinks(text: string): string {
  return text.replace(/\]\s*\(/g, '] (');
}

function defangUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*):\/\//gi, '$1[:]//').replace(/\bwww\./gi, 'www[.]');
}
