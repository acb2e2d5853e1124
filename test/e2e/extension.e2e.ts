/**
 * The BlindBox extension, packaged as a .vsix and installed into a real VS Code (code-server), driven from headless
 * Chromium, against the reference server in simulation (`blindbox serve --simulate`, a separate process):
 *   (1) with the simulation root trusted through settings, the status bar goes to SIMULATION;
 *   (2) the attestation webview shows PCR0 (matching the policy) and the certificate chain root → leaf;
 *   (3) right-click a WAV of flite-made speech → "Transcribe with BlindBox" → an untitled editor holds the transcript
 *       (word error rate under a bound) — needs the server's speech engine (`serve --engine pocketsphinx`);
 *   (4) with the simulation root NOT trusted, the same action shows an error, opens nothing and sends no audio;
 * plus the extension-host tests (test/e2e/host/) with the extension installed: every contributed command registered,
 * the application-scoped trust settings reach the extension host from the user settings.
 * Screenshots of each step: test-artifacts/e2e/extension-*.png.
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package` (dist/blindbox-vscode.vsix, or BLINDBOX_E2E_VSIX);
 * fails, never skips, without them. Run: node --test out/test/e2e/extension.e2e.js
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEnclave, uploads, type Enclave } from './enclave.js';
import {
  STATUS_ITEM,
  TRANSCRIBE_MENU_ITEM,
  VSIX,
  assertHeardSpoken,
  assertProvenanceHeader,
  requireBuilt,
  speakSpeechWav,
  trustedSettings,
  waitForEditorTitle,
  waitForSimulation,
} from './extension-fixture.js';
import { ROOT, openWorkbench, runExtensionHostTests, startCodeServer, type CodeServer, type Workbench } from './harness.js';

const HOST_TESTS = path.join(ROOT, 'out/test/e2e/host/index.js');

describe('BlindBox extension in code-server against the simulation server', { timeout: 180_000 }, () => {
  let dir: string;
  let workspace: string;
  let enclave: Enclave | undefined;

  before(async () => {
    requireBuilt();
    dir = await mkdtemp(path.join(tmpdir(), 'blindbox-e2e-ext-'));
    workspace = path.join(dir, 'workspace');
    await mkdir(workspace, { recursive: true });
    speakSpeechWav(workspace);
    await writeFile(path.join(workspace, 'notes.txt'), 'not audio\n');
    enclave = await startEnclave(dir);
  });

  after(async () => {
    await enclave?.proc.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('simulation root trusted through settings', () => {
    let server: CodeServer | undefined;
    let wb: Workbench | undefined;
    let settings: Record<string, unknown>;

    before(async () => {
      settings = trustedSettings(enclave!);
      server = await startCodeServer({
        workspace,
        label: 'extension-trusted',
        settings,
        env: { BLINDBOX_E2E_EXPECT_EXTENSION: '1', BLINDBOX_E2E_EXPECT_SETTINGS: JSON.stringify(settings) },
      });
      await server.installVsix(VSIX);
      wb = await openWorkbench(server);
    });

    after(async () => {
      await wb?.close();
      await server?.stop();
    });

    test('(1) the status bar goes to SIMULATION', async () => {
      assert.match(await waitForSimulation(wb!), /BlindBox: SIMULATION · \d+ s$/);
      await wb!.screenshot('extension-1-status-simulation');
    });

    test('the explorer offers "Transcribe with BlindBox" on audio files only', async () => {
      assert.ok((await wb!.explorerContextMenuLabels('speech.wav')).includes(TRANSCRIBE_MENU_ITEM), 'on speech.wav');
      assert.ok(!(await wb!.explorerContextMenuLabels('notes.txt')).includes(TRANSCRIBE_MENU_ITEM), 'not on notes.txt');
    });

    test('(2) the attestation webview shows PCR0 and the certificate chain', async () => {
      await wb!.runCommand('BlindBox: Show Attestation');
      const frame = await wb!.webviewFrame('#bb-root[data-state="simulation"] #bb-pcr-0', 30_000);
      const pcr0 = frame.locator('#bb-pcr-0');
      assert.equal((await pcr0.locator('.bb-pcr-value').textContent())?.trim(), enclave!.pcr0);
      assert.equal(await pcr0.getAttribute('data-status'), 'match');
      assert.equal(await frame.locator('#bb-simulation-banner').isVisible(), true, 'the simulation banner is shown');
      const chain = frame.locator('#bb-chain > li');
      const n = await chain.count();
      assert.ok(n >= 2, `a chain of ${n}`);
      assert.equal(await chain.first().getAttribute('data-role'), 'root');
      assert.equal(await chain.last().getAttribute('data-role'), 'leaf');
      const subjects = (await frame.locator('#bb-chain .bb-cert-subject').allTextContents()).map((s) => s.trim());
      assert.match(subjects[0]!, /SIMULATION/);
      for (const v of await frame.locator('#bb-chain .bb-cert-validity').allTextContents()) assert.doesNotMatch(v, /expired/i);
      assert.equal((await frame.locator('#bb-server').textContent())?.trim(), enclave!.url);
      await wb!.screenshot('extension-2-attestation-webview');
      await frame.locator('#bb-pcr-section').scrollIntoViewIfNeeded();
      await wb!.screenshot('extension-2b-attestation-pcrs');
      await frame.locator('#bb-chain-section').scrollIntoViewIfNeeded();
      await wb!.screenshot('extension-2c-attestation-chain');
    });

    test('(3) right-click speech.wav → Transcribe with BlindBox → an untitled editor holds the transcript', async () => {
      const before = uploads(enclave!).length;
      await wb!.explorerContextMenu('speech.wav', TRANSCRIBE_MENU_ITEM);
      // An untitled document named beside the audio: the tab's title, what Save proposes.
      await waitForEditorTitle(wb!, 'speech.transcript.txt');
      const transcript = assertProvenanceHeader(await wb!.activeEditorText(), enclave!);
      assertHeardSpoken(transcript);
      assert.equal(uploads(enclave!).length, before + 1, 'one upload');
      await wb!.screenshot('extension-3-transcript');
    });

    test('the extension-host tests pass with the extension installed (commands registered, settings read)', async () => {
      const result = await runExtensionHostTests(server!, { testModule: HOST_TESTS, timeoutMs: 60_000 });
      for (const line of result.lines) console.log(`  [extension host] ${line}`);
      assert.equal(result.code, 0, result.lines.join('\n'));
      assert.match(result.lines.at(-1) ?? '', /^5 passed, 0 failed$/);
    });
  });

  describe('simulation root not trusted', () => {
    let server: CodeServer | undefined;
    let wb: Workbench | undefined;

    before(async () => {
      server = await startCodeServer({ workspace, label: 'extension-untrusted', settings: { 'blindbox.serverUrl': enclave!.url, 'blindbox.trustedRoots': [] } });
      await server.installVsix(VSIX);
      wb = await openWorkbench(server);
    });

    after(async () => {
      await wb?.close();
      await server?.stop();
    });

    test('(4) the same action shows an error, opens nothing and sends no audio', async () => {
      // The extension attests at start-up: the status bar says FAILED before anything is asked of it.
      await wb!.page.locator(STATUS_ITEM).filter({ hasText: 'FAILED' }).waitFor({ state: 'visible', timeout: 45_000 });
      await wb!.clearNotifications();
      const tabsBefore = await wb!.editorTabCount();
      const uploadsBefore = uploads(enclave!).length;
      await wb!.explorerContextMenu('speech.wav', TRANSCRIBE_MENU_ITEM);
      const message = await wb!.waitForNotification(/^BlindBox: [A-Z_]+: /, 30_000);
      assert.match(message, /^BlindBox: CHAIN_UNTRUSTED: /);
      // Give a wrong implementation the time to open something (and the toasts the time to settle), then check.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await wb!.screenshot('extension-4-untrusted-error');
      assert.equal(await wb!.editorTabCount(), tabsBefore, 'no editor opened');
      assert.deepEqual(uploads(enclave!).slice(uploadsBefore), [], 'no audio uploaded');
      assert.match((await wb!.page.locator(STATUS_ITEM).textContent())!.replace(/\u00a0/g, ' '), /BlindBox: FAILED · untrusted root/);
    });
  });
});
