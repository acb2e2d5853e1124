/**
 * The trust view never overstates, and a wrong pin takes one step to fix: in a real VS Code (code-server) in a narrow
 * window (760 px), against the reference server in simulation (`blindbox serve --simulate`) with a policy whose PCR0
 * differs from the server's at digit 41 (the two share their first 40 digits, as after a small rebuild):
 *   (1) the refused state says SIMULATION everywhere: the status item (whole, not cut), the notification, the BlindBox
 *       view and the attestation view, whose banner stays and whose hardware check is SIMULATION, never PASSED; the
 *       mismatch shows both values in full (the first differing digit marked) and offers Pin and Copy;
 *   (2) *Configure…* then offers *Pin PCR0…* first, pre-filled with the attested value, and the refused policy last;
 *   (3) *Pin the server's PCR0…* shows the attested value in a modal, writes the policy into the user settings and
 *       verifies: the state is verified (SIMULATION), and the status item is whole there too.
 * Screenshots of the failure states go to docs/screenshots/ (the README's trust section shows them).
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package`. Run: node --test out/test/e2e/trust-wording.e2e.js
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Locator } from 'playwright-core';
import { AA, measureContrast } from './contrast.js';
import { startEnclave, type Enclave } from './enclave.js';
import { STATUS_ITEM, VSIX, requireBuilt } from './extension-fixture.js';
import { ROOT, normalizeText, openWorkbench, startCodeServer, type CodeServer, type Workbench } from './harness.js';

const SCREENSHOTS = path.join(ROOT, 'docs/screenshots');
const NARROW = { width: 760, height: 900 };

/** `pcr0` with digit 41 changed. */
function nearMiss(pcr0: string): string {
  return pcr0.slice(0, 40) + (pcr0[40] === 'a' ? 'b' : 'a') + pcr0.slice(41);
}

