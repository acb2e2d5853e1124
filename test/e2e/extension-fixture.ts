/**
 * What the suites that test the BlindBox extension itself share: the packaged extension, its ids in the workbench,
 * the settings that trust the simulation server, the sentence spoken in speech.wav, and the waits on what it shows.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { CLI, type Enclave } from './enclave.js';
import { ROOT, requirePrerequisites, speak, wordErrorRate, type CodeServer, type Workbench } from './harness.js';

export const VSIX = process.env.BLINDBOX_E2E_VSIX ?? path.join(ROOT, 'dist/blindbox-vscode.vsix');

/** From package.json / src/extension/ids.ts. */
export const EXTENSION_ID = 'blindbox.blindbox-vscode';
export const STATUS_ITEM = `[id="${EXTENSION_ID}.blindbox.status"]`; // VS Code prefixes the item id with the extension id
export const TRANSCRIBE_MENU_ITEM = 'Transcribe with BlindBox';

/**
 * What flite says in speech.wav (voice slt), and how far the transcript may be from it: PocketSphinx got every word
 * of this sentence when this was written (with flite's default voice, kal, it got 7 of 9 words of another wrong).
 */
const SPOKEN = 'The weather was cold and windy, so we stayed inside and read books by the fire.';
const MAX_WORD_ERROR_RATE = 0.25;

/** Writes speech.wav (SPOKEN, by flite) into `folder`. */
export function speakSpeechWav(folder: string): void {
  speak(SPOKEN, path.join(folder, 'speech.wav'));
}

/** Asserts that `words` (a transcript of speech.wav) are within the word error rate bound of what was spoken. */
export function assertHeardSpoken(words: string): void {
  const wer = wordErrorRate(SPOKEN, words);
  console.log(`  transcript: ${JSON.stringify(words)} (word error rate ${wer.toFixed(2)} against ${JSON.stringify(SPOKEN)})`);
  assert.ok(wer <= MAX_WORD_ERROR_RATE, `word error rate ${wer.toFixed(2)} > ${MAX_WORD_ERROR_RATE}: ${JSON.stringify(words)}`);
}

/** Fails (never skips) without code-server, Chromium, the packaged .vsix or the built CLI. */
export function requireBuilt(): void {
  requirePrerequisites();
  if (!existsSync(VSIX)) throw new Error(`${path.relative(ROOT, VSIX)} is missing: run npm run package first`);
  if (!existsSync(CLI)) throw new Error(`${path.relative(ROOT, CLI)} is missing: run npm run build first`);
}

/** User settings that point the extension at `enclave`, trust its simulation root and pin its PCR0. */
export function trustedSettings(enclave: Enclave): Record<string, unknown> {
  return {
    'blindbox.serverUrl': enclave.url,
    'blindbox.trustedRoots': [enclave.rootPem],
    'blindbox.policy': { name: 'e2e', pcrs: { '0': enclave.pcr0 } },
  };
}

/** Waits for the status bar item to say SIMULATION (the extension attests at start-up); returns its text. */
export async function waitForSimulation(wb: Workbench, timeoutMs = 45_000): Promise<string> {
  const item = wb.page.locator(STATUS_ITEM);
  try {
    await item.filter({ hasText: 'SIMULATION' }).waitFor({ state: 'visible', timeout: timeoutMs });
  } catch (err) {
    await wb.screenshot(`${wb.server.label}-status-FAILED`);
    throw new Error(`status bar: ${JSON.stringify(await wb.statusBarItems())}; notifications: ${JSON.stringify(await wb.notifications())}`, { cause: err });
  }
  return (await item.textContent())!.replace(/\u00a0/g, ' ');
}

/** The first line of a streamed transcript document until its receipt verified (`blindbox.transcript.stream`, on by default). */
const PENDING_TRANSCRIPT = /^(> \*\*)?BlindBox: UNVERIFIED, receipt pending/;

/**
 * Waits for the active editor tab to be titled `title` (a transcript takes a while) and, as a streamed transcript's tab
 * shows at its first segment, for its document to be past *receipt pending*; fails with what is shown.
 */
export async function waitForEditorTitle(wb: Workbench, title: string, timeoutMs = 90_000): Promise<void> {
  const ready = async () => (await wb.activeEditorTitle()) === title && !PENDING_TRANSCRIPT.test(await wb.activeEditorText().catch(() => ''));
  const shown = await wb.pollFor(async () => ((await ready()) ? true : undefined), timeoutMs);
  if (!shown) {
    await wb.screenshot(`${wb.server.label}-${title}-FAILED`);
    assert.fail(`no editor titled ${title} (active: ${JSON.stringify(await wb.activeEditorTitle())}); notifications: ${JSON.stringify(await wb.notifications())}`);
  }
}

/**
 * The provenance header every text transcript starts with: the file, the server marked SIMULATION, the enclave module,
 * the PCR0 the policy pinned, when it was verified. Returns the rest (the words).
 */
export function assertProvenanceHeader(text: string, enclave: Enclave, audioName = 'speech.wav'): string {
  const [header, ...body] = text.split('\n\n');
  const escaped = audioName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(header!, new RegExp(`^Transcript of ${escaped}\\nServer: .* \\(SIMULATION — not confidential\\)\\nEnclave module: .+\\nPCR0: [0-9a-f]{96}\\nVerified: `));
  assert.ok(header!.includes(`PCR0: ${enclave.pcr0}`), header);
  return body.join(' ').trim();
}

/** Ends what a suite started, last first: the window, code-server, the reference server, the temporary folder. */
export async function endSuite(parts: { wb?: Workbench; server?: CodeServer; enclave?: Enclave; dir?: string }): Promise<void> {
  await parts.wb?.close();
  await parts.server?.stop();
  await parts.enclave?.proc.stop();
  if (parts.dir) await rm(parts.dir, { recursive: true, force: true });
}
