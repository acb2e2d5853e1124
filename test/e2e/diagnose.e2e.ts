/**
 * *BlindBox: Network Diagnostics* in code-server (VS Code's patched extension host), run from the command palette with
 * `http.proxy` naming a TLS-inspecting CONNECT proxy on loopback (support/connect-proxy.ts). The server's URL names
 * `enclave.test`, which only the proxy resolves. The report opens in an untitled editor: the route through the proxy,
 * the certificate it presents, and the failed binding named as TLS inspection with the proxy CA's issuer; the proxy
 * decrypted nothing but attestation requests.
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package`; fails, never skips, without them.
 * Run: node --test out/test/e2e/diagnose.e2e.js
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitForEditorTitle } from './extension-fixture.js';
import { endProxiedSuite, startProxiedSuite, type ProxiedSuite } from './proxied-suite.js';

describe('BlindBox: Network Diagnostics in code-server behind a TLS-inspecting proxy', { timeout: 180_000 }, () => {
  let suite: ProxiedSuite | undefined;

  before(async () => {
    suite = await startProxiedSuite('diagnose', { inspect: true });
  });

  after(async () => {
    if (suite) await endProxiedSuite(suite);
  });

  test('the palette command opens the report: through the proxy, TLS inspection named with its issuer', async () => {
    const { wb, proxy, target } = suite!;
    await wb.runCommand('BlindBox: Network Diagnostics');
    // VS Code names an untitled document by its first line.
    await waitForEditorTitle(wb, '----- BlindBox network diagnostics -----');
    const text = await wb.activeEditorText();
    await wb.screenshot('diagnose-1-report');
    assert.match(text, /^----- BlindBox network diagnostics -----\n/);
    assert.ok(text.includes(`server    https://${target}`), text);
    assert.match(text, /result {4}FAILED at step 6: Attestation under your trust settings/);
    assert.ok(text.includes(`route                  through proxy ${proxy.url}`), text);
    assert.match(text, /why +the proxy setting names it \(--proxy, or VS Code's http\.proxy\)/);
    assert.match(text, /tunnel +CONNECT enclave\.test:\d+: 200, tunnel open/);
    assert.match(text, /issuer +"O=Example Corp \+ CN=Example Corp TLS Inspection CA"/);
    assert.match(text, /TLS_BINDING_MISMATCH: TLS inspection: the network presents a certificate issued by "O=Example Corp \+ CN=Example Corp TLS Inspection CA"/);
    const requests = proxy.decrypted().toString('latin1').split('\r\n\r\n').filter(Boolean);
    assert.ok(requests.length >= 1 && requests.every((q) => /^GET \/attestation\?nonce=[0-9a-f]{64} HTTP\/1\.1\r\n/.test(q)), requests.join('|'));
  });
});
