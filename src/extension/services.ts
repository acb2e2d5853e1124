/**
 * The heavy half of the extension, as one named object: everything that needs the core's CBOR, X.509, undici or
 * multipart code. ctx.ts loads this module with `import()` on first use (esbuild turns it into a second bundle,
 * dist/extension-core.cjs), so that activation only pays for the status bar, the command table and the trust state.
 */
import { checkedFile, checkedWhole, checkOutputPlan, writeFileAtomic, loadPolicyFile, MAX_RECEIPT_FILE_BYTES, MAX_ROOT_FILE_BYTES, parseReceiptFile, readFileCapped, receiptFileText, receiptStatement, sha256FileHex, sha256Hex, verifyReceiptFile } from '../core/index.js';
import { buildEvidence, evidenceFileName } from './evidence.js';
import { parseServerUrl, parseSettings } from './settings.js';
import { configuredPolicyLabel, derToPem, inlinePolicy, pcr0Problem, pinnedPolicy, rootCandidate, serverUrlProblem, simulationWarning, withRoots } from './setup-model.js';
import { renderTranscriptDocument, wireFormat } from './transcript-document.js';
import { transcriptProvenance } from '../core/transcript-markdown.js';
import { Attestor, loadTrust } from './trust/attestor.js';
import { attestationViewModel } from './view-model.js';

export const services = Object.freeze({
  /** The one Attestor of the extension (the TrustController's), logging through `log`. */
  createAttestor: (log: (line: string) => void) => new Attestor({ log }),
  parseSettings,
  attestationViewModel,
  buildEvidence,
  evidenceFileName,
  renderTranscriptDocument,
  wireFormat,
  checkedFile,
  checkedWhole,
  transcriptProvenance,
  loadTrust,
  parseReceiptFile,
  readFileCapped,
  MAX_RECEIPT_FILE_BYTES,
  checkOutputPlan,
  writeFileAtomic,
  receiptFileText,
  receiptStatement,
  sha256FileHex,
  sha256Hex,
  verifyReceiptFile,
  /** What *Configure Server…* decides (setup-model.ts), and the readers it needs. */
  setup: Object.freeze({ configuredPolicyLabel, serverUrlProblem, parseServerUrl, rootCandidate, simulationWarning, withRoots, pcr0Problem, pinnedPolicy, inlinePolicy, derToPem, loadPolicyFile, readFileCapped, MAX_ROOT_FILE_BYTES }),
});

/** What the lazily loaded half offers. */
export type Services = typeof services;
