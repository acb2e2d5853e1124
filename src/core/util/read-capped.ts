/**
 * Reading a small input file the user named (a policy, a root PEM, a saved attestation document, a receipt, evidence)
 * without trusting it: only a regular file is opened (`openRegularFile`: a pipe or device is refused before it could
 * block or never end), and at most `maxBytes + 1` bytes are read, one more than allowed proving the file too large
 * even if it grew since its size was checked.
 */
import { InputError } from '../errors.js';
import { openRegularFile, shownPath } from './regular-file.js';

/** The contents of `file` if it holds at most `maxBytes`; otherwise `INPUT_FILE_TOO_LARGE`; `NOT_A_REGULAR_FILE` for a
 * pipe, device or directory, and `UNREADABLE_INPUT_FILE` when it cannot be read: `InputError`s naming `what` and the file. */
export async function readFileCapped(file: string, maxBytes: number, what: string): Promise<Buffer> {
  const tooLarge = () => new InputError('INPUT_FILE_TOO_LARGE', `the ${what} ${shownPath(file)} is larger than ${formatKiB(maxBytes)}`);
  const { handle, info } = await openRegularFile(file, what);
  try {
    // No need to read a byte of a file that says it is too large.
    if (info.size > maxBytes) throw tooLarge();
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    // Each round reads at least one byte or ends at EOF, so at most maxBytes + 1 rounds.
    while (length <= maxBytes) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null).catch((err: unknown) => {
        throw new InputError('UNREADABLE_INPUT_FILE', `cannot read the ${what} ${shownPath(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
      });
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw tooLarge();
    return buffer.subarray(0, length);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function formatKiB(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}
