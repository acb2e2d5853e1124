/**
 * End-to-end harness: the real VS Code workbench (code-server, installed by scripts/e2e/install.sh under
 * .tools/code-server/) driven from headless Chromium with playwright-core.
 *
 *   const server = await startCodeServer({ workspace, settings });
 *   await server.installVsix('blindbox-vscode-0.1.0.vsix');          // before opening the workbench
 *   const wb = await openWorkbench(server);                           // http://127.0.0.1:PORT/?folder=WORKSPACE
 *   await wb.runCommand('View: Show Explorer');
 *   await wb.screenshot('explorer');                                  // test-artifacts/e2e/explorer.png
 *   await wb.close(); await server.stop();
 *
 * Each code-server gets fresh user-data, extensions, XDG config/data folders and config file in a temporary folder,
 * runs in its own process group (its file watchers and extension host outlive the main process otherwise) and is
 * stopped by signalling the whole group. `runExtensionHostTests` runs a test module inside the extension host.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Frame, type Locator, type Page } from 'playwright-core';

/** The project's root (this file is out/test/e2e/harness.js once compiled). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER_BIN = path.join(ROOT, '.tools/code-server/node_modules/.bin/code-server');
export const CHROMIUM = process.env.BLINDBOX_E2E_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test-artifacts/e2e');
/** Keep the temporary folders (profiles, logs) of a run for a look afterwards. */
const KEEP = process.env.BLINDBOX_E2E_KEEP === '1';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the e2e tests cannot run here, or undefined when they can (for `test(..., { skip })`, never used silently in CI). */
export function missingPrerequisites(): string | undefined {
  if (!existsSync(CODE_SERVER_BIN)) return `code-server is not installed (${path.relative(ROOT, CODE_SERVER_BIN)}): run bash scripts/e2e/install.sh`;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing: run bash scripts/e2e/install.sh`;
  return undefined;
}

/** Fails with the reason when the prerequisites are missing (CI must not pass by skipping). */
export function requirePrerequisites(): void {
  const missing = missingPrerequisites();
  if (missing) throw new Error(missing);
}

// ------------------------------------------------------------------------------------------------------ processes

/** Processes groups still running, killed when this process exits however it exits. */
const liveGroups = new Set<number>();
function killAllGroups(): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
process.on('exit', killAllGroups);
// The test runner stops a file that overran its time with a signal: take code-server and the server down with it.
for (const [signal, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
  process.once(signal, () => {
    killAllGroups();
    process.exit(128 + n);
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once no process of the group is left. */
export async function killGroup(pgid: number, graceMs = 3000): Promise<void> {
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    liveGroups.delete(pgid);
    return;
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(50);
  if (groupAlive(pgid)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
    const hard = Date.now() + 2000;
    while (groupAlive(pgid) && Date.now() < hard) await sleep(50);
  }
  liveGroups.delete(pgid);
}

/**
 * Spawns a command as the leader of a new session and process group (setsid(2), which Node's `detached` does), with
 * its output collected; `waitFor` resolves with the first match of a regular expression in its output.
 */
export function spawnGroup(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnedGroup {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) liveGroups.add(child.pid);
  return new SpawnedGroup(child);
}

export class SpawnedGroup {
  output = '';
  readonly #exited: Promise<number | null>;
  #listeners = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    const append = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      for (const l of this.#listeners) l();
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    this.#exited = new Promise((resolve) => {
      child.on('error', (err) => {
        this.output += `\n[spawn error] ${err.message}\n`;
        for (const l of this.#listeners) l();
        resolve(null);
      });
      child.on('exit', (code) => {
        for (const l of this.#listeners) l();
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first match of `pattern` in the output; rejects when the process exits first or on timeout. */
  waitFor(pattern: RegExp, timeoutMs: number, what = pattern.source): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (f: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#listeners.delete(check);
        f();
      };
      const check = () => {
        const m = this.output.match(pattern);
        if (m) finish(() => resolve(m));
        else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          finish(() => reject(new Error(`${path.basename(this.child.spawnfile)} exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}:\n${this.output}`)));
        }
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} after ${timeoutMs} ms:\n${this.output}`))), timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }

  async stop(graceMs?: number): Promise<number | null> {
    if (this.child.pid !== undefined) await killGroup(this.child.pid, graceMs);
    return this.#exited;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`'s value, or undefined once `ms` passed (the timer is cleared either way: no handle keeps node alive). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------- code-server

export interface CodeServerOptions {
  /** The folder the workbench opens (`?folder=`). Default: an empty temporary folder. */
  workspace?: string;
  /**
   * User settings (user-data-dir/User/settings.json), over BASE_SETTINGS (`workbench.startupEditor: "none"`...).
   * The application-scoped trust settings (blindbox.serverUrl, blindbox.trustedRoots…) reach the extension host from
   * here in every window, local or remote; a remote machine's Machine/settings.json values for them are ignored.
   */
  settings?: Record<string, unknown>;
  /** Settings of the remote machine (user-data-dir/Machine/settings.json), if any. */
  machineSettings?: Record<string, unknown>;
  /** Names the logs saved in test-artifacts/e2e/ (<label>-code-server.log, <label>-browser-console.log). */
  label?: string;
  /** Extra environment for code-server and so its extension host. */
  env?: NodeJS.ProcessEnv;
  /** Extra code-server arguments. */
  args?: string[];
}

export interface CodeServer {
  readonly port: number;
  readonly url: string;
  readonly label: string;
  readonly workspace: string;
  readonly dir: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** Where extension-host test modules write their lines (BLINDBOX_E2E_HOST_RESULTS in the extension host). */
  readonly hostResultsFile: string;
  /** Everything code-server printed so far. */
  output(): string;
  /** Installs a .vsix into this server's extensions folder (`code-server --install-extension`). */
  installVsix(vsixPath: string): Promise<void>;
  /** The URL that opens `folder` (default: the workspace) in the workbench, with an optional `payload`. */
  workbenchUrl(folder?: string, payload?: [string, string][]): string;
  /** `vscode-remote://` URI of a path on this server (for payload entries). */
  remoteUri(absPath: string): string;
  stop(): Promise<void>;
}

const BASE_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none', // the welcome page steals the first F1
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'security.workspace.trust.enabled': false,
  'window.confirmBeforeClose': 'never',
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

function codeServerEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'xdg-config'), XDG_DATA_HOME: path.join(dir, 'xdg-data'), ...extra };
  // Never inherit a password or a running VS Code's IPC hooks.
  for (const k of ['PASSWORD', 'HASHED_PASSWORD', 'VSCODE_IPC_HOOK_CLI', 'VSCODE_IPC_HOOK', 'PORT']) delete env[k];
  return env;
}

