/**
 * Transcript flows inside code-server's extension host, with the installed BlindBox extension, the real `vscode` API
 * and the simulation server (started by ../transcripts.e2e.ts, which trusts it through the user settings and writes
 * decoys into the remote machine's settings):
 *   - settings of the remote machine (Machine/settings.json) do not reach the extension, the user's do; a write at
 *     ConfigurationTarget.Global lands in the machine's file when it holds the key (VS Code's routing, where the value
 *     is ignored), and in the user's once the key is removed there (what Configure Server… does about it);
 *   - `blindbox.transcript.format` changed while the window is open (srt, vtt, markdown): each transcript opens as an
 *     untitled document named `speech.transcript.<ext>` in its tab, in the format's language mode, with the provenance
 *     and SIMULATION marking;
 *   - an `.m4a` handed to the command is skipped (the suite checks that nothing reached the server);
 *   - `blindbox.transcript.saveNextToAudio`: `speech.transcript.txt` is written beside the audio, whole, and opened.
 * It leaves the settings it changed as it found them.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as VSCode from 'vscode';
import { EXTENSION_ID, runHostTests, say, vscode, type HostTest } from './runner.js';

/** What ../transcripts.e2e.ts passes through code-server's environment. */
const env = {
  userServerUrl: process.env.BLINDBOX_E2E_USER_SERVER_URL ?? '',
  machineServerUrl: process.env.BLINDBOX_E2E_MACHINE_SERVER_URL ?? '',
  userDataDir: process.env.BLINDBOX_E2E_USER_DATA_DIR ?? '',
};

const config = () => vscode.workspace.getConfiguration('blindbox');
const folder = () => vscode.workspace.workspaceFolders![0]!.uri;
const speech = () => vscode.Uri.joinPath(folder(), 'speech.wav');
const settingsFile = (which: 'User' | 'Machine') => path.join(env.userDataDir, which, 'settings.json');
const readSettings = async (which: 'User' | 'Machine') => JSON.parse(await readFile(settingsFile(which), 'utf8')) as Record<string, unknown>;

