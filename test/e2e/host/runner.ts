/**
 * What every extension-host test module shares: the real `vscode` API (VS Code's interceptor answers require(), and
 * this project is ESM, hence createRequire), a line writer and the loop that runs a list of tests.
 * Each line goes to the file named by BLINDBOX_E2E_HOST_RESULTS (read back by the harness) and to the console; the
 * last one is `N passed, N failed`.
 */
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as VSCode from 'vscode';

export const vscode = createRequire(import.meta.url)('vscode') as typeof VSCode;

/** The extension's id as `publisher.name` (package.json). */
export const EXTENSION_ID = 'blindbox.blindbox-vscode';

export interface HostTest {
  readonly name: string;
  /** Returns a reason to skip, or nothing. */
  readonly skip?: () => string | undefined;
  readonly fn: () => Promise<void> | void;
}

export function say(line: string): void {
  console.log(`[e2e-host] ${line}`);
  const file = process.env.BLINDBOX_E2E_HOST_RESULTS;
  if (file) appendFileSync(file, line + '\n');
}

/** Runs `tests` in order; rejects (the workbench then exits 1) when any failed. */
export async function runHostTests(tests: readonly HostTest[]): Promise<void> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const t of tests) {
    const reason = t.skip?.();
    if (reason) {
      skipped++;
      say(`skip - ${t.name} (${reason})`);
      continue;
    }
    try {
      await t.fn();
      passed++;
      say(`ok - ${t.name}`);
    } catch (err) {
      failed++;
      say(`not ok - ${t.name}: ${String((err as Error)?.stack ?? err).replace(/\n/g, '\n#   ')}`);
    }
  }
  say(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (failed > 0) throw new Error(`${failed} extension-host test(s) failed`);
}
