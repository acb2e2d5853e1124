/**
 * The daily loops' state in a real VS Code (code-server, headless Chromium), against the reference server in simulation
 * (PocketSphinx), one code-server and one server for the whole suite:
 *   (1) a long file: its progress notification names it once ("BlindBox: meeting-recording.wav: transcribing on the
 *       enclave… · 4 s elapsed · about 9 s left"), the time elapsed moves on while the enclave works, and the estimate
 *       comes from the speed measured on the file transcribed before;
 *   (2) a refused receipt (the signed transcript edited on disk): *Verify Receipt…* says it in words first, in an error
 *       notification; the attestation view's receipt section has the error colours, audio ✓ / transcript ✗, no hash
 *       outside its folded details, and *Compare with the signed text* opens a diff editor; the file saved under the
 *       tab's name holds the tab's header; a new transcription clears the refusal from the view.
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package`. Run: node --test out/test/e2e/daily-state.e2e.js
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEnclave, type Enclave } from './enclave.js';
import * as fixture from './extension-fixture.js';
import { openWorkbench, sleep, speak, startCodeServer, type CodeServer, type Workbench } from './harness.js';

/** Spoken into meeting-recording.wav: long enough (about half a minute) for the enclave to work for seconds. */
const MEETING = Array.from({ length: 6 }, () => 'The weather was cold and windy, so we stayed inside and read books by the fire.').join(' ');

