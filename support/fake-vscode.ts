/**
 * A stand-in for the `vscode` module, just wide enough to run the bundled
 * extension (dist/extension.cjs) in plain Node: it records what the extension
 * shows (status bar, notifications, progress, documents, webview messages) and
 * lets a test change settings and cancel progress. It checks the extension's
 * logic and the bundle; the end-to-end tests check it in a real VS Code.
 */
import { createRequire } from 'node:module';
import Module from 'node:module';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', path.resolve(p));
  }
  static from(parts: { scheme: string; path: string }): Uri {
    return new Uri(parts.scheme, parts.path);
  }
  /** The inverse of `toString`. */
  static parse(text: string): Uri {
    const [scheme, rest] = text.split('://', 2);
    return new Uri(scheme!, rest!);
  }
  static joinPath(base: Uri, ...segments: string[]): Uri {
    return new Uri(base.scheme, path.posix.join(base.path, ...segments));
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

class Disposable {
  readonly #fn: () => void;
  constructor(fn: () => void = () => undefined) {
    this.#fn = fn;
  }
  dispose(): void {
    this.#fn();
  }
}

class ThemeColor {
  constructor(readonly id: string) {}
}

class EventEmitter<T> {
  readonly #listeners = new Set<(value: T) => void>();
  readonly event = (l: (value: T) => void) => {
    this.#listeners.add(l);
    return new Disposable(() => this.#listeners.delete(l));
  };
  fire(value: T): void {
    for (const l of [...this.#listeners]) l(value);
  }
  dispose(): void {
    this.#listeners.clear();
  }
}

class ThemeIcon {
  constructor(
    readonly id: string,
    readonly color?: ThemeColor,
  ) {}
}

class TreeItem {
  id?: string;
  description?: string;
  tooltip?: string;
  iconPath?: ThemeIcon;
  command?: unknown;
  constructor(
    readonly label: string,
    readonly collapsibleState: number,
  ) {}
}

class MarkdownString {
  isTrusted: unknown;
  supportHtml = false;
  constructor(readonly value: string) {}
}

class TabInputText {
  constructor(readonly uri: Uri) {}
}
class TabInputCustom {
  constructor(readonly uri: Uri) {}
}

export interface FakeStatusItem {
  readonly id: string;
  name: string;
  text: string;
  tooltip: MarkdownString | undefined;
  backgroundColor: ThemeColor | undefined;
  command: string | undefined;
  accessibilityInformation: unknown;
  visible: boolean;
}

export interface Notification {
  readonly level: 'error' | 'warning' | 'info';
  readonly message: string;
  readonly actions: readonly string[];
}

export interface ProgressRecord {
  readonly title: string;
  readonly reports: { message?: string; increment?: number }[];
  cancel(): void;
}

export interface FakeDocument {
  readonly uri: Uri;
  content: string;
  language: string;
  /** As VS Code names it. */
  readonly languageId: string;
}

class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
}

/** Inserts and replacements at positions (line, character), applied in order. */
class WorkspaceEdit {
  readonly edits: { uri: Uri; range: Range; text: string }[] = [];
  insert(uri: Uri, at: Position, text: string): void {
    this.edits.push({ uri, range: new Range(at, at), text });
  }
  replace(uri: Uri, range: Range, text: string): void {
    this.edits.push({ uri, range, text });
  }
}

/** The offset of `at` in `content` (lines split at \n), clamped to the content as VS Code clamps positions. */
function offsetOf(content: string, at: Position): number {
  const lines = content.split('\n');
  const line = Math.min(at.line, lines.length - 1);
  let offset = 0;
  for (let i = 0; i < line; i++) offset += lines[i]!.length + 1;
  return offset + Math.min(at.character, lines[line]!.length);
}

/** A document's `lineCount` and `lineAt(n).range`, read from its content as it is now. */
function documentLines(doc: { content: string }) {
  return {
    get lineCount() {
      return doc.content.split('\n').length;
    },
    lineAt(line: number) {
      const text = doc.content.split('\n')[line] ?? '';
      return { text, range: new Range(new Position(line, 0), new Position(line, text.length)) };
    },
  };
}

/**
 * The `memfs:` scheme: files held in memory, read through `workspace.fs` the way a remote or virtual workspace is
 * (whole-file reads only, as in VS Code's API). Reads take `readDelayMs` each, so that reads in flight overlap when
 * the extension starts several at once; `inFlight` counts the reads started and not yet answered.
 */
export interface MemFs {
  /** By path (`/folder/a.wav`); a folder exists when a file is under it. */
  readonly files: Map<string, Uint8Array>;
  readDelayMs: number;
  inFlight: number;
  peakInFlight: number;
  /** Paths in the order their reads started. */
  readonly reads: string[];
  /** Called when a read starts (before its bytes are copied out); the read waits for it. */
  onRead: ((path: string) => void | Promise<void>) | undefined;
}

export interface FakeVscode {
  /** The module object handed to the extension as `vscode`. */
  readonly api: Record<string, unknown>;
  readonly statusItems: FakeStatusItem[];
  readonly notifications: Notification[];
  readonly progress: ProgressRecord[];
  readonly documents: FakeDocument[];
  /** URIs read whole through `workspace.fs.readFile` (remote files). */
  readonly fsReads: string[];
  readonly memfs: MemFs;
  readonly log: string[];
  readonly webviewMessages: unknown[];
  /** Context keys set with `setContext` (for `when` clauses). */
  readonly contexts: Map<string, unknown>;
  /** Diff editors opened (`vscode.diff`), each side's text read as VS Code would (a content provider, or the file). */
  readonly diffs: { left: string; right: string; title: string; leftText: string | undefined; rightText: string | undefined }[];
  /** Answers `showOpenDialog` (default: cancelled). */
  answerOpenDialog: ((options: { defaultUri?: Uri; title?: string }) => Uri[] | undefined) | undefined;
  /** Tree data providers by view id, and webview panel serializers by view type, as the extension registered them. */
  readonly treeProviders: Map<string, unknown>;
  readonly panelSerializers: Map<string, unknown>;
  /** Options of every save dialog the extension opened. */
  readonly saveDialogs: { defaultUri?: Uri; title?: string }[];
  /** What the user picks in a save dialog (default: cancels it). */
  answerSaveDialog: ((options: { defaultUri?: Uri }) => Uri | undefined) | undefined;
  /** Every quick pick the extension showed: its title and its items' labels. */
  readonly quickPicks: { title?: string; labels: string[] }[];
  /** What the user picks in a quick pick (default: the first item, as Enter does; for `canPickMany`, every item). */
  answerQuickPick: ((title: string | undefined, labels: readonly string[]) => string | string[] | undefined) | undefined;
  /** Documents shown in an editor (`showTextDocument`), with the options they were shown with. */
  readonly shown: { uri: Uri; preserveFocus?: boolean; preview?: boolean }[];
  /** What the user clicks in a notification (default: dismisses it). */
  answerMessage: ((message: string, actions: readonly string[]) => string | undefined) | undefined;
  /** Called on each progress report; may cancel. */
  onProgressReport: ((record: ProgressRecord, report: { message?: string; increment?: number }) => void) | undefined;
  /** What the extension wrote to the clipboard last (`env.clipboard`). */
  clipboard: string;
  /** Changes user settings and fires onDidChangeConfiguration. */
  setSettings(values: Record<string, unknown>, level?: 'user' | 'workspace'): void;
  executeCommand<T = unknown>(id: string, ...args: unknown[]): Promise<T>;
}

export function createFakeVscode(userSettings: Record<string, unknown> = {}, workspaceSettings: Record<string, unknown> = {}): FakeVscode {
  const user = { ...userSettings };
  const workspace = { ...workspaceSettings };
  const commands = new Map<string, (...args: unknown[]) => unknown>();
  const contentProviders = new Map<string, { provideTextDocumentContent(uri: Uri): string | undefined }>();
  const configListeners = new Set<(e: { affectsConfiguration(key: string): boolean }) => void>();
  let documentCount = 0;

  const fake: FakeVscode = {
    api: {},
    statusItems: [],
    notifications: [],
    progress: [],
    documents: [],
    fsReads: [],
    memfs: { files: new Map(), readDelayMs: 10, inFlight: 0, peakInFlight: 0, reads: [], onRead: undefined },
    log: [],
    webviewMessages: [],
    contexts: new Map(),
    diffs: [],
    answerOpenDialog: undefined,
    treeProviders: new Map(),
    panelSerializers: new Map(),
    saveDialogs: [],
    answerSaveDialog: undefined,
    quickPicks: [],
    answerQuickPick: undefined,
    shown: [],
    answerMessage: undefined,
    onProgressReport: undefined,
    clipboard: '',
    setSettings(values, level = 'user') {
      Object.assign(level === 'user' ? user : workspace, values);
      const keys = Object.keys(values);
      for (const l of configListeners) l({ affectsConfiguration: (key) => keys.some((k) => k === key || k.startsWith(key + '.')) });
    },
    async executeCommand<T>(id: string, ...args: unknown[]): Promise<T> {
      // VS Code's own command for `when` clause context keys.
      if (id === 'setContext') return fake.contexts.set(String(args[0]), args[1]) as T;
      if (id === 'vscode.diff') {
        const [left, right, title] = args as [Uri, Uri, string];
        const text = async (uri: Uri) => (uri.scheme === 'file' ? readFile(uri.path, 'utf8') : contentProviders.get(uri.scheme)?.provideTextDocumentContent(uri));
        fake.diffs.push({ left: left.toString(), right: right.toString(), title, leftText: await text(left), rightText: await text(right) });
        return undefined as T;
      }
      const fn = commands.get(id);
      if (!fn) throw new Error(`command ${id} not found`);
      return (await fn(...args)) as T;
    },
  };

  const notify = (level: Notification['level']) => (message: string, ...actions: string[]) => {
    fake.notifications.push({ level, message, actions });
    return Promise.resolve(fake.answerMessage?.(message, actions.filter((a) => typeof a === 'string')));
  };

  const logChannel = (level: string) => (...args: unknown[]) => {
    fake.log.push(`[${level}] ${args.map(String).join(' ')}`);
  };

  Object.assign(fake.api, {
    Uri,
    Disposable,
    ThemeColor,
    MarkdownString,
    EventEmitter,
    ThemeIcon,
    TreeItem,
    TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
    ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
    TabInputText,
    TabInputCustom,
    Position,
    Range,
    WorkspaceEdit,
    StatusBarAlignment: { Left: 1, Right: 2 },
    FileType: { Unknown: 0, File: 1, Directory: 2, SymbolicLink: 64 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    ViewColumn: { Active: -1, Beside: -2, One: 1 },
    /** The VS Code version the manifest's engine names. */
    version: '1.100.0',
    UIKind: { Desktop: 1, Web: 2 },
    // No installation unless a test gives one (`appRoot`: where the extension looks for VS Code's own modules).
    env: {
      appRoot: undefined as string | undefined,
      uiKind: 1,
      remoteName: undefined as string | undefined,
      clipboard: {
        writeText: async (text: string) => void (fake.clipboard = text),
        readText: async () => fake.clipboard,
      },
    },
    window: {
      activeTextEditor: undefined,
      onDidChangeActiveTextEditor: () => new Disposable(() => undefined),
      tabGroups: { activeTabGroup: { activeTab: undefined }, all: [], close: async () => true },
      createOutputChannel: () => ({
        info: logChannel('info'),
        warn: logChannel('warn'),
        error: logChannel('error'),
        debug: logChannel('debug'),
        trace: logChannel('trace'),
        appendLine: logChannel('line'),
        show: () => undefined,
        dispose: () => undefined,
      }),
      createStatusBarItem: (id: string) => {
        const item: FakeStatusItem & { show(): void; hide(): void; dispose(): void } = {
          id,
          name: '',
          text: '',
          tooltip: undefined,
          backgroundColor: undefined,
          command: undefined,
          accessibilityInformation: undefined,
          visible: false,
          show() {
            item.visible = true;
          },
          hide() {
            item.visible = false;
          },
          dispose() {
            item.visible = false;
          },
        };
        fake.statusItems.push(item);
        return item;
      },
      registerTreeDataProvider: (id: string, provider: unknown) => {
        fake.treeProviders.set(id, provider);
        return new Disposable(() => fake.treeProviders.delete(id));
      },
      registerWebviewPanelSerializer: (viewType: string, serializer: unknown) => {
        fake.panelSerializers.set(viewType, serializer);
        return new Disposable(() => fake.panelSerializers.delete(viewType));
      },
      showErrorMessage: notify('error'),
      showWarningMessage: notify('warning'),
      showInformationMessage: notify('info'),
      showOpenDialog: async (options: { defaultUri?: Uri; title?: string }) => fake.answerOpenDialog?.(options),
      showSaveDialog: async (options: { defaultUri?: Uri; title?: string }) => {
        fake.saveDialogs.push(options);
        return fake.answerSaveDialog?.(options);
      },
      showTextDocument: async (doc: Uri | FakeDocument, options: { preserveFocus?: boolean; preview?: boolean } = {}) => {
        fake.shown.push({ uri: doc instanceof Uri ? doc : doc.uri, ...options });
        return doc;
      },
      showQuickPick: async <T extends { label: string }>(items: readonly T[], options: { title?: string; canPickMany?: boolean } = {}) => {
        const labels = items.map((i) => i.label);
        fake.quickPicks.push({ title: options.title, labels });
        const answer = fake.answerQuickPick ? fake.answerQuickPick(options.title, labels) : options.canPickMany ? labels : labels[0];
        const picked = items.filter((i) => (Array.isArray(answer) ? answer.includes(i.label) : answer === i.label));
        return options.canPickMany ? picked : picked[0];
      },
      withProgress: async (options: { title?: string }, task: (progress: unknown, token: unknown) => Promise<unknown>) => {
        const listeners = new Set<() => void>();
        let cancelled = false;
        const record: ProgressRecord = {
          title: options.title ?? '',
          reports: [],
          cancel() {
            if (cancelled) return;
            cancelled = true;
            for (const l of listeners) l();
          },
        };
        fake.progress.push(record);
        const token = {
          get isCancellationRequested() {
            return cancelled;
          },
          onCancellationRequested: (l: () => void) => {
            listeners.add(l);
            return new Disposable(() => listeners.delete(l));
          },
        };
        const progress = {
          report: (r: { message?: string; increment?: number }) => {
            record.reports.push(r);
            fake.onProgressReport?.(record, r);
          },
        };
        return task(progress, token);
      },
      createWebviewPanel: () => {
        const messageListeners = new Set<(m: unknown) => void>();
        const panel = {
          visible: true,
          iconPath: undefined,
          webview: {
            html: '',
            cspSource: 'vscode-webview://fake',
            asWebviewUri: (u: Uri) => Uri.from({ scheme: 'vscode-webview', path: u.path }),
            postMessage: async (m: unknown) => {
              fake.webviewMessages.push(m);
              return true;
            },
            onDidReceiveMessage: (l: (m: unknown) => void, _this?: unknown, disposables?: Disposable[]) => {
              messageListeners.add(l);
              const d = new Disposable(() => messageListeners.delete(l));
              disposables?.push(d);
              return d;
            },
          },
          onDidDispose: (_l: () => void, _this?: unknown, disposables?: Disposable[]) => {
            const d = new Disposable();
            disposables?.push(d);
            return d;
          },
          reveal: () => undefined,
          dispose: () => undefined,
          /** Test hook: a message from the page. */
          receive: (m: unknown) => {
            for (const l of messageListeners) l(m);
          },
        };
        (fake as unknown as { panel: unknown }).panel = panel;
        return panel;
      },
    },
    workspace: {
      workspaceFolders: undefined,
      getWorkspaceFolder: () => undefined,
      asRelativePath: (u: Uri) => u.path,
      registerTextDocumentContentProvider: (scheme: string, provider: { provideTextDocumentContent(uri: Uri): string | undefined }) => {
        contentProviders.set(scheme, provider);
        return new Disposable(() => contentProviders.delete(scheme));
      },
      getConfiguration: () => ({
        get: (key: string) => workspace[key] ?? user[key],
        inspect: (key: string) => ({ key, defaultValue: undefined, globalValue: user[key], workspaceValue: workspace[key] }),
        // Only the user's settings (ConfigurationTarget.Global) are written; undefined removes the key.
        update: async (key: string, value: unknown) => {
          fake.setSettings({ [key]: value });
          if (value === undefined) delete user[key];
        },
      }),
      onDidChangeConfiguration: (l: (e: { affectsConfiguration(key: string): boolean }) => void) => {
        configListeners.add(l);
        return new Disposable(() => configListeners.delete(l));
      },
      // A document with content and language, or one at a URI (untitled: empty; a file: its text), its language from the extension as VS Code guesses.
      openTextDocument: async (options: { content: string; language: string } | Uri) => {
        const untitled = options instanceof Uri;
        const uri = untitled ? options : Uri.from({ scheme: 'untitled', path: `Untitled-${++documentCount}` });
        const language = untitled ? (path.extname(uri.path) === '.md' ? 'markdown' : 'plaintext') : options.language;
        const content = !untitled ? options.content : uri.scheme === 'untitled' ? '' : await readFile(uri.path, 'utf8');
        const doc: FakeDocument = Object.defineProperties({ uri, content, language, get languageId() { return this.language; } }, Object.getOwnPropertyDescriptors(documentLines({ get content() { return doc.content; } })));
        fake.documents.push(doc);
        return doc;
      },
      get textDocuments() {
        return fake.documents;
      },
      applyEdit: async (edit: WorkspaceEdit) => {
        for (const { uri, range, text } of edit.edits) {
          const doc = fake.documents.find((d) => d.uri.toString() === uri.toString());
          if (!doc) return false;
          doc.content = doc.content.slice(0, offsetOf(doc.content, range.start)) + text + doc.content.slice(offsetOf(doc.content, range.end));
        }
        return true;
      },
      fs: {
        stat: async (u: Uri) => {
          if (u.scheme === 'memfs') return memStat(fake.memfs, u);
          const info = await stat(u.path);
          return { size: info.size, type: info.isDirectory() ? 2 : 1 };
        },
        readDirectory: async (u: Uri) => {
          if (u.scheme === 'memfs') return memReadDirectory(fake.memfs, u);
          return (await readdir(u.path, { withFileTypes: true })).map((e) => [e.name, e.isDirectory() ? 2 : 1] as const);
        },
        readFile: async (u: Uri) => {
          fake.fsReads.push(u.toString());
          if (u.scheme === 'memfs') return memReadFile(fake.memfs, u);
          return new Uint8Array(await readFile(u.path));
        },
        writeFile: async (u: Uri, bytes: Uint8Array) => (u.scheme === 'memfs' ? void fake.memfs.files.set(u.path, new Uint8Array(bytes)) : writeFile(u.path, bytes)),
        rename: async (from: Uri, to: Uri) => (from.scheme === 'memfs' ? memRename(fake.memfs, from, to) : rename(from.path, to.path)),
        delete: async (u: Uri) => (u.scheme === 'memfs' ? void fake.memfs.files.delete(u.path) : rm(u.path)),
      },
    },
    commands: {
      registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
        commands.set(id, fn);
        return new Disposable(() => commands.delete(id));
      },
      executeCommand: (id: string, ...args: unknown[]) => fake.executeCommand(id, ...args),
    },
    languages: {
      getLanguages: async () => ['plaintext', 'markdown', 'json'],
      setTextDocumentLanguage: async (doc: FakeDocument, language: string) => {
        doc.language = language;
        return doc;
      },
    },
  });
  return fake;
}

/** VS Code's FileSystemError.FileNotFound, as a provider throws it. */
function notFound(u: Uri): Error {
  return Object.assign(new Error(`${u.toString()} (FileNotFound)`), { code: 'FileNotFound', name: 'EntryNotFound (FileSystemError)' });
}

function memStat(fs: MemFs, u: Uri): { type: number; size: number; ctime: number; mtime: number } {
  const bytes = fs.files.get(u.path);
  if (bytes) return { type: 1, size: bytes.length, ctime: 0, mtime: 0 };
  if ([...fs.files.keys()].some((p) => p.startsWith(u.path.replace(/\/?$/, '/')))) return { type: 2, size: 0, ctime: 0, mtime: 0 };
  throw notFound(u);
}

function memReadDirectory(fs: MemFs, u: Uri): [string, number][] {
  const prefix = u.path.replace(/\/?$/, '/');
  const names = new Map<string, number>();
  for (const p of fs.files.keys()) {
    if (!p.startsWith(prefix)) continue;
    const [first, ...rest] = p.slice(prefix.length).split('/');
    names.set(first!, rest.length > 0 ? 2 : 1);
  }
  return [...names];
}

function memRename(fs: MemFs, from: Uri, to: Uri): void {
  const bytes = fs.files.get(from.path);
  if (!bytes) throw notFound(from);
  fs.files.delete(from.path);
  fs.files.set(to.path, bytes);
}

async function memReadFile(fs: MemFs, u: Uri): Promise<Uint8Array> {
  fs.reads.push(u.path);
  fs.peakInFlight = Math.max(fs.peakInFlight, ++fs.inFlight);
  try {
    await fs.onRead?.(u.path);
    await new Promise((resolve) => setTimeout(resolve, fs.readDelayMs));
    const bytes = fs.files.get(u.path);
    if (!bytes) throw notFound(u);
    return new Uint8Array(bytes); // a copy, as a read through a provider is
  } finally {
    fs.inFlight--;
  }
}

export interface LoadedExtension {
  readonly activate: (context: unknown) => { activation: { bundleEvaluationMs: number; activateMs: number }; state(): { kind: string; statusText: string } };
  readonly deactivate: () => Promise<void>;
  /** Modules the bundle asked Node for while loading and activating (built-ins and anything else). */
  readonly requested: string[];
  readonly requireMs: number;
}

/**
 * Loads `bundlePath` (a CommonJS file) with `vscode` resolved to `fake`.
 * Every module that files in the bundle's folder require is recorded (the
 * entry and the lazily required dist/extension-core.cjs), so tests can check
 * what activation pulls in and that nothing outside Node's built-ins is needed.
 */
export function loadBundle(bundlePath: string, fake: FakeVscode): LoadedExtension {
  const requested: string[] = [];
  const mod = Module as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown };
  const original = mod._load;
  const bundle = path.resolve(bundlePath);
  const dir = path.dirname(bundle);
  mod._load = function (request: string, parent: unknown, isMain: boolean) {
    const from = (parent as { filename?: string } | null)?.filename;
    if (from && path.dirname(from) === dir) {
      requested.push(request);
      if (request === 'vscode') return fake.api;
    }
    return original.call(this, request, parent, isMain);
  };
  const require = createRequire(import.meta.url);
  for (const key of Object.keys(require.cache)) if (path.dirname(key) === dir) delete require.cache[key];
  const start = performance.now();
  const exports = require(bundle) as Pick<LoadedExtension, 'activate' | 'deactivate'>;
  const requireMs = performance.now() - start;
  // The hook stays: lazy modules are required later, on first use.
  return { activate: exports.activate, deactivate: exports.deactivate, requested, requireMs };
}

/** A Memento kept in memory (`ExtensionContext.globalState`). */
export interface FakeMemento {
  readonly values: Map<string, unknown>;
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Promise<void>;
}

/** A minimal ExtensionContext. */
export function fakeContext(extensionPath: string): { subscriptions: { dispose(): void }[]; extensionUri: Uri; extensionPath: string; globalState: FakeMemento; extension: { packageJSON: unknown } } {
  const values = new Map<string, unknown>();
  const globalState: FakeMemento = {
    values,
    get: <T>(key: string) => values.get(key) as T | undefined,
    update: async (key, value) => void values.set(key, value),
  };
  const packageJSON: unknown = JSON.parse(readFileSync(path.join(extensionPath, 'package.json'), 'utf8'));
  return { subscriptions: [], extensionUri: Uri.file(extensionPath), extensionPath, globalState, extension: { packageJSON } };
}

/** Disposes what the extension registered (as VS Code does on deactivation). */
export function disposeContext(context: { subscriptions: { dispose(): void }[] }): void {
  for (const d of context.subscriptions.splice(0)) d.dispose();
}

/** What a stand-in for VS Code's proxy resolver answers (a system or PAC proxy URL), and the URLs it was asked about. */
export interface FakeEditorResolver {
  answer: string | undefined;
  readonly asked: string[];
}

/**
 * Installs a stand-in for VS Code's own copy of @vscode/proxy-agent in an installation at `appRoot` (what the fake's
 * `env.appRoot` then names), where VS Code's extension host leaves its proxy resolver; returns its state.
 */
export async function installEditorResolver(appRoot: string): Promise<FakeEditorResolver> {
  const agentDir = path.join(appRoot, 'node_modules', '@vscode', 'proxy-agent');
  await mkdir(agentDir, { recursive: true });
  await writeFile(path.join(agentDir, 'index.js'), 'exports.answer = undefined; exports.asked = []; exports.resolveProxyURL = async (url) => { exports.asked.push(url); return exports.answer; };\n');
  return createRequire(import.meta.url)(agentDir) as FakeEditorResolver;
}
