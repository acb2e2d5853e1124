/**
 * Tests that run inside VS Code's extension host (code-server's), with the real `vscode` API: loaded by the
 * workbench in extension-test mode (payload extensionTestsPath; see runExtensionHostTests in ../harness.ts), which
 * calls `run()` and hands its outcome to `window.codeAutomationExit`: 0 when it resolves, 1 when it rejects.
 *
 * VS Code loads extensionTestsPath with require(), and this project is ESM: the harness points extensionTestsPath at
 * a small CommonJS entry it writes, which import()s this module and calls run(). `vscode` itself only exists for
 * require() (VS Code's interceptor answers it), hence createRequire.
 * The shared parts (the `vscode` API, the line writer, the loop) are in runner.ts.
 */
import assert from 'node:assert/strict';
import { EXTENSION_ID, runHostTests, say, vscode, type HostTest } from './runner.js';

/** What the harness asks for through the environment of code-server (inherited by its extension host). */
const expectExtension = process.env.BLINDBOX_E2E_EXPECT_EXTENSION === '1';

const tests: HostTest[] = [
  {
    name: 'the extension host runs the real vscode API (built-in commands registered)',
    async fn() {
      const commands = await vscode.commands.getCommands(true);
      assert.ok(commands.includes('workbench.action.files.newUntitledFile'), 'workbench.action.files.newUntitledFile is registered');
      assert.ok(commands.includes('workbench.action.showCommands'), 'workbench.action.showCommands is registered');
      assert.match(vscode.version, /^1\.\d+\.\d+/);
    },
  },
  {
    name: 'the workspace folder is open and its files are readable through vscode.workspace.fs',
    async fn() {
      const folders = vscode.workspace.workspaceFolders ?? [];
      assert.equal(folders.length, 1, 'one workspace folder');
      const entries = await vscode.workspace.fs.readDirectory(folders[0]!.uri);
      say(`# workspace ${folders[0]!.uri.toString()}: ${entries.map(([n]) => n).join(', ')}`);
    },
  },
  {
    name: 'an untitled document opens in an editor with the given text',
    async fn() {
      const doc = await vscode.workspace.openTextDocument({ content: 'hello from the extension host', language: 'plaintext' });
      const editor = await vscode.window.showTextDocument(doc);
      assert.equal(editor.document.isUntitled, true);
      assert.equal(editor.document.getText(), 'hello from the extension host');
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    },
  },
  {
    name: 'the BlindBox extension activates and registers every command it contributes',
    skip: () => (vscode.extensions.getExtension(EXTENSION_ID) || expectExtension ? undefined : `${EXTENSION_ID} is not installed`),
    async fn() {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(ext, `${EXTENSION_ID} is installed`);
      await ext.activate();
      assert.equal(ext.isActive, true);
      const contributed: string[] = ((ext.packageJSON?.contributes?.commands ?? []) as { command: string }[]).map((c) => c.command);
      assert.ok(contributed.length >= 4, `it contributes commands (${contributed.join(', ')})`);
      const registered = new Set(await vscode.commands.getCommands(true));
      const missing = contributed.filter((c) => !registered.has(c));
      assert.deepEqual(missing, [], 'every contributed command is registered');
    },
  },
  {
    name: 'settings given to the harness reach the extension host (the application-scoped trust settings included)',
    skip: () => (process.env.BLINDBOX_E2E_EXPECT_SETTINGS ? undefined : 'no BLINDBOX_E2E_EXPECT_SETTINGS'),
    fn() {
      const expected = JSON.parse(process.env.BLINDBOX_E2E_EXPECT_SETTINGS!) as Record<string, unknown>;
      for (const [key, value] of Object.entries(expected)) {
        const dot = key.lastIndexOf('.');
        const actual = vscode.workspace.getConfiguration(key.slice(0, dot)).get(key.slice(dot + 1));
        assert.deepEqual(actual, value, key);
      }
    },
  },
];

export function run(): Promise<void> {
  return runHostTests(tests);
}
