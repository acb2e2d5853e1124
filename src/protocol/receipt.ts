/**
 * Transcript receipts: for every transcription the server answers with a fresh attestation document whose
 * `user_data` is the CBOR map below, binding the exact audio bytes it received to the exact transcript bytes it
 * returned, and whose `public_key` is the key of the TLS connection it answered on. This module owns the map's keys,
 * their types and the two HTTP headers; the server encodes the map, the client core decodes and checks it.
 *
 * user_data = {                       ; CBOR map, text keys in this order
 *   "receipt":           "blindbox-receipt/1",
 *   "audio_sha256":      bstr .size 32,  ; SHA-256 of the uploaded file's bytes, exactly as received
 *   "audio_bytes":       uint,
 *   "transcript_sha256": bstr .size 32,  ; SHA-256 of the response body, exactly as sent
 *   "format":            tstr,           ; json | text | verbose_json | srt | vtt
 *   "endpoint":          tstr,           ; /whisper/predict | /v1/audio/transcriptions
 *   "engine":            tstr,
 *   "model":             tstr,
 *   "request_time":      uint,           ; ms since the Unix epoch, when the request arrived
 * }
 * nonce = the request's `blindbox-receipt-nonce` (or 32 random bytes the server chose when the client sent none)
 */
import { TRANSCRIPT_FORMATS, type TranscriptFormat } from './transcript.js';

/** The value of the `receipt` key: names the structure and its version. */
export const RECEIPT_VERSION = 'blindbox-receipt/1';

/** Response header carrying the receipt: the attestation document, standard base64, on one line. */
export const RECEIPT_HEADER = 'blindbox-receipt';

/** Request header with the client's fresh nonce (hex), which the receipt's document must carry. */
export const RECEIPT_NONCE_HEADER = 'blindbox-receipt-nonce';

/**
 * Largest receipt header value (base64) a server sends and a client accepts. A real NSM document is about 4.5 KiB
 * (6 KiB in base64); Node's and undici's parsers, and Python's h11 (httpx, the OpenAI SDK), stop at 16 KiB for all
 * headers together, so a receipt near this cap still leaves room for the rest.
 */
export const MAX_RECEIPT_HEADER_BYTES = 10 * 1024;

/** What a receipt binds; hashes as bytes. */
export interface ReceiptContent {
  readonly version: typeof RECEIPT_VERSION;
  readonly audioSha256: Uint8Array;
  readonly audioBytes: number;
  readonly transcriptSha256: Uint8Array;
  readonly format: TranscriptFormat;
  readonly endpoint: string;
  readonly engine: string;
  readonly model: string;
  /** Milliseconds since the Unix epoch. */
  readonly requestTime: number;
}

/** The map the server encodes as `user_data` (integers as bigint, so a CBOR encoder writes them as uint). */
export function receiptToMap(content: ReceiptContent): Map<string, string | Uint8Array | bigint> {
  return new Map<string, string | Uint8Array | bigint>([
    ['receipt', content.version],
    ['audio_sha256', content.audioSha256],
    ['audio_bytes', BigInt(content.audioBytes)],
    ['transcript_sha256', content.transcriptSha256],
    ['format', content.format],
    ['endpoint', content.endpoint],
    ['engine', content.engine],
    ['model', content.model],
    ['request_time', BigInt(content.requestTime)],
  ]);
}

/** Reads a decoded `user_data` map; the reason it is not a receipt when it is not one (e.g. a service description). */
export function receiptFromMap(map: ReadonlyMap<unknown, unknown>): ReceiptContent | { readonly invalid: string } {
  if (map.get('receipt') !== RECEIPT_VERSION) return { invalid: `its "receipt" field is not ${JSON.stringify(RECEIPT_VERSION)}` };
  const expected = new Set(['receipt', 'audio_sha256', 'audio_bytes', 'transcript_sha256', 'format', 'endpoint', 'engine', 'model', 'request_time']);
  for (const key of map.keys()) if (typeof key !== 'string' || !expected.has(key)) return { invalid: `it has an unknown field ${JSON.stringify(String(key))}` };
  const hash = (key: string) => (map.get(key) instanceof Uint8Array && (map.get(key) as Uint8Array).length === 32 ? (map.get(key) as Uint8Array) : undefined);
  const text = (key: string) => (typeof map.get(key) === 'string' ? (map.get(key) as string) : undefined);
  const uint = (key: string) => {
    const v = map.get(key);
    const n = typeof v === 'bigint' ? Number(v) : v;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  };
  const audioSha256 = hash('audio_sha256');
  const transcriptSha256 = hash('transcript_sha256');
  if (!audioSha256 || !transcriptSha256) return { invalid: 'its audio or transcript hash is not 32 bytes' };
  const format = text('format');
  if (!format || !(TRANSCRIPT_FORMATS as readonly string[]).includes(format)) return { invalid: 'its "format" is not a transcript format' };
  const endpoint = text('endpoint');
  const engine = text('engine');
  const model = text('model');
  if (endpoint === undefined || engine === undefined || model === undefined) return { invalid: 'its "endpoint", "engine" or "model" is not text' };
  const audioBytes = uint('audio_bytes');
  const requestTime = uint('request_time');
  if (audioBytes === undefined || requestTime === undefined) return { invalid: 'its "audio_bytes" or "request_time" is not an unsigned integer' };
  return Object.freeze({ version: RECEIPT_VERSION, audioSha256, audioBytes, transcriptSha256, format: format as TranscriptFormat, endpoint, engine, model, requestTime });
}