export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
  requirePrerequisites();
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-e2e-'));
  const userDataDir = path.join(dir, 'user-data');
  const extensionsDir = path.join(dir, 'extensions');
  const config = path.join(dir, 'config.yaml');
  const workspace = options.workspace ?? path.join(dir, 'workspace');
  await Promise.all(['user-data/User', 'user-data/Machine', 'extensions', 'xdg-config', 'xdg-data'].map((d) => mkdir(path.join(dir, d), { recursive: true })));
  await mkdir(workspace, { recursive: true });
  await writeFile(config, 'auth: none\ncert: false\n'); // its own config file: never ~/.config/code-server/config.yaml
  await writeFile(path.join(userDataDir, 'User/settings.json'), JSON.stringify({ ...BASE_SETTINGS, ...options.settings }, null, 2));
  if (options.machineSettings) await writeFile(path.join(userDataDir, 'Machine/settings.json'), JSON.stringify(options.machineSettings, null, 2));
  const label = options.label ?? 'e2e';
  const hostResultsFile = path.join(dir, 'host-results.txt');
  // The extension host learns where its results go and where the settings files are (a test checks which one a write lands in).
  const env = codeServerEnv(dir, { BLINDBOX_E2E_HOST_RESULTS: hostResultsFile, BLINDBOX_E2E_USER_DATA_DIR: userDataDir, ...options.env });
  const args = [
    '--auth', 'none',
    '--bind-addr', '127.0.0.1:0', // any free port: read back from its "HTTP server listening on" line (no race)
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--config', config,
    ...(options.args ?? []),
  ];
  const proc = spawnGroup(CODE_SERVER_BIN, args, { cwd: dir, env });
  let port: number;
  try {
    const m = await proc.waitFor(/HTTP server listening on https?:\/\/127\.0\.0\.1:(\d+)\//, 30_000, 'code-server listening');
    port = Number(m[1]);
  } catch (err) {
    await proc.stop();
    if (!KEEP) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const server: CodeServer = {
    port,
    url,
    label,
    workspace,
    dir,
    userDataDir,
    extensionsDir,
    hostResultsFile,
    output: () => proc.output,
    async installVsix(vsixPath: string) {
      await installVsix(vsixPath, { extensionsDir, userDataDir, env, config });
    },
    workbenchUrl(folder = workspace, payload) {
      const q = new URLSearchParams({ folder });
      if (payload) q.set('payload', JSON.stringify(payload));
      return `${url}/?${q.toString()}`;
    },
    remoteUri(absPath: string) {
      return `vscode-remote://127.0.0.1:${port}${absPath}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc.stop();
      await saveLog(`${label}-code-server.log`, proc.output);
      if (!KEEP) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
  return server;
}

/** `code-server --install-extension X.vsix --extensions-dir D` (offline for a .vsix). */
export async function installVsix(vsixPath: string, where: { extensionsDir: string; userDataDir?: string; env?: NodeJS.ProcessEnv; config?: string }): Promise<void> {
  requirePrerequisites();
  const abs = path.resolve(vsixPath);
  if (!existsSync(abs)) throw new Error(`no such .vsix: ${abs}`);
  const args = ['--install-extension', abs, '--force', '--extensions-dir', where.extensionsDir];
  if (where.userDataDir) args.push('--user-data-dir', where.userDataDir);
  if (where.config) args.push('--config', where.config);
  const proc = spawnGroup(CODE_SERVER_BIN, args, { env: where.env ?? codeServerEnv(path.dirname(where.extensionsDir)) });
  const result = await proc.waitFor(/successfully installed|is already installed/i, 60_000, 'the install').then(() => 'ok' as const, (e: Error) => e);
  const code = await proc.stop(2000);
  if (result !== 'ok') throw new Error(`installing ${abs} failed (exit ${code}): ${result instanceof Error ? result.message : result}\n${proc.output}`);
}

// -------------------------------------------------------------------------------------------------------- browser

export interface WorkbenchOptions {
  /** Folder to open; default the server's workspace. */
  folder?: string;
  /** `payload` entries of the workbench URL (e.g. extensionDevelopmentPath). */
  payload?: [string, string][];
  viewport?: { width: number; height: number };
  /** Called before navigation (e.g. `page.exposeFunction`). */
  beforeGoto?: (page: Page) => Promise<void>;
  /** Wait for the workbench to be ready (default true). */
  waitReady?: boolean;
}

export async function openWorkbench(server: CodeServer, options: WorkbenchOptions = {}): Promise<Workbench> {
  const profile = await mkdtemp(path.join(server.dir, 'chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport ?? { width: 1400, height: 900 },
    deviceScaleFactor: 1,
    // Clipboard reads (not needed so far) would need a permission; none given.
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const wb = new Workbench(server, context, page);
  if (options.beforeGoto) await options.beforeGoto(page);
  await page.goto(server.workbenchUrl(options.folder, options.payload), { waitUntil: 'domcontentloaded', timeout: 30_000 });
  if (options.waitReady !== false) await wb.waitReady();
  return wb;
}

/** VS Code's toast spam window (notificationsToasts.ts SPAM_PROTECTION, 800 ms), with a margin. */
const TOAST_SPAM_WINDOW_MS = 1000;

/** The BlindBox output channel as the extension host wrote it to its log folder, under code-server's folder `dir`. */
export async function blindboxLog(dir: string): Promise<string> {
  const files = (await readdir(dir, { recursive: true })).filter((f) => /BlindBox\.log$/.test(f));
  assert.ok(files.length > 0, `no BlindBox log under ${dir}`);
  return (await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')))).join('\n');
}

/** Characters VS Code renders in place of plain spaces (the editor's U+00A0) and other invisible variants. */
export function normalizeText(text: string): string {
  return text.replace(/\u00a0/g, ' ').replace(/[\u200b\u200c\u200d\ufeff]/g, '');
}

/**
 * The little of the DOM that the functions evaluated in the page use (this project compiles without lib "dom"; the
 * functions run in the browser, where these exist).
 */
interface DomElement {
  readonly tagName: string;
  readonly id: string;
  readonly textContent: string | null;
  readonly style: { top: string; display: string };
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  getAttribute(name: string): string | null;
  blur(): void;
}
/** `globalThis` in the page (cast inline: functions passed to evaluate run there, they cannot call helpers of ours). */
interface DomGlobal {
  readonly document: { readonly activeElement: DomElement | null; querySelector(selector: string): DomElement | null };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class Workbench {
  /** What the page printed to its console (the extension host's output is forwarded there in development mode). */
  readonly console: string[] = [];
  /** Tells this window's console log apart from another window's on the same server. */
  logSuffix = '';

  constructor(
    readonly server: CodeServer,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('console', (m) => this.console.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => this.console.push(`[pageerror] ${e.message}`));
  }

  /** The workbench is laid out, the folder is open in the explorer and the extension host is up. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const page = this.page;
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
    await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
    // The explorer shows the folder's name once the remote file system answered.
    await page.locator('.explorer-folders-view, .part.sidebar .monaco-list').first().waitFor({ state: 'attached', timeout: timeoutMs });
    // The remote connection is up (status bar's remote indicator stops saying it is opening/reconnecting).
    await page.waitForFunction(() => !(globalThis as unknown as DomGlobal).document.querySelector('.statusbar-item .codicon-loading'), undefined, { timeout: timeoutMs }).catch(() => undefined);
  }

  // ----- keyboard and palette

  /** Presses F1, types `title`, picks the command whose label is exactly `title`; retries while it is not there yet. */
  async runCommand(title: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const page = this.page;
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const wanted = normalizeText(title).trim();
    let lastSeen: string[] = [];
    for (let attempt = 0; ; attempt++) {
      await this.closeQuickInput();
      await this.focusWorkbench();
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget .quick-input-box input');
      // A key press can be lost (focus still moving out of a webview): press again until the deadline, not fail at once.
      if (!(await input.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false))) {
        if (Date.now() > deadline) throw new Error(`the command palette did not open to run ${JSON.stringify(title)}`);
        continue;
      }
      // The palette can close again at once (focus coming back from a dialog that just closed): open it again.
      if (!(await input.fill(`>${title}`, { timeout: 5_000 }).then(() => true, () => false))) {
        if (Date.now() > deadline) throw new Error(`the command palette closed before ${JSON.stringify(title)} could be typed`);
        continue;
      }
      // Wait for the list to settle on the typed filter, then look for the exact label.
      const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
      const found = await this.pollFor(async () => {
        const n = await rows.count();
        const labels: string[] = [];
        for (let i = 0; i < n; i++) {
          const label = normalizeText((await rows.nth(i).locator('.label-name').first().textContent().catch(() => '')) ?? '').trim();
          labels.push(label);
          if (label === wanted) return i;
        }
        lastSeen = labels;
        return undefined;
      }, 2500);
      if (found !== undefined) {
        // The palette can also close between finding the row and clicking it (the same returning focus): a click that
        // cannot happen ran nothing, so open the palette again instead of waiting out the action timeout.
        if (await rows.nth(found).click({ timeout: 3_000 }).then(() => true, () => false)) {
          await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
          return;
        }
        if (Date.now() > deadline) throw new Error(`the command palette closed before ${JSON.stringify(title)} could be clicked`);
        continue;
      }
      if (Date.now() > deadline) {
        await this.closeQuickInput();
        throw new Error(`command ${JSON.stringify(title)} is not in the palette after ${attempt + 1} tries; last shown: ${JSON.stringify(lastSeen)}`);
      }
      await sleep(1000); // the extension may still be loading
    }
  }

  /** Waits for the quick input titled like `title`, types `value` (validation runs as typed) and accepts it. */
  async answerQuickInput(title: RegExp, value: string): Promise<void> {
    const page = this.page;
    const titleEl = page.locator('.quick-input-widget .quick-input-title');
    const ok = await this.pollFor(async () => (title.test((await titleEl.textContent().catch(() => '')) ?? '') ? true : undefined), 15_000);
    if (!ok) {
      await this.screenshot(`${this.server.label}-FAILED-quick-input`);
      assert.fail(`no quick input titled ${title}; shown: ${JSON.stringify(await titleEl.textContent().catch(() => null))}`);
    }
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.fill(value);
    // validateInput runs after typing, and Enter is refused while it is pending or has a message: press again while
    // this step is still shown, until it is left. The title can show before the extension's pick has arrived, which then
    // clears the typed value: type it again. In a pick, Enter takes the focused row, which is the first one until the
    // filter has caught up with the value: press only once that row is the value.
    const left = await this.pollFor(async () => {
      const shown = await page.locator('.quick-input-widget').isVisible().catch(() => false);
      if (!shown || !title.test((await titleEl.textContent().catch(() => '')) ?? '')) return true;
      if ((await input.inputValue().catch(() => '')) !== value) {
        await input.fill(value).catch(() => undefined);
        return undefined;
      }
      if (!(await this.#focusedRowIs(value))) return undefined;
      await page.keyboard.press('Enter');
      await sleep(700);
      return undefined;
    }, 20_000, 100);
    if (!left) await this.screenshot(`${this.server.label}-FAILED-quick-input-stuck`);
    assert.ok(left, `the step ${title} accepted ${JSON.stringify(value.slice(0, 40))}; message: ${JSON.stringify(await page.locator('.quick-input-widget .quick-input-message').textContent().catch(() => null))}`);
  }

  /**
   * Whether Enter would take `value`: the widget is an input box (VS Code hides its pick list with an inline
   * `display: none`), or its focused row's label contains it. A pick whose items have not arrived yet shows no row, and
   * Enter there would accept nothing, which the extension reads as the step cancelled.
   */
  async #focusedRowIs(value: string): Promise<boolean> {
    const list = this.page.locator('.quick-input-widget .quick-input-list').first();
    const isPick = await list.evaluate((el: DomElement) => el.style.display !== 'none').catch(() => true);
    if (!isPick) return true;
    const rows = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ visible: true });
    if ((await rows.count().catch(() => 0)) === 0) return false;
    const focused = await rows.and(this.page.locator('.focused')).first().locator('.label-name').first().textContent({ timeout: 500 }).catch(() => null);
    return focused !== null && normalizeText(focused).toLowerCase().includes(value.toLowerCase());
  }

  /** Opens the quick open (Ctrl+P), types `text` and picks the first entry. */
  async quickOpen(text: string): Promise<void> {
    await this.closeQuickInput();
    await this.focusWorkbench();
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(text);
    const row = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first();
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    await this.page.keyboard.press('Enter');
  }

  async closeQuickInput(): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    if (await widget.isVisible().catch(() => false)) {
      await this.page.keyboard.press('Escape');
      await widget.waitFor({ state: 'hidden', timeout: 3000 }).catch(() => undefined);
    }
  }

  /** Gives the keyboard to the workbench (not an iframe or a menu). */
  async focusWorkbench(): Promise<void> {
    await this.page.evaluate(() => {
      const active = (globalThis as unknown as DomGlobal).document.activeElement;
      if (active && active.tagName === 'IFRAME') active.blur();
    });
    if (await this.page.locator('.context-view .monaco-menu').isVisible().catch(() => false)) await this.page.keyboard.press('Escape');
  }

  // ----- notifications

  /** Waits for a notification toast whose message contains `text` (string or RegExp); returns its full message. */
  async waitForNotification(text: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const messages = this.page.locator('.notifications-toasts .notification-toast .notification-list-item-message');
    const match = typeof text === 'string' ? new RegExp(escapeRegExp(text)) : text;
    const found = await this.pollFor(async () => {
      for (const m of await this.notifications(messages)) if (match.test(m)) return m;
      return undefined;
    }, timeoutMs);
    if (found === undefined) {
      const open = (await this.page.locator('.quick-input-widget').isVisible().catch(() => false)) ? await this.page.locator('.quick-input-widget .quick-input-title').textContent().catch(() => null) : null;
      const log = (await blindboxLog(this.server.dir).catch(() => '')).split('\n').slice(-15).join('\n');
      throw new Error(`no notification matching ${match} within ${timeoutMs} ms; shown: ${JSON.stringify(await this.notifications(messages))}${open === null ? '' : `; a quick input is open: ${JSON.stringify(open)}`}; the BlindBox log ends:\n${log}`);
    }
    return found;
  }

  /** Messages of the notification toasts now visible. */
  async notifications(messages = this.page.locator('.notifications-toasts .notification-toast .notification-list-item-message')): Promise<string[]> {
    const out: string[] = [];
    for (const t of await messages.allTextContents().catch(() => [] as string[])) out.push(normalizeText(t).trim());
    return out;
  }

  /** Clicks a button (e.g. "Show details") of the toast whose message contains `text`. */
  async clickNotificationButton(text: string | RegExp, button: string): Promise<void> {
    const match = typeof text === 'string' ? new RegExp(escapeRegExp(text)) : text;
    const toast = this.page.locator('.notifications-toasts .notification-toast').filter({ has: this.page.locator('.notification-list-item-message', { hasText: match }) }).first();
    await toast.locator('.monaco-button', { hasText: button }).first().click();
  }

  /**
   * Clears every notification, then waits out VS Code's toast spam protection (NotificationsToasts: at most 3 toasts in
   * a window of 800 ms from the first; any more go only to the notification centre). A verification adds two (its
   * progress and its outcome), so a test that clears one outcome and at once verifies again would otherwise wait for a
   * toast that VS Code never shows, as soon as the machine is fast enough to do both within 800 ms.
   */
  async clearNotifications(): Promise<void> {
    await this.runCommand('Notifications: Clear All Notifications').catch(() => undefined);
    await sleep(TOAST_SPAM_WINDOW_MS);
  }

  // ----- editors

  /** The title of the active editor tab. */
  async activeEditorTitle(): Promise<string | undefined> {
    const tab = this.page.locator('.part.editor .editor-group-container.active .tab.active .label-name').first();
    if (!(await tab.count())) return undefined;
    return normalizeText((await tab.textContent()) ?? '').trim();
  }

  /**
   * The text of the active text editor, lines in document order (U+00A0 made a space). Only what Monaco has
   * rendered: the visible lines, which is the whole of a short document.
   */
  async activeEditorText(): Promise<string> {
    const editor = this.page.locator('.part.editor .editor-group-container.active .monaco-editor .view-lines').first();
    await editor.waitFor({ state: 'visible', timeout: 10_000 });
    const lines: string[] = await editor.evaluate((el: DomElement) =>
      Array.from(el.querySelectorAll(':scope > .view-line'))
        .map((l: DomElement) => ({ top: parseFloat(l.style.top || '0'), text: l.textContent ?? '' }))
        .sort((a, b) => a.top - b.top)
        .map((l) => l.text),
    );
    return normalizeText(lines.join('\n'));
  }

  /** Number of editor tabs open in all groups. */
  async editorTabCount(): Promise<number> {
    return this.page.locator('.part.editor .tabs-container .tab').count();
  }

  // ----- settings

  /**
   * Sets a user setting in the open window the way a person does: *Preferences: Open User Settings (JSON)*, the
   * property typed as the first of the object (the key must not be in the file yet), saved, the editor closed. The text
   * is inserted as one input (no auto-closing quote or suggestion gets in the way).
   */
  async setUserSettingInJsonEditor(key: string, value: unknown): Promise<void> {
    await this.runCommand('Preferences: Open User Settings (JSON)');
    const opened = await this.pollFor(async () => ((await this.activeEditorTitle()) === 'settings.json' ? true : undefined), 15_000);
    if (!opened) throw new Error(`the user settings did not open (active: ${JSON.stringify(await this.activeEditorTitle())})`);
    await this.page.locator('.part.editor .editor-group-container.active .monaco-editor .view-lines').first().click();
    await this.page.keyboard.press('Control+Home');
    await this.page.keyboard.press('End');
    await this.page.keyboard.insertText(`\n  ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
    await this.runCommand('File: Save');
    await this.runCommand('View: Close Editor');
  }

  // ----- explorer

  /** Shows the explorer and returns the row of `name` (a file or folder visible at the top level or expanded). */
  async explorerItem(name: string, timeoutMs = 15_000): Promise<Locator> {
    const view = this.page.locator('.explorer-folders-view');
    if (!(await view.isVisible().catch(() => false))) await this.page.keyboard.press('Control+Shift+E');
    await view.waitFor({ state: 'visible', timeout: timeoutMs });
    const row = view.locator('.monaco-list-row').filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) }).first();
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    return row;
  }

  /**
   * Right-clicks `name` in the explorer (which selects it without opening it) and picks the context-menu item
   * labelled `item`. The menu ignores a click that comes too soon after it opened (it guards against the releasing
   * right button), so the item is hovered first, then clicked, then given Enter if the menu is still open.
   */
  async explorerContextMenu(name: string, item: string, timeoutMs = 15_000): Promise<void> {
    const menu = await this.#openExplorerContextMenu(name, timeoutMs);
    const entry = menu.locator('.action-item .action-label', { hasText: new RegExp(`^${escapeRegExp(item)}$`) }).first();
    try {
      await entry.waitFor({ state: 'visible', timeout: 5000 });
    } catch {
      const labels = await this.#menuLabels(menu);
      await this.page.keyboard.press('Escape');
      throw new Error(`the explorer's context menu on ${name} has no ${JSON.stringify(item)}: ${JSON.stringify(labels)}`);
    }
    await entry.hover();
    await sleep(300);
    await entry.click();
    if (!(await menu.waitFor({ state: 'hidden', timeout: 1500 }).then(() => true, () => false))) {
      await entry.hover();
      await this.page.keyboard.press('Enter');
      await menu.waitFor({ state: 'hidden', timeout: 5000 });
    }
  }

  /** Labels of the context menu of `name` in the explorer (closed again). */
  async explorerContextMenuLabels(name: string): Promise<string[]> {
    const menu = await this.#openExplorerContextMenu(name);
    const labels = await this.#menuLabels(menu);
    await this.page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
    return labels;
  }

  async #openExplorerContextMenu(name: string, timeoutMs = 15_000): Promise<Locator> {
    const row = await this.explorerItem(name, timeoutMs);
    await row.click({ button: 'right' });
    const menu = this.page.locator('.context-view .monaco-menu');
    await menu.waitFor({ state: 'visible', timeout: timeoutMs });
    return menu;
  }

  async #menuLabels(menu: Locator): Promise<string[]> {
    return (await menu.locator('.action-item .action-label').allTextContents()).map((s) => normalizeText(s).trim()).filter(Boolean);
  }

  // ----- status bar

  /** The status bar entries' texts (with their ids when they have one). */
  async statusBarItems(): Promise<{ id: string; text: string; tooltip: string }[]> {
    return this.page.locator('.part.statusbar .statusbar-item').evaluateAll((items: DomElement[]) =>
      items.map((el) => ({
        id: el.id,
        text: (el.textContent ?? '').replace(/\u00a0/g, ' ').trim(),
        tooltip: el.querySelector('[aria-label]')?.getAttribute('aria-label') ?? el.getAttribute('aria-label') ?? '',
      })),
    );
  }

  /** Waits for a status bar entry whose text matches; returns it. */
  async waitForStatusBar(text: string | RegExp, timeoutMs = 30_000): Promise<Locator> {
    const match = typeof text === 'string' ? new RegExp(escapeRegExp(text)) : text;
    const item = this.page.locator('.part.statusbar .statusbar-item', { hasText: match }).first();
    try {
      await item.waitFor({ state: 'visible', timeout: timeoutMs });
    } catch {
      throw new Error(`no status bar item matching ${match} within ${timeoutMs} ms; items: ${JSON.stringify((await this.statusBarItems()).map((i) => i.text))}`);
    }
    return item;
  }

  // ----- webviews

  /**
   * The frame of a webview whose document holds `selector` (webviews are an outer iframe.webview holding the
   * content iframe#active-frame). Waits until one does.
   */
  async webviewFrame(selector: string, timeoutMs = 30_000): Promise<Frame> {
    const frame = await this.pollFor(async () => {
      for (const f of this.page.frames()) {
        if (f === this.page.mainFrame()) continue;
        if (await f.locator(selector).count().catch(() => 0)) return f;
      }
      return undefined;
    }, timeoutMs);
    if (!frame) throw new Error(`no webview frame holds ${selector} within ${timeoutMs} ms (frames: ${this.page.frames().map((f) => f.url()).join(', ')})`);
    return frame;
  }

  /** The text of the elements matching `selector` in a webview (U+00A0 made a space). */
  async webviewTexts(selector: string, timeoutMs = 30_000): Promise<string[]> {
    const frame = await this.webviewFrame(selector, timeoutMs);
    return (await frame.locator(selector).allTextContents()).map((t) => normalizeText(t).trim());
  }

  // ----- artifacts

  /** Saves a screenshot of the whole workbench as test-artifacts/e2e/<step>.png and returns its path. */
  async screenshot(step: string): Promise<string> {
    await mkdir(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${step.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  async close(): Promise<void> {
    await saveLog(`${this.server.label}-browser-console${this.logSuffix}.log`, this.console.join('\n'));
    await this.context.close().catch(() => undefined);
  }

  /** Polls `probe` until it returns a value other than undefined, or `timeoutMs` passes (then undefined). */
  async pollFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 200): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() >= deadline) return undefined;
      await sleep(everyMs);
    }
  }
}

