/**
 * The webview's HTML and script. The script runs here against a tiny fake DOM
 * (no jsdom): elements whose `innerHTML`/`outerHTML` setters throw, so any
 * attempt to parse markup fails the test; hostile certificate text must come
 * out as text content.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import vm from 'node:vm';
import { AttestationError, ChannelError } from '../../../../src/core/errors.js';
import type { TrustState } from '../../../../src/extension/trust/trust-state.js';
import { describeFailure } from '../../../../src/extension/common/failure.js';
import { attestationViewModel } from '../../../../src/extension/views/attestation/model.js';
import { attestationHtml, contentSecurityPolicy, ELEMENT_IDS, makeNonce } from '../../../../src/extension/views/attestation/html.js';
import { parseWebviewMessage, WEBVIEW_MESSAGE_TYPES } from '../../../../src/extension/views/attestation/protocol.js';
import { policy, readRepoFile, realAttested, REPO, verified } from '../../helpers.js';

const INPUTS = { cspSource: 'https://file+.vscode-resource.vscode-cdn.net', nonce: 'bm9uY2Utbm9uY2Utbm9uY2U=', scriptUri: 'https://x/media/attestation.js', styleUri: 'https://x/media/attestation.css' };

describe('webview HTML', () => {
  const html = attestationHtml(INPUTS);

  it('has a strict CSP: nothing by default, styles from the extension, only the nonced script', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    assert.equal(csp, contentSecurityPolicy(INPUTS.cspSource, INPUTS.nonce));
    assert.match(csp, /^default-src 'none'; style-src https:\/\/file\+\.vscode-resource\.vscode-cdn\.net; script-src 'nonce-bm9uY2Utbm9uY2Utbm9uY2U='/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0]![1]!, new RegExp(`nonce="${INPUTS.nonce}" src="${INPUTS.scriptUri}"`));
    assert.equal(scripts[0]![2], '', 'no inline script');
    assert.doesNotMatch(html, /\son\w+=/i, 'no inline event handlers');
    assert.doesNotMatch(html, /style="/, 'no inline styles (blocked by the CSP)');
    assert.doesNotMatch(html, /https?:\/\/(?!x\/|file\+)/, 'no remote content');
  });

  it('makes 128-bit random base64 nonces', () => {
    const nonces = new Set(Array.from({ length: 50 }, makeNonce));
    assert.equal(nonces.size, 50);
    for (const n of nonces) assert.equal(Buffer.from(n, 'base64').length, 16);
  });

  it('contains every stable id exactly once, and the script uses only those', () => {
    for (const id of ELEMENT_IDS) assert.equal(html.split(`id="${id}"`).length - 1, 1, id);
    const script = readRepoFile('media/attestation.js');
    const used = new Set([...script.matchAll(/(?:byId|setText|setFact)\('([\w-]+)'/g)].map((m) => m[1]!));
    for (const id of used) assert.ok((ELEMENT_IDS as readonly string[]).includes(id), `#${id} is not in the skeleton`);
    const sectionIds = ['bb-tls-section', 'bb-pcr-section', 'bb-chain-section'];
    for (const id of sectionIds) assert.ok(html.includes(`id="${id}"`), id);
  });

  it('keeps attribute values escaped', () => {
    const tricky = attestationHtml({ ...INPUTS, scriptUri: 'https://x/a.js"><script>alert(1)</script>' });
    assert.ok(!tricky.includes('<script>alert(1)'));
  });
});

describe('webview script', () => {
  it('never parses markup: no innerHTML, outerHTML, insertAdjacentHTML, document.write, eval or Function in media/*.js', () => {
    for (const file of readdirSync(REPO + 'media').filter((f) => f.endsWith('.js'))) {
      const text = readRepoFile(`media/${file}`);
      for (const banned of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'setTimeout(\'', 'srcdoc', 'DOMParser', 'createContextualFragment']) {
        assert.ok(!text.includes(banned), `${file} uses ${banned}`);
      }
    }
  });

  it('renders a model with hostile text as text, and posts only its fixed messages', () => {
    const { attested, verifiedAt } = realAttested();
    const evil = '<img src=x onerror=alert(1)>';
    const chain = attested.attestation.chain.map((c, i) => (i === 0 ? { ...c, subject: evil } : c));
    const model = attestationViewModel(
      verified('https://e.example', { ...attested, attestation: { ...attested.attestation, chain } }, policy({ 0: attested.attestation.pcrs[0]! })),
      new Date(verifiedAt),
    );

    const dom = fakeDom(attestationHtml(INPUTS));
    dom.run(readRepoFile('media/attestation.js'));
    assert.deepEqual(dom.posted, [{ type: 'ready' }]);
    assert.ok(dom.posted.every((m) => parseWebviewMessage(m) !== undefined));
    dom.receive({ type: 'model', model });

    const root = dom.byId('bb-root');
    assert.equal(root.dataset.state, 'verified');
    assert.equal(dom.byId('bb-simulation-banner').hidden, true);
    assert.equal(dom.byId('bb-module-id').textContent, attested.attestation.moduleId);
    // Only the pinned PCR leads; the others fold away, still rendered, in the closed details.
    const rows = dom.byId('bb-pcr-rows').children;
    assert.equal(rows.length, 1);
    assert.equal(dom.byId('bb-pcr-folded-rows').children.length, Object.keys(attested.attestation.pcrs).length - 1);
    assert.match(dom.byId('bb-pcr-folded-summary').textContent, /^\d+ PCRs not in the policy \(\d+ all zero\)$/);
    assert.equal(dom.byId('bb-pcr-folded').hidden, false);
    // The three checks lead, each with its state in words; the enclave is listed with its local time and UTC tooltip.
    const checks = dom.byId('bb-checks').children;
    assert.deepEqual(checks.map((c) => [c.id, c.dataset.state]), [['bb-check-hardware', 'pass'], ['bb-check-code', 'pass'], ['bb-check-channel', 'pass']]);
    assert.match(checks[0]!.textContent, /Genuine hardware.*Passed/);
    const enclave = dom.byId('bb-enclaves').children;
    assert.equal(enclave.length, 1);
    assert.match(enclave[0]!.children[3]!.textContent, /^just now, /);
    assert.match(enclave[0]!.children[3]!.title, /^\d{4}-\d\d-\d\dT.*Z \(UTC\)$/);
    assert.match(dom.byId('bb-when').textContent, /^verified just now, /);
    assert.equal(rows[0]!.id, 'bb-pcr-0');
    assert.equal(rows[0]!.dataset.status, 'match');
    assert.equal(rows[0]!.children[1]!.textContent, attested.attestation.pcrs[0]);
    const certs = dom.byId('bb-chain').children;
    assert.equal(certs.length, chain.length);
    assert.equal(certs[0]!.dataset.role, 'root');
    const subject = certs[0]!.find((e) => e.className === 'bb-cert-subject')!;
    assert.equal(subject.textContent, evil, 'the subject is text');
    assert.equal(subject.children.length, 0, 'no element was created from it');
    assert.ok(!dom.created.includes('img') && !dom.created.includes('script'));

    dom.byId('bb-export').click();
    dom.byId('bb-verify').click();
    dom.byId('bb-settings').click();
    dom.byId('bb-log').click();
    assert.deepEqual(dom.posted.slice(1), [{ type: 'export' }, { type: 'verify' }, { type: 'openSettings' }, { type: 'showLog' }]);

    // Junk from anywhere is ignored.
    dom.receive({ type: 'model' });
    dom.receive('nonsense');
    dom.receive(null);
    assert.equal(dom.byId('bb-root').dataset.state, 'verified');

    // Re-rendering replaces rows instead of appending.
    dom.receive({ type: 'model', model: { ...model, state: 'failed', pcrs: [], chain: [], verdict: { ok: false, title: 'Verification FAILED', code: 'CHAIN_UNTRUSTED', sentence: evil } } });
    assert.equal(dom.byId('bb-pcr-rows').children.length, 0);
    assert.equal(dom.byId('bb-pcr-section').hidden, true);
    assert.equal(dom.byId('bb-verdict-code').textContent, 'CHAIN_UNTRUSTED');
    assert.equal(dom.byId('bb-verdict-code').hidden, false);
    assert.equal(dom.byId('bb-verdict-sentence').textContent, evil);
  });
  it('shows the last receipt check in its own section, as text, hidden before any check', () => {
    const { dom, state, verifiedAt } = verifiedView();
    dom.receive({ type: 'model', model: attestationViewModel(state, new Date(verifiedAt)) });
    assert.equal(dom.byId('bb-receipt-section').hidden, true);
    const evil = '<img src=x onerror=alert(1)>.receipt.json';
    const checked = { ok: false, file: evil, text: 'TRANSCRIPT_MISMATCH: The transcript is not the one the receipt binds.', checkedAt: verifiedAt - 120_000 };
    dom.receive({ type: 'model', model: attestationViewModel(state, new Date(verifiedAt), checked) });
    assert.equal(dom.byId('bb-receipt-section').hidden, false);
    assert.equal(dom.byId('bb-receipt-section').dataset.ok, 'false');
    assert.equal(dom.byId('bb-receipt-title').textContent, 'Receipt refused');
    assert.equal(dom.byId('bb-receipt-file').textContent, evil);
    assert.equal(dom.byId('bb-receipt-file').children.length, 0, 'the name is text');
    assert.match(dom.byId('bb-receipt-text').textContent, /^TRANSCRIPT_MISMATCH: /);
    assert.match(dom.byId('bb-receipt-when').textContent, /^checked 2 min ago, /);
    assert.ok(!dom.created.includes('img'));
    assert.equal(dom.byId('bb-receipt-compare').hidden, true, 'no Compare without the signed text');
    assert.equal(dom.byId('bb-receipt-details').hidden, true);
  });

  it('a refused receipt: the words, then audio ✓ / transcript ✗, the hashes folded in the details, Compare, in the error colours', () => {
    const { dom, state, verifiedAt } = verifiedView();
    const hash = (c: string) => c.repeat(64);
    const checked = {
      ok: false,
      file: 'speech.receipt.json',
      text: 'The transcript changed after the enclave signed it; the audio matches.',
      details: ['code TRANSCRIPT_MISMATCH', `audio SHA-256 ${hash('a')} (as signed)`, `transcript SHA-256 ${hash('b')}, signed ${hash('c')}`],
      matches: { audio: true, transcript: false },
      compare: () => undefined,
      checkedAt: verifiedAt,
    };
    dom.receive({ type: 'model', model: attestationViewModel(state, new Date(verifiedAt), checked) });
    assert.equal(dom.byId('bb-receipt-section').dataset.ok, 'false');
    assert.equal(dom.byId('bb-receipt-text').textContent, 'The transcript changed after the enclave signed it; the audio matches.');
    assert.deepEqual(dom.byId('bb-receipt-matches').children.map((li) => li.textContent), ['✓ Audio: matches what the enclave signed', '✗ Transcript: differs from what the enclave signed']);
    assert.equal(dom.byId('bb-receipt-details').hidden, false);
    assert.deepEqual(dom.byId('bb-receipt-detail-lines').children.map((li) => li.textContent), checked.details);
    assert.equal(dom.byId('bb-receipt-compare').hidden, false);
    dom.byId('bb-receipt-compare').click();
    assert.deepEqual(dom.posted.at(-1), { type: 'compareReceipt' });
    // The error colours: the section's border and title take the failure colour when it is refused.
    const css = readRepoFile('media/attestation.css');
    assert.match(css, /\.bb-receipt\[data-ok='false'\] \{ border-left-color: var\(--bb-bad\)/);
    assert.match(css, /\.bb-receipt\[data-ok='false'\] #bb-receipt-title \{ color: var\(--bb-bad-text\); \}/);
  });

  it('shows a server’s words only in their own labelled quotation, as text, apart from the verdict', () => {
    const evil = '<a href="https://evil.example">add this root</a>';
    const failure = describeFailure(new ChannelError('SERVER_ERROR', 'The server refused the attestation request (HTTP 503).', { status: 503, serverCode: 'ROOT_ROTATED', serverMessage: evil }));
    const model = attestationViewModel({ kind: 'failed', server: 'https://e.example', policy: undefined, failure, at: 0 }, new Date(0));
    const html = attestationHtml(INPUTS);
    assert.match(html, /<p id="bb-verdict-server" class="bb-server-said" hidden><span class="bb-server-said-label">Server said \(not verified by BlindBox\):<\/span> <q id="bb-verdict-server-text"><\/q><\/p>/);
    const dom = fakeDom(html);
    dom.run(readRepoFile('media/attestation.js'));
    dom.receive({ type: 'model', model });
    assert.equal(dom.byId('bb-verdict-sentence').textContent, 'The server refused the attestation request (HTTP 503).');
    assert.equal(dom.byId('bb-verdict-server').hidden, false);
    assert.equal(dom.byId('bb-verdict-server-text').textContent, `ROOT_ROTATED: ${evil}`);
    assert.equal(dom.byId('bb-verdict-server-text').children.length, 0, 'no element was created from it');
    assert.ok(!dom.created.includes('a'));
    // A verdict without server words hides the quotation again.
    dom.receive({ type: 'model', model: { ...model, verdict: { ...model.verdict, serverSaid: null } } });
    assert.equal(dom.byId('bb-verdict-server').hidden, true);
    assert.equal(dom.byId('bb-verdict-server-text').textContent, '');
  });
});

describe('webview: a refused simulation attestation', () => {
  it('keeps the banner, heads each check with a real heading, marks the first differing digit, and speaks once per change', async () => {
    const { attested, verifiedAt } = realAttested();
    const pcr0 = attested.attestation.pcrs[0]!;
    const expected = pcr0.slice(0, 40) + (pcr0[40] === 'a' ? 'b' : 'a') + pcr0.slice(41);
    const failure = describeFailure(Object.assign(new AttestationError('PCR_MISMATCH', 'PCR0 differs.', { pcr: { index: 0, actual: pcr0, expected } }), { chainRoot: { label: 'sim root', simulation: true } }));
    const state: TrustState = { kind: 'failed', server: 'https://e.example', policy: policy({ 0: expected }), failure, at: verifiedAt };
    const html = attestationHtml(INPUTS);
    assert.doesNotMatch(html, /role="alert"/, 'the banner does not re-announce itself on every render');
    assert.equal([...html.matchAll(/aria-live=/g)].length, 1, 'one live region');
    assert.match(html, /<p class="bb-muted">The nonce is a random number/);
    assert.match(html, /<p class="bb-muted">PCRs are fingerprints/);
    const dom = fakeDom(html);
    dom.run(readRepoFile('media/attestation.js'));
    dom.receive({ type: 'model', model: attestationViewModel(state, new Date(verifiedAt)) });

    assert.equal(dom.byId('bb-simulation-banner').hidden, false);
    assert.match(dom.byId('bb-simulation-banner').textContent, /^SIMULATION — NOT CONFIDENTIAL/);
    const checks = dom.byId('bb-checks').children;
    assert.deepEqual(checks.map((c) => [c.children[0]!.tagName, c.dataset.state]), [['h3', 'warn'], ['h3', 'fail'], ['h3', 'unknown']]);
    assert.match(checks[0]!.children[0]!.textContent, /Genuine hardware\s*SIMULATION/);
    assert.doesNotMatch(dom.byId('bb-checks').textContent, /Passed/);

    assert.equal(dom.byId('bb-mismatch').hidden, false);
    assert.equal(dom.byId('bb-mismatch-actual').textContent, pcr0, 'the full value');
    assert.equal(dom.byId('bb-mismatch-expected').textContent, expected);
    const mark = dom.byId('bb-mismatch-actual').find((e) => e.tagName === 'mark')!;
    assert.equal(mark.textContent, pcr0[40]);
    assert.equal(mark.title, 'first difference: digit 41');
    assert.equal(dom.byId('bb-pin').textContent, "Pin the server's PCR0…");
    dom.byId('bb-pin').click();
    dom.byId('bb-copy').click();
    assert.deepEqual(dom.posted.slice(1), [{ type: 'pinPcr' }, { type: 'copyPcr' }], 'no value travels from the webview');

    const announce = dom.byId('bb-announce');
    assert.equal(announce.textContent, 'SIMULATION — not confidential. Verification FAILED — SIMULATION root, not confidential PCR_MISMATCH');
    const spoken = announce.writes;
    const banner = dom.byId('bb-simulation-banner').writes;
    // The 30-second refresh (ages move) says nothing new.
    for (const later of [30_000, 60_000, 90_000]) dom.receive({ type: 'model', model: attestationViewModel(state, new Date(verifiedAt + later)) });
    assert.equal(announce.writes, spoken);
    assert.equal(dom.byId('bb-simulation-banner').writes, banner);
    // A new verdict is spoken, once.
    dom.receive({ type: 'model', model: attestationViewModel({ kind: 'verifying', server: 'https://e.example' }, new Date(verifiedAt)) });
    assert.equal(announce.writes, spoken + 1);
    assert.equal(announce.textContent, 'Verifying…');
    assert.equal(dom.byId('bb-mismatch').hidden, true);
  });
});

describe('webview messages', () => {
  it('accepts exactly the messages the webview script sends: ready, and one per wired button', () => {
    const dom = fakeDom(attestationHtml(INPUTS));
    dom.run(readRepoFile('media/attestation.js'));
    dom.clickEverything();
    const sent = [...new Set(dom.posted.map((m) => (m as { type: string }).type))].sort();
    assert.deepEqual(sent, [...WEBVIEW_MESSAGE_TYPES].sort(), 'the parser knows exactly what the script sends');
    for (const type of sent) assert.deepEqual(parseWebviewMessage({ type }), { type });
    for (const bad of [null, undefined, 'verify', [], {}, { type: 'run' }, { type: 'verify', command: 'rm -rf' }, { type: 1 }, { type: '__proto__' }]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });
});

// ---- a tiny DOM ------------------------------------------------------------------------------------------------

class FakeElement {
  id = '';
  className = '';
  hidden = false;
  disabled = false;
  title = '';
  readonly attributes: Record<string, string> = {};
  readonly dataset: Record<string, string> = {};
  readonly children: FakeElement[] = [];
  readonly #listeners = new Map<string, (() => void)[]>();
  #text = '';
  /** How many times `textContent` was set (a live region speaks on each). */
  writes = 0;

  constructor(readonly tagName: string) {}

  get textContent(): string {
    return this.#text + this.children.map((c) => c.textContent).join('');
  }
  set textContent(value: string) {
    this.writes++;
    this.children.length = 0;
    this.#text = String(value);
  }
  setAttribute(name: string, value: string): void {
    this.attributes[name] = String(value);
  }
  set innerHTML(_v: string) {
    throw new Error('innerHTML used');
  }
  set outerHTML(_v: string) {
    throw new Error('outerHTML used');
  }
  get firstChild(): FakeElement | null {
    return this.children[0] ?? null;
  }
  appendChild(child: FakeElement): FakeElement {
    this.children.push(child);
    return child;
  }
  removeChild(child: FakeElement): FakeElement {
    this.children.splice(this.children.indexOf(child), 1);
    return child;
  }
  addEventListener(type: string, fn: () => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), fn]);
  }
  click(): void {
    for (const fn of this.#listeners.get('click') ?? []) fn();
  }
  find(pred: (e: FakeElement) => boolean): FakeElement | undefined {
    for (const c of this.children) {
      if (pred(c)) return c;
      const deep = c.find(pred);
      if (deep) return deep;
    }
    return undefined;
  }
}

