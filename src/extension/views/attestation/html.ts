/**
 * The attestation webview's HTML: a fixed skeleton with stable element ids,
 * no data (the script fills it from a posted model with `textContent`), a
 * strict Content-Security-Policy and a nonce from `crypto.randomBytes`.
 */
import { randomBytes } from 'node:crypto';
import { NONCE_EXPLAINED, PCR_EXPLAINED } from '../../trust/checks.js';

export const ATTESTATION_TITLE = 'BlindBox Attestation';

/** 16 random bytes, base64: unguessable, unlike the samples' Math.random nonce (CVE-2021-34479). */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export interface HtmlInputs {
  /** `webview.cspSource`. */
  readonly cspSource: string;
  readonly nonce: string;
  /** `asWebviewUri` of media/attestation.js and media/attestation.css. */
  readonly scriptUri: string;
  readonly styleUri: string;
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return `default-src 'none'; style-src ${cspSource}; script-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'`;
}

/** Every `id` in the skeleton, for the script, the tests and the end-to-end harness. */
export const ELEMENT_IDS = [
  'bb-root',
  'bb-simulation-banner',
  'bb-verdict',
  'bb-verdict-title',
  'bb-verdict-code',
  'bb-verdict-sentence',
  'bb-verdict-server',
  'bb-verdict-server-text',
  'bb-when',
  'bb-announce',
  'bb-checks',
  'bb-mismatch',
  'bb-mismatch-title',
  'bb-mismatch-sentence',
  'bb-mismatch-actual',
  'bb-mismatch-expected',
  'bb-pin',
  'bb-copy',
  'bb-receipt-section',
  'bb-receipt-title',
  'bb-receipt-file',
  'bb-receipt-text',
  'bb-receipt-matches',
  'bb-receipt-compare',
  'bb-receipt-details',
  'bb-receipt-detail-lines',
  'bb-receipt-when',
  'bb-enclaves-section',
  'bb-enclaves-title',
  'bb-enclaves',
  'bb-verify',
  'bb-configure',
  'bb-export',
  'bb-settings',
  'bb-log',
  'bb-server',
  'bb-policy',
  'bb-policy-note',
  'bb-module-id',
  'bb-service',
  'bb-document-time',
  'bb-document-age',
  'bb-verified-at',
  'bb-nonce',
  'bb-document-sha256',
  'bb-root-label',
  'bb-tls-section',
  'bb-tls-status',
  'bb-tls-attested',
  'bb-tls-presented',
  'bb-tls-certificate',
  'bb-pcr-section',
  'bb-pcr-table',
  'bb-pcr-rows',
  'bb-pcr-none',
  'bb-pcr-folded',
  'bb-pcr-folded-summary',
  'bb-pcr-folded-rows',
  'bb-chain-section',
  'bb-chain',
  'bb-generated-at',
] as const;

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Our own fixed sentences, escaped as text. */
function text(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fact(id: string, label: string): string {
  return `<div class="bb-fact" id="${id}-row"><dt>${label}</dt><dd id="${id}" class="bb-value"></dd></div>`;
}

export function attestationHtml(inputs: HtmlInputs): string {
  const nonce = attr(inputs.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(inputs.cspSource, inputs.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(inputs.styleUri)}">
<title>${ATTESTATION_TITLE}</title>
</head>
<body>
<main id="bb-root" data-state="loading">
  <div id="bb-announce" class="bb-visually-hidden" role="status" aria-live="polite" aria-atomic="true"></div>
  <div id="bb-simulation-banner" class="bb-banner" hidden></div>
  <header class="bb-header">
    <h1>${ATTESTATION_TITLE}</h1>
    <div class="bb-actions">
      <button id="bb-verify" type="button">Verify again</button>
      <button id="bb-export" type="button">Export evidence…</button>
      <button id="bb-configure" type="button" class="bb-secondary">Configure…</button>
      <button id="bb-settings" type="button" class="bb-secondary" title="Your user settings: where BlindBox reads its trust settings in every window">User settings</button>
      <button id="bb-log" type="button" class="bb-secondary">Show log</button>
    </div>
  </header>
  <section id="bb-verdict" class="bb-verdict">
    <h2 id="bb-verdict-title">Loading…</h2>
    <p><code id="bb-verdict-code" hidden></code> <span id="bb-verdict-sentence"></span></p>
    <p id="bb-verdict-server" class="bb-server-said" hidden><span class="bb-server-said-label">Server said (not verified by BlindBox):</span> <q id="bb-verdict-server-text"></q></p>
    <p id="bb-when" class="bb-when" hidden></p>
  </section>
  <ol id="bb-checks" class="bb-checks" aria-label="The three checks"></ol>
  <section id="bb-mismatch" class="bb-section bb-mismatch" hidden>
    <h2 id="bb-mismatch-title">The PCR does not match the policy</h2>
    <p id="bb-mismatch-sentence"></p>
    <dl class="bb-facts">
      <div class="bb-fact"><dt>The server attested</dt><dd id="bb-mismatch-actual" class="bb-value bb-hex"></dd></div>
      <div class="bb-fact"><dt>The policy expects</dt><dd id="bb-mismatch-expected" class="bb-value bb-hex"></dd></div>
    </dl>
    <p class="bb-muted">${text(PCR_EXPLAINED)}</p>
    <div class="bb-actions">
      <button id="bb-pin" type="button">Pin the server's PCR…</button>
      <button id="bb-copy" type="button" class="bb-secondary">Copy</button>
    </div>
  </section>
  <section class="bb-section bb-receipt" id="bb-receipt-section" hidden>
    <h2 id="bb-receipt-title">Receipt</h2>
    <p id="bb-receipt-file" class="bb-muted"></p>
    <p id="bb-receipt-text"></p>
    <ul id="bb-receipt-matches" class="bb-receipt-matches"></ul>
    <button id="bb-receipt-compare" type="button" hidden>Compare with the signed text</button>
    <details id="bb-receipt-details" hidden><summary>Details</summary><ul id="bb-receipt-detail-lines" class="bb-hex"></ul></details>
    <p id="bb-receipt-when" class="bb-when"></p>
  </section>
  <section class="bb-section" id="bb-enclaves-section" hidden>
    <h2 id="bb-enclaves-title">Enclaves</h2>
    <table class="bb-table bb-enclaves-table">
      <thead><tr><th scope="col">Enclave module</th><th scope="col">PCR0</th><th scope="col">TLS key (SHA-256)</th><th scope="col">Verified</th><th scope="col">Root</th></tr></thead>
      <tbody id="bb-enclaves"></tbody>
    </table>
  </section>
  <h2 class="bb-details-title">Details</h2>
  <section class="bb-section">
    <h2>Server and document</h2>
    <dl class="bb-facts">
      ${fact('bb-server', 'Server')}
      ${fact('bb-policy', 'Policy')}
      ${fact('bb-module-id', 'Enclave module')}
      ${fact('bb-service', 'Service (attested)')}
      ${fact('bb-document-time', 'Document time')}
      ${fact('bb-document-age', 'Age')}
      ${fact('bb-verified-at', 'Verified at')}
      ${fact('bb-nonce', 'Nonce')}
      ${fact('bb-document-sha256', 'Document SHA-256')}
      ${fact('bb-root-label', 'Trust anchor')}
    </dl>
    <p class="bb-muted">${text(NONCE_EXPLAINED)}</p>
  </section>
  <section class="bb-section" id="bb-tls-section">
    <h2>TLS binding</h2>
    <p id="bb-tls-status" class="bb-tls-status"></p>
    <dl class="bb-facts">
      ${fact('bb-tls-attested', 'Attested key (SHA-256 of public_key)')}
      ${fact('bb-tls-presented', 'Presented key (SHA-256 of SPKI)')}
      ${fact('bb-tls-certificate', 'Presented certificate SHA-256')}
    </dl>
  </section>
  <section class="bb-section" id="bb-pcr-section">
    <h2>Measurements (PCRs)</h2>
    <p class="bb-muted">${text(PCR_EXPLAINED)}</p>
    <p id="bb-policy-note" class="bb-note" hidden></p>
    <table id="bb-pcr-table" class="bb-table">
      <thead><tr><th scope="col">PCR</th><th scope="col">Value</th><th scope="col">Policy expects</th><th scope="col">Result</th></tr></thead>
      <tbody id="bb-pcr-rows"></tbody>
    </table>
    <p id="bb-pcr-none" class="bb-muted" hidden>The policy pins no PCR.</p>
    <details id="bb-pcr-folded" class="bb-folded">
      <summary id="bb-pcr-folded-summary"></summary>
      <table class="bb-table">
        <thead><tr><th scope="col">PCR</th><th scope="col">Value</th><th scope="col">Policy expects</th><th scope="col">Result</th></tr></thead>
        <tbody id="bb-pcr-folded-rows"></tbody>
      </table>
    </details>
  </section>
  <section class="bb-section" id="bb-chain-section">
    <h2>Certificate chain (root → leaf)</h2>
    <ol id="bb-chain" class="bb-chain"></ol>
  </section>
  <footer class="bb-footer">Shown at <span id="bb-generated-at"></span></footer>
</main>
<script nonce="${nonce}" src="${attr(inputs.scriptUri)}"></script>
</body>
</html>
`;
}
