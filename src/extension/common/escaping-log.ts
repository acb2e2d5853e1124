/**
 * The output channel with every message escaped (`escapeControls`): a log line quotes servers, certificates, documents
 * and file names, and none of their control or bidi characters may forge or reorder a line of the log.
 */
import { escapeControls } from '../../shared/text.js';

/** The channel's methods that take a message as their first argument. */
const WRITERS = new Set<string | symbol>(['trace', 'debug', 'info', 'warn', 'error', 'append', 'appendLine', 'replace']);

/** `channel` (VS Code's `LogOutputChannel`), whose writers escape their message first; everything else is the channel's own. */
export function escapingLog<Channel extends object>(channel: Channel): Channel {
  return new Proxy(channel, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      if (!WRITERS.has(key)) return value.bind(target);
      return (message: unknown, ...rest: unknown[]) => value.call(target, typeof message === 'string' ? escapeControls(message) : message, ...rest);
    },
  });
}
