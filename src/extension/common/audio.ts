/**
 * Which files the extension offers to transcribe. The list is the single
 * source for the explorer `when` clause (package.json, checked by a test),
 * the open dialog's filter and the command-palette path.
 */
import { AUDIO_FILE_EXTENSIONS } from '../../protocol/audio-format.js';

/** Extensions of the formats the server decodes (lower case, no dot): offered = decoded, one list in the protocol. */
export const AUDIO_EXTENSIONS = AUDIO_FILE_EXTENSIONS;

/** The `when` clause of the explorer menu entry (`resourceExtname` includes the dot). */
export const AUDIO_WHEN_CLAUSE = `resourceExtname =~ /^\\.(${AUDIO_EXTENSIONS.join('|')})$/i`;

/** The open dialog's filter. */
export const AUDIO_DIALOG_FILTERS: Readonly<Record<string, string[]>> = Object.freeze({ Audio: [...AUDIO_EXTENSIONS] });

/** True when the path or file name ends in one of the audio extensions, in any case. */
export function isAudioPath(pathOrName: string): boolean {
  const m = /\.([^./\\]+)$/.exec(pathOrName);
  return m !== null && (AUDIO_EXTENSIONS as readonly string[]).includes(m[1]!.toLowerCase());
}

/** The last path segment of a path or URI path (`/` or `\` separated). */
export function baseName(pathOrName: string): string {
  const parts = pathOrName.split(/[/\\]/).filter(Boolean);
  return parts.at(-1) ?? pathOrName;
}
