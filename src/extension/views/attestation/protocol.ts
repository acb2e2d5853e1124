/**
 * Messages between the attestation webview and the extension. What the
 * webview sends is untrusted input (a compromised page could post anything):
 * it is checked against this closed set before anything acts on it.
 */
import type { AttestationViewModel } from './model.js';

/** Extension → webview. */
export type HostMessage = { readonly type: 'model'; readonly model: AttestationViewModel };

/** Every message type the webview may send, the one list the parser checks against. */
/** `pinPcr` and `copyPcr` carry no value: the extension takes the PCR from its own trust state. */
export const WEBVIEW_MESSAGE_TYPES = ['ready', 'verify', 'export', 'openSettings', 'showLog', 'configure', 'pinPcr', 'copyPcr', 'compareReceipt'] as const;

/** Webview → extension. */
export type WebviewMessage = { readonly type: (typeof WEBVIEW_MESSAGE_TYPES)[number] };

const TYPES: ReadonlySet<string> = new Set(WEBVIEW_MESSAGE_TYPES);

/** The message if it is exactly one of ours (an object with a known `type` and no other field), else undefined. */
export function parseWebviewMessage(value: unknown): WebviewMessage | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const type = (value as { type?: unknown }).type;
  if (keys.length !== 1 || typeof type !== 'string' || !TYPES.has(type)) return undefined;
  return { type } as WebviewMessage;
}
