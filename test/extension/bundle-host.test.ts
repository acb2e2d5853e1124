/**
 * The packaged extension (esbuild bundle, as in the .vsix) driven through its
 * commands under a fake `vscode` (fake-vscode.ts), against the reference server
 * in simulation with a stand-in transcription endpoint. What only a real editor
 * can show (menus, rendering, focus) is left to the end-to-end tests.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants, unlinkSync, writeFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EngineError, type TranscriptionEngine } from '../../src/server/engine/engine.js';
import { startDribblingServer, startSimulationServer, type ReferenceServer } from '../../support/servers.js';
import { createFakeVscode, disposeContext, fakeContext, loadBundle, Uri, type FakeVscode, type LoadedExtension } from '../../support/fake-vscode.js';
import { LAZY_ONLY_BUILTINS } from '../../support/measure-activation.js';
import { REPO } from './helpers.js';
import { issueCertificate, toPem } from '../../src/server/attestation/certificates.js';
import { createNitroChain, nitroChainSpecs } from '../../src/server/attestation/nitro-chain.js';

let dir: string;
let server: ReferenceServer;
let rootFile: string;
let wav: string;
let bigWav: string;
let fake: FakeVscode;
let ext: LoadedExtension;
let context: ReturnType<typeof fakeContext>;
let api: ReturnType<LoadedExtension['activate']>;
/** Wall time from before the bundle was loaded to after `activate` returned: the ceiling of what the extension may report. */
let loadAndActivateMs: number;
const uploads: { bytes: number }[] = [];
/** How many of the next transcriptions the stand-in engine refuses as busy (429, Retry-After 1). */
let busyAnswers = 0;
/** Transcriptions running at once in the stand-in engine, and the most seen. */
let running = 0;
let peakRunning = 0;
/** How long the stand-in engine takes per transcription beyond its usual 150 ms. */
let slowTranscriptionMs = 0;
/** Called when an upload has arrived whole, before it is transcribed (which waits for it). */
let onUpload: (() => Promise<void>) | undefined;

/** A stand-in speech engine: the real server's endpoints (multipart, formats) around a fixed transcript. */
const engine: TranscriptionEngine = {
  name: 'fake',
  model: 'fixed transcript',
  languages: ['en'],
  async transcribe(request) {
    uploads.push({ bytes: (await stat(request.path)).size });
    await onUpload?.();
    if (busyAnswers > 0) {
      busyAnswers--;
      throw new EngineError('BUSY', 'The queue is full.');
    }
    peakRunning = Math.max(peakRunning, ++running);
    // Long enough for a batch's files to overlap.
    await new Promise((resolve) => setTimeout(resolve, 150 + slowTranscriptionMs));
    running--;
    const segments = [
      { start: 0, end: 1.5, text: 'The quick brown fox.' },
      { start: 1.5, end: 3, text: '<b>jumps</b>' },
    ];
    // As engines do (engine.ts): each segment told as it is known, for a streamed answer.
    for (const segment of segments) request.onSegment?.(segment);
    return {
      text: 'The quick brown fox. <b>jumps</b>',
      segments,
      duration: 3,
      language: 'en',
    };
  },
  async close() {},
};

/** `size` bytes that start like a WAV file (the extension checks the first bytes before it sends anything); the fake engine reads no further. */
function wavLike(size: number): Buffer {
  return Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'), randomBytes(size - 12)]);
}

