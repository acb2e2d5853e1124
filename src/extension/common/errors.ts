/**
 * The extension's own failures, in the core's style: a code table of default sentences and one branded class.
 * The core's codes pass through the extension unchanged; these are the few only the extension raises.
 */
import { BlindBoxError, brandErrorClass } from '../../core/errors.js';

/** Codes the extension itself raises, each with its default sentence. */
export const EXTENSION_ERROR_CODES = {
  NOT_CONFIGURED: 'No server is configured: run “BlindBox: Configure Server…” (it writes blindbox.serverUrl to your user settings).',
  SETTINGS_INVALID: 'A BlindBox setting is invalid.',
  AUDIO_UNREADABLE: 'The audio file cannot be read.',
  INTERNAL_ERROR: 'BlindBox failed unexpectedly; the log has the details.',
} as const;

export type ExtensionErrorCode = keyof typeof EXTENSION_ERROR_CODES;

/**
 * A failure the extension raises on purpose, with one of its own codes. Branded
 * like the core's errors: the extension ships as two bundles (the eager part and
 * the lazily loaded core), each with its own copy of this class.
 */
export class ExtensionError extends BlindBoxError {
  declare readonly code: ExtensionErrorCode;

  constructor(code: ExtensionErrorCode, message: string = EXTENSION_ERROR_CODES[code], options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ExtensionError';
  }
}
brandErrorClass(ExtensionError, 'blindbox.error.extension');
