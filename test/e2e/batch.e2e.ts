/**
 * Batches in a real VS Code (code-server, headless Chromium), against the reference server in simulation:
 *   (1) a folder of 30 short recordings, transcribed from the explorer: asked once where the transcripts go (Enter:
 *       beside the audio), the progress counter names the file it counts ("12 of 30 · clip12.wav"), at most one
 *       editor opens, and 30 transcripts with their receipts are on disk (one checked by `blindbox verify-receipt`);
 *       one summary offers *Open transcripts…* and *Reveal in Explorer*;
 *   (2) the server killed in the middle of a batch: the batch stops with one message ("the server stopped answering
 *       after N files; M were not sent") offering *Transcribe the remaining M*, no failure per file, and the status bar
 *       turns to unreachable; restarted (same port, same simulation CA), it is verified again, and *Transcribe the
 *       remaining M* writes the rest.
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package`. Run: node --test out/test/e2e/batch.e2e.js
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, startEnclave, uploads, type Enclave } from './enclave.js';
import * as fixture from './extension-fixture.js';
import { openWorkbench, sleep, speak, startCodeServer, type CodeServer, type Workbench } from './harness.js';

const WORDS = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/** `count` recordings named clip01.wav … in `folder`, each a few words (about a second of speech). */
function speakClips(folder: string, count: number, words: (i: number) => string): string[] {
  const names: string[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `clip${String(i).padStart(2, '0')}.wav`;
    speak(words(i), path.join(folder, name));
    names.push(name);
  }
  return names;
}

/** The transcripts and receipts in `folder`, by the audio file they belong to. */
async function outputsIn(folder: string): Promise<{ transcripts: string[]; receipts: string[] }> {
  const files = await readdir(folder);
  return { transcripts: files.filter((f) => /\.transcript\.txt$/.test(f)).sort(), receipts: files.filter((f) => /\.receipt\.json$/.test(f)).sort() };
}

