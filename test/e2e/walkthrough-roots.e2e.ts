/**
 * The walkthrough as a checklist of what really happened, and the daily restart of a simulation server, in a real VS
 * Code (code-server) driven from headless Chromium, against `blindbox serve --simulate` (a separate process):
 *   (1) *BlindBox: Get Started* opens the walkthrough over VS Code's own one; a cancelled *Configure Server…* leaves
 *       every step unticked;
 *   (2) the "not an AWS root" dialog has the safe button focused: Enter trusts nothing and writes nothing;
 *   (3) a server saved whose verification fails ticks *Configure* only; a passing verification ticks *Verify*, a
 *       transcript *Transcribe*;
 *   (4) the server restarted without --ca (a new root; it says how to keep one): the error names a BlindBox SIMULATION
 *       root and offers *Replace the old simulation root…*; replacing leaves one trusted root and verifies.
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package`. Run: node --test out/test/e2e/walkthrough-roots.e2e.js
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEnclave, type Enclave } from './enclave.js';
import { requireBuilt, STATUS_ITEM, VSIX } from './extension-fixture.js';
import { openWorkbench, startCodeServer, type CodeServer, type Workbench } from './harness.js';

const STEPS = ['configure', 'verify', 'transcribe'] as const;
type Ticks = Record<(typeof STEPS)[number], boolean>;

describe('the walkthrough ticks what happened; a restarted simulation replaces its root', { timeout: 420_000 }, () => {
  let dir: string;
  let enclave: Enclave | undefined;
  let server: CodeServer | undefined;
  let wb: Workbench | undefined;

  before(async () => {
    requireBuilt();
    dir = await mkdtemp(path.join(tmpdir(), 'blindbox-e2e-walkthrough-'));
    const workspace = path.join(dir, 'workspace');
    await mkdir(workspace, { recursive: true });
    enclave = await startEnclave(dir);
    server = await startCodeServer({ workspace, label: 'walkthrough' });
    await server.installVsix(VSIX);
    wb = await openWorkbench(server, { viewport: { width: 1200, height: 860 } });
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
    await enclave?.proc.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const userSettings = async () => JSON.parse(await readFile(path.join(server!.userDataDir, 'User/settings.json'), 'utf8').catch(() => '{}')) as Record<string, unknown>;
  const statusText = async () => ((await wb!.page.locator(STATUS_ITEM).textContent().catch(() => '')) ?? '').replace(/\u00a0/g, ' ').trim();

  /** Opens the BlindBox walkthrough and reads its steps' ticks, waiting up to `timeoutMs` for them to equal `want`. */
  async function ticks(want: Ticks, timeoutMs = 15_000): Promise<void> {
    await wb!.runCommand('BlindBox: Get Started');
    const step = (id: string) => wb!.page.locator(`.getting-started-step[data-step-id$="blindbox.gettingStarted#${id}"]`);
    const read = async (): Promise<Ticks | undefined> => {
      const seen: Partial<Ticks> = {};
      for (const id of STEPS) {
        const checked = await step(id).getAttribute('aria-checked', { timeout: 1000 }).catch(() => null);
        if (checked === null) return undefined;
        seen[id] = checked === 'true';
      }
      return seen as Ticks;
    };
    const same = await wb!.pollFor(async () => {
      const seen = await read();
      return seen && JSON.stringify(seen) === JSON.stringify(want) ? seen : undefined;
    }, timeoutMs);
    if (!same) await wb!.screenshot('walkthrough-FAILED-ticks');
    assert.deepEqual(same ?? (await read()), want);
  }

  /** The modal dialog now shown: its text and the label of the button that has the keyboard focus (what Enter presses). */
  async function dialog(): Promise<{ text: string; focused: string }> {
    const box = wb!.page.locator('.monaco-dialog-box');
    await box.waitFor({ state: 'visible', timeout: 20_000 });
    const focused = await wb!.page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement?.textContent ?? '');
    return { text: (await box.textContent()) ?? '', focused: focused.trim() };
  }

  test('(1) Get Started opens the BlindBox walkthrough over VS Code’s own; a cancelled Configure Server… ticks nothing', async () => {
    const page = wb!.page;
    // VS Code's own walkthrough, open on one of its steps in the welcome page.
    await wb!.runCommand('Welcome: Open Walkthrough...');
    await page.locator('.quick-input-widget .quick-input-box input').fill('VS Code');
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ state: 'visible', timeout: 10_000 });
    await page.keyboard.press('Enter');
    await page.locator('.getting-started-step').first().waitFor({ state: 'visible', timeout: 20_000 });
    await wb!.screenshot('walkthrough-0-vscode-walkthrough');
    assert.equal(await page.locator('.getting-started-step[data-step-id*="blindbox.gettingStarted#"]').count(), 0);

    await wb!.runCommand('BlindBox: Get Started');
    const ours = page.locator('.getting-started-step[data-step-id$="blindbox.gettingStarted#configure"]');
    const shown = await ours.waitFor({ state: 'visible', timeout: 20_000 }).then(() => true, () => false);
    if (!shown) await wb!.screenshot('walkthrough-FAILED-over-welcome');
    assert.ok(shown, 'the BlindBox walkthrough is shown');

    await wb!.runCommand('BlindBox: Configure Server…');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Configure Server (1/3)' }).waitFor({ state: 'visible', timeout: 15_000 });
    await page.keyboard.press('Escape');
    await ticks({ configure: false, verify: false, transcribe: false }, 3000);
    assert.equal((await userSettings())['blindbox.serverUrl'], undefined);
  });

  test('(2) the "not an AWS root" dialog: the safe button has the focus, Enter trusts nothing, no backticks', async () => {
    await wb!.runCommand('BlindBox: Configure Server…');
    await wb!.answerQuickInput(/Configure Server \(1\/3\): server/, enclave!.url);
    await wb!.answerQuickInput(/Configure Server \(2\/3\): trust/, 'Paste a root certificate');
    await wb!.answerQuickInput(/paste the root certificate/, (await readFile(enclave!.rootPem, 'utf8')).replace(/\s+/g, ' '));
    const { text, focused } = await dialog();
    await wb!.screenshot('walkthrough-1-simulation-warning');
    assert.match(text, /SIMULATION — NOT CONFIDENTIAL\./);
    assert.doesNotMatch(text, /`/);
    assert.equal(focused, 'Do Not Trust');
    await wb!.page.keyboard.press('Enter');
    await wb!.page.locator('.monaco-dialog-box').waitFor({ state: 'hidden', timeout: 10_000 });
    // Nothing follows (no policy question) and nothing is written.
    assert.equal(await wb!.page.locator('.quick-input-widget').isVisible(), false);
    const settings = await userSettings();
    assert.equal(settings['blindbox.serverUrl'], undefined);
    assert.equal(settings['blindbox.trustedRoots'], undefined);
    await ticks({ configure: false, verify: false, transcribe: false }, 3000);
  });

  test('(3) a saved server ticks Configure; only a passing verification ticks Verify; a transcript ticks Transcribe', async () => {
    // AWS's root only: the URL is saved, every verification fails (the simulation's root is not trusted).
    await wb!.runCommand('BlindBox: Configure Server…');
    await wb!.answerQuickInput(/Configure Server \(1\/3\): server/, enclave!.url);
    await wb!.answerQuickInput(/Configure Server \(2\/3\): trust/, 'AWS Nitro Enclaves only');
    await wb!.answerQuickInput(/Configure Server \(3\/3\): expected code/, 'No PCR pinned');
    const failed = await wb!.waitForNotification(/CHAIN_UNTRUSTED/, 45_000);
    assert.match(failed, /starts at a BlindBox SIMULATION root/);
    await wb!.clearNotifications();
    await wb!.runCommand('BlindBox: Verify Enclave Server');
    await wb!.waitForNotification(/CHAIN_UNTRUSTED/, 45_000);
    await wb!.clearNotifications();
    await ticks({ configure: true, verify: false, transcribe: false });

    // Now trusting the simulation's root, PCR0 pinned: the verification passes.
    await wb!.runCommand('BlindBox: Configure Server…');
    await wb!.answerQuickInput(/Configure Server \(1\/3\): server/, enclave!.url);
    await wb!.answerQuickInput(/Configure Server \(2\/3\): trust/, 'Paste a root certificate');
    await wb!.answerQuickInput(/paste the root certificate/, (await readFile(enclave!.rootPem, 'utf8')).replace(/\s+/g, ' '));
    await dialog();
    await wb!.page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Trust as SIMULATION root' }).click();
    await wb!.answerQuickInput(/Configure Server \(3\/3\): expected code/, 'Pin PCR0');
    await wb!.answerQuickInput(/Configure Server: PCR0/, enclave!.pcr0);
    await wb!.waitForNotification(/verified against a SIMULATION root/, 45_000);
    await wb!.clearNotifications();
    await ticks({ configure: true, verify: true, transcribe: false });

    await wb!.runCommand('BlindBox: Transcribe the Sample Recording');
    const opened = await wb!.pollFor(async () => ((await wb!.activeEditorTitle())?.includes('sample.transcript') ? true : undefined), 90_000);
    assert.ok(opened, `a transcript of sample.wav opened; notifications: ${JSON.stringify(await wb!.notifications())}`);
    await ticks({ configure: true, verify: true, transcribe: true });
    await wb!.screenshot('walkthrough-2-ticked');
  });

  test('(4) the server restarted without --ca: Replace the old simulation root… leaves one trusted root, and it verifies', async () => {
    const port = Number(new URL(enclave!.url).port);
    const oldRoot = await readFile(enclave!.rootPem, 'utf8');
    await enclave!.proc.stop();
    enclave = await startEnclave(dir, ['--port', String(port)]);
    assert.match(enclave.proc.output, /keep one root across restarts with --ca <dir>/);
    const newRoot = await readFile(enclave.rootPem, 'utf8');
    assert.notEqual(newRoot, oldRoot, 'a new root');

    await wb!.runCommand('BlindBox: Verify Enclave Server');
    const error = await wb!.waitForNotification(/CHAIN_UNTRUSTED/, 45_000);
    assert.match(error, /starts at a BlindBox SIMULATION root/);
    await wb!.screenshot('walkthrough-3-restarted');
    await wb!.clickNotificationButton(/CHAIN_UNTRUSTED/, 'Replace the old simulation root…');
    const { text, focused } = await dialog();
    assert.match(text, /new BlindBox SIMULATION root/);
    assert.match(text, /--ca <dir>/);
    assert.equal(focused, 'Keep the Old Root', 'Enter keeps the old root');
    await wb!.screenshot('walkthrough-4-replace');
    await wb!.page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Replace the Old Simulation Root' }).click();

    await wb!.waitForNotification(/verified against a SIMULATION root/, 45_000);
    assert.match(await statusText(), /^BlindBox: SIMULATION · /);
    const roots = (await userSettings())['blindbox.trustedRoots'] as string[];
    assert.equal(roots.length, 1, 'one trusted root');
    assert.equal(roots[0]!.replace(/\s+/g, ''), newRoot.replace(/\s+/g, ''));
  });
});
