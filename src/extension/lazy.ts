/**
 * Everything that needs the heavy part of the core (CBOR, X.509, undici,
 * multipart). ctx.ts loads this module with `import()` on first use, so that
 * activation only pays for the status bar and the command table; esbuild
 * keeps the bundled modules behind it uninitialised until then.
 */
export { Attestor, loadTrust, type AttestOutcome } from './attest.js';
export { parseSettings } from './settings.js';
export { attestationViewModel } from './view-model.js';
export { buildEvidence, evidenceFileName } from './evidence.js';
export { renderTranscriptDocument, wireFormat, type TranscriptProvenance } from './transcript-document.js';
export { fileSource, bytesSource } from '../core/index.js';
