// @ts-check
// The BlindBox attestation webview. It renders the model the extension posts, with createElement and textContent
// only: every value may come from a server or a certificate, so none is ever parsed as HTML. It sends back only the
// five fixed messages of src/extension/webview-protocol.ts.
(function () {
  'use strict';
  // Called once, never stored on window.
  const vscode = acquireVsCodeApi();

  /** @param {string} id */
  function byId(id) {
    const el = document.getElementById(id);
    if (!el) throw new Error('missing element #' + id);
    return el;
  }

  /** @param {string} id @param {unknown} value */
  function setText(id, value) {
    byId(id).textContent = value === null || value === undefined ? '' : String(value);
  }

  /** A fact row (dt/dd) is hidden when it has no value. @param {string} id @param {unknown} value */
  function setFact(id, value) {
    const has = value !== null && value !== undefined && value !== '';
    setText(id, has ? value : '');
    const row = document.getElementById(id + '-row');
    if (row) row.hidden = !has;
  }

  /**
   * @param {string} tag
   * @param {string} [className]
   * @param {unknown} [text]
   */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** @param {HTMLElement} node */
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /** @param {any} model */
  function render(model) {
    const root = byId('bb-root');
    root.dataset.state = String(model.state);

    const banner = byId('bb-simulation-banner');
    banner.hidden = !model.simulationBanner;
    banner.textContent = model.simulationBanner ? String(model.simulationBanner) : '';

    const verdict = byId('bb-verdict');
    verdict.dataset.ok = String(Boolean(model.verdict && model.verdict.ok));
    setText('bb-verdict-title', model.verdict && model.verdict.title);
    const code = byId('bb-verdict-code');
    code.hidden = !(model.verdict && model.verdict.code);
    code.textContent = model.verdict && model.verdict.code ? String(model.verdict.code) : '';
    setText('bb-verdict-sentence', model.verdict && model.verdict.sentence);
    // The server's own words: in their own quoted, labelled element, as text, never run together with ours.
    const said = model.verdict && model.verdict.serverSaid;
    byId('bb-verdict-server').hidden = !said;
    setText('bb-verdict-server-text', said);

    const policy = model.policy;
    setFact('bb-server', model.server);
    setFact('bb-policy', policy ? policy.name + ' — ' + policy.source + ', ' + policy.pinned + ' PCR(s) pinned, re-attested after ' + policy.maxAge : null);
    const note = byId('bb-policy-note');
    note.hidden = !(policy && policy.note);
    note.textContent = policy && policy.note ? String(policy.note) : '';

    const doc = model.document;
    const service = model.service;
    setFact('bb-module-id', doc && doc.moduleId);
    setFact('bb-service', service ? service.service + ' ' + service.version + ' · engine ' + service.engine + ' · model ' + service.model : null);
    setFact('bb-document-time', doc && doc.timestamp);
    setFact('bb-document-age', doc && doc.age);
    setFact('bb-verified-at', doc && (doc.diagnosticOnly ? doc.verifiedAt + ' (fetched for diagnosis only)' : doc.verifiedAt));
    setFact('bb-nonce', doc && doc.nonce);
    setFact('bb-document-sha256', doc && doc.documentSha256);
    setFact('bb-root-label', doc && doc.root);

    const tls = model.tls;
    byId('bb-tls-section').hidden = !tls;
    const tlsStatus = byId('bb-tls-status');
    tlsStatus.dataset.bound = String(Boolean(tls && tls.bound));
    tlsStatus.textContent = tls ? String(tls.text) : '';
    setFact('bb-tls-attested', tls && tls.attestedKeySha256);
    setFact('bb-tls-presented', tls && tls.presentedKeySha256);
    setFact('bb-tls-certificate', tls && tls.presentedCertificateSha256);

    const pcrs = Array.isArray(model.pcrs) ? model.pcrs : [];
    byId('bb-pcr-section').hidden = pcrs.length === 0;
    const rows = byId('bb-pcr-rows');
    clear(rows);
    for (const pcr of pcrs) {
      const tr = el('tr', 'bb-pcr-row');
      tr.id = 'bb-pcr-' + Number(pcr.index);
      tr.dataset.pcrIndex = String(Number(pcr.index));
      tr.dataset.status = String(pcr.status);
      tr.appendChild(el('td', 'bb-pcr-index', 'PCR' + Number(pcr.index)));
      tr.appendChild(el('td', 'bb-pcr-value bb-hex', pcr.value || '(absent)'));
      tr.appendChild(el('td', 'bb-pcr-expected bb-hex', pcr.expected === null ? '—' : pcr.expected));
      const status = el('td', 'bb-pcr-status');
      status.appendChild(el('span', 'bb-badge bb-badge-' + String(pcr.status), pcr.statusText));
      tr.appendChild(status);
      rows.appendChild(tr);
    }

    const chain = Array.isArray(model.chain) ? model.chain : [];
    byId('bb-chain-section').hidden = chain.length === 0;
    const list = byId('bb-chain');
    clear(list);
    for (const cert of chain) {
      const li = el('li', 'bb-chain-entry');
      li.id = 'bb-cert-' + Number(cert.position);
      li.dataset.role = String(cert.role);
      li.dataset.position = String(Number(cert.position));
      li.dataset.validity = String(cert.validity);
      const head = el('div', 'bb-cert-head');
      head.appendChild(el('span', 'bb-cert-role', cert.role));
      head.appendChild(el('span', 'bb-cert-subject', cert.subject));
      li.appendChild(head);
      const dl = el('dl', 'bb-cert-facts');
      /** @param {string} label @param {unknown} value @param {string} className */
      const add = (label, value, className) => {
        dl.appendChild(el('dt', undefined, label));
        dl.appendChild(el('dd', className, value));
      };
      add('Issuer', cert.issuer, 'bb-cert-issuer');
      add('Validity', cert.notBefore + ' → ' + cert.notAfter, 'bb-cert-dates');
      const validity = el('dd', 'bb-cert-validity bb-badge bb-badge-' + String(cert.validity), cert.validityText);
      validity.dataset.validity = String(cert.validity);
      dl.appendChild(el('dt', undefined, 'Status'));
      dl.appendChild(validity);
      add('SHA-256', cert.sha256, 'bb-cert-sha256 bb-hex');
      add('Key', cert.keyAlgorithm + (cert.isCA ? ' · CA' : ''), 'bb-cert-key');
      add('Serial', cert.serialNumber, 'bb-cert-serial bb-hex');
      li.appendChild(dl);
      list.appendChild(li);
    }

    /** @type {HTMLButtonElement} */ (byId('bb-export')).disabled = !model.canExport;
    /** @type {HTMLButtonElement} */ (byId('bb-verify')).disabled = !model.canVerify;
    setText('bb-generated-at', model.generatedAt);
  }

  /** @param {string} id @param {'verify' | 'export' | 'openSettings' | 'showLog'} type */
  function wire(id, type) {
    byId(id).addEventListener('click', () => vscode.postMessage({ type }));
  }
  wire('bb-verify', 'verify');
  wire('bb-export', 'export');
  wire('bb-settings', 'openSettings');
  wire('bb-log', 'showLog');

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (typeof message !== 'object' || message === null || message.type !== 'model' || typeof message.model !== 'object' || message.model === null) return;
    render(message.model);
  });

  vscode.postMessage({ type: 'ready' });
})();
