// @ts-check
// The BlindBox attestation webview. It renders the model the extension posts, with createElement and textContent
// only: every value may come from a server or a certificate, so none is ever parsed as HTML. It sends back only the
// fixed messages of src/extension/views/attestation/protocol.ts.
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

  /** Text that did not change is left alone (no DOM churn on a refresh). @param {string} id @param {unknown} value */
  function setText(id, value) {
    const node = byId(id);
    const text = value === null || value === undefined ? '' : String(value);
    if (node.textContent !== text) node.textContent = text;
  }

  /**
   * `value` into `node` as text, the character at `at` (the first one that differs from the other value) in a <mark>.
   * @param {HTMLElement} node @param {unknown} value @param {unknown} at
   */
  function markedHex(node, value, at) {
    clear(node);
    const text = String(value);
    const i = typeof at === 'number' && at >= 0 && at < text.length ? at : -1;
    if (i < 0) {
      node.textContent = text;
      return;
    }
    node.appendChild(el('span', undefined, text.slice(0, i)));
    const mark = el('mark', 'bb-diff', text.charAt(i));
    mark.title = 'first difference: digit ' + (i + 1);
    node.appendChild(mark);
    node.appendChild(el('span', undefined, text.slice(i + 1)));
  }

  /** What the polite live region last said: it speaks once per change of the verdict, not on every refresh. */
  let announced = '';

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

  /**
   * A time as people read it: the relative age and the local clock time (the viewer's time zone), UTC in the tooltip.
   * @param {any} time @returns {{ text: string, utc: string }}
   */
  function localTime(time) {
    const date = new Date(Number(time.at));
    const sameDay = date.toDateString() === new Date().toDateString();
    const clock = sameDay ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
    return { text: String(time.relative) + ', ' + clock, utc: String(time.utc) + ' (UTC)' };
  }

  const CHECK_GLYPHS = /** @type {Record<string, string>} */ ({ pass: '✓', warn: '!', fail: '✗', unknown: '–' });

  /** @param {any[]} checks */
  function renderChecks(checks) {
    const list = byId('bb-checks');
    clear(list);
    list.hidden = checks.length === 0;
    for (const c of checks) {
      const li = el('li', 'bb-check');
      li.id = 'bb-check-' + String(c.id);
      li.dataset.state = String(c.state);
      // A real heading, so that a screen reader's heading list names the three checks.
      const head = el('h3', 'bb-check-head');
      const glyph = el('span', 'bb-check-glyph', CHECK_GLYPHS[String(c.state)] || '?');
      glyph.setAttribute('aria-hidden', 'true');
      head.appendChild(glyph);
      head.appendChild(el('span', 'bb-check-title', c.title));
      head.appendChild(el('span', 'bb-check-state', c.stateText));
      li.appendChild(head);
      li.appendChild(el('p', 'bb-check-summary', c.summary));
      const facts = Array.isArray(c.facts) ? c.facts : [];
      if (facts.length > 0) {
        const ul = el('ul', 'bb-check-facts');
        for (const f of facts) ul.appendChild(el('li', undefined, f));
        li.appendChild(ul);
      }
      list.appendChild(li);
    }
  }

  /** The last *Verify Receipt…* outcome (text only, like everything here). @param {any} receipt */
  function renderReceipt(receipt) {
    const section = byId('bb-receipt-section');
    section.hidden = !receipt;
    if (!receipt) return;
    section.dataset.ok = String(Boolean(receipt.ok));
    setText('bb-receipt-title', String(receipt.title));
    setText('bb-receipt-file', String(receipt.file));
    setText('bb-receipt-text', String(receipt.text));
    const matches = byId('bb-receipt-matches');
    clear(matches);
    for (const m of Array.isArray(receipt.matches) ? receipt.matches : []) {
      const li = el('li', m.ok ? 'bb-match-ok' : 'bb-match-bad');
      li.appendChild(el('span', 'bb-check-glyph', m.ok ? '✓' : '✗'));
      li.appendChild(el('span', undefined, ' ' + String(m.text)));
      matches.appendChild(li);
    }
    byId('bb-receipt-compare').hidden = !receipt.canCompare;
    const details = Array.isArray(receipt.details) ? receipt.details : [];
    byId('bb-receipt-details').hidden = details.length === 0;
    const lines = byId('bb-receipt-detail-lines');
    clear(lines);
    for (const line of details) lines.appendChild(el('li', undefined, String(line)));
    const when = localTime(receipt.when);
    const whenEl = byId('bb-receipt-when');
    whenEl.textContent = 'checked ' + when.text;
    whenEl.title = when.utc;
  }

  /** @param {any[]} enclaves */
  function renderEnclaves(enclaves) {
    byId('bb-enclaves-section').hidden = enclaves.length === 0;
    setText('bb-enclaves-title', enclaves.length === 1 ? 'Enclave' : 'Enclaves (' + enclaves.length + ')');
    const body = byId('bb-enclaves');
    clear(body);
    enclaves.forEach((e, i) => {
      const tr = el('tr', 'bb-enclave');
      tr.id = 'bb-enclave-' + i;
      tr.dataset.simulation = String(Boolean(e.simulation));
      tr.appendChild(el('td', 'bb-enclave-module', e.moduleId));
      const pcr0 = el('td', 'bb-enclave-pcr0 bb-hex', e.pcr0Prefix);
      pcr0.title = String(e.pcr0);
      tr.appendChild(pcr0);
      const key = el('td', 'bb-enclave-key bb-hex', e.keyPrefix);
      key.title = String(e.keySha256);
      tr.appendChild(key);
      const when = localTime(e.verified);
      const td = el('td', 'bb-enclave-verified', when.text);
      td.title = when.utc;
      tr.appendChild(td);
      tr.appendChild(el('td', 'bb-enclave-root', (e.simulation ? 'SIMULATION: ' : '') + String(e.root)));
      body.appendChild(tr);
    });
  }

  /** @param {any} pcr */
  function pcrRow(pcr) {
    const tr = el('tr', 'bb-pcr-row');
    tr.id = 'bb-pcr-' + Number(pcr.index);
    tr.dataset.pcrIndex = String(Number(pcr.index));
    tr.dataset.status = String(pcr.status);
    tr.appendChild(el('td', 'bb-pcr-index', 'PCR' + Number(pcr.index)));
    const value = el('td', 'bb-pcr-value bb-hex');
    markedHex(value, pcr.value || '(absent)', pcr.value ? pcr.diffAt : null);
    tr.appendChild(value);
    const expected = el('td', 'bb-pcr-expected bb-hex');
    markedHex(expected, pcr.expected === null ? '—' : pcr.expected, pcr.expected === null ? null : pcr.diffAt);
    tr.appendChild(expected);
    const status = el('td', 'bb-pcr-status');
    status.appendChild(el('span', 'bb-badge bb-badge-' + String(pcr.status), pcr.statusText));
    tr.appendChild(status);
    return tr;
  }

  /** The PCR mismatch: both values in full, the first difference marked, and the pin and copy buttons. @param {any} m */
  function renderMismatch(m) {
    const section = byId('bb-mismatch');
    section.hidden = !m;
    if (!m) return;
    setText('bb-mismatch-title', 'PCR' + Number(m.index) + ' does not match the policy');
    setText('bb-mismatch-sentence', m.sentence);
    markedHex(byId('bb-mismatch-actual'), m.actual === null ? '(absent)' : m.actual, m.at);
    markedHex(byId('bb-mismatch-expected'), m.expected, m.at);
    const pin = /** @type {HTMLButtonElement} */ (byId('bb-pin'));
    pin.hidden = !m.pinLabel;
    setText('bb-pin', m.pinLabel);
    byId('bb-copy').hidden = m.actual === null;
  }

  /** @param {any} model */
  function render(model) {
    // Only a marker: the panel is restored after a window reload; the model always comes fresh from the extension.
    vscode.setState({ restored: true });
    const root = byId('bb-root');
    root.dataset.state = String(model.state);

    byId('bb-simulation-banner').hidden = !model.simulationBanner;
    setText('bb-simulation-banner', model.simulationBanner);
    const title = model.verdict ? String(model.verdict.title) : '';
    const receiptTitle = model.receipt ? String(model.receipt.title) + ': ' + String(model.receipt.file) : '';
    const announcement = [model.simulationBanner ? 'SIMULATION — not confidential.' : '', title, model.verdict && model.verdict.code ? String(model.verdict.code) : '', receiptTitle]
      .filter(Boolean)
      .join(' ');
    if (announcement !== announced) {
      announced = announcement;
      setText('bb-announce', announcement);
    }
    renderMismatch(model.mismatch);

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
    const whenEl = byId('bb-when');
    whenEl.hidden = !model.when;
    if (model.when) {
      const when = localTime(model.when);
      whenEl.textContent = String(model.when.verb) + ' ' + when.text;
      whenEl.title = when.utc;
    }
    renderChecks(Array.isArray(model.checks) ? model.checks : []);
    renderEnclaves(Array.isArray(model.enclaves) ? model.enclaves : []);
    renderReceipt(typeof model.receipt === 'object' ? model.receipt : null);

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
    // PCRs the policy pins lead; the others (zero ones included) fold away, to be opened on demand.
    const shown = pcrs.filter((/** @type {any} */ p) => !p.folded);
    const folded = pcrs.filter((/** @type {any} */ p) => p.folded);
    const rows = byId('bb-pcr-rows');
    clear(rows);
    for (const pcr of shown) rows.appendChild(pcrRow(pcr));
    byId('bb-pcr-table').hidden = shown.length === 0;
    byId('bb-pcr-none').hidden = shown.length > 0;
    const foldedRows = byId('bb-pcr-folded-rows');
    clear(foldedRows);
    for (const pcr of folded) foldedRows.appendChild(pcrRow(pcr));
    byId('bb-pcr-folded').hidden = folded.length === 0;
    const zeros = folded.filter((/** @type {any} */ p) => p.zero).length;
    setText('bb-pcr-folded-summary', folded.length + ' PCR' + (folded.length === 1 ? '' : 's') + ' not in the policy' + (zeros ? ' (' + zeros + ' all zero)' : ''));

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

  /** @param {string} id @param {'verify' | 'export' | 'openSettings' | 'showLog' | 'configure' | 'pinPcr' | 'copyPcr' | 'compareReceipt'} type */
  function wire(id, type) {
    byId(id).addEventListener('click', () => vscode.postMessage({ type }));
  }
  wire('bb-verify', 'verify');
  wire('bb-configure', 'configure');
  wire('bb-export', 'export');
  wire('bb-settings', 'openSettings');
  wire('bb-log', 'showLog');
  wire('bb-pin', 'pinPcr');
  wire('bb-copy', 'copyPcr');
  wire('bb-receipt-compare', 'compareReceipt');

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (typeof message !== 'object' || message === null || message.type !== 'model' || typeof message.model !== 'object' || message.model === null) return;
    render(message.model);
  });

  vscode.postMessage({ type: 'ready' });
})();
