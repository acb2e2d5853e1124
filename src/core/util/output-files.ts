/**
 * Writing the files a run produces (transcripts, receipts) without ever destroying what the user has: an output is
 * never one of the run's inputs (compared by identity, device and inode, not by spelling), never another output of
 * the same run, and never written through a symbolic link or into a special file. Each file is written to a new
 * temporary file in its folder (created exclusively, so nothing planted there is followed) and renamed over the
 * target: a reader or a crash sees the old file or the whole new one.
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { shownPath } from './regular-file.js';

/** A file a run will write, and what it is ("the receipt of speech.wav"), for the message that refuses it. */
export interface PlannedOutput {
  readonly file: string;
  readonly what: string;
}

/**
 * Refuses, before anything is read from the network or sent, a plan in which two outputs are one file, an output is
 * one of `inputs` (the same file, a hard link to it, or a link to it), or an output already exists as a symbolic link
 * or as anything but a regular file. Throws `InputError` `UNSAFE_OUTPUT_PATH` naming the clash.
 */
export async function checkOutputPlan(outputs: readonly PlannedOutput[], inputs: readonly string[]): Promise<void> {
  const inputIds = new Map<string, string>();
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info) inputIds.set(identity(info), input);
  }
  const planned = new Map<string, PlannedOutput>();
  for (const output of outputs) {
    const key = await canonical(output.file);
    const other = planned.get(key);
    if (other) throw unsafe(`${other.what} and ${output.what} would both be written to ${shownPath(output.file)}`);
    planned.set(key, output);
    const existing = await lstat(output.file).catch(() => undefined);
    if (!existing) continue;
    if (existing.isSymbolicLink()) throw unsafe(`${output.what} would be written to ${shownPath(output.file)}, which is a symbolic link: not followed`);
    if (!existing.isFile()) throw unsafe(`${output.what} would be written to ${shownPath(output.file)}, which is not a regular file`);
    const input = inputIds.get(identity(existing));
    if (input !== undefined) throw unsafe(`${output.what} would be written to ${shownPath(output.file)}, which is the input ${shownPath(input)}`);
  }
}

/**
 * Writes `text` to `file` through a temporary file created exclusively in its folder and a rename. Refuses (with
 * `InputError` `UNSAFE_OUTPUT_PATH`) a `file` that is a symbolic link or not a regular file; the temporary file never
 * outlives a failure. The file is private to its owner (mode 0600): a transcript is what the audio said.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const existing = await lstat(file).catch(() => undefined);
  if (existing?.isSymbolicLink()) throw unsafe(`${shownPath(file)} is a symbolic link: not followed, nothing written`);
  if (existing && !existing.isFile()) throw unsafe(`${shownPath(file)} is not a regular file: nothing written`);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx' is O_CREAT | O_EXCL: an existing name (a planted link included) is an error, never followed.
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // rename replaces the name itself: a link planted at `file` since the check is replaced, not followed.
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

function unsafe(message: string): InputError {
  return new InputError('UNSAFE_OUTPUT_PATH', message);
}

function identity(info: { dev: number; ino: number }): string {
  return `${info.dev}:${info.ino}`;
}

/** `file` with its folder's links resolved (its existing part): two spellings of one place compare equal. */
async function canonical(file: string): Promise<string> {
  const absolute = path.resolve(file);
  const dir = path.dirname(absolute);
  if (dir === absolute) return absolute;
  const real = await realpath(dir).catch(() => undefined);
  return path.join(real ?? (await canonical(dir)), path.basename(absolute));
}
