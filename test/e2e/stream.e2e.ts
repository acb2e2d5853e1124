/**
 * A streamed transcript in a real VS Code (code-server, headless Chromium) against `blindbox serve --simulate` with
 * PocketSphinx: a one-minute recording (flite, script sentences a second apart) transcribed from the explorer with
 * `blindbox.transcript.stream` at its default (on). The document shows its first words, under the pending line, while
 * later segments are still to come; it then becomes the verified transcript, headed by its provenance. Prints the time
 * to first words and the total time.
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package`. Run: node --test out/test/e2e/stream.e2e.js
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEnclave, uploads, type Enclave } from './enclave.js';
import * as fixture from './extension-fixture.js';
import { openWorkbench, startCodeServer, type CodeServer, type Workbench } from './harness.js';
import { longRecording } from '../../support/speech.js';

const PENDING = 'BlindBox: UNVERIFIED, receipt pending.';

/** The words of a pending document: what is below its status line. */
const belowStatus = (shown: string) => shown.split('\n').slice(1).join(' ').replace(/\s+/g, ' ').trim();

describe('A streamed transcript in code-server', { timeout: 240_000 }, () => {
  let dir: string;
  let enclave: Enclave | undefined;
  let server: CodeServer | undefined;
  let wb: Workbench | undefined;
  let seconds: number;

  before(async () => {
    fixture.requireBuilt();
    dir = await mkdtemp(path.join(tmpdir(), 'blindbox-e2e-stream-'));
    const workspace = path.join(dir, 'workspace');
    await mkdir(workspace, { recursive: true });
    const recording = await longRecording(workspace, 'minute', 1, 1);
    seconds = recording.samples / 16_000;
    enclave = await startEnclave(dir);
    server = await startCodeServer({ workspace, label: 'stream', settings: fixture.trustedSettings(enclave) });
    await server.installVsix(fixture.VSIX);
    wb = await openWorkbench(server);
    assert.match(await fixture.waitForSimulation(wb), /BlindBox: SIMULATION · /);
  });

  after(() => fixture.endSuite({ wb, server, enclave, dir }));

  test('the first words show, marked pending, before the last are decoded; then the verified header', async () => {
    const before = uploads(enclave!).length;
    const started = Date.now();
    await wb!.explorerContextMenu('minute.wav', fixture.TRANSCRIBE_MENU_ITEM);
    // The editor as it first shows words, and when; then the progress notification's audio time as it goes.
    const text = () => wb!.activeEditorText().catch(() => '');
    const first = await wb!.pollFor(async () => {
      const shown = await text();
      return shown.startsWith(PENDING) && belowStatus(shown).length > 0 ? { shown, at: Date.now() } : undefined;
    }, 90_000, 50);
    if (!first) {
      await wb!.screenshot('stream-1-no-first-words');
      assert.fail(`no pending document with words; active ${JSON.stringify(await wb!.activeEditorTitle())}; notifications ${JSON.stringify(await wb!.notifications())}`);
    }
    await wb!.screenshot('stream-1-first-words');
    const progress = new Set<string>();
    const done = await wb!.pollFor(async () => {
      for (const n of await wb!.notifications()) if (/\d\d:\d\d of \d\d:\d\d transcribed/.test(n)) progress.add(n);
      const shown = await text();
      return shown.startsWith('Transcript of minute.wav') ? { shown, at: Date.now() } : undefined;
    }, 90_000, 100);
    if (!done) {
      await wb!.screenshot('stream-2-not-verified');
      assert.fail(`never verified; active text ${JSON.stringify((await text()).slice(0, 300))}; notifications ${JSON.stringify(await wb!.notifications())}`);
    }
    await wb!.screenshot('stream-2-verified');
    const firstMs = first.at - started;
    const totalMs = done.at - started;
    console.log(`  ${seconds.toFixed(1)} s of audio: first words after ${(firstMs / 1000).toFixed(1)} s, verified transcript after ${(totalMs / 1000).toFixed(1)} s (${((firstMs / totalMs) * 100).toFixed(0)} % of the total)`);
    // What was shown first is the start of the final words, short of their end: it came before the last segment.
    const firstWords = belowStatus(first.shown);
    const finalWords = fixture.assertProvenanceHeader(done.shown, enclave!, 'minute.wav').replace(/\s+/g, ' ').trim();
    assert.ok(finalWords.startsWith(firstWords) && firstWords.length < finalWords.length, `first ${JSON.stringify(firstWords)} not a strict start of ${JSON.stringify(finalWords.slice(0, 200))}…`);
    assert.ok(firstMs < totalMs);
    assert.match(done.shown, /\nReceipt verified · audio SHA-256 [0-9a-f]{16}… · enclave /);
    console.log(`  progress seen: ${JSON.stringify([...progress])}`);
    assert.ok(progress.size > 0, 'the notification showed the audio time reached');
    assert.equal(uploads(enclave!).length, before + 1, 'one upload');
  });
});
