/** Putting untrusted text (from a server, a certificate or a file name) into Markdown without giving it any power. */
import { oneLine } from '../../shared/text.js';

/**
 * One line of inert Markdown text: backslash-escapes what could start
 * emphasis, code, links, images, HTML, tables, headings or entities, and a
 * leading list or block marker. Full stops, commas and colons stay readable.
 */
export function escapeMarkdown(text: string): string {
  return oneLine(text)
    .replace(/[\\`*_{}[\]()<>|~&#!]/g, (c) => `\\${c}`)
    .replace(/^[-+=]/, (m) => `\\${m}`)
    .replace(/^(\d+)([.)])/, '$1\\$2');
}

/** An inline code span: inert in Markdown; backticks inside are replaced, since a code span cannot escape them. */
export function codeSpan(text: string): string {
  const clean = oneLine(text).replace(/`/g, "'");
  return clean ? `\`${clean}\`` : '*(none)*';
}