async function saveLog(name: string, text: string): Promise<void> {
  try {
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(path.join(ARTIFACTS, name), text);
  } catch {
    /* artifacts are a help, never a failure */
  }
}

// ------------------------------------------------------------------------------------------ extension-host tests

export interface ExtensionHostTestOptions {
  /** The extension under development (a folder with a package.json); default: an empty stub extension. */
  extensionDevelopmentPath?: string;
  /**
   * The compiled test module (ESM, exports `run(): Promise<void>`), e.g. out/test/e2e/host/index.js. VS Code
   * require()s extensionTestsPath, so the harness hands it a CommonJS entry that import()s this module.
   */
  testModule: string;
  timeoutMs?: number;
}

export interface ExtensionHostTestResult {
  /** The exit code the workbench handed to `window.codeAutomationExit` (0: run() resolved). */
  code: number;
  /** Lines the test module wrote to its results file (BLINDBOX_E2E_HOST_RESULTS); the last is `N passed, N failed`. */
  lines: string[];
}

/**
 * Runs a test module inside the extension host of `server` (VS Code's extension-test mode: `payload` with
 * extensionDevelopmentPath and extensionTestsPath) and waits for the workbench's `window.codeAutomationExit(code)`.
 * The module finds where to write its lines in BLINDBOX_E2E_HOST_RESULTS, which every server's extension host has.
 */
