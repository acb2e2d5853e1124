/**
 * The heavy half of the extension: everything that needs the core's CBOR, X.509, undici or multipart code, as one
 * typed facet per flow. ctx.ts loads this module with `import()` on first use (esbuild turns it into a second bundle,
 * dist/extension-core.cjs), so that activation only pays for the status bar, the command table and the trust state.
 */
import { checkedFile, checkedWhole, checkOutputPlan, writeFileAtomic, loadPolicyFile, MAX_RECEIPT_FILE_BYTES, MAX_ROOT_FILE_BYTES, parseReceiptFile, readFileCapped, receiptFileText, receiptHashLines, receiptStatement, sha256FileHex, sha256Hex, verifyReceiptFile } from '../core/index.js';
import { buildEvidence, evidenceFileName } from './evidence/model.js';
import { parseServerUrl, parseSettings } from './settings/model.js';
import { configuredPolicyLabel, derToPem, inlinePolicy, pcr0Problem, pinnedPolicy, presentedRoot, replacementWarning, repinnedPolicy, rootCandidate, serverUrlProblem, simulationReplacement, simulationWarning, withRoots } from './setup/model.js';
import { documentLanguage, renderTranscriptDocument, wireFormat } from './transcribe/document.js';
import { streamedPiece, streamedStart, streamedStatusLine, streamedTranscript } from './transcribe/streamed-document.js';
import { transcriptProvenance } from '../core/transcript-markdown.js';
import { blobDurationSeconds } from '../core/audio-duration.js';
import { isSealedStreamRefusal } from '../core/transport/transcribe.js';
import { Attestor, loadTrust } from './trust/attestor.js';
import { editorProxyResolver } from './trust/editor-proxy.js';
import { attestationViewModel } from './views/attestation/model.js';
import { diagnoseServer } from './diagnose/run.js';
import { startWindowEndpoint } from './local-endpoint/run.js';

/** Writing beside the audio (transcripts, receipts) and reading files the user picked. */
const files = Object.freeze({ checkOutputPlan, writeFileAtomic, readFileCapped });

export const services = Object.freeze({
  /**
   * What `Ctx` needs: the one Attestor of the extension (the TrustController's, logging through `log`, asking VS Code's
   * proxy resolver from its installation at `appRoot` for a system or PAC proxy), settings, the view.
   */
  trust: Object.freeze({
    createAttestor: (log: (line: string) => void, appRoot?: string) => {
      const resolveProxy = editorProxyResolver(appRoot);
      log(resolveProxy ? "VS Code's proxy resolver is available: a system or PAC proxy is followed where no setting or variable names one" : "VS Code's proxy resolver is not available here: only http.proxy and HTTPS_PROXY decide the route");
      return new Attestor({ log, resolveProxy });
    },
    parseSettings,
    attestationViewModel,
  }),
  files,
  /** *Transcribe*: checking audio, its length (for the estimate), the wire format, the document and its provenance header; a streamed document's pieces. */
  transcribe: Object.freeze({ checkedFile, checkedWhole, blobDurationSeconds, wireFormat, renderTranscriptDocument, transcriptProvenance, files, documentLanguage, streamedStart, streamedPiece, streamedStatusLine, streamedTranscript, isSealedStreamRefusal }),
  /** *Save Transcript with Receipt* and *Verify Receipt…*. */
  receipts: Object.freeze({ parseReceiptFile, MAX_RECEIPT_FILE_BYTES, receiptFileText, receiptHashLines, receiptStatement, verifyReceiptFile, loadTrust, sha256FileHex, sha256Hex, files }),
  /** *Export Evidence*. */
  evidence: Object.freeze({ buildEvidence, evidenceFileName }),
  /** *Network Diagnostics*. */
  diagnose: Object.freeze({ diagnoseServer }),
  /** *Start Local Endpoint*. */
  localEndpoint: Object.freeze({ startWindowEndpoint }),
  /** What *Configure Server…* decides (setup/model.ts), and the readers it needs. */
  setup: Object.freeze({ configuredPolicyLabel, serverUrlProblem, parseServerUrl, rootCandidate, simulationWarning, withRoots, presentedRoot, simulationReplacement, replacementWarning, pcr0Problem, pinnedPolicy, repinnedPolicy, inlinePolicy, derToPem, loadPolicyFile, readFileCapped, MAX_ROOT_FILE_BYTES }),
});

/** What the lazily loaded half offers. */
export type Services = typeof services;
/** One flow's facet. */
export type TranscribeServices = Services['transcribe'];
export type ReceiptServices = Services['receipts'];
export type FileServices = Services['files'];
export type SetupServices = Services['setup'];
