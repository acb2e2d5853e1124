/** Who this CLI is, for `--version` and the reports users paste into tickets. */
import { readFileSync } from 'node:fs';

/** The version in the package manifest (read only when asked for). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** `blindbox <version> (Node <version>, <platform>-<arch>)`. */
export function clientDescription(): string {
  return `blindbox ${version()} (Node ${process.version}, ${process.platform}-${process.arch})`;
}
