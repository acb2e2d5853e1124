/**
 * Reading the `blindbox.*` settings from VS Code. Only raw values come out of
 * here; settings.ts validates them. Trust settings are read at user level
 * only (they are application-scoped), so neither a cloned repository's
 * .vscode/settings.json nor a remote machine's settings can redirect audio or
 * add a trusted root.
 */
import * as vscode from 'vscode';
import { SETTING_KEYS, type SettingName } from './ids.js';
import { TRUST_SETTINGS, userLevelValue } from './setting-scope.js';

/** The raw values, keyed like `RawSettings`. */
export type RawValues = { [K in SettingName]?: unknown };

export class Config {
  /** Reads every setting; `ignored` lists trust settings whose workspace value was disregarded. */
  read(): { readonly raw: RawValues; readonly ignored: readonly string[] } {
    const section = vscode.workspace.getConfiguration();
    const raw: RawValues = {};
    const ignored: string[] = [];
    for (const name of Object.keys(SETTING_KEYS) as SettingName[]) {
      const key = SETTING_KEYS[name];
      if (TRUST_SETTINGS.includes(name)) {
        const { value, ignoredWorkspaceValue } = userLevelValue(section.inspect(key));
        raw[name] = value;
        if (ignoredWorkspaceValue) ignored.push(key);
      } else {
        raw[name] = section.get(key);
      }
    }
    return { raw, ignored };
  }

  /** The raw server URL, for the status bar before anything heavy is loaded. */
  serverUrl(): string | undefined {
    const { value } = userLevelValue(vscode.workspace.getConfiguration().inspect(SETTING_KEYS.serverUrl));
    return typeof value === 'string' && value.trim() ? value.trim() : undefined;
  }

  /** Whether a change touches what is trusted or where audio goes. */
  affectsTrust(e: vscode.ConfigurationChangeEvent): boolean {
    return TRUST_SETTINGS.some((name) => e.affectsConfiguration(SETTING_KEYS[name]));
  }
}