export async function runExtensionHostTests(server: CodeServer, options: ExtensionHostTestOptions): Promise<ExtensionHostTestResult> {
  const devPath = options.extensionDevelopmentPath ?? (await stubExtension(server.dir));
  const entry = path.join(server.dir, `host-entry-${Date.now()}.cjs`);
  await writeFile(
    entry,
    `// written by test/e2e/harness.ts: VS Code require()s the tests module; ours is ESM\n` +
      `exports.run = () => import(${JSON.stringify(pathToFileURL(path.resolve(options.testModule)).href)}).then((m) => m.run());\n`,
  );
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  const wb = await openWorkbench(server, {
    payload: [
      ['extensionDevelopmentPath', server.remoteUri(devPath)],
      ['extensionTestsPath', server.remoteUri(entry)],
    ],
    beforeGoto: async (page) => {
      await page.exposeFunction('codeAutomationExit', (code: number) => resolveExit(Number(code)));
    },
    waitReady: false,
  });
  wb.logSuffix = '-host-tests';
  const timeoutMs = options.timeoutMs ?? 60_000;
  try {
    const code = await within(exited, timeoutMs);
    const lines = existsSync(server.hostResultsFile) ? (await readFile(server.hostResultsFile, 'utf8')).split('\n').filter(Boolean) : [];
    if (code === undefined) {
      await wb.screenshot('extension-host-tests-timeout').catch(() => undefined);
      throw new Error(`the extension-host tests did not finish within ${timeoutMs} ms; so far:\n${lines.join('\n')}\nbrowser console:\n${wb.console.slice(-40).join('\n')}`);
    }
    return { code, lines };
  } finally {
    await wb.close();
  }
}

