/**
 * The packaged extension in code-server behind a TLS-inspecting CONNECT proxy (support/connect-proxy.ts with `inspect`:
 * it terminates the extension's TLS with a certificate its own "Example Corp TLS Inspection CA" issued for the server's
 * name, and reads what comes through). `http.proxy` names it and the server's name resolves only through it. Inside
 * VS Code's patched extension host the pin must hold: the verification is refused, naming the certificate's issuer and
 * saying what happened; a transcription sends nothing; the proxy decrypted the attestation request and no audio.
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package`; fails, never skips, without them.
 * Run: node --test out/test/e2e/inspected.e2e.js
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { uploads } from './enclave.js';
import { TRANSCRIBE_MENU_ITEM, speakSpeechWav } from './extension-fixture.js';
import { endProxiedSuite, startProxiedSuite, type ProxiedSuite } from './proxied-suite.js';

describe('BlindBox extension in code-server behind a TLS-inspecting proxy (http.proxy)', { timeout: 180_000 }, () => {
  let suite: ProxiedSuite | undefined;

  before(async () => {
    suite = await startProxiedSuite('inspected', { inspect: true }, speakSpeechWav);
  });

  after(async () => {
    if (suite) await endProxiedSuite(suite);
  });

  test('Verify is refused with TLS_BINDING_MISMATCH, naming the inspection CA and what to ask for', async () => {
    const { wb, target } = suite!;
    await wb.clearNotifications();
    await wb.runCommand('BlindBox: Verify Enclave Server');
    const message = await wb.waitForNotification(/TLS_BINDING_MISMATCH/, 45_000);
    assert.match(message, /Example Corp TLS Inspection CA/);
    assert.match(message, /TLS-inspecting proxy or firewall/);
    assert.ok(message.includes(target), `names ${target} to exempt: ${message}`);
    await wb.screenshot('inspected-1-refused');
  });

  test('right-click speech.wav → Transcribe with BlindBox: nothing opens, no upload, and the proxy decrypted no audio', async () => {
    const { wb, enclave, proxy } = suite!;
    const tabs = await wb.editorTabCount();
    const before = uploads(enclave).length;
    await wb.clearNotifications();
    await wb.explorerContextMenu('speech.wav', TRANSCRIBE_MENU_ITEM);
    await wb.waitForNotification(/TLS_BINDING_MISMATCH/, 45_000);
    assert.equal(await wb.editorTabCount(), tabs, 'no transcript opened');
    assert.equal(uploads(enclave).length, before, 'nothing reached the server');
    const decrypted = proxy.decrypted().toString('latin1');
    assert.match(decrypted, /^GET \/attestation/);
    assert.ok(!decrypted.includes('RIFF'), 'no audio decrypted at the proxy');
    assert.doesNotMatch(decrypted, /POST \/v1\/audio\/transcriptions/);
  });
});
