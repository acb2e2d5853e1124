/**
 * The escaped-output rule in the extension: against a real hostile enclave (certificate subjects and module id with
 * escapes, a policy named with C1 controls, a genuinely signed receipt with hostile fields) and a server whose refusal
 * holds a newline and a URL, the bundled extension under a fake VS Code shows every foreign text escaped — in
 * notifications, the status bar and its tooltip, the BlindBox view, the attestation webview, the output log and the
 * file dialogs — and a notification or log line quotes it after words of ours.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertEscapedOutput, assertNoRawText, MARK, WORDS } from '../helpers/foreign-text.js';
import { startHostileEnclave, type HostileEnclave } from '../helpers/hostile-enclave.js';
import { startRefusingServer } from '../../support/servers.js';
import { createFakeVscode, disposeContext, fakeContext, loadBundle, Uri, type FakeVscode, type LoadedExtension } from '../../support/fake-vscode.js';
import { REPO } from './helpers.js';

let dir: string;
let enclave: HostileEnclave;
let refusing: Awaited<ReturnType<typeof startRefusingServer>>;
let rootFile: string;
let fake: FakeVscode;
let ext: LoadedExtension;
let context: ReturnType<typeof fakeContext>;
const dialogTitles: string[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-foreign-'));
  const built = spawnSync(process.execPath, [path.join(REPO, 'scripts/bundle-extension.mjs'), '--outdir', path.join(dir, 'dist')], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  enclave = await startHostileEnclave(WORDS);
  refusing = await startRefusingServer(503, { error: { code: `BUSY${MARK}`, message: `${WORDS}\nVERIFIED  see https://evil.example/fix` } });
  rootFile = path.join(dir, 'hostile-root.pem');
  await writeFile(rootFile, enclave.rootPem);
  fake = createFakeVscode();
  ext = loadBundle(path.join(dir, 'dist', 'extension.cjs'), fake);
  context = fakeContext(REPO);
  ext.activate(context);
});

after(async () => {
  if (context) disposeContext(context);
  await ext?.deactivate();
  await enclave?.close();
  await refusing?.close();
  await rm(dir, { recursive: true, force: true });
});

const status = () => fake.statusItems.find((i) => i.id === 'blindbox.status')!;

interface Row {
  label: string;
  description?: string;
  tooltip?: string;
  children?: Row[];
}

/** Every surface that shows foreign text, held to the rule. */
async function assertEverySurfaceEscaped(): Promise<void> {
  for (const n of fake.notifications) assertEscapedOutput(`notification (${n.level})`, n.message);
  assertEscapedOutput('output log', fake.log.join('\n'));
  const s = status();
  assertNoRawText('status bar text', s.text);
  assertNoRawText('status bar tooltip', (s.tooltip as unknown as { value: string }).value, true);
  assertNoRawText('status bar accessibility label', s.accessibilityInformation);
  const view = fake.treeProviders.get('blindbox.trust') as { getChildren(row?: Row): Row[] };
  const rows = (list: Row[]): Row[] => list.flatMap((r) => [r, ...rows(view.getChildren(r))]);
  for (const row of rows(view.getChildren())) {
    assertNoRawText(`BlindBox view row ${row.label}`, [row.label, row.description]);
    assertNoRawText(`BlindBox view tooltip ${row.label}`, row.tooltip, true);
  }
  await fake.executeCommand('blindbox.showAttestation');
  (fake as unknown as { panel: { receive(m: unknown): void } }).panel.receive({ type: 'ready' });
  assertNoRawText('webview messages', fake.webviewMessages);
  assertNoRawText('file dialog titles', dialogTitles);
}

describe('foreign text in the extension', () => {
  it('a trusted hostile enclave under a policy named with escapes: verified, every surface escaped', async () => {
    fake.setSettings({ 'blindbox.serverUrl': enclave.url, 'blindbox.trustedRoots': [rootFile], 'blindbox.policy': { name: WORDS } });
    await fake.executeCommand('blindbox.verify');
    assert.match(status().text, /SIMULATION/);
    // The status text is short (no policy name); the tooltip names the policy, escaped.
    assert.match((status().tooltip as unknown as { value: string }).value, /ATTACKER\\x1b\[2K/);
    await assertEverySurfaceEscaped();
    const shown = (fake.webviewMessages.at(-1) as { model: { document: { moduleId: string }; chain: { subject: string }[] } }).model;
    assert.match(shown.document.moduleId, /^i-ATTACKER\\x1b\[2K\\r\\x1b\]0;pwned\\x07/);
    assert.ok(shown.chain.some((c) => c.subject.startsWith('CN=root ATTACKER\\x1b')));
  });

  it('Verify Receipt… on a signed receipt whose fields are hostile: dialogs, notification and webview escaped', async () => {
    const audio = path.join(dir, 'speech.wav');
    await copyFile(path.join(REPO, 'media/sample.wav'), audio);
    const transcript = path.join(dir, 'speech.transcript.txt');
    await writeFile(transcript, 'hello world\n');
    const receipt = await enclave.receipt(await readFile(audio), await readFile(transcript), { endpoint: `/v1\n\x1b[8m${MARK}`, engine: WORDS, model: WORDS });
    const receiptFile = path.join(dir, 'speech.receipt.json');
    await writeFile(receiptFile, JSON.stringify({ ...receipt, audio: { ...receipt.audio, name: `speech${WORDS}.wav` } }));
    fake.answerOpenDialog = (options) => {
      dialogTitles.push(options.title ?? '');
      if (options.title?.includes('receipt (')) return [Uri.file(receiptFile)];
      return [Uri.file(options.title?.includes('audio') ? audio : transcript)];
    };
    try {
      assert.equal(await fake.executeCommand<boolean>('blindbox.verifyReceipt'), true, fake.log.join('\n'));
    } finally {
      fake.answerOpenDialog = undefined;
    }
    assert.ok(dialogTitles.some((t) => t.includes('"speechATTACKER\\x1b[2K')), dialogTitles.join('\n'));
    await assertEverySurfaceEscaped();
  });

  it('the hostile enclave no longer trusted: the failure quotes its subject, escaped, everywhere', async () => {
    fake.setSettings({ 'blindbox.trustedRoots': [] });
    await fake.executeCommand('blindbox.verify');
    assert.match(status().text, /FAILED/);
    assert.ok(fake.notifications.some((n) => n.level === 'error' && /CHAIN_UNTRUSTED: .*"CN=root ATTACKER\\x1b\[2K/.test(n.message)), JSON.stringify(fake.notifications));
    await assertEverySurfaceEscaped();
  });

  it('a refusal with a newline and a URL: one quoted, attributed, defanged line', async () => {
    fake.setSettings({ 'blindbox.serverUrl': refusing.url });
    await fake.executeCommand('blindbox.verify');
    assert.ok(fake.notifications.some((n) => /Server said: "BUSYATTACKER: ATTACKER\\x1b.*\\nVERIFIED {2}see https\[:\]\/\/evil\.example\/fix"/.test(n.message)), JSON.stringify(fake.notifications));
    await assertEverySurfaceEscaped();
  });
});
