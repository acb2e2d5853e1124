/**
 * Files the user picked (a receipt, a root certificate, a transcript, remote audio), read only if they are regular
 * files: `open()` of a named pipe waits for a writer forever and a device never ends. A `file:` file goes through the
 * core's reader (stat, non-blocking open, fstat); another scheme's file system is asked for the file's type first.
 */
import * as vscode from 'vscode';
import { InputError, type InputErrorCode } from '../../core/errors.js';
import { oneLine } from '../../shared/text.js';
import type { FileServices } from '../services.js';

/** The codes a refusal carries; `InputError`s named as the core names them. */
interface PickedFileCodes {
  readonly notRegular: InputErrorCode;
  readonly unreadable: InputErrorCode;
}

const INPUT_FILE_CODES: PickedFileCodes = { notRegular: 'NOT_A_REGULAR_FILE', unreadable: 'UNREADABLE_INPUT_FILE' };

/** The bytes of the picked `uri`, at most `maxBytes` of them; `InputError`s name `what` and the file. */
export async function readPickedFile(reader: Pick<FileServices, 'readFileCapped'>, uri: vscode.Uri, maxBytes: number, what: string): Promise<Uint8Array> {
  if (uri.scheme === 'file') return reader.readFileCapped(uri.fsPath, maxBytes, what);
  const size = await pickedFileSize(uri, what);
  if (size > maxBytes) throw new InputError('INPUT_FILE_TOO_LARGE', `the ${what} ${shown(uri)} is larger than ${maxBytes} bytes`);
  return readThrough(uri, what, INPUT_FILE_CODES, () => vscode.workspace.fs.readFile(uri));
}

/** The size of the picked `uri` (not a `file:` one), refused unless its file system says it is a file. */
export async function pickedFileSize(uri: vscode.Uri, what: string, codes: PickedFileCodes = INPUT_FILE_CODES): Promise<number> {
  const info = await readThrough(uri, what, codes, () => vscode.workspace.fs.stat(uri));
  // A pipe or device is neither File nor Directory to VS Code (FileType.Unknown).
  if ((info.type & vscode.FileType.File) === 0) throw new InputError(codes.notRegular, `the ${what} ${shown(uri)} is not a regular file (only regular files are read)`);
  return info.size;
}

async function readThrough<T>(uri: vscode.Uri, what: string, codes: PickedFileCodes, read: () => Thenable<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw new InputError(codes.unreadable, `cannot read the ${what} ${shown(uri)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function shown(uri: vscode.Uri): string {
  return JSON.stringify(oneLine(uri.toString(true)));
}
