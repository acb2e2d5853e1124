/**
 * The BlindBox wire contract, shared by the client core (and through it the extension and the CLI) and the
 * reference server: each fact has one owner here, so the two sides cannot drift apart. Only data, types and pure
 * functions: no I/O, no dependency (the CBOR that carries the service description is read by the core and written
 * by the server, each with its own codec).
 */
export { ENDPOINTS, UPLOAD_FIELDS, type Endpoint } from './endpoints.js';
export { CLIENT_NONCE_BYTES, MAX_DOCUMENT_BYTES, MAX_NONCE_BYTES, MAX_UPLOAD_BYTES, MIN_NONCE_BYTES } from './limits.js';
export { DEFAULT_TRANSCRIPT_FORMAT, TRANSCRIPT_FORMATS, isTranscriptFormat, type Segment, type TranscriptFormat, type VerboseTranscript } from './transcript.js';
export { serviceInfoFromMap, serviceInfoToMap, type ServiceInfo } from './service-info.js';
export { ACCEPTED_FORMATS, AUDIO_FILE_EXTENSIONS, classifyAudio, detectFormat, type AudioClass, type Codec, type ReadAt } from './audio-format.js';
export { RETRY_STATUSES, SERVER_ERROR_CODES, serverErrorSpec, type RetryingServerErrorCode, type ServerErrorCode, type ServerErrorSpec } from './server-errors.js';
export { SIMULATION_ROOT_NAME } from './simulation-root.js';
