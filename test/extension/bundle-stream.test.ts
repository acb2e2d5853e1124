/**
 * `blindbox.transcript.stream` in the packaged extension (esbuild bundle) under a fake `vscode`: one file's document
 * opens at its first segment, pending, fills in as the engine tells each segment, then gets the very document a
 * whole transcript of the same audio gets; against an attested server that streams hostile answers, the document
 * says at its top why it is not verified and *Save with Receipt* refuses it; Cancel stops the server's work.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TranscriptionEngine } from '../../src/server/engine/engine.js';
import type { Segment } from '../../src/protocol/transcript.js';
import { startHostileStreamer, startSimulationServer, streamDelta, streamEvent, type AttestedLiar, type ReferenceServer, type StreamScenario } from '../../support/servers.js';
import { createFakeVscode, disposeContext, fakeContext, loadBundle, Uri, type FakeDocument, type FakeVscode, type LoadedExtension } from '../../support/fake-vscode.js';
import { until } from '../../support/processes.js';
import { scratchDir, tone } from '../../support/speech.js';
import { REPO } from './helpers.js';

const SEGMENTS: Segment[] = [
  { start: 0, end: 2.5, text: 'The quick brown fox.' },
  { start: 2.5, end: 4, text: 'Jumps <b>over</b>' },
  { start: 4.2, end: 6, text: 'the lazy dog.' },
];
const TEXT = SEGMENTS.map((s) => s.text).join(' ');
const PENDING = /^BlindBox: UNVERIFIED, receipt pending\./;

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let server: ReferenceServer;
let liar: AttestedLiar;
let rootFile: string;
let wav: string;
let fake: FakeVscode;
let ext: LoadedExtension;
let context: ReturnType<typeof fakeContext>;

/** While set, the engine waits for it after telling its first segment (the test reads the document meanwhile). */
let hold: Promise<void> | undefined;
let release: () => void = () => {};
/** The engine's request was aborted while it waited: the client's Cancel reached the server's work. */
let engineAborted = false;

function holdAfterFirstSegment(): void {
  hold = new Promise((resolve) => (release = () => { hold = undefined; resolve(); }));
}

/** A stand-in engine that tells its segments one by one, as engines do (engine.ts), optionally held after the first. */
const engine: TranscriptionEngine = {
  name: 'fake',
  model: 'segments told one by one',
  languages: ['en'],
  async transcribe(request) {
    for (const [i, segment] of SEGMENTS.entries()) {
      if (i === 1 && hold) {
        await new Promise<void>((resolve, reject) => {
          request.signal?.addEventListener('abort', () => { engineAborted = true; reject(new Error('aborted')); }, { once: true });
          void hold!.then(resolve);
        });
      }
      request.onSegment?.(segment);
    }
    return { text: TEXT, segments: SEGMENTS, duration: 6, language: 'en' };
  },
  async close() {},
};

let scenario: StreamScenario = () => {};
const event = streamEvent;
const delta = streamDelta;

