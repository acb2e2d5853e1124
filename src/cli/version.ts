/** Who this CLI is, for `--version` and the reports users paste into tickets. */
import { readFileSync } from 'node:fs';

const PACKAGE_NAME = 'blindbox-vscode';

/**
 * The version in the package manifest (read only when asked for): the nearest `package.json` of this package above
 * this module, wherever it runs from (compiled, or a chunk of the CLI bundle, which sits deeper).
 */
export function version(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    const manifest = readManifest(new URL('package.json', dir));
    if (manifest?.name === PACKAGE_NAME && typeof manifest.version === 'string') return manifest.version;
    if (dir.pathname === '/') return 'unknown';
  }
}

function readManifest(file: URL): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    return undefined;
  }
}

/** `blindbox <version> (Node <version>, <platform>-<arch>)`. */
export function clientDescription(): string {
  return `blindbox ${version()} (Node ${process.version}, ${process.platform}-${process.arch})`;
}
