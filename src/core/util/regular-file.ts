/**
 * Opening a file the user named for reading, only if it is a regular file. `open()` of a named pipe waits for a
 * writer (forever, if none comes) and a device has no end: neither holds a document, a receipt or audio. The path is
 * checked with `stat` before it is opened, and opened with `O_NONBLOCK` (a pipe swapped in since then opens at once
 * instead of waiting) and checked again with `fstat`, so what is read is the regular file that was checked.
 */
import { constants, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { InputError, type InputErrorCode } from '../errors.js';
import { oneLine } from '../../shared/text.js';

/** The codes a refusal carries: a file that is not regular, and one that cannot be opened or read. */
export interface RegularFileCodes {
  readonly notRegular: InputErrorCode;
  readonly unreadable: InputErrorCode;
}

const INPUT_FILE_CODES: RegularFileCodes = { notRegular: 'NOT_A_REGULAR_FILE', unreadable: 'UNREADABLE_INPUT_FILE' };

/** A regular file open for reading, and its `fstat`. */
export interface OpenedRegularFile {
  readonly handle: FileHandle;
  readonly info: Stats;
}

/**
 * Opens `file` (the `what` named in errors: "receipt file") for reading. Throws `InputError`: `codes.notRegular` when
 * it is a pipe, device, socket or directory, `codes.unreadable` when it cannot be opened. The caller closes the handle.
 */
export async function openRegularFile(file: string, what: string, codes: RegularFileCodes = INPUT_FILE_CODES): Promise<OpenedRegularFile> {
  const unreadable = (err: unknown) => new InputError(codes.unreadable, `cannot read the ${what} ${shownPath(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  const notRegular = (info: Stats) => new InputError(codes.notRegular, `the ${what} ${shownPath(file)} is not a regular file (it is a ${kindOf(info)}; only regular files are read)`);
  let info: Stats;
  try {
    info = await stat(file);
  } catch (err) {
    throw unreadable(err);
  }
  if (!info.isFile()) throw notRegular(info);
  let handle: FileHandle;
  try {
    // O_NONBLOCK is 0 where it does not exist (Windows has no named pipes on a path it would open this way).
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw unreadable(err);
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile()) throw notRegular(opened);
    return { handle, info: opened };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err instanceof InputError ? err : unreadable(err);
  }
}

/** A path as shown inside a message of ours: one line, quoted. */
export function shownPath(file: string): string {
  return JSON.stringify(oneLine(file));
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'named pipe';
  if (info.isCharacterDevice()) return 'character device';
  if (info.isBlockDevice()) return 'block device';
  if (info.isDirectory()) return 'directory';
  if (info.isSocket()) return 'socket';
  return 'special file';
}
