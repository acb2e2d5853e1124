/**
 * First run to daily use, in a real VS Code (code-server) driven from headless Chromium, against the reference server in
 * simulation (`blindbox serve --simulate`, a separate process):
 *   (1) a window with no BlindBox user settings (and a decoy server URL in the remote machine's settings, ignored): the
 *       walkthrough opens, and *BlindBox: Configure Server…* run in that open window (URL, pasted simulation root with
 *       the SIMULATION warning, PCR0) writes the user settings, not the machine's, and verifies;
 *   (2) the walkthrough's steps (configure, verify, transcribe the sample, read the attestation) complete;
 *   (3) the trust view leads with the three checks; every text meets WCAG AA (4.5:1) in Dark Modern, Light Modern and
 *       both high-contrast themes (measured from computed styles), SIMULATION keeps a distinct warning look in high
 *       contrast, and a screenshot of each theme goes to docs/media/ (the README shows them);
 *   (4) the panel survives a window reload.
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package`. Run: node --test out/test/e2e/setup.e2e.js
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AA, measureContrast } from './contrast.js';
import { CLI, startEnclave, type Enclave } from './enclave.js';
import { ROOT, openWorkbench, requirePrerequisites, sleep, startCodeServer, type CodeServer, type Workbench } from './harness.js';

const VSIX = process.env.BLINDBOX_E2E_VSIX ?? path.join(ROOT, 'dist/blindbox-vscode.vsix');
const STATUS_ITEM = '[id="blindbox.blindbox-vscode.blindbox.status"]';
const DOCS_MEDIA = path.join(ROOT, 'docs/media');
const MACHINE_SETTINGS = { 'blindbox.serverUrl': 'https://127.0.0.1:9/machine-settings-decoy' };

/** The four themes of issue 11 (setting id, label in the theme picker), with the class VS Code puts on a webview's body. */
const THEMES = [
  { id: 'Default Dark Modern', label: 'Dark Modern', kind: 'vscode-dark', file: 'dark-modern' },
  { id: 'Default Light Modern', label: 'Light Modern', kind: 'vscode-light', file: 'light-modern' },
  { id: 'Default High Contrast', label: 'Dark High Contrast', kind: 'vscode-high-contrast', file: 'high-contrast' },
  { id: 'Default High Contrast Light', label: 'Light High Contrast', kind: 'vscode-high-contrast-light', file: 'high-contrast-light' },
] as const;

const BANNER_STYLE = `(() => {
  const s = getComputedStyle(document.getElementById('bb-simulation-banner'));
  return { style: s.borderTopStyle, width: parseFloat(s.borderTopWidth), color: s.color, body: getComputedStyle(document.body).color };
})()`;