describe('Daily state in code-server against the simulation server', { timeout: 300_000 }, () => {
  let dir: string;
  let workspace: string;
  let enclave: Enclave | undefined;
  let server: CodeServer | undefined;
  let wb: Workbench | undefined;

  before(async () => {
    fixture.requireBuilt();
    dir = await mkdtemp(path.join(tmpdir(), 'blindbox-e2e-daily-'));
    workspace = path.join(dir, 'workspace');
    await mkdir(workspace, { recursive: true });
    fixture.speakSpeechWav(workspace);
    speak(MEETING, path.join(workspace, 'meeting-recording.wav'));
    enclave = await startEnclave(dir);
    server = await startCodeServer({ workspace, label: 'daily', settings: fixture.trustedSettings(enclave) });
    await server.installVsix(fixture.VSIX);
    wb = await openWorkbench(server);
    await fixture.waitForSimulation(wb);
  });

  after(() => fixture.endSuite({ wb, server, enclave, dir }));

  test('(1) a long file: its name once, the time elapsed moving on, an estimate from the speed measured before', async () => {
    // The first file measures the enclave's speed on this server.
    await wb!.explorerContextMenu('speech.wav', fixture.TRANSCRIBE_MENU_ITEM);
    await fixture.waitForEditorTitle(wb!, 'speech.transcript.txt');
    await wb!.clearNotifications();

    await wb!.explorerContextMenu('meeting-recording.wav', fixture.TRANSCRIBE_MENU_ITEM);
    const seen = new Set<string>();
    let shot = false;
    const done = await wb!.pollFor(async () => {
      for (const m of await wb!.notifications()) {
        if (!m.includes('transcribing on the enclave')) continue;
        seen.add(m);
        if (!shot) {
          shot = true;
          await wb!.screenshot('daily-1-long-file-progress');
        }
      }
      return (await wb!.activeEditorTitle()) === 'meeting-recording.transcript.txt' ? true : undefined;
    }, 120_000, 250);
    assert.ok(done, `the transcript opened; progress seen: ${JSON.stringify([...seen])}`);
    const lines = [...seen];
    console.log(`  progress: ${JSON.stringify(lines)}`);
    assert.ok(lines.length > 0, 'the progress notification was seen while the enclave worked');
    const shape = /^BlindBox: meeting-recording\.wav: transcribing on the enclave… · (\d+) s elapsed · (about \d+ s left|longer than the \d+ s estimated)/;
    for (const line of lines) {
      assert.match(line, shape);
      assert.equal(line.split('meeting-recording.wav').length - 1, 1, `the name once: ${line}`);
    }
    const elapsed = new Set(lines.map((l) => shape.exec(l)![1]));
    assert.ok(elapsed.size >= 2, `the time elapsed moves on: ${JSON.stringify(lines)}`);
  });

  test('(2) a refused receipt: in words, error colours, audio ✓ / transcript ✗, hashes folded, Compare opens a diff', async () => {
    const page = wb!.page;
    await wb!.clearNotifications();
    await wb!.runCommand('BlindBox: Save Transcript with Receipt beside the Audio');
    await wb!.waitForNotification('BlindBox: saved meeting-recording.transcript.signed.txt, meeting-recording.receipt.json and meeting-recording.transcript.txt beside meeting-recording.wav.', 20_000);
    // The file named like the tab holds what the tab shows: the provenance header first.
    fixture.assertProvenanceHeader(await readFile(path.join(workspace, 'meeting-recording.transcript.txt'), 'utf8'), enclave!, 'meeting-recording.wav');
    await appendFile(path.join(workspace, 'meeting-recording.transcript.signed.txt'), ' and then it snowed');

    await wb!.clearNotifications();
    await wb!.runCommand('BlindBox: Verify Receipt…');
    await pick('choose a receipt', path.join(workspace, 'meeting-recording.receipt.json'));
    await pick('the audio', path.join(workspace, 'meeting-recording.wav'));
    await pick('the transcript file', path.join(workspace, 'meeting-recording.transcript.signed.txt'));
    const message = await wb!.waitForNotification(/^BlindBox: receipt refused: /, 30_000);
    assert.equal(message, 'BlindBox: receipt refused: The transcript changed after the enclave signed it; the audio matches. (TRANSCRIPT_MISMATCH)');
    const toast = page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'receipt refused' }).first();
    assert.ok(await toast.locator('.codicon-error').count(), 'an error notification');

    await wb!.clickNotificationButton('receipt refused', 'Show in Attestation View');
    const frame = await wb!.webviewFrame('#bb-receipt-section[data-ok="false"]', 30_000);
    const section = frame.locator('#bb-receipt-section');
    assert.equal(await frame.locator('#bb-receipt-title').textContent(), 'Receipt refused');
    assert.equal(await frame.locator('#bb-receipt-text').textContent(), 'The transcript changed after the enclave signed it; the audio matches.');
    assert.deepEqual(await frame.locator('#bb-receipt-matches li').allInnerTexts(), ['✓ Audio: matches what the enclave signed', '✗ Transcript: differs from what the enclave signed']);
    assert.doesNotMatch(await section.innerText(), /[0-9a-f]{64}/, 'no hash outside the folded details');
    await wb!.screenshot('daily-2-receipt-refused');
    // The error colours: the section's border and title are the theme's error foreground, not the pass colour.
    const colours = await section.evaluate((el) => {
      // Runs in the webview (this project compiles without the DOM library).
      const w = globalThis as unknown as {
        document: { createElement(tag: string): { style: { color: string }; remove(): void }; body: { appendChild(node: unknown): void }; getElementById(id: string): unknown };
        getComputedStyle(node: unknown): { color: string; borderLeftColor: string };
      };
      const probe = w.document.createElement('span');
      probe.style.color = 'var(--vscode-errorForeground)';
      w.document.body.appendChild(probe);
      const error = w.getComputedStyle(probe).color;
      probe.remove();
      return { border: w.getComputedStyle(el).borderLeftColor, title: w.getComputedStyle(w.document.getElementById('bb-receipt-title')).color, text: w.getComputedStyle(w.document.getElementById('bb-receipt-text')).color, error };
    });
    console.log(`  receipt section colours: ${JSON.stringify(colours)}`);
    assert.equal(colours.border, colours.error, JSON.stringify(colours));
    assert.notEqual(colours.title, colours.text, 'the title takes the failure colour');

    await frame.locator('#bb-receipt-compare').click();
    const diff = await wb!.pollFor(async () => ((await wb!.activeEditorTitle())?.includes('↔') ? await wb!.activeEditorTitle() : undefined), 20_000);
    await wb!.screenshot('daily-3-compare-with-signed');
    assert.equal(diff, 'meeting-recording.transcript.signed.txt (signed) ↔ meeting-recording.transcript.signed.txt');
    assert.ok(await page.locator('.part.editor .monaco-diff-editor').count(), 'a diff editor');

    // A new transcription starts: the refusal about older files leaves the view.
    await wb!.explorerContextMenu('speech.wav', fixture.TRANSCRIBE_MENU_ITEM);
    await wb!.waitForNotification('BlindBox: speech.wav transcribed', 90_000);
    await wb!.runCommand('BlindBox: Show Attestation');
    const view = await wb!.webviewFrame('#bb-root[data-state="simulation"]', 30_000);
    const cleared = await wb!.pollFor(async () => ((await view.locator('#bb-receipt-section').isHidden()) ? true : undefined), 10_000);
    assert.ok(cleared, 'the receipt section is hidden once a new transcription started');
  });

  /**
   * Answers the simple file dialog titled with `title` (code-server's, a quick input) with `file`. The dialog rewrites its
   * value as it lists folders and ignores Enter while it is busy: type the path again and press Enter until this dialog
   * is gone (the next one, or none, replaces it).
   */
  async function pick(title: string, file: string): Promise<void> {
    const page = wb!.page;
    const titleEl = page.locator('.quick-input-widget .quick-input-title');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const showing = async () => (await page.locator('.quick-input-widget').isVisible().catch(() => false)) && ((await titleEl.textContent().catch(() => null)) ?? '').includes(title);
    if (!(await wb!.pollFor(async () => ((await showing()) ? true : undefined), 20_000))) {
      await wb!.screenshot('daily-FAILED-file-dialog');
      throw new Error(`no file dialog titled ${JSON.stringify(title)} for ${file}; a quick input shows ${JSON.stringify(await titleEl.textContent().catch(() => null))}`);
    }
    const answered = await wb!.pollFor(async () => {
      if (!(await showing())) return true;
      if ((await input.inputValue().catch(() => '')) !== file) {
        await input.fill(file).catch(() => undefined);
        await sleep(300);
        return undefined;
      }
      await page.keyboard.press('Enter');
      await sleep(1000);
      return undefined;
    }, 20_000, 100);
    if (!answered) await wb!.screenshot('daily-FAILED-file-dialog-stuck');
    assert.ok(answered, `the file dialog ${JSON.stringify(title)} took ${file}`);
  }
});