/** The little of the DOM `fitOf` uses (this project compiles without lib "dom"; it runs in the page). */
interface Box {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly height: number;
}
interface PageElement {
  readonly scrollWidth: number;
  readonly clientWidth: number;
  getBoundingClientRect(): Box;
  closest(selector: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
  contains(other: unknown): boolean;
}

/** How the status item sits in the status bar (runs in the page: no helpers of ours). */
function fitOf(el: PageElement) {
  const r = el.getBoundingClientRect();
  const bar = el.closest('.part.statusbar')!.getBoundingClientRect();
  const label = el.querySelector('a') ?? el;
  const hit = (globalThis as unknown as { document: { elementFromPoint(x: number, y: number): unknown } }).document.elementFromPoint(r.left + 3, r.top + r.height / 2);
  return { left: r.left, right: r.right, barLeft: bar.left, barRight: bar.right, scroll: label.scrollWidth, client: label.clientWidth, leftEdgeIsItem: !!hit && el.contains(hit) };
}

describe('the trust wording in a narrow window: a PCR mismatch under a simulation root, then Pin', { timeout: 300_000 }, () => {
  let dir: string;
  let enclave: Enclave | undefined;
  let server: CodeServer | undefined;
  let wb: Workbench | undefined;
  let expected: string;

  before(async () => {
    requireBuilt();
    dir = await mkdtemp(path.join(tmpdir(), 'blindbox-e2e-wording-'));
    const workspace = path.join(dir, 'workspace');
    await mkdir(workspace, { recursive: true });
    await mkdir(SCREENSHOTS, { recursive: true });
    enclave = await startEnclave(dir);
    expected = nearMiss(enclave.pcr0);
    server = await startCodeServer({
      workspace,
      label: 'trust-wording',
      settings: { 'blindbox.serverUrl': enclave.url, 'blindbox.trustedRoots': [enclave.rootPem], 'blindbox.policy': { name: 'rebuilt', pcrs: { 0: expected } } },
    });
    await server.installVsix(VSIX);
    wb = await openWorkbench(server, { viewport: NARROW });
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
    await enclave?.proc.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const statusText = async () => normalizeText((await wb!.page.locator(STATUS_ITEM).textContent()) ?? '').trim();

  /** The status item is whole: inside the bar, its text not clipped, nothing drawn over its left edge. */
  async function assertWhole(what: string): Promise<void> {
    const fit = await wb!.page.locator(STATUS_ITEM).evaluate(fitOf);
    assert.ok(fit.left >= fit.barLeft && fit.right <= fit.barRight && fit.scroll <= fit.client + 1 && fit.leftEdgeIsItem, `${what}: the status item is cut at ${NARROW.width} px: ${JSON.stringify(fit)}`);
  }

  async function elementShot(locator: Locator, file: string): Promise<void> {
    await locator.screenshot({ path: path.join(SCREENSHOTS, file) });
  }

  test('(1) refused under a simulation root: SIMULATION on every surface, the banner kept, no PASSED hardware', async () => {
    const refused = await wb!.pollFor(async () => ((await statusText()) === 'BlindBox: SIMULATION · PCR mismatch' ? true : undefined), 45_000);
    assert.ok(refused, `status: ${await statusText()}`);
    await assertWhole('refused');
    await elementShot(wb!.page.locator('.part.statusbar'), 'status-bar-refused-simulation-760px.png');

    await wb!.runCommand('BlindBox: Verify Enclave Server');
    const marked = `the enclave has …${enclave!.pcr0.slice(32, 40)}[${enclave!.pcr0[40]}]${enclave!.pcr0.slice(41, 49)}…, the policy expects …${expected.slice(32, 40)}[${expected[40]}]${expected.slice(41, 49)}…`;
    const toast = await wb!.waitForNotification(/PCR_MISMATCH/, 30_000);
    assert.ok(toast.includes(marked), `the toast cuts both values at their first difference, marked: ${toast}`);
    assert.match(toast, /SIMULATION — not confidential/);
    const toastEl = wb!.page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'PCR_MISMATCH' }).first();
    const buttons = (await toastEl.locator('.monaco-button').allTextContents()).map((b) => normalizeText(b).trim());
    assert.ok(buttons.includes("Pin the server's PCR0…") && buttons.includes('Copy'), `buttons: ${JSON.stringify(buttons)}`);
    await elementShot(toastEl, 'notification-pcr-mismatch.png');
    await wb!.clearNotifications();

    await wb!.runCommand('BlindBox: Show Attestation');
    const frame = await wb!.webviewFrame('#bb-root[data-state="failed"] #bb-mismatch:not([hidden])', 30_000);
    const banner = frame.locator('#bb-simulation-banner');
    assert.equal(await banner.isVisible(), true, 'the SIMULATION banner stays in the failed state');
    assert.match(normalizeText((await banner.textContent()) ?? ''), /^SIMULATION — NOT CONFIDENTIAL/);
    const hardware = frame.locator('#bb-check-hardware');
    assert.equal(await hardware.getAttribute('data-state'), 'warn');
    assert.match(normalizeText((await hardware.locator('h3').textContent()) ?? ''), /Genuine hardware\s*SIMULATION/);
    assert.doesNotMatch(normalizeText((await frame.locator('#bb-checks').textContent()) ?? ''), /passed/i);
    assert.equal(await frame.locator('#bb-checks > li > h3').count(), 3, 'the three checks are headings');
    // Both values in full, the first differing digit marked in each.
    assert.equal(normalizeText((await frame.locator('#bb-mismatch-actual').textContent()) ?? ''), enclave!.pcr0);
    assert.equal(normalizeText((await frame.locator('#bb-mismatch-expected').textContent()) ?? ''), expected);
    assert.deepEqual(await frame.locator('#bb-mismatch mark').allTextContents(), [enclave!.pcr0[40], expected[40]]);
    // The refused state's own colours (the marked digit, the mismatch section) meet WCAG AA too.
    const contrast = await measureContrast(frame);
    assert.deepEqual(contrast.failing, [], `texts below ${AA}:1 in the refused view`);
    console.log(`  contrast (refused view, default theme): ${contrast.samples} texts, lowest ${contrast.worst.ratio.toFixed(2)}:1 (${contrast.worst.where})`);
    await frame.evaluate('window.scrollTo(0, 0)');
    await (await frame.frameElement()).screenshot({ path: path.join(SCREENSHOTS, 'trust-view-refused-simulation.png') });
    await frame.locator('#bb-mismatch').screenshot({ path: path.join(SCREENSHOTS, 'trust-view-pcr-mismatch.png') });

    // The BlindBox view in the Explorer says the same.
    await wb!.runCommand('Explorer: Focus on BlindBox View');
    // The Explorer's other sections folded, so that the BlindBox view has the height to show every row.
    const others = wb!.page.locator('.explorer-viewlet .pane-header[aria-expanded="true"]').filter({ hasNotText: 'BlindBox' });
    for (let i = 0; i < 5 && (await others.count()) > 0; i++) await others.first().locator('.title').first().click();
    const pane = wb!.page.locator('.pane').filter({ has: wb!.page.locator('.pane-header', { hasText: 'BlindBox' }) }).first();
    const rows = pane.locator('.monaco-list-row');
    const listed = await wb!.pollFor(async () => {
      const texts = (await rows.allTextContents()).map((t) => normalizeText(t).trim());
      return texts.some((t) => t.startsWith("Server's PCR0")) && texts.some((t) => t.startsWith('Policy expects')) ? texts : undefined;
    }, 15_000);
    if (!listed) await wb!.screenshot('trust-wording-FAILED-blindbox-view');
    assert.ok(listed, `BlindBox view rows: ${JSON.stringify((await rows.allTextContents()).map(normalizeText))}`);
    assert.ok(listed.some((t) => t.startsWith('SIMULATION — not confidential')), JSON.stringify(listed));
    assert.ok(listed.some((t) => t.startsWith('Genuine hardware: SIMULATION')), JSON.stringify(listed));
    assert.ok(!listed.some((t) => /Genuine hardware: Passed/.test(t)), JSON.stringify(listed));
    assert.ok(listed.some((t) => t.includes(`[${enclave!.pcr0[40]}]`)) && listed.some((t) => t.includes(`[${expected[40]}]`)), JSON.stringify(listed));
    // Wider, for the picture: the sidebar's sash dragged to the right.
    const sidebar = await wb!.page.locator('.part.sidebar').boundingBox();
    if (sidebar) {
      const [x, y] = [sidebar.x + sidebar.width, sidebar.y + sidebar.height / 3];
      await wb!.page.mouse.move(x, y);
      await wb!.page.mouse.down();
      await wb!.page.mouse.move(x + 240, y, { steps: 8 });
      await wb!.page.mouse.up();
    }
    const body = (await pane.locator('.pane-body').boundingBox())!;
    await wb!.page.screenshot({ path: path.join(SCREENSHOTS, 'blindbox-view-pcr-mismatch.png'), clip: { x: body.x, y: body.y, width: body.width, height: Math.min(body.height, 10 * 22 + 8) } });
  });

  test('(2) Configure… after the refusal: Pin PCR0… comes first, pre-filled with the attested value; the refused policy comes last', async () => {
    const page = wb!.page;
    const title = page.locator('.quick-input-widget .quick-input-title');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    const step = async (pattern: RegExp) => {
      const shown = await wb!.pollFor(async () => (pattern.test(normalizeText((await title.textContent().catch(() => '')) ?? '')) ? true : undefined), 15_000);
      assert.ok(shown, `no step ${pattern}; shown: ${JSON.stringify(await title.textContent().catch(() => null))}`);
    };
    await wb!.runCommand('BlindBox: Configure Server…');
    await step(/Configure Server \(1\/3\): server/);
    assert.equal(await input.inputValue(), enclave!.url);
    await page.keyboard.press('Enter');
    await step(/Configure Server \(2\/3\): trust/);
    await page.keyboard.press('Enter'); // the roots already trusted
    await step(/Configure Server \(3\/3\): expected code/);
    const labels = await wb!.pollFor(async () => {
      const texts = (await rows.allTextContents()).map((t) => normalizeText(t).trim());
      return texts.length >= 4 ? texts : undefined;
    }, 10_000);
    assert.ok(labels, 'the policy choices');
    assert.match(labels[0]!, new RegExp(`^Pin PCR0…pre-filled with the PCR0 this server attested: ${enclave!.pcr0.slice(0, 16)}…`));
    assert.match(labels.at(-1)!, /^Keep the current policy \(the server was just refused under it\)/);
    assert.match(normalizeText((await rows.first().getAttribute('class')) ?? ''), /\bfocused\b/, 'the first choice (Pin PCR0…) is the preselected one');
    await page.keyboard.press('Enter');
    await step(/Configure Server: PCR0/);
    assert.equal(await input.inputValue(), enclave!.pcr0);
    await page.keyboard.press('Escape');
    const written = JSON.parse(await readFile(path.join(server!.userDataDir, 'User/settings.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(written['blindbox.policy'], { name: 'rebuilt', pcrs: { 0: expected } }, 'cancelled: nothing written');
  });

  test("(3) Pin the server's PCR0… shows the attested value, asks, writes the policy and verifies", async () => {
    await wb!.runCommand('BlindBox: Show Attestation');
    const frame = await wb!.webviewFrame('#bb-root[data-state="failed"] #bb-pin', 30_000);
    await frame.locator('#bb-pin').click();
    const dialog = wb!.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 20_000 });
    const text = normalizeText((await dialog.textContent()) ?? '');
    assert.ok(text.includes(enclave!.pcr0) && text.includes(expected), `the dialog shows both full values: ${text}`);
    await elementShot(dialog, 'pin-pcr0-confirmation.png');
    await dialog.locator('.monaco-button', { hasText: "Pin the server's PCR0" }).click();

    const verified = await wb!.pollFor(async () => (/^BlindBox: SIMULATION · \d+ s$/.test(await statusText()) ? true : undefined), 45_000);
    assert.ok(verified, `status: ${await statusText()}; notifications: ${JSON.stringify(await wb!.notifications())}`);
    await assertWhole('verified');
    const written = JSON.parse(await readFile(path.join(server!.userDataDir, 'User/settings.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(written['blindbox.policy'], { name: 'rebuilt', pcrs: { 0: enclave!.pcr0 }, maxAgeSeconds: (written['blindbox.policy'] as { maxAgeSeconds: number }).maxAgeSeconds });
    const after = await wb!.webviewFrame('#bb-root[data-state="simulation"] #bb-check-code[data-state="pass"]', 30_000);
    assert.equal(await after.locator('#bb-mismatch').isVisible(), false);
    assert.equal(await after.locator('#bb-simulation-banner').isVisible(), true);
  });
});