/** An empty extension to stand as the one "under development" when the tests target installed extensions. */
async function stubExtension(dir: string): Promise<string> {
  const ext = path.join(dir, 'stub-extension');
  await mkdir(ext, { recursive: true });
  await writeFile(
    path.join(ext, 'package.json'),
    JSON.stringify({ name: 'e2e-host-stub', publisher: 'blindbox-e2e', version: '0.0.0', engines: { vscode: '^1.90.0' }, activationEvents: [] }, null, 2),
  );
  return ext;
}

// --------------------------------------------------------------------------------------------------------- speech

/**
 * Makes a WAV of `text` spoken by flite (Debian's `flite`, installed by scripts/e2e/install.sh), 16 kHz mono, with
 * one of its natural-sounding voices (`slt` by default: PocketSphinx mishears the default `kal` far more).
 */
export function speak(text: string, wavPath: string, voice: 'slt' | 'rms' | 'kal' | 'awb' = 'slt'): void {
  const r = spawnSync('flite', ['-voice', voice, '-t', text, '-o', wavPath], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`flite failed (${r.error?.message ?? r.stderr}): run bash scripts/e2e/install.sh`);
}

/** Word error rate of `hypothesis` against `reference` (Levenshtein over lower-cased words, punctuation dropped). */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const words = (s: string) => s.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean);
  const r = words(reference);
  const h = words(hypothesis);
  if (r.length === 0) return h.length === 0 ? 0 : 1;
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[h.length]! / r.length;
}