/** A PCM WAV header (16 kHz, mono, 16-bit) stating `seconds` of audio, followed by that much silence. */
function pcmWav(seconds: number): Buffer {
  const data = seconds * 32_000;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16_000, 24);
  header.writeUInt32LE(32_000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data, 40);
  return Buffer.concat([header, Buffer.alloc(data)]);
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; status: ${status().text}; log:\n${fake.log.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const status = () => fake.statusItems.find((i) => i.id === 'blindbox.status')!;
const walkthroughKeys = () => ['blindbox.configured', 'blindbox.attested', 'blindbox.transcribed'].map((key) => fake.contexts.get(key));
const settingRoots = () => (fake.api.workspace as { getConfiguration(): { get(key: string): unknown } }).getConfiguration().get('blindbox.trustedRoots') as string[];

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Bytes in ArrayBuffers and Blobs still reachable: what is left after two full collections (the second ends the first's sweep). */
function liveBufferBytes(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

/** `liveBufferBytes` once what is unreachable now has been freed (a Blob's memory goes after its wrapper's weak callback, a turn later). */
async function settledBufferBytes(): Promise<number> {
  liveBufferBytes();
  await new Promise((resolve) => setTimeout(resolve, 20));
  return liveBufferBytes();
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-host-'));
  const bundleDir = path.join(dir, 'dist');
  const built = spawnSync(process.execPath, [path.join(REPO, 'scripts/bundle-extension.mjs'), '--outdir', bundleDir], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  server = await startSimulationServer({ engine, limits: { busyRetryAfterSeconds: 1 } });
  rootFile = path.join(dir, 'sim-root.pem');
  await writeFile(rootFile, server.provider.rootPem);
  wav = path.join(dir, 'talk.WAV');
  await writeFile(wav, wavLike(300_000));
  bigWav = path.join(dir, 'long.wav');
  await writeFile(bigWav, wavLike(8 * 1024 * 1024));
  fake = createFakeVscode();
  context = fakeContext(REPO);
  const loadStart = performance.now();
  ext = loadBundle(path.join(bundleDir, 'extension.cjs'), fake);
  api = ext.activate(context);
  loadAndActivateMs = performance.now() - loadStart;
});

after(async () => {
  // BLINDBOX_TEST_LOG=1 prints what the extension logged, notified and reported, to follow a run.
  if (process.env.BLINDBOX_TEST_LOG) console.log([...fake.log, JSON.stringify(fake.notifications, null, 1), JSON.stringify(fake.progress.map((p) => p.reports))].join('\n'));
  if (context) disposeContext(context);
  await ext?.deactivate();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the bundled extension under a fake VS Code', () => {
  it('activates cheaply: no status item while no server is configured, the core not loaded yet', () => {
    assert.equal(status().visible, false);
    assert.deepEqual(api.state(), { kind: 'unconfigured', statusText: '' });
    for (const m of LAZY_ONLY_BUILTINS) assert.ok(!ext.requested.includes(m), `${m} loaded at activation`);
    assert.ok(!ext.requested.includes('./extension-core.cjs'), 'the core bundle is not required at activation');
    // Measured, not made up: both are real durations within what this test saw from outside, and the log says the same.
    const { activateMs, bundleEvaluationMs } = api.activation;
    for (const ms of [activateMs, bundleEvaluationMs]) assert.ok(ms > 0 && ms <= loadAndActivateMs + 0.01, `${ms} ms within (0, ${loadAndActivateMs}]`);
    assert.ok(fake.log.includes(`[info] activated in ${activateMs} ms (bundle evaluated in ${bundleEvaluationMs} ms)`), fake.log.join('\n'));
  });

  it('attests when the server is set: SIMULATION, warning colour', async () => {
    // The walkthrough's keys from activation on: nothing configured, verified or transcribed yet.
    assert.deepEqual(walkthroughKeys(), [false, false, false]);
    fake.setSettings({ 'blindbox.serverUrl': server.url, 'blindbox.trustedRoots': [rootFile] });
    await waitFor('SIMULATION', () => status().text.includes('SIMULATION'));
    assert.deepEqual(walkthroughKeys(), [true, true, false]);
    assert.equal(status().visible, true);
    assert.equal(status().command, 'blindbox.showAttestation');
    // The policy and the age even in SIMULATION, and that nothing is pinned.
    assert.match(status().text, /^\$\(warning\) BlindBox: SIMULATION · unpinned · \d+ s$/);
    // The BlindBox view shows the same state (its rows come from the same TrustState).
    const view = fake.treeProviders.get('blindbox.trust') as { getChildren(): { label: string }[] };
    assert.equal(view.getChildren()[0]!.label, 'SIMULATION — not confidential');
    assert.ok(fake.panelSerializers.has('blindbox.attestation'), 'the panel can be restored after a reload');
    assert.equal((status().backgroundColor as { id: string }).id, 'statusBarItem.warningBackground');
    assert.ok(ext.requested.includes('./extension-core.cjs'));
    const summary = await fake.executeCommand<{ kind: string; simulation: boolean }>('blindbox.verify');
    assert.equal(summary.kind, 'verified');
    assert.equal(summary.simulation, true);
    assert.ok(fake.notifications.some((n) => n.level === 'warning' && n.message.includes('SIMULATION')));
  });

  it('ages on one clock: the view’s “Verified … ago” moves on with the status bar, second by second', async () => {
    const view = fake.treeProviders.get('blindbox.trust') as { getChildren(): { id: string; description?: string }[] };
    const ages = () => ({ status: / · (\d+ s)$/.exec(status().text)?.[1], view: view.getChildren().find((r) => r.id === 'age')?.description });
    const first = ages();
    assert.equal(first.view, `${first.status} ago`, JSON.stringify(first));
    await waitFor('the ages to move on', () => ages().status !== first.status, 3000);
    const later = ages();
    assert.equal(later.view, `${later.status} ago`, 'the view read the same tick as the status bar');
  });

  it('transcribes an explorer selection into a new document with provenance, reporting upload progress', async () => {
    const before = fake.documents.length;
    const opened = await fake.executeCommand<unknown[]>('blindbox.transcribeFromExplorer', Uri.file(wav), [Uri.file(wav)]);
    assert.equal(opened.length, 1);
    assert.deepEqual(walkthroughKeys(), [true, true, true]);
    assert.equal(context.globalState.get('blindbox.transcribed'), true, 'remembered for the next window');
    const doc = fake.documents.at(-1)!;
    assert.equal(fake.documents.length, before + 1);
    assert.equal(doc.language, 'plaintext');
    // An untitled document named beside the audio: the tab's title, what Save proposes.
    assert.equal(doc.uri.toString(), `untitled://${path.join(dir, 'talk.transcript.txt')}`);
    assert.match(doc.content, /^Transcript of talk\.WAV\nServer: https:\/\/127\.0\.0\.1:\d+ \(SIMULATION — not confidential\)\nEnclave module: .+\nPCR0: [0-9a-f]{96}\nVerified: \d{4}-.+Z \(policy default\)\nReceipt verified · audio SHA-256 [0-9a-f]{16}… · enclave .+\n\nThe quick brown fox\. <b>jumps<\/b>\n$/);
    // The enclave signed for it: the offer to save the transcript with its receipt.
    assert.ok(fake.notifications.some((n) => n.level === 'info' && n.message.includes('signed a receipt') && n.actions.includes('Save with Receipt')));
    assert.equal(fake.contexts.get('blindbox.transcriptWithReceipt'), false, 'the fake has no active editor: no title button');
    assert.equal(uploads.at(-1)!.bytes, 300_000, 'the whole file arrived');
    const progress = fake.progress.at(-1)!;
    assert.equal(progress.title, 'BlindBox: talk.WAV');
    const messages = progress.reports.map((r) => r.message);
    assert.ok(messages.includes('attesting the server…'));
    assert.ok(messages.some((m) => /^[\d.]+ of 300 KB( · [\d.]+ [KM]B\/s · .+ left)?$/.test(m ?? '')), messages.join('\n'));
    // The title names the file: the messages do not again.
    assert.ok(!messages.some((m) => m?.includes('talk.WAV ·')), messages.join('\n'));
    // talk.WAV states no length (random bytes after its RIFF header): no estimate, said so.
    assert.ok(messages.includes('transcribing on the enclave… · 0 s elapsed · estimate unknown (the file does not state its length)'), messages.join('\n'));
    assert.equal(messages.at(-1), 'done');
    assert.equal(progress.reports.reduce((sum, r) => sum + (r.increment ?? 0), 0), 100);
    assert.ok(!fake.log.some((l) => l.includes('The quick brown fox')), 'the log never holds transcript or audio content');
  });

  it('a long file: time elapsed, and an estimate from its length and the speed measured on the files before; the bar follows it', async () => {
    const recording = path.join(dir, 'meeting-recording.wav');
    await writeFile(recording, pcmWav(600));
    const before = fake.progress.length;
    slowTranscriptionMs = 1500;
    try {
      // The first file of known length sets the speed; the second is estimated from it.
      for (let i = 0; i < 2; i++) assert.equal((await fake.executeCommand<unknown[]>('blindbox.transcribe', Uri.file(recording))).length, 1);
    } finally {
      slowTranscriptionMs = 0;
    }
    const [first, second] = fake.progress.slice(before);
    assert.equal(second!.title, 'BlindBox: meeting-recording.wav');
    const lines = (p: typeof first) => p!.reports.map((r) => r.message ?? '');
    const transcribing = (p: typeof first) => lines(p).filter((m) => m.startsWith('transcribing on the enclave…'));
    // Measured on no file yet (this server's earlier ones stated no length): said honestly.
    assert.ok(transcribing(first).every((m) => m.endsWith(' · estimate unknown until a file is timed on this server')), transcribing(first).join('\n'));
    // The second: the time elapsed ticks (once a second) and the estimate counts down, or (a loaded machine can take
    // longer than the first file did) says it is past.
    const estimated = transcribing(second).map((m) => /^transcribing on the enclave… · (\d+) s elapsed · (?:about \d+ s left|longer than the \d+ s estimated)$/.exec(m));
    assert.ok(estimated.length >= 2 && estimated.every(Boolean), transcribing(second).join('\n'));
    assert.match(transcribing(second)[0]!, / · about \d+ s left$/, 'an estimate as the enclave starts');
    assert.ok(Number(estimated.at(-1)![1]) > Number(estimated[0]![1]), 'the elapsed time moves on while the enclave works');
    assert.ok(!lines(second).some((m) => m.includes('meeting-recording.wav')), 'the name is in the title only');
    // The bar follows the estimate while the enclave works (not parked at the upload's end), and only the answer completes it.
    let bar = 0;
    const barAt = second!.reports.map((r) => (bar += r.increment ?? 0));
    const lastTranscribing = lines(second).length - 1 - [...lines(second)].reverse().findIndex((m) => m.startsWith('transcribing'));
    const firstTranscribing = lines(second).findIndex((m) => m.startsWith('transcribing'));
    assert.ok(barAt[lastTranscribing]! > barAt[firstTranscribing]! + 20, `bar ${barAt.join(',')}`);
    assert.ok(barAt[lastTranscribing]! < 100 && barAt.at(-1) === 100, `bar ${barAt.join(',')}`);
    assert.ok(fake.log.some((l) => /meeting-recording\.wav: 600\.0 s of audio answered [\d.]+ s after its upload \(real-time factor 0\.0\d on this server so far\)/.test(l)), fake.log.join('\n'));
  });

  it('a busy server is retried after its Retry-After, the wait shown in the progress notification', async () => {
    const before = { documents: fake.documents.length, uploads: uploads.length };
    busyAnswers = 1;
    const opened = await fake.executeCommand<unknown[]>('blindbox.transcribe', Uri.file(wav));
    assert.equal(opened.length, 1);
    assert.equal(fake.documents.length, before.documents + 1);
    assert.equal(uploads.length, before.uploads + 2, 'sent twice: refused busy, then served');
    const messages = fake.progress.at(-1)!.reports.map((r) => r.message);
    assert.ok(messages.includes('server busy, retrying in 1 s (1 of 3)'), messages.join('\n'));
    assert.ok(fake.log.some((l) => l.includes('talk.WAV: HTTP 429, server busy, retrying in 1 s (1 of 3)')));
  });

  it('blindbox.transcript.language is passed to the server; one its engine cannot transcribe is refused and said so, nothing opened', async () => {
    const before = { documents: fake.documents.length, uploads: uploads.length };
    fake.setSettings({ 'blindbox.transcript.language': 'fr' });
    try {
      const opened = await fake.executeCommand<unknown[]>('blindbox.transcribe', Uri.file(wav));
      assert.deepEqual(opened, []);
      assert.equal(fake.documents.length, before.documents);
      assert.equal(uploads.length, before.uploads, 'refused before the engine ran');
      const error = fake.notifications.filter((n) => n.level === 'error').at(-1)!;
      assert.match(error.message, /HTTP 422/);
      assert.ok(fake.log.some((l) => l.includes('LANGUAGE_UNSUPPORTED') && /transcribes en only, not .fr./.test(l)), fake.log.slice(-3).join('\n'));
      fake.setSettings({ 'blindbox.transcript.language': 'en' });
      assert.equal((await fake.executeCommand<unknown[]>('blindbox.transcribe', Uri.file(wav))).length, 1);
    } finally {
      fake.setSettings({ 'blindbox.transcript.language': 'auto' });
    }
  });

  it('refuses a file named .wav that is not audio from its first bytes: no attestation, no upload, no document', async () => {
    const fake_ = path.join(dir, 'minutes.wav');
    await writeFile(fake_, 'Minutes of the meeting, typed, not recorded.\n');
    const before = { documents: fake.documents.length, uploads: uploads.length, progress: fake.progress.length };
    const opened = await fake.executeCommand<unknown[]>('blindbox.transcribeFromExplorer', Uri.file(fake_), [Uri.file(fake_)]);
    assert.deepEqual(opened, []);
    assert.equal(fake.documents.length, before.documents);
    assert.equal(uploads.length, before.uploads);
    assert.ok(!fake.progress.slice(before.progress).some((p) => p.reports.some((r) => r.message === 'attesting the server…')), 'nothing was attested for it');
    assert.ok(fake.notifications.some((n) => n.level === 'error' && /AUDIO_UNREADABLE/.test(n.message) && /minutes\.wav.*not audio in a format/.test(n.message)), JSON.stringify(fake.notifications.at(-1)));
  });

  it('saves the transcript with its receipt beside the audio; Verify Receipt… proves it, and refuses an edited transcript in words, with a diff', async () => {
    const doc = fake.documents.at(-1)!;
    const win = fake.api.window as { activeTextEditor: unknown };
    win.activeTextEditor = { document: { uri: doc.uri, getText: () => doc.content } };
    try {
      const saved = await fake.executeCommand<Uri>('blindbox.saveTranscriptWithReceipt');
      assert.equal(path.basename(saved.path), 'talk.receipt.json');
      const receipt = JSON.parse(await readFile(saved.path, 'utf8')) as { audio: { name: string; sha256: string }; transcript: { format: string } };
      assert.equal(receipt.audio.name, 'talk.WAV');
      assert.equal(receipt.audio.sha256, createHash('sha256').update(await readFile(wav)).digest('hex'));
      const signed = path.join(path.dirname(wav), 'talk.transcript.signed.txt');
      assert.equal(await readFile(signed, 'utf8'), 'The quick brown fox. <b>jumps</b>', 'the answer byte for byte, under a name of its own');
      // The file named like the editor's tab (talk.transcript[-n].txt) holds what the tab holds, header included.
      const tab = path.basename(doc.uri.path);
      assert.match(tab, /^talk\.transcript(-\d+)?\.txt$/);
      assert.equal(await readFile(path.join(path.dirname(wav), tab), 'utf8'), doc.content);
      assert.equal(fake.notifications.at(-1)!.message, `BlindBox: saved talk.transcript.signed.txt, talk.receipt.json and ${tab} beside talk.WAV.`);
      // The receipt is picked; the audio and the transcript are the files offered beside it.
      fake.answerOpenDialog = (options) => [options.title?.includes('receipt (') ? saved : options.defaultUri!];
      // With the attestation view open, each outcome also lands in its receipt section.
      await fake.executeCommand('blindbox.showAttestation');
      type ReceiptView = { ok: boolean; title: string; file: string; text: string; matches: { ok: boolean; text: string }[]; details: string[]; canCompare: boolean } | null;
      const lastReceipt = () => (fake.webviewMessages.at(-1) as { model: { receipt: ReceiptView } }).model.receipt;
      assert.equal(await fake.executeCommand<boolean>('blindbox.verifyReceipt'), true);
      assert.match(fake.notifications.at(-1)!.message, /^BlindBox: receipt verified \(SIMULATION root: not a real enclave\): this transcript was produced by an enclave with PCR0 [0-9a-f]{96} for audio with SHA-256 [0-9a-f]{64} at /);
      const shown = lastReceipt()!;
      assert.deepEqual([shown.ok, shown.title, shown.file], [true, 'Receipt verified', 'talk.receipt.json']);
      assert.match(lastReceipt()!.text, /^this transcript was produced by an enclave with PCR0 [0-9a-f]{96} .* SIMULATION root: not a real enclave\.$/);

      await writeFile(signed, 'The quick brown fox. <b>jumped</b>');
      fake.answerMessage = (message, actions) => (message.startsWith('BlindBox: receipt refused') ? actions[0] : undefined);
      assert.equal(await fake.executeCommand<boolean>('blindbox.verifyReceipt'), false);
      const refusal = fake.notifications.at(-1)!;
      // In words first, the code after; no hash in the sentence; Compare offered first.
      assert.equal(refusal.message, 'BlindBox: receipt refused: The transcript changed after the enclave signed it; the audio matches. (TRANSCRIPT_MISMATCH)');
      assert.equal(refusal.level, 'error');
      assert.deepEqual(refusal.actions, ['Compare with the signed text', 'Show in Attestation View']);
      const refused = lastReceipt()!;
      assert.deepEqual([refused.ok, refused.title, refused.text], [false, 'Receipt refused', 'The transcript changed after the enclave signed it; the audio matches.']);
      assert.deepEqual(refused.matches, [
        { ok: true, text: 'Audio: matches what the enclave signed' },
        { ok: false, text: 'Transcript: differs from what the enclave signed' },
      ]);
      assert.equal(refused.details[0], 'code TRANSCRIPT_MISMATCH');
      assert.match(refused.details[2]!, /^transcript SHA-256 [0-9a-f]{64}, signed [0-9a-f]{64}$/);
      assert.equal(refused.canCompare, true);
      // The diff: the text the enclave signed (this window's transcript) beside the file checked.
      await waitFor('the diff editor', () => fake.diffs.length > 0);
      const shownDiff = fake.diffs.at(-1)!;
      assert.deepEqual([shownDiff.leftText, shownDiff.rightText], ['The quick brown fox. <b>jumps</b>', 'The quick brown fox. <b>jumped</b>']);
      assert.equal(shownDiff.title, 'talk.transcript.signed.txt (signed) ↔ talk.transcript.signed.txt');

      // A new transcription starts: the old refusal leaves the view.
      fake.answerMessage = undefined;
      await fake.executeCommand('blindbox.transcribe', Uri.file(wav));
      assert.equal(lastReceipt(), null, 'the refused receipt of older files is cleared');
    } finally {
      win.activeTextEditor = undefined;
      fake.answerOpenDialog = undefined;
      fake.answerMessage = undefined;
    }
  });

  it('blindbox.transcript.saveNextToAudio writes talk.transcript.srt beside the audio and opens it; replacing it asks first', async () => {
    fake.setSettings({ 'blindbox.transcript.saveNextToAudio': true, 'blindbox.transcript.format': 'srt' });
    const target = path.join(dir, 'talk.transcript.srt');
    try {
      await fake.executeCommand('blindbox.transcribe', Uri.file(wav));
      const written = await readFile(target, 'utf8');
      assert.match(written, /^0\n00:00:00,000 --> 00:00:00,001\nTranscript of talk\.WAV\nServer: .+ \(SIMULATION — not confidential\)\n/);
      assert.equal(fake.documents.at(-1)!.uri.toString(), Uri.file(target).toString());
      assert.equal(fake.documents.at(-1)!.content, written);
      // Asked again: declining keeps the file and opens the transcript untitled; no temporary file is left.
      await writeFile(target, 'mine');
      fake.answerMessage = () => undefined;
      await fake.executeCommand('blindbox.transcribe', Uri.file(wav));
      assert.ok(fake.notifications.some((n) => n.message === 'BlindBox: talk.transcript.srt exists beside the audio. Replace it with the new transcript?'));
      assert.equal(await readFile(target, 'utf8'), 'mine');
      assert.equal(fake.documents.at(-1)!.uri.scheme, 'untitled');
      fake.answerMessage = (message) => (message.includes('Replace it') ? 'Replace' : undefined);
      await fake.executeCommand('blindbox.transcribe', Uri.file(wav));
      assert.match(await readFile(target, 'utf8'), /^0\n/);
      assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.tmp')), []);
    } finally {
      fake.answerMessage = undefined;
      fake.setSettings({ 'blindbox.transcript.saveNextToAudio': false, 'blindbox.transcript.format': 'text' });
      await rm(target, { force: true });
    }
  });

  it('saveNextToAudio never writes through a link planted at the transcript name: the file it points to is intact', async () => {
    fake.setSettings({ 'blindbox.transcript.saveNextToAudio': true, 'blindbox.transcript.format': 'srt' });
    const target = path.join(dir, 'talk.transcript.srt');
    const victim = path.join(dir, 'precious.txt');
    await writeFile(victim, 'keep me\n');
    await symlink(victim, target);
    fake.answerMessage = (message) => (message.includes('Replace it') ? 'Replace' : undefined);
    try {
      await fake.executeCommand('blindbox.transcribe', Uri.file(wav));
      assert.equal(await readFile(victim, 'utf8'), 'keep me\n');
      assert.equal((await lstat(target)).isSymbolicLink(), true);
      assert.equal(fake.documents.at(-1)!.uri.scheme, 'untitled', 'the transcript opens untitled instead');
    } finally {
      fake.answerMessage = undefined;
      fake.setSettings({ 'blindbox.transcript.saveNextToAudio': false, 'blindbox.transcript.format': 'text' });
      await rm(target, { force: true });
      await rm(victim, { force: true });
    }
  });

  it('Verify Receipt… of a named pipe nobody writes to is refused at once, not waited on', async () => {
    const fifo = path.join(dir, 'planted.receipt.json');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    fake.answerOpenDialog = () => [Uri.file(fifo)];
    try {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<string>((resolve) => (timer = setTimeout(resolve, 10_000, 'still waiting after 10 s')));
      const verdict = await Promise.race([fake.executeCommand<boolean>('blindbox.verifyReceipt'), bound]).finally(() => clearTimeout(timer));
      assert.equal(verdict, false);
      assert.match(fake.notifications.at(-1)!.message, /^BlindBox: receipt refused: .*planted\.receipt\.json" is not a regular file \(it is a named pipe/);
    } finally {
      fake.answerOpenDialog = undefined;
      // A reader left waiting on the pipe (the bug) gets its end of file, so that the test fails instead of hanging.
      await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).then((h) => h.close(), () => undefined);
      await rm(fifo, { force: true });
    }
  });

  it('refuses a remote audio file larger than any server takes before reading a byte of it', async () => {
    const huge = path.join(dir, 'huge.wav');
    await writeFile(huge, '');
    await truncate(huge, 201 * 1024 * 1024); // sparse: no disk used
    const before = { documents: fake.documents.length, uploads: uploads.length };
    const remote = Uri.from({ scheme: 'vscode-remote', path: huge });
    const opened = await fake.executeCommand<unknown[]>('blindbox.transcribeFromExplorer', remote, [remote]);
    assert.equal(opened.length, 0);
    assert.equal(fake.documents.length, before.documents, 'no document opened');
    assert.equal(uploads.length, before.uploads, 'nothing uploaded');
    assert.ok(!fake.fsReads.includes(remote.toString()), 'the file was never read into memory');
    assert.ok(fake.notifications.some((n) => n.level === 'error' && /AUDIO_UNREADABLE/.test(n.message) && /more than the 200 MB/.test(n.message)), JSON.stringify(fake.notifications.at(-1)));
  });

  it('asks for verbose_json and writes Markdown with timestamps when the format says so, for each file of a multi-selection, beside the audio with its receipt, at free names', async () => {
    fake.setSettings({ 'blindbox.transcript.format': 'markdown' });
    const sent = uploads.length;
    const documents = fake.documents.length;
    const shown = fake.shown.length;
    const folder = path.join(dir, 'multi');
    await mkdir(folder);
    const audio = path.join(folder, 'talk.WAV');
    await writeFile(audio, await readFile(wav));
    // Someone's file at the first name: kept, and the batch takes the next free one.
    await writeFile(path.join(folder, 'talk.receipt.json'), 'mine');
    const notes = path.join(folder, 'notes.txt');
    await writeFile(notes, 'not audio');
    const opened = await fake.executeCommand<Uri[]>('blindbox.transcribeFromExplorer', Uri.file(audio), [Uri.file(audio), Uri.file(notes), Uri.file(audio)]);
    assert.deepEqual(opened.map((u) => path.basename(u.path)).sort(), ['talk.transcript-2.md', 'talk.transcript-3.md']);
    assert.equal(fake.documents.length, documents, 'no untitled document: the batch writes files');
    // Only the first transcript written is shown, without the focus.
    const shownNow = fake.shown.slice(shown);
    assert.deepEqual(shownNow.map((s) => s.preserveFocus), [true]);
    assert.ok(opened.some((u) => u.path === shownNow[0]!.uri.path));
    assert.deepEqual((await readdir(folder)).sort(), ['notes.txt', 'talk.WAV', 'talk.receipt-2.json', 'talk.receipt-3.json', 'talk.receipt.json', 'talk.transcript-2.md', 'talk.transcript-2.signed.json', 'talk.transcript-3.md', 'talk.transcript-3.signed.json']);
    assert.equal(await readFile(path.join(folder, 'talk.receipt.json'), 'utf8'), 'mine');
    const markdown = await readFile(opened[0]!.path, 'utf8');
    assert.match(markdown, /^# Transcript of talk\.WAV\n/);
    assert.match(markdown, /^- `\[00:00\]` The quick brown fox\.$/m);
    assert.match(markdown, /^- `\[00:01\]` \\<b\\>jumps\\<\/b\\>$/m);
    assert.equal(uploads.length, sent + 2);
    assert.ok(fake.notifications.some((n) => n.level === 'warning' && n.message.includes('skipped 1 selected item')));
    // Each receipt proves its transcript and the audio (the real CLI).
    for (const n of [2, 3]) {
      const verified = spawnSync(process.execPath, [path.join(REPO, 'out/src/cli/main.js'), 'verify-receipt', path.join(folder, `talk.receipt-${n}.json`), '--audio', audio, '--transcript', path.join(folder, `talk.transcript-${n}.signed.json`), '--trust-root', rootFile], { encoding: 'utf8' });
      assert.equal(verified.status, 0, `${verified.stdout}\n${verified.stderr}`);
    }
    fake.setSettings({ 'blindbox.transcript.format': 'vtt' });
    await fake.executeCommand('blindbox.transcribe', Uri.file(wav));
    assert.match(fake.documents.at(-1)!.content, /^WEBVTT\n\nNOTE\nTranscript of talk\.WAV\n/);
    assert.equal(fake.documents.at(-1)!.uri.path, path.join(dir, 'talk.transcript.vtt'));
    assert.equal(fake.documents.at(-1)!.language, 'plaintext', 'no VTT language installed: plain text, not the .vtt guess');
    // A name already open (the Markdown one opened first) or on disk is skipped: Save never lands on an existing file.
    fake.setSettings({ 'blindbox.transcript.format': 'markdown' });
    await fake.executeCommand('blindbox.transcribe', Uri.file(wav));
    assert.equal(fake.documents.at(-1)!.uri.path, path.join(dir, 'talk.transcript.md'));
    await writeFile(path.join(dir, 'talk.transcript-2.md'), 'mine');
    await fake.executeCommand('blindbox.transcribe', Uri.file(wav));
    assert.equal(fake.documents.at(-1)!.uri.path, path.join(dir, 'talk.transcript-3.md'));
    assert.equal(fake.documents.at(-1)!.language, 'markdown');
    assert.equal(await readFile(path.join(dir, 'talk.transcript-2.md'), 'utf8'), 'mine');
    fake.setSettings({ 'blindbox.transcript.format': 'text' });
  });

  it('transcribes a folder’s audio files, two at a time, under one progress notification, with one summary', async () => {
    const folder = path.join(dir, 'folder');
    await mkdir(folder, { recursive: true });
    const names = ['a.wav', 'b.wav', 'c.wav'];
    for (const name of names) await writeFile(path.join(folder, name), await readFile(wav));
    await writeFile(path.join(folder, 'readme.txt'), 'not audio');
    const before = { documents: fake.documents.length, uploads: uploads.length, progress: fake.progress.length, quickPicks: fake.quickPicks.length, shown: fake.shown.length };
    peakRunning = 0;
    const opened = await fake.executeCommand<unknown[]>('blindbox.transcribeFromExplorer', Uri.file(folder), [Uri.file(folder)]);
    assert.equal(opened.length, 3);
    // Asked once where the transcripts go; the default (Enter) is beside the audio.
    assert.deepEqual(fake.quickPicks.slice(before.quickPicks), [{ title: 'BlindBox: where should the 3 transcripts and their receipts go?', labels: ['$(file-media) Beside each audio file', '$(folder-opened) Into one folder…'] }]);
    assert.equal(fake.documents.length, before.documents, 'no untitled documents');
    assert.equal(fake.shown.length, before.shown + 1, 'only the first transcript shown');
    assert.deepEqual((await readdir(folder)).sort(), ['a.receipt.json', 'a.transcript.signed.txt', 'a.transcript.txt', 'a.wav', 'b.receipt.json', 'b.transcript.signed.txt', 'b.transcript.txt', 'b.wav', 'c.receipt.json', 'c.transcript.signed.txt', 'c.transcript.txt', 'c.wav', 'readme.txt']);
    assert.equal(uploads.length - before.uploads, 3);
    assert.equal(fake.progress.length, before.progress + 1, 'one progress notification for the batch');
    const progress = fake.progress.at(-1)!;
    assert.equal(progress.title, 'BlindBox: 3 files');
    const messages = progress.reports.map((r) => r.message ?? '');
    assert.deepEqual(messages.slice(0, 2), ['reading the files…', 'attesting the server…']);
    // The counter counts the file it names.
    for (const m of messages.slice(2)) assert.match(m, /^(1 of 3 · a|2 of 3 · b|3 of 3 · c)\.wav · /);
    assert.ok(messages.some((m) => /^\d of 3 · [abc]\.wav · [\d.]+ of [\d.]+ [KM]B/.test(m)), messages.join('\n'));
    assert.equal(progress.reports.reduce((sum, r) => sum + (r.increment ?? 0), 0), 100);
    assert.equal(peakRunning, 2, 'blindbox.concurrency (default 2) files at once');
    assert.deepEqual(fake.notifications.at(-1), { level: 'info', message: 'BlindBox: transcribed 3 of 3 files. Transcripts and receipts are beside the audio.', actions: ['Open transcripts…', 'Reveal in File Manager'] });
  });

  it('the summary\'s Open transcripts… opens the ones picked, each in a tab of its own', async () => {
    const folder = path.join(dir, 'folder');
    const shown = fake.shown.length;
    fake.answerMessage = (message, actions) => (message.startsWith('BlindBox: transcribed') ? actions.find((a) => a === 'Open transcripts…') : undefined);
    fake.answerQuickPick = (title, labels) => (title === 'BlindBox: open transcripts' ? labels.filter((l) => l !== 'b.transcript-2.txt') : labels[0]);
    try {
      await fake.executeCommand('blindbox.transcribeFromExplorer', Uri.file(folder), [Uri.file(folder)]);
      await waitFor('the picked transcripts shown', () => fake.shown.length >= shown + 3);
      // The first written shown by the batch (preview, no focus); then a and c, picked, as tabs of their own.
      const picked = fake.shown.slice(shown + 1);
      assert.deepEqual(picked.map((s) => [path.basename(s.uri.path), s.preview]), [['a.transcript-2.txt', false], ['c.transcript-2.txt', false]]);
      assert.deepEqual(fake.quickPicks.at(-1)!.labels, ['a.transcript-2.txt', 'b.transcript-2.txt', 'c.transcript-2.txt'].sort());
    } finally {
      fake.answerMessage = undefined;
      fake.answerQuickPick = undefined;
    }
  });

  it('a batch into one folder, asked once and remembered; after Cancel, "Transcribe the remaining N" sends only those, into that folder, never over a file', async () => {
    const folder = path.join(dir, 'cancelled');
    const out = path.join(dir, 'transcripts');
    await mkdir(folder);
    await mkdir(out);
    const names = ['m1.wav', 'm2.wav', 'm3.wav', 'm4.wav', 'm5.wav'];
    for (const name of names) await writeFile(path.join(folder, name), wavLike(50_000));
    await writeFile(path.join(out, 'm5.transcript.txt'), 'mine');
    fake.answerQuickPick = (title, labels) => (title?.startsWith('BlindBox: where') ? labels.find((l) => l.includes('Into one folder')) : labels[0]);
    fake.answerOpenDialog = () => [Uri.file(out)];
    // Cancel once the second file is being sent: with two at a time, files 3 to 5 are never started.
    fake.onProgressReport = (record, report) => /^2 of 5 · m2\.wav · /.test(report.message ?? '') && record.cancel();
    let picked: string | undefined;
    fake.answerMessage = (message, actions) => {
      if (!message.startsWith('BlindBox: transcribed') || picked) return undefined;
      fake.onProgressReport = undefined;
      return (picked = actions.find((a) => a.startsWith('Transcribe the remaining')));
    };
    const asked = fake.quickPicks.length;
    try {
      await fake.executeCommand('blindbox.transcribeFromExplorer', Uri.file(folder), [Uri.file(folder)]);
      const summary = fake.notifications.filter((n) => n.message.startsWith('BlindBox: transcribed') && n.message.includes('of 5 files')).at(-1)!;
      assert.match(summary.message, /^BlindBox: transcribed [01] of 5 files; [45] cancelled\./);
      assert.ok(picked && summary.actions.includes(picked), JSON.stringify(summary));
      const remaining = Number(/remaining (\d)/.exec(picked!)![1]);
      // The remaining files run as a batch of their own (not asked again), into the same folder.
      await waitFor('the remaining files', () => fake.notifications.some((n) => n.message === `BlindBox: transcribed ${remaining} of ${remaining} files. Transcripts and receipts are in transcripts.`));
      assert.equal(fake.quickPicks.length, asked + 1, 'asked once for both batches');
      const written = (await readdir(out)).filter((f) => /\.receipt(-\d+)?\.json$/.test(f));
      assert.equal(written.length, 5, (await readdir(out)).join(', '));
      assert.equal(await readFile(path.join(out, 'm5.transcript.txt'), 'utf8'), 'mine');
      assert.ok((await readdir(out)).includes('m5.transcript-2.txt') && (await readdir(out)).includes('m5.receipt-2.json'));
      assert.deepEqual((await readdir(folder)).sort(), names, 'nothing written beside the audio');
      // Remembered: the next batch offers that folder first.
      fake.answerQuickPick = () => undefined;
      assert.deepEqual(await fake.executeCommand('blindbox.transcribeFromExplorer', Uri.file(folder), [Uri.file(folder)]), []);
      assert.deepEqual(fake.quickPicks.at(-1)!.labels, [`$(folder) Into ${out}`, '$(file-media) Beside each audio file', '$(folder-opened) Into one folder…']);
    } finally {
      fake.onProgressReport = undefined;
      fake.answerQuickPick = undefined;
      fake.answerOpenDialog = undefined;
      fake.answerMessage = undefined;
      // The next tests' batches go beside their audio again.
      await context.globalState.update('blindbox.batchDestination', undefined);
    }
  });

  it('a remote folder: every file checked before the attestation, read again on its turn, never more bodies in memory than files in flight (+1 being checked); one replaced by text or removed meanwhile fails alone', async () => {
    const SIZE = 3 * 1024 * 1024;
    const names = ['r0.wav', 'r1.wav', 'r2.wav', 'r3.wav', 'r4.wav', 'r5.wav'];
    const memfs = fake.memfs;
    for (const name of names) memfs.files.set(`/remote/${name}`, new Uint8Array(wavLike(SIZE)));
    memfs.peakInFlight = 0;
    memfs.reads.length = 0;
    const before = { documents: fake.documents.length, uploads: uploads.length };
    // Audio bodies held by the extension, in files' worth, sampled when each read starts (before its own bytes exist),
    // when each upload has arrived (its body still held) and when the attestation starts (every file checked, only the
    // first two, sent first, held). The baseline holds the files themselves (in `memfs`), and drops by what leaves
    // `memfs`.
    let baseline = await settledBufferBytes();
    const bodies = (bytes: number) => Math.round((bytes - baseline) / SIZE);
    let peakBodies = 0;
    let bodiesAtAttestation = -1;
    let readsBeforeAttestation: string[] = [];
    memfs.onRead = onUpload = async () => void (peakBodies = Math.max(peakBodies, bodies(await settledBufferBytes())));
    fake.onProgressReport = (_record, report) => {
      if (report.message !== 'attesting the server…') return;
      bodiesAtAttestation = bodies(liveBufferBytes());
      readsBeforeAttestation = [...memfs.reads];
      // Between the check and their turn: one file becomes text, one is removed.
      const text = new TextEncoder().encode('Minutes of the meeting, typed, not recorded.\n');
      memfs.files.set('/remote/r2.wav', text);
      memfs.files.delete('/remote/r4.wav');
      baseline -= 2 * SIZE - text.length;
    };
    try {
      const folder = Uri.from({ scheme: 'memfs', path: '/remote' });
      const opened = await fake.executeCommand<Uri[]>('blindbox.transcribeFromExplorer', folder, [folder]);
      assert.deepEqual(opened.map((u) => path.basename(u.path)).sort(), ['r0.transcript.txt', 'r1.transcript.txt', 'r3.transcript.txt', 'r5.transcript.txt']);
      assert.equal(fake.documents.length, before.documents);
      // Written through the workspace's file system, beside the remote audio; nothing for the file that changed or vanished.
      assert.deepEqual([...memfs.files.keys()].filter((p) => !p.endsWith('.wav')).sort(), ['r0', 'r1', 'r3', 'r5'].flatMap((r) => [`/remote/${r}.receipt.json`, `/remote/${r}.transcript.signed.txt`, `/remote/${r}.transcript.txt`]));
      assert.deepEqual(uploads.slice(before.uploads).map((u) => u.bytes), [SIZE, SIZE, SIZE, SIZE], 'only the four files still audio were sent, whole');
      // Every file was checked (read) before anything was attested; all but the two sent first were read again on their
      // turn (the removed one fails at its stat).
      assert.deepEqual([...readsBeforeAttestation].sort(), names.map((n) => `/remote/${n}`));
      assert.deepEqual(memfs.reads.slice(names.length).sort(), ['r2.wav', 'r3.wav', 'r5.wav'].map((n) => `/remote/${n}`));
      assert.ok(memfs.peakInFlight <= 2, `${memfs.peakInFlight} reads in flight at once (blindbox.concurrency is 2)`);
      assert.ok(bodiesAtAttestation <= 2, `${bodiesAtAttestation} files' bodies held while attesting`);
      assert.ok(peakBodies >= 2 && peakBodies <= 3, `${peakBodies} files' bodies held at once (blindbox.concurrency is 2, +1 being checked)`);
      console.log(`remote batch of ${names.length} × ${SIZE} bytes: ${memfs.peakInFlight} reads in flight at most; bodies held: ${bodiesAtAttestation} at the attestation, ${peakBodies} at most at a read or an upload`);
      const summary = fake.notifications.at(-1)!;
      assert.equal(summary.message, 'BlindBox: transcribed 4 of 6 files; 2 failed: r2.wav (AUDIO_UNREADABLE), r4.wav (AUDIO_UNREADABLE). Transcripts and receipts are beside the audio.');
      assert.deepEqual(summary.actions, ['Open transcripts…', 'Reveal in File Manager', 'Retry the 2 failed']);
      assert.ok(fake.log.some((l) => /^\[error\] r2\.wav: AUDIO_UNREADABLE: .*r2\.wav.*not audio in a format.*changed after it was checked/.test(l)), fake.log.slice(-8).join('\n'));
      assert.ok(fake.log.some((l) => /^\[error\] r4\.wav: AUDIO_UNREADABLE: .*r4\.wav.*FileNotFound.*changed after it was checked/.test(l)), fake.log.slice(-8).join('\n'));
      // One remote file is read once: checked, held through the attestation, sent.
      memfs.onRead = onUpload = undefined;
      const reads = memfs.reads.length;
      const one = Uri.from({ scheme: 'memfs', path: '/remote/r0.wav' });
      assert.equal((await fake.executeCommand<Uri[]>('blindbox.transcribe', one)).length, 1);
      assert.equal(memfs.reads.length, reads + 1);
    } finally {
      fake.onProgressReport = undefined;
      memfs.onRead = onUpload = undefined;
      memfs.files.clear();
    }
  });

  it('a local file that became text or vanished between its check and its turn fails alone, clearly; the others are sent', async () => {
    const folder = path.join(dir, 'changing');
    await mkdir(folder, { recursive: true });
    for (const name of ['a.wav', 'b.wav', 'c.wav']) await writeFile(path.join(folder, name), wavLike(100_000));
    const before = { documents: fake.documents.length, uploads: uploads.length };
    fake.onProgressReport = (_record, report) => {
      if (report.message !== 'attesting the server…') return;
      writeFileSync(path.join(folder, 'b.wav'), 'Minutes of the meeting, typed, not recorded.\n');
      unlinkSync(path.join(folder, 'c.wav'));
    };
    try {
      const opened = await fake.executeCommand<Uri[]>('blindbox.transcribeFromExplorer', Uri.file(folder), [Uri.file(folder)]);
      assert.deepEqual(opened.map((u) => path.basename(u.path)), ['a.transcript.txt']);
      assert.equal(fake.documents.length, before.documents);
      assert.deepEqual(uploads.slice(before.uploads).map((u) => u.bytes), [100_000]);
      assert.equal(fake.notifications.at(-1)!.message, 'BlindBox: transcribed 1 of 3 files; 2 failed: b.wav (AUDIO_UNREADABLE), c.wav (AUDIO_UNREADABLE). Transcripts and receipts are beside the audio.');
      assert.ok(fake.log.some((l) => /^\[error\] b\.wav: AUDIO_UNREADABLE: .*b\.wav.*not audio in a format.*changed after it was checked/.test(l)), fake.log.slice(-6).join('\n'));
      assert.ok(fake.log.some((l) => /^\[error\] c\.wav: AUDIO_UNREADABLE: .*c\.wav.*ENOENT.*changed after it was checked/.test(l)), fake.log.slice(-6).join('\n'));
    } finally {
      fake.onProgressReport = undefined;
    }
  });

  it('cancelling the upload opens nothing', async () => {
    const before = fake.documents.length;
    fake.onProgressReport = (record, report) => {
      if (/^([\d.]+ of [\d.]+ [KM]B|transcribing on the enclave…)/.test(report.message ?? '')) record.cancel();
    };
    try {
      const opened = await fake.executeCommand<unknown[]>('blindbox.transcribe', Uri.file(bigWav));
      assert.deepEqual(opened, []);
      assert.equal(fake.documents.length, before);
      assert.ok(fake.log.some((l) => l.includes('long.wav: cancelled: nothing was opened')));
      assert.ok(fake.notifications.some((n) => n.level === 'info' && n.message === 'BlindBox: long.wav cancelled: nothing was opened.'));
    } finally {
      fake.onProgressReport = undefined;
    }
    assert.ok(status().text.includes('SIMULATION'), 'a cancelled upload does not fail the server');
  });

  it('ignores a workspace that tries to redirect audio', async () => {
    fake.setSettings({ 'blindbox.serverUrl': 'https://127.0.0.1:1' }, 'workspace');
    await waitFor('the warning', () => fake.log.some((l) => l.includes('blindbox.serverUrl: the workspace')));
    await waitFor('re-verification', () => status().text.includes('SIMULATION'));
    const summary = await fake.executeCommand<{ kind: string }>('blindbox.verify');
    assert.equal(summary.kind, 'verified');
  });

  it('shows the attestation in a webview: model by postMessage, strict CSP, junk messages ignored', async () => {
    await fake.executeCommand('blindbox.showAttestation');
    const panel = (fake as unknown as { panel: { webview: { html: string }; receive(m: unknown): void } }).panel;
    assert.match(panel.webview.html, /content="default-src 'none'; style-src vscode-webview:\/\/fake; script-src 'nonce-[A-Za-z0-9+/]{22}=='/);
    panel.receive({ type: 'ready' });
    const model = (fake.webviewMessages.at(-1) as { type: string; model: { state: string; pcrs: unknown[]; chain: unknown[]; server: string; simulationBanner: string } }).model;
    assert.equal(model.state, 'simulation');
    assert.equal(model.server, server.url);
    assert.ok(model.pcrs.length >= 3 && model.chain.length >= 2);
    assert.match(model.simulationBanner, /^SIMULATION/);
    panel.receive({ type: 'run', command: 'workbench.action.terminal.new' });
    assert.ok(fake.log.some((l) => l.includes('ignored an unexpected message from the attestation webview')));
  });

  it('exports evidence to the file chosen in the save dialog', async () => {
    const target = path.join(dir, 'evidence.json');
    fake.answerSaveDialog = () => Uri.file(target);
    try {
      const saved = await fake.executeCommand<Uri>('blindbox.exportEvidence');
      assert.equal(saved.fsPath, target);
    } finally {
      fake.answerSaveDialog = undefined;
    }
    assert.match(fake.saveDialogs.at(-1)!.defaultUri!.path, /\/blindbox-evidence-127\.0\.0\.1_\d+-[\dT-]+Z\.json$/);
    const evidence = JSON.parse(await readFile(target, 'utf8'));
    assert.equal(evidence.server, server.url);
    assert.deepEqual(evidence.verdict, { ok: true, simulation: true, code: null, message: null, serverSaid: null });
    assert.match(evidence.presentedCertificate.pem, /^-----BEGIN CERTIFICATE-----/);
  });

  it('never writes a target passed as a command argument (any extension or command link could pass one)', async () => {
    const victim = path.join(dir, 'precious.txt');
    await writeFile(victim, 'keep me\n');
    const dialogs = fake.saveDialogs.length;
    // The user cancels the dialog: nothing is written anywhere.
    const saved = await fake.executeCommand('blindbox.exportEvidence', Uri.file(victim));
    assert.equal(saved, undefined);
    assert.equal(await readFile(victim, 'utf8'), 'keep me\n');
    assert.equal(fake.saveDialogs.length, dialogs + 1, 'the save dialog was shown instead');
    assert.notEqual(fake.saveDialogs.at(-1)!.defaultUri!.path, victim, 'nor is the argument offered as the default');
    assert.ok(fake.log.some((l) => l.startsWith('[warn] exportEvidence: ignored the target passed with the command')));
  });

  it('with the simulation root no longer trusted: FAILED, an error with code and actions, and no audio sent', async () => {
    fake.setSettings({ 'blindbox.trustedRoots': [] });
    await waitFor('FAILED', () => status().text.includes('FAILED'));
    assert.equal(status().text, '$(error) BlindBox: FAILED · untrusted root');
    assert.equal((status().backgroundColor as { id: string }).id, 'statusBarItem.errorBackground');
    const sent = uploads.length;
    const docs = fake.documents.length;
    const opened = await fake.executeCommand<unknown[]>('blindbox.transcribeFromExplorer', Uri.file(wav), [Uri.file(wav), Uri.file(wav)]);
    assert.deepEqual(opened, []);
    assert.equal(fake.documents.length, docs, 'no document opened');
    assert.equal(uploads.length, sent, 'no audio reached the server');
    const error = fake.notifications.filter((n) => n.level === 'error').at(-1)!;
    assert.match(error.message, /^BlindBox: CHAIN_UNTRUSTED: The attestation chain starts at /);
    // The fix first: an untrusted chain offers to trust a root (Configure Server's root step).
    assert.deepEqual(error.actions, ['Trust a Root…', 'Show Attestation', 'Show details']);
    assert.equal(fake.progress.at(-1)!.reports.some((r) => / of [\d.]+ [KM]B/.test(r.message ?? '')), false);
  });

  it('a simulation root that no longer signs (the server restarted without --ca): Replace is offered; Enter keeps the old root, Replace leaves one and verifies', async () => {
    const dead = toPem((await createNitroChain(new Date())).root.der);
    const other = toPem((await issueCertificate({ ...nitroChainSpecs(new Date()).root, subject: [['CN', 'Team Root']] })).der);
    fake.setSettings({ 'blindbox.trustedRoots': [dead, other] });
    await waitFor('FAILED', () => status().text.includes('FAILED'));
    const asked: string[] = [];
    // A dialog's first button is the one Enter presses; the notification's fix is clicked.
    let confirm: (actions: readonly string[]) => string | undefined = (actions) => actions[0];
    fake.answerMessage = (message, actions) => {
      asked.push(message);
      return message.startsWith('BlindBox: CHAIN_UNTRUSTED') ? actions[0] : message.startsWith('BlindBox: replace') ? confirm(actions) : undefined;
    };
    try {
      await fake.executeCommand('blindbox.verify');
      await waitFor('the replacement asked', () => asked.some((m) => m.startsWith('BlindBox: replace the old simulation root?')));
      const error = fake.notifications.filter((n) => n.message.startsWith('BlindBox: CHAIN_UNTRUSTED')).at(-1)!;
      assert.match(error.message, /starts at a BlindBox SIMULATION root/);
      assert.deepEqual(error.actions, ['Replace the old simulation root…', 'Show Attestation', 'Show details']);
      const dialog = fake.notifications.filter((n) => n.message.startsWith('BlindBox: replace')).at(-1)!;
      assert.deepEqual(dialog.actions.filter((a) => typeof a === 'string'), ['Keep the Old Root', 'Replace the Old Simulation Root']);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(settingRoots(), [dead, other], 'Enter changed nothing');
      assert.match(status().text, /FAILED/);

      asked.length = 0;
      confirm = (actions) => actions.find((a) => a.startsWith('Replace'));
      await fake.executeCommand('blindbox.verify');
      await waitFor('SIMULATION again', () => status().text.includes('SIMULATION'));
      const roots = settingRoots();
      assert.equal(roots.length, 2);
      assert.equal(roots[0], other, 'the other root stays');
      assert.equal(roots[1]!.replace(/\s+/g, ''), server.provider.rootPem.replace(/\s+/g, ''), "the server's new root in place of the old one");
    } finally {
      fake.answerMessage = undefined;
    }
  });

  it('reports a bad setting clearly, and recovers when it is fixed', async () => {
    const notified = fake.notifications.length;
    fake.setSettings({ 'blindbox.policy': { pcrs: { 0: 'zz' } }, 'blindbox.trustedRoots': [rootFile] });
    await waitFor('FAILED · invalid settings', () => status().text === '$(error) BlindBox: FAILED · invalid settings');
    // A background check says it once, with the place to fix it (not only a red status item)…
    const background = fake.notifications.slice(notified);
    assert.equal(background.length, 1, JSON.stringify(background));
    assert.match(background[0]!.message, /^BlindBox: SETTINGS_INVALID: blindbox\.policy: /);
    assert.deepEqual(background[0]!.actions, ['Open User Settings', 'Show details']);
    // …and not again for the same problem.
    fake.setSettings({ 'blindbox.requestTimeoutSeconds': 31 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(fake.notifications.length, notified + 1);
    const summary = await fake.executeCommand<{ kind: string; code: string }>('blindbox.verify');
    assert.deepEqual(summary, { kind: 'failed', code: 'SETTINGS_INVALID' });
    assert.match(fake.notifications.at(-1)!.message, /^BlindBox: SETTINGS_INVALID: blindbox\.policy: The expected value of PCR0/);
    fake.setSettings({ 'blindbox.policy': {}, 'blindbox.requestTimeoutSeconds': undefined });
    await waitFor('SIMULATION again', () => status().text.includes('SIMULATION'));
  });

  it('a server that dribbles its document: the status ends FAILED · timeout, not "verifying…"; Verify has a Cancel that closes the connection', async () => {
    const dribbler = await startDribblingServer(1000);
    try {
      fake.setSettings({ 'blindbox.serverUrl': dribbler.url, 'blindbox.requestTimeoutSeconds': 2 });
      await waitFor('verifying', () => status().text.includes('verifying'));
      const started = Date.now();
      await waitFor('FAILED · timeout', () => status().text === '$(error) BlindBox: FAILED · timeout', 10_000);
      assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
      assert.ok(fake.log.some((l) => /^\[error\] https:\/\/127\.0\.0\.1:\d+: TIMEOUT: The attestation of 127\.0\.0\.1:\d+ did not complete within [24] s\.$/.test(l)));

      const progressBefore = fake.progress.length;
      const notifiedBefore = fake.notifications.length;
      const verifying = fake.executeCommand<{ kind: string; code?: string }>('blindbox.verify');
      await waitFor('the progress notification and the connection', () => fake.progress.length > progressBefore && dribbler.openSockets() === 1);
      assert.equal(fake.progress.at(-1)!.title, `BlindBox: verifying ${dribbler.url}…`);
      fake.progress.at(-1)!.cancel();
      assert.deepEqual(await verifying, { kind: 'failed', code: 'TIMEOUT' }, 'back to what it said before');
      // Cancelled by the user: nothing to announce (not the state it went back to).
      assert.deepEqual(fake.notifications.slice(notifiedBefore), []);
      assert.equal(status().text, '$(error) BlindBox: FAILED · timeout');
      await waitFor('the connection closed', () => dribbler.openSockets() === 0, 2000);
    } finally {
      fake.setSettings({ 'blindbox.serverUrl': server.url, 'blindbox.requestTimeoutSeconds': undefined });
      await dribbler.close();
    }
  });

  it('a Verify overtaken by a settings change still answers, with the outcome of the verification that overtook it', async () => {
    const dribbler = await startDribblingServer(1000);
    try {
      fake.setSettings({ 'blindbox.serverUrl': dribbler.url, 'blindbox.requestTimeoutSeconds': 5 });
      await waitFor('verifying', () => status().text.includes('verifying'));
      const notified = fake.notifications.length;
      const progressBefore = fake.progress.length;
      const verifying = fake.executeCommand<{ kind: string; simulation?: boolean }>('blindbox.verify');
      await waitFor('the command’s progress notification', () => fake.progress.length > progressBefore);
      // The user points BlindBox at another server while the command waits on the slow one.
      fake.setSettings({ 'blindbox.serverUrl': server.url, 'blindbox.requestTimeoutSeconds': undefined });
      const summary = await verifying;
      assert.deepEqual([summary.kind, summary.simulation], ['verified', true]);
      const said = fake.notifications.slice(notified);
      assert.deepEqual(said.map((n) => [n.level, n.message]), [['warning', `BlindBox: ${server.url} verified against a SIMULATION root — not confidential.`]]);
    } finally {
      fake.setSettings({ 'blindbox.serverUrl': server.url, 'blindbox.requestTimeoutSeconds': undefined });
      await dribbler.close();
    }
  });
});
