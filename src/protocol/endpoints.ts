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
} as const;
