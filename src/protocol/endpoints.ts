/** The paths a BlindBox server answers, and the multipart fields of its uploads. */

export const ENDPOINTS = {
  /** `GET ?nonce=<hex>` → `application/cbor`: a Nitro attestation document binding the server's TLS key. */
  attestation: '/attestation',
  /** `GET` → `{"status":"ok","attestation":"simulation"|"nsm"}`. */
  health: '/healthz',
  /** `POST` multipart, audio in `UPLOAD_FIELDS.audio` → `text/plain` transcript (BlindBox's own API). */
  whisperPredict: '/whisper/predict',
  /** `POST` multipart `UPLOAD_FIELDS.file` (+ `model`, `language`, `response_format`): OpenAI-compatible. */
  transcriptions: '/v1/audio/transcriptions',
  /** `POST` as `transcriptions`: the speech translated into English, where the engine can (Whisper); 422 otherwise. */
  translations: '/v1/audio/translations',
  /** `GET` → OpenAI's model list: the one model the server attests, named as its service description names it. */
  models: '/v1/models',
} as const;

/** One of the server's paths. */
export type Endpoint = (typeof ENDPOINTS)[keyof typeof ENDPOINTS];

/** Multipart field names of the two upload endpoints. */
export const UPLOAD_FIELDS = {
  /** The audio file of `/whisper/predict`. */
  audio: 'audio',
  /** The audio file of `/v1/audio/transcriptions`. */
  file: 'file',
  /** One of `TRANSCRIPT_FORMATS`. */
  responseFormat: 'response_format',
  /** A language hint, e.g. `en`. */
  language: 'language',
  /** Sampling temperature, 0 to 1 (OpenAI's field); engines that do not sample (PocketSphinx) ignore it. */
  temperature: 'temperature',
  /** The model asked for (OpenAI's field; BlindBox's server transcribes with the model it attests). */
  model: 'model',
  /** Text to condition the model on (OpenAI's field): passed to Whisper; PocketSphinx does not take one (see `IGNORED_FIELDS_HEADER`). */
  prompt: 'prompt',
  /** `word` and/or `segment`, repeated (OpenAI's field): with `verbose_json`, `word` adds the timed words. */
  timestampGranularities: 'timestamp_granularities[]',
} as const;

/**
 * Response header naming, comma-separated, the request fields the engine took no notice of (`prompt`, `temperature`
 * for PocketSphinx, which neither samples nor takes a prompt); absent when every field given was used.
 */
export const IGNORED_FIELDS_HEADER = 'blindbox-ignored-fields';