/** The view's script running on a verified state's page, before any model arrived. */
function verifiedView() {
  const { attested, verifiedAt } = realAttested();
  const state = verified('https://e.example', attested, policy());
  const dom = fakeDom(attestationHtml(INPUTS));
  dom.run(readRepoFile('media/attestation.js'));
  return { dom, state, verifiedAt };
}

function fakeDom(html: string) {
  const elements = new Map<string, FakeElement>();
  for (const m of html.matchAll(/<(\w+)[^>]*\sid="([\w-]+)"([^>]*)>/g)) {
    const e = new FakeElement(m[1]!);
    e.id = m[2]!;
    e.hidden = /\shidden(\s|>|$)/.test(m[0]);
    elements.set(e.id, e);
  }
  const created: string[] = [];
  const posted: unknown[] = [];
  const messageListeners: ((e: { data: unknown }) => void)[] = [];
  let acquired = 0;
  let saved: unknown;
  const context = vm.createContext({
    acquireVsCodeApi: () => {
      if (++acquired > 1) throw new Error('acquireVsCodeApi called twice');
      return { postMessage: (m: unknown) => posted.push(JSON.parse(JSON.stringify(m))), setState: (s: unknown) => (saved = s), getState: () => saved };
    },
    document: {
      getElementById: (id: string) => elements.get(id) ?? null,
      createElement: (tag: string) => {
        created.push(tag);
        return new FakeElement(tag);
      },
    },
    window: { addEventListener: (type: string, fn: (e: { data: unknown }) => void) => type === 'message' && messageListeners.push(fn) },
  });
  return {
    created,
    posted,
    run: (script: string) => vm.runInContext(script, context),
    /** Clicks every element of the page once, in document order (what a user could do). */
    clickEverything: () => elements.forEach((e) => e.click()),
    receive: (data: unknown) => messageListeners.forEach((fn) => fn({ data: JSON.parse(JSON.stringify(data ?? null)) })),
    byId: (id: string) => {
      const e = elements.get(id);
      if (!e) throw new Error(`no #${id}`);
      return e;
    },
  };
}
