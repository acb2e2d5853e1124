/**
 * Audio the user chose, checked before anything is sent anywhere: a regular, non-empty file within the upload limit,
 * whose first bytes are a format the server decodes (the server's own detection, `protocol/audio-format.ts`). Every
 * refusal is an `InputError` raised before any attestation round trip, so a typo or a video file costs nothing and
 * no byte of it leaves the machine.
 */
import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { classifyAudio, type ReadAt } from '../protocol/audio-format.js';
import { MAX_UPLOAD_BYTES } from '../protocol/limits.js';
import { InputError } from './errors.js';
import { openRegularFile } from './util/regular-file.js';

/** Audio to upload: a name for the server and a Blob (file-backed for files on disk). */
export interface AudioSource {
  readonly name: string;
  readonly blob: Blob;
}

/**
 * An audio file on disk, streamed when sent. Throws `InputError`: `INVALID_AUDIO_FILE` when it is not a readable,
 * non-empty regular file within the limit, `UNSUPPORTED_AUDIO` when it is not audio the server decodes.
 */
export async function fileSource(file: string, maxBytes = MAX_UPLOAD_BYTES): Promise<AudioSource> {
  // A device or pipe has no size to check against the server's limit (and /dev/zero never ends): only regular files are sent.
  const { handle, info } = await openRegularFile(file, 'audio file', { notRegular: 'INVALID_AUDIO_FILE', unreadable: 'INVALID_AUDIO_FILE' });
  try {
    checkAudioSize(file, info.size, maxBytes);
    const readAt: ReadAt = async (position, length) => {
      const bytes = new Uint8Array(length);
      const { bytesRead } = await handle.read(bytes, 0, length, position);
      return bytes.subarray(0, bytesRead);
    };
    await checkAudioFormat(file, readAt, info.size);
  } finally {
    await handle.close();
  }
  return { name: path.basename(file), blob: await openAsBlob(file) };
}

/** Audio already in memory (e.g. read through a remote file system); the same checks as `fileSource`. */
export async function bytesSource(name: string, bytes: Uint8Array, maxBytes = MAX_UPLOAD_BYTES): Promise<AudioSource> {
  await checkAudioBytes(name, bytes, maxBytes);
  return { name, blob: new Blob([bytes]) };
}

/** The checks of `bytesSource`, without keeping the bytes. */
async function checkAudioBytes(name: string, bytes: Uint8Array, maxBytes: number): Promise<void> {
  checkAudioSize(name, bytes.length, maxBytes);
  await checkAudioFormat(name, async (position, length) => bytes.subarray(position, position + length), bytes.length);
}

/**
 * A file read only whole, as through VS Code's `workspace.fs` (no partial reads): its size from a stat, its bytes in
 * one read. Either may throw; the caller words what it throws (it knows where the file is).
 */
export interface WholeFileReader {
  /** The file's size in bytes, without reading it. */
  size(): Promise<number>;
  read(): Promise<Uint8Array>;
}

/**
 * Audio checked before anything is attested or sent, whose bytes are in memory only from `open` until it is sent (or
 * from its check, for a file `checkedWhole` was told to keep).
 */
export interface CheckedAudio {
  readonly name: string;
  /** The source to send: checked (and read) again now, unless its bytes were kept from the check. */
  open(): Promise<AudioSource>;
}

/**
 * A file on disk, checked as `fileSource` does, and checked again by `open` (a stat and its first bytes): it is
 * streamed when sent, so nothing of it is held meanwhile, and one that changed into something else or vanished in
 * between fails on its own as `checkedWhole`'s do (a file-backed Blob of a changed file would fail mid-upload, as if
 * the connection had).
 */
export async function checkedFile(file: string, maxBytes = MAX_UPLOAD_BYTES): Promise<CheckedAudio> {
  const { name } = await fileSource(file, maxBytes);
  return { name, open: () => checkedAgain(() => fileSource(file, maxBytes)) };
}

/**
 * Audio behind a `WholeFileReader`, checked now and read again when `open` is called, so that a batch holds the bytes
 * of the files being sent and not of every file: the size from a stat first (one too large is never read), then the
 * format from one whole read, whose bytes are dropped, unless `keep` (a file sent first: its bytes are held from the
 * check until it is sent, instead of being read twice). `open` otherwise checks size and format again, since the file
 * may have changed in between: one that became empty, too large or not audio, or vanished, fails then on its own, with
 * the same codes as here and a message that says so.
 */
export async function checkedWhole(name: string, reader: WholeFileReader, { keep = false, maxBytes = MAX_UPLOAD_BYTES }: { keep?: boolean; maxBytes?: number } = {}): Promise<CheckedAudio> {
  checkAudioSize(name, await reader.size(), maxBytes);
  const bytes = await reader.read();
  await checkAudioBytes(name, bytes, maxBytes);
  let kept = keep ? bytes : undefined;
  return {
    name,
    open: async () => {
      if (kept) {
        const blob = new Blob([kept]);
        kept = undefined;
        return { name, blob };
      }
      return checkedAgain(async () => {
        checkAudioSize(name, await reader.size(), maxBytes);
        return bytesSource(name, await reader.read(), maxBytes);
      });
    },
  };
}

/** `check` run again when a checked file is sent: a refusal now says the file changed after its first check. */
async function checkedAgain(check: () => Promise<AudioSource>): Promise<AudioSource> {
  try {
    return await check();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new InputError(err.code, `${err.message} (the file changed after it was checked)`, { cause: err });
  }
}

/**
 * Refuses audio of `size` bytes that no server would take (empty, or over the upload limit), before it is read or
 * sent. Throws `InputError` `INVALID_AUDIO_FILE`.
 */
export function checkAudioSize(name: string, size: number, maxBytes = MAX_UPLOAD_BYTES): void {
  if (size === 0) throw new InputError('INVALID_AUDIO_FILE', `the audio file ${JSON.stringify(name)} is empty`);
  if (size > maxBytes) throw new InputError('INVALID_AUDIO_FILE', `the audio file ${JSON.stringify(name)} is ${formatBytes(size)}, more than the ${formatBytes(maxBytes)} a server accepts`);
}

async function checkAudioFormat(name: string, readAt: ReadAt, size: number): Promise<void> {
  const found = await classifyAudio(readAt, size);
  if (found.kind === 'empty') throw new InputError('INVALID_AUDIO_FILE', `the audio file ${JSON.stringify(name)} is empty`);
  if (found.kind !== 'audio') throw new InputError('UNSUPPORTED_AUDIO', `${JSON.stringify(name)}: ${found.message}`);
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(n >= 10 * 1024 * 1024 ? 0 : 1)} MB` : `${n} bytes`;
}
