/**
 * Files written beside the audio (a transcript, a receipt): refused when one would land on the audio itself, on a link
 * or on a special file, and written whole or not at all, in the local or in a remote workspace's file system.
 */
import * as vscode from 'vscode';
import { InputError } from '../../core/errors.js';
import { oneLine } from '../../shared/text.js';
import { baseName } from '../common/audio.js';
import type { FileServices } from '../services.js';

/**
 * Writes `text` to `target` via a temporary sibling renamed over it: a reader (or a crash) sees the old file or the
 * whole new one. A local file goes through the core's writer (never through a link, never into a special file); in
 * another file system, a target that is a link or not a file is refused the same way. The caller has asked before
 * replacing an existing file; the temporary file never outlives a failure.
 */
export async function writeAtomically(files: FileServices, target: vscode.Uri, text: string): Promise<void> {
  if (target.scheme === 'file') return files.writeFileAtomic(target.fsPath, text);
  const existing = await Promise.resolve(vscode.workspace.fs.stat(target)).catch(() => undefined);
  if (existing && (existing.type & vscode.FileType.SymbolicLink || !(existing.type & vscode.FileType.File))) {
    throw new InputError('UNSAFE_OUTPUT_PATH', `${JSON.stringify(oneLine(target.toString(true)))} is a symbolic link or not a regular file: nothing written`);
  }
  const name = target.path.slice(target.path.lastIndexOf('/') + 1);
  const temporary = vscode.Uri.joinPath(target, '..', `.${name}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
  await vscode.workspace.fs.writeFile(temporary, new TextEncoder().encode(text));
  try {
    await vscode.workspace.fs.rename(temporary, target, { overwrite: true });
  } catch (err) {
    await Promise.resolve(vscode.workspace.fs.delete(temporary)).catch(() => undefined);
    throw err;
  }
}

/**
 * Refuses (`InputError` `UNSAFE_OUTPUT_PATH`) files to be written beside `audio` when one is the audio itself (the
 * same file under another name), two are one, or one is a link or special file. Local files only: another file
 * system has no identities to compare, and `writeAtomically` refuses its links.
 */
export async function checkBesideAudio(files: FileServices, audio: vscode.Uri, targets: readonly vscode.Uri[]): Promise<void> {
  if (audio.scheme !== 'file') return;
  await files.checkOutputPlan(targets.filter((t) => t.scheme === 'file').map((t) => ({ file: t.fsPath, what: baseName(t.path) })), [audio.fsPath]);
}

/** Whether anything is at `uri` (in the workspace's file system, remote or local). */
export async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