/** Writes a user setting as the Settings editor or Configure Server… does, and waits until this host reads it back. */
async function setUserSetting(key: string, value: unknown): Promise<void> {
  await config().update(key, value, vscode.ConfigurationTarget.Global);
  const deadline = Date.now() + 5000;
  while (!isDeepStrictEqual(config().get(key), value ?? config().inspect(key)?.defaultValue)) {
    if (Date.now() > deadline) {
      const files = await Promise.all((['User', 'Machine'] as const).map(async (w) => `${w}/settings.json: ${await readFile(settingsFile(w), 'utf8').catch(String)}`));
      assert.fail(`blindbox.${key} still reads ${JSON.stringify(config().get(key))} after writing ${JSON.stringify(value)}; inspect: ${JSON.stringify(config().inspect(key))}\n${files.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** Transcribes speech.wav through the extension's command (as the explorer menu does) and returns its document. */
async function transcribeSpeech(): Promise<VSCode.TextDocument> {
  const opened = await vscode.commands.executeCommand<VSCode.Uri[]>('blindbox.transcribe', speech());
  assert.equal(opened?.length, 1, `one transcript opened: ${JSON.stringify(opened?.map(String))}`);
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === opened[0]!.toString());
  assert.ok(doc, `${opened[0]} is an open document`);
  assert.equal(vscode.window.activeTextEditor?.document, doc, 'the transcript is the active editor');
  return doc;
}

/** The title the active tab shows. */
const activeTabLabel = () => vscode.window.tabGroups.activeTabGroup.activeTab?.label;

async function closeActiveEditor(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
}

/** The language id the extension should pick for `format` given the languages installed here (subtitle ids only when known). */
function expectedLanguage(format: 'srt' | 'vtt' | 'markdown', known: readonly string[]): string {
  if (format === 'markdown') return 'markdown';
  const ids = format === 'srt' ? ['srt'] : ['vtt', 'webvtt'];
  return ids.find((id) => known.includes(id)) ?? 'plaintext';
}

/** The provenance as each format carries it: a leading cue (SRT), a NOTE block (VTT), a header and a quote (Markdown). */
const PROVENANCE: Record<'srt' | 'vtt' | 'markdown', RegExp> = {
  srt: /^0\n00:00:00,000 --> 00:00:00,001\nTranscript of speech\.wav\nServer: https:\/\/127\.0\.0\.1:\d+ \(SIMULATION — not confidential\)\nEnclave module: .+\nPCR0: [0-9a-f]{96}\n[^]*\n\n1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n\S/,
  vtt: /^WEBVTT\n\nNOTE\nTranscript of speech\.wav\nServer: https:\/\/127\.0\.0\.1:\d+ \(SIMULATION — not confidential\)\nEnclave module: .+\nPCR0: [0-9a-f]{96}\n[^]*\n\n(\S+\n)?\d\d:\d\d[:.]\d\d[^\n]* --> /,
  markdown: /^# Transcript of speech\.wav\n\n> \*\*SIMULATION — not confidential\.\*\*[^\n]*\n\n- \*\*Server:\*\* `https:\/\/127\.0\.0\.1:\d+`\n[^]*## Transcript\n\n- `\[00:0\d\]` \S/,
};

const tests: HostTest[] = [
  {
    name: 'remote-machine settings do not reach the extension, the user settings do; a Global write goes where VS Code routes it',
    async fn() {
      assert.ok(env.userServerUrl && env.machineServerUrl && env.userDataDir, 'the suite passes the URLs and the user-data folder');
      assert.equal((await readSettings('Machine'))['blindbox.serverUrl'], env.machineServerUrl, 'the decoy is in Machine/settings.json');
      const inspected = config().inspect('serverUrl');
      say(`# inspect(blindbox.serverUrl) = ${JSON.stringify(inspected)}`);
      assert.equal(config().get('serverUrl'), env.userServerUrl, 'the user value is the one read');
      assert.equal(inspected?.globalValue, env.userServerUrl);
      assert.ok(!JSON.stringify(inspected).includes(env.machineServerUrl), 'the machine value appears at no level');
      // Another application-scoped setting the machine sets and the user does not: the default stands.
      assert.equal(config().get('transcript.saveNextToAudio'), false, 'Machine/settings.json says true: ignored');

      // ConfigurationTarget.Global (what Configure Server… and the Settings editor's User tab write): VS Code 1.100 sends
      // it to the remote machine's file when that file holds the key, even an application-scoped key it ignores there.
      await config().update('serverUrl', env.userServerUrl, vscode.ConfigurationTarget.Global);
      const machine = await readSettings('Machine');
      say(`# after a Global write of blindbox.serverUrl, Machine/settings.json holds ${JSON.stringify(machine['blindbox.serverUrl'])}`);
      assert.equal(machine['blindbox.serverUrl'], env.userServerUrl, 'the write replaced the decoy in Machine/settings.json');
      assert.equal(config().get('serverUrl'), env.userServerUrl, 'still read from the user settings');
      await config().update('transcript.saveNextToAudio', true, vscode.ConfigurationTarget.Global);
      assert.equal(config().get('transcript.saveNextToAudio'), false, 'the write went to the machine file: ignored');
      assert.ok(!('blindbox.transcript.saveNextToAudio' in (await readSettings('User'))), 'not in User/settings.json');
      // Removing the key at Global takes it out of the machine's file; the next write reaches the user's (what the
      // extension's Configure Server… does when its write did not arrive).
      await config().update('transcript.saveNextToAudio', undefined, vscode.ConfigurationTarget.Global);
      assert.ok(!('blindbox.transcript.saveNextToAudio' in (await readSettings('Machine'))), 'removed from Machine/settings.json');
      await setUserSetting('transcript.saveNextToAudio', true);
      assert.equal((await readSettings('User'))['blindbox.transcript.saveNextToAudio'], true, 'now in User/settings.json');
      await setUserSetting('transcript.saveNextToAudio', undefined);
    },
  },
  {
    name: 'transcript.format changed in the open window (srt, vtt, markdown): named untitled documents in their language with the provenance',
    async fn() {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(ext, `${EXTENSION_ID} is installed`);
      await ext.activate();
      const known = await vscode.languages.getLanguages();
      say(`# subtitle languages installed: ${known.filter((id) => /srt|vtt/i.test(id)).join(', ') || 'none'}`);
      for (const format of ['srt', 'vtt', 'markdown'] as const) {
        await setUserSetting('transcript.format', format);
        const doc = await transcribeSpeech();
        const name = `speech.transcript.${format === 'markdown' ? 'md' : format}`;
        assert.equal(doc.isUntitled, true, `${format}: untitled`);
        assert.equal(path.posix.basename(doc.uri.path), name, `${format}: named beside the audio (what Save proposes)`);
        assert.equal(path.posix.dirname(doc.uri.path), folder().path, `${format}: in the audio's folder`);
        assert.equal(activeTabLabel(), name, `${format}: the tab's title`);
        assert.equal(doc.languageId, expectedLanguage(format, known), `${format}: language mode`);
        assert.match(doc.getText(), PROVENANCE[format], `${format}: provenance and SIMULATION marking`);
        say(`# ${format}: ${name}, ${doc.languageId}, ${doc.getText().length} characters`);
        await closeActiveEditor();
      }
    },
  },
  {
    name: 'an .m4a handed to the command (no menu offers it) is skipped as not audio: nothing opened',
    async fn() {
      const documents = vscode.workspace.textDocuments.length;
      const opened = await vscode.commands.executeCommand<VSCode.Uri[]>('blindbox.transcribe', vscode.Uri.joinPath(folder(), 'voice.m4a'));
      assert.deepEqual(opened, []);
      assert.equal(vscode.workspace.textDocuments.length, documents, 'no document opened');
    },
  },
  {
    name: 'transcript.saveNextToAudio: speech.transcript.txt is written beside the audio, whole, and opened',
    async fn() {
      await setUserSetting('transcript.format', 'text');
      await setUserSetting('transcript.saveNextToAudio', true);
      const target = vscode.Uri.joinPath(folder(), 'speech.transcript.txt');
      await assert.rejects(Promise.resolve(vscode.workspace.fs.stat(target)), 'not there before');
      try {
        const doc = await transcribeSpeech();
        assert.equal(doc.uri.toString(), target.toString(), 'the file beside the audio is what opened');
        assert.equal(doc.isUntitled, false);
        assert.equal(doc.isDirty, false, 'saved: nothing left to save');
        assert.equal(activeTabLabel(), 'speech.transcript.txt');
        const onDisk = new TextDecoder().decode(await vscode.workspace.fs.readFile(target));
        assert.equal(onDisk, doc.getText(), 'the file holds the whole document');
        assert.match(onDisk, /^Transcript of speech\.wav\nServer: https:\/\/127\.0\.0\.1:\d+ \(SIMULATION — not confidential\)\n/);
        const left = (await vscode.workspace.fs.readDirectory(folder())).map(([n]) => n).filter((n) => n.endsWith('.tmp'));
        assert.deepEqual(left, [], 'no temporary file left');
        await closeActiveEditor();
      } finally {
        await setUserSetting('transcript.saveNextToAudio', undefined);
      }
    },
  },
];

export async function run(): Promise<void> {
  try {
    await runHostTests(tests);
  } finally {
    // Back to the defaults whatever failed: the suite's next step sets the format in the other window's settings editor.
    for (const key of ['transcript.format', 'transcript.saveNextToAudio']) await config().update(key, undefined, vscode.ConfigurationTarget.Global);
  }
}
