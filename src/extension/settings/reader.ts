/**
 * The settings reader: the one place that reads the `blindbox.*` settings from VS Code, and the owner of their change
 * event (as rust-analyzer's `Config`). Trust settings are read at user level only (they are application-scoped), so
 * neither a cloned repository's .vscode/settings.json nor a remote machine's settings can redirect audio or add a
 * trusted root; a workspace value is reported as ignored once per setting. Validation is model.ts's (in the lazily
 * loaded half); this module hands it the raw values and remembers what it handed, so that a change event that leaves
 * them equal (or one fired while a setup is still writing) attests nothing again.
 */
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { SETTING_KEYS, type SettingName } from '../ids.js';
import { PROXY_SETTING_KEYS, proxyEnvironment, TRUST_SETTINGS, userLevelValue, type ProxySettingName } from './scope.js';
import type { ExtensionSettings, RawSettings } from './model.js';

/** Validates raw values (model.ts `parseSettings`, loaded on first use). Throws `SettingsError`. */
export type ParseSettings = (raw: RawSettings, home: string) => ExtensionSettings;

/** How long a burst of setting changes is let settle before the trust settings are compared again. */
const DEBOUNCE_MS = 300;

/** Every key whose change may change where audio goes: the trust settings and VS Code's proxy settings. */
const WATCHED_KEYS = [...TRUST_SETTINGS.map((name) => SETTING_KEYS[name]), ...Object.values(PROXY_SETTING_KEYS)];

export class SettingsReader implements vscode.Disposable {
  readonly #log: Pick<vscode.LogOutputChannel, 'warn'>;
  readonly #parser: () => Promise<ParseSettings>;
  readonly #changed = new vscode.EventEmitter<void>();
  readonly #listener: vscode.Disposable;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The raw settings last validated: a change event that leaves them equal is not a change. */
  #lastRaw: string | undefined;
  /** Setups writing settings now (`whileWriting`). */
  #writing = 0;
  /** Trust settings whose workspace value was already reported as ignored (once each). */
  readonly #warned = new Set<string>();

  /**
   * Fires, debounced, when a trust setting (where audio goes, what is trusted) or a proxy setting differs from what was
   * last validated; never while a setup is writing several settings.
   */
  readonly onDidChange = this.#changed.event;

  constructor(log: Pick<vscode.LogOutputChannel, 'warn'>, parser: () => Promise<ParseSettings>) {
    this.#log = log;
    this.#parser = parser;
    this.#listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!WATCHED_KEYS.some((key) => e.affectsConfiguration(key)) || this.#writing > 0) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        if (JSON.stringify(this.#raw()) !== this.#lastRaw) this.#changed.fire();
      }, DEBOUNCE_MS);
    });
  }

  /** The validated settings. Throws `SettingsError`. */
  async read(): Promise<ExtensionSettings> {
    const parse = await this.#parser();
    const raw = this.#raw();
    this.#lastRaw = JSON.stringify(raw);
    return parse(raw, homedir());
  }

  /** The server URL as the user's settings hold it (not validated), or undefined: cheap, no core loaded. */
  serverUrl(): string | undefined {
    const { value } = userLevelValue(vscode.workspace.getConfiguration().inspect(SETTING_KEYS.serverUrl));
    return typeof value === 'string' && value.trim() ? value.trim() : undefined;
  }

  /** The raw values, for what the settings name before they are validated (*Configure Server…*'s policy offer). */
  raw(): RawSettings {
    return this.#raw(false);
  }

  /** Runs `write` (several settings); no change event fires for its half-written states, nor for the whole. */
  async whileWriting(write: () => Promise<void>): Promise<void> {
    this.#writing++;
    try {
      await write();
    } finally {
      this.#writing--;
    }
    clearTimeout(this.#timer);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#listener.dispose();
    this.#changed.dispose();
  }

  /**
   * Every setting, VS Code's proxy settings and the extension host's proxy variables; a trust setting's workspace value
   * is ignored, and (`warn`) the log says so, once per setting. The proxy settings are read as VS Code's own extension
   * host reads them (`get`: they are application- or machine-scoped, so a workspace value never counts).
   */
  #raw(warn = true): RawSettings {
    const section = vscode.workspace.getConfiguration();
    const raw: { -readonly [K in keyof RawSettings]: RawSettings[K] } = { environment: proxyEnvironment(process.env) };
    for (const name of Object.keys(PROXY_SETTING_KEYS) as ProxySettingName[]) raw[name] = section.get(PROXY_SETTING_KEYS[name]);
    for (const name of Object.keys(SETTING_KEYS) as SettingName[]) {
      const key = SETTING_KEYS[name];
      if (!TRUST_SETTINGS.includes(name)) {
        raw[name] = section.get(key);
        continue;
      }
      const { value, ignoredWorkspaceValue } = userLevelValue(section.inspect(key));
      raw[name] = value;
      if (warn && ignoredWorkspaceValue && !this.#warned.has(key)) {
        this.#warned.add(key);
        this.#log.warn(`${key}: the workspace's value is ignored; only your user settings decide where audio goes and what is trusted`);
      }
    }
    return raw;
  }
}