describe('BlindBox setup in a running window, the trust view in four themes', { timeout: 300_000 }, () => {
  let dir: string;
  let enclave: Enclave | undefined;
  let server: CodeServer | undefined;
  let wb: Workbench | undefined;

  before(async () => {
    requirePrerequisites();
    if (!existsSync(VSIX)) throw new Error(`${path.relative(ROOT, VSIX)} is missing: run npm run package first`);
    if (!existsSync(CLI)) throw new Error(`${path.relative(ROOT, CLI)} is missing: run npm run build first`);
    dir = await mkdtemp(path.join(tmpdir(), 'blindbox-e2e-setup-'));
    const workspace = path.join(dir, 'workspace');
    await mkdir(workspace, { recursive: true });
    enclave = await startEnclave(dir);
    // No BlindBox user setting at all: everything below is configured in the open window. The remote machine's settings
    // name a server, as a dev container's configuration could: ignored (application scope), and in the way of VS Code's
    // routing of user-settings writes, which Configure Server… must get past.
    server = await startCodeServer({ workspace, label: 'setup', settings: { 'workbench.colorTheme': THEMES[0].id }, machineSettings: MACHINE_SETTINGS });
    await server.installVsix(VSIX);
    wb = await openWorkbench(server, { viewport: { width: 1200, height: 860 } });
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
    await enclave?.proc.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const userSettingsFile = () => path.join(server!.userDataDir, 'User/settings.json');
  const statusText = async () => ((await wb!.page.locator(STATUS_ITEM).textContent()) ?? '').replace(/\u00a0/g, ' ').trim();

  test('(1) Configure Server… in the open window writes the user settings and verifies', async () => {
    const page = wb!.page;
    await wb!.runCommand('BlindBox: Get Started');
    await page.locator('.gettingStartedContainer').filter({ hasText: 'Get started with BlindBox' }).first().waitFor({ state: 'visible', timeout: 20_000 });
    // Activated (its walkthrough is open), and no status item while no server is configured.
    assert.equal(await page.locator(STATUS_ITEM).isVisible(), false);
    await wb!.screenshot('setup-0-walkthrough');

    await wb!.runCommand('BlindBox: Configure Server…');
    await wb!.answerQuickInput(/Configure Server \(1\/3\): server/, enclave!.url);
    await wb!.answerQuickInput(/Configure Server \(2\/3\): trust/, 'Paste a root certificate');
    const pem = (await readFile(enclave!.rootPem, 'utf8')).replace(/\s+/g, ' ');
    await wb!.answerQuickInput(/paste the root certificate/, pem);
    // The loud explanation, modal, before a root that is not AWS's is trusted.
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 20_000 });
    assert.match((await dialog.textContent()) ?? '', /SIMULATION — NOT CONFIDENTIAL\..*is not AWS's Nitro Enclaves Root G1/);
    await wb!.screenshot('setup-1-simulation-warning');
    await dialog.locator('.monaco-button', { hasText: 'Trust as SIMULATION root' }).click();
    await wb!.answerQuickInput(/Configure Server \(3\/3\): expected code/, 'Pin PCR0');
    await wb!.answerQuickInput(/Configure Server: PCR0/, enclave!.pcr0);

    const configured = /^BlindBox: SIMULATION · \d+ s$/;
    const shown = await wb!.pollFor(async () => (configured.test(await statusText()) ? true : undefined), 45_000);
    assert.ok(shown, `status: ${await statusText()}; notifications: ${JSON.stringify(await wb!.notifications())}`);
    // Written to the user's own settings, inline (works in every window), nowhere else.
    const written = JSON.parse(await readFile(userSettingsFile(), 'utf8')) as Record<string, unknown>;
    assert.equal(written['blindbox.serverUrl'], enclave!.url);
    assert.deepEqual(written['blindbox.policy'], { name: '127.0.0.1', pcrs: { '0': enclave!.pcr0 } });
    const roots = written['blindbox.trustedRoots'] as string[];
    assert.equal(roots.length, 1);
    assert.match(roots[0]!, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
    assert.ok(!existsSync(path.join(server!.workspace, '.vscode/settings.json')), 'nothing written to the workspace');
    // VS Code sent the first write of the URL to the machine's file (which held the key); Configure Server… removed it
    // there (nothing read it) and wrote it again, to the user's file.
    const machine = JSON.parse(await readFile(path.join(server!.userDataDir, 'Machine/settings.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(!('blindbox.serverUrl' in machine), `Machine/settings.json: ${JSON.stringify(machine)}`);
    await wb!.screenshot('setup-2-configured');
  });

  test('(2) the walkthrough steps complete: verify, transcribe the sample, read the attestation', async () => {
    const page = wb!.page;
    await wb!.runCommand('BlindBox: Verify Enclave Server');
    await wb!.waitForNotification(/verified against a SIMULATION root/, 30_000);
    await wb!.runCommand('BlindBox: Transcribe the Sample Recording');
    const title = await wb!.pollFor(async () => ((await wb!.activeEditorTitle())?.includes('sample.transcript') ? true : undefined), 90_000);
    assert.ok(title, `a transcript of sample.wav opened; notifications: ${JSON.stringify(await wb!.notifications())}`);
    assert.match(await wb!.activeEditorText(), /quick brown fox/i);
    await wb!.runCommand('BlindBox: Show Attestation');
    await wb!.webviewFrame('#bb-root[data-state="simulation"] #bb-check-hardware', 30_000);

    await wb!.runCommand('BlindBox: Get Started');
    const steps = page.locator('.getting-started-step');
    const done = await wb!.pollFor(async () => {
      const n = await steps.count();
      if (n < 4) return undefined;
      const checked = await Promise.all((await steps.all()).map((step) => step.getAttribute('aria-checked')));
      return checked.every((c) => c === 'true') ? n : undefined;
    }, 20_000);
    await wb!.screenshot('setup-3-walkthrough-complete');
    assert.equal(done, 4, `every step complete; aria-checked: ${JSON.stringify(await Promise.all((await steps.all()).map((step) => step.getAttribute('aria-checked'))))}`);
  });

  test('(3) the trust view leads with the three checks, at WCAG AA in four themes, SIMULATION distinct in high contrast', async () => {
    await wb!.runCommand('BlindBox: Show Attestation');
    let frame = await wb!.webviewFrame('#bb-root[data-state="simulation"] #bb-check-hardware', 30_000);
    const checks = [];
    for (const li of await frame.locator('#bb-checks > li').all()) checks.push([await li.getAttribute('id'), await li.getAttribute('data-state'), await li.locator('.bb-check-title').textContent()]);
    assert.deepEqual(checks, [
      ['bb-check-hardware', 'warn', 'Genuine hardware'],
      ['bb-check-code', 'pass', 'Expected code'],
      ['bb-check-channel', 'pass', 'Channel bound'],
    ]);
    assert.equal(await frame.locator('#bb-enclaves > tr').count(), 1);
    assert.match((await frame.locator('#bb-when').textContent()) ?? '', /^verified (just now|\d+ s ago|\d+ min ago), /);
    assert.match((await frame.locator('#bb-when').getAttribute('title')) ?? '', /Z \(UTC\)$/);
    // Only the pinned PCR0 leads; the rest is folded away until opened.
    assert.equal(await frame.locator('#bb-pcr-rows > tr').count(), 1);
    assert.equal(await frame.locator('#bb-pcr-folded').getAttribute('open'), null);

    await mkdir(DOCS_MEDIA, { recursive: true });
    const report: string[] = [];
    for (const theme of THEMES) {
      await setTheme(theme);
      frame = await wb!.webviewFrame(`body.${theme.kind} #bb-root[data-state="simulation"] #bb-check-hardware`, 30_000);
      await sleep(500); // let the theme's variables settle
      await frame.evaluate('window.scrollTo(0, 0)');
      // The view alone (the content frame's element), not the workbench around it: small PNGs for the README.
      await (await frame.frameElement()).screenshot({ path: path.join(DOCS_MEDIA, `trust-view-${theme.file}.png`) });

      // Every visible text, the folded PCRs opened, measured from computed styles against what is painted under it.
      await frame.evaluate("document.getElementById('bb-pcr-folded').open = true");
      const { samples, worst, failing } = await measureContrast(frame);
      assert.ok(samples > 40, `${theme.id}: ${samples} texts measured`);
      report.push(`${theme.id}: ${samples} texts, lowest ${worst.ratio.toFixed(2)}:1 (${worst.where} "${worst.text}")`);
      assert.deepEqual(failing, [], `${theme.id}: texts below ${AA}:1`);

      const banner = await frame.evaluate<{ style: string; width: number; color: string; body: string }>(BANNER_STYLE);
      if (theme.kind.startsWith('vscode-high-contrast')) {
        // High contrast themes have no warning background: the banner keeps a dashed warning border and warning text.
        assert.equal(banner.style, 'dashed', `${theme.id}: ${JSON.stringify(banner)}`);
        assert.ok(banner.width >= 4, `${theme.id}: ${JSON.stringify(banner)}`);
        assert.notEqual(banner.color, banner.body, `${theme.id}: the banner's text is not the body's`);
      }
      await frame.evaluate("document.getElementById('bb-pcr-folded').open = false");
    }
    for (const line of report) console.log(`  contrast ${line}`);
    await setTheme(THEMES[0]);
  });

  test('(4) the attestation panel survives a window reload', async () => {
    await wb!.webviewFrame('#bb-root[data-state="simulation"]', 30_000);
    await wb!.page.reload({ waitUntil: 'domcontentloaded' });
    await wb!.waitReady();
    // No command run: VS Code restores the panel through the extension's serializer, and the model follows.
    const frame = await wb!.webviewFrame('#bb-root[data-state="simulation"] #bb-check-hardware', 60_000);
    assert.equal(await frame.locator('#bb-checks > li').count(), 3);
    await wb!.screenshot('setup-4-restored-after-reload');
  });

  /**
   * Sets `workbench.colorTheme` while the window is open, the way a person does: *Preferences: Color Theme*, the
   * theme's name, Enter (VS Code writes the setting); the caller waits for the webview to take the theme's class.
   */
  async function setTheme(theme: (typeof THEMES)[number]): Promise<void> {
    const page = wb!.page;
    await wb!.runCommand('Preferences: Color Theme');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(theme.label);
    // The picker previews the focused theme; the first row is the one typed once the list has filtered.
    const first = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().locator('.label-name');
    const filtered = await wb!.pollFor(async () => (((await first.textContent().catch(() => '')) ?? '').trim() === theme.label ? true : undefined), 10_000);
    if (!filtered) await wb!.screenshot(`setup-FAILED-theme-${theme.file}`);
    assert.ok(filtered, `the theme picker offers ${theme.label} first`);
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5000 });
  }
});
