/** The large WAV files the upload benchmarks send: a real 16 kHz mono PCM header, so the client's format check passes. */
import { open } from 'node:fs/promises';

const WAV_HEADER_BYTES = 44;

/** A canonical 44-byte header of 16 kHz, 16-bit mono PCM whose data chunk runs to the end of a `size`-byte file. */
function wavHeader(size: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(size - 8, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk length
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(16_000, 24); // sample rate
  h.writeUInt32LE(32_000, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(size - WAV_HEADER_BYTES, 40);
  return h;
}

/** Writes a `size`-byte WAV file of a constant level at `file`. */
export async function makeFile(file: string, size: number): Promise<void> {
  const handle = await open(file, 'w');
  await handle.write(wavHeader(size));
  const block = Buffer.alloc(4 * 1024 * 1024, 0x5a); // samples of a constant level: any bytes do, nothing decodes them
  for (let written = WAV_HEADER_BYTES; written < size; written += block.length) await handle.write(block, 0, Math.min(block.length, size - written));
  await handle.close();
}
