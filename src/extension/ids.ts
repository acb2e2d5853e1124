/**
 * Every identifier the extension contributes, in one place: package.json,
 * the code and the end-to-end tests must agree on them (a unit test checks
 * package.json against this file). No imports, so loading it costs nothing; the
 * rules about settings (which are trust settings, from which level) are in settings/scope.ts.
 */

export const EXTENSION_ID = 'blindbox.blindbox-vscode';

export const COMMANDS = {
  transcribe: 'blindbox.transcribe',
  transcribeFromExplorer: 'blindbox.transcribeFromExplorer',
  verify: 'blindbox.verify',
  showAttestation: 'blindbox.showAttestation',
  exportEvidence: 'blindbox.exportEvidence',
  saveTranscriptWithReceipt: 'blindbox.saveTranscriptWithReceipt',
  verifyReceipt: 'blindbox.verifyReceipt',
  showLog: 'blindbox.showLog',
  /** The way to the server step by step (name, route, TCP, the certificate presented, attestation), as a report to paste. */
  networkDiagnostics: 'blindbox.networkDiagnostics',
  /** An OpenAI-compatible endpoint on loopback for other tools, forwarding through this window's trust settings. */
  startLocalEndpoint: 'blindbox.startLocalEndpoint',
  // Setup: the guided configuration, the walkthrough's sample, the BlindBox view.
  configureServer: 'blindbox.configureServer',
  trustRoot: 'blindbox.trustRoot',
  transcribeSample: 'blindbox.transcribeSample',
  openWalkthrough: 'blindbox.openWalkthrough',
  /** After PCR_MISMATCH: pin the value the server attested (confirmed in a modal), then verify again. */
  pinAttestedPcr: 'blindbox.pinAttestedPcr',
} as const;

/** The getting-started walkthrough (`contributes.walkthroughs`), as `workbench.action.openWalkthrough` names it. */
export const WALKTHROUGH_ID = 'blindbox.gettingStarted';

/** The BlindBox view in the Explorer: trust state, policy, age and enclaves; its welcome content offers the setup. */
export const TRUST_VIEW_ID = 'blindbox.trust';

/** Every setting key, as contributed in package.json. */
export const SETTING_KEYS = {
  serverUrl: 'blindbox.serverUrl',
  policy: 'blindbox.policy',
  policyFile: 'blindbox.policyFile',
  trustedRoots: 'blindbox.trustedRoots',
  allowInspectedTls: 'blindbox.allowInspectedTls',
  transcriptFormat: 'blindbox.transcript.format',
  requestTimeoutSeconds: 'blindbox.requestTimeoutSeconds',
  concurrency: 'blindbox.concurrency',
  // Transcript options (docs branch).
  transcriptLanguage: 'blindbox.transcript.language',
  saveNextToAudio: 'blindbox.transcript.saveNextToAudio',
  transcriptStream: 'blindbox.transcript.stream',
} as const;

export type SettingName = keyof typeof SETTING_KEYS;

export const STATUS_BAR_ID = 'blindbox.status';
export const OUTPUT_CHANNEL = 'BlindBox';

/** The webview panel's type (also `AttestationPanel.viewType`). */
export const ATTESTATION_VIEW_TYPE = 'blindbox.attestation';

/** The command a *SETTINGS_INVALID* notification's fix runs (not in the palette). */
export const OPEN_USER_SETTINGS = 'blindbox.internal.openUserSettings';

/** Context key, true while the configured server is a verified enclave (`when` clauses; the walkthrough's *Verify* step). */
export const ATTESTED_CONTEXT = 'blindbox.attested';

/** Context key, true while a server URL is saved in the user's settings (the walkthrough's *Configure* step). */
export const CONFIGURED_CONTEXT = 'blindbox.configured';

/** Context key, true once a transcript was produced (the walkthrough's *Transcribe* step). */
export const TRANSCRIBED_CONTEXT = 'blindbox.transcribed';
