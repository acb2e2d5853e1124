/**
 * Reading a small input file the user named (a policy, a root PEM, a saved
 * attestation document) without trusting its size. `readFile` reads until EOF,
 * so `/dev/zero`, a pipe or a huge file would grow memory until the process
 * dies. This reads at most `maxBytes + 1` bytes: one more than allowed proves
 * the file too large without reading the rest, whatever kind of file it is.
 */
import { open } from 'node:fs/promises';
import { InputError } from '../errors.js';

/** The contents of `file` if it holds at most `maxBytes`; otherwise `INPUT_FILE_TOO_LARGE`, and
 * when it cannot be read `UNREADABLE_INPUT_FILE`: `InputError`s naming `what` and the file. */
export async function readFileCapped(file: string, maxBytes: number, what: string): Promise<Buffer> {
  const tooLarge = () => new InputError('INPUT_FILE_TOO_LARGE', `the ${what} ${JSON.stringify(file)} is larger than ${formatKiB(maxBytes)}`);
  const unreadable = (err: unknown) => new InputError('UNREADABLE_INPUT_FILE', `cannot read the ${what} ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw unreadable(err);
  }
  try {
    const info = await handle.stat();
    // A regular file says its size: no need to read a byte of one that is too large.
    if (info.isFile() && info.size > maxBytes) throw tooLarge();
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    // Devices and pipes return short reads; each round reads at least one byte or ends at EOF, so at most maxBytes + 1 rounds.
    while (length <= maxBytes) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null).catch((err: unknown) => {
        throw unreadable(err);
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