describe('Batches in code-server against the simulation server', { timeout: 360_000 }, () => {
  let dir: string;
  let workspace: string;
  let enclave: Enclave | undefined;
  let server: CodeServer | undefined;
  let wb: Workbench | undefined;

  before(async () => {
    fixture.requireBuilt();
    dir = await mkdtemp(path.join(tmpdir(), 'blindbox-e2e-batch-'));
    workspace = path.join(dir, 'workspace');
    await mkdir(path.join(workspace, 'clips'), { recursive: true });
    await mkdir(path.join(workspace, 'agenda'), { recursive: true });
    speakClips(path.join(workspace, 'clips'), 30, (i) => `number ${WORDS[(i - 1) % 10]}`);
    // Longer (a few seconds each), so that the server can be killed while the batch runs.
    speakClips(path.join(workspace, 'agenda'), 12, (i) => `Item ${WORDS[(i - 1) % 10]} of the agenda: we agreed to read the report again on Monday and to send the minutes.`);
    // Its CA kept in a folder, so that the server restarted on its port (test 2) is the same simulation root.
    enclave = await startEnclave(dir, ['--ca', path.join(dir, 'ca')]);
    server = await startCodeServer({ workspace, label: 'batch', settings: fixture.trustedSettings(enclave) });
    await server.installVsix(fixture.VSIX);
    wb = await openWorkbench(server);
    await fixture.waitForSimulation(wb);
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
    await enclave?.proc.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Right-clicks `folder`, picks Transcribe, and answers the one question (where the transcripts go) with Enter. */
  async function transcribeFolder(folder: string): Promise<void> {
    await wb!.explorerContextMenu(folder, fixture.TRANSCRIBE_MENU_ITEM);
    const picker = wb!.page.locator('.quick-input-widget', { hasText: 'where should the' });
    await picker.waitFor({ state: 'visible', timeout: 15_000 });
    await wb!.page.keyboard.press('Enter');
    await picker.waitFor({ state: 'hidden', timeout: 5000 });
  }

  /** The progress notification's counted messages ("BlindBox: 30 files: 3 of 30 · clip03.wav · …") seen until `done` resolves. */
  async function watchCounter(done: Promise<unknown>): Promise<string[]> {
    const seen = new Set<string>();
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => undefined);
    while (!finished) {
      for (const m of await wb!.notifications()) if (/\b\d+ of \d+ · /.test(m)) seen.add(m);
      await sleep(150);
    }
    return [...seen];
  }

  test('(1) 30 files: asked once, at most one editor, 30 transcripts with receipts on disk, the counter names its file', async () => {
    await wb!.clearNotifications();
    const tabsBefore = await wb!.editorTabCount();
    const uploadsBefore = uploads(enclave!).length;
    const started = Date.now();
    await transcribeFolder('clips');
    const summary = wb!.waitForNotification(/^BlindBox: transcribed 30 of 30 files\. Transcripts and receipts are beside the audio\./, 240_000);
    const counted = await watchCounter(summary);
    const message = await summary;
    console.log(`  30 files in ${((Date.now() - started) / 1000).toFixed(1)} s; ${counted.length} counter messages seen, e.g. ${JSON.stringify(counted.slice(0, 2))}`);
    await wb!.screenshot('batch-1-thirty-files');
    assert.ok(counted.length > 0, 'the counter was seen');
    for (const m of counted) {
      const [, n, clip] = /\b(\d+) of 30 · clip(\d+)\.wav · /.exec(m) ?? [];
      assert.equal(Number(n), Number(clip), `the counter and the file name agree: ${m}`);
    }
    assert.equal(uploads(enclave!).length - uploadsBefore, 30);
    assert.ok((await wb!.editorTabCount()) - tabsBefore <= 1, `at most one editor opened (tabs: ${tabsBefore} → ${await wb!.editorTabCount()})`);
    const out = await outputsIn(path.join(workspace, 'clips'));
    assert.equal(out.transcripts.length, 30, out.transcripts.join(', '));
    assert.deepEqual(out.receipts.map((r) => r.replace('.receipt.json', '')), out.transcripts.map((t) => t.replace('.transcript.txt', '')));
    // The summary's buttons, and a receipt the real CLI accepts for its audio and transcript.
    const toast = wb!.page.locator('.notifications-toasts .notification-toast').filter({ hasText: message.slice(0, 40) }).first();
    const buttons = (await toast.locator('.monaco-button').allTextContents()).map((b) => b.trim());
    assert.ok(buttons.includes('Open transcripts…') && buttons.includes('Reveal in Explorer'), JSON.stringify(buttons));
    const clips = path.join(workspace, 'clips');
    const verified = spawnSync(process.execPath, [CLI, 'verify-receipt', path.join(clips, 'clip17.receipt.json'), '--audio', path.join(clips, 'clip17.wav'), '--transcript', path.join(clips, 'clip17.transcript.signed.txt'), '--trust-root', enclave!.rootPem], { encoding: 'utf8' });
    assert.equal(verified.status, 0, `${verified.stdout}\n${verified.stderr}`);
  });

  test('(2) the server killed mid-batch: one message with the remaining count, and the status turns unreachable', async () => {
    await wb!.clearNotifications();
    const uploadsBefore = uploads(enclave!).length;
    await transcribeFolder('agenda');
    // Killed once the third file is on its way (two are in flight at a time).
    const third = await wb!.pollFor(async () => ((await wb!.notifications()).some((m) => /\b([3-9]|1[0-2]) of 12 · /.test(m)) ? true : undefined), 120_000, 100);
    assert.ok(third, `the batch did not get to its third file: ${JSON.stringify(await wb!.notifications())}`);
    await enclave!.proc.stop();
    const sent = uploads(enclave!).length - uploadsBefore;
    const message = await wb!.waitForNotification(/^BlindBox: the server stopped answering after \d+ files?; \d+ (was|were) not sent/, 90_000);
    await wb!.screenshot('batch-2-server-killed');
    const [, done, remaining] = /after (\d+) files?; (\d+) (?:was|were) not sent/.exec(message)!;
    console.log(`  ${message} (${sent} uploads reached the server)`);
    assert.equal(Number(done) + Number(remaining), 12, message);
    assert.ok(Number(remaining) >= 1);
    const toast = wb!.page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'stopped answering' }).first();
    const buttons = (await toast.locator('.monaco-button').allTextContents()).map((b) => b.trim());
    assert.ok(buttons.includes(`Transcribe the remaining ${remaining}`), JSON.stringify(buttons));
    // One message: no failure notified file by file.
    await sleep(1500);
    const blindbox = (await wb!.notifications()).filter((m) => m.startsWith('BlindBox'));
    assert.deepEqual(blindbox.filter((m) => /SERVER_UNREACHABLE|TIMEOUT|failed/.test(m)), [], JSON.stringify(blindbox));
    assert.equal(blindbox.filter((m) => m.includes('stopped answering')).length, 1, JSON.stringify(blindbox));
    // The status bar no longer says verified: unreachable, until a verification succeeds.
    const status = await wb!.waitForStatusBar(/BlindBox: .*unreachable/, 15_000);
    assert.doesNotMatch((await status.textContent()) ?? '', /SIMULATION|verified/);

    // Until a verification succeeds: the server back on its port (its CA kept), Verify says SIMULATION again.
    const port = new URL(enclave!.url).port;
    enclave = await startEnclave(dir, ['--ca', path.join(dir, 'ca'), '--port', port]);
    await wb!.runCommand('BlindBox: Verify Enclave Server');
    await fixture.waitForSimulation(wb!, 30_000);
    // The remaining files, transcribed where the batch wrote (nothing asked again), complete the folder.
    if (!(await toast.isVisible())) await wb!.runCommand('Notifications: Show Notifications');
    await wb!.clickNotificationButton('stopped answering', `Transcribe the remaining ${remaining}`);
    await wb!.waitForNotification(`BlindBox: transcribed ${remaining} of ${remaining} files. Transcripts and receipts are beside the audio.`, 120_000);
    const out = await outputsIn(path.join(workspace, 'agenda'));
    assert.equal(out.transcripts.length, 12, out.transcripts.join(', '));
    assert.equal(out.receipts.length, 12, out.receipts.join(', '));
    await wb!.screenshot('batch-3-remaining-done');
  });
});
