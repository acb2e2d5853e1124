/** Public API of the attested client core (no `vscode` here: it runs in Node, tests and the CLI). */
export * from './errors.js';
export { verifyAttestation, type VerifyOptions, type VerifiedAttestation } from './attestation/verify.js';
export { type CertificateSummary, clearChainCaches } from './attestation/chain.js';
export { AWS_NITRO_ROOT_G1, AWS_NITRO_ROOT_G1_SHA256, trustedRootsFromPem, pemCertificates, type TrustedRoot } from './attestation/roots.js';
export { sha256Hex, sha256FileHex } from './util/sha256.js';
export { type PcrPolicy, normalisePcrPolicy, pcrIndex } from './attestation/policy.js';
export { toHex, fromHex } from './util/hex.js';
export { escapeControls, jsonText, oneLine, quoteServerText } from '../shared/text.js';
export { formatAge } from './util/format-age.js';
export { readFileCapped } from './util/read-capped.js';
export { shownPath } from './util/regular-file.js';
export { checkOutputPlan, writeFileAtomic, type PlannedOutput } from './util/output-files.js';
export { verifiedReport, rejectedReport, type VerifiedReport, type RejectedReport, type ChainEntryReport } from './attestation/report.js';
export { decodeServiceInfo } from './attestation/service-info.js';
export { AttestedSession, connect, type AttestedListener, type ConnectOptions } from './transport/session.js';
export type { RequestOptions, PinnedRequester, PinnedResponse } from './transport/request.js';
export { type AttestedEnclave, type TlsBinding } from './transport/attested-enclave.js';
export { type AttestationPolicy, DEFAULT_POLICY, DEFAULT_MAX_AGE_SECONDS, MAX_MAX_AGE_SECONDS, MAX_POLICY_FILE_BYTES, MAX_ROOT_FILE_BYTES, parsePolicy, loadPolicyFile, loadRootFile } from './policy.js';
export { transcribe, parseTranscript, busyWaitMs, DEFAULT_RETRY, type RetryPolicy, type TranscribeOptions, type TranscriptResult, type ParsedTranscript } from './transport/transcribe.js';
export { fileSource, bytesSource, checkAudioSize, checkedFile, checkedWhole, type AudioSource, type CheckedAudio, type WholeFileReader } from './audio-source.js';
// The wire contract's facts a client needs, from their one owner.
export { MAX_DOCUMENT_BYTES, MAX_UPLOAD_BYTES, TRANSCRIPT_FORMATS, type ServiceInfo, type Segment, type TranscriptFormat } from '../protocol/index.js';
export { type TranscriptReceipt } from './transport/transcribe.js';
export { retryLine, type RetryNotice } from './util/retry-notice.js';
export { verifyReceiptDocument, decodeReceiptContent, type ReceiptExpectations, type VerifiedReceipt } from './receipt/verify.js';
export { buildReceiptFile, parseReceiptFile, receiptFileText, writeReceiptFile, MAX_RECEIPT_FILE_BYTES, RECEIPT_FILE_FORMAT, type ReceiptFile, type ReceiptContext } from './receipt/file.js';
export { verifyReceiptFile, receiptStatement, type OfflineCheck, type VerifiedReceiptFile } from './receipt/offline.js';
export { EVIDENCE_FORMAT, MAX_EVIDENCE_FILE_BYTES, parseEvidenceFile, verifyEvidence, type AttestationEvidence, type EnclaveEvidence, type ParsedEvidence, type VerifiedEvidence } from './evidence/file.js';