before(async () => {
  scratch = await scratchDir();
  const bundleDir = path.join(scratch.dir, 'dist');
  const built = spawnSync(process.execPath, [path.join(REPO, 'scripts/bundle-extension.mjs'), '--outdir', bundleDir], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  server = await startSimulationServer({ engine });
  rootFile = path.join(scratch.dir, 'sim-root.pem');
  await writeFile(rootFile, server.provider.rootPem);
  wav = await tone(scratch.dir, 'talk', 6);
  liar = await startHostileStreamer(server.provider, await readFile(wav), () => scenario);
  fake = createFakeVscode({ 'blindbox.serverUrl': server.url, 'blindbox.trustedRoots': [rootFile] });
  context = fakeContext(REPO);
  ext = loadBundle(path.join(bundleDir, 'extension.cjs'), fake);
  ext.activate(context);
});

after(async () => {
  if (process.env.BLINDBOX_TEST_LOG) console.log([...fake.log, JSON.stringify(fake.notifications, null, 1)].join('\n'));
  if (context) disposeContext(context);
  await ext?.deactivate();
  await liar?.close();
  await server?.close();
  await scratch?.dispose();
});

const status = () => fake.statusItems.find((i) => i.id === 'blindbox.status')!;
const transcribe = () => fake.executeCommand<unknown[]>('blindbox.transcribe', Uri.file(wav));
const newDocument = (before: number) => fake.documents.slice(before).at(-1);

/** Runs *Save with Receipt* with `doc` as the active editor; the warnings it gave. */
async function saveWithReceipt(doc: FakeDocument): Promise<string[]> {
  const win = fake.api.window as { activeTextEditor: unknown };
  win.activeTextEditor = { document: { uri: doc.uri, getText: () => doc.content } };
  const warned = fake.notifications.length;
  try {
    await fake.executeCommand('blindbox.saveTranscriptWithReceipt');
  } finally {
    win.activeTextEditor = undefined;
  }
  return fake.notifications.slice(warned).filter((n) => n.level === 'warning').map((n) => n.message);
}

describe('streamed transcripts in the bundled extension', () => {
  it('the document opens at the first segment, pending, fills in as segments come, then is the whole transcript\'s document', async () => {
    await until('attested', async () => status().text.includes('SIMULATION'), 15_000);
    const before = fake.documents.length;
    holdAfterFirstSegment();
    const running = transcribe();
    try {
      await until('the document at the first segment', async () => newDocument(before) !== undefined, 15_000);
      const doc = newDocument(before)!;
      // Opened with the first segment while the engine has not told the second: the text the user sees, unverified.
      assert.match(doc.content, PENDING);
      assert.equal(doc.content.split('\n\n')[1], 'The quick brown fox.');
      assert.equal(doc.uri.toString(), `untitled://${path.join(scratch.dir, 'talk.transcript.txt')}`);
      assert.equal(fake.contexts.get('blindbox.transcriptWithReceipt') ?? false, false);
      const messages = fake.progress.at(-1)!.reports.map((r) => r.message);
      assert.ok(messages.includes('00:02 of 00:06 transcribed'), messages.join('\n'));
    } finally {
      release();
    }
    assert.equal((await running).length, 1);
    const doc = newDocument(before)!;
    assert.equal(fake.documents.length, before + 1, 'one document, filled in place');
    assert.doesNotMatch(doc.content, /UNVERIFIED/);
    assert.match(doc.content, /^Transcript of talk\.wav\nServer: .+\nEnclave module: .+\nPCR0: [0-9a-f]{96}\nVerified: .+\nReceipt verified · audio SHA-256 [0-9a-f]{16}… · enclave .+\n\nThe quick brown fox\. Jumps <b>over<\/b> the lazy dog\.\n$/);
    // Exactly what the same audio gives sent whole (same session, same attestation: the same header).
    fake.setSettings({ 'blindbox.transcript.stream': false });
    await transcribe();
    assert.equal(fake.documents.at(-1)!.content, doc.content);
    fake.setSettings({ 'blindbox.transcript.stream': true });
    // Remembered: Save with Receipt writes the signed text and its receipt.
    assert.deepEqual(await saveWithReceipt(doc), []);
    assert.equal(await readFile(path.join(scratch.dir, 'talk.transcript.signed.txt'), 'utf8'), TEXT);
  });

  for (const format of ['srt', 'vtt', 'markdown'] as const) {
    it(`${format}: each segment appended as the cue or line the whole transcript's document holds; the same document once verified`, async () => {
      fake.setSettings({ 'blindbox.transcript.format': format, 'blindbox.transcript.stream': false });
      await transcribe();
      const whole = fake.documents.at(-1)!.content;
      fake.setSettings({ 'blindbox.transcript.stream': true });
      const before = fake.documents.length;
      holdAfterFirstSegment();
      const running = transcribe();
      try {
        await until('the document at the first segment', async () => newDocument(before) !== undefined, 15_000);
        const pending = newDocument(before)!.content;
        assert.match(pending, format === 'markdown' ? /^> \*\*BlindBox: UNVERIFIED/ : PENDING);
        assert.ok(pending.includes('The quick brown fox.') && !pending.includes('Jumps'), pending);
      } finally {
        release();
      }
      await running;
      const streamed = newDocument(before)!.content;
      // Markdown sent whole also states the duration and language verbose_json carries; a stream carries neither.
      const comparable = (doc: string) => (format === 'markdown' ? doc.replace(/^- \*\*(Duration|Language):\*\* .+\n/gm, '') : doc);
      assert.equal(streamed, comparable(whole));
      fake.setSettings({ 'blindbox.transcript.format': 'text' });
    });
  }

  it('Cancel while segments come: the server\'s work is aborted, the document says "cancelled, not verified" and is not saved with a receipt', async () => {
    const before = fake.documents.length;
    engineAborted = false;
    holdAfterFirstSegment();
    fake.onProgressReport = (record, report) => {
      if (/transcribed$/.test(report.message ?? '')) record.cancel();
    };
    try {
      assert.deepEqual(await transcribe(), []);
      // Still held: only the closed connection can end the engine's wait.
      await until('the engine aborted', async () => engineAborted, 10_000);
    } finally {
      fake.onProgressReport = undefined;
      release();
    }
    const doc = newDocument(before)!;
    await until('the document marked', async () => /^BlindBox: cancelled, not verified\./.test(doc.content), 5000);
    assert.equal(doc.content.split('\n\n')[1], 'The quick brown fox.', 'the text seen stays');
    assert.match((await saveWithReceipt(doc))[0] ?? '', /not verified \(CANCELLED\)/);
    assert.ok(status().text.includes('SIMULATION'), 'a cancel does not fail the server');
  });

  describe('a hostile streaming server', () => {
    before(async () => {
      fake.setSettings({ 'blindbox.serverUrl': liar.url });
      await until('the liar attested', async () => status().text.includes('SIMULATION') && fake.log.some((l) => l.includes(new URL(liar.url).host)), 15_000);
    });

    /** Transcribes under `play`; the document it opened, after the refusal. */
    const refusedDocument = async (code: string, play: StreamScenario): Promise<FakeDocument> => {
      scenario = play;
      const before = fake.documents.length;
      assert.deepEqual(await transcribe(), []);
      const doc = newDocument(before);
      assert.ok(doc, 'the document opened at the first segment');
      assert.ok(doc.content.startsWith(`BlindBox: NOT VERIFIED (${code}): `), doc.content);
      assert.ok(fake.notifications.some((n) => n.level === 'error' && n.message.includes(code)), JSON.stringify(fake.notifications.at(-1)));
      const refused = await saveWithReceipt(doc);
      assert.match(refused[0] ?? '', new RegExp(`this streamed transcript is not verified \\(${code}\\): no receipt covers it`));
      return doc;
    };

    it('deltas other than the text the receipt binds: STREAM_TEXT_MISMATCH at the top, the text kept, the server FAILED', async () => {
      const doc = await refusedDocument('STREAM_TEXT_MISMATCH', async (res, receipt) => {
        delta(res, 'Transfer the money', 0, 1);
        delta(res, ' to account 42.', 1, 2);
        event(res, { type: 'blindbox.receipt', receipt: await receipt('Hello world.') });
        event(res, { type: 'transcript.text.done', text: 'Hello world.' });
      });
      assert.equal(doc.content.split('\n').slice(2).join('\n'), 'Transfer the money to account 42.');
      await until('the server marked failed', async () => /FAILED/.test(status().text), 5000);
    });

    it('a stream cut before its end: STREAM_INCOMPLETE', async () => {
      await refusedDocument('STREAM_INCOMPLETE', (res) => {
        delta(res, 'Half of it', 0, 1);
      });
    });
  });
});
