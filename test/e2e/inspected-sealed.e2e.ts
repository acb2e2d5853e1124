/**
 * The packaged extension in code-server behind a TLS-inspecting CONNECT proxy whose CA the system trusts
 * (NODE_EXTRA_CA_CERTS of code-server's extension host), with `blindbox.allowInspectedTls` on: the audio goes sealed to
 * the enclave's attested HPKE key through VS Code's patched extension host, the transcript comes back, the status bar
 * tooltip says TLS is inspected and by whom, and the proxy, which decrypted the upload's TLS, saw no audio in clear.
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package`; fails, never skips, without them.
 * Run: node --test out/test/e2e/inspected-sealed.e2e.js
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { uploads } from './enclave.js';
import { STATUS_ITEM, TRANSCRIBE_MENU_ITEM, assertHeardSpoken, assertProvenanceHeader, speakSpeechWav, waitForEditorTitle, waitForSimulation } from './extension-fixture.js';
import { endProxiedSuite, startProxiedSuite, type ProxiedSuite } from './proxied-suite.js';
import { audioWindowsIn, requestLines } from '../helpers/cleartext-audio.js';

describe('BlindBox extension in code-server behind a trusted TLS-inspecting proxy, sealed bodies allowed', { timeout: 240_000 }, () => {
  let suite: ProxiedSuite | undefined;

  before(async () => {
    suite = await startProxiedSuite('inspected-sealed', { inspect: true }, speakSpeechWav, { settings: { 'blindbox.allowInspectedTls': true }, trustProxyCa: true });
  });

  after(async () => {
    if (suite) await endProxiedSuite(suite);
  });

  test('verified through the inspection, and the status bar tooltip says so', async () => {
    const { wb } = suite!;
    await waitForSimulation(wb);
    await wb.page.locator(STATUS_ITEM).hover();
    const tooltip = await wb.pollFor(async () => {
      const text = (await wb.page.locator('.monaco-hover, .workbench-hover').allTextContents()).join(' ');
      return /TLS inspected by/.test(text) ? text : undefined;
    }, 15_000);
    assert.ok(tooltip, 'a tooltip naming the inspection');
    assert.match(tooltip, /TLS inspected by “O=Example Corp \+ CN=Example Corp TLS Inspection CA”; audio end-to-end encrypted to the enclave/);
    await wb.screenshot('inspected-sealed-1-status');
  });

  test('right-click speech.wav → Transcribe with BlindBox: transcribed, and the proxy decrypted the upload but no audio', async () => {
    const { wb, enclave, proxy, workspace } = suite!;
    const before = uploads(enclave).length;
    await wb.page.keyboard.press('Escape');
    await wb.explorerContextMenu('speech.wav', TRANSCRIBE_MENU_ITEM);
    await waitForEditorTitle(wb, 'speech.transcript.txt');
    assertHeardSpoken(assertProvenanceHeader(await wb.activeEditorText(), enclave));
    assert.equal(uploads(enclave).length, before + 1, 'one upload');
    await wb.screenshot('inspected-sealed-2-transcript');
    const audio = await readFile(path.join(workspace, 'speech.wav'));
    const decrypted = proxy.decrypted();
    assert.ok(requestLines(decrypted).includes('POST /v1/audio/transcriptions'), requestLines(decrypted).join(', '));
    assert.ok(decrypted.length > audio.length, 'the sealed upload crossed the proxy, decrypted from TLS');
    assert.equal(audioWindowsIn(decrypted, audio), 0, 'no cleartext audio at the proxy');
    assert.ok(!decrypted.includes('RIFF'), 'not even the WAV header');
  });
});
