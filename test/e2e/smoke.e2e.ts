/**
 * Smoke test of the end-to-end harness: the real VS Code workbench (code-server) in headless Chromium, with no
 * extension of ours: the workbench loads a folder, a palette command runs, the explorer shows the folder's file, an
 * editor's text reads back, and a test module runs inside the extension host with the real `vscode` API.
 *
 * Needs `bash scripts/e2e/install.sh` (code-server under .tools/, Debian's chromium and flite); fails, never
 * skips, without them. Run: node --test out/test/e2e/smoke.e2e.js
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, openWorkbench, requirePrerequisites, runExtensionHostTests, speak, startCodeServer, type CodeServer, type Workbench } from './harness.js';

const HOST_TESTS = path.join(ROOT, 'out/test/e2e/host/index.js');

describe('e2e harness smoke: code-server workbench in headless Chromium', { timeout: 120_000 }, () => {
  let workspace: string;
  let server: CodeServer | undefined;
  let wb: Workbench | undefined;

  before(async () => {
    requirePrerequisites();
    workspace = await mkdtemp(path.join(tmpdir(), 'blindbox-e2e-ws-'));
    speak('The quick brown fox jumps over the lazy dog.', path.join(workspace, 'speech.wav'));
    server = await startCodeServer({ workspace, label: 'smoke' });
  });

  after(async () => {
    if (wb && process.exitCode) await wb.screenshot('smoke-failure').catch(() => undefined);
    await wb?.close();
    await server?.stop();
    await rm(workspace, { recursive: true, force: true });
  });

  test('the workbench loads the folder and shows speech.wav in the explorer', async () => {
    wb = await openWorkbench(server!);
    await wb.runCommand('View: Show Explorer');
    const row = await wb.explorerItem('speech.wav');
    assert.equal(await row.isVisible(), true);
    await wb.screenshot('smoke-1-explorer');
  });

  test('a built-in palette command runs, and the editor text reads back with plain spaces', async () => {
    await wb!.runCommand('File: New Untitled Text File');
    await wb!.page.locator('.part.editor .editor-group-container.active .monaco-editor').first().waitFor({ state: 'visible' });
    await wb!.page.keyboard.type('hello  world\nsecond line');
    await wb!.pollFor(async () => ((await wb!.activeEditorText()).includes('second line') ? true : undefined), 5000);
    assert.equal(await wb!.activeEditorText(), 'hello  world\nsecond line');
    assert.equal(await wb!.activeEditorTitle(), 'hello world'); // an untitled editor is named after its first line
    await wb!.screenshot('smoke-2-untitled-editor');
  });

  test('the explorer context menu of a file lists the built-in entries', async () => {
    const labels = await wb!.explorerContextMenuLabels('speech.wav');
    assert.ok(labels.includes('Copy Path'), `context menu: ${JSON.stringify(labels)}`);
  });

  test('extension-host test mode: a module runs inside the extension host with the real vscode API', async () => {
    await wb?.close();
    wb = undefined;
    const result = await runExtensionHostTests(server!, { testModule: HOST_TESTS, timeoutMs: 60_000 });
    for (const line of result.lines) console.log(`  [extension host] ${line}`);
    assert.equal(result.code, 0, `exit code ${result.code}:\n${result.lines.join('\n')}`);
    const summary = result.lines.at(-1) ?? '';
    assert.match(summary, /^(\d+) passed, 0 failed/);
    assert.ok(Number(summary.split(' ')[0]) >= 3, summary);
  });
});
