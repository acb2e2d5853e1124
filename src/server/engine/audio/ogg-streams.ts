/**
 * Holds an Ogg file to one logical stream. The header checks (`detectFormat`) see the first stream's identification
 * header only, and Ogg lets a file chain further streams after it (or interleave several), each with its own header:
 * a 1-second mono Opus stream followed by a 255-channel one passed the channel cap and cost 11 s of CPU, and the
 * Vorbis decoder kept the first header for a second stream and decoded it to noise. codec-parser walks the pages as
 * the bytes arrive, before the decoder is given them, so a second stream is refused before any of it is decoded.
 */
import CodecParser, { type OggPage } from 'codec-parser';
import { EngineError } from '../engine.js';

/** A check fed the file's bytes in order, before the decoder gets them; throws at the first page of a second stream. */
export type OggStreamGuard = (bytes: Uint8Array) => void;

/** A guard for one Ogg file: `name` says what it holds, for the refusal ("Ogg Opus"). */
export function oneOggStream(name: string): OggStreamGuard {
  const parser = new CodecParser('application/ogg', { enableFrameCRC32: false });
  let serial: number | undefined;
  return (bytes) => {
    const pages = parser.parseChunk(bytes);
    for (let next = pages.next(); !next.done; next = pages.next()) {
      const page = next.value as unknown as Pick<OggPage, 'streamSerialNumber' | 'isFirstPage'>;
      // Another serial number is another stream; so is a second first page, even if it reuses the serial number.
      if (serial !== undefined && (page.streamSerialNumber !== serial || page.isFirstPage)) refuse(name);
      serial = page.streamSerialNumber;
    }
  };
}

function refuse(name: string): never {
  throw new EngineError('UNSUPPORTED_FORMAT', `The ${name} file holds more than one stream (chained or multiplexed Ogg); send one recording per file.`);
}
